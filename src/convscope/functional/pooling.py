"""Max, average and adaptive average pooling in any number of spatial dimensions, and
PyTorch's `max_pool1d/2d/3d`, `avg_pool1d/2d/3d`, `adaptive_avg_pool1d/2d/3d` over them.

Output size along each spatial dimension (PyTorch's rule, `arith.sizes.window_count`)::

    out = floor_or_ceil((S + 2P - d*(K - 1) - 1) / s) + 1

where ceil_mode rounds up but drops a last window that would start in the right padding.

Pooling over 1-3 spatial dimensions runs the compiled loops of `kernels.pool_jit` (measured
faster at every stride; the figures are in its docstring); more dimensions run the NumPy
kernels of `kernels.pool`, the reference the compiled loops are tested against.
"""

from __future__ import annotations

import numpy as np

from .. import _args
from ..arith.sizes import kernel_extent, window_count
from ..kernels import pool as pool_kernel
from ..kernels import pool_jit
from ._common import check_shape, float_input, window_stride
from ._graph import _needs_grad, _result

__all__ = ["max_pool", "avg_pool", "adaptive_avg_pool", "global_max_pool",
           "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"]


def _pool_geometry(func, shape, n, kernel_size, stride, padding, dilation, ceil_mode):
    """Explicit (K, s, p, d, out_size) for a pooling over spatial `shape`, checked."""
    K = _args.ntuple(kernel_size, n, func=func, arg="kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = K  # PyTorch's default: non-overlapping windows
    else:
        s = _args.ntuple(stride, n, func=func, arg="stride")
    p = _args.ntuple(padding, n, func=func, arg="padding", minimum=0)
    d = _args.ntuple(dilation, n, func=func, arg="dilation")
    ceil_mode = _args.check_bool(ceil_mode, func=func, arg="ceil_mode")
    if any(pi > k // 2 for pi, k in zip(p, K)):
        raise ValueError(f"{func}: padding={p} must be at most half of kernel_size={K}")
    for S, k, pi, di in zip(shape, K, p, d):
        span = kernel_extent(k, di)
        if span > S + 2 * pi:
            raise ValueError(f"{func}: kernel_size={K} with dilation={d} spans {span}, "
                             f"larger than the padded input {S + 2 * pi} (input {S} + "
                             f"padding 2 x {pi})")
    out = tuple(window_count(S, k, si, (pi, pi), di, bool(ceil_mode))
                for S, k, si, pi, di in zip(shape, K, s, p, d))
    s = window_stride(s, [S + 2 * pi for S, pi in zip(shape, p)],
                      [kernel_extent(k, di) for k, di in zip(K, d)])
    return K, s, p, d, out


def _batched(func, input, n, empty_channels=False):
    n = _args.check_int(n, func=func, arg="ndim")
    if n > 16:
        raise ValueError(f"{func}: ndim must be at most 16 spatial dimensions, got ndim={n}")
    x = float_input(input, func)
    batched = _args.check_input_rank(func, x.shape, n)
    # as PyTorch: only the batch (and, for adaptive pooling, the channels) may be empty
    if 0 in x.shape[(1 if batched else 0) + bool(empty_channels):]:
        raise ValueError(f"{func}: input of shape {tuple(x.shape)} has an empty channel or "
                         f"spatial dimension (only the batch may be empty)")
    return x, (x if batched else x[None]), batched


def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
             ndim, _func="max_pool"):
    """N-d max pooling; see `max_pool2d` for the arguments."""
    x, xb, batched = _batched(_func, input, ndim)
    K, s, p, d, out_size = _pool_geometry(_func, xb.shape[2:], ndim, kernel_size, stride,
                                          padding, dilation, ceil_mode)
    if pool_jit.supports(ndim):
        if not _needs_grad(input):
            y = pool_jit.max_pool_values(xb, K, s, p, d, out_size)
            return _result(y if batched else y[0], (input,), None, f"max_pool{ndim}d")
        y, saved = pool_jit.max_pool_forward(xb, K, s, p, d, out_size)

        def backward(g):
            gx = pool_jit.max_pool_backward(g if batched else g[None], saved)
            return (gx if batched else gx[0],)

        return _result(y if batched else y[0], (input,), backward, f"max_pool{ndim}d")
    if not _needs_grad(input):  # no graph: the maxima only, not where they are
        y = pool_kernel.max_pool_values(xb, K, s, p, d, out_size)
        return _result(y if batched else y[0], (input,), None, f"max_pool{ndim}d")
    y, saved = pool_kernel.max_pool_forward(xb, K, s, p, d, out_size)

    def backward(g):
        gb = g if batched else g[None]
        gx = pool_kernel.max_pool_backward(gb, saved, xb.shape, K, s, p, d)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"max_pool{ndim}d")


