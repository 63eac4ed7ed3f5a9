"""Activation layers: `ReLU`, `LeakyReLU`, `GELU`, `Sigmoid`, `Tanh`, `Clip` (and `ReLU6`),
`Hardsigmoid`, `Hardswish` (also spelled `HardSigmoid`, `HardSwish`, ONNX's names) and
`Softmax`."""

from __future__ import annotations

from .. import functional as F
from .._args import check_bool, check_int, check_real, show
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh", "Clip", "ReLU6", "Hardsigmoid",
           "Hardswish", "HardSigmoid", "HardSwish", "Softmax"]


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


class Clip(Module):
    """Values limited to [min, max] (`torch.clamp`; ONNX's Clip); either bound may be None."""

    def __init__(self, min=None, max=None):
        super().__init__()
        self.min = None if min is None else check_real(min, func="Clip", arg="min")
        self.max = None if max is None else check_real(max, func="Clip", arg="max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"Clip: min={self.min} must be at most max={self.max}")

    def forward(self, input):
        return F.clip(input, self.min, self.max)

    def extra_repr(self):
        return f"min={self.min}, max={self.max}"


class ReLU6(Clip):
    """min(max(x, 0), 6), MobileNet's activation (`inplace` ignored)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0)
        self.inplace = check_bool(inplace, func="ReLU6", arg="inplace")

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(Module):
    """max(0, min(1, alpha * x + beta)); the defaults are PyTorch's (x / 6 + 1 / 2)."""

    def __init__(self, alpha=1.0 / 6.0, beta=0.5, inplace=False):
        super().__init__()
        self.alpha = check_real(alpha, func="Hardsigmoid", arg="alpha")
        self.beta = check_real(beta, func="Hardsigmoid", arg="beta")
        self.inplace = check_bool(inplace, func="Hardsigmoid", arg="inplace")

    def forward(self, input):
        return F.hardsigmoid(input, self.alpha, self.beta)

    def extra_repr(self):
        return "" if (self.alpha, self.beta) == (1.0 / 6.0, 0.5) else \
            f"alpha={self.alpha}, beta={self.beta}"


class Hardswish(Module):
    """x * relu6(x + 3) / 6 (MobileNetV3; `inplace` ignored)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = check_bool(inplace, func="Hardswish", arg="inplace")

    def forward(self, input):
        return F.hardswish(input)


HardSwish = Hardswish
HardSigmoid = Hardsigmoid


class Softmax(Module):
    """exp(x) / sum(exp(x)) along `dim`."""

    def __init__(self, dim=None):
        super().__init__()
        if dim is None:
            raise TypeError("Softmax: dim must be an int (the dimension to normalise), got "
                            "None")
        self.dim = check_int(dim, func="Softmax", arg="dim", minimum=None)

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"
