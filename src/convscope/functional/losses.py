"""Losses, PyTorch's `cross_entropy` (class weights, ignore_index, label smoothing,
K-dimensional targets), `nll_loss` and `mse_loss`."""

from __future__ import annotations

import numpy as np

from .. import _args
from ..autograd import Tensor
from ._common import float_input, log_softmax_array
from ._graph import _array, _result

__all__ = ["cross_entropy", "nll_loss", "mse_loss"]


_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(func, reduction):
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{func}: reduction must be one of {_REDUCTIONS}, got "
                         f"reduction={reduction!r}")


def _classes_last(func, x, t):
    """Scores (N, C, *d) or (C,) as (M, C); the target's shape checked; (z, t, out_shape)."""
    if x.ndim == 0:
        raise ValueError(f"{func}: input must have shape (N, C), (N, C, d1, ...) or (C,), "
                         f"got a scalar")
    if x.ndim == 1:
        z, expected = x[None], ()
    else:
        z = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
        expected = (x.shape[0],) + x.shape[2:]
    probs = t.dtype.kind == "f"
    want = x.shape if probs else expected
    if t.shape != want:
        kind = "class probabilities" if probs else "class indices"
        raise ValueError(f"{func}: target of {kind} must have shape {want} for input of shape "
                         f"{tuple(x.shape)}, got shape {tuple(t.shape)}")
    if not probs and t.dtype.kind not in "iu":
        raise TypeError(f"{func}: target must hold integer class indices or float class "
                        f"probabilities, got dtype {t.dtype}")
    tf = (np.moveaxis(t, 1, -1).reshape(z.shape) if x.ndim > 1 else t[None]) if probs \
        else t.reshape(-1)
    return z, tf, expected


def _class_coefficients(func, z, t, weight, ignore_index, label_smoothing):
    """q (M, C) such that loss_m = -sum_c q[m, c] * logp[m, c], and the 'mean' divisor.

    Class indices: q = (1 - e) w[t] onehot(t) + (e / C) w, zero for ignored targets, divided
    by sum(w[t]) for 'mean' (PyTorch's formula for label smoothing with weights).
    Probabilities: q = w * ((1 - e) t + e / C), divided by M for 'mean'.
    """
    M, C = z.shape
    wvec = np.ones(C, dtype=z.dtype) if weight is None else weight.astype(z.dtype, copy=False)
    if t.dtype.kind == "f":
        q = wvec * ((1.0 - label_smoothing) * t.astype(z.dtype, copy=False)
                    + label_smoothing / C)
        return q, z.dtype.type(M)
    if not _args.is_int(ignore_index):
        raise TypeError(f"{func}: ignore_index must be an int, got "
                        f"ignore_index={ignore_index!r:.40}")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        raise ValueError(f"{func}: target {int(t[bad][0])} is out of range for {C} classes "
                         f"(expected 0 <= target < {C}, or ignore_index={ignore_index})")
    tc = np.where(valid, t, 0)
    wt = wvec[tc] * valid
    q = np.zeros((M, C), dtype=z.dtype)
    q[np.arange(M), tc] = (1.0 - label_smoothing) * wt
    if label_smoothing:
        q += (label_smoothing / C) * valid[:, None] * wvec
    return q, wt.sum(dtype=z.dtype)


def _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape, reduction,
                 grad_of_scores):
    """Reduce per-sample losses; the backward scales `grad_of_scores(scale)` back."""
    if reduction == "none":
        out = per_sample.reshape(out_shape)
    elif reduction == "sum":
        out = per_sample.sum()
    else:
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as torch
            out = per_sample.sum() / divisor
    out = np.asarray(out, dtype=q.dtype)
    x_shape = _array(input, func, "input").shape

    def backward(g):
        if reduction == "none":
            scale = g.reshape(-1, 1)
        elif reduction == "sum":
            scale = g
        else:
            scale = g / divisor
        gz = grad_of_scores(scale)  # (M, C)
        if len(x_shape) == 1:
            gx = gz[0]
        else:
            moved = (x_shape[0],) + x_shape[2:] + (x_shape[1],)
            gx = np.moveaxis(gz.reshape(moved), -1, 1)
        return gx, None, None

    return _result(out, (input, target, weight), backward, func)


