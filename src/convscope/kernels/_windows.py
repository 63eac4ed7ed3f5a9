"""Kernel offsets as strided slices, shared by the unfold, the fold and pooling; and the
geometry of the compiled kernels' stride-phase planes (`phase_geometry`).

Offset k of a kernel (dilation d, stride s) touches the padded input at
k*d, k*d + s, ..., k*d + s*(out-1) along each axis: one strided slice. Looping over the
prod(K) offsets, each a whole-array operation, replaces a Python loop over pixels.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np


def offsets(kernel_size, stride, dilation, out_size) -> list[tuple[tuple, tuple]]:
    """(k, window) for every kernel offset k, in kernel (C) order; window is one slice per
    spatial axis of the padded input."""
    return [(k, tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                      for ki, d, s, o in zip(k, dilation, stride, out_size)))
            for k in itertools.product(*(range(K) for K in kernel_size))]


def interior(sizes, before) -> tuple[slice, ...]:
    """The slices that take the unpadded sizes back out of an array padded by `before`."""
    return tuple(slice(b, b + s) for s, b in zip(sizes, before))


def three(values, fill) -> tuple[int, ...]:
    """A 3-tuple from 1-3 per-axis values, padded on the left with `fill` (the compiled
    kernels take every 1- and 2-D layer as a 3-D one)."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


@functools.lru_cache(maxsize=64)
def _phase_geometry(S, K, s, d, lo, hi):
    Q = tuple(-(-(si + b + a) // st) for si, b, a, st in zip(S, lo, hi, s))
    taps = np.stack(np.meshgrid(*(np.arange(k) * di for k, di in zip(K, d)), indexing="ij"),
                    axis=-1).reshape(-1, 3)
    ph, q = taps % np.array(s), taps // np.array(s)
    phase = (ph[:, 0] * s[1] + ph[:, 1]) * s[2] + ph[:, 2]
    offset = (q[:, 0] * Q[1] + q[:, 1]) * Q[2] + q[:, 2]
    starts = phase * math.prod(Q) + offset
    return s, lo, Q, phase.astype(np.int64), offset.astype(np.int64), starts.astype(np.int64)


def phase_geometry(sizes, kernel_size, stride, pads, dilation):
    """The stride-phase plane of `_phase_kernels` for a 1-3-D window: (stride, padding
    before, the grid (Q0, Q1, Q2), and per tap in kernel order its phase, its offset on the
    grid and its start in the flat phase buffer (phase * Q0 Q1 Q2 + offset)), all 3-D.

    The padded plane is the input plus `pads` (before, after); every window must lie inside
    it (pass a wider `after` for windows that ceil_mode lets run past the padding). Cached:
    the kernels only read the arrays."""
    return _phase_geometry(three(sizes, 1), three(kernel_size, 1), three(stride, 1),
                           three(dilation, 1), three([b for b, _ in pads], 0),
                           three([a for _, a in pads], 0))
