"""Optimizers and learning-rate schedulers with PyTorch's semantics.

`SGD`, `Adam` and `AdamW` update each parameter's `.data` array in place from its `.grad`
(a parameter whose `.grad` is None is skipped), with the same operations in the same order as
PyTorch's single-tensor ("foreach=False") code, so that both agree to rounding. `StepLR`,
`CosineAnnealingLR` and `OneCycleLR` set `param_groups[i]['lr']` (and, for OneCycleLR, the
momentum or Adam's beta1) after each epoch or batch, with PyTorch's formulas.

State dicts hold only NumPy arrays, Python numbers, bools, strings, lists and dicts, so that
they can be written as ``.npz`` arrays plus JSON without pickle.

Example:
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, -1.0])
    >>> opt.step()
    >>> w.data
    array([0.9, 2.1])
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from ._args import _is_int
from .autograd import Tensor, enable_grad
from .io import _plain

__all__ = ["Optimizer", "SGD", "Adam", "AdamW",
           "LRScheduler", "StepLR", "CosineAnnealingLR", "OneCycleLR"]


# -- argument checks -------------------------------------------------------------------------
def _check_real(where: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}")


def _check_nonnegative(where: str, name: str, value) -> None:
    _check_real(where, name, value)
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{where}: {name}={value!r} must be >= 0")


def _check_positive_int(where: str, name: str, value) -> None:
    if not _is_int(value):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{where}: {name}={value!r} must be a positive int")


def _check_optimizer(where: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where}: optimizer must be a convscope.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")


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
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from `state_dict()` (index keys may be ints or strings, as from JSON).

        The arrays are copied and cast to their parameter's dtype. Create a scheduler before
        calling this, since creating one resets the learning rates.
        """
        where = f"{type(self).__name__}.load_state_dict"
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


