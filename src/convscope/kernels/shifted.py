"""Convolution on shifted views of the flattened input (any rank; strides via `phase`).

Lay the input out channel-major on a grid, one flat line per channel: image n, position h
(per spatial axis) at index M0 + n prod(G) + sum_i h_i step_i, where G_i = S_i + gap_i is the
grid size and step_i = prod(G[i+1:]). A kernel offset k then moves every output position by
the same number of values along that line, off(k) = sum_i k_i d_i step_i, so the columns of
im2col are windows of one line, ``cols[c, *k, q] = line_c[q + off(k)]``: a strided *view*
with no copy (numpy's as_strided, the offsets along each kernel axis being a constant step),
for the output at grid position q = n prod(G) + sum_i o_i step_i.

The zero padding is shared: between two rows (planes, images) of the line lies one gap of
max(P_before, P_after) zeros that serves as the after-padding of the row before it and the
before-padding of the row after it (reading before the start of a row lands in the previous
row's gap; M0 zeros lead the line). The product W @ cols is computed for every grid
position; those that are not outputs (the gap positions) are computed and dropped, so the
work grows by prod(G) / prod(O): 1.31x at 7x7, 1.15x at 14x14, 1.04x at 56x56 for a 3x3
'same' layer (a separately padded grid, S + 2P per axis, would cost 1.65x, 1.31x, 1.07x),
while every copy into the matrix product's operand becomes a copy of contiguous runs of
thousands of values, and no col2im fold with strided windows is ever needed:

* forward: the view is copied chunk by chunk (a few MB, in cache) into one reused buffer and
  multiplied there, W (C_out/G, C_in/G prod K) @ chunk, straight into the output;
* input gradient: a stride-1 convolution of dL/dy with the flipped, transposed weight (the
  adjoint, `_adjoint`), through the same forward, or W^T @ dL/dy added back onto the line
  (see `backward_input`);
* weight gradient: dL/dy placed on the grid (zeros on the dropped positions) times the same
  chunks: one long reduction per chunk, summed.

This is im2col's arithmetic with an implicit unfold (Cho & Brand 2017, "MEC", lower along
one axis and take overlapping views; here the lowering is along all axes at once in the flat
line). A stride > 1 first splits the input into its stride phases (`phase`); `choose`
says where it beats im2col.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import _adjoint, _chunks, phase
from ._chunks import chunk_size, chunks, chunks_on_threads, on_grid
from ._parallel import over_channels

#: Input channels per group from which the input gradient is the adjoint convolution.
ADJOINT_FROM = 64
#: Weights (per group) above which the weight gradient is made channel-major, dW (C_out, CK)
#: += dY_chunk @ cols_chunk^T, instead of channels-last cols_chunk @ dY_chunk summed into
#: dW^T and transposed at the end; that transposition of a large gradient costs more than
#: the better product saves (512->512 3x3 at 7x7 batch 8: 12.1 ms channels-last, 6.2
#: channel-major; 64->64 at 56x56: 6.1 and 8.2; conv3d 16->32: 18.0 and 27.4). 1-D layers
#: are always channel-major: their long lines make dY's channels-last copy the larger cost
#: (2 threads, median of 7 calls, 2 alternating processes, AMD EPYC AVX-512; channels-last,
#: channel-major, ms): 64->64 k5 L4096 batch 32: 69-79, 54-55; 128->128 k3 L1024 batch 32:
#: 34-36, 27-29 (2-D and 3-D as above: 64->64 3x3 56x56 batch 8 15-17, 16-18; conv3d
#: 16->32 42, 47-49).
CHANNELS_LAST_WEIGHTS = 1 << 20


def supports(x_shape, w_shape, stride, pads, dilation, groups):
    """None: every convolution (a stride > 1 runs as stride-phase convolutions, `phase`)."""
    return None


class Grid:
    """Where a stride-1 convolution's input and outputs sit on the flat lines.

    The input is first cropped where a padding is negative (a transposed convolution's
    adjoint can ask for that); `crop` is what was kept of each axis.
    """

    def __init__(self, in_size, pads, K, dilation, out_size, N):
        self.N, self.K, self.dilation, self.out_size = N, tuple(K), tuple(dilation), out_size
        before = [b for b, _ in pads]
        # the after-padding that out_size needs (output_padding can ask for more)
        after = [o + d * (k - 1) - s - b for o, k, d, s, b in zip(out_size, K, dilation,
                                                                   in_size, before)]
        self.crop = tuple(slice(max(-b, 0), s + min(a, 0))
                          for s, b, a in zip(in_size, before, after))
        self.S = tuple(c.stop - c.start for c in self.crop)
        before = [max(b, 0) for b in before]
        after = [max(a, 0) for a in after]
        self.G = tuple(s + max(b, a, o - s) for s, b, a, o in zip(self.S, before, after,
                                                                   out_size))
        self.step = [math.prod(self.G[i + 1:]) for i in range(len(self.G))]
        self.M0 = sum(b * st for b, st in zip(before, self.step))
        self.P = math.prod(self.G)
        # grid positions up to the last output, and the farthest tap from a position
        self.positions = (N - 1) * self.P + sum((o - 1) * st for o, st in
                                                zip(out_size, self.step)) + 1
        self.span = sum(d * (k - 1) * st for k, d, st in zip(K, dilation, self.step))
        self.length = max(self.positions + self.span, self.M0 + N * self.P)

    def waste(self):
        """Grid positions computed per output."""
        return self.P / math.prod(self.out_size)

    def data(self, line):
        """The (C, N, *S) view of a line array's input positions."""
        grid = line[:, self.M0:self.M0 + self.N * self.P].reshape(-1, self.N, *self.G)
        return grid[(slice(None), slice(None)) + tuple(slice(0, s) for s in self.S)]

    def line(self, x):
        """x (N, C, *S) on its lines: (C, length), zeros off the input positions."""
        x = x[(slice(None), slice(None)) + self.crop]
        line = np.empty((x.shape[1], self.length), dtype=x.dtype)
        line[:, :self.M0] = 0
        line[:, self.M0 + self.N * self.P:] = 0
        grid = line[:, self.M0:self.M0 + self.N * self.P].reshape(-1, self.N, *self.G)
        for i, s in enumerate(self.S):  # the gaps
            grid[(slice(None),) * (2 + i) + (slice(s, None),)] = 0
        xt = x.transpose(1, 0, *range(2, x.ndim))
        dst = self.data(line)

        def copy(c0, c1):
            dst[c0:c1] = xt[c0:c1]

        over_channels(copy, x.shape[1], line.size)
        return line

    def columns(self, line):
        """The view cols[c, *k, q] = line[c, q + off(k)] over the grid positions."""
        item = line.itemsize
        return as_strided(line, shape=(line.shape[0], *self.K, self.positions),
                          strides=(line.strides[0],
                                   *(d * st * item for d, st in zip(self.dilation,
                                                                    self.step)), item),
                          writeable=False)

    def offsets(self):
        """off(k) along the line for every kernel offset k, in kernel (C) order."""
        grid = np.zeros((), dtype=np.int64)
        for k, d, st in zip(self.K, self.dilation, self.step):
            grid = grid[..., None] + np.arange(k) * d * st
        return [int(v) for v in grid.ravel()]

    def outputs(self, y):
        """(C, N * P) values on the grid -> the outputs (N, C, *O), a view."""
        y = y.reshape(y.shape[0], self.N, *self.G)[
            (slice(None), slice(None)) + tuple(slice(0, o) for o in self.out_size)]
        return y.transpose(1, 0, *range(2, y.ndim))

    def on_grid(self, gy):
        """dL/dy (N, C_out, *O) on the grid, (C_out, N * P), zeros elsewhere."""
        return on_grid(gy, self.G)


