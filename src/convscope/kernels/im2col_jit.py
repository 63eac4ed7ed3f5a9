"""The unfold and the fold of `im2col` as compiled loops: columns written in one pass.

`im2col.unfold` first copies the input into a zero-padded channel-major array, then copies
one strided slice per kernel offset into the columns ``cols[c, *k, n, *o] =
x_padded[n, c, o*s + k*d]``: two passes over memory, the second one strided. Here each
column row is written once, straight from the input, with zeros where the window runs
into the padding: no padded copy. The fold (col2im, the input gradient) is the same loop
adding into a zeroed (C, N, *S) array, the taps in the same order as `im2col.fold`, so
both give the same bits as the NumPy loops they replace (tests/test_kernels_jit.py).

A chunk of the columns (`im2col`'s large layers: a slice of the images, or rows of one
image along the first spatial axis) is the same loop over a sub-range: the images from
`n0` and the outputs from `lo` (a 3-tuple) on, as many as the chunk's array holds. The
channels are split over the threads of `_parallel`; arrays are taken as contiguous
(N, C) planes in either memory layout (`_planes`), spatial shapes padded to 3-D.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _planes
from ._parallel import over_channels
from ._windows import three


def _unfold(x, cols, cm, c0, c1, s, pb, d, n0, lo):
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    KD, KH, KW = cols.shape[1], cols.shape[2], cols.shape[3]
    NC, OD, OH, OW = cols.shape[4], cols.shape[5], cols.shape[6], cols.shape[7]
    zero = cols.dtype.type(0)
    for c in range(c0, c1):
        for kd in range(KD):
            for kh in range(KH):
                for kw in range(KW):
                    # the outputs whose tap kw falls inside the input along the row
                    off = kw * d[2] - pb[2]
                    first = max(0, -((off + lo[2] * s[2]) // s[2]))  # ceil(-x / s)
                    first = min(first, OW)
                    end = OW
                    while end > first and (end - 1 + lo[2]) * s[2] + off >= W:
                        end -= 1
                    for n in range(NC):
                        xp = x[c, n0 + n] if cm else x[n0 + n, c]
                        out = cols[c, kd, kh, kw, n]
                        for od in range(OD):
                            iz = (od + lo[0]) * s[0] + kd * d[0] - pb[0]
                            for oh in range(OH):
                                iy = (oh + lo[1]) * s[1] + kh * d[1] - pb[1]
                                if iz < 0 or iz >= D or iy < 0 or iy >= H:
                                    for ow in range(OW):
                                        out[od, oh, ow] = zero
                                    continue
                                for ow in range(first):
                                    out[od, oh, ow] = zero
                                base = lo[2] * s[2] + off
                                if s[2] == 1:
                                    for ow in range(first, end):
                                        out[od, oh, ow] = xp[iz, iy, np.uint64(ow + base)]
                                else:
                                    for ow in range(first, end):
                                        out[od, oh, ow] = xp[iz, iy,
                                                             np.uint64(ow * s[2] + base)]
                                for ow in range(end, OW):
                                    out[od, oh, ow] = zero


def _unfold_phases(x, cols, cm, c0, c1, s, pb, d, n0, lo, Sp, at, NC):
    """`_unfold` of NC whole images, x's from n0 into cols's from `at`: each input plane
    copied once into a zeroed scratch copy of its padded plane (Sp) split along the last
    axis into its s[2] phases (`_phase_kernels.split`), from which every column row is one
    contiguous run, copied with unsigned flat indices (no bounds to test, no wraparound
    checks)."""
    KD, KH, KW = cols.shape[1], cols.shape[2], cols.shape[3]
    OD, OH, OW = cols.shape[5], cols.shape[6], cols.shape[7]
    Dp, Hp, Q2 = Sp[0], Sp[1], (Sp[2] + s[2] - 1) // s[2]
    buf = np.zeros((1, 1, s[2], Dp, Hp, Q2), dtype=cols.dtype)  # margins stay zero
    src = buf.reshape(-1)
    uOW = np.uint64(OW)
    for c in range(c0, c1):
        for n in range(NC):
            _phase_kernels.split(x[c, n0 + n] if cm else x[n0 + n, c], buf, pb)
            for kd in range(KD):
                for kh in range(KH):
                    for kw in range(KW):
                        e = lo[2] * s[2] + kw * d[2]  # the tap's column in the padded row
                        ph, q = e % s[2], e // s[2]
                        dst = cols[c, kd, kh, kw, at + n].reshape(-1)
                        i = np.uint64(0)
                        for od in range(OD):
                            z = (od + lo[0]) * s[0] + kd * d[0]
                            for oh in range(OH):
                                r = (oh + lo[1]) * s[1] + kh * d[1]
                                start = np.uint64(((ph * Dp + z) * Hp + r) * Q2 + q)
                                for j in range(uOW):
                                    dst[i + j] = src[start + j]
                                i += uOW


def _fold(cols, gx, c0, c1, s, pb, d, n0, lo):
    D, H, W = gx.shape[2], gx.shape[3], gx.shape[4]
    KD, KH, KW = cols.shape[1], cols.shape[2], cols.shape[3]
    NC, OD, OH, OW = cols.shape[4], cols.shape[5], cols.shape[6], cols.shape[7]
    for c in range(c0, c1):
        for kd in range(KD):
            for kh in range(KH):
                for kw in range(KW):
                    off = kw * d[2] - pb[2]
                    first = max(0, -((off + lo[2] * s[2]) // s[2]))
                    first = min(first, OW)
                    end = OW
                    while end > first and (end - 1 + lo[2]) * s[2] + off >= W:
                        end -= 1
                    base = lo[2] * s[2] + off
                    for n in range(NC):
                        xp = gx[c, n0 + n]
                        src = cols[c, kd, kh, kw, n]
                        for od in range(OD):
                            iz = (od + lo[0]) * s[0] + kd * d[0] - pb[0]
                            if iz < 0 or iz >= D:
                                continue
                            for oh in range(OH):
                                iy = (oh + lo[1]) * s[1] + kh * d[1] - pb[1]
                                if iy < 0 or iy >= H:
                                    continue
                                if s[2] == 1:
                                    for ow in range(first, end):
                                        xp[iz, iy, np.uint64(ow + base)] += src[od, oh, ow]
                                else:
                                    for ow in range(first, end):
                                        xp[iz, iy, np.uint64(ow * s[2] + base)] += (
                                            src[od, oh, ow])


_phase_kernels = None  # the compiled phase-plane helpers, imported by `_compiled`


@functools.cache
def _compiled():
    global _phase_kernels
    from . import _phase_kernels
    from ._jit import jit

    return {"unfold": jit(_unfold), "unfold_phases": jit(_unfold_phases), "fold": jit(_fold)}


def _cols8(cols, kernel_size):
    """cols (C, *K, n, *o) as the kernels' (C, KD, KH, KW, n, OD, OH, OW) view."""
    nd = len(kernel_size)
    C, n, o = cols.shape[0], cols.shape[1 + nd], cols.shape[2 + nd:]
    return cols.reshape(C, *three(kernel_size, 1), n, *three(o, 1))


