"""Adam (with amsgrad and L2 weight decay) and AdamW (decoupled weight decay)."""

from __future__ import annotations


import numpy as np

from .._args import check_bool, check_real, show
from .optimizer import Optimizer, decayed_grad

__all__ = ["Adam", "AdamW"]


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

    _state_kinds = {"step": "int", "exp_avg": "array", "exp_avg_sq": "array",
                    "max_exp_avg_sq": "array"}

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        where = type(self).__name__
        for name in ("lr", "eps", "weight_decay"):
            check_real(group[name], func=where, arg=name, minimum=0)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{where}: betas must be a pair (beta1, beta2), got "
                            f"{show(betas)}")
        for i, beta in enumerate(betas):
            check_real(beta, func=where, arg=f"betas[{i}]")
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{where}: betas[{i}]={beta!r} must be in [0, 1)")
        for name in ("amsgrad", "maximize"):
            check_bool(group[name], func=where, arg=name)

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
            g = decayed_grad(param, grad, 0, group["maximize"])
        else:
            g = decayed_grad(param, grad, weight_decay, group["maximize"])

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
