"""The optimizer base class: parameter groups, `step`, `zero_grad` and the state dict.

`Optimizer` holds the parameter groups and the per-parameter state and checks both; each
optimizer (`optim.sgd`, `optim.adam`) adds only its hyper-parameter checks and its update
rule. State dicts hold only NumPy arrays, Python numbers, bools, strings, lists and dicts,
so that they can be written as ``.npz`` arrays plus JSON without pickle.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from ..autograd import Tensor, enable_grad
from ..jsonutil import to_plain

__all__ = ["Optimizer", "decayed_grad"]


# -- the base class --------------------------------------------------------------------------
class Optimizer:
    """Base class: holds the parameter groups and the per-parameter state.

    Args:
        params: an iterable of `Tensor`s, or of dicts each with a 'params' entry (an iterable
            of `Tensor`s) and optional per-group hyper-parameters that override `defaults`.
        defaults: the hyper-parameters of a group that does not set them.

    Attributes:
        param_groups: a list of dicts, each with 'params' (a list of `Tensor`s) and every
            hyper-parameter; a scheduler or the user may change them between steps.
        state: a dict from parameter (`Tensor`) to its dict of running state (NumPy arrays
            and numbers), filled in by `step()`.

    Subclasses implement `_check_group(group)` and `_update(param, grad, state, group)`.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        where = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{where}: params must be an iterable of Tensors or of dicts, "
                            f"got a single Tensor; pass [tensor]")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(f"{where}: params must be an iterable of Tensors or of dicts, "
                            f"got {type(params).__name__}") from None
        if not groups:
            raise ValueError(f"{where}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, with its own hyper-parameters, e.g. to unfreeze layers.

        Args:
            param_group: a dict with 'params' (a `Tensor` or an iterable of them) and any
                hyper-parameters to override the optimizer's defaults for this group.
        """
        where = f"{type(self).__name__}.add_param_group"
        if not isinstance(param_group, dict):
            raise TypeError(f"{where}: a parameter group must be a dict, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{where}: a parameter group needs a 'params' entry, "
                             f"got keys {sorted(param_group)}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{where}: params must be an ordered iterable (a list), not a set: "
                            "the order of the parameters indexes the state dict")
        params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{where}: every parameter must be a convscope.Tensor, "
                                f"got {type(p).__name__} at position {i}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{where}: a parameter group holds the same Tensor twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{where}: some parameters appear in more than one "
                             "parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Raise if a hyper-parameter of `group` is invalid (subclasses)."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none: True (default) sets each `.grad` to None, which frees the memory and
                makes `step()` skip the parameter until a new gradient arrives; False fills
                the existing arrays with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient, in place.

        Args:
            closure: optional callable that recomputes the loss (calling `backward()`) and
                returns it; it is called first, with gradient recording on.

        Returns:
            the closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        where = f"{type(self).__name__}.step"
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.shape != p.data.shape:
                    raise ValueError(f"{where}: gradient of shape {grad.shape} does not "
                                     f"match its parameter of shape {p.data.shape}")
                self._update(p.data, grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        """Update one parameter array in place (subclasses)."""
        raise NotImplementedError

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The optimizer's state as plain data: NumPy arrays, numbers, lists and dicts.

        Returns:
            ``{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [index]}]}``
            where `index` is the position of a parameter across all groups, in order (as in
            PyTorch). The arrays are the live buffers, not copies: write them out (e.g.
            ``np.savez``) or copy them before the next `step()` if you need a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: to_plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    #: The per-parameter state a subclass keeps: name -> "array" (the parameter's shape) or
    #: "int" (a step count).
    _state_kinds: dict = {}

    def _check_state_dict(self, where: str, state_dict) -> None:
        """The structure of a state dict, checked before anything is loaded: a damaged
        checkpoint gets an error naming what is wrong, not a KeyError later."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: state_dict must be a dict with 'state' and "
                            f"'param_groups', got {type(state_dict).__name__}")
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"{where}: the state dict has no {' or '.join(map(repr, missing))}"
                             f" (keys: {sorted(map(str, state_dict))})")
        groups, state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(groups, (list, tuple)):
            raise ValueError(f"{where}: param_groups must be a list of dicts, got "
                             f"{type(groups).__name__}")
        n_params = 0
        for i, group in enumerate(groups):
            if not isinstance(group, dict) or not isinstance(group.get("params"), (list, tuple)):
                raise ValueError(f"{where}: param_groups[{i}] must be a dict with a 'params' "
                                 f"list")
            if not all(_index(p) is not None for p in group["params"]):
                raise ValueError(f"{where}: param_groups[{i}]['params'] must list parameter "
                                 f"indices (ints)")
            absent = sorted(set(self.defaults) - set(group))
            if absent:
                raise ValueError(f"{where}: param_groups[{i}] lacks {absent}")
            n_params += len(group["params"])
        if not isinstance(state, dict):
            raise ValueError(f"{where}: state must be a dict of parameter index -> dict, got "
                             f"{type(state).__name__}")
        for key, entry in state.items():
            index = _index(key)
            if index is None or not 0 <= index < n_params or not isinstance(entry, dict):
                raise ValueError(f"{where}: state[{key!r}] must be a dict under a parameter "
                                 f"index in [0, {n_params})")
            for name, value in entry.items():
                kind = self._state_kinds.get(name)
                if kind is None:
                    raise ValueError(f"{where}: state[{key!r}] holds {name!r}, which "
                                     f"{type(self).__name__} does not keep (it keeps "
                                     f"{sorted(self._state_kinds)})")
                if kind == "array" and not isinstance(value, np.ndarray):
                    raise ValueError(f"{where}: state[{key!r}][{name!r}] must be an array, "
                                     f"got {type(value).__name__}")
                if kind == "int" and (isinstance(value, str) or _index(value) is None
                                      or _index(value) < 0):
                    raise ValueError(f"{where}: state[{key!r}][{name!r}] must be a "
                                     f"non-negative int, got {value!r:.40}")

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from `state_dict()` (index keys may be ints or strings, as from JSON).

        The arrays are copied and cast to their parameter's dtype. Create a scheduler before
        calling this, since creating one resets the learning rates.
        """
        where = f"{type(self).__name__}.load_state_dict"
        self._check_state_dict(where, state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state dict has {len(saved_groups)} parameter "
                             f"groups, the optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{where}: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the state dict, {len(group['params'])} in "
                                 "the optimizer")
        params = {int(s): p for g, sg in zip(self.param_groups, saved_groups)
                  for s, p in zip(sg["params"], g["params"])}

        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = copy.deepcopy({k: v for k, v in saved.items() if k != "params"})
            for name, default in self.defaults.items():  # JSON turns tuples into lists
                if isinstance(default, tuple) and name in new:
                    new[name] = tuple(new[name])
            new["params"] = group["params"]
            self._check_group(new)
            new_groups.append(new)

        new_state = {}
        for key, saved in state_dict["state"].items():
            p = params.get(int(key))
            if p is None:
                continue
            state = {}
            for name, value in saved.items():
                if name == "step":
                    state[name] = int(value)
                elif isinstance(value, np.ndarray):
                    if value.shape != p.data.shape:
                        raise ValueError(f"{where}: state {name!r} of parameter {key} has "
                                         f"shape {value.shape}, the parameter has shape "
                                         f"{p.data.shape}")
                    state[name] = np.array(value, dtype=p.data.dtype, copy=True)
                else:
                    state[name] = copy.deepcopy(value)
            new_state[p] = state
        self.param_groups = new_groups
        self.state = new_state


def decayed_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float,
                  maximize: bool) -> np.ndarray:
    """The gradient (negated when maximizing) plus ``weight_decay * param`` (an L2 penalty).

    A new array unless nothing is to be done, so the caller's `.grad` is never changed.
    """
    if weight_decay != 0:
        out = np.multiply(param, weight_decay)
        return np.subtract(out, grad, out=out) if maximize else np.add(out, grad, out=out)
    return np.negative(grad) if maximize else grad


def _index(value) -> int | None:
    """An int, or a string / whole float of one (JSON keys and numbers), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
