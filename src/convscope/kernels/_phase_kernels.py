"""Compiled helpers of the kernels that run a stride-phase plane as flat vector loops
(`pool_jit`'s max pooling, `depthwise_jit`, and through it average pooling): a plane copied
into or out of its stride phases, an output plane laid on the phases' grid, and a weighted
sum of taps. Imported only on the first call that needs them (see `_jit`); the geometry
(grid, each tap's start) is `_windows.phase_geometry`.

The phase plane of a (D, H, W) plane padded by `lo` before each axis, at strides
(s0, s1, s2), is buf[pd, ph, pw, z, r, j] = padded[z s0 + pd, r s1 + ph, j s2 + pw]. On it a
tap at offsets (a, b, e) of the padded plane reads, for the output at (od, oh, ow), phase
(a % s0, b % s1, e % s2) at (od + a // s0, oh + b // s1, ow + e // s2): with the phases
flattened, one fixed start in the flat buffer plus the output's flat position on the
(Q0, Q1, Q2) grid, so a tap is one loop over the whole plane.

Every copy and sum is an explicit loop over views that start at 0 (no wraparound checks:
the loops vectorise); Numba's slice assignment ran about 5x slower here.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _copy(xp, buf, lo, into):
    """into: buf's positions of the (D, H, W) plane xp := xp (the margins untouched); else
    xp := those positions. Along the last axis: a plain copy at stride 1, pairs at stride
    2, else strided accesses with unsigned indices."""
    s0, s1, s2 = buf.shape[0], buf.shape[1], buf.shape[2]
    W = xp.shape[2]
    us2 = np.uint64(s2)
    for iz in range(xp.shape[0]):
        z = iz + lo[0]
        for iy in range(xp.shape[1]):
            r = iy + lo[1]
            row = xp[iz, iy]
            zp, zq, rp, rq = z % s0, z // s0, r % s1, r // s1
            if s2 == 1:
                line = buf[zp, rp, 0, zq, rq, lo[2]:]
                if into:
                    for j in range(W):
                        line[j] = row[j]
                else:
                    for j in range(W):
                        row[j] = line[j]
            elif s2 == 2:
                d0 = buf[zp, rp, lo[2] % 2, zq, rq, lo[2] // 2:]
                d1 = buf[zp, rp, (lo[2] + 1) % 2, zq, rq, (lo[2] + 1) // 2:]
                if into:
                    for j in range(W // 2):
                        d0[j] = row[2 * j]
                        d1[j] = row[2 * j + 1]
                    if W % 2:
                        d0[W // 2] = row[W - 1]
                else:
                    for j in range(W // 2):
                        row[2 * j] = d0[j]
                        row[2 * j + 1] = d1[j]
                    if W % 2:
                        row[W - 1] = d0[W // 2]
            else:
                for ph in range(s2):
                    j0 = (lo[2] - ph + s2 - 1) // s2  # the first j s2 + ph >= lo
                    j1 = (lo[2] + W - ph + s2 - 1) // s2
                    line = buf[zp, rp, ph, zq, rq, j0:j1]
                    rv = row[j0 * s2 + ph - lo[2]:]
                    if into:
                        for j in range(j1 - j0):
                            line[j] = rv[np.uint64(j) * us2]
                    else:
                        for j in range(j1 - j0):
                            rv[np.uint64(j) * us2] = line[j]


@jit
def split(xp, buf, lo):
    """buf's positions of the input (D, H, W) plane `xp` := xp; the margins untouched."""
    _copy(xp, buf, lo, True)


@jit
def merge(buf, xp, lo):
    """xp (D, H, W) := buf's positions of the input plane (`split`'s inverse)."""
    _copy(xp, buf, lo, False)


@jit
def lay_out(gp, grid, base, Q1, Q2):
    """grid[base + each output's flat position on the (Q0, Q1, Q2) grid] := gp (OD, OH, OW);
    the grid's other positions untouched."""
    OW = gp.shape[2]
    for od in range(gp.shape[0]):
        for oh in range(gp.shape[1]):
            dst, src = grid[base + (od * Q1 + oh) * Q2:], gp[od, oh]
            for j in range(OW):
                dst[j] = src[j]


@jit
def weighted_sum(out, src, starts, w, taps, init):
    """out (n,) := (init) or += the sum over k of w[t] * src[starts[t] + i] for t = taps[k],
    in that order, three taps per pass over `out` (the same additions, in the same order,
    as one tap at a time)."""
    n = out.shape[0]
    K = taps.shape[0]
    k = 0
    if init:
        t = taps[0]
        r0, w0 = src[starts[t]:], w[t]
        for i in range(n):
            out[i] = w0 * r0[i]
        k = 1
    while k + 3 <= K:
        t0, t1, t2 = taps[k], taps[k + 1], taps[k + 2]
        r0, r1, r2 = src[starts[t0]:], src[starts[t1]:], src[starts[t2]:]
        w0, w1, w2 = w[t0], w[t1], w[t2]
        for i in range(n):
            out[i] = ((out[i] + w0 * r0[i]) + w1 * r1[i]) + w2 * r2[i]
        k += 3
    while k < K:
        t = taps[k]
        r0, w0 = src[starts[t]:], w[t]
        for i in range(n):
            out[i] += w0 * r0[i]
        k += 1
