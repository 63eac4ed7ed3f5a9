"""Depthwise convolution (groups = C_in) as compiled loops over the taps, each tap one long
vector loop.

The algorithm of `depthwise` (per channel c and filter m of its channel multiplier M,
``y[c*M + m] = sum over taps k of w[c*M + m, k] * x_padded[c, window k]``), written as
compiled loops over a *stride-phase plane* (`_phase_kernels`): per image and channel the
plane is copied into a scratch plane split into its stride phases along every axis, with
zero margins (the padding). A tap then reads its phase at one fixed flat offset from each
output's flat position on the phases' (Q0, Q1, Q2) grid, so each tap is one loop over the
whole plane (about 3,000 positions at 56x56), not one short loop per output row (a 56-wide
row is mostly the scalar remainder of a loop vectorised 64 wide); the grid's few extra
columns per row are computed and dropped. The scratch planes stay in the L1/L2 cache.

* forward: per filter, the taps in kernel order, three per pass, into one accumulator over
  the grid (the same additions, in the same order, as one tap at a time);
* input gradient: dy laid on the grid (its extra columns zero), then per phase of the input
  the taps that read it, three per pass, each reading dy at its offset (a gather: no two
  taps write one place), the phase plane copied back into dx (`_phase_kernels.merge`);
* weight gradient: per tap, dy on the grid times the tap's phase plane, summed in 64 lanes
  per plane (three taps per pass), the lanes summed in float64.

The grid's extra positions hold dy = 0, so they add nothing, except 0 * inf = NaN: with a
weight that is not finite the input gradient, and with a weight gradient that comes out not
finite (an input that is not finite, or an overflow) the weight gradient, are recomputed by
the NumPy `depthwise` (PyTorch's NaN and inf semantics).

The threads take blocks of channels; with fewer channels than threads (a layer with one
input channel, which 'auto' runs here at stride 1 as one channel's C_out filters) they take
ranges of images instead (forward, input gradient) and of filters (weight gradient): each
output is computed by one thread either way, the same bits for any number of threads.

Any stride, dilation, (asymmetric) padding, channel multiplier and 1-, 2- or 3-D layer (the
spatial shapes are padded to 3-D). Arrays are taken as contiguous (N, C) planes in either
memory layout (`_planes`); outputs are made in the layout of the array they come from.
Measured: see `choose`'s rule 2.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _planes, depthwise
from ._parallel import CHANNEL_BLOCK, get_num_threads, over_channels
from ._windows import phase_geometry

_phase_kernels = None  # the compiled phase-plane helpers, imported by `_compiled`


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None when this algorithm applies, else the rule it needs."""
    if not (groups == x_shape[1] and w_shape[1] == 1):
        return "groups == in_channels"
    if not 1 <= len(x_shape) - 2 <= 3:
        return "1 to 3 spatial dimensions"
    return None


# -- the loops ---------------------------------------------------------------------------------
def _forward(x, w, y, cmx, cmy, c0, c1, n0, n1, s, lo, Q, starts, div):
    """div: None, or each output's divisor (OD, OH, OW), applied as the sums are copied out
    (average pooling's mean: the same bits as dividing the sums after)."""
    M, T = w.shape[1], w.shape[2]
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    Q1, Q2 = Q[1], Q[2]
    n = ((OD - 1) * Q1 + OH - 1) * Q2 + OW
    buf = np.zeros((s[0], s[1], s[2], Q[0], Q1, Q2), dtype=x.dtype)
    src = buf.reshape(-1)
    acc = np.empty(n, dtype=x.dtype)
    taps = np.arange(T)
    for c in range(c0, c1):
        for n_ in range(n0, n1):
            _phase_kernels.split(x[c, n_] if cmx else x[n_, c], buf, lo)
            for m in range(M):
                _phase_kernels.weighted_sum(acc, src, starts, w[c, m], taps, True)
                f = c * M + m
                _phase_kernels.pick_out(acc, 0, Q1, Q2, y[f, n_] if cmy else y[n_, f], div)


def _backward_input(g, w, gx, cmg, cmx, c0, c1, n0, n1, s, lo, Q, reads, order, bounds, qmax,
                    div):
    """`reads`: per tap, where it reads dy in `grid` (qmax - its offset); `order`: the taps
    grouped by phase, phase p's taps order[bounds[p]:bounds[p + 1]] (kernel order); `div`:
    None, or each output's divisor (OD, OH, OW), dy divided by it as it is laid out
    (average pooling)."""
    M = w.shape[1]
    Q1, Q2 = Q[1], Q[2]
    gbuf = np.zeros((s[0], s[1], s[2], Q[0], Q1, Q2), dtype=g.dtype)  # phases no tap
    flat = gbuf.reshape(s[0] * s[1] * s[2], Q[0] * Q1 * Q2)  # reads stay zero
    grid = np.zeros(qmax + flat.shape[1], dtype=g.dtype)  # dy at qmax + its flat position
    for c in range(c0, c1):
        for n_ in range(n0, n1):
            for m in range(M):
                f = c * M + m
                _phase_kernels.lay_out(g[f, n_] if cmg else g[n_, f], grid, qmax, Q1, Q2,
                                       div)
                for ph in range(flat.shape[0]):
                    if bounds[ph] < bounds[ph + 1]:  # the first filter sets the plane
                        _phase_kernels.weighted_sum(flat[ph], grid, reads, w[c, m],
                                                    order[bounds[ph]:bounds[ph + 1]], m == 0)
            _phase_kernels.merge(gbuf, gx[c, n_] if cmx else gx[n_, c], lo)


