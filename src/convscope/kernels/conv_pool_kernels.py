"""The compiled loops of `conv_pool_jit` (Numba; see `_jit`): a thin layer's convolution and
its 2x2 max pooling on the input's 2x2 phase grid, forward and weight gradient. Imported
only on the first call that needs them."""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._phase_kernels import weighted_sum, window_max


@jit(inline="always")
def _tap(xph, c, s, t, base, J, L):
    """The L grid values that padded row offset s, column offset t read from the grid
    positions base...: phase (s % 2, t % 2) at flat offset (s // 2) J + t // 2."""
    o = base + (s >> 1) * J + (t >> 1)
    return xph[c, s & 1, t & 1, o:o + L]


@jit
def forward(xf, starts, w, b, y, arg, c0, c1, I, J, nb):
    """y[co, n, oh, ow], arg (uint8 tap 2a + e) of the pooled windows, filters [c0, c1).
    xf: `conv_pool_jit._phases`' array, flat; starts[k, tap]: where window tap k's kernel tap
    (c, kh, kw) reads for the first grid position; w (C_out, taps). The grid of nb images
    at a time is one vector loop per tap (`_phase_kernels.weighted_sum`)."""
    T = w.shape[1]
    N, OH, OW = y.shape[1], y.shape[2], y.shape[3]
    P = I * J  # grid positions per image
    order = np.arange(T)
    acc = np.empty((4, nb * P), dtype=y.dtype)
    top = np.empty(nb * P, dtype=y.dtype)
    taps = np.empty(nb * P, dtype=np.uint8)
    for n0 in range(0, N, nb):
        n1 = min(N, n0 + nb)
        L = (n1 - n0) * P
        src = xf[n0 * P:]
        for co in range(c0, c1):
            for k in range(4):  # the taps in kernel order, three per pass
                weighted_sum(acc[k, :L], src, starts[k], w[co], order, True)
            # the windows' first largest tap (a NaN wins, `pool_jit`'s rule) over the whole
            # grid in one vector loop, then the kept positions copied out row by row
            bias = b[co] if b.shape[0] else y.dtype.type(0)
            window_max(acc[0], acc[1], acc[2], acc[3], bias, b.shape[0] > 0, top, taps, L)
            for n in range(n0, n1):
                yp, ap = y[co, n], arg[co, n]
                for oh in range(OH):
                    q0 = (n - n0) * P + oh * J
                    # views from 0 up: no negative-index checks (AVX2, one thread, the
                    # default model's first layer: this copy 1.25 -> 0.55 ms, the
                    # forward 3.8 -> 3.1 ms)
                    yr, ar, tr, kr = yp[oh], ap[oh], top[q0:], taps[q0:]
                    for ow in range(OW):
                        yr[ow] = tr[ow]
                        ar[ow] = kr[ow]


@jit(inline="always")
def _sum8(v):
    """sum(v) in float64 as eight interleaved partial sums (v[j::8]), then those in order:
    eight independent chains instead of one."""
    part = np.zeros(8, dtype=np.float64)
    n8 = v.shape[0] // 8 * 8
    for q in range(0, n8, 8):
        for j in range(8):
            part[j] += v[q + j]
    for q in range(n8, v.shape[0]):
        part[q - n8] += v[q]
    total = 0.0
    for j in range(8):
        total += part[j]
    return total


@jit
def backward_weight(xph, g, arg, gw, c0, c1, I, J, nb):
    """gw[co, c, kh, kw] (float64) for the filters [c0, c1) from the pooled dL/dy g and
    arg, both (C_out, N, OH, OW), nb images at a time as `forward`."""
    C = xph.shape[0]
    KH, KW = gw.shape[2], gw.shape[3]
    N, OH, OW = g.shape[1], g.shape[2], g.shape[3]
    P = I * J
    gg = np.zeros(nb * P, dtype=g.dtype)  # g on the grid
    kk = np.zeros(nb * P, dtype=np.uint8)  # arg on the grid
    sel = np.empty((4, nb * P), dtype=g.dtype)  # g on the grid, per window tap (else 0)
    lanes = np.empty((C, KH, KW, nb * P), dtype=g.dtype)
    zero = g.dtype.type(0)
    for co in range(c0, c1):
        lanes[:] = 0
        for n0 in range(0, N, nb):
            n1 = min(N, n0 + nb)
            L = (n1 - n0) * P
            base = n0 * P
            for n in range(n0, n1):  # g and arg laid on the grid (its extra places 0)
                gp, ap = g[co, n], arg[co, n]
                for oh in range(OH):
                    q0 = (n - n0) * P + oh * J
                    gr, ar, gq, kq = gp[oh], ap[oh], gg[q0:], kk[q0:]
                    for ow in range(OW):  # views from 0 up, as in `forward`
                        gq[ow] = gr[ow]
                        kq[ow] = ar[ow]
            for q in range(L):  # one vector loop
                v = gg[q]
                k = kk[q]
                sel[0, q] = v if k == 0 else zero
                sel[1, q] = v if k == 1 else zero
                sel[2, q] = v if k == 2 else zero
                sel[3, q] = v if k == 3 else zero
            for c in range(C):
                for kh in range(KH):
                    for kw in range(KW):
                        # the four window taps in one pass, in order
                        out = lanes[c, kh, kw, :L]
                        s0 = _tap(xph, c, kh, kw, base, J, L)  # window tap (0, 0)
                        s1 = _tap(xph, c, kh, kw + 1, base, J, L)  # (0, 1)
                        s2 = _tap(xph, c, kh + 1, kw, base, J, L)  # (1, 0)
                        s3 = _tap(xph, c, kh + 1, kw + 1, base, J, L)  # (1, 1)
                        g0, g1, g2, g3 = sel[0, :L], sel[1, :L], sel[2, :L], sel[3, :L]
                        for q in range(L):
                            out[q] = (((out[q] + g0[q] * s0[q]) + g1[q] * s1[q])
                                      + g2[q] * s2[q]) + g3[q] * s3[q]
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    gw[co, c, kh, kw] = _sum8(lanes[c, kh, kw])
