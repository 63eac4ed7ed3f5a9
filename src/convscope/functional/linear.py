"""`linear` (x @ W^T + b, PyTorch's layout) and `flatten`, the reshape that feeds it."""

from __future__ import annotations

import math

import numpy as np  # noqa: F401  (the docstring examples)

from .. import _args
from ..autograd import reshape_like
from ._common import check_dim, unary
from ._graph import _array, _result, _wants

__all__ = ["linear", "flatten"]


def linear(input, weight, bias=None):
    """x @ weight.T + bias, PyTorch's layout.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Shape: (*, out_features).

    >>> linear(np.ones((2, 3)), np.ones((4, 3))).shape
    (2, 4)
    """
    func = "linear"
    x, w = _array(input, func, "input"), _array(weight, func, "weight")
    b = _array(bias, func, "bias", optional=True)
    _args.check_float(func, input=x, weight=w, bias=b)
    if w.ndim != 2:
        raise ValueError(f"{func}: weight must have shape (out_features, in_features), got "
                         f"shape {tuple(w.shape)}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{func}: input of shape {tuple(x.shape)} has last dimension "
                         f"{x.shape[-1] if x.ndim else None} but weight of shape "
                         f"{tuple(w.shape)} expects in_features={w.shape[1]}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{func}: bias must have shape ({w.shape[0]},), got shape "
                         f"{tuple(b.shape)}")
    y = x @ w.T
    if b is not None:
        y = y + b

    def backward(g):
        g2 = g.reshape(-1, w.shape[0])
        gx = g @ w if _wants(input) else None
        gw = g2.T @ x.reshape(-1, w.shape[1]) if _wants(weight) else None
        gb = g2.sum(axis=0) if _wants(bias) else None
        return gx, gw, gb

    return _result(y, (input, weight, bias), backward, func)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one, as `torch.flatten`.

    >>> flatten(np.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    func = "flatten"
    x = _array(input, func, "input")
    nd = max(x.ndim, 1)
    start = check_dim(func, start_dim, nd)
    end = check_dim(func, end_dim, nd)
    if start > end:
        raise ValueError(f"{func}: start_dim={start_dim} comes after end_dim={end_dim} for "
                         f"an input with {x.ndim} dimensions")
    shape = x.shape if x.ndim else (1,)
    new = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    y = x.reshape(new)
    return unary(input, y, lambda g: reshape_like(g, x), func)