def _backward_weight(x, g, gw, cmx, cmg, c0, c1, m0, m1, s, lo, Q, starts):
    """The filters [m0, m1) of each channel in [c0, c1) (every image, in order)."""
    N = x.shape[1] if cmx else x.shape[0]
    T = gw.shape[2]
    OD, OH, OW = g.shape[2], g.shape[3], g.shape[4]
    Q1, Q2 = Q[1], Q[2]
    n = ((OD - 1) * Q1 + OH - 1) * Q2 + OW
    B = 64  # lanes
    nb = n // B * B
    buf = np.zeros((s[0], s[1], s[2], Q[0], Q1, Q2), dtype=x.dtype)
    src = buf.reshape(-1)
    grid = np.zeros(n, dtype=g.dtype)  # dy at its flat position, the extra columns 0
    lanes = np.empty((T, B), dtype=x.dtype)
    total = np.empty((gw.shape[1], T), dtype=np.float64)
    for c in range(c0, c1):
        total[...] = 0
        for n_ in range(N):
            _phase_kernels.split(x[c, n_] if cmx else x[n_, c], buf, lo)
            for m in range(m0, m1):
                f = c * gw.shape[1] + m
                _phase_kernels.lay_out(g[f, n_] if cmg else g[n_, f], grid, 0, Q1, Q2)
                lanes[...] = 0
                t = 0
                while t < T:
                    if t + 3 <= T:
                        r0, r1, r2 = src[starts[t]:], src[starts[t + 1]:], src[starts[t + 2]:]
                        l0, l1, l2 = lanes[t], lanes[t + 1], lanes[t + 2]
                        for b in range(0, nb, B):
                            for j in range(B):
                                gv = grid[b + j]
                                l0[j] += gv * r0[b + j]
                                l1[j] += gv * r1[b + j]
                                l2[j] += gv * r2[b + j]
                        for i in range(nb, n):
                            gv = grid[i]
                            l0[i - nb] += gv * r0[i]
                            l1[i - nb] += gv * r1[i]
                            l2[i - nb] += gv * r2[i]
                        t += 3
                    else:
                        r0, l0 = src[starts[t]:], lanes[t]
                        for b in range(0, nb, B):
                            for j in range(B):
                                l0[j] += grid[b + j] * r0[b + j]
                        for i in range(nb, n):
                            l0[i - nb] += grid[i] * r0[i]
                        t += 1
                for t in range(T):
                    v = 0.0
                    for j in range(B):
                        v += lanes[t, j]
                    total[m, t] += v
        for m in range(m0, m1):
            for t in range(T):
                gw[c, m, t] = total[m, t]


@functools.cache
def _compiled():
    global _phase_kernels
    from . import _phase_kernels
    from ._jit import jit

    # the forward's division (average pooling) by IEEE rules, without Python's
    # ZeroDivisionError check, which kept the loop from vectorising
    return {"_forward": jit(_forward, error_model="numpy"),
            "_backward_input": jit(_backward_input), "_backward_weight": jit(_backward_weight)}


def _geometry(in_shape, kernel_size, stride, pads, dilation):
    """(stride, padding before, grid, per-tap starts) of the phase plane, 3-D."""
    s, lo, Q, _, _, starts = phase_geometry(in_shape[2:], kernel_size, stride, pads, dilation)
    return s, lo, Q, starts


def _gather_geometry(in_shape, kernel_size, stride, pads, dilation):
    """`_backward_input`'s: (stride, padding before, grid, per tap where it reads dy on the
    grid, the taps grouped by phase (stable: kernel order within a phase), each phase's
    bounds in that order, the grid's leading margin)."""
    s, lo, Q, phase, offset, _ = phase_geometry(in_shape[2:], kernel_size, stride, pads,
                                                dilation)
    qmax = int(offset.max())
    order = np.argsort(phase, kind="stable")
    bounds = np.searchsorted(phase[order], np.arange(math.prod(s) + 1))
    return s, lo, Q, qmax - offset, order, bounds, qmax


