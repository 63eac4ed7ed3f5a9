"""`Linear`, `Identity` and `Flatten`: the layers of a classifier head."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._args import check_bool, check_dtype, check_int, check_rng
from .init import init_uniform
from .module import Module, Parameter

__all__ = ["Linear", "Identity", "Flatten"]


class Linear(Module):
    """y = x @ weight.T + bias, PyTorch's `nn.Linear`.

    weight (out_features, in_features) and bias (out_features,) start as
    U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's kaiming_uniform_(a=sqrt(5))).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features = check_int(in_features, func="Linear", arg="in_features")
        self.out_features = check_int(out_features, func="Linear", arg="out_features")
        bias = check_bool(bias, func="Linear", arg="bias")
        dtype = check_dtype(dtype, func="Linear")
        check_rng(rng, func="Linear")
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias, as PyTorch."""
        init_uniform(rng, 1.0 / math.sqrt(self.in_features), self.weight, self.bias)

    def forward(self, input):
        shape = getattr(input, "shape", None)
        if shape is not None and (len(shape) == 0 or shape[-1] != self.in_features):
            raise ValueError(f"Linear: expected input with last dimension in_features="
                             f"{self.in_features}, got input of shape {tuple(shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input (a placeholder, e.g. to remove a layer from a model)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dimensions start_dim..end_dim (default: all but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = check_int(start_dim, func="Flatten", arg="start_dim", minimum=None)
        self.end_dim = check_int(end_dim, func="Flatten", arg="end_dim", minimum=None)

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
