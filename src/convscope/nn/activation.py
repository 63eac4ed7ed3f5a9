"""Activation layers: `ReLU`, `LeakyReLU`, `GELU`, `Sigmoid`, `Tanh`."""

from __future__ import annotations

from .. import functional as F
from .._args import check_bool, check_real, show
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """max(x, 0). `inplace` is accepted for PyTorch compatibility and ignored."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check_bool(inplace, func="ReLU", arg="inplace")

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise (`inplace` ignored)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = check_real(negative_slope, func="LeakyReLU",
                                         arg="negative_slope")
        self.inplace = check_bool(inplace, func="LeakyReLU", arg="inplace")

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class GELU(Module):
    """x * Phi(x); approximate='tanh' for the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if not isinstance(approximate, str) or approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got "
                             f"approximate={show(approximate)}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input):
        return F.tanh(input)
