"""Layers that combine tensors, the joints of a branched `Graph`: `Add` (a residual
connection), `Mul` (a gate or a scale) and `Concat` (Inception's channel concatenation).

`Add` and `Mul` take any number of inputs, or one input and a constant operand (a buffer,
broadcast as NumPy does: e.g. a per-channel scale of shape (C, 1, 1)).

>>> from convscope import nn
>>> nn.Add()(np.ones(2), np.ones(2))
array([2., 2.])
>>> nn.Mul(np.array([2.0, 3.0]))(np.ones(2))
array([2., 3.])
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._args import check_int
from .module import Module

__all__ = ["Add", "Mul", "Concat"]


class _Elementwise(Module):
    _op = None

    def __init__(self, constant=None):
        super().__init__()
        if constant is not None:
            constant = np.asarray(constant.data if hasattr(constant, "data") and not
                                  isinstance(constant, np.ndarray) else constant)
            if constant.dtype.kind not in "biuf":
                raise TypeError(f"{type(self).__name__}: constant must hold numbers, got "
                                f"dtype {constant.dtype}")
        self.register_buffer("constant", constant)

    def forward(self, *inputs):
        name = type(self).__name__
        operands = list(inputs) + ([self.constant] if self.constant is not None else [])
        if not inputs or len(operands) < 2:
            raise TypeError(f"{name}: needs at least two operands (inputs, or one input and "
                            f"a constant), got {len(inputs)} input(s)"
                            + ("" if self.constant is None else " and a constant"))
        out = operands[0]
        for other in operands[1:]:
            out = type(self)._op(out, other)
        return out

    def extra_repr(self):
        c = self.constant
        return "" if c is None else f"constant: shape {tuple(c.shape)}"


class Add(_Elementwise):
    """The sum of its inputs (and of `constant` if given), broadcast as NumPy does."""

    _op = staticmethod(F.add)


class Mul(_Elementwise):
    """The product of its inputs (and of `constant` if given), broadcast as NumPy does."""

    _op = staticmethod(F.mul)


class Concat(Module):
    """Its inputs joined along `dim` (default: channels, dim=1)."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = check_int(dim, func="Concat", arg="dim", minimum=None)

    def forward(self, *inputs):
        if not inputs:
            raise TypeError("Concat: needs at least one input, got none")
        return F.cat(list(inputs), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
