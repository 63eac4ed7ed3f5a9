"""Pooling layers, written once for any rank (`_MaxPoolNd`, `_AvgPoolNd`,
`_AdaptiveAvgPoolNd`) and fixed to one rank by `MaxPool1d/2d/3d` and friends, as PyTorch
writes them."""

from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"]


class _MaxPoolNd(Module):
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, input):
        n = self._ndim
        return F.max_pool(input, self.kernel_size, self.stride, self.padding,
                                 self.dilation, self.ceil_mode, ndim=n,
                                 _func=type(self).__name__)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class _AvgPoolNd(Module):
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input):
        return F.avg_pool(input, self.kernel_size, self.stride, self.padding,
                                 self.ceil_mode, self.count_include_pad, ndim=self._ndim,
                                 _func=type(self).__name__)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveAvgPoolNd(Module):
    _ndim = 0

    def __init__(self, output_size):
        super().__init__()
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
