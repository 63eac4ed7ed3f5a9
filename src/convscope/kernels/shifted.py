"""Stride-1 convolution on shifted views of the flattened, padded input (any rank).

Pad the input channel-major, (C, N, *Sp), and flatten each channel into one line of
N * prod(Sp) values. A kernel offset k then moves every output position by the same number
of values along that line, off(k) = sum_i k_i d_i prod(Sp[i+1:]), so the columns of im2col
are windows of one line, ``cols[c, *k, l] = line_c[l + off(k)]``: a strided *view* with no
copy (numpy's as_strided, the offsets along each kernel axis being a constant step). The
product W @ cols is computed for every position l of the padded grid; the positions that
are not outputs (the last d(K-1) of each padded row, plane and image) are computed and
dropped, so the work grows by prod(Sp) / prod(O) (1.31x at 14x14 with padding 1, 1.07x at
56x56, 1.65x at 7x7) while every copy into the matrix product's operand becomes a copy of
contiguous runs of thousands of values, and no col2im fold is ever needed:

* forward: the view is copied chunk by chunk (a few MB, in cache) into one reused buffer and
  multiplied there, W (C_out/G, C_in/G prod K) @ chunk, straight into the output;
* input gradient: a stride-1 convolution of dL/dy with the flipped, transposed weight (the
  adjoint, `_adjoint`), through the same forward;
* weight gradient: dL/dy placed on the padded grid (zeros on the dropped positions) times
  the same chunks, transposed: one long reduction per chunk, summed.

This is im2col's arithmetic with an implicit unfold (Cho & Brand 2017, "MEC", lower along
one axis and take overlapping views; here the lowering is along all axes at once in the flat
line). A stride > 1 first splits the input into its stride phases (`phase`); `choose`
says where it beats im2col.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _adjoint, phase
from ._parallel import over_channels
from .im2col import pad_channel_major

#: Bytes of one chunk of columns (C_in/G prod(K) rows); a few MB, in the L2/L3 caches.
CHUNK_BYTES = 4 << 20
#: Input channels per group from which the input gradient is the adjoint convolution.
ADJOINT_FROM = 64
#: Fewest positions per chunk (long enough for the matrix product to run at full speed).
MIN_CHUNK = 512


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None: every convolution (a stride > 1 runs as stride-phase convolutions, `phase`)."""
    return None


def _padded_line(x, pads, K, dilation, out_size):
    """x (N, C, *S) as (C, N * prod(Sp)) on the padded grid that gives out_size outputs.

    The after-padding is what out_size needs (a transposed convolution's output_padding
    asks for more than `pads`; a negative pad crops).
    """
    S = x.shape[2:]
    before = [b for b, _ in pads]
    after = [o + d * (k - 1) - s - b for o, k, d, s, b in zip(out_size, K, dilation, S, before)]
    crop = tuple(slice(max(-b, 0), s + min(a, 0)) for s, b, a in zip(S, before, after))
    x = x[(slice(None), slice(None)) + crop]
    xp = pad_channel_major(x, [(max(b, 0), max(a, 0)) for b, a in zip(before, after)])
    return xp.reshape(xp.shape[0], -1), xp.shape[2:]


def _columns(line, K, dilation, Sp, N):
    """The view cols[c, *k, l] = line[c, l + off(k)] and the number of positions l."""
    step = [math.prod(Sp[i + 1:]) for i in range(len(Sp))]
    span = sum((k - 1) * d * s for k, d, s in zip(K, dilation, step))
    positions = N * math.prod(Sp) - span
    item = line.itemsize
    view = as_strided(line, shape=(line.shape[0], *K, positions),
                      strides=(line.strides[0], *(d * s * item for d, s in zip(dilation, step)),
                               item), writeable=False)
    return view, positions


