"""Compiled helpers of the kernels that run a stride-phase plane as flat vector loops
(`pool_jit`'s max pooling, `depthwise_jit`): a plane copied into, or out of, its stride
phases, and an output plane laid on the phases' grid. Imported only on the first call that needs them (see `_jit`).

The phase plane of a (D, H, W) plane padded by `lo` before each axis, at strides
(s0, s1, s2), is buf[pd, ph, pw, z, r, j] = padded[z s0 + pd, r s1 + ph, j s2 + pw]. On it a
tap at offsets (a, b, e) of the padded plane reads, for the output at (od, oh, ow), phase
(a % s0, b % s1, e % s2) at (od + a // s0, oh + b // s1, ow + e // s2): with the phase
flattened, one fixed offset from the output's flat position on the (Q0, Q1, Q2) grid, so a
tap is one loop over the whole plane.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def split(xp, buf, lo):
    """buf's positions of the input (D, H, W) plane `xp` := xp; the margins untouched.

    Along the last axis: a copy at stride 1, pairs at stride 2, else strided reads with
    unsigned indices. Every copy is an explicit loop over views that start at 0 (no
    wraparound checks: the loops vectorise); Numba's slice assignment ran about 5x slower
    here."""
    s0, s1, s2 = buf.shape[0], buf.shape[1], buf.shape[2]
    W = xp.shape[2]
    us2 = np.uint64(s2)
    for iz in range(xp.shape[0]):
        z = iz + lo[0]
        for iy in range(xp.shape[1]):
            r = iy + lo[1]
            src = xp[iz, iy]
            zp, zq, rp, rq = z % s0, z // s0, r % s1, r // s1
            if s2 == 1:
                dst = buf[zp, rp, 0, zq, rq, lo[2]:]
                for j in range(W):
                    dst[j] = src[j]
            elif s2 == 2:
                d0 = buf[zp, rp, lo[2] % 2, zq, rq, lo[2] // 2:]
                d1 = buf[zp, rp, (lo[2] + 1) % 2, zq, rq, (lo[2] + 1) // 2:]
                for j in range(W // 2):
                    d0[j] = src[2 * j]
                    d1[j] = src[2 * j + 1]
                if W % 2:
                    d0[W // 2] = src[W - 1]
            else:
                for ph in range(s2):
                    j0 = (lo[2] - ph + s2 - 1) // s2  # the first j s2 + ph >= lo
                    j1 = (lo[2] + W - ph + s2 - 1) // s2
                    out = buf[zp, rp, ph, zq, rq, j0:j1]
                    sv = src[j0 * s2 + ph - lo[2]:]
                    for j in range(j1 - j0):
                        out[j] = sv[np.uint64(j) * us2]


@jit
def merge(buf, xp, lo):
    """xp (D, H, W) := buf's positions of the input plane (`split`'s inverse)."""
    s0, s1, s2 = buf.shape[0], buf.shape[1], buf.shape[2]
    W = xp.shape[2]
    us2 = np.uint64(s2)
    for iz in range(xp.shape[0]):
        z = iz + lo[0]
        for iy in range(xp.shape[1]):
            r = iy + lo[1]
            dst = xp[iz, iy]
            zp, zq, rp, rq = z % s0, z // s0, r % s1, r // s1
            if s2 == 1:
                src = buf[zp, rp, 0, zq, rq, lo[2]:]
                for j in range(W):
                    dst[j] = src[j]
            elif s2 == 2:
                d0 = buf[zp, rp, lo[2] % 2, zq, rq, lo[2] // 2:]
                d1 = buf[zp, rp, (lo[2] + 1) % 2, zq, rq, (lo[2] + 1) // 2:]
                for j in range(W // 2):
                    dst[2 * j] = d0[j]
                    dst[2 * j + 1] = d1[j]
                if W % 2:
                    dst[W - 1] = d0[W // 2]
            else:
                for ph in range(s2):
                    j0 = (lo[2] - ph + s2 - 1) // s2
                    j1 = (lo[2] + W - ph + s2 - 1) // s2
                    src = buf[zp, rp, ph, zq, rq, j0:j1]
                    dv = dst[j0 * s2 + ph - lo[2]:]
                    for j in range(j1 - j0):
                        dv[np.uint64(j) * us2] = src[j]



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