def _weights(w, C):
    """w (C*M, 1, *K) as a contiguous (C, M, taps) array."""
    return np.ascontiguousarray(w).reshape(C, w.shape[0] // C, -1)


def _over(fn, C, other, elements):
    """fn(c0, c1, r0, r1) over every channel c and every r < other (images, or filters per
    channel): blocks of channels on the threads, or, with fewer channels than threads
    (a grayscale first layer, 1 -> C_out, runs as one channel's C_out filters), blocks of
    `other` with all channels, taken one at a time (a core the host slows down takes fewer).
    Each output is one thread's either way: the same bits."""
    if C >= get_num_threads():
        over_channels(lambda c0, c1: fn(c0, c1, 0, other), C, elements, CHANNEL_BLOCK)
    else:  # at most OTHER_BLOCKS blocks: each call of a loop sets up its scratch planes
        over_channels(lambda r0, r1: fn(0, C, r0, r1), other, elements,
                      max(CHANNEL_BLOCK, -(-other // OTHER_BLOCKS)))


#: `_over`'s most blocks of images or filters (fewer channels than threads). Measured (1->32
#: 3x3 28x28 batch 128, `benchmarks/conv_layers.py`, 2 threads, forward, two runs each):
#: two fixed halves 1.27-1.34 ms (1.71-2.36 in runs where the host slowed one core), blocks
#: of 8 images 1.47-1.50, 8 blocks of 16 images 1.28-1.29.
OTHER_BLOCKS = 8


def _divisor(divisor, out_size, shape3, dtype):
    """None, or `divisor` (broadcastable to (1, 1, *out_size)) as a contiguous array of
    the kernels' 3-D output shape."""
    if divisor is None:
        return None
    full = np.broadcast_to(divisor, (1, 1, *out_size)).reshape(shape3)
    return np.ascontiguousarray(full, dtype=dtype)


def forward(x, w, stride, pads, dilation, groups, out_size, divisor=None):
    """y (N, C*M, *O) in x's memory layout; nothing saved. `divisor` (broadcastable to
    (1, 1, *O)): each output divided by it as it is written (average pooling)."""
    N, C = x.shape[:2]
    a, cm = _planes.planes(x)
    wk = _weights(w, C).astype(x.dtype, copy=False)
    yb, y = _planes.alike((N, w.shape[0], *out_size), cm, x.dtype)
    geo = _geometry(x.shape, w.shape[2:], stride, pads, dilation)
    div = _divisor(divisor, out_size, yb.shape[2:], x.dtype)
    kernel = _compiled()["_forward"]
    _over(lambda c0, c1, n0, n1: kernel(a, wk, yb, cm, cm, c0, c1, n0, n1, *geo, div), C, N,
          max(a.size, y.size))
    return y, None


def backward_input(gy, w, in_shape, stride, pads, dilation, groups, divisor=None):
    """dL/dx (N, C, *S), in dy's memory layout. `divisor` (broadcastable to (1, 1, *O)):
    dy divided by it first, as the loop reads it (average pooling)."""
    C = in_shape[1]
    if not np.isfinite(w).all():  # the grid's extra positions would add 0 * inf
        return depthwise.backward_input(gy if divisor is None else gy / divisor, w,
                                        in_shape, stride, pads, dilation, groups)
    gb, cm = _planes.planes(gy)
    wk = _weights(w, C).astype(gy.dtype, copy=False)
    gxb, gx = _planes.alike(in_shape, cm, gy.dtype)
    geo = _gather_geometry(in_shape, w.shape[2:], stride, pads, dilation)
    div = _divisor(divisor, gy.shape[2:], gb.shape[2:], gy.dtype)
    kernel = _compiled()["_backward_input"]
    _over(lambda c0, c1, n0, n1: kernel(gb, wk, gxb, cm, cm, c0, c1, n0, n1, *geo, div), C,
          in_shape[0], max(gb.size, gxb.size))
    return gx


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C*M, 1, *K): per tap, the sum over the batch and the positions of
    dy * window."""
    C = x.shape[1]
    a, cmx = _planes.planes(x)
    gb, cmg = _planes.planes(gy)
    gw = np.empty((C, w_shape[0] // C, int(np.prod(w_shape[2:]))), dtype=gy.dtype)
    geo = _geometry(x.shape, w_shape[2:], stride, pads, dilation)
    kernel = _compiled()["_backward_weight"]
    _over(lambda c0, c1, m0, m1: kernel(a, gb, gw, cmx, cmg, c0, c1, m0, m1, *geo), C,
          gw.shape[1], max(a.size, gb.size))
    if not np.isfinite(gw).all():  # the grid's extra positions may have added 0 * inf
        return depthwise.backward_weight(x, saved, gy, w_shape, stride, pads, dilation,
                                         groups)
    return gw.reshape(w_shape)