def unfold_into(x, cols, kernel_size, stride, dilation, pads, n0=0, lo=None):
    """Write the columns of x (N, C, *S) into `cols` (C, *K, n, *o), a chunk of the
    images from n0 and of the outputs from `lo` (one per spatial axis) on."""
    a, cm = _planes.planes(x)
    nd = len(kernel_size)
    lo = three(lo if lo is not None else (0,) * nd, 0)
    c8 = _cols8(cols, kernel_size)
    geo = (three(stride, 1), three([b for b, _ in pads], 0), three(dilation, 1))
    if any(lo):  # rows of one image (a chunk): the rows' windows read in place
        kernel, more = _compiled()["unfold"], ()
    else:  # whole images: each plane split into its phases once, then contiguous runs
        kernel, more = _compiled()["unfold_phases"], (_padded_size(x, pads), 0, c8.shape[4])
    over_channels(lambda c0, c1: kernel(a, c8, cm, c0, c1, *geo, n0, lo, *more),
                  x.shape[1], cols.size)
    return cols


def _padded_size(x, pads):
    return three([s + b + a for s, (b, a) in zip(x.shape[2:], pads)], 1)


def image_unfolder(x, kernel_size, stride, dilation, pads):
    """A function of (cols, n0, n1) that writes the columns of the images [n0, n1) of x
    (N, C, *S) into `cols` (C, *K, n1 - n0, *O) on the calling thread."""
    a, cm = _planes.planes(x)
    geo = (three(stride, 1), three([b for b, _ in pads], 0), three(dilation, 1))
    Sp = _padded_size(x, pads)
    kernel = _compiled()["unfold_phases"]
    return lambda cols, n0, n1: kernel(a, _cols8(cols, kernel_size), cm, 0, x.shape[1],
                                       *geo, n0, (0, 0, 0), Sp, 0, n1 - n0)


def unfold(x, kernel_size, stride, dilation, pads, out_size):
    """Columns (C, *K, N, *O) of x (N, C, *S), zero-padded by `pads` (`im2col.unfold`)."""
    N, C = x.shape[:2]
    cols = np.empty((C, *kernel_size, N, *out_size), dtype=x.dtype)
    return unfold_into(x, cols, kernel_size, stride, dilation, pads)


def fold_into(cols, gx_cm, kernel_size, stride, dilation, pads, n0=0, lo=None):
    """Add the columns (C, *K, n, *o) of a chunk into gx_cm (C, N, *S), the adjoint of
    `unfold_into` (taps in kernel order, as `im2col.fold`)."""
    nd = len(kernel_size)
    C, N, *S = gx_cm.shape
    g5 = gx_cm.reshape(C, N, *three(S, 1))
    lo = three(lo if lo is not None else (0,) * nd, 0)
    c8 = _cols8(cols, kernel_size)
    geo = (three(stride, 1), three([b for b, _ in pads], 0), three(dilation, 1))
    kernel = _compiled()["fold"]
    over_channels(lambda c0, c1: kernel(c8, g5, c0, c1, *geo, n0, lo), C, cols.size)


def fold(cols, in_shape, kernel_size, stride, dilation, pads, out_size):
    """The adjoint of `unfold`: (N, C, *S), a channel-major view (`im2col.fold`)."""
    N, C, *S = in_shape
    gx = np.zeros((C, N, *S), dtype=cols.dtype)
    fold_into(np.ascontiguousarray(cols), gx, kernel_size, stride, dilation, pads)
    return gx.transpose(1, 0, *range(2, len(in_shape)))
