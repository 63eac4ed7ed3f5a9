"""Depthwise convolution (groups = C_in) as compiled loops over the taps: one fused pass.

The algorithm of `depthwise` (per channel c and filter m of its channel multiplier M,
``y[c*M + m] = sum over taps k of w[c*M + m, k] * x_padded[c, window k]``), written as one
loop nest instead of one whole-array multiply-add per tap: a thread takes a range of
channels; per image it copies the channel's plane into a small zero-padded buffer (in the
L1/L2 cache), then each output row is accumulated over the taps while it stays in
registers / L1, the innermost loop running along the row (vectorised at stride 1). The
gradients are the same loop nest: the input gradient adds w * dy back into a padded buffer
per plane (then cropped into dx), the weight gradient accumulates dy * window per tap in a
row of lanes (vectorised) and sums the lanes at the end, in float64.

Any stride, dilation, (asymmetric) padding, channel multiplier and 1-, 2- or 3-D layer (the
spatial shapes are padded to 3-D). Arrays are taken as contiguous (N, C) planes in either
memory layout (`_planes`); outputs are made in the layout of the array they come from.

Measured (8x128x56x56, 3x3 'same', float32, 2 threads, min of 20 alternating calls in one
process on a shared, noisy 2-core AMD EPYC; `depthwise` (NumPy) -> compiled, ms):
see `choose`'s rule 2.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _planes
from ._parallel import over_channels


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None when this algorithm applies, else the rule it needs."""
    if not (groups == x_shape[1] and w_shape[1] == 1):
        return "groups == in_channels"
    if not 1 <= len(x_shape) - 2 <= 3:
        return "1 to 3 spatial dimensions"
    return None


def _three(values, fill):
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def _forward(x, w, y, cmx, cmy, c0, c1, s, pb, d, padded):
    N = x.shape[1] if cmx else x.shape[0]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    M = w.shape[1]
    KD, KH, KW = w.shape[2], w.shape[3], w.shape[4]
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    xpad = np.zeros(padded, dtype=x.dtype)
    # Indices of the innermost loops are cast to unsigned where an offset is added: Numba
    # then drops its negative-index check and LLVM vectorises the loop.
    for c in range(c0, c1):
        for n in range(N):
            xp = x[c, n] if cmx else x[n, c]
            for z in range(D):
                for r in range(H):
                    for q in range(W):
                        xpad[z + pb[0], r + pb[1], np.uint64(q + pb[2])] = xp[z, r, q]
            for m in range(M):
                f = c * M + m
                yp = y[f, n] if cmy else y[n, f]
                for od in range(OD):
                    for oh in range(OH):
                        for ow in range(OW):
                            yp[od, oh, ow] = 0
                        for kd in range(KD):
                            iz = od * s[0] + kd * d[0]
                            for kh in range(KH):
                                iy = oh * s[1] + kh * d[1]
                                for kw in range(KW):
                                    wv = w[c, m, kd, kh, kw]
                                    off = kw * d[2]
                                    if s[2] == 1:
                                        for ow in range(OW):
                                            yp[od, oh, ow] += wv * xpad[iz, iy,
                                                                        np.uint64(ow + off)]
                                    else:
                                        for ow in range(OW):
                                            yp[od, oh, ow] += wv * xpad[
                                                iz, iy, np.uint64(ow * s[2] + off)]


def _backward_input(g, w, gx, cmg, cmx, c0, c1, s, pb, d, padded):
    N = g.shape[1] if cmg else g.shape[0]
    D, H, W = gx.shape[2], gx.shape[3], gx.shape[4]
    M = w.shape[1]
    KD, KH, KW = w.shape[2], w.shape[3], w.shape[4]
    OD, OH, OW = g.shape[2], g.shape[3], g.shape[4]
    gpad = np.empty(padded, dtype=g.dtype)
    for c in range(c0, c1):
        for n in range(N):
            gpad[...] = 0
            for m in range(M):
                f = c * M + m
                gp = g[f, n] if cmg else g[n, f]
                for od in range(OD):
                    for oh in range(OH):
                        for kd in range(KD):
                            iz = od * s[0] + kd * d[0]
                            for kh in range(KH):
                                iy = oh * s[1] + kh * d[1]
                                for kw in range(KW):
                                    wv = w[c, m, kd, kh, kw]
                                    off = kw * d[2]
                                    if s[2] == 1:
                                        for ow in range(OW):
                                            gpad[iz, iy, np.uint64(ow + off)] += (
                                                wv * gp[od, oh, ow])
                                    else:
                                        for ow in range(OW):
                                            gpad[iz, iy, np.uint64(ow * s[2] + off)] += (
                                                wv * gp[od, oh, ow])
            xp = gx[c, n] if cmx else gx[n, c]
            for z in range(D):
                for r in range(H):
                    for q in range(W):
                        xp[z, r, q] = gpad[z + pb[0], r + pb[1], np.uint64(q + pb[2])]


