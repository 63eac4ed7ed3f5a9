"""Batch normalisation (+ ReLU), forward and backward, as compiled loops: two passes each.

`norm`'s NumPy kernel makes several whole-array passes per direction (centre, square,
reduce, scale, shift, clamp; mask, two products, two reductions, three updates). Here a
thread takes a range of channels and, per channel, reads its values twice while they are
still in the cache:

* forward, training: pass 1 sums x for the mean, pass 2 sums (x - mean)^2 for the biased
  variance (the centred two-pass formula, not E[x^2] - mean^2), pass 3 writes
  y = max((x - mean) * invstd * weight + bias, 0); evaluation has only pass 3;
* backward: pass 1 reduces sum(g) and sum(g * (x - mean)) (g masked by y > 0 after a fused
  ReLU), pass 2 writes dx = invstd * weight * (g - sum(g)/M - xhat * sum(g * xhat)/M)
  (the closed form of `norm`; evaluation: dx = invstd * weight * g).

The sums are accumulated in float64 for either dtype. The input x is kept for the backward
pass instead of a centred copy (one array less). Arrays are taken as contiguous (N, C)
planes in either memory layout (`_planes`), y made in x's layout; a strided input (a
convolution's output on `shifted`'s grid) is read in place through its strides, y then
NCHW. The results equal the
NumPy kernel's to rounding (the order of the sums differs): tests/test_kernels_jit.py.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _planes
from ._parallel import over_channels


def _forward(x, y, w, b, mean, var, invstd, cm, c0, c1, eps, training, relu):
    N = x.shape[1] if cm else x.shape[0]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    M = N * D * H * W
    for c in range(c0, c1):
        if training:
            s = 0.0
            for n in range(N):
                xp = x[c, n] if cm else x[n, c]
                for iz in range(D):
                    for iy in range(H):
                        for ix in range(W):
                            s += xp[iz, iy, ix]
            m = s / M
            q = 0.0
            for n in range(N):
                xp = x[c, n] if cm else x[n, c]
                for iz in range(D):
                    for iy in range(H):
                        for ix in range(W):
                            t = xp[iz, iy, ix] - m
                            q += t * t
            v = q / M
            mean[c] = m
            var[c] = v
        else:
            m = np.float64(mean[c])
            v = np.float64(var[c])
        inv = 1.0 / np.sqrt(v + eps)
        invstd[c] = inv
        a = inv * w[c]
        mx = x.dtype.type(m)
        ax = x.dtype.type(a)
        bx = b[c]
        for n in range(N):
            xp = x[c, n] if cm else x[n, c]
            yp = y[c, n] if cm else y[n, c]
            for iz in range(D):
                for iy in range(H):
                    for ix in range(W):
                        r = (xp[iz, iy, ix] - mx) * ax + bx
                        if relu and r < 0:
                            r = 0
                        yp[iz, iy, ix] = r


def _backward(g, x, y, w, mean, invstd, gx, gw, gb, cm, c0, c1, training, relu, need_input):
    N = x.shape[1] if cm else x.shape[0]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    M = N * D * H * W
    for c in range(c0, c1):
        m = x.dtype.type(mean[c])
        gs = 0.0
        gd = 0.0
        for n in range(N):
            gp = g[c, n] if cm else g[n, c]
            xp = x[c, n] if cm else x[n, c]
            yp = y[c, n] if cm else y[n, c]
            for iz in range(D):
                for iy in range(H):
                    for ix in range(W):
                        gi = gp[iz, iy, ix]
                        if relu and not yp[iz, iy, ix] > 0:
                            gi = 0
                        gs += gi
                        gd += gi * (xp[iz, iy, ix] - m)
        inv = np.float64(invstd[c])
        gw[c] = gd * inv
        gb[c] = gs
        if not need_input:
            continue
        scale = inv * w[c]
        if training:
            k0 = x.dtype.type(scale)
            k1 = x.dtype.type(scale * gs / M)
            k2 = x.dtype.type(scale * gd * inv * inv / M)
        else:
            k0 = x.dtype.type(scale)
            k1 = x.dtype.type(0.0)
            k2 = x.dtype.type(0.0)
        for n in range(N):
            gp = g[c, n] if cm else g[n, c]
            xp = x[c, n] if cm else x[n, c]
            yp = y[c, n] if cm else y[n, c]
            op = gx[c, n] if cm else gx[n, c]
            for iz in range(D):
                for iy in range(H):
                    for ix in range(W):
                        gi = gp[iz, iy, ix]
                        if relu and not yp[iz, iy, ix] > 0:
                            gi = 0
                        op[iz, iy, ix] = gi * k0 - k1 - (xp[iz, iy, ix] - m) * k2


@functools.cache
def _compiled():
    from ._jit import jit

    # reassociation lets the sums run in vector lanes; no flag that drops NaN or inf
    fast = {"reassoc", "contract"}
    return {"forward": jit(_forward, fastmath=fast), "backward": jit(_backward, fastmath=fast)}


def _view(x):
    """(a, channel_major): x (N, C, *S) as the kernels' 5-D array. Contiguous planes (NCHW or
    channel-major memory) are flattened to (1, 1, L) per plane; a strided view of up to 3
    spatial axes (such as `shifted`'s outputs on its grid) is kept as an (N, C, D, H, W)
    view and read in place; anything else is copied."""
    N, C = x.shape[:2]
    L = math.prod(x.shape[2:])
    t = x.transpose(1, 0, *range(2, x.ndim))
    if x.ndim <= 5 and not (x.flags.c_contiguous or t.flags.c_contiguous):
        return _planes.planes(x, copy=False)[0], False
    a, cm = _planes.planes(x.reshape(N, C, L), rank=1)
    return a.reshape(a.shape[0], a.shape[1], 1, 1, L), cm


def batch_norm_forward(x, mean, var, weight, bias, eps, training, relu=False):
    """(y, saved, (mean, biased var)) as `norm.batch_norm_forward`. A strided input (such as
    `shifted`'s outputs on its grid) is read in place; y is then NCHW."""
    N, C = x.shape[:2]
    dt = x.dtype
    a, cm = _view(x)
    yb, y = _planes.alike((N, C, *a.shape[2:]), cm, dt)
    y = y.reshape(x.shape)
    out_mean = np.empty(C, dtype=np.float64)
    out_var = np.empty(C, dtype=np.float64)
    if not training:
        out_mean[:] = mean
        out_var[:] = var
    invstd = np.empty(C, dtype=np.float64)
    w = np.ones(C, dtype=np.float64) if weight is None else weight.astype(np.float64)
    b = np.zeros(C, dtype=dt) if bias is None else bias.astype(dt, copy=False)
    kernel = _compiled()["forward"]
    over_channels(lambda c0, c1: kernel(a, yb, w, b, out_mean, out_var, invstd, cm, c0, c1,
                                        float(eps), bool(training), bool(relu)), C, x.size)
    saved = (a, cm, yb if relu else a, out_mean, invstd, training, relu)
    return y, saved, (out_mean.astype(dt), out_var.astype(dt))


def batch_norm_backward(g, saved, weight, need_input=True, need_weight=True, need_bias=True):
    """(dx, dweight, dbias) as `norm.batch_norm_backward`; entries not needed are None."""
    a, cm, yb, mean, invstd, training, relu = saved
    shape = g.shape
    N, C = shape[:2]
    dt = g.dtype
    # dy in the layout of y's array (yb), shaped as the kernels take it
    gb_ = _planes.like(g, cm, rank=1).reshape(yb.shape)
    w = np.ones(C, dtype=np.float64) if weight is None else weight.astype(np.float64)
    gxb, gx = _planes.alike((N, C, *yb.shape[2:]), cm, dt)
    gw = np.empty(C, dtype=np.float64)
    gbias = np.empty(C, dtype=np.float64)
    kernel = _compiled()["backward"]
    over_channels(lambda c0, c1: kernel(gb_, a, yb, w, mean, invstd, gxb, gw, gbias, cm, c0,
                                        c1, bool(training), bool(relu), bool(need_input)),
                  C, g.size)
    return (gx.reshape(shape) if need_input else None,
            gw.astype(dt) if need_weight else None,
            gbias.astype(dt) if need_bias else None)
