"""Depthwise convolution (groups = C_in): a per-channel multiply-accumulate over the taps.

Each input channel c has its own filters (a channel multiplier M = C_out / C_in of them), so
there is no sum over channels and no matrix product to hand to BLAS: per kernel offset k,

    y[c, j] += w[c*M + j, k] * x_padded[c, window k]

a whole-array multiply-add (Chainer's and tinygrad's offset loop, without the unfold). The
work runs in channel blocks small enough to stay in cache, split over the cores. Backward
passes are the same loop: the input gradient adds w * dy back onto each window, the weight
gradient reduces dy * window over the batch and the positions.

Stride 1 (the common case) runs `shifted` instead: on the input's flat lines every tap is
a contiguous run; a channel's taps over all its positions are copied into a small
(prod K, positions) block and multiplied by the channel's (M, prod K) filters, the
channels split over the threads; the input gradient is the adjoint, a depthwise
convolution again. Measured (128 channels 56x56 batch 8, 2 threads, min of 20 calls):
forward 6.2 -> 2.4 ms, input gradient 7.8 -> 2.3 ms, weight gradient 6.9 -> 3.9 ms.
"""

from __future__ import annotations

import numpy as np

from . import shifted
from ._parallel import over_channels
from ._windows import interior, offsets
from .im2col import pad_channel_major

#: Values of one channel block (output side); about 256 KB of float32, in the L2 cache.
BLOCK_VALUES = 1 << 16


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None when this algorithm applies, else the rule it needs."""
    return None if groups == x_shape[1] and w_shape[1] == 1 else "groups == in_channels"


def _blocks(c0, c1, per_channel):
    step = max(1, BLOCK_VALUES // max(per_channel, 1))
    return [(b, min(b + step, c1)) for b in range(c0, c1, step)]


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C*M, *O), a channel-major view; nothing saved (stride 1: `shifted`'s)."""
    if all(s == 1 for s in stride):
        return shifted.forward(x, w, stride, pads, dilation, groups, out_size)
    N, C = x.shape[:2]
    M = w.shape[0] // C
    K = w.shape[2:]
    xp = pad_channel_major(x, pads)  # (C, N, *Sp)
    wk = w.reshape(C, M, -1)  # (C, M, prod K)
    y = np.empty((C, M, N, *out_size), dtype=x.dtype)
    windows = offsets(K, stride, dilation, out_size)
    per_channel = M * N * int(np.prod(out_size))
    tail = (1,) * (1 + len(out_size))  # broadcast a (c, M) weight over (N, *O)

    def run(c0, c1):
        for b0, b1 in _blocks(c0, c1, per_channel):
            yb = y[b0:b1]
            tmp = np.empty_like(yb)
            for i, (_, win) in enumerate(windows):
                xs = xp[(slice(b0, b1), None, slice(None)) + win]
                wi = wk[b0:b1, :, i].reshape(b1 - b0, M, *tail)
                if i == 0:
                    np.multiply(xs, wi, out=yb)
                else:
                    np.multiply(xs, wi, out=tmp)
                    yb += tmp

    over_channels(run, C, y.size)
    y = y.reshape(C * M, N, *out_size)
    return y.transpose(1, 0, *range(2, y.ndim)), None


def _channel_major(gy, C, M):
    """dy (N, C*M, *O) as (C, M, N, *O); a view when it is channel-major already."""
    t = gy.transpose(1, 0, *range(2, gy.ndim))
    return t.reshape(C, M, *t.shape[1:])


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx (N, C, *S): each window gets w * dy added back."""
    if all(s == 1 for s in stride):
        return shifted.backward_input(gy, w, in_shape, stride, pads, dilation, groups)
    N, C, *S = in_shape
    M = w.shape[0] // C
    K = w.shape[2:]
    out_size = gy.shape[2:]
    g = _channel_major(gy, C, M)
    wk = w.reshape(C, M, -1)
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    gxp = np.zeros((C, N, *Sp), dtype=gy.dtype)
    windows = offsets(K, stride, dilation, out_size)
    per_channel = M * N * int(np.prod(out_size))
    tail = (1,) * (1 + len(out_size))

    def run(c0, c1):
        for b0, b1 in _blocks(c0, c1, per_channel):
            gb = g[b0:b1]
            tmp = np.empty(gb.shape, dtype=gy.dtype)
            for i, (_, win) in enumerate(windows):
                np.multiply(gb, wk[b0:b1, :, i].reshape(b1 - b0, M, *tail), out=tmp)
                gxp[(slice(b0, b1), slice(None)) + win] += tmp.sum(axis=1) if M > 1 else tmp[:, 0]

    over_channels(run, C, gxp.size)
    gx = gxp[(slice(None), slice(None)) + interior(S, [b for b, _ in pads])]
    return gx.transpose(1, 0, *range(2, gx.ndim))


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C*M, 1, *K): sum over the batch and the positions of dy * window."""
    if all(s == 1 for s in stride):
        return shifted.backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups)
    N, C = x.shape[:2]
    M = w_shape[0] // C
    K = w_shape[2:]
    out_size = gy.shape[2:]
    xp = pad_channel_major(x, pads)
    g = _channel_major(gy, C, M)
    windows = offsets(K, stride, dilation, out_size)
    gw = np.empty((C, M, len(windows)), dtype=gy.dtype)
    per_channel = M * N * int(np.prod(out_size))
    axes = "".join(chr(ord("n") + i) for i in range(1 + len(out_size)))  # n, o, p, ...

    def run(c0, c1):
        for b0, b1 in _blocks(c0, c1, per_channel):
            gb = g[b0:b1]
            for i, (_, win) in enumerate(windows):
                xs = xp[(slice(b0, b1), slice(None)) + win]
                gw[b0:b1, :, i] = np.einsum(f"cm{axes},c{axes}->cm", gb, xs)

    over_channels(run, C, xp.size)
    return gw.reshape(w_shape)
