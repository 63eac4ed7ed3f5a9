"""The non-convolution layers: Linear, activations, pooling, BatchNorm, Dropout, Flatten,
Sequential, Identity. Each is a few lines of state around a `functional` call; pooling and
BatchNorm are written once for any rank and subclassed per rank, like the convolutions.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import _args
from .. import functional as F
from ..random import default_rng
from .module import Module, Parameter, _init_uniform

__all__ = ["Linear", "ReLU", "LeakyReLU", "GELU", "Sigmoid", "Tanh",
           "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
           "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "Dropout", "Flatten", "Sequential",
           "Identity"]


def _count(cls: str, name: str, value) -> int:
    """A positive int argument (features, channels) as an int."""
    if not _args.is_int(value) or value < 1:
        raise ValueError(f"{cls}: {name} must be a positive int, got {name}={value!r}")
    return int(value)


class Linear(Module):
    """y = x @ weight.T + bias, PyTorch's `nn.Linear`.

    weight (out_features, in_features) and bias (out_features,) start as
    U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's kaiming_uniform_(a=sqrt(5))).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        super().__init__()
        self.in_features = _count("Linear", "in_features", in_features)
        self.out_features = _count("Linear", "out_features", out_features)
        self.weight = Parameter(np.zeros((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.zeros(out_features, dtype=dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """U(-1/sqrt(in_features), 1/sqrt(in_features)) for weight and bias, as PyTorch."""
        _init_uniform(rng, 1.0 / math.sqrt(self.in_features), self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


# -- activations -------------------------------------------------------------------------------
class ReLU(Module):
    """max(x, 0). `inplace` is accepted for PyTorch compatibility and ignored."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise (`inplace` ignored)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class GELU(Module):
    """x * Phi(x); approximate='tanh' for the tanh formula."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got "
                             f"approximate={approximate!r}")
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


class Identity(Module):
    """Returns its input (a placeholder, e.g. to remove a layer from a model)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


# -- pooling -----------------------------------------------------------------------------------
class _MaxPoolNd(Module):
    _ndim = 0

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def forward(self, input):
        n = self._ndim
        return F.layers.max_pool(input, self.kernel_size, self.stride, self.padding,
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
        return F.layers.avg_pool(input, self.kernel_size, self.stride, self.padding,
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
        return F.layers.adaptive_avg_pool(input, self.output_size, ndim=self._ndim,
                                          _func=type(self).__name__)

    def extra_repr(self):
        return f"output_size={self.output_size}"


# -- batch norm --------------------------------------------------------------------------------
class _BatchNorm(Module):
    """Batch normalisation with PyTorch's module semantics.

    In training the batch statistics normalise and update running_mean / running_var
    (momentum=None: a cumulative average over num_batches_tracked batches); in evaluation
    the running statistics normalise. track_running_stats=False always uses batch
    statistics. affine=False drops weight and bias; bias=False (keyword) drops the bias.
    """

    _ranks: tuple = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32, *, bias=True):
        super().__init__()
        cls = type(self).__name__
        num_features = _count(cls, "num_features", num_features)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{cls}: momentum must be in [0, 1] or None, got "
                             f"momentum={momentum!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, input):
        cls = type(self).__name__
        ndim = len(getattr(input, "shape", ()))
        if ndim not in self._ranks:
            want = " or ".join(f"{r}D" for r in self._ranks)
            raise ValueError(f"{cls}: expected {want} input, got {ndim}D input of shape "
                             f"{tuple(getattr(input, 'shape', ()))}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        use_batch = self.training or self.running_mean is None
        keep = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep else None,
                            self.running_var if keep else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


# -- the rest ----------------------------------------------------------------------------------
class Dropout(Module):
    """Inverted dropout in training, identity in evaluation.

    The mask comes from this layer's own generator: `rng` if given, otherwise one seeded
    from `convscope.random.default_rng()` at construction, so `manual_seed` before building
    the model makes the masks reproducible.
    """

    def __init__(self, p=0.5, inplace=False, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got p={p!r}")
        self.p, self.inplace = p, inplace
        self.rng = rng if rng is not None else np.random.default_rng(
            default_rng().integers(2 ** 63))

    def forward(self, input):
        return F.dropout(input, self.p, self.training, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Flatten(Module):
    """Merge dimensions start_dim..end_dim (default: all but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied in order; children named "0", "1", ... (or by an OrderedDict).

    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    >>> len(model), type(model[0]).__name__
    (2, 'Linear')
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        if not _args.is_int(index):
            raise TypeError(f"Sequential: index must be an int or a slice, got "
                            f"{type(index).__name__}")
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential: index {index} is out of range for {len(items)} "
                             f"modules")
        return items[index][1]

    def append(self, module):
        """Add `module` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


def _rank_classes():
    made = {}
    for n in (1, 2, 3):
        for base, stem, function in ((_MaxPoolNd, "MaxPool", "max_pool"),
                                     (_AvgPoolNd, "AvgPool", "avg_pool"),
                                     (_AdaptiveAvgPoolNd, "AdaptiveAvgPool",
                                      "adaptive_avg_pool")):
            name = f"{stem}{n}d"
            made[name] = type(name, (base,), {
                "_ndim": n, "__module__": __name__,
                "__doc__": f"{n}-D {stem} layer; see `functional.{function}{n}d`."})
        ranks = {1: (2, 3), 2: (4,), 3: (5,)}[n]
        name = f"BatchNorm{n}d"
        made[name] = type(name, (_BatchNorm,), {
            "_ranks": ranks, "__module__": __name__,
            "__doc__": f"Batch normalisation over {' or '.join(f'{r}D' for r in ranks)} "
                       f"input; see `_BatchNorm`."})
    return made


globals().update(_rank_classes())
