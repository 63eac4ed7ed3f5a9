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

from ._parallel import over_channels


def _axes(x) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v, ndim):
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an ndim array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm_forward(x, mean, var, weight, bias, eps, training, relu=False):
    """y and what the backward pass needs; `relu` applies max(., 0) to y in the same pass.

    In training `mean` and `var` are ignored and the batch statistics are computed; the
    returned `stats` is then (batch_mean, biased_var) so the caller can update its running
    estimates. In evaluation `mean` and `var` are the running statistics.

    Channels are independent, so the work is split over the threads by channel ranges
    (`over_channels`: each thread reduces and writes its own channels, the same bits for any
    number of threads). y = centred * (invstd * weight) + bias is one pass after the
    centring; the backward pass keeps `centred` and `invstd` (xhat = centred * invstd is
    never stored) and, with `relu`, y for the mask.
    """
    axes = _axes(x)
    C = x.shape[1]
    dt = x.dtype
    centred = np.empty_like(x)
    y = np.empty_like(x)
    out_mean = np.empty(C, dtype=dt)
    out_var = np.empty(C, dtype=dt)
    invstd = np.empty(C, dtype=dt)
    w = np.ones(C, dtype=dt) if weight is None else weight.astype(dt, copy=False)
    b = None if bias is None else bias.astype(dt, copy=False)

    def run(c0, c1):
        xs, cs, ys = x[:, c0:c1], centred[:, c0:c1], y[:, c0:c1]
        if training:
            m = xs.mean(axis=axes)
            np.subtract(xs, _per_channel(m, x.ndim), out=cs)
            np.multiply(cs, cs, out=ys)  # y as scratch for the squares
            v = ys.mean(axis=axes)
        else:
            m = mean[c0:c1].astype(dt, copy=False)
            np.subtract(xs, _per_channel(m, x.ndim), out=cs)
            v = var[c0:c1].astype(dt, copy=False)
        out_mean[c0:c1], out_var[c0:c1] = m, v
        inv = (1.0 / np.sqrt(v + eps)).astype(dt)
        invstd[c0:c1] = inv
        np.multiply(cs, _per_channel(inv * w[c0:c1], x.ndim), out=ys)
        if b is not None:
            ys += _per_channel(b[c0:c1], x.ndim)
        if relu:
            np.maximum(ys, 0, out=ys)

    over_channels(run, C, x.size)
    return y, (centred, invstd, training, y if relu else None), (out_mean, out_var)


def batch_norm_backward(g, saved, weight, need_input=True, need_weight=True, need_bias=True):
    """(dx, dweight, dbias); entries not needed are None. After a fused ReLU the gradient
    first goes through its mask (y > 0), in the same pass."""
    centred, invstd, training, relu_out = saved
    axes = _axes(g)
    nd = g.ndim
    C = g.shape[1]
    M = g.size // C if C else 0
    dt = g.dtype
    w = np.ones(C, dtype=dt) if weight is None else weight.astype(dt, copy=False)
    gw = np.empty(C, dtype=dt) if need_weight else None
    gb = np.empty(C, dtype=dt) if need_bias else None
    gx = np.empty_like(g) if need_input else None
    sums = need_weight or need_bias or (need_input and training)

    def run(c0, c1):
        gs = g[:, c0:c1]
        if relu_out is not None:
            gs = gs * (relu_out[:, c0:c1] > 0)
        cs = centred[:, c0:c1]
        inv = invstd[c0:c1]
        if sums:
            g_sum = gs.sum(axis=axes)
            # sum(g * xhat) = invstd * sum(g * centred)
            g_dot = (gs * cs).sum(axis=axes) * inv
            if gw is not None:
                gw[c0:c1] = g_dot
            if gb is not None:
                gb[c0:c1] = g_sum
        if gx is not None:
            out = gx[:, c0:c1]
            scale = inv * w[c0:c1]  # d y / d x per channel (evaluation)
            if training:
                # dx = scale (g - sum(g)/M - xhat sum(g xhat)/M), xhat = centred * invstd
                np.subtract(gs, _per_channel(g_sum / M, nd), out=out)
                tmp = cs * _per_channel(g_dot * inv / M, nd)
                out -= tmp
                out *= _per_channel(scale, nd)
            else:
                np.multiply(gs, _per_channel(scale, nd), out=out)

    over_channels(run, C, g.size)
    return gx, gw, gb