def _copier(cols):
    """fill(b, l0, t) copying positions [l0, l0 + t) of the view cols (C, *K, positions)."""
    def fill(b, l0, t):
        b.reshape(cols.shape[:-1] + (t,))[...] = cols[..., l0:l0 + t]
    return fill


def forward(x, w, stride, pads, dilation, groups, out_size):
    """y (N, C_out, *O), a view into a channel-major array on the grid; the lines and the
    grid are kept for the weight gradient."""
    N, C = x.shape[:2]
    C_out, C_in_g, *K = w.shape
    G = groups
    if N == 0:
        return np.zeros((0, C_out, *out_size), dtype=x.dtype), None
    if any(s > 1 for s in stride):
        return phase.forward(x, w, stride, pads, dilation, groups, out_size)
    grid = Grid(x.shape[2:], pads, K, dilation, out_size, N)
    line = grid.line(x)
    cols, positions = grid.columns(line), grid.positions
    CK = C_in_g * math.prod(K)
    rows = C * math.prod(K)
    wg = w.reshape(G, C_out // G, CK)
    y = np.empty((C_out, N * grid.P), dtype=x.dtype)
    if G > 1:
        _grouped(lambda wv, b, yv: np.matmul(wv, b, out=yv), wg, cols, y, positions)
        return grid.outputs(y), (line, grid)
    T = min(positions, chunk_size(rows, x.itemsize))
    chunks_on_threads(_copier(cols), rows, positions, T, x.dtype,
                      lambda l0, t, b: np.matmul(wg[0], b, out=y[:, l0:l0 + t]))
    return grid.outputs(y), (line, grid)


def _grouped(product, w3, cols, y, positions):
    """Per-group products over blocks of groups and chunks of positions, the groups split
    over the threads.

    Each thread takes its groups [g0, g1) in blocks; a block's columns for a chunk of
    positions (a few MB: one group's columns over all positions when they fit, so a
    depthwise layer makes one product per channel, not one per channel and chunk) are
    copied into the thread's own buffer b (groups, C_in/G prod(K), t), then
    product(w3[block], b, y-part) is called with the (groups, rows, t) part of y (C_out or
    weight rows, positions). Many small groups make small products; threads over groups
    keep both cores busy where BLAS alone would not.
    """
    G, Cg = w3.shape[:2]
    C_in_g = cols.shape[0] // G
    per_group = math.prod(cols.shape[:-1]) // G
    item = cols.itemsize
    T = min(positions, max(_chunks.MIN_CHUNK, _chunks.CHUNK_BYTES // (per_group * item)))
    block = max(1, _chunks.CHUNK_BYTES // (per_group * T * item))

    def run(g0, g1):
        buf = np.empty(min(block, g1 - g0) * per_group * T, dtype=cols.dtype)
        for b0 in range(g0, g1, block):
            b1 = min(g1, b0 + block)
            for l0 in range(0, positions, T):
                t = min(T, positions - l0)
                b = buf[:(b1 - b0) * per_group * t]
                b.reshape((b1 - b0) * C_in_g, *cols.shape[1:-1], t)[...] = \
                    cols[b0 * C_in_g:b1 * C_in_g, ..., l0:l0 + t]
                product(w3[b0:b1], b.reshape(b1 - b0, per_group, t),
                        y[b0 * Cg:b1 * Cg, l0:l0 + t].reshape(b1 - b0, Cg, t))

    over_channels(run, G, y.shape[0] * positions)


def _input_grad_folded(gy, w, in_shape, pads, dilation, groups):
    """dL/dx: W^T @ dL/dy on the grid, chunk by chunk, each chunk's rows added back onto
    the lines at their offsets (contiguous runs: a col2im with no strided windows), then
    the input's positions taken out."""
    N, C, *S = in_shape
    C_out, C_in_g, *K = w.shape
    G = groups
    grid = Grid(S, pads, K, dilation, gy.shape[2:], N)
    gline = grid.on_grid(gy).reshape(G, C_out // G, -1)
    offs = grid.offsets()
    positions = grid.positions
    gxp = np.zeros((C, grid.length), dtype=gy.dtype)
    CK = C_in_g * math.prod(K)
    rows = C * math.prod(K)
    wt = np.ascontiguousarray(w.reshape(G, C_out // G, CK).transpose(0, 2, 1))
    T = min(positions, chunk_size(rows, gy.itemsize))
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
    # the input's positions, a view of the lines (parts cropped by a negative padding get
    # no gradient: only then is a new array made)
    gx = grid.data(gxp)
    if grid.S != tuple(S):
        full = np.zeros((C, N, *S), dtype=gy.dtype)
        full[(slice(None), slice(None)) + grid.crop] = gx
        gx = full
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

    Measured (2 threads, min of 25 alternating calls; im2col's fold, folded, adjoint):
    64->64 56x56 batch 8: 10.5, 9.6, 6.3 ms; 128->128 28x28 batch 8: 7.9, 7.0, 6.0;
    32->64 14x14 batch 128: 7.7, 4.7, 5.0; 64->128 7x7 batch 128: 5.8, 4.6, 4.3;
    conv3d 16->32 16x64x64 batch 2: 39.9, 23.7, 28.1.
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
    dL/dy placed channels-last on the grid (zeros on the dropped positions), so that each
    chunk of it is a contiguous (positions, C_out/G) block; with groups, per group and
    channel-major, the groups split over the threads."""
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
    if saved is None:
        grid = Grid(x.shape[2:], pads, K, dilation, out_size, N)
        line = grid.line(x)
    else:
        line, grid = saved
    cols, positions = grid.columns(line), grid.positions
    CK = C_in_g * math.prod(K)
    if G > 1:  # dW_g (C_out/G, CK) += dY_g @ cols_g^T, channel-major dY, threads over groups
        gw = np.zeros((G, Cg, CK), dtype=gy.dtype)
        gline = grid.on_grid(gy)

        def accumulate(gw_part, b, gy_part):
            gw_part += np.matmul(gy_part, b.transpose(0, 2, 1))

        _grouped(accumulate, gw, cols, gline, positions)
        return gw.reshape(w_shape)
    if Cg * CK > CHANNELS_LAST_WEIGHTS or n == 1:  # no transposition at the end
        gline = grid.on_grid(gy)
        gw = np.zeros((C_out, CK), dtype=gy.dtype)
        T = min(positions, chunk_size(CK, x.itemsize))
        for l0, t, b in chunks(_copier(cols), CK, positions, T, x.dtype):
            gw += np.matmul(gline[:, l0:l0 + t], b.T)
        return gw.reshape(w_shape)
    gyp = np.zeros((N, *grid.G, C_out), dtype=gy.dtype)  # dL/dy on the grid
    gyp[(slice(None),) + tuple(slice(0, o) for o in out_size)] = gy.transpose(
        0, *range(2, n + 2), 1)
    gline = gyp.reshape(-1, G, Cg).transpose(1, 0, 2)  # (G, positions, Cg)
    rows = C * math.prod(K)
    gwt = np.zeros((G, CK, Cg), dtype=gy.dtype)
    T = min(positions, chunk_size(rows, x.itemsize))
    for l0, t, b in chunks(_copier(cols), rows, positions, T, x.dtype):
        gwt += np.matmul(b.reshape(G, CK, t), gline[:, l0:l0 + t])
    return np.ascontiguousarray(gwt.transpose(0, 2, 1)).reshape(w_shape)
