"""Convolution modules: `Conv1d/2d/3d` and `ConvTranspose1d/2d/3d` from one `_ConvNd`.

The subclasses only fix the rank (PyTorch's `_ConvNd`, Keras's `BaseConv(rank=...)`); the
state, checks, initialisation and printing are written once here, and `forward` calls the
N-d functions `functional.conv` / `functional.conv_transpose`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _args
from .._args import check_int
from .. import functional as F
from ..arith.sizes import transposed_window_count
from .init import init_uniform
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _stored_padding(cls, padding, n):
    """Padding as PyTorch stores it: a string, an n-tuple, or (ours) n (before, after) pairs."""
    if isinstance(padding, str):
        return padding
    if (isinstance(padding, (tuple, list)) and len(padding) == n
            and all(isinstance(p, (tuple, list)) for p in padding)):
        return tuple(tuple(p) for p in padding)
    return _args.ntuple(padding, n, func=cls, arg="padding", minimum=0)


class _ConvNd(Module):
    """The state and behaviour shared by every convolution module of every rank."""

    _ndim: int = 0
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", *, output_padding=0,
                 dtype=np.float32, rng=None):
        super().__init__()
        cls, n = type(self).__name__, self._ndim
        self.in_channels = check_int(in_channels, func=cls, arg="in_channels")
        self.out_channels = check_int(out_channels, func=cls, arg="out_channels")
        self.kernel_size = _args.ntuple(kernel_size, n, func=cls, arg="kernel_size")
        self.stride = _args.ntuple(stride, n, func=cls, arg="stride")
        self.dilation = _args.ntuple(dilation, n, func=cls, arg="dilation")
        self.groups = _args.check_groups(cls, groups, self.in_channels, self.out_channels)
        self.padding = _stored_padding(cls, padding, n)
        # validated once here: the explicit (before, after) pairs the forward pass uses
        self._pads = _args.conv_padding(self.padding, n, func=cls,
                                        kernel_size=self.kernel_size, stride=self.stride,
                                        dilation=self.dilation,
                                        allow_strings=not self._transposed)
        if not isinstance(padding_mode, str) or padding_mode not in PADDING_MODES:
            raise ValueError(f"{cls}: padding_mode must be one of {PADDING_MODES}, got "
                             f"padding_mode={_args.show(padding_mode)}")
        bias = _args.check_bool(bias, func=cls, arg="bias")
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{cls}: only padding_mode='zeros' is supported, got "
                             f"padding_mode={padding_mode!r}")
        self.padding_mode = padding_mode
        self.output_padding = _args.ntuple(output_padding, n, func=cls, arg="output_padding",
                                           minimum=0)
        dtype = _args.check_dtype(dtype, func=cls)
        _args.check_rng(rng, func=cls)
        if self._transposed:  # PyTorch's layout for the transposed convolution
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.zeros(shape, dtype=dtype))
        self.bias = Parameter(np.zeros(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, which is
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (gain sqrt(2/(1+a^2)) = sqrt(1/3) times
        sqrt(3/fan_in)), and the same bound for the bias.

        fan_in = weight.shape[1] * prod(kernel_size), as PyTorch computes it for both
        layouts. Draws from `rng`, or from `convscope.random.default_rng()`.
        """
        fan_in = self.weight.data.shape[1] * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init_uniform(rng, bound, self.weight, self.bias)

    def extra_repr(self) -> str:
        n = self._ndim
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", dtype=np.float32,
                 rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype=dtype, rng=rng)

    def forward(self, input):
        cls = type(self).__name__
        _args.check_channels(cls, getattr(input, "shape", ()), self._ndim, self.in_channels)
        if self.padding_mode == "zeros":
            return F.conv(input, self.weight, self.bias, self.stride, self._pads,
                          self.dilation, self.groups, _func=cls)
        # PyTorch's _reversed_padding_repeated_twice: pad first (F.pad lists the last
        # dimension first), then convolve without padding
        flat = tuple(v for pair in reversed(self._pads) for v in pair)
        _args.check_input_rank(cls, getattr(input, "shape", ()), self._ndim)
        padded = F.pad(input, flat, mode=self.padding_mode)
        return F.conv(padded, self.weight, self.bias, self.stride, 0, self.dilation,
                      self.groups, _func=cls)

    def _forward_max_pool(self, input, pool_name="MaxPool2d"):
        """``max_pool2d(self(input), 2)`` as one fused function (`F.conv2d_max_pool2d`): for
        `Sequential`, which calls it only for a 2-D layer with zero padding."""
        cls = type(self).__name__
        _args.check_channels(cls, getattr(input, "shape", ()), self._ndim, self.in_channels)
        return F.conv2d_max_pool2d(input, self.weight, self.bias, self.stride, self._pads,
                                   self.dilation, self.groups, _func=cls,
                                   _pool_func=pool_name)


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=np.float32, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding=output_padding,
                         dtype=dtype, rng=rng)

    def _output_padding(self, input, output_size):
        """The output_padding that gives `output_size` (PyTorch's rule)."""
        cls, n = type(self).__name__, self._ndim
        if output_size is None:
            return self.output_padding
        sizes = tuple(output_size)[-n:]
        if len(sizes) < n or not all(_args.is_int(s) for s in sizes):
            raise ValueError(f"{cls}: output_size must list {n} spatial sizes (optionally "
                             f"preceded by N and C), got output_size={output_size!r}")
        in_size = input.shape[-n:]
        result = []
        for i in range(n):
            smallest = transposed_window_count(in_size[i], self.kernel_size[i],
                                               self.stride[i], self._pads[i], 0,
                                               self.dilation[i])
            largest = smallest + self.stride[i] - 1
            if not smallest <= sizes[i] <= largest:
                raise ValueError(f"{cls}: requested output_size={tuple(sizes)} is not "
                                 f"reachable from input size {tuple(in_size)}: dimension "
                                 f"{i} must be between {smallest} and {largest}")
            result.append(sizes[i] - smallest)
        return tuple(result)

    def forward(self, input, output_size=None):
        cls = type(self).__name__
        _args.check_channels(cls, getattr(input, "shape", ()), self._ndim, self.in_channels)
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose(input, self.weight, self.bias, self.stride, self._pads,
                                output_padding, self.groups, self.dilation, _func=cls)


