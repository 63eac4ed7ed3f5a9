"""Max and average pooling, forward and backward, as compiled loops (one pass each).

The NumPy kernels of `pool` loop over the kernel offsets, one whole-array operation per
offset and several per max-pooling offset (compare, select, maximum): a 2x2 pooling reads
and writes the output about ten times. Here each output is computed once, its window's taps
read in kernel order, and the input gradient is written in one pass over the gradient:

* max pooling keeps, per output, the offset of the chosen tap inside its window (uint8 for
  windows of up to 255 taps, else uint16 / uint32), PyTorch's choice as in `pool`: the
  window starts at its first tap inside the input with -inf, and a tap wins when
  ``v > best or isnan(v)`` (the first maximum, or the last NaN); without a gradient
  (`max_pool_values`) no taps are kept, as PyTorch's max_pool2d does without a gradient
  (the loops' `arg` None, a case Numba compiles apart; 2x2 windows at stride 2 as two
  separable passes);
* average pooling is `depthwise_jit`'s convolution with weights 1 (its stride-phase planes,
  each tap one vector loop over the whole plane), divided by PyTorch's divisor (the window
  clipped to the padded input, or to the input with count_include_pad=False); its input
  gradient is the depthwise input gradient of dy / divisor.

Max pooling never materialises the padding (taps outside the input are skipped, or read as
-inf margins of a scratch plane). Arrays are taken as
contiguous (N, C) planes in either layout (`_planes`), spatial shapes padded to 3-D, so one
compiled loop serves 1-, 2- and 3-D pooling; the channels are split over the threads of
`_parallel` (the kernels release the GIL). Pooling of more than three spatial dimensions
runs the NumPy kernels. The NumPy kernels stay the reference these are tested against.

Both kinds run compiled at every stride: measured faster than `pool`'s NumPy loops on
every window tried (below; float32, 2 threads, AMD EPYC AVX-512, ms).

Other max-pooling windows (ResNet's 3x3 stride 2 padding 1, any size, stride, padding,
dilation) run `_max_forward_flat`: each plane copied into a scratch plane split into its
stride phases along every axis with -inf margins, then each tap one vector loop of loads
and selects over the whole plane. 3x3 stride 2 padding 1 of 8x64x112x112, forward (min of
10 calls in one process): the general scalar loop 15.4, the flat phase loops 2.8 (with the
saved taps; NumPy 31; PyTorch's NCHW layer 25, channels_last 1.6:
`benchmarks/conv_layers.py`); 3x3 stride 1 padding 1 of 8x64x56x56 without a gradient:
NumPy 2.6, compiled 1.9 (with the saved taps: NumPy 6.8, compiled 1.8-2.5).

Average pooling runs the depthwise loops (forward / backward, median of 20 calls, each
kernel in its own process, 2 processes; NumPy -> the former scalar loop per window -> the
depthwise loops): 3x3 stride 1 padding 1 of 8x64x56x56 3.5-5.1/4.2-7.4 -> 12/11 ->
1.2-1.9/1.6-2.5; 3x3 stride 2 padding 1 of 8x64x112x112 15-22/17-24 -> 10/11.5 ->
3.2-3.8/3.6-4.3; 2x2 stride 2 of 8x64x56x56 0.55/1.0-1.3 -> 1.8/2.0 -> 0.66-0.94/0.53-0.87.

2x2 windows at stride 2 (the default model's pooling) run a loop with the four taps
unrolled (about 4x faster than the general loop, whose tap count is known only at run time),
reading a strided input (`shifted`'s outputs) in place; their backward pass writes every
input position once. Measured (128x32x28x28 -> 14x14, float32, 2 threads, min of 10
alternating calls in one process on a shared, noisy 2-core AMD EPYC; NumPy -> compiled, ms):
NCHW input forward 13.4 -> 2.0, backward 8.7 -> 2.4; channel-major input forward
4.0 -> 1.3, backward 5.0 -> 1.2.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _planes, depthwise_jit, pool
from ._parallel import CHANNEL_BLOCK, over_channels
from ._windows import phase_geometry, three

def supports(ndim: int) -> bool:
    """Whether the compiled loops take pooling over `ndim` spatial dimensions."""
    return 1 <= ndim <= 3


def _offset_dtype(taps):
    return np.uint8 if taps <= 255 else np.uint16 if taps <= 65535 else np.uint32


# -- the loops ---------------------------------------------------------------------------------
def _max_forward(x, y, arg, cm, c0, c1, K, s, p, d, offs):
    N = x.shape[1] if cm else x.shape[0]
    D, H, W = x.shape[2], x.shape[3], x.shape[4]
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    T = offs.shape[0]
    for c in range(c0, c1):
        for n in range(N):
            xp = x[c, n] if cm else x[n, c]
            xf = xp.ravel()
            yp = y[c, n] if cm else y[n, c]
            for od in range(OD):
                z0 = od * s[0] - p[0]
                for oh in range(OH):
                    r0 = oh * s[1] - p[1]
                    inside = (z0 >= 0 and z0 + (K[0] - 1) * d[0] < D
                              and r0 >= 0 and r0 + (K[1] - 1) * d[1] < H)
                    for ow in range(OW):
                        q0 = ow * s[2] - p[2]
                        if inside and q0 >= 0 and q0 + (K[2] - 1) * d[2] < W:
                            # the whole window inside the input: its taps at flat offsets
                            base = (z0 * H + r0) * W + q0
                            best = xf[base]
                            kb = 0
                            for t in range(1, T):
                                v = xf[base + offs[t]]
                                if v > best or v != v:
                                    best = v
                                    kb = t
                            yp[od, oh, ow] = best
                            if arg is not None:
                                (arg[c, n] if cm else arg[n, c])[od, oh, ow] = kb
                            continue
                        best = -np.inf
                        kb = -1
                        for kd in range(K[0]):
                            iz = z0 + kd * d[0]
                            if iz < 0 or iz >= D:
                                continue
                            for kh in range(K[1]):
                                iy = r0 + kh * d[1]
                                if iy < 0 or iy >= H:
                                    continue
                                for kw in range(K[2]):
                                    ix = q0 + kw * d[2]
                                    if ix < 0 or ix >= W:
                                        continue
                                    v = xp[iz, iy, ix]
                                    k = (kd * K[1] + kh) * K[2] + kw
                                    if kb < 0:
                                        kb = k
                                    if v > best or v != v:
                                        best = v
                                        kb = k
                        yp[od, oh, ow] = best
                        if arg is not None:
                            (arg[c, n] if cm else arg[n, c])[od, oh, ow] = kb


def _max_forward_flat(x, y, arg, cm, c0, c1, K, s, lo, Q, starts, first):
    """`_max_forward` as long vector loops: each plane is copied into a scratch plane split
    into its stride phases along every axis (`_phase_kernels`), whose margins hold -inf
    (never chosen: a tap wins when ``v > best or isnan(v)``). Tap t then reads the flat
    phase buffer from `starts[t]` on, one position per output on the (Q0, Q1, Q2) grid, so
    every tap is one loop of loads and selects over the whole plane (the grid's few extra
    columns computed and dropped). `first`: per axis, each output's first tap inside the
    input (the tap PyTorch keeps when every tap inside is -inf); `lo`: the input's place in
    the padded plane (the padding). arg None: the maxima alone (`max_pool_values`)."""
    N = x.shape[1] if cm else x.shape[0]
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    fz, fy, fx = first
    Q1, Q2 = Q[1], Q[2]
    n = ((OD - 1) * Q1 + OH - 1) * Q2 + OW  # flat grid positions up to the last output
    buf = np.full((s[0], s[1], s[2], Q[0], Q1, Q2), -np.inf, dtype=x.dtype)
    src = buf.reshape(-1)
    best = np.empty(n, dtype=x.dtype)
    kb = np.empty(n, dtype=np.int32)
    kb0 = np.zeros(n, dtype=np.int32)  # each output's first tap inside the input
    for od in range(OD):
        for oh in range(OH):
            for ow in range(OW):
                kb0[(od * Q1 + oh) * Q2 + ow] = (fz[od] * K[1] + fy[oh]) * K[2] + fx[ow]
    for c in range(c0, c1):
        for n_ in range(N):
            yp = y[c, n_] if cm else y[n_, c]
            _phase_kernels.split(x[c, n_] if cm else x[n_, c], buf, lo)
            for i in range(n):
                best[i] = -np.inf
            if arg is None:  # the maxima alone
                _phase_kernels.max_taps(src, starts, best, None, n)
            else:
                for i in range(n):
                    kb[i] = kb0[i]
                _phase_kernels.max_taps(src, starts, best, kb, n)
            _phase_kernels.pick_out(best, 0, Q1, Q2, yp)
            if arg is not None:
                _phase_kernels.pick_out(kb, 0, Q1, Q2, arg[c, n_] if cm else arg[n_, c])


def _max_forward_2x2(x, y, arg, cm, c0, c1):
    """`_max_forward` for 2x2 windows at stride 2 inside a 2-D input (no padding, no
    dilation). Per plane, the windows' four taps are first de-interleaved into four
    contiguous rows (tap k of window i at taps[k, i]), then one loop of selects over the
    windows picks each maximum. One loop reading the taps in place (stride 2) ran scalar on
    an AVX2 machine: 12.2 -> 2.9 ms on one thread (the kernel alone) for 128 x 32 x 28 x 28.

    arg None (the maxima alone, `max_pool_values`): max is separable, so each pair of input
    rows is first reduced to one row of column maxima, then each pair of columns of those
    to the output, both long vector loops with the same select (a NaN wins). The same
    values as with the taps kept; where a window's largest value is a zero of both signs,
    or several NaNs, the one returned may be another of them. Measured (128x32x28x28, 2
    threads, each variant in its own processes, 3 alternating pairs, medians of 40 calls,
    AMD EPYC AVX2, ms): 1.13-1.24 with the four-row selects -> 0.68-0.69."""
    N = x.shape[1] if cm else x.shape[0]
    OD, OH, OW = y.shape[2], y.shape[3], y.shape[4]
    n = OH * OW
    taps = np.empty((4, n), dtype=x.dtype)
    t0, t1, t2, t3 = taps[0], taps[1], taps[2], taps[3]
    rows = taps.reshape(-1)  # arg None: each output row's column maxima, 2n values
    for c in range(c0, c1):
        for n_ in range(N):
            xp = x[c, n_] if cm else x[n_, c]
            yp = y[c, n_] if cm else y[n_, c]
            for od in range(OD):
                yf = yp[od].reshape(n)
                for oh in range(OH):
                    r0, r1 = xp[od, 2 * oh], xp[od, 2 * oh + 1]
                    if arg is None:
                        v = rows[oh * 2 * OW:]
                        for j in range(2 * OW):
                            a, b = r0[j], r1[j]
                            v[j] = b if (b > a) | (b != b) else a
                        continue
                    d0, d1 = t0[oh * OW:], t1[oh * OW:]
                    d2, d3 = t2[oh * OW:], t3[oh * OW:]
                    for ow in range(OW):
                        d0[ow] = r0[2 * ow]
                        d1[ow] = r0[2 * ow + 1]
                        d2[ow] = r1[2 * ow]
                        d3[ow] = r1[2 * ow + 1]
                if arg is None:
                    for i in range(n):
                        a, b = rows[2 * i], rows[2 * i + 1]
                        yf[i] = b if (b > a) | (b != b) else a
                else:
                    ap = arg[c, n_] if cm else arg[n_, c]
                    _phase_kernels.window_max(t0, t1, t2, t3, x.dtype.type(0), False, yf,
                                              ap[od].reshape(n), n)


def _max_backward(g, arg, gx, cm, c0, c1, s, p, offs):
    N = g.shape[1] if cm else g.shape[0]
    H, W = gx.shape[3], gx.shape[4]
    OD, OH, OW = g.shape[2], g.shape[3], g.shape[4]
    for c in range(c0, c1):
        for n in range(N):
            gp = g[c, n] if cm else g[n, c]
            ap = arg[c, n] if cm else arg[n, c]
            xp = gx[c, n] if cm else gx[n, c]
            xp[...] = 0
            xf = xp.ravel()
            for od in range(OD):
                z0 = od * s[0] - p[0]
                for oh in range(OH):
                    r0 = oh * s[1] - p[1]
                    for ow in range(OW):
                        # the chosen tap is inside the input, so its flat index is the
                        # window's (possibly outside) corner plus the tap's flat offset
                        base = (z0 * H + r0) * W + ow * s[2] - p[2]
                        xf[base + offs[np.int64(ap[od, oh, ow])]] += gp[od, oh, ow]


def _max_backward_2x2(g, arg, gx, cm, c0, c1):
    """`_max_backward` for `_max_forward_2x2`'s windows, which tile the input: every input
    position is written once (the gradient or 0), no zeroing pass first. g and gx are the
    gradients' bits as integers of their width (`max_pool_backward`), so that tap k of a
    window gets g & -(arg == k): integer masks, where Numba's float selects (g if arg == k
    else 0) ran scalar on an AVX2 machine (one thread, 128 x 32 x 28 x 28: 6.2 -> 1.9 ms)."""
    N = g.shape[1] if cm else g.shape[0]
    H, W = gx.shape[3], gx.shape[4]
    OD, OH, OW = g.shape[2], g.shape[3], g.shape[4]
    zero = gx.dtype.type(0)
    for c in range(c0, c1):
        for n in range(N):
            gp = g[c, n] if cm else g[n, c]
            ap = arg[c, n] if cm else arg[n, c]
            xp = gx[c, n] if cm else gx[n, c]
            for od in range(OD):
                for oh in range(OH):
                    r0, r1 = xp[od, 2 * oh], xp[od, 2 * oh + 1]
                    gr, ar = gp[od, oh], ap[od, oh]
                    for ow in range(OW):
                        v = gr[ow]
                        k = gx.dtype.type(ar[ow])
                        r0[2 * ow] = v & -gx.dtype.type(k == 0)
                        r0[2 * ow + 1] = v & -gx.dtype.type(k == 1)
                        r1[2 * ow] = v & -gx.dtype.type(k == 2)
                        r1[2 * ow + 1] = v & -gx.dtype.type(k == 3)
                    if 2 * OW < W:  # the column no window covers
                        r0[W - 1] = zero
                        r1[W - 1] = zero
                if 2 * OH < H:  # the row no window covers
                    xp[od, H - 1, :] = zero


_phase_kernels = None  # the compiled phase-plane helpers, imported by `_compiled`


@functools.cache
def _compiled():
    global _phase_kernels
    from . import _phase_kernels
    from ._jit import jit

    return {f.__name__: jit(f) for f in (_max_forward, _max_forward_flat, _max_forward_2x2,
                                         _max_backward, _max_backward_2x2)}


# -- the pooling functions (the interface of `pool`'s) -----------------------------------------
def _flat_offsets(shape, kernel_size, dilation):
    """The flat offset of each tap (kernel order) from its window's corner in a plane of
    the given 3-D shape."""
    (_, H, W), (KD, KH, KW), (dd, dh, dw) = shape, kernel_size, dilation
    kd, kh, kw = np.meshgrid(np.arange(KD), np.arange(KH), np.arange(KW), indexing="ij")
    return (((kd * dd) * H + kh * dh) * W + kw * dw).ravel().astype(np.int64)


def _max_kernel(x, K, s, p, d, out_size):
    """(compiled loop, its extra arguments, x's planes, their layout, the dtype of the
    chosen taps) for a max pooling of x; K, s, p, d as 3-tuples."""
    S, O = three(x.shape[2:], 1), three(out_size, 1)
    if _tiles_2x2(K, s, p, d, S, out_size):
        a, cm = _planes.planes(x, copy=False)  # reads a strided input in place
        return _compiled()["_max_forward_2x2"], (), a, cm, np.uint8
    a, cm = _planes.planes(x)
    taps = _offset_dtype(math.prod(K))
    first = _first_inside(S, K, s, p, d, O)
    if first is None:  # a window with no tap inside the input along some axis
        offs = _flat_offsets(a.shape[2:], K, d)
        return _compiled()["_max_forward"], (K, s, p, d, offs), a, cm, taps
    _, lo, Q, _, _, starts = phase_geometry(S, K, s, _window_pads(S, K, s, p, d, O), d)
    return _compiled()["_max_forward_flat"], (K, s, lo, Q, starts, first), a, cm, taps


def _max_pool(x, kernel_size, stride, padding, dilation, out_size, keep_taps):
    N, C = x.shape[:2]
    geo = (three(kernel_size, 1), three(stride, 1), three(padding, 0), three(dilation, 1))
    kernel, args, a, cm, taps = _max_kernel(x, *geo, out_size)
    yb, y = _planes.alike((N, C, *out_size), cm, x.dtype)
    argb = _planes.alike((N, C, *out_size), cm, taps)[0] if keep_taps else None
    over_channels(lambda c0, c1: kernel(a, yb, argb, cm, c0, c1, *args), C, a.size,
                  CHANNEL_BLOCK)
    return y, (argb, cm, x.shape, *geo)


def max_pool_forward(x, kernel_size, stride, padding, dilation, out_size):
    """(y, saved) as `pool.max_pool_forward`; y in x's memory layout."""
    return _max_pool(x, kernel_size, stride, padding, dilation, out_size, True)


