"""Max, average and adaptive average pooling over any number of spatial dimensions.

Pure NumPy, forward and backward. Arguments are already validated and explicit: `x` is
batched (N, C, *S); `kernel_size`, `stride`, `padding` (symmetric, one int per dimension),
`dilation` and `out_size` are tuples with one entry per spatial dimension.

Like the im2col convolution, pooling loops over the kernel offsets, not over pixels: offset
k of every window is one strided view of the (padded) input,
``window_k = x_padded[..., k*d : k*d + s*(out-1) + 1 : s]``, so a 2x2 pooling is four
whole-array operations. When the windows tile the input exactly (kernel == stride, no padding,
the common 2x2/2 case) no padding copy is made and the strided views read the input in place,
which also keeps the memory layout of a channel-major activation map from the convolution.
"""

from __future__ import annotations

import numpy as np

from ._parallel import over_channels
from ._windows import interior, offsets


def _windows(kernel_size, stride, dilation, out_size):
    """One index per kernel offset, over the (N, C) axes and the padded spatial axes."""
    return [(Ellipsis,) + win for _, win in offsets(kernel_size, stride, dilation, out_size)]


def _pad_for_windows(x, kernel_size, stride, padding, dilation, out_size, value):
    """x padded by `padding` before and by what the last window needs after (ceil_mode).

    Returns x itself (no copy) when no padding is needed.
    """
    after = []
    for S, K, s, p, d, o in zip(x.shape[2:], kernel_size, stride, padding, dilation, out_size):
        after.append(max(0, (o - 1) * s + d * (K - 1) + 1 - S - p))
    if not any(padding) and not any(after):
        return x
    pads = [(0, 0), (0, 0)] + [(p, a) for p, a in zip(padding, after)]
    return np.pad(x, pads, mode="constant", constant_values=value)


def _crop(gxp, in_shape, padding):
    return gxp[(slice(None), slice(None)) + interior(in_shape[2:], padding)]


# -- max pooling -------------------------------------------------------------------------------
def max_pool_forward(x, kernel_size, stride, padding, dilation, out_size):
    """y (N, C, *out_size), the maximum of each window; padding counts as -inf.

    Returns (y, saved): `saved` holds, per output, the kernel offset (in kernel order) where
    the gradient goes, PyTorch's choice: the first position holding the window's maximum
    or, in a window holding NaN, the last NaN (its output is NaN).
    """
    xp = _pad_for_windows(x, kernel_size, stride, padding, dilation, out_size, -np.inf)
    windows = _windows(kernel_size, stride, dilation, out_size)
    y = np.empty_like(xp[windows[0]])  # the input's memory layout (order 'K')
    first = np.empty_like(y, dtype=np.min_scalar_type(len(windows)))

    def run(c0, c1):  # channels [c0, c1), independent of the other ranges
        ch = (slice(None), slice(c0, c1))
        yc, fc = y[ch], first[ch]
        yc[...] = xp[ch][windows[0]]
        fc[...] = 0
        for j, win in enumerate(windows[1:], start=1):
            v = xp[ch][win]
            better = v > yc  # strictly greater: on ties the earlier offset keeps the gradient
            # fc = where(better, j, fc) as unsigned arithmetic (mod 2^bits), several times
            # faster than a masked assignment: fc + better * (j - fc)
            step = np.subtract(fc.dtype.type(j), fc)
            step *= better
            fc += step
            np.maximum(yc, v, out=yc)  # np.maximum propagates NaN, like PyTorch
        # PyTorch's `val > maxval || isnan(val)` sends a NaN window's gradient to its last
        # NaN. Such windows are the ones whose output is NaN: mend only those, after the
        # loop, so that inputs without NaN pay one check per output instead of one per tap.
        nan = np.isnan(yc)
        if nan.any():
            for j, win in enumerate(windows):
                fc[nan & np.isnan(xp[ch][win])] = j

    over_channels(run, y.shape[1], xp.size)
    if any(padding):
        # A window whose input values are all -inf ties with its padding: PyTorch starts each
        # window at its first tap inside the input, so that tap keeps the gradient.
        start = _first_taps_inside(kernel_size, stride, padding, dilation, out_size)
        lost = y == -np.inf
        first[lost] = np.broadcast_to(start, y.shape)[lost]
    return y, (first, xp.shape)


def max_pool_values(x, kernel_size, stride, padding, dilation, out_size):
    """y of `max_pool_forward` without the gradient's bookkeeping (inference, no_grad):
    one np.maximum per tap instead of five operations. The same values: np.maximum
    propagates NaN as the forward pass does."""
    xp = _pad_for_windows(x, kernel_size, stride, padding, dilation, out_size, -np.inf)
    windows = _windows(kernel_size, stride, dilation, out_size)
    y = np.empty_like(xp[windows[0]])

    def run(c0, c1):
        ch = (slice(None), slice(c0, c1))
        yc = y[ch]
        yc[...] = xp[ch][windows[0]]
        for win in windows[1:]:
            np.maximum(yc, xp[ch][win], out=yc)

    over_channels(run, y.shape[1], xp.size)
    return y


