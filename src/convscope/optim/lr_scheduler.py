"""Learning-rate schedulers: `StepLR`, `CosineAnnealingLR`, `OneCycleLR` (PyTorch's formulas).

Each sets ``param_groups[i]['lr']`` (and, for `OneCycleLR`, the momentum or Adam's beta1)
after every epoch or batch.
"""

from __future__ import annotations

import copy
import math
import numbers

from .._args import check_bool, check_int, check_real, show
from ..jsonutil import to_plain
from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "OneCycleLR"]


def _check_like(where: str, key: str, current, saved) -> None:
    """`saved` has the kind of `current` (recursively for lists and dicts)."""
    def fail(expected):
        raise ValueError(f"{where}: {key} must be {expected}, got {show(saved)}")

    if isinstance(current, bool):
        if not isinstance(saved, bool):
            fail("a bool")
    elif isinstance(current, numbers.Real):
        if isinstance(saved, bool) or not isinstance(saved, numbers.Real):
            fail("a number")
        if isinstance(current, int) and not isinstance(saved, numbers.Integral):
            fail("an int")
    elif isinstance(current, str):
        if not isinstance(saved, str):
            fail("a string")
    elif isinstance(current, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(current):
            fail(f"a list of {len(current)} values")
        for i, (c, s) in enumerate(zip(current, saved)):
            _check_like(where, f"{key}[{i}]", c, s)
    elif isinstance(current, dict):
        if not isinstance(saved, dict) or set(saved) != set(current):
            fail(f"a dict with keys {sorted(current)}")
        for k in current:
            _check_like(where, f"{key}[{k!r}]", current[k], saved[k])
    elif current is None and saved is not None:
        fail("None")


def _check_optimizer(where: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{where}: optimizer must be a convscope.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")


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
        last_epoch = check_int(last_epoch, func=where, arg="last_epoch", minimum=-1)
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
        return {k: to_plain(v) for k, v in self.__dict__.items()
                if k not in ("optimizer", "_is_initial")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state from `state_dict()`; load the optimizer's state dict too.

        The state dict must have this scheduler's keys, each holding a value of the same kind
        (a number, a bool, a string, or a list of as many of them), so that a damaged
        checkpoint is refused here rather than failing later in `step()`.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: state_dict must be a dict, got "
                            f"{type(state_dict).__name__}")
        current = self.state_dict()
        missing = sorted(set(current) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(current))
        if missing or unexpected:
            raise ValueError(f"{where}: the state dict does not fit {type(self).__name__}: "
                             f"missing keys {missing}, unexpected keys {unexpected}")
        for key, value in current.items():
            _check_like(where, key, value, state_dict[key])
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
        >>> from convscope.optim import SGD
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
        check_int(step_size, func="StepLR", arg="step_size")
        check_real(gamma, func="StepLR", arg="gamma")
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
        >>> from convscope.optim import SGD
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
        check_int(T_max, func="CosineAnnealingLR", arg="T_max")
        check_real(eta_min, func="CosineAnnealingLR", arg="eta_min")
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
        >>> from convscope.optim import SGD
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
            check_int(total_steps, func=where, arg="total_steps")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            check_int(epochs, func=where, arg="epochs")
            check_int(steps_per_epoch, func=where, arg="steps_per_epoch")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{where}: give either total_steps or both epochs and "
                             f"steps_per_epoch, got total_steps={total_steps!r}, "
                             f"epochs={epochs!r}, steps_per_epoch={steps_per_epoch!r}")
        check_real(pct_start, func=where, arg="pct_start")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{where}: pct_start={pct_start!r} must be in [0, 1]")
        if not isinstance(anneal_strategy, str) or anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', "
                             f"got anneal_strategy={show(anneal_strategy)}")
        three_phase = check_bool(three_phase, func=where, arg="three_phase")
        cycle_momentum = check_bool(cycle_momentum, func=where, arg="cycle_momentum")
        last_epoch = check_int(last_epoch, func=where, arg="last_epoch", minimum=-1)
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            check_real(value, func=where, arg=name)
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
        max_lrs = self._per_group("max_lr", max_lr, positive=True)
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

    def _per_group(self, name: str, value, positive: bool = False) -> list:
        """One real number per parameter group (`value` given once or per group)."""
        n = len(self.optimizer.param_groups)
        if isinstance(value, (list, tuple)):
            if len(value) != n:
                raise ValueError(f"OneCycleLR: {name} has {len(value)} values, the optimizer "
                                 f"has {n} parameter groups")
            values = list(value)
        else:
            values = [value] * n
        for v in values:
            check_real(v, func="OneCycleLR", arg=name, minimum=None if positive else 0,
                       positive=positive)
        return values

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
