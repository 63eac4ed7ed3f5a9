"""`Module` and `Parameter`: the state-holding base of every layer, as in PyTorch.

A module registers, in assignment order, its `Parameter`s (trainable Tensors), its buffers
(NumPy arrays such as BatchNorm's running statistics) and its submodules. From that
registry come `parameters()`, `state_dict()` with PyTorch's dotted names
(`features.0.weight`, `bn.running_mean`), `load_state_dict`, `train()`/`eval()` and a
`repr` that reads like PyTorch's.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd import Tensor

__all__ = ["Module", "Parameter", "RemovableHandle"]


class Parameter(Tensor):
    """A Tensor that a Module trains: requires_grad=True, listed by `parameters()`.

    `param.data = array` replaces the values (e.g. with weights copied from PyTorch:
    ``conv.weight.data = torch_conv.weight.detach().numpy()``).
    """

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        self._data = np.asarray(value.data if isinstance(value, Tensor) else value)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """Returned by `register_forward_hook`; `.remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of all layers and models: subclass it, assign layers in `__init__`,
    write `forward`, and call the module like a function.

    >>> class Tiny(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(np.zeros(3, dtype=np.float32))
    >>> list(Tiny().state_dict())
    ['w']
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- registration ------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning {name!r}")
        if isinstance(value, (Parameter, Module)):
            store = self._parameters if isinstance(value, Parameter) else self._modules
            for other in (self._parameters, self._buffers, self._modules):
                if other is not store:
                    other.pop(name, None)
            self.__dict__.pop(name, None)
            store[name] = value
        elif name in self._parameters:  # only None can replace a parameter
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign "
                                f"{type(value).__name__} to parameter {name!r} (a "
                                f"Parameter or None is required; set .data to change "
                                f"its values)")
            self._parameters[name] = None
        elif name in self._buffers:
            self._buffers[name] = None if value is None else np.asarray(value)
        elif name in self._modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign "
                                f"{type(value).__name__} to submodule {name!r} (a Module "
                                f"or None is required)")
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param) -> None:
        """Register `param` (a Parameter or None) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, array) -> None:
        """Register a NumPy array (or None) saved in `state_dict` but not trained."""
        self._buffers[name] = None if array is None else np.asarray(array)

    def add_module(self, name: str, module) -> None:
        """Register `module` (or None) as a child under `name`."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        self._modules[name] = module

    # -- traversal ---------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None):
        """(name, module) for this module and every descendant, each once, depth first."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, store, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter), each shared parameter once."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """(dotted name, NumPy array) of the buffers (BatchNorm's running statistics...)."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call fn(module) on every submodule, then on self (e.g. a custom init); self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and gradients -----------------------------------------------------------------
    def train(self, mode: bool = True):
        """Training mode (batch statistics in BatchNorm, active Dropout) on self and all
        submodules; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got mode={mode!r}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (set `.grad` to None, as PyTorch)."""
        for p in self.parameters():
            p.grad = None

    def _cast(self, dtype):
        for _, store, key in self._state_entries():
            value = store[key]
            if isinstance(value, Parameter):
                value.data = value.data.astype(dtype)
            elif value.dtype.kind == "f":
                store[key] = value.astype(dtype)
        return self

    def double(self):
        """Cast floating parameters and buffers to float64; returns self."""
        return self._cast(np.float64)

    def float(self):
        """Cast floating parameters and buffers to float32; returns self."""
        return self._cast(np.float32)

    # -- calling -----------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook):
        """Call hook(module, inputs_tuple, output) after every forward; a non-None return
        replaces the output. Returns a handle whose `.remove()` unregisters it."""
        if not callable(hook):
            raise TypeError(f"register_forward_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # -- state -------------------------------------------------------------------------------
    def _state_entries(self):
        """(dotted name, store, key) of every parameter and buffer that is not None, in
        PyTorch's `state_dict` order; `store[key]` is the Parameter or the buffer."""
        for prefix, m in self.named_modules():
            dot = f"{prefix}." if prefix else ""
            for store in (m._parameters, m._buffers):
                for key, value in store.items():
                    if value is not None:
                        yield dot + key, store, key

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> copy of every parameter and buffer, PyTorch's names and order."""
        state = OrderedDict()
        for name, store, key in self._state_entries():
            value = store[key]
            state[name] = (value.data.copy() if isinstance(value, Parameter)
                           else np.array(value, copy=True))
        return state

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from `state_dict` (name -> array-like) into the parameters and buffers.

        Values keep this module's dtypes. With strict=True the keys must match exactly;
        a shape mismatch is always an error. Returns (missing_keys, unexpected_keys).
        """
        name = type(self).__name__
        targets = {key: (store, attr) for key, store, attr in self._state_entries()}
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise ValueError(f"load_state_dict: state_dict does not match {name}: "
                             + "; ".join(parts))
        for key, (store, attr) in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            current = store[attr]
            is_param = isinstance(current, Parameter)
            cur = current.data if is_param else current
            if value.shape != cur.shape:
                raise ValueError(f"load_state_dict: {key} has shape {tuple(value.shape)} in "
                                 f"the state_dict but {tuple(cur.shape)} in {name}")
            if is_param:
                current.data = np.array(value, dtype=cur.dtype, copy=True)
            else:
                cur[...] = value  # in place: functions holding the buffer see the update
        return _IncompatibleKeys(missing, unexpected)

    # -- printing ----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The arguments shown between the parentheses of `repr`; override in layers."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): {_addindent(repr(m), 2)}"
                       for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                body = extra_lines[0]
            else:
                body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"

    def _repr_html_(self) -> str:
        """Jupyter shows a model as a table of its layers (`convscope.display.module_html`)."""
        from ..display import module_html
        return module_html(self)
