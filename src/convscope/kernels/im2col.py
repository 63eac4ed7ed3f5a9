"""Convolution as unfold + matrix product (im2col), forward and backward, any rank.

Layout. Inputs are (N, C, *S). Inside, the columns are kept channel-major,
``cols[c, *k, n, *o] = x_padded[n, c, o*s + k*d]``, so that

* the forward pass is one matrix product per group, W (C_out/G, C_in/G*K) @ cols
  (C_in/G*K, N*L), whose result (C_out, N, *O) is returned as an (N, C_out, *O) view;
* an activation map that arrives in that channel-major memory layout (any output of this
  module, and the elementwise ops that follow it) is unfolded with contiguous copies.

The unfold loops over the kernel offsets, not over pixels (Chainer's im2col_nd): each offset
copies one strided slice of the padded input, so Python does prod(K) iterations and NumPy
does the rest. The fold (col2im) is the same loop with ``+=``.

Gradients are convolutions: the input gradient is the fold of W^T @ dY (a transposed
convolution), and the weight gradient is dY @ cols^T.
"""

from __future__ import annotations

import math

import numpy as np

from ._parallel import over_channels
from ._windows import interior, offsets


def pad_channel_major(x, pads):
    """x (N, C, *S) zero-padded into a new (C, N, *Sp) array."""
    N, C, *S = x.shape
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    buf = np.zeros((C, N, *Sp), dtype=x.dtype)
    inner = interior(S, [b for b, _ in pads])
    xt = x.transpose(1, 0, *range(2, x.ndim))

    def copy(c0, c1):
        buf[(slice(c0, c1), slice(None)) + inner] = xt[c0:c1]

    over_channels(copy, C, buf.size)
    return buf


def unfold(x, kernel_size, stride, dilation, pads, out_size):
    """Columns (C, *K, N, *O) of x (N, C, *S), zero-padded by `pads`."""
    N, C = x.shape[:2]
    if any(b or a for b, a in pads):
        xp = pad_channel_major(x, pads)  # (C, N, *Sp)
    else:
        xp = x.transpose(1, 0, *range(2, x.ndim))  # a view
    cols = np.empty((C, *kernel_size, N, *out_size), dtype=x.dtype)
    windows = offsets(kernel_size, stride, dilation, out_size)

    def copy(c0, c1):  # channels [c0, c1): independent of the other ranges
        for k, win in windows:
            cols[(slice(c0, c1),) + k] = xp[(slice(c0, c1), slice(None)) + win]

    over_channels(copy, C, cols.size)
    return cols


def fold(cols, in_shape, kernel_size, stride, dilation, pads, out_size):
    """The adjoint of `unfold`: sum columns (C, *K, N, *O) back into an (N, C, *S) array."""
    N, C, *S = in_shape
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    xp = np.zeros((C, N, *Sp), dtype=cols.dtype)
    windows = offsets(kernel_size, stride, dilation, out_size)

    def add(c0, c1):
        for k, win in windows:
            xp[(slice(c0, c1), slice(None)) + win] += cols[(slice(c0, c1),) + k]

    over_channels(add, C, cols.size)
    inner = interior(S, [b for b, _ in pads])
    return xp[(slice(None), slice(None)) + inner].transpose(1, 0, *range(2, len(in_shape)))


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O) and the columns (kept for the weight gradient)."""
    N = x.shape[0]
    C_out, C_in_g, *K = w.shape
    G = groups
    cols = unfold(x, K, stride, dilation, pads, out_size)
    L = N * math.prod(out_size)
    CK = C_in_g * math.prod(K)
    y = np.matmul(w.reshape(G, C_out // G, CK), cols.reshape(G, CK, L))  # (G, C_out/G, N*L)
    y = y.reshape(C_out, N, *out_size)
    return y.transpose(1, 0, *range(2, y.ndim)), cols


def _channel_major(gy, groups):
    """dY (N, C_out, *O) as (G, C_out/G, N*L); free when gy is already channel-major."""
    C_out = gy.shape[1]
    t = gy.transpose(1, 0, *range(2, gy.ndim))
    return t.reshape(groups, C_out // groups, gy.shape[0] * math.prod(gy.shape[2:]))


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx (N, C_in, *S) from dL/dy: fold(W^T @ dY), a transposed convolution."""
    C_out, C_in_g, *K = w.shape
    G = groups
    out_size = gy.shape[2:]
    wg = w.reshape(G, C_out // G, C_in_g * math.prod(K))
    gcols = np.matmul(wg.transpose(0, 2, 1), _channel_major(gy, G))  # (G, C_in/G*K, N*L)
    gcols = gcols.reshape(C_in_g * G, *K, gy.shape[0], *out_size)
    return fold(gcols, in_shape, K, stride, dilation, pads, out_size)


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None: im2col applies to every convolution."""
    return None


def backward_weight(x, cols, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C_out, C_in/G, *K) = dY @ cols^T, per group; cols are the forward pass's
    columns when it kept them, else x is unfolded again."""
    if cols is None:
        cols = unfold(x, w_shape[2:], stride, dilation, pads, gy.shape[2:])
    G = groups
    gyc = _channel_major(gy, G)  # (G, C_out/G, N*L)
    colsg = cols.reshape(G, math.prod(w_shape[1:]), gyc.shape[-1])  # (G, C_in/G*K, N*L)
    gw = np.matmul(gyc, colsg.transpose(0, 2, 1))
    return gw.reshape(w_shape)
