"""Compiled helpers of the kernels that run a stride-phase plane as flat vector loops
(`pool_jit`'s max pooling, `depthwise_jit`, and through it average pooling): a plane copied
into or out of its stride phases, an output plane laid on the phases' grid or picked out of
it, a weighted
sum of taps, a running maximum over taps, and the maximum of a 2x2 window's four taps laid
out as four rows (which the 2x2 max pooling, the fused Winograd + pooling pass and the fused
thin layer share). Imported only on the first call that needs them (see `_jit`); the geometry
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


@jit(inline="always", error_model="numpy")
def _grid_rows(plane, grid, base, Q1, Q2, div, into):
    """into: grid[base + each output's flat position on the (Q0, Q1, Q2) grid] := plane
    (OD, OH, OW); else plane := those grid positions. Each value divided by div (OD, OH, OW)
    when given (IEEE division: Python's ZeroDivisionError check keeps a loop from
    vectorising)."""
    OW = plane.shape[2]
    for od in range(plane.shape[0]):
        for oh in range(plane.shape[1]):
            g, p = grid[base + (od * Q1 + oh) * Q2:], plane[od, oh]
            if into:
                if div is None:
                    for j in range(OW):
                        g[j] = p[j]
                else:
                    dv = div[od, oh]
                    for j in range(OW):
                        g[j] = p[j] / dv[j]
            elif div is None:
                for j in range(OW):
                    p[j] = g[j]
            else:
                dv = div[od, oh]
                for j in range(OW):
                    p[j] = g[j] / dv[j]


@jit(error_model="numpy")
def lay_out(gp, grid, base, Q1, Q2, div=None):
    """grid[base + each output's flat position on the (Q0, Q1, Q2) grid] := gp (OD, OH, OW),
    each divided by div (OD, OH, OW) when given; the grid's other positions untouched."""
    _grid_rows(gp, grid, base, Q1, Q2, div, True)


@jit(error_model="numpy")
def pick_out(grid, base, Q1, Q2, yp, div=None):
    """yp (OD, OH, OW) := grid[base + each output's flat position on the grid], each divided
    by div when given (`lay_out`'s inverse: the outputs computed on the grid copied out)."""
    _grid_rows(yp, grid, base, Q1, Q2, div, False)


@jit
def weighted_sum(out, src, starts, w, taps, init):
    """out (n,) := (init) or += the sum over k of w[t] * src[starts[t] + i] for t = taps[k],
    in that order, three taps per pass over `out` (the same additions, in the same order,
    as one tap at a time; with init, the first pass sets out from three taps: one pass
    fewer. Measured against the first pass from one tap, each in its own processes, 4
    alternating pairs, 2 threads, AMD EPYC AVX2: the depthwise 3x3 forward of 8x128x56x56
    2.21-2.88 -> 1.91-2.43 ms; 3x3 average pooling and the 1->32 layer within the noise)."""
    n = out.shape[0]
    K = taps.shape[0]
    k = 0
    if init and K >= 3:  # the first three taps set out: one pass fewer
        t0, t1, t2 = taps[0], taps[1], taps[2]
        r0, r1, r2 = src[starts[t0]:], src[starts[t1]:], src[starts[t2]:]
        w0, w1, w2 = w[t0], w[t1], w[t2]
        for i in range(n):
            out[i] = (w0 * r0[i] + w1 * r1[i]) + w2 * r2[i]
        k = 3
    elif init:
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


@jit
def max_taps(src, starts, best, kb, n):
    """best[i], kb[i] := the running maximum and its tap over the taps t, in order, of the
    values src[starts[t] + i], i < n (a tap wins when ``v > best or isnan(v)``: the first
    maximum, or the last NaN): three taps per vector loop (views from 0 up: no wraparound
    checks). One tap per loop, best and kb read and written for each, did not vectorise on
    an AVX2 machine: 3x3 taps over 512 planes of 56 x 57 positions, one thread, 8.1 -> 1.3
    ms. kb None: the maxima alone (no gradient wanted; Numba compiles that case without
    the taps' bookkeeping)."""
    T = starts.shape[0]
    t = 0
    while t + 3 <= T:
        r0, r1, r2 = src[starts[t]:], src[starts[t + 1]:], src[starts[t + 2]:]
        k0, k1, k2 = np.int32(t), np.int32(t + 1), np.int32(t + 2)
        if kb is None:
            for i in range(n):
                b = best[i]
                v = r0[i]
                b = v if (v > b) | (v != v) else b
                v = r1[i]
                b = v if (v > b) | (v != v) else b
                v = r2[i]
                best[i] = v if (v > b) | (v != v) else b
        else:
            for i in range(n):
                b, k = best[i], kb[i]
                v = r0[i]
                win = (v > b) | (v != v)
                b, k = (v, k0) if win else (b, k)
                v = r1[i]
                win = (v > b) | (v != v)
                b, k = (v, k1) if win else (b, k)
                v = r2[i]
                win = (v > b) | (v != v)
                b, k = (v, k2) if win else (b, k)
                best[i], kb[i] = b, k
        t += 3
    while t < T:
        r0, k0 = src[starts[t]:], np.int32(t)
        for i in range(n):
            b, v = best[i], r0[i]
            win = (v > b) | (v != v)
            best[i] = v if win else b
            if kb is not None:
                kb[i] = k0 if win else kb[i]
        t += 1


@jit(inline="always")
def window_max(r0, r1, r2, r3, b, add, pv, pk, n):
    """pv[i], pk[i] := the first largest of r0[i] ... r3[i] (a 2x2 window's taps in kernel
    order, each plus b when add; a NaN wins, the last one) and its tap (uint8), i < n: one
    vector loop of selects. With a branch per tap, or the taps read in place at stride 2,
    the loop ran scalar on an AVX2 machine (see `pool_jit._max_forward_2x2` and
    `winograd_kernels._output_tiles_pool`)."""
    for i in range(n):
        best, v1, v2, v3 = r0[i], r1[i], r2[i], r3[i]
        if add:
            best, v1, v2, v3 = best + b, v1 + b, v2 + b, v3 + b
        kb = np.uint8(0)
        win = (v1 > best) | (v1 != v1)
        best = v1 if win else best
        kb = np.uint8(1) if win else kb
        win = (v2 > best) | (v2 != v2)
        best = v2 if win else best
        kb = np.uint8(2) if win else kb
        win = (v3 > best) | (v3 != v3)
        best = v3 if win else best
        kb = np.uint8(3) if win else kb
        pv[i] = best
        pk[i] = kb
