"""Winograd F(2x2, 3x3) and F(4x4, 3x3) with compiled transforms: `winograd2_jit`,
`winograd4_jit` (2D, stride 1, dilation 1, 3x3, any padding, groups, batch, channels; and
3D 3x3x3 layers with groups 1, `forward3d`; and 1-D layers of 3 taps, F(2, 3) / F(4, 3), or
5 taps, F(4, 5), through `winograd1d_jit`).

The arithmetic is `winograd`'s (the NumPy reference, same matrices; the transforms run as
the sparse formulas `winograd_gen` writes into `winograd_formulas`); what changes is how
the passes meet memory. The batch's tile rows (image n, row ty of its TH x TW tiles) are
cut into chunks of about `CHUNK_BYTES` of transformed tiles and products (a few images of
a small map, a few tile rows of a large one; at least `MIN_TILES` tiles, and enough that
the transformed weights are not read more often than the tiles), and each chunk goes
through three steps while its buffers are in the cache:

1. one compiled pass (`winograd_kernels.input_tiles4`; `...2`) copies, channel by
   channel, the rows the chunk's tiles read from the (N, C, H, W) input (NCHW or
   channel-major memory) into a small zero-padded buffer, takes every tile from it without
   a check, and writes B^T d B into V (alpha^2, C_in, tiles);
2. alpha^2 (16 or 36) matrix products U[k] (C_out x C_in) @ V[k] (C_in x tiles), NumPy's
   batched matmul (BLAS; no BLAS call inside compiled code);
3. one compiled pass (`output_tiles4`) applies A^T . A to each product tile and writes the
   outputs straight into the (N, C_out, H, W) result.

On maps at most `CHANNELS_INNER_MAX_TW` tiles wide (up to 16x16 with F(4x4)) with at most
`CHANNELS_INNER_MAX_C` channels, step 1 (and the weight gradient's transform of dL/dy)
stages each image's rows with the channels innermost and transforms vectors over the
channels (`input_tiles_cl4`, `output_grad_tiles_cl4`), writing V as (alpha^2, tiles,
C_in), which the products read transposed: copying a tile row only 2-4 tiles wide out of
its rows value by value was most of step 1's time there. The same values either way.

A 3x3x3 layer is the same over each depth slice: every input slice of an image's chunk is
transformed once into a tall V (alpha^2, depth x C_in, tiles), and output slice d is one
product per k with the three slices d..d+2 as a view (U (C_out x 3 C_in)).

Threads: `_parallel`'s threads take the chunks one at a time (`_parallel.take_all`, a
shared counter; the weight gradient's groups of chunks likewise, `_parallel.grouped_sum`),
each thread running its chunk's three steps itself (the compiled passes release the GIL; so
does BLAS). Taken one by one rather than as a fixed half each, a core the host slows down
does less of the work: 100 steps of the default model's training, three alternating pairs,
5.9-6.1 s -> 5.3-5.8 s. During that region OpenBLAS runs on one thread (threadpoolctl;
`_parallel.OneBlasThread`): with BLAS's own threads as well, the pool's threads and
OpenBLAS's spin against each other on the same cores (the issue's prototype measured about
2x; on this shared machine, at load averages of 8-13 on 2 cores, wall-clock comparisons of
the two were within the noise). The chunks depend on
the shape only, so the result is the same bits for any number of threads.

Gradients: the input gradient is a stride-1 convolution of dL/dy with the flipped,
transposed kernel (`_adjoint`), through the same forward; the weight gradient either runs
the same chunks backwards (`output_grad_tiles4`: A dY A^T, then dU[k] = sum over chunks of
dM[k] @ V[k]^T, then G^T dU G) or is im2col's, as `WEIGHT_GRAD_TILES_PER_CHANNEL` says
(measured); a 3-D layer's through its tiles (`backward_weight3d`).

Float32 error, relative to the output's max, against float64 (the 3x3 stride-1 layers of
`benchmarks/conv_layers.py`, batch 2): F(2x2) 2.7e-7 to 6.9e-7, about im2col's (3.6e-7 to
7.9e-7); F(4x4) 0.9e-6 to 4.0e-6, growing with C_in (64: 2.4e-6, 128: 3.0e-6, 256: 4.0e-6;
1.8x to 8x im2col's); F(4x4)'s weight gradient 1.2e-6 to 1.8e-6 (2x to 4x im2col's);
3x3x3 layers as 2-D ones with 3 to 4 times the channels (`choose.winograd_error`).
`choose` keeps `auto` within `choose.WINOGRAD_MAX_ERROR`; tests/test_kernels_winograd.py
bounds them.

1-D layers of 3 or 5 taps, dilated or not, run in `winograd1d_jit` (the same three steps
along one axis).

The compiled kernels are imported on the first call (compiled once per machine into the
user's cache; `_jit`), never at ``import convscope``.
"""