def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, *, ndim, _func="avg_pool"):
    """N-d average pooling; see `avg_pool2d` for the arguments."""
    x, xb, batched = _batched(_func, input, ndim)
    K, s, p, _, out_size = _pool_geometry(_func, xb.shape[2:], ndim, kernel_size, stride,
                                          padding, 1, ceil_mode)
    count_include_pad = _args.check_bool(count_include_pad, func=_func,
                                         arg="count_include_pad")
    if pool_jit.supports(ndim):
        y, saved = pool_jit.avg_pool_forward(xb, K, s, p, out_size, count_include_pad)

        def backward(g):
            gx = pool_jit.avg_pool_backward(g if batched else g[None], saved)
            return (gx if batched else gx[0],)

        return _result(y if batched else y[0], (input,), backward, f"avg_pool{ndim}d")
    y, saved = pool_kernel.avg_pool_forward(xb, K, s, p, out_size, ceil_mode,
                                            count_include_pad)

    def backward(g):
        gb = g if batched else g[None]
        gx = pool_kernel.avg_pool_backward(gb, saved, xb.shape, K, s, p)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"avg_pool{ndim}d")


def adaptive_avg_pool(input, output_size, *, ndim, _func="adaptive_avg_pool"):
    """N-d adaptive average pooling; see `adaptive_avg_pool2d`."""
    x, xb, batched = _batched(_func, input, ndim, empty_channels=True)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * ndim
    if len(sizes) != ndim:
        raise ValueError(f"{_func}: output_size needs 1 or {ndim} values, got "
                         f"output_size={_args.show(output_size)}")
    # None keeps the input's size along that dimension, as in PyTorch
    sizes = tuple(S if o is None else o for o, S in zip(sizes, xb.shape[2:]))
    out_size = _args.ntuple(sizes, ndim, func=_func, arg="output_size")
    check_shape(_func, "output", xb.shape[:2] + out_size, xb.dtype)
    if any(S == 0 for S in xb.shape[2:]):
        raise ValueError(f"{_func}: input spatial size {tuple(xb.shape[2:])} must be "
                         f"non-empty")
    y, mats = pool_kernel.adaptive_avg_pool_forward(xb, out_size)

    def backward(g):
        gx = pool_kernel.adaptive_avg_pool_backward(g if batched else g[None], mats)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"adaptive_avg_pool{ndim}d")


def global_max_pool(input):
    """The maximum over all spatial positions of each channel, (N, C, *S) -> (N, C, 1, ...)
    (ONNX's GlobalMaxPool, PyTorch's `adaptive_max_pool` to size 1). The gradient goes to
    the first maximum.

    >>> global_max_pool(np.arange(8.0).reshape(1, 2, 2, 2))[:, :, 0, 0]
    array([[3., 7.]])
    """
    func = "global_max_pool"
    x = float_input(input, func)
    if x.ndim < 3 or 0 in x.shape[1:]:
        raise ValueError(f"{func}: expected input of shape (N, C, *spatial) with at least "
                         f"one non-empty spatial dimension, got shape {tuple(x.shape)}")
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    index = flat.argmax(axis=-1)[..., None]
    out_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    y = np.take_along_axis(flat, index, axis=-1).reshape(out_shape)

    def backward(g):
        gx = np.zeros_like(flat)
        np.put_along_axis(gx, index, g.reshape(index.shape), axis=-1)
        return (gx.reshape(x.shape),)

    return _result(y, (input,), backward, func)