def _loss_inputs(func, input, target, weight, reduction, label_smoothing=0.0):
    _check_reduction(func, reduction)
    x = float_input(input, func)
    t = _array(target, func, "target")
    w = _array(weight, func, "weight", optional=True)
    if isinstance(target, Tensor) and target.requires_grad:
        raise ValueError(f"{func}: gradients with respect to target are not supported")
    if w is not None:
        _args.check_float(func, input=x, weight=w)
        C = x.shape[0] if x.ndim == 1 else x.shape[1]
        if w.shape != (C,):
            raise ValueError(f"{func}: weight must have shape ({C},) (one per class), got "
                             f"shape {tuple(w.shape)}")
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{func}: label_smoothing must be in [0, 1], got "
                         f"label_smoothing={label_smoothing!r}")
    if t.dtype.kind == "f":
        _args.check_float(func, input=x, target=t)
    return x, t, w


def cross_entropy(input, target, weight=None, reduction="mean", label_smoothing=0.0,
                  ignore_index=-100):
    """Softmax cross-entropy from raw scores, PyTorch's `F.cross_entropy`.

    loss_m = -sum_c q[m, c] log softmax(input)[m, c], with q the (smoothed, weighted) target.
    Forward and backward are fused: d loss_m / d input_m = softmax_m * sum(q_m) - q_m.

    Args:
        input: scores (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,), (N, d1, ...) or () (an integer array), or class
            probabilities of the input's shape (a float array).
        weight: (C,) per-class weights or None.
        reduction: 'mean' (divided by the summed weights of the non-ignored targets),
            'sum' or 'none'.
        label_smoothing: e in [0, 1]; the target becomes (1 - e) onehot + e / C.
        ignore_index: a class index whose targets contribute nothing (indices only).

    >>> float(cross_entropy(np.zeros((1, 4)), np.array([2])))  # doctest: +ELLIPSIS
    1.386...
    """
    func = "cross_entropy"
    x, t, w = _loss_inputs(func, input, target, weight, reduction, label_smoothing)
    z, tf, out_shape = _classes_last(func, x, t)
    q, divisor = _class_coefficients(func, z, tf, w, ignore_index, label_smoothing)
    logp = log_softmax_array(z, 1)
    per_sample = -(q * logp).sum(axis=1)

    def grad_of_scores(scale):
        return (np.exp(logp) * q.sum(axis=1, keepdims=True) - q) * scale

    return _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape,
                        reduction, grad_of_scores)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities, `F.nll_loss`.

    loss_m = -weight[t_m] * input[m, t_m]; 'mean' divides by the summed weights of the
    non-ignored targets. Shapes as `cross_entropy` (class-index targets only).

    >>> float(nll_loss(np.log(np.full((1, 4), 0.25)), np.array([0])))  # doctest: +ELLIPSIS
    1.386...
    """
    func = "nll_loss"
    x, t, w = _loss_inputs(func, input, target, weight, reduction)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{func}: target must hold integer class indices, got dtype {t.dtype}")
    z, tf, out_shape = _classes_last(func, x, t)
    q, divisor = _class_coefficients(func, z, tf, w, ignore_index, 0.0)
    per_sample = -(q * z).sum(axis=1)
    return _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape,
                        reduction, lambda scale: -q * scale)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (x - y)^2, reduced by 'mean', 'sum' or 'none'.

    Both input and target may require grad; their shapes must match.

    >>> float(mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    func = "mse_loss"
    _check_reduction(func, reduction)
    x, t = _array(input, func, "input"), _array(target, func, "target")
    _args.check_float(func, input=x, target=t)
    if x.shape != t.shape:
        raise ValueError(f"{func}: input of shape {tuple(x.shape)} and target of shape "
                         f"{tuple(t.shape)} must have the same shape")
    diff = x - t
    sq = diff * diff
    n = max(diff.size, 1)
    out = sq if reduction == "none" else (sq.sum() if reduction == "sum" else sq.sum() / n)
    out = np.asarray(out, dtype=x.dtype)

    def backward(g):
        gd = 2.0 * diff * (g if reduction == "none" else (g if reduction == "sum" else g / n))
        return gd, -gd

    return _result(out, (input, target), backward, func)
