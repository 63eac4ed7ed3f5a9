"""The array layout the compiled kernels read and write: contiguous (N, C) planes.

A compiled kernel (pooling, batch norm, depthwise convolution, the unfold) loops over the
planes x[n, c] of an (N, C, *S) activation, each one contiguous. The activations of this
engine come in two memory layouts: NCHW (C-contiguous) and channel-major (the convolutions
return (C, N, *S) memory as an (N, C, *S) view). `planes` gives either as a C-contiguous
array of rank 2 + `rank` without a copy, with a flag saying which axis is the channel one,
and `alike` allocates a result in the same layout, so the next layer gets what it expects.
Any other layout is copied once into NCHW, or passed as a strided view to kernels that
take one (Numba compiles them once more for non-contiguous arrays).
"""

from __future__ import annotations

import numpy as np


def planes(x, rank=3, copy=True):
    """(a, channel_major): x (N, C, *S) as a C-contiguous (N, C, *S') or (C, N, *S') array,
    S' the spatial shape padded on the left with 1s to `rank` axes (a view where x's memory
    already is in one of those orders). Memory in another order (a strided view, such as
    `shifted`'s outputs on its grid) is copied, or with copy=False returned as an (N, C, *S')
    strided view, for kernels that read it through its strides."""
    N, C, *S = x.shape
    full = (1,) * (rank - len(S)) + tuple(S)
    if x.flags.c_contiguous:
        return x.reshape(N, C, *full), False
    t = x.transpose(1, 0, *range(2, x.ndim))
    if t.flags.c_contiguous:
        return t.reshape(C, N, *full), True
    if not copy:  # a strided view (the kernels index it through its strides)
        return x.reshape(N, C, *full), False
    return np.ascontiguousarray(x).reshape(N, C, *full), False


def like(g, channel_major, rank=3):
    """g (N, C, *S) as C-contiguous memory in the given layout (a copy only if needed)."""
    N, C, *S = g.shape
    full = (1,) * (rank - len(S)) + tuple(S)
    if channel_major:
        t = np.ascontiguousarray(g.transpose(1, 0, *range(2, g.ndim)))
        return t.reshape(C, N, *full)
    return np.ascontiguousarray(g).reshape(N, C, *full)


def alike(shape, channel_major, dtype, rank=3, zeros=False):
    """(a, view): a new C-contiguous array for an (N, C, *S) result in the given layout,
    `a` shaped as `planes` gives it and `view` the (N, C, *S) array over the same memory."""
    N, C, *S = shape
    full = (1,) * (rank - len(S)) + tuple(S)
    make = np.zeros if zeros else np.empty
    if channel_major:
        a = make((C, N, *S), dtype=dtype)
        return a.reshape(C, N, *full), a.transpose(1, 0, *range(2, a.ndim))
    a = make((N, C, *S), dtype=dtype)
    return a.reshape(N, C, *full), a
