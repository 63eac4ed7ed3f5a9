"""Kernel offsets as strided slices, shared by the unfold, the fold and pooling.

Offset k of a kernel (dilation d, stride s) touches the padded input at
k*d, k*d + s, ..., k*d + s*(out-1) along each axis: one strided slice. Looping over the
prod(K) offsets, each a whole-array operation, replaces a Python loop over pixels.
"""

from __future__ import annotations

import itertools


def offsets(kernel_size, stride, dilation, out_size) -> list[tuple[tuple, tuple]]:
    """(k, window) for every kernel offset k, in kernel (C) order; window is one slice per
    spatial axis of the padded input."""
    return [(k, tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                      for ki, d, s, o in zip(k, dilation, stride, out_size)))
            for k in itertools.product(*(range(K) for K in kernel_size))]


def interior(sizes, before) -> tuple[slice, ...]:
    """The slices that take the unpadded sizes back out of an array padded by `before`."""
    return tuple(slice(b, b + s) for s, b in zip(sizes, before))