def _backward_weight(x, g, gw, cmx, cmg, c0, c1, s, pb, d, padded):
    N = x.shape[1] if cmx else x.shape[0]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    M = gw.shape[1]
    KD, KH, KW = gw.shape[2], gw.shape[3], gw.shape[4]
    OD, OH, OW = g.shape[2], g.shape[3], g.shape[4]
    xpad = np.zeros(padded, dtype=x.dtype)
    acc = np.empty((M, KD, KH, KW, OW), dtype=x.dtype)  # one lane per output column
    for c in range(c0, c1):
        acc[...] = 0
        for n in range(N):
            xp = x[c, n] if cmx else x[n, c]
            for z in range(D):
                for r in range(H):
                    for q in range(W):
                        xpad[z + pb[0], r + pb[1], np.uint64(q + pb[2])] = xp[z, r, q]
            for m in range(M):
                f = c * M + m
                gp = g[f, n] if cmg else g[n, f]
                for od in range(OD):
                    for oh in range(OH):
                        for kd in range(KD):
                            iz = od * s[0] + kd * d[0]
                            for kh in range(KH):
                                iy = oh * s[1] + kh * d[1]
                                for kw in range(KW):
                                    off = kw * d[2]
                                    if s[2] == 1:
                                        for ow in range(OW):
                                            acc[m, kd, kh, kw, ow] += gp[od, oh, ow] * xpad[
                                                iz, iy, np.uint64(ow + off)]
                                    else:
                                        for ow in range(OW):
                                            acc[m, kd, kh, kw, ow] += gp[od, oh, ow] * xpad[
                                                iz, iy, np.uint64(ow * s[2] + off)]
        for m in range(M):
            for kd in range(KD):
                for kh in range(KH):
                    for kw in range(KW):
                        t = 0.0
                        for ow in range(OW):
                            t += acc[m, kd, kh, kw, ow]
                        gw[c, m, kd, kh, kw] = t


@functools.cache
def _compiled():
    from ._jit import jit

    return {f.__name__: jit(f) for f in (_forward, _backward_input, _backward_weight)}


def _geometry(in_shape, stride, pads, dilation):
    """3-D stride, padding before, dilation and the padded plane's shape."""
    S = _three(in_shape[2:], 1)
    pb = _three([b for b, _ in pads], 0)
    pa = _three([a for _, a in pads], 0)
    padded = tuple(si + b + a for si, b, a in zip(S, pb, pa))
    return _three(stride, 1), pb, _three(dilation, 1), padded


def _weights(w, C):
    """w (C*M, 1, *K) as a contiguous (C, M, KD, KH, KW) array."""
    K = _three(w.shape[2:], 1)
    return np.ascontiguousarray(w).reshape(C, w.shape[0] // C, *K)


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C*M, *O) in x's memory layout; nothing saved."""
    N, C = x.shape[:2]
    a, cm = _planes.planes(x)
    wk = _weights(w, C).astype(x.dtype, copy=False)
    yb, y = _planes.alike((N, w.shape[0], *out_size), cm, x.dtype)
    geo = _geometry(x.shape, stride, pads, dilation)
    kernel = _compiled()["_forward"]
    over_channels(lambda c0, c1: kernel(a, wk, yb, cm, cm, c0, c1, *geo), C, y.size)
    return y, None


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx (N, C, *S), in dy's memory layout."""
    C = in_shape[1]
    gb, cm = _planes.planes(gy)
    wk = _weights(w, C).astype(gy.dtype, copy=False)
    gxb, gx = _planes.alike(in_shape, cm, gy.dtype)
    geo = _geometry(in_shape, stride, pads, dilation)
    kernel = _compiled()["_backward_input"]
    over_channels(lambda c0, c1: kernel(gb, wk, gxb, cm, cm, c0, c1, *geo), C, gy.size)
    return gx


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C*M, 1, *K): per tap, the sum over the batch and the positions of
    dy * window."""
    C = x.shape[1]
    a, cmx = _planes.planes(x)
    gb, cmg = _planes.planes(gy)
    gw = np.empty((C, w_shape[0] // C, *_three(w_shape[2:], 1)), dtype=gy.dtype)
    geo = _geometry(x.shape, stride, pads, dilation)
    kernel = _compiled()["_backward_weight"]
    over_channels(lambda c0, c1: kernel(a, gb, gw, cmx, cmg, c0, c1, *geo), C, gy.size)
    return gw.reshape(w_shape)
