"""`batch_norm`, PyTorch's `F.batch_norm`, and `batch_norm_relu`, its fusion with a ReLU.

They run the compiled two-pass loops of `kernels.norm_jit`; `kernels.norm` holds the NumPy
closed-form kernel they are tested against.
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (the docstring examples)

from .. import _args
from ..autograd import Tensor
from ..kernels import norm_jit as norm_kernel
from ._graph import _array, _result, _wants

__all__ = ["batch_norm", "batch_norm_relu"]


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, *, _relu=False, _func="batch_norm"):
    """Batch normalisation per channel, PyTorch's `F.batch_norm`.

    y = (x - mean) / sqrt(var + eps) * weight + bias, per channel c over the batch and the
    spatial positions.

    Args:
        input: (N, C) or (N, C, *spatial).
        running_mean, running_var: (C,) NumPy arrays (or Tensors) or None. In training they
            are updated in place: r = (1 - momentum) r + momentum * batch_stat, with the
            unbiased batch variance for running_var. In evaluation they are the statistics.
        weight, bias: (C,) or None (no affine transform).
        training: use the batch's statistics (mean, biased variance) to normalise.
        momentum: weight of the new batch statistics in the running estimates.
        eps: added to the variance.

    >>> x = np.array([[1.0], [3.0]])
    >>> batch_norm(x, None, None, training=True).round(3)
    array([[-1.],
           [ 1.]])
    """
    func = _func
    x = _array(input, func, "input")
    w, b = _array(weight, func, "weight", True), _array(bias, func, "bias", True)
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    for name, v in (("running_mean", rm), ("running_var", rv)):
        if v is not None and (not isinstance(v, np.ndarray) or v.dtype.kind != "f"):
            raise TypeError(f"{func}: {name} must be a float array, a Tensor or None (it is "
                            f"updated in place), got {type(v).__name__} "
                            f"{getattr(v, 'dtype', '')}")
    _args.check_float(func, input=x, weight=w, bias=b)
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{func}: training must be a bool, got training={training!r:.40}")
    if momentum is not None:
        momentum = _args.check_real(momentum, func=func, arg="momentum", minimum=0.0)
    if x.ndim < 2:
        raise ValueError(f"{func}: expected input of shape (N, C) or (N, C, *spatial), got "
                         f"shape {tuple(x.shape)}")
    C = x.shape[1]
    for name, v in (("running_mean", rm), ("running_var", rv), ("weight", w), ("bias", b)):
        if v is not None and tuple(v.shape) != (C,):
            raise ValueError(f"{func}: {name} must have shape ({C},) (one per channel of "
                             f"input {tuple(x.shape)}), got shape {tuple(v.shape)}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"{func}: eps must be a non-negative number, got eps={eps!r}")
    M = x.size // C if C else 0  # values per channel
    if training and M <= 1:
        raise ValueError(f"{func}: expected more than 1 value per channel when "
                         f"training, got input of shape {tuple(x.shape)}")
    if not training and (rm is None or rv is None):
        raise ValueError(f"{func}: running_mean and running_var are needed when "
                         f"training=False")
    y, saved, (mean, var) = norm_kernel.batch_norm_forward(x, rm, rv, w, b, eps, training,
                                                           relu=_relu)
    if training and momentum is not None:
        if rm is not None:
            rm *= 1.0 - momentum
            rm += momentum * mean
        if rv is not None:
            rv *= 1.0 - momentum
            rv += momentum * var * (M / (M - 1))

    def backward(g):
        return norm_kernel.batch_norm_backward(g, saved, w, _wants(input), _wants(weight),
                                               _wants(bias))

    return _result(y, (input, weight, bias), backward, func)


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None,
                    training=False, momentum=0.1, eps=1e-5):
    """relu(batch_norm(...)) in one pass: the same values and gradients as the two calls.

    The ReLU is applied to the normalised values while they are written, and its backward
    pass (the mask y > 0) is taken inside batch norm's, so the pair makes one activation
    array and one graph node instead of two. `nn.Sequential` runs a `BatchNorm` followed by
    a `ReLU` this way (unless either has a forward hook or overrides `forward`).
    Arguments as `batch_norm`.

    >>> x = np.array([[1.0], [3.0]])
    >>> batch_norm_relu(x, None, None, training=True).round(3)
    array([[0.],
           [1.]])
    """
    return batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                      eps, _relu=True, _func="batch_norm_relu")