_MAX_DOC = """{n}-D max pooling, PyTorch's `max_pool{n}d`: the maximum of each window.

    Args:
        input: (N, C, {S}) or (C, {S}).
        kernel_size: int or {n} ints ({K}).
        stride: int or {n} ints; default kernel_size.
        padding: implicit -inf padding on both sides, at most kernel_size // 2.
        dilation: spacing of the window's taps.
        ceil_mode: round the output size up (a last partial window, if it starts inside
            the input or the left padding).

    Shape: out = floor_or_ceil((S + 2P - dilation*(K-1) - 1) / stride) + 1.

    The gradient goes to the first maximum of each window (ties: the earliest in the
    window), as in PyTorch; a window holding NaN outputs NaN and sends its gradient to its
    last NaN (PyTorch's `val > max || isnan(val)`).
    """

_AVG_DOC = """{n}-D average pooling, PyTorch's `avg_pool{n}d`: the mean of each window.

    Args:
        input: (N, C, {S}) or (C, {S}).
        kernel_size: int or {n} ints ({K}).
        stride: int or {n} ints; default kernel_size.
        padding: implicit zero padding on both sides, at most kernel_size // 2.
        ceil_mode: round the output size up (see `max_pool{n}d`).
        count_include_pad: divide by the window size including the zero padding (True) or
            by the number of input positions in the window (False). A window that ceil_mode
            lets run past the padded input is divided by its clipped size.

    Shape: out = floor_or_ceil((S + 2P - K) / stride) + 1.
    """

_ADAPTIVE_DOC = """{n}-D adaptive average pooling, PyTorch's `adaptive_avg_pool{n}d`.

    Output position o averages the input over [floor(o*S/O), ceil((o+1)*S/O)) along each
    dimension, so any input size maps to `output_size`.

    Args:
        input: (N, C, {S}) or (C, {S}).
        output_size: int or {n} values (None keeps that input size).
    """


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                    ndim=1, _func="max_pool1d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    ndim=1, _func="avg_pool1d")


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool(input, output_size, ndim=1, _func="adaptive_avg_pool1d")


max_pool1d.__doc__ = _MAX_DOC.format(n=1, S="L", K="K")
avg_pool1d.__doc__ = _AVG_DOC.format(n=1, S="L", K="K")
adaptive_avg_pool1d.__doc__ = _ADAPTIVE_DOC.format(n=1, S="L")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                    ndim=2, _func="max_pool2d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    ndim=2, _func="avg_pool2d")


def adaptive_avg_pool2d(input, output_size):
    return adaptive_avg_pool(input, output_size, ndim=2, _func="adaptive_avg_pool2d")


max_pool2d.__doc__ = _MAX_DOC.format(n=2, S="H, W", K="K_h, K_w")
avg_pool2d.__doc__ = _AVG_DOC.format(n=2, S="H, W", K="K_h, K_w")
adaptive_avg_pool2d.__doc__ = _ADAPTIVE_DOC.format(n=2, S="H, W")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                    ndim=3, _func="max_pool3d")


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                    ndim=3, _func="avg_pool3d")


def adaptive_avg_pool3d(input, output_size):
    return adaptive_avg_pool(input, output_size, ndim=3, _func="adaptive_avg_pool3d")


max_pool3d.__doc__ = _MAX_DOC.format(n=3, S="D, H, W", K="K_d, K_h, K_w")
avg_pool3d.__doc__ = _AVG_DOC.format(n=3, S="D, H, W", K="K_d, K_h, K_w")
adaptive_avg_pool3d.__doc__ = _ADAPTIVE_DOC.format(n=3, S="D, H, W")