def _first_taps_inside(kernel_size, stride, padding, dilation, out_size):
    """(1, 1, *out_size): the kernel offset (in kernel order) of each window's first tap that
    falls inside the input, not in the padding before it."""
    flat = np.zeros((1, 1) + tuple(out_size), dtype=np.int64)
    for i, (K, s, p, d, o) in enumerate(zip(kernel_size, stride, padding, dilation, out_size)):
        k = -(-np.maximum(p - np.arange(o) * s, 0) // d)  # ceil((p - o*s) / d), at least 0
        shape = [1] * (2 + len(out_size))
        shape[2 + i] = o
        flat = flat * K + k.reshape(shape)
    return flat


def max_pool_backward(g, saved, in_shape, kernel_size, stride, padding, dilation):
    """dL/dx: each window's gradient goes to the offset `max_pool_forward` chose (the first
    maximum in kernel order, or the last NaN), as in PyTorch."""
    first, padded_shape = saved
    out_size = g.shape[2:]
    spans = [d * (K - 1) + 1 for K, d in zip(kernel_size, dilation)]
    # windows that never overlap write each position at most once: no accumulation needed
    disjoint = all(s >= span for s, span in zip(stride, spans))
    tiles = disjoint and all(s == K and o * s == S for s, K, o, S in
                             zip(stride, kernel_size, out_size, padded_shape[2:]))
    # the layout of the forward pass's arrays; every position is written when the windows
    # tile the input, otherwise start from zeros
    gxp = (np.empty_like if tiles else np.zeros_like)(first, dtype=g.dtype, shape=padded_shape)
    windows = _windows(kernel_size, stride, dilation, out_size)

    def run(c0, c1):
        ch = (slice(None), slice(c0, c1))
        gc, fc, gxc = g[ch], first[ch], gxp[ch]
        for j, win in enumerate(windows):
            view = gxc[win]
            if disjoint:
                np.multiply(gc, fc == j, out=view)
            else:
                np.add(view, gc, out=view, where=fc == j)

    over_channels(run, g.shape[1], gxp.size)
    return _crop(gxp, in_shape, padding)


# -- average pooling ---------------------------------------------------------------------------
def avg_divisor(in_size, kernel_size, stride, padding, out_size, count_include_pad, dtype):
    """The divisor of every window, (1, 1, *out_size), PyTorch's rule.

    A window [o*s - p, o*s - p + K) is first clipped to the padded input [-p, S + p) (windows
    that ceil_mode lets run past it); count_include_pad=False then clips it to [0, S) too.
    The divisor is separable: the product over dimensions of the 1-D window lengths.
    """
    divisor = np.ones((1, 1) + (1,) * len(out_size), dtype=dtype)
    for i, (S, K, s, p, o) in enumerate(zip(in_size, kernel_size, stride, padding, out_size)):
        start = np.arange(o) * s - p
        end = np.minimum(start + K, S + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, S)
        shape = [1] * (2 + len(out_size))
        shape[2 + i] = o
        divisor = divisor * (end - start).astype(dtype).reshape(shape)
    return divisor


def avg_pool_forward(x, kernel_size, stride, padding, out_size, ceil_mode, count_include_pad):
    """y (N, C, *out_size), the mean of each window with PyTorch's divisor rule."""
    n = len(kernel_size)
    ones = (1,) * n
    xp = _pad_for_windows(x, kernel_size, stride, padding, ones, out_size, 0.0)
    windows = _windows(kernel_size, stride, ones, out_size)
    divisor = avg_divisor(x.shape[2:], kernel_size, stride, padding, out_size,
                           count_include_pad, x.dtype)
    y = np.empty_like(xp[windows[0]])  # the input's memory layout (order 'K')

    def run(c0, c1):  # channels [c0, c1), independent of the other ranges
        ch = (slice(None), slice(c0, c1))
        yc = y[ch]
        yc[...] = xp[ch][windows[0]]
        for win in windows[1:]:
            np.add(yc, xp[ch][win], out=yc)
        yc /= divisor

    over_channels(run, y.shape[1], xp.size)
    return y, (xp.shape, divisor)


def avg_pool_backward(g, saved, in_shape, kernel_size, stride, padding):
    """dL/dx: each window spreads gradient / divisor evenly over its positions."""
    padded_shape, divisor = saved
    n = len(kernel_size)
    gs = g / divisor
    gxp = np.zeros(padded_shape, dtype=g.dtype)
    windows = _windows(kernel_size, stride, (1,) * n, g.shape[2:])

    def run(c0, c1):
        ch = (slice(None), slice(c0, c1))
        gsc, gxc = gs[ch], gxp[ch]
        for win in windows:
            gxc[win] += gsc

    over_channels(run, g.shape[1], gxp.size)
    return _crop(gxp, in_shape, padding)


# -- adaptive average pooling ------------------------------------------------------------------
def adaptive_matrix(in_size: int, out_size: int, dtype) -> np.ndarray:
    """(out_size, in_size) averaging matrix: row o averages [floor(o*S/O), ceil((o+1)*S/O)).

    Adaptive average pooling is separable, so an N-d pooling is one such matrix per axis.
    """
    P = np.zeros((out_size, in_size), dtype=dtype)
    for o in range(out_size):
        start = (o * in_size) // out_size
        end = -((-(o + 1) * in_size) // out_size)
        P[o, start:end] = 1.0 / (end - start)
    return P


def _apply_along(x, P, axis):
    """Contract axis `axis` of x with the columns of P (out, in), in place of that axis."""
    return np.moveaxis(np.tensordot(x, P, axes=([axis], [1])), -1, axis)


def adaptive_avg_pool_forward(x, out_size):
    """y (N, C, *out_size): per axis, the mean over PyTorch's adaptive windows."""
    mats = []
    y = x
    for i, O in enumerate(out_size):
        P = adaptive_matrix(x.shape[2 + i], O, x.dtype)
        mats.append(P)
        y = _apply_along(y, P, 2 + i)
    return y, mats


def adaptive_avg_pool_backward(g, mats):
    """dL/dx: the transposed averaging matrices applied along each axis."""
    for i, P in enumerate(mats):
        g = _apply_along(g, P.T, 2 + i)
    return g

