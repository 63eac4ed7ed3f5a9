"""Batch normalisation over (N, C, *spatial) or (N, C), forward and closed-form backward.

Per channel c, with M = N * prod(spatial) values::

    y = (x - mean) / sqrt(var + eps) * weight + bias

Training uses the batch's mean and biased variance (and reports the unbiased variance
var * M / (M - 1) for the running estimate, as PyTorch does); evaluation uses the running
statistics. The backward pass is the closed form of Ioffe & Szegedy (2015), one reduction
pass over the gradient instead of a graph of primitives::

    dx = invstd / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat)),
    dxhat = dy * weight
"""

from __future__ import annotations

import numpy as np


def _axes(x) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, ndim):
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an ndim array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_forward(x, mean, var, weight, bias, eps, training):
    """y and what the backward pass needs.

    In training `mean` and `var` are ignored and the batch statistics are computed; the
    returned `stats` is then (batch_mean, biased_var) so the caller can update its running
    estimates. In evaluation `mean` and `var` are the running statistics.
    """
    axes = _axes(x)
    if training:
        mean = x.mean(axis=axes)
        centred = x - _per_channel(mean, x.ndim)
        var = np.mean(centred * centred, axis=axes)
    else:
        centred = x - _per_channel(mean.astype(x.dtype, copy=False), x.ndim)
        var = var.astype(x.dtype, copy=False)
    invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    xhat = centred
    xhat *= _per_channel(invstd, x.ndim)  # centred is a fresh array: normalise in place
    if weight is None and bias is None:
        y = xhat
    else:
        y = xhat * _per_channel(weight, x.ndim) if weight is not None else xhat.copy()
        if bias is not None:
            y += _per_channel(bias, x.ndim)
    return y, (xhat, invstd, training), (mean, var)


def batch_norm_backward(g, saved, weight, need_input=True, need_weight=True, need_bias=True):
    """(dx, dweight, dbias); entries not needed are None."""
    xhat, invstd, training = saved
    axes = _axes(g)
    nd = g.ndim
    gbias = g.sum(axis=axes) if need_bias or (need_input and training) else None
    gxhat_dot = (g * xhat).sum(axis=axes) if need_weight or (need_input and training) else None
    gx = None
    if need_input:
        scale = invstd if weight is None else invstd * weight  # d y / d x per channel (eval)
        if training:
            M = g.size // g.shape[1]
            # dxhat = g * w, so sum(dxhat) = w * sum(g) and sum(dxhat * xhat) = w * sum(g xhat)
            gx = g - _per_channel(gbias / M, nd)
            gx -= xhat * _per_channel(gxhat_dot / M, nd)
            gx *= _per_channel(scale, nd)
        else:
            gx = g * _per_channel(scale, nd)
    return (gx, gxhat_dot if need_weight else None, gbias if need_bias else None)
