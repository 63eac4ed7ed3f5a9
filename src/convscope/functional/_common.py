"""Plumbing shared by the non-convolution functions: float inputs, one-input ops, `dim`
arguments and the stable log-softmax of an array (an internal helper module)."""

from __future__ import annotations

import math

import numpy as np

from .. import _args
from ._graph import _array, _result


def required_array(value, func, arg="input"):
    """The NumPy array behind a required argument (None is a TypeError naming it)."""
    if value is None:
        raise TypeError(f"{func}: {arg} must be an array or a Tensor, got None")
    return _array(value, func, arg)


def float_input(value, func, arg="input"):
    """A required float32 / float64 array argument."""
    x = required_array(value, func, arg)
    _args.check_float(func, **{arg: x})
    return x


def check_shape(func, what, shape, dtype):
    """Refuse an array NumPy cannot even describe (more than 2**63 bytes), by name."""
    if math.prod(shape) * np.dtype(dtype).itemsize >= 2**63 or any(s >= 2**63 for s in shape):
        raise ValueError(f"{func}: the {what} would have shape {tuple(shape)}, too large to "
                         f"allocate")


def window_stride(stride, sizes, spans):
    """The stride of windows, capped where only one window fits: the same windows, and no
    slice step NumPy cannot hold (a stride of 2**63 is a valid argument)."""
    return tuple(min(s, max(size - span, 0) + 1) for s, size, span in zip(stride, sizes, spans))


def unary(input, out, grad_fn, op):
    """One-input elementwise op: grad_fn(g) -> dL/dinput."""
    return _result(out, (input,), lambda g: (grad_fn(g),), op)


def check_dim(func, dim, ndim, arg="dim"):
    """`dim` as an index in [0, ndim) (negative counts from the end), checked."""
    if not _args.is_int(dim):
        raise TypeError(f"{func}: {arg} must be an int, got {arg}={_args.show(dim)}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{func}: {arg}={dim} is out of range for an input with {ndim} "
                         f"dimensions")
    return dim % max(ndim, 1)


def log_softmax_array(x, dim):
    """log(softmax(x)) along `dim`, computed stably on a NumPy array."""
    if x.size == 0:  # nothing to normalise (PyTorch returns the empty input)
        return x.copy()
    shifted = x - x.max(axis=dim, keepdims=True)  # the max shift makes exp safe
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