def max_pool_values(x, kernel_size, stride, padding, dilation, out_size):
    """y of `max_pool_forward` alone (no gradient wanted): the same loops with `arg` None,
    no chosen taps kept, as PyTorch's max_pool2d does without a gradient (2x2 windows at
    stride 2 as two separable passes: `_max_forward_2x2`). Measured (128x32x28x28 2x2, 2
    threads, each variant in its own processes, 3 alternating pairs, medians of 40 calls,
    AMD EPYC AVX2, ms): with the taps kept 2.05-3.30, the separable passes 0.68-0.69."""
    return _max_pool(x, kernel_size, stride, padding, dilation, out_size, False)[0]


def _window_pads(S, K, s, p, d, O):
    """(before, after) padding per axis that holds every window: `p` before, and after it
    whatever the last window reaches past the input (beyond `p` with ceil_mode)."""
    return tuple((pi, max(0, (o - 1) * st + (k - 1) * di + 1 - si - pi))
                 for si, k, st, pi, di, o in zip(S, K, s, p, d, O))


def _first_inside(S, K, s, p, d, O):
    """Per axis, each output's first tap inside the input (int64 arrays), or None when some
    window has no tap inside the input."""
    first = []
    for si, k, st, pi, di, o in zip(S, K, s, p, d, O):
        pos = np.arange(o)[:, None] * st - pi + np.arange(k)[None, :] * di
        inside = (pos >= 0) & (pos < si)
        if not inside.any(axis=1).all():
            return None
        first.append(inside.argmax(axis=1).astype(np.int64))
    return tuple(first)


