"""`Sequential`: modules applied in order."""

from __future__ import annotations

from collections import OrderedDict

from .. import _args
from .activation import ReLU
from .module import Module
from .normalization import BatchNormBase

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
        """Each module on the output of the one before. A batch norm followed by a ReLU runs
        as one fused pass (`F.batch_norm_relu`: the same values and gradients) unless either
        has forward hooks or overrides `forward`."""
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            module = modules[i]
            if i + 1 < len(modules) and _fusable(module, modules[i + 1]):
                input = module._forward(input, relu=True)
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
