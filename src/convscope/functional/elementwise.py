"""Elementwise functions of one or two inputs: `add`, `mul` (NumPy broadcasting, as
`torch.add` / `torch.mul`), `clip` (`torch.clamp`), `hardsigmoid` and `hardswish`.

The gradient of a broadcast input is summed back to its shape.

>>> add(np.ones((2, 3)), np.array([1.0, 2.0, 3.0]))[1]
array([2., 3., 4.])
"""

from __future__ import annotations

import numpy as np

from .. import _args
from ._common import float_input, unary
from ._graph import _array, _result, _wants

__all__ = ["add", "mul", "clip", "hardsigmoid", "hardswish"]


def sum_to_shape(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """`grad` summed down to `shape`, undoing NumPy broadcasting."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _broadcast_shape(func: str, a: np.ndarray, b: np.ndarray) -> tuple:
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{func}: shapes {tuple(a.shape)} and {tuple(b.shape)} do not "
                         f"broadcast (each dimension must be equal or 1, aligned from the "
                         f"last)") from None


def _operands(func, input, other):
    a, b = _array(input, func, "input"), _array(other, func, "other")
    _broadcast_shape(func, a, b)
    return a, b


def add(input, other):
    """input + other with broadcasting.

    >>> add(np.zeros((2, 1)), np.ones(3)).shape
    (2, 3)
    """
    a, b = _operands("add", input, other)
    y = np.add(a, b)

    def backward(g):
        return (sum_to_shape(g, a.shape) if _wants(input) else None,
                sum_to_shape(g, b.shape) if _wants(other) else None)

    return _result(y, (input, other), backward, "add")


def mul(input, other):
    """input * other with broadcasting.

    >>> mul(np.full((2, 2), 3.0), np.array([1.0, 2.0]))[0]
    array([3., 6.])
    """
    a, b = _operands("mul", input, other)
    y = np.multiply(a, b)

    def backward(g):
        return (sum_to_shape(g * b, a.shape) if _wants(input) else None,
                sum_to_shape(g * a, b.shape) if _wants(other) else None)

    return _result(y, (input, other), backward, "mul")


def clip(input, min=None, max=None):
    """Values limited to [min, max] (either bound may be None), as `torch.clamp`; the
    gradient passes where min <= x <= max (PyTorch's rule at the bounds).

    >>> clip(np.array([-1.0, 3.0, 9.0]), 0.0, 6.0)
    array([0., 3., 6.])
    """
    func = "clip"
    x = float_input(input, func)
    lo = None if min is None else _args.check_real(min, func=func, arg="min")
    hi = None if max is None else _args.check_real(max, func=func, arg="max")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"{func}: min={lo} must be at most max={hi}")
    y = np.clip(x, lo, hi).astype(x.dtype, copy=False)
    keep = np.ones(x.shape, dtype=bool)
    if lo is not None:
        keep &= x >= lo
    if hi is not None:
        keep &= x <= hi
    return unary(input, y, lambda g: g * keep, func)


def hardsigmoid(input, alpha=1.0 / 6.0, beta=0.5):
    """max(0, min(1, alpha * x + beta)); the defaults are PyTorch's `hardsigmoid`
    (ONNX's HardSigmoid defaults to alpha=0.2).

    >>> hardsigmoid(np.array([-4.0, 0.0, 4.0]))
    array([0. , 0.5, 1. ])
    """
    func = "hardsigmoid"
    x = float_input(input, func)
    alpha = _args.check_real(alpha, func=func, arg="alpha")
    beta = _args.check_real(beta, func=func, arg="beta")
    z = x * x.dtype.type(alpha) + x.dtype.type(beta)
    y = np.clip(z, 0, 1).astype(x.dtype, copy=False)
    inside = (z > 0) & (z < 1)
    return unary(input, y, lambda g: g * inside * x.dtype.type(alpha), func)


def hardswish(input):
    """x * relu6(x + 3) / 6, PyTorch's `hardswish` (ONNX's HardSwish).

    >>> hardswish(np.array([-4.0, 0.0, 1.0, 4.0]))
    array([-0.        ,  0.        ,  0.66666667,  4.        ])
    """
    func = "hardswish"
    x = float_input(input, func)
    three, six = x.dtype.type(3), x.dtype.type(6)
    y = x * np.clip(x + three, 0, six) / six
    # PyTorch: 0 below -3, 1 above 3, (2x + 3) / 6 between (bounds included on the inside)
    grad = np.where(x < -three, 0, np.where(x <= three, (2 * x + three) / six, 1))
    grad = grad.astype(x.dtype, copy=False)
    return unary(input, y, lambda g: g * grad, func)