# -- the optimizers --------------------------------------------------------------------------
def _decayed_grad(param: np.ndarray, grad: np.ndarray, weight_decay: float,
                  maximize: bool) -> np.ndarray:
    """The gradient (negated when maximizing) plus ``weight_decay * param`` (an L2 penalty).

    A new array unless nothing is to be done, so the caller's `.grad` is never changed.
    """
    if weight_decay != 0:
        out = np.multiply(param, weight_decay)
        return np.subtract(out, grad, out=out) if maximize else np.add(out, grad, out=out)
    return np.negative(grad) if maximize else grad


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (PyTorch's `torch.optim.SGD`).

    With g the gradient (negated if `maximize`) and b the momentum buffer (b = g at the
    first step), each step does::

        g = g + weight_decay * p
        b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  if nesterov  else  b
        p = p - lr * g

    Note that, as in PyTorch and unlike Sutskever et al., the learning rate multiplies the
    velocity rather than the gradient inside it.

    Args:
        params: an iterable of `Tensor`s or of parameter-group dicts (see `Optimizer`).
        lr: learning rate, >= 0 (default 1e-3).
        momentum: momentum factor, >= 0 (default 0).
        dampening: dampening for momentum (default 0).
        weight_decay: L2 penalty, >= 0 (default 0).
        nesterov: Nesterov momentum; needs momentum > 0 and dampening 0 (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    State per parameter: 'momentum_buffer' (when momentum != 0).

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> w = Tensor(np.zeros(2), requires_grad=True)
        >>> opt = SGD([w], lr=0.5, weight_decay=0.1)
        >>> w.grad = np.array([1.0, 2.0])
        >>> opt.step()
        >>> w.data
        array([-0.5, -1. ])
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        where = "SGD"
        for name in ("lr", "momentum", "weight_decay"):
            _check_nonnegative(where, name, group[name])
        _check_real(where, "dampening", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: nesterov=True needs momentum > 0 and dampening=0, "
                             f"got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        momentum, dampening = group["momentum"], group["dampening"]
        g = _decayed_grad(param, grad, group["weight_decay"], group["maximize"])
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=param.dtype, copy=True)
            else:
                buf *= momentum
                buf += g if dampening == 0 else (1 - dampening) * g
            if group["nesterov"]:
                nesterov_g = np.multiply(buf, momentum)
                nesterov_g += g
                g = nesterov_g
            else:
                g = buf
        param -= group["lr"] * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), optionally AMSGrad (PyTorch's `torch.optim.Adam`).

    With g the gradient (negated if `maximize`) and t the step count from 1::

        g = g + weight_decay * p                      (AdamW instead: p = p * (1 - lr * wd))
        m = beta1 * m + (1 - beta1) * g               (first moment)
        v = beta2 * v + (1 - beta2) * g**2            (second moment; AMSGrad: its running max)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: an iterable of `Tensor`s or of parameter-group dicts (see `Optimizer`).
        lr: learning rate, >= 0 (default 1e-3).
        betas: decay rates (beta1, beta2) of the moment averages, each in [0, 1)
            (default (0.9, 0.999)).
        eps: added to the denominator for numerical stability, >= 0 (default 1e-8).
        weight_decay: L2 penalty added to the gradient, >= 0 (default 0).
        amsgrad: use the running maximum of v (Reddi et al., 2018) (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    State per parameter: 'step' (an int), 'exp_avg' (m), 'exp_avg_sq' (v) and, with
    amsgrad, 'max_exp_avg_sq'.

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> w = Tensor(np.zeros(2), requires_grad=True)
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = np.array([3.0, -0.5])
        >>> opt.step()  # the first Adam step moves each weight by about lr
        >>> np.round(w.data, 6)
        array([-0.1,  0.1])
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        where = type(self).__name__
        for name in ("lr", "eps", "weight_decay"):
            _check_nonnegative(where, name, group[name])
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            _check_real(where, f"betas[{i}]", beta)
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{where}: betas[{i}]={beta!r} must be in [0, 1)")

    def _update(self, param, grad, state, group):
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]

        if self._decoupled_weight_decay:
            if weight_decay != 0:
                param *= 1 - lr * weight_decay
            g = _decayed_grad(param, grad, 0, group["maximize"])
        else:
            g = _decayed_grad(param, grad, weight_decay, group["maximize"])

        # m.lerp_(g, 1 - beta1), with torch's two-sided formula (exact at weight 1)
        weight = param.dtype.type(1 - beta1)
        work = np.subtract(g, m)  # (param's shape) reused below for g**2 and the denominator
        if abs(weight) < 0.5:
            work *= weight
            m += work
        else:
            work *= 1 - weight
            np.subtract(g, work, out=m)
        # v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        v *= beta2
        np.multiply(g, 1 - beta2, out=work)
        work *= g
        v += work

        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"]
            np.maximum(v_max, v, out=v_max)
            v = v_max
        denom = np.sqrt(v, out=work)
        denom /= bias_correction2_sqrt
        denom += eps
        # param.addcdiv_(m, denom, value=-step_size)
        update = np.multiply(m, -step_size)
        update /= denom
        param += update


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019; `torch.optim.AdamW`).

    The same as `Adam` except that weight decay shrinks the parameter directly,
    ``p = p * (1 - lr * weight_decay)``, before the Adam step, instead of being added to the
    gradient (so it does not pass through the moment averages). Default weight_decay: 1e-2.

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> w = Tensor(np.ones(2), requires_grad=True)
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = np.zeros(2)  # no gradient signal: only the decay acts
        >>> opt.step()
        >>> w.data
        array([0.95, 0.95])
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


# -- learning-rate schedulers ----------------------------------------------------------------
class LRScheduler:
    """Base class: sets each group's 'lr' from `get_lr()` at every `step()`.

    Creating a scheduler records each group's 'initial_lr' (kept if already set) and takes
    the initial step (last_epoch becomes 0). Call `scheduler.step()` after
    `optimizer.step()`: once per epoch for `StepLR` and `CosineAnnealingLR`, once per batch
    for `OneCycleLR`.

    Args:
        optimizer: the `Optimizer` whose learning rates are set.
        last_epoch: -1 (default) to start; torch's way of resuming is to pass the index of
            the last epoch done, with 'initial_lr' in the groups. Prefer `load_state_dict`.

    Attributes:
        last_epoch: the number of `step()` calls since the start (0 after creation).
        base_lrs: each group's 'initial_lr'.
    """

    _is_initial = False  # True only during the step taken at creation

    def __init__(self, optimizer, last_epoch: int = -1):
        where = type(self).__name__
        _check_optimizer(where, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(f"{where}: last_epoch={last_epoch} resumes a schedule, "
                                     f"but param_groups[{i}] has no 'initial_lr'; load the "
                                     "optimizer's state dict first, or use last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for the step `last_epoch` (subclasses)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance the schedule by one epoch (or batch) and set the groups' learning rates."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last `step()`, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """The scheduler's state (everything but the optimizer), as plain numbers and lists."""
        return {k: _plain(v) for k, v in self.__dict__.items()
                if k not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from `state_dict()`; load the optimizer's state dict too."""
        self.__dict__.update(copy.deepcopy(state_dict))


class StepLR(LRScheduler):
    """Multiply each group's learning rate by `gamma` every `step_size` epochs.

    lr = initial_lr * gamma ** (epoch // step_size), applied recursively to the current
    'lr' as PyTorch does (so it composes with other changes to the learning rate).

    Args:
        optimizer: the wrapped `Optimizer`.
        step_size: the period of the decay in epochs, a positive int.
        gamma: the multiplicative factor (default 0.1).
        last_epoch: see `LRScheduler` (default -1).

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> opt = SGD([Tensor(np.zeros(1))], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_positive_int("StepLR", "step_size", step_size)
        _check_real("StepLR", "gamma", gamma)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's learning rate along a half cosine, from its initial value to
    `eta_min` in `T_max` epochs (SGDR, Loshchilov & Hutter, 2017, without restarts).

    The closed form is ``eta_min + (initial_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``;
    like PyTorch, the learning rate is updated recursively from the current 'lr'::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    which equals the closed form up to rounding when nothing else changes 'lr'. Past T_max
    the cosine continues (the learning rate rises again with period 2 * T_max).

    Args:
        optimizer: the wrapped `Optimizer`.
        T_max: the number of epochs of the half period, a positive int.
        eta_min: the minimum learning rate (default 0).
        last_epoch: see `LRScheduler` (default -1).

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> opt = SGD([Tensor(np.zeros(1))], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=2)
        >>> for epoch in range(2):
        ...     opt.step()
        ...     sched.step()
        ...     print(round(sched.get_last_lr()[0], 6))
        0.5
        0.0
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        _check_real("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups, t, T = self.optimizer.param_groups, self.last_epoch, self.T_max
        eta_min = self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:
            # at the trough the ratio below is 0/0: step up from eta_min instead
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in groups]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2017): warm the learning rate up from
    ``max_lr / div_factor`` to `max_lr`, then anneal it to ``initial_lr / final_div_factor``,
    while cycling the momentum the opposite way. Step it after every batch.

    With the default two phases, the learning rate rises for the first
    ``pct_start * total_steps - 1`` steps and falls for the rest; with `three_phase` it
    falls back to the initial learning rate symmetrically, then to the minimum. The
    momentum ('momentum' for SGD, beta1 of 'betas' for Adam) goes from `max_momentum` down to
    `base_momentum` at the peak and back. The groups gain the entries 'initial_lr',
    'max_lr', 'min_lr' (and 'max_momentum', 'base_momentum' when cycling momentum).

    Args:
        optimizer: the wrapped `Optimizer`.
        max_lr: the peak learning rate, a number or a list with one per group.
        total_steps: the number of steps of the cycle; or give `epochs` and `steps_per_epoch`.
        epochs, steps_per_epoch: positive ints whose product is the number of steps.
        pct_start: the fraction of the cycle spent raising the learning rate (default 0.3).
        anneal_strategy: 'cos' (default) or 'linear'.
        cycle_momentum: cycle the momentum too (default True); the optimizer needs a
            'momentum' or 'betas' hyper-parameter.
        base_momentum, max_momentum: the momentum at the peak and at the ends of the cycle
            (defaults 0.85 and 0.95), numbers or lists with one per group.
        div_factor: initial_lr = max_lr / div_factor (default 25).
        final_div_factor: min_lr = initial_lr / final_div_factor (default 1e4).
        three_phase: use the paper's three phases instead of fastai's two (default False).
        last_epoch: the index of the last batch when resuming (default -1).

    Stepping more than `total_steps` times raises ValueError.

    Example:
        >>> import numpy as np
        >>> from convscope import Tensor
        >>> opt = SGD([Tensor(np.zeros(1))], lr=0.1, momentum=0.9)
        >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> for batch in range(9):
        ...     opt.step()
        ...     sched.step()
        ...     if batch in (1, 8):
        ...         print(round(sched.get_last_lr()[0], 6), opt.param_groups[0]["momentum"])
        1.0 0.85
        4e-06 0.95
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        where = "OneCycleLR"
        _check_optimizer(where, optimizer)  # before _per_group reads its param_groups
        self.optimizer = optimizer
        if total_steps is not None:
            _check_positive_int(where, "total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive_int(where, "epochs", epochs)
            _check_positive_int(where, "steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{where}: give either total_steps or both epochs and "
                             f"steps_per_epoch, got total_steps={total_steps!r}, "
                             f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        _check_real(where, "pct_start", pct_start)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{where}: pct_start={pct_start!r} must be in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            _check_real(where, name, value)
            if not value > 0:
                raise ValueError(f"{where}: {name}={value!r} must be > 0")
        self._anneal_func_type = anneal_strategy

        # Each phase anneals from its start to its end value between the previous phase's
        # end_step and its own; the names are keys of the param groups.
        rise_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * self.total_steps) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=rise_end, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=self.total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]

        groups = optimizer.param_groups
        max_lrs = self._per_group("max_lr", max_lr)
        if last_epoch == -1:
            for group, lr in zip(groups, max_lrs):
                group["initial_lr"] = lr / div_factor
                group["max_lr"] = lr
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{where}: cycle_momentum=True needs an optimizer with "
                                 f"'momentum' or 'betas', got {type(optimizer).__name__}; "
                                 "pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = self._per_group("max_momentum", max_momentum)
            base_momentums = self._per_group("base_momentum", base_momentum)
            if last_epoch == -1:
                for group, m_max, m_base in zip(groups, max_momentums, base_momentums):
                    self._set_momentum(group, m_max)
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)

    def _per_group(self, name: str, value) -> list:
        n = len(self.optimizer.param_groups)
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"OneCycleLR: {name} has {len(value)} values, the optimizer "
                                 f"has {n} parameter groups")
            return list(value)
        return [value] * n

    def _set_momentum(self, group: dict, momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        """Go from `start` (pct = 0) to `end` (pct = 1) along a half cosine or a line."""
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step_num} times, more than "
                             f"total_steps={self.total_steps}")
        # The phase holding step_num (the last one takes every step after the others).
        start_step = 0.0
        for phase in self._schedule_phases[:-1]:
            if step_num <= phase["end_step"]:
                break
            start_step = phase["end_step"]
        else:
            phase = self._schedule_phases[-1]
        pct = (step_num - start_step) / (phase["end_step"] - start_step)
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                self._set_momentum(group, self._anneal(
                    group[phase["start_momentum"]], group[phase["end_momentum"]], pct))
        return lrs
