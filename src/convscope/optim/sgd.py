"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .._args import check_bool, check_real
from .optimizer import Optimizer, decayed_grad

__all__ = ["SGD"]


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

    _state_kinds = {"momentum_buffer": "array"}

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        where = "SGD"
        for name in ("lr", "momentum", "weight_decay"):
            check_real(group[name], func=where, arg=name, minimum=0)
        check_real(group["dampening"], func=where, arg="dampening")
        for name in ("nesterov", "maximize"):
            check_bool(group[name], func=where, arg=name)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{where}: nesterov=True needs momentum > 0 and dampening=0, "
                             f"got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        momentum, dampening = group["momentum"], group["dampening"]
        g = decayed_grad(param, grad, group["weight_decay"], group["maximize"])
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
