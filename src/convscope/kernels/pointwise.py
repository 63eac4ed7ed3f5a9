"""1x1 convolutions as one matrix product per group, with no unfolding.

A 1x1 filter mixes the channels of one pixel (the lecture's per-pixel matrix product), so
y (C_out, N*L) = W (C_out, C_in) @ x (C_in, N*L) per group. The input is used in place when
its memory already is channel-major (C, N, *S) (the output of the other fast kernels), or
image by image when it is (N, C, *S) (one product per image, no copy); only a stride or a
padding makes a copy, of the pixels actually used. Gradients are the two other products:
dx = W^T @ dy (placed back on the strided pixels), dW = dy @ x^T.
"""

from __future__ import annotations

import math

import numpy as np

from ._windows import interior


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None when this algorithm applies, else the rule it needs."""
    return None if all(k == 1 for k in w_shape[2:]) else "a 1x1 kernel"


def _sampled(x, stride, pads, out_size):
    """The pixels a 1x1 kernel reads: x padded, then every stride-th, out_size of them."""
    if any(b or a for b, a in pads):
        x = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    return x[(slice(None), slice(None)) + tuple(slice(0, o * s, s)
                                                for o, s in zip(out_size, stride))]


def _matrices(a, groups):
    """a (N, C, *S) as (G, C/G, N*L) channel-major if free, else (N, G, C/G, L) or a copy.

    Returns (array, channel_major).
    """
    N, C = a.shape[:2]
    L = math.prod(a.shape[2:])
    t = a.transpose(1, 0, *range(2, a.ndim))
    if t.flags.c_contiguous:
        return t.reshape(groups, C // groups, N * L), True
    if a.flags.c_contiguous:
        return a.reshape(N, groups, C // groups, L), False
    return np.ascontiguousarray(t).reshape(groups, C // groups, N * L), True


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O) = W @ x per pixel; saved: the sampled input for dW."""
    xs = _sampled(x, stride, pads, out_size)
    N = xs.shape[0]
    C_out, C_in_g = w.shape[:2]
    wg = w.reshape(groups, C_out // groups, C_in_g)
    xm, channel_major = _matrices(xs, groups)
    if channel_major:
        y = np.matmul(wg, xm).reshape(C_out, N, *out_size)
        return y.transpose(1, 0, *range(2, y.ndim)), xs
    return np.matmul(wg, xm).reshape(N, C_out, *out_size), xs


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx (N, C_in, *S): W^T @ dy on the sampled pixels, zero elsewhere."""
    N, C_in, *S = in_shape
    C_out, C_in_g = w.shape[:2]
    wt = w.reshape(groups, C_out // groups, C_in_g).transpose(0, 2, 1)
    gm, channel_major = _matrices(gy, groups)
    O = gy.shape[2:]
    if channel_major:
        g = np.matmul(wt, gm).reshape(C_in, N, *O)
        g = g.transpose(1, 0, *range(2, g.ndim))
    else:
        g = np.matmul(wt, gm).reshape(N, C_in, *O)
    if (all(s == 1 for s in stride) and not any(b or a for b, a in pads)
            and tuple(O) == tuple(S)):  # every pixel was used, in place: nothing to move
        return g
    Sp = [s + b + a for s, (b, a) in zip(S, pads)]
    gxp = np.zeros((C_in, N, *Sp), dtype=gy.dtype).transpose(1, 0, *range(2, len(Sp) + 2))
    gxp[(slice(None), slice(None)) + tuple(slice(0, o * s, s) for o, s in zip(O, stride))] = g
    return gxp[(slice(None), slice(None)) + interior(S, [b for b, _ in pads])]


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C_out, C_in/G, 1, ...) = dy @ x^T per group, a reduction over N*L."""
    xs = saved if saved is not None else _sampled(x, stride, pads, gy.shape[2:])
    G = groups
    C_out = gy.shape[1]
    N = gy.shape[0]
    L = math.prod(gy.shape[2:])
    gt = gy.transpose(1, 0, *range(2, gy.ndim)).reshape(G, C_out // G, N * L)
    xt = xs.transpose(1, 0, *range(2, xs.ndim)).reshape(G, xs.shape[1] // G, N * L)
    return np.matmul(gt, xt.transpose(0, 2, 1)).reshape(w_shape)
