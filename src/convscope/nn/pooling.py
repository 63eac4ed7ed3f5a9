"""Pooling layers, written once for any rank (`_MaxPoolNd`, `_AvgPoolNd`,
`_AdaptiveAvgPoolNd`) and fixed to one rank by `MaxPool1d/2d/3d` and friends, as PyTorch
writes them."""

from __future__ import annotations

from .. import _args
from .. import functional as F
from .._args import check_bool, check_int, show
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "GlobalMaxPool"]


def _check_pool(module, kernel_size, stride, padding, dilation, ceil_mode) -> None:
    """Check a pooling module's arguments once, at construction (they are kept as given, as
    PyTorch keeps them, so that `repr` reads the same)."""
    n, cls = module._ndim, type(module).__name__
    k = _args.ntuple(kernel_size, n, func=cls, arg="kernel_size")
    if stride is not None:
        _args.ntuple(stride, n, func=cls, arg="stride")
    p = _args.ntuple(padding, n, func=cls, arg="padding", minimum=0)
    _args.ntuple(dilation, n, func=cls, arg="dilation")
    check_bool(ceil_mode, func=cls, arg="ceil_mode")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{cls}: padding={p} must be at most half of kernel_size={k}")


class _MaxPoolNd(Module):
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        _check_pool(self, kernel_size, stride, padding, dilation, ceil_mode)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, input):
        n = self._ndim
        return F.max_pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          self.ceil_mode, ndim=n, _func=type(self).__name__)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class _AvgPoolNd(Module):
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        _check_pool(self, kernel_size, stride, padding, 1, ceil_mode)
        check_bool(count_include_pad, func=type(self).__name__, arg="count_include_pad")
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, ndim=self._ndim, _func=type(self).__name__)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    _ndim = 0

    def __init__(self, output_size):
        super().__init__()
        n, cls = self._ndim, type(self).__name__
        # None keeps that input size (PyTorch); every other value is a positive int
        sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * n
        if len(sizes) != n:
            raise ValueError(f"{cls}: output_size needs 1 or {n} values, got "
                             f"output_size={show(output_size)}")
        for o in sizes:
            if o is not None:
                check_int(o, func=cls, arg="output_size")
        self.output_size = output_size

    def forward(self, input):
        return F.adaptive_avg_pool(input, self.output_size, ndim=self._ndim,
                                   _func=type(self).__name__)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling layer, PyTorch's `nn.MaxPool1d`; see `functional.max_pool1d`."""

    _ndim = 1


class AvgPool1d(_AvgPoolNd):
    """1-D average pooling layer, PyTorch's `nn.AvgPool1d`; see `functional.avg_pool1d`."""

    _ndim = 1


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """1-D adaptive average pooling layer; see `functional.adaptive_avg_pool1d`."""

    _ndim = 1


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling layer, PyTorch's `nn.MaxPool2d`; see `functional.max_pool2d`."""

    _ndim = 2


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling layer, PyTorch's `nn.AvgPool2d`; see `functional.avg_pool2d`."""

    _ndim = 2


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """2-D adaptive average pooling layer; see `functional.adaptive_avg_pool2d`."""

    _ndim = 2


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling layer, PyTorch's `nn.MaxPool3d`; see `functional.max_pool3d`."""

    _ndim = 3


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling layer, PyTorch's `nn.AvgPool3d`; see `functional.avg_pool3d`."""

    _ndim = 3


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """3-D adaptive average pooling layer; see `functional.adaptive_avg_pool3d`."""

    _ndim = 3


class GlobalMaxPool(Module):
    """The maximum of each channel over all positions, any rank: (N, C, *S) -> (N, C, 1, ...)
    (ONNX's GlobalMaxPool; PyTorch's `AdaptiveMaxPool{n}d(1)`)."""

    def forward(self, input):
        return F.global_max_pool(input)