def _chunk(rows, itemsize):
    """Positions per chunk for columns of `rows` rows."""
    return max(MIN_CHUNK, CHUNK_BYTES // max(1, rows * itemsize))


def _cropped(y, N, Sp, out_size):
    """(C, N * prod(Sp)) values on the padded grid -> the outputs (N, C, *O), a view."""
    y = y.reshape(y.shape[0], N, *Sp)[(slice(None), slice(None))
                                      + tuple(slice(0, o) for o in out_size)]
    return y.transpose(1, 0, *range(2, y.ndim))


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O), a view into a channel-major array on the padded grid; the padded
    line is kept for the weight gradient."""
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w.shape
    G = groups
    if N == 0:
        return np.zeros((0, C_out, *out_size), dtype=x.dtype), None
    if any(s > 1 for s in stride):
        return phase.forward(x, w, stride, pads, dilation, groups, out_size)
    line, Sp = _padded_line(x, pads, K, dilation, out_size)
    cols, positions = _columns(line, K, dilation, Sp, N)
    CK = C_in_g * math.prod(K)
    rows = C * math.prod(K)
    wg = w.reshape(G, C_out // G, CK)
    y = np.empty((C_out, N * math.prod(Sp)), dtype=x.dtype)
    T = min(positions, _chunk(rows, x.itemsize))
    if G > 1:
        _grouped(lambda wv, b, yv: np.matmul(wv, b, out=yv), wg, cols, y, positions, T)
        return _cropped(y, N, Sp, out_size), (line, Sp)
    buf = np.empty(rows * T, dtype=x.dtype)
    for l0 in range(0, positions, T):
        t = min(T, positions - l0)
        b = buf[:rows * t]
        b.reshape(C, *K, t)[...] = cols[..., l0:l0 + t]
        np.matmul(wg[0], b.reshape(CK, t), out=y[:, l0:l0 + t])
    return _cropped(y, N, Sp, out_size), (line, Sp)


def _grouped(product, w3, cols, y, positions, T):
    """Per-group products over chunks of positions, the groups split over the threads.

    For each chunk and each thread's groups [g0, g1): their columns are copied into the
    thread's own buffer b (g1 - g0, C_in/G prod(K), t), then product(w3[g0:g1], b,
    y-part) is called with the (g1 - g0, rows, t) part of y (C_out or weight rows,
    positions) for that chunk. Many small groups (depthwise: one channel each) make small
    products; threads over groups keep both cores busy where BLAS alone would not.
    """
    G, Cg = w3.shape[:2]
    C_in_g = cols.shape[0] // G
    per_group = math.prod(cols.shape[:-1]) // G

    def run(g0, g1):
        buf = np.empty((g1 - g0) * per_group * T, dtype=cols.dtype)
        for l0 in range(0, positions, T):
            t = min(T, positions - l0)
            b = buf[:(g1 - g0) * per_group * t]
            b.reshape((g1 - g0) * C_in_g, *cols.shape[1:-1], t)[...] = \
                cols[g0 * C_in_g:g1 * C_in_g, ..., l0:l0 + t]
            product(w3[g0:g1], b.reshape(g1 - g0, per_group, t),
                    y[g0 * Cg:g1 * Cg, l0:l0 + t].reshape(g1 - g0, Cg, t))

    over_channels(run, G, y.shape[0] * positions)


def _on_grid(gy, Sp):
    """dL/dy (N, C_out, *O) placed on the padded grid, (C_out, N, *Sp), zeros elsewhere."""
    N, C_out, *O = gy.shape
    gyp = np.zeros((C_out, N, *Sp), dtype=gy.dtype)
    gyp[(slice(None), slice(None)) + tuple(slice(0, o) for o in O)] = \
        gy.transpose(1, 0, *range(2, gy.ndim))
    return gyp


def _offsets(K, dilation, Sp):
    """off(k) along the flat line for every kernel offset k, in kernel (C) order."""
    step = [math.prod(Sp[i + 1:]) for i in range(len(Sp))]
    grid = np.zeros((), dtype=np.int64)
    for k, d, s in zip(K, dilation, step):
        grid = grid[..., None] + np.arange(k) * d * s
    return [int(v) for v in grid.ravel()]


def _input_grad_folded(gy, w, in_shape, pads, dilation, groups):
    """dL/dx: W^T @ dL/dy on the padded grid, chunk by chunk, each chunk's rows added back
    onto the flat line at their offsets (contiguous runs: a col2im with no strided
    windows), then the input's part of the grid taken out."""
    N, C, *S = in_shape
    C_out, C_in_g, *K = w.shape
    G = groups
    out_size = gy.shape[2:]
    if N == 0:
        return np.zeros(in_shape, dtype=gy.dtype)
    Sp = tuple(o + d * (k - 1) for o, k, d in zip(out_size, K, dilation))
    gline = _on_grid(gy, Sp).reshape(G, C_out // G, -1)
    offs = _offsets(K, dilation, Sp)
    positions = N * math.prod(Sp) - offs[-1]
    gxp = np.zeros((C, N * math.prod(Sp)), dtype=gy.dtype)
    CK = C_in_g * math.prod(K)
    rows = C * math.prod(K)
    wt = np.ascontiguousarray(w.reshape(G, C_out // G, CK).transpose(0, 2, 1))
    T = min(positions, _chunk(rows, gy.itemsize))
    buf = np.empty(rows * T, dtype=gy.dtype)
    for l0 in range(0, positions, T):
        t = min(T, positions - l0)
        gc = buf[:rows * t].reshape(G, CK, t)
        np.matmul(wt, gline[:, :, l0:l0 + t], out=gc)
        gc = gc.reshape(C, len(offs), t)

        def add(c0, c1, gc=gc, l0=l0, t=t):
            for j, off in enumerate(offs):
                gxp[c0:c1, l0 + off:l0 + off + t] += gc[c0:c1, j]

        over_channels(add, C, rows * t)
    # the input sits at [b, b + S) on the grid (a negative b: its first -b rows were
    # cropped and get no gradient)
    gx = np.zeros((C, N, *S), dtype=gy.dtype)
    src, dst = [slice(None), slice(None)], [slice(None), slice(None)]
    for s, (b, _), sp in zip(S, pads, Sp):
        lo, hi = max(b, 0), min(b + s, sp)
        src.append(slice(lo, max(hi, lo)))
        dst.append(slice(lo - b, lo - b + max(hi - lo, 0)))
    gx[tuple(dst)] = gxp.reshape(C, N, *Sp)[tuple(src)]
    return gx.transpose(1, 0, *range(2, gx.ndim))


def backward_input(gy, w, in_shape, stride, pads, dilation, groups):
    """dL/dx, one of two ways by the number of input channels per group (the rows of the
    matrix product that makes it):

    * with groups, or from 64 input channels on, the adjoint convolution of dL/dy through
      `forward` (`_adjoint`: the flipped, transposed weight; a negative adjoint padding
      crops dL/dy);
    * one group and fewer channels: `_input_grad_folded`; the adjoint's product would
      have C_in rows, too few for BLAS (140-180 GFLOP/s at 32 rows against 300-400 at 64
      and more), while W^T @ dL/dy has C_in prod(K) rows.

    Measured (2 threads, min of 20 calls): 64->64 56x56 batch 8, 10.5 ms with im2col,
    9.6 folded, 6.2 adjoint; 32->64 14x14 batch 128: 7.8, 5.9, 6.2; conv3d 16->32
    16x64x64 batch 2: 39.4, 24.6, 28.9.
    """
    if in_shape[0] == 0:
        return np.zeros(in_shape, dtype=gy.dtype)
    if any(s > 1 for s in stride):
        return phase.backward_input(gy, w, in_shape, stride, pads, dilation, groups)
    if groups == 1 and w.shape[1] < ADJOINT_FROM:
        return _input_grad_folded(gy, w, in_shape, pads, dilation, groups)
    K = w.shape[2:]
    pads2 = tuple((d * (k - 1) - b, d * (k - 1) - a) for k, (b, a), d in zip(K, pads, dilation))
    gx, _ = forward(gy, _adjoint.flipped_weight(w, groups), (1,) * len(K), pads2, dilation,
                    groups, tuple(in_shape[2:]))
    return gx


def backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW (C_out, C_in/G, *K): dW^T = sum over chunks of cols_chunk @ dY_chunk, with
    dL/dy placed channels-last on the padded grid (zeros on the dropped positions), so
    that each chunk of it is a contiguous (positions, C_out/G) block."""
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w_shape
    G = groups
    Cg = C_out // G
    out_size = gy.shape[2:]
    n = len(out_size)
    if N == 0:
        return np.zeros(w_shape, dtype=gy.dtype)
    if any(s > 1 for s in stride):
        return phase.backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups)
    line, Sp = saved if saved is not None else _padded_line(x, pads, K, dilation, out_size)
    cols, positions = _columns(line, K, dilation, Sp, N)
    CK = C_in_g * math.prod(K)
    if G > 1:  # dW_g (C_out/G, CK) += dY_g @ cols_g^T, channel-major dY, threads over groups
        gw = np.zeros((G, Cg, CK), dtype=gy.dtype)
        gline = _on_grid(gy, Sp).reshape(C_out, -1)
        T = min(positions, _chunk(C * math.prod(K), x.itemsize))

        def accumulate(gw_part, b, gy_part):
            gw_part += np.matmul(gy_part, b.transpose(0, 2, 1))

        _grouped(accumulate, gw, cols, gline, positions, T)
        return gw.reshape(w_shape)
    gyp = np.zeros((N, *Sp, C_out), dtype=gy.dtype)  # dL/dy on the padded grid
    gyp[(slice(None),) + tuple(slice(0, o) for o in out_size)] = gy.transpose(
        0, *range(2, n + 2), 1)
    gline = gyp.reshape(-1, G, Cg).transpose(1, 0, 2)  # (G, positions, Cg)
    rows = C * math.prod(K)
    gwt = np.zeros((G, CK, Cg), dtype=gy.dtype)
    T = min(positions, _chunk(rows, x.itemsize))
    buf = np.empty(rows * T, dtype=x.dtype)
    for l0 in range(0, positions, T):
        t = min(T, positions - l0)
        b = buf[:rows * t]
        b.reshape(C, *K, t)[...] = cols[..., l0:l0 + t]
        gwt += np.matmul(b.reshape(G, CK, t), gline[:, l0:l0 + t])
    return np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)