def _tiles_2x2(K, s, p, d, S, out_size):
    """2x2 windows at stride 2, no padding or dilation, none running past the input."""
    O = three(out_size, 1)
    return (K[1:] == s[1:] == (2, 2) and K[0] == s[0] == 1 and not any(p) and d == (1, 1, 1)
            and 2 * O[1] <= S[1] and 2 * O[2] <= S[2])


def pool_saved_2x2(arg, in_shape):
    """`max_pool_forward`'s saved state of a 2x2 stride-2 pooling of a 2-D (N, C, H, W)
    input of shape `in_shape` whose taps are `arg` (N, C, H // 2, W // 2) uint8, NCHW or
    channel-major memory (`winograd_jit.forward_max_pool`), for `max_pool_backward` (which
    then writes dL/dx in the same layout)."""
    a, cm = _planes.planes(arg)
    return (a, cm, tuple(in_shape), (1, 2, 2), (1, 2, 2), (0, 0, 0), (1, 1, 1))


def max_pool_backward(g, saved):
    """dL/dx: each output's gradient added to the tap `max_pool_forward` chose."""
    argb, cm, in_shape, K, s, p, d = saved
    gb = _planes.like(g, cm)
    gxb, gx = _planes.alike(in_shape, cm, g.dtype)
    S = gxb.shape[2:]
    if _tiles_2x2(K, s, p, d, S, g.shape[2:]):
        kernel = _compiled()["_max_backward_2x2"]
        bits = np.dtype(f"i{g.dtype.itemsize}")  # the selects as integer masks
        gi, gxi = gb.view(bits), gxb.view(bits)
        over_channels(lambda c0, c1: kernel(gi, argb, gxi, cm, c0, c1), in_shape[1], gxb.size,
                      CHANNEL_BLOCK)
        return gx
    offs = _flat_offsets(S, K, d)
    kernel = _compiled()["_max_backward"]
    over_channels(lambda c0, c1: kernel(gb, argb, gxb, cm, c0, c1, s, p, offs), in_shape[1],
                  gxb.size, CHANNEL_BLOCK)
    return gx