from __future__ import annotations

import contextlib
import functools
import math

import numpy as np

from . import _adjoint, _planes, im2col, winograd, winograd1d_jit, winograd_gen
from ._parallel import OneBlasThread, grouped_sum, take_all

#: Bytes of one chunk's transformed tiles and products (V and M); in the L2/L3 caches.
CHUNK_BYTES = 1 << 20
#: Fewest tiles per chunk (the products' long dimension).
MIN_TILES = 64
#: Fewest chunks of a batch with more tile rows than this (see `_Plan`).
MIN_CHUNKS = 2


def _compiled():
    from . import winograd_kernels
    return winograd_kernels


# -- the chunked, threaded pipeline ---------------------------------------------------------
class _Plan:
    """Tiles, chunks and matrices of one F(m x m, 3 x 3) convolution."""

    def __init__(self, x_shape, C_out, out_size, m, dtype):
        N, C = x_shape[:2]
        self.m, self.alpha = m, m + 2
        self.TH, self.TW = (-(-o // m) for o in out_size)
        self.rows = N * self.TH  # tile rows of the batch
        # transformed values of the whole batch (tiles x alpha^2 x (C_in + C_out)): the work
        # `_parallel.take_all` weighs against `_parallel.MIN_ELEMENTS`
        self.work = self.rows * self.TW * self.alpha ** 2 * (C + C_out)
        self.itemsize = np.dtype(dtype).itemsize
        per_row = self.alpha ** 2 * (C + C_out) * self.TW * self.itemsize
        # at least as many tiles as the products need to run at speed, and enough that the
        # transformed weights (alpha^2 C_out C_in, read again by every chunk) cost no more
        # than the chunk's own tiles (C_in + C_out per tile)
        tiles = max(MIN_TILES, C_out * C // (C + C_out))
        self.chunk = max(1, min(self.rows, max(CHUNK_BYTES // per_row,
                                               -(-tiles // self.TW))))
        # and at least MIN_CHUNKS of them, for the threads (from the shape alone: the same
        # chunks, so the same bits, for any number of threads)
        self.chunk = min(self.chunk, max(1, -(-self.rows // MIN_CHUNKS)))
        self.chunks = list(range(0, self.rows, self.chunk)) + [self.rows]
        self.GG, self.AT, self.A, self.BT = _constants(m, np.dtype(dtype).str)


@functools.lru_cache(maxsize=None)
def _constants(m, dtype):
    """(kron(G, G), then the coefficients of A^T, A and B^T) of F(m x m, 3 x 3) in `dtype`,
    read-only: kron(G, G)[(i, j), (a, b)] = G[i, a] G[j, b] transforms every kernel at
    once; the compiled kernels apply the small matrices as sparse formulas
    (`winograd_formulas`) and read their other entries from the coefficient arrays."""
    AT, G, BT = winograd.matrices(m)
    out = (np.kron(G, G).astype(dtype),) + tuple(winograd_gen.coefficients(a, dtype)
                                                 for a in (AT, AT.T, BT))
    for a in out:
        a.flags.writeable = False
    return out


def _planes_ok(x):
    """(a, cm): x (N, C, H, W) as C-contiguous memory without a copy where it is NCHW (a) or
    channel-major (a the (C, N, H, W) array, cm True: im2col's outputs and what follows
    them, the fused pooling's), else copied to NCHW. The kernels index either as C-contiguous
    planes (a strided view compiles to slower loops: reading a channel-major dL/dy as one
    cost the default model's input gradients 2 ms a step on one thread)."""
    return _planes.planes(x, rank=2)


#: The kernels' transform by kron(G, G) runs with BLAS on one thread up to this many
#: kernels (C_out x C_in/G; 128 x 128): waking BLAS's threads cost more than the short
#: product (the default model's training step, 2 threads, a noisy host, four
#: transforms: 1.6-14.9 ms a step with BLAS's threads, 1.55-1.65 ms on one).
SHORT_PRODUCT_KERNELS = 1 << 14


def _short_product(kernels):
    """`OneBlasThread` for the transform of at most `SHORT_PRODUCT_KERNELS` kernels."""
    return OneBlasThread() if kernels <= SHORT_PRODUCT_KERNELS else contextlib.nullcontext()


def _weights(w, groups, plan):
    """U (alpha^2, G, C_out/G, C_in/G) = G w G^T of every kernel: one matrix product
    kron(G, G) (alpha^2 x 9) @ w (9 x C_out C_in/G), in the data's dtype (NumPy's
    `winograd.transform_weight` applies G axis by axis in float64: 10 ms for 256 x 256
    kernels here, against 0.9 ms)."""
    C_out, Cg = w.shape[:2]
    with _short_product(C_out * Cg):
        U = plan.GG @ w.reshape(C_out * Cg, 9).T
    return U.reshape(plan.alpha ** 2, groups, C_out // groups, Cg)


#: The input transform stages tiles with the channels innermost (`winograd_kernels.
#: input_tiles_cl4`) on maps at most this many tiles wide and with at most
#: `CHANNELS_INNER_MAX_C` input channels; elsewhere it copies each tile out of the padded
#: rows (`input_tiles4`). Measured (one thread, all chunks of the forward pass's input
#: transform, the same values; copy -> channels inner, ms): 32 ch 14x14 batch 128 1.61 ->
#: 1.32, 64 ch 7x7 1.01 -> 0.59, 64 ch 14x14 4.13 -> 3.02, 128 ch 7x7 2.49 -> 1.19; 64 ch
#: 56x56 batch 8 2.47 -> 2.46; 256 ch 14x14 batch 8 0.76 -> 1.64.
CHANNELS_INNER_MAX_TW = 4
CHANNELS_INNER_MAX_C = 128


def _channels_inner(plan, C):
    """Whether a chunk's tiles of C channels are staged with the channels innermost."""
    return plan.TW <= CHANNELS_INNER_MAX_TW and C <= CHANNELS_INNER_MAX_C


def _tiles_pass(plan, C, inner, kernel):
    """run(src, cm, g0, g1, buf) -> (alpha^2, C, tiles) of the chunk, which kernel(src, cm,
    g0, g1, out) writes into the flat buffer buf: out (alpha^2, tiles, C) when inner (then
    returned as its transposed view), else (alpha^2, C, tiles)."""
    a2, TW = plan.alpha ** 2, plan.TW

    def run(src, cm, g0, g1, buf):
        T = (g1 - g0) * TW
        out = buf[:a2 * C * T].reshape((a2, T, C) if inner else (a2, C, T))
        kernel(src, cm, g0, g1, out)
        return out.transpose(0, 2, 1) if inner else out
    return run


def _input_pass(plan, C, m, pads):
    """inputs(x, cm, g0, g1, buf) -> V (alpha^2, C, tiles) of the chunk: `input_tiles_cl`
    where `_channels_inner`, else `input_tiles`."""
    BT, TH, TW = plan.BT, plan.TH, plan.TW
    pt, pl = pads[0][0], pads[1][0]
    if _channels_inner(plan, C):
        k = _compiled().input_kernel_cl(m)
        return _tiles_pass(plan, C, True, lambda x, cm, g0, g1, V: k(
            x, cm, BT, pt, pl, TH, TW, g0, g1, V))
    k = _compiled().kernels(m)[0]
    return _tiles_pass(plan, C, False, lambda x, cm, g0, g1, V: k(
        x, cm, BT, pt, pl, TH, TW, g0, g1, V, 0))


def _output_grad_pass(plan, C_out, m):
    """output_grads(gy, cm, g0, g1, buf) -> dM (alpha^2, C_out, tiles) of the chunk's dL/dy:
    `output_grad_tiles_cl` where `_channels_inner`, else `output_grad_tiles`."""
    A, TH, TW = plan.A, plan.TH, plan.TW
    inner = _channels_inner(plan, C_out)
    k = _compiled().output_grad_kernel_cl(m) if inner else _compiled().kernels(m)[2]
    return _tiles_pass(plan, C_out, inner, lambda gy, cm, g0, g1, dM: k(
        gy, cm, A, TH, TW, g0, g1, dM))


def _buffers(plan, *channels, dtype):
    """Flat buffers for one chunk's (alpha^2, C, tiles) arrays, one per channel count."""
    T = plan.chunk * plan.TW
    return [np.empty(plan.alpha ** 2 * c * T, dtype=dtype) for c in channels]


def forward(x, w, stride, pads, dilation, groups, out_size, m=4):
    """y (N, C_out, H_out, W_out), a new C-contiguous array (3-D: `forward3d`, 1-D:
    `winograd1d_jit.forward`)."""
    if x.ndim == 5:
        return forward3d(x, w, pads, out_size, m)
    if x.ndim == 3:
        return winograd1d_jit.forward(x, w, pads, groups, out_size, m, dilation[0])
    y = np.empty((x.shape[0], w.shape[0], *out_size), dtype=x.dtype)
    outputs = _compiled().kernels(m)[1]
    _forward(x, w, pads, groups, out_size, m,
             lambda plan, M, g0, g1: outputs(M, plan.AT, plan.TH, plan.TW, g0, g1, y))
    return y


def forward_max_pool(x, w, bias, pads, groups, out_size, m=4):
    """(y, arg): the 2x2 stride-2 max pooling of the 2-D convolution (plus bias) of x, in
    one pass (`winograd_kernels.output_tiles_pool4`; the convolution's outputs are never
    written): y (N, C_out, H_out // 2, W_out // 2) and arg (the same, uint8: the tap of each
    maximum, kh * 2 + kw, `pool_jit.max_pool_forward`'s rule), both channel-major views of
    (C_out, N, ...) memory: each channel's values contiguous for the batch norm that
    usually follows (on 3x3 and 7x7 maps it runs 1.7-2.7x faster than on NCHW planes), read
    in place by the next convolution."""
    shape = (w.shape[0], x.shape[0], out_size[0] // 2, out_size[1] // 2)
    y = np.empty(shape, dtype=x.dtype)
    arg = np.empty(shape, dtype=np.uint8)
    b = (np.zeros(0, dtype=x.dtype) if bias is None
         else np.ascontiguousarray(bias, dtype=x.dtype))
    pooled = _compiled().pooling_kernel(m)
    _forward(x, w, pads, groups, out_size, m,
             lambda plan, M, g0, g1: pooled(M, plan.AT, plan.TH, plan.TW, g0, g1, b, y, arg))
    return y.transpose(1, 0, 2, 3), arg.transpose(1, 0, 2, 3)


def _forward(x, w, pads, groups, out_size, m, write):
    """The 2-D forward pass up to the products: write(plan, M, g0, g1) writes each chunk's
    outputs from its products M (alpha^2, C_out, tiles)."""
    N, C = x.shape[:2]
    C_out = w.shape[0]
    dtype = x.dtype
    plan = _Plan(x.shape, C_out, out_size, m, dtype)
    a2 = plan.alpha ** 2
    U = _weights(w.astype(dtype, copy=False), groups, plan)  # (a2, G, C_out/G, C_in/G)
    xc, cm = _planes_ok(x)
    inputs = _input_pass(plan, C, m, pads)

    def chunk(bufs, g0, g1):
        T = (g1 - g0) * plan.TW
        Mo = bufs[1][:a2 * C_out * T].reshape(a2, C_out, T)
        V = inputs(xc, cm, g0, g1, bufs[0])
        winograd.products(U, V, Mo)
        write(plan, Mo, g0, g1)

    c = plan.chunks

    def share(take):
        bufs = _buffers(plan, C, C_out, dtype=dtype)  # this thread's
        while (i := take()) is not None:
            chunk(bufs, c[i], c[i + 1])

    take_all(share, len(c) - 1, plan.work)


#: Bytes of one 3-D chunk's transformed tiles (every depth slice) and products.
CHUNK_BYTES_3D = 4 << 20


class _Slices:
    """A 3x3x3 layer's work as (image, chunk of tile rows) units, each with every input
    depth slice's transformed tiles stacked in one V (alpha^2, Dp x C_in, tiles): slices
    d..d+2, the rows d C_in ... (d + 3) C_in, are output slice d's 3 C_in channels."""

    def __init__(self, x_shape, C_out, pads, out_size, m, dtype):
        N, C, self.D = x_shape[:3]
        self.C, self.C_out, self.OD = C, C_out, out_size[0]
        self.plan = plan = _Plan((N, C), C_out, out_size[1:], m, dtype)
        self.a2 = a2 = plan.alpha ** 2
        (self.pd, _), (self.pt, _), (self.pl, _) = pads
        self.Dp = Dp = self.OD + 2  # the padded depth slices the outputs read
        rows = max(1, min(plan.TH, max(
            CHUNK_BYTES_3D // (plan.TW * a2 * (Dp * C + C_out) * plan.itemsize),
            -(-MIN_TILES // plan.TW))))
        self.units = [(n, g0, min(g0 + rows, plan.TH)) for n in range(N)
                      for g0 in range(0, plan.TH, rows)]
        self.T_max = rows * plan.TW
        self.work = N * plan.TH * plan.TW * a2 * (Dp * C + self.OD * C_out)
        self.dtype = dtype

    def buffers(self):
        """(tiles, products) buffers of the largest unit, flat."""
        T = self.a2 * self.T_max
        return (np.empty(T * self.Dp * self.C, dtype=self.dtype),
                np.empty(T * self.C_out, dtype=self.dtype))

    def tiles(self, inputs, x, unit, bufs):
        """(V, M): the unit's input tiles of every slice (zeros for the depth padding), and
        its products' buffer (alpha^2, C_out, tiles)."""
        n, g0, g1 = unit
        plan, a2, C = self.plan, self.a2, self.C
        T = (g1 - g0) * plan.TW
        V = bufs[0][:a2 * self.Dp * C * T].reshape(a2, self.Dp * C, T)
        M = bufs[1][:a2 * self.C_out * T].reshape(a2, self.C_out, T)
        for p in range(self.Dp):
            z = p - self.pd
            if 0 <= z < self.D:
                inputs(x[n:n + 1, :, z], False, plan.BT, self.pt, self.pl, plan.TH, plan.TW,
                       g0, g1, V, p * C)
            else:  # depth padding: zero tiles transform to zeros
                V[:, p * C:(p + 1) * C] = 0
        return V, M


def forward3d(x, w, pads, out_size, m=4):
    """y (N, C_out, D', H', W') of a 3x3x3 stride-1 convolution (groups 1): F(m x m, 3 x 3)
    over each depth slice, a plain sum over the 3 depth taps.

    Output slice d is sum over kd of conv2d(x slice d + kd, w[:, :, kd]); in the Winograd
    domain, M_d[k] = sum_kd U_kd[k] @ V_{d+kd}[k], and with the slices' transformed tiles
    stacked as V3 (alpha^2, slices x C_in, tiles), the three of them are one product
    U3[k] (C_out x 3 C_in) @ V3[k, rows of slices d..d+2] (3 C_in x tiles), a view. Each
    input slice is transformed once (zeros for the depth padding), each output slice
    transformed back straight into y. The work is cut into (image, chunk of tile rows)
    units (`_Slices`), taken one by one by the threads (the same bits for any number).
    """
    inputs, outputs, _ = _compiled().kernels(m)
    C_out = w.shape[0]
    dtype = x.dtype
    sl = _Slices(x.shape, C_out, pads, out_size, m, dtype)
    plan, a2, C = sl.plan, sl.a2, sl.C
    # U3[k] (C_out, 3 C): the 2-D transforms of w[:, :, kd], columns ordered (kd, c)
    wk = np.moveaxis(w.astype(dtype, copy=False), 2, 0)  # (3, C_out, C, 3, 3)
    U3 = _weights(wk.reshape(3 * C_out, C, 3, 3), 1, plan).reshape(a2, 3, C_out, C)
    U3 = np.ascontiguousarray(U3.transpose(0, 2, 1, 3)).reshape(a2, C_out, 3 * C)
    x = np.asarray(x)
    y = np.empty((x.shape[0], C_out, *out_size), dtype=dtype)

    def share(take):
        bufs = sl.buffers()
        while (u := take()) is not None:
            n, g0, g1 = sl.units[u]
            V, M = sl.tiles(inputs, x, (n, g0, g1), bufs)
            for d in range(sl.OD):
                np.matmul(U3, V[:, d * C:(d + 3) * C], out=M)
                outputs(M, plan.AT, plan.TH, plan.TW, g0, g1, y[n:n + 1, :, d])

    take_all(share, len(sl.units), sl.work)
    return y


def backward_weight3d(x, gy, w_shape, pads, m=4):
    """dL/dw (C_out, C_in, 3, 3, 3) of `forward3d` through the same tiles: dU3[k] (C_out x
    3 C_in) = sum over units and output slices d of dM_d[k] @ V3[k, slices d..d+2]^T, then
    G^T dU G for each depth tap. The units are summed in groups fixed by the shape (the same
    bits for any number of threads), as `backward_weight`'s chunks."""
    inputs, _, output_grads = _compiled().kernels(m)
    C_out = w_shape[0]
    dtype = np.result_type(x.dtype, gy.dtype)
    sl = _Slices(x.shape, C_out, pads, gy.shape[2:], m, dtype)
    plan, a2, C = sl.plan, sl.a2, sl.C
    x = np.asarray(x)
    gya = np.asarray(gy)

    def add(u, bufs, part, acc):
        n, g0, g1 = sl.units[u]
        V, dM = sl.tiles(inputs, x, (n, g0, g1), bufs)
        for d in range(sl.OD):
            output_grads(gya[n:n + 1, :, d], False, plan.A, plan.TH, plan.TW, g0, g1, dM)
            np.matmul(dM, V[:, d * C:(d + 3) * C].transpose(0, 2, 1), out=part)
            acc += part

    dU = grouped_sum(len(sl.units), (a2, C_out, 3 * C), dtype, sl.work, sl.buffers, add)
    # G^T dU G along both kernel axes for every (c_out, kd, c): (C_out, 3, C, 3, 3)
    dW = (dU.reshape(a2, C_out * 3 * C).T @ plan.GG).reshape(C_out, 3, C, 3, 3)
    return np.ascontiguousarray(dW.transpose(0, 2, 1, 3, 4))


def backward_weight(x, gy, w_shape, pads, groups, m=4):
    """dL/dw (C_out, C_in/G, 3, 3) through the same tiles: dU[k] = sum dM[k] @ V[k]^T, then
    G^T dU G.

    The chunks are summed in a fixed number of groups (`_parallel.grouped_sum`, set by the shape),
    each into its own accumulator, then the groups in order: the same bits for any number
    of threads (the groups are split over the threads).
    """
    N, C = x.shape[:2]
    C_out = w_shape[0]
    dtype = np.result_type(x.dtype, gy.dtype)
    plan = _Plan(x.shape, C_out, gy.shape[2:], m, dtype)
    a2 = plan.alpha ** 2
    xc, cm = _planes_ok(x)
    gya, gcm = _planes_ok(gy)
    Cg = C // groups
    c = plan.chunks
    inputs = _input_pass(plan, C, m, pads)
    output_grads = _output_grad_pass(plan, C_out, m)

    def add(i, bufs, part, acc):
        g0, g1 = c[i], c[i + 1]
        V = inputs(xc, cm, g0, g1, bufs[0])
        dM = output_grads(gya, gcm, g0, g1, bufs[1])
        acc += winograd.weight_products(dM, V, part, groups)

    dU = grouped_sum(len(c) - 1, (a2, C_out, Cg), dtype, plan.work,
                      lambda: _buffers(plan, C, C_out, dtype=dtype), add)
    # dW = G^T dU G along both kernel axes, the adjoint of `_weights`: (C_out, C_in/G, 3, 3)
    with _short_product(C_out * Cg):
        dW = dU.reshape(a2, C_out * Cg).T @ plan.GG
    return dW.reshape(C_out, Cg, 3, 3)


def tiles(out_size, N, m):
    """(tiles of F(m x m, 3 x 3) over a batch, outputs computed per output kept)."""
    T = [-(-o // m) for o in out_size]
    return N * math.prod(T), math.prod(t * m for t in T) / max(1, math.prod(out_size))


#: F(4x4)'s weight gradient runs through the tiles when the batch has at least this many
#: tiles per channel (C_in + C_out): then its 36 long products beat im2col's one
#: (2 threads, idle machine, ms, tiles / im2col, after the sparse formulas: 32->64 14x14
#: batch 128 5.9 / 11.5; 64->128 7x7 batch 128 5.6 / 8.3; 64 ch 56x56 batch 8 7.5 / 18.4;
#: 128 ch 28x28 batch 8 7.2 / 13.9; 256 ch 14x14 batch 8 (0.25 tiles per channel)
#: 10.5 / 12.9; 512 ch 7x7 batch 8 (0.03) 36.7 / 12.4: the transformed weights,
#: 36 x 512 x 512, cost more than 32 tiles save). F(2x2)'s never clearly won (32->64
#: 14x14 batch 128: 21.3 / 17.7, before the formulas): always im2col's.
WEIGHT_GRAD_TILES_PER_CHANNEL = {2: None, 4: 0.25}


class Algorithm:
    """F(m x m, 3 x 3) with compiled transforms behind the kernels' common interface."""

    def __init__(self, m: int):
        self.m = m
        self.__name__ = f"winograd{m}_jit"

    def supports(self, x_shape, w_shape, stride, pads, dilation, groups):
        """None when this algorithm applies, else the rule it needs."""
        K = w_shape[2:]
        sizes = [r for m, r in winograd1d_jit.SIZES if m == self.m]
        ok = ((len(K) == 1 and K[0] in sizes)  # 1-D: any dilation
              or (len(K) in (2, 3) and all(k == 3 for k in K) and (len(K) == 2 or groups == 1)
                  and all(d == 1 for d in dilation)))
        ok = ok and all(s == 1 for s in stride)
        sizes = " or ".join(str(r) for r in sizes)
        return None if ok else (f"stride 1, and a 1D convolution with kernel_size {sizes}, "
                                f"a 2D one with kernel_size 3 and dilation 1, or a 3D one "
                                f"with kernel_size 3, dilation 1 and groups=1")

    def forward(self, x, w, stride, pads, dilation, groups, out_size):
        return forward(x, w, stride, pads, dilation, groups, out_size, m=self.m), None

    def backward_input(self, gy, w, in_shape, stride, pads, dilation, groups):
        gx = _adjoint.input_grad(self.forward, gy, w, in_shape, pads, dilation, groups)
        if gx is None:  # padding wider than the kernel: the adjoint would crop
            return im2col.backward_input(gy, w, in_shape, stride, pads, dilation, groups)
        return gx

    def weight_grad_tiles(self, x_shape, w_shape, out_size) -> bool:
        """Whether the weight gradient runs through the tiles (else im2col's)."""
        if len(out_size) == 1:
            n = x_shape[0] * -(-out_size[0] // self.m)
            per = winograd1d_jit.WEIGHT_GRAD_TILES_PER_CHANNEL
        else:
            per = WEIGHT_GRAD_TILES_PER_CHANNEL[self.m]
            n, _ = tiles(out_size, x_shape[0], self.m)
        return per is not None and n >= per * (x_shape[1] + w_shape[0])

    def backward_weight(self, x, saved, gy, w_shape, stride, pads, dilation, groups):
        if len(w_shape) == 5:
            return backward_weight3d(x, gy, w_shape, pads, m=self.m)
        if self.weight_grad_tiles(x.shape, w_shape, gy.shape[2:]):
            if len(w_shape) == 3:
                return winograd1d_jit.backward_weight(x, gy, w_shape, pads, groups, m=self.m,
                                                      dilation=dilation[0])
            return backward_weight(x, gy, w_shape, pads, groups, m=self.m)
        return im2col.backward_weight(x, None, gy, w_shape, stride, pads, dilation, groups)


F2 = Algorithm(2)
F4 = Algorithm(4)