_CONV_DOC = """{n}-D convolution layer, PyTorch's `nn.Conv{n}d`; see `functional.conv{n}d`.

    Args:
        in_channels, out_channels: channels of the input and number of filters.
        kernel_size, stride, dilation: int or {n} ints.
        padding: int, {n} ints, {n} (before, after) pairs, 'valid' or 'same'.
        groups: channel groups (in_channels for a depthwise convolution).
        bias: learn one bias per filter.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        dtype: float32 (default) or float64.
        rng: numpy Generator for the initial weights (default: `convscope.random`).

    Attributes: weight (out_channels, in_channels/groups, *kernel_size), bias (out_channels,).
    """

_CONV_T_DOC = """{n}-D transposed convolution layer, PyTorch's `nn.ConvTranspose{n}d`.

    Args as `Conv{n}d`, plus output_padding (extra size at the far end, smaller than stride
    or dilation); padding_mode must be 'zeros'. `forward(input, output_size=None)` may ask
    for an output size instead of giving output_padding.

    Attributes: weight (in_channels, out_channels/groups, *kernel_size), bias (out_channels,).
    """


class Conv1d(_Conv):
    __doc__ = _CONV_DOC.format(n=1)
    _ndim = 1


class ConvTranspose1d(_ConvTranspose):
    __doc__ = _CONV_T_DOC.format(n=1)
    _ndim = 1


class Conv2d(_Conv):
    __doc__ = _CONV_DOC.format(n=2)
    _ndim = 2


class ConvTranspose2d(_ConvTranspose):
    __doc__ = _CONV_T_DOC.format(n=2)
    _ndim = 2


class Conv3d(_Conv):
    __doc__ = _CONV_DOC.format(n=3)
    _ndim = 3


class ConvTranspose3d(_ConvTranspose):
    __doc__ = _CONV_T_DOC.format(n=3)
    _ndim = 3