def avg_pool_forward(x, kernel_size, stride, padding, out_size, count_include_pad):
    """(y, saved) as `pool.avg_pool_forward` (PyTorch's divisor rule): the windows' sums are
    `depthwise_jit`'s convolution with weights 1 (zero padding, `_window_pads`), each
    divided by its divisor as it is written out. The sums add the taps in kernel order in
    the input's dtype, as `pool` does: the same bits. Measured (8x64x56x56 3x3 stride 1
    padding 1, 2 threads, AMD EPYC AVX2, one process, medians of 30 calls): the division as
    a pass of its own after the sums 0.36 of 1.58 ms."""
    C, S = x.shape[1], x.shape[2:]
    pads = _window_pads(S, kernel_size, stride, padding, (1,) * len(S), out_size)
    ones = np.ones((C, 1, *kernel_size), dtype=x.dtype)
    divisor = pool.avg_divisor(S, kernel_size, stride, padding, out_size, count_include_pad,
                               x.dtype)
    y, _ = depthwise_jit.forward(x, ones, stride, pads, (1,) * len(S), C, out_size,
                                 divisor=divisor)
    return y, (x.shape, tuple(kernel_size), tuple(stride), pads, divisor)


def avg_pool_backward(g, saved):
    """dL/dx: each output's gradient / divisor spread over its window's taps in the input
    (`depthwise_jit`'s input gradient with weights 1, dividing dy as it lays it out), in
    g's memory layout."""
    in_shape, kernel_size, stride, pads, divisor = saved
    C = in_shape[1]
    ones = np.ones((C, 1, *kernel_size), dtype=g.dtype)
    return depthwise_jit.backward_input(g, ones, in_shape, stride, pads,
                                        (1,) * len(kernel_size), C, divisor=divisor)
