"""Layers that rearrange or pad values: `Reshape` (with ONNX's 0 = "copy this dimension"),
`Squeeze`, `Unsqueeze`, `Permute` (e.g. channels-last to channels-first) and `Pad`
(PyTorch's `F.pad` as a layer).

>>> from convscope import nn
>>> nn.Reshape((0, -1))(np.zeros((2, 3, 4))).shape
(2, 12)
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the docstring example)

from .. import functional as F
from .._args import is_int, show
from .module import Module

__all__ = ["Reshape", "Squeeze", "Unsqueeze", "Permute", "Pad"]


def _int_tuple(name, arg, value, allow_none=False):
    if value is None and allow_none:
        return None
    if is_int(value):
        return (int(value),)
    if not isinstance(value, (tuple, list)) or not all(is_int(v) for v in value):
        raise TypeError(f"{name}: {arg} must be a tuple of ints, got {arg}={show(value)}")
    return tuple(int(v) for v in value)


class Reshape(Module):
    """The same values in `shape`: -1 is inferred, 0 copies the input's size there (so
    (0, -1) flattens every sample whatever the batch size)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = _int_tuple("Reshape", "shape", shape)
        if any(n < -1 for n in self.shape) or self.shape.count(-1) > 1:
            raise ValueError(f"Reshape: shape={self.shape} may hold sizes >= 0 (0 copies the "
                             f"input's size) and at most one -1 (the size inferred)")

    def forward(self, input):
        return F.reshape(input, self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class Squeeze(Module):
    """Removes the size-1 dimensions `dims` (None: all of them)."""

    def __init__(self, dims=None):
        super().__init__()
        self.dims = _int_tuple("Squeeze", "dims", dims, allow_none=True)

    def forward(self, input):
        return F.squeeze(input, self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


class Unsqueeze(Module):
    """Inserts size-1 dimensions at the output indices `dims`."""

    def __init__(self, dims):
        super().__init__()
        self.dims = _int_tuple("Unsqueeze", "dims", dims)

    def forward(self, input):
        return F.unsqueeze(input, self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


class Permute(Module):
    """Reorders the dimensions: output dimension i is input dimension dims[i] (ONNX's
    Transpose; e.g. (0, 3, 1, 2) turns NHWC into NCHW)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = _int_tuple("Permute", "dims", dims)
        if sorted(d % max(len(self.dims), 1) for d in self.dims) != list(range(len(self.dims))):
            raise ValueError(f"Permute: dims={self.dims} must list each dimension once")

    def forward(self, input):
        return F.permute(input, self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


class Pad(Module):
    """`F.pad(input, pad, mode, value)`: pad lists (before, after) pairs from the last
    dimension; mode 'constant', 'reflect', 'replicate' (ONNX's 'edge') or 'circular'."""

    def __init__(self, pad, mode="constant", value=0.0):
        super().__init__()
        self.pad = _int_tuple("Pad", "pad", pad)
        if len(self.pad) % 2:
            raise ValueError(f"Pad: pad needs an even number of values, got pad={self.pad}")
        modes = ("constant", "reflect", "replicate", "circular")
        if not isinstance(mode, str) or mode not in modes:
            raise ValueError(f"Pad: mode must be one of {modes}, got mode={show(mode)}")
        self.mode = mode
        self.value = float(value)

    def forward(self, input):
        return F.pad(input, self.pad, self.mode, self.value)

    def extra_repr(self):
        return f"pad={self.pad}, mode={self.mode!r}" + (
            f", value={self.value}" if self.mode == "constant" and self.value else "")
