"""`Sequential`: modules applied in order."""

from __future__ import annotations

from collections import OrderedDict

from .. import _args
from .activation import ReLU
from .conv import Conv2d
from .module import Module
from .normalization import BatchNormBase
from .pooling import MaxPool2d

__all__ = ["Sequential"]


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
        """Each module on the output of the one before. Two pairs run as one fused pass,
        with the same values and gradients, unless either module has forward hooks or
        overrides `forward`: a batch norm followed by a ReLU (`F.batch_norm_relu`), and a
        `Conv2d` (zero padding) followed by a `MaxPool2d(2)` (2x2 windows at stride 2, no
        padding, dilation or ceil_mode: `F.conv2d_max_pool2d`)."""
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            module = modules[i]
            if i + 1 < len(modules) and _fusable(module, modules[i + 1]):
                input = module._forward(input, relu=True)
                i += 2
                continue
            if i + 1 < len(modules) and _pool_fusable(module, modules[i + 1]):
                input = module._forward_max_pool(input, type(modules[i + 1]).__name__)
                i += 2
                continue
            input = module(input)
            i += 1
        return input


def _fusable(norm, act) -> bool:
    """Whether `norm` then `act` may run as one batch_norm_relu."""
    return (isinstance(norm, BatchNormBase) and type(norm).forward is BatchNormBase.forward
            and type(act).forward is ReLU.forward and isinstance(act, ReLU)
            and not norm._forward_hooks and not act._forward_hooks)


def _pool_fusable(conv, pool) -> bool:
    """Whether `conv` then `pool` may run as one conv2d_max_pool2d."""
    return (isinstance(conv, Conv2d) and type(conv).forward is Conv2d.forward
            and conv.padding_mode == "zeros" and not conv._forward_hooks
            and isinstance(pool, MaxPool2d) and type(pool).forward is MaxPool2d.forward
            and not pool._forward_hooks
            and _pair(pool.kernel_size) == (2, 2) and _pair(pool.stride) == (2, 2)
            and _pair(pool.padding) == (0, 0) and _pair(pool.dilation) == (1, 1)
            and pool.ceil_mode is False)


def _pair(value):
    """A pooling argument as it was given (an int or a pair) as a tuple, else None."""
    if _args.is_int(value):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return tuple(value)
    return None
