"""Winograd F(m, r) for 1-D layers with compiled transforms: the 1-D part of `winograd2_jit`
and `winograd4_jit` (stride 1, r = 3 or 5 taps, any padding, dilation, groups, batch and
channels; `winograd_jit.Algorithm` dispatches here). A dilated layer is the undilated
convolution of the batch of its input's dilation phases (`_phases`).

A 1-D layer runs `winograd_jit`'s three steps (input transform, alpha batched products,
output transform) over chunks of its batch's tiles (m outputs each; a chunk may span samples):
alpha (= m + r - 1: 4, 6 or 8) products per chunk, the transforms along the one axis. F(4, 5)
does 2 multiplications per output and input channel instead of 5, F(4, 3) 1.5 instead of 3.
Measured (2 threads, `convscope bench --explain ... --backward`, best of 3-5 alternating
rounds in one process; forward / input + weight gradient, ms, shifted -> F(4, r)): 64->64
k5 L4096 batch 32 38.6/92.8 -> 18.5/43.2 (PyTorch 34/66 in the layer table); 128->128 k3
L1024 batch 32 22.0/50.9 -> 11.9/26.3 (F(2, 3) 13.7/31.0); 32->32 k5 L1024 batch 16
2.5/5.8 -> 1.4/2.8; 16->16 k5 L4096 batch 16 3.4/8.5 -> 1.4/3.0; 8->64 k3 L4096 batch 8
(im2col) 1.75/4.3 -> 1.4/2.1; 256->256 k5 L256 batch 16 16.0/36.9 -> 7.3/17.2; 512->512
k3 L32 batch 8 (im2col) 4.8/9.0 -> 3.9/10.0. The weight gradient runs through the tiles
from `WEIGHT_GRAD_TILES_PER_CHANNEL` tiles per channel on, else it is im2col's. Float32
error (relative to the output's max, against float64, 8 to 1024 channels): F(4, 3)
0.5-2.0e-6, F(4, 5) 0.7-2.8e-6, F(2, 3) 0.2-0.6e-6, im2col 0.2-0.95e-6
(`choose.winograd_error`).

The compiled loops (`winograd1d_kernels`) are imported on the first call, never at
``import convscope``.
"""

from __future__ import annotations

import functools

import numpy as np

from . import winograd, winograd_gen
from ._planes import planes
from ._parallel import grouped_sum, take_all


#: Bytes of one chunk's transformed tiles and products (V and M): in the L2/L3 caches.
CHUNK_BYTES = 2 << 20
#: The same for the weight gradient, whose products reduce over the chunk's tiles: longer
#: reductions run faster in BLAS than the larger chunk loses in the caches. Measured (2
#: threads, min of 9 calls, 2 MB -> 8 MB, ms): 256 ch L256 batch 16 k5 28.0 -> 12.2 (im2col
#: 16.9); 128 ch L256 batch 16 k3 2.2 -> 1.7; 64 ch L4096 batch 32 k5 21.9 -> 22.2.
WEIGHT_GRAD_CHUNK_BYTES = 8 << 20
#: Fewest tiles per chunk (the products' long dimension).
MIN_TILES = 64
#: Fewest chunks of a batch (for the threads).
MIN_CHUNKS = 2
#: (m, r) of the transforms compiled (`winograd1d_kernels.kernels`).
SIZES = ((2, 3), (4, 3), (4, 5))
#: The weight gradient runs through the tiles from this many tiles per channel (C_in +
#: C_out) on, else it is im2col's: with few tiles, the products' reductions are short and
#: the transformed gradient (alpha C_out C_in) large. Measured (2 threads, min of 9 calls,
#: 8 MB chunks; tiles / im2col, ms; tiles per channel): 256 ch L64 batch 8 k3 (0.25) 4.8 /
#: 1.5; 256 ch L128 batch 8 k3 (0.5) 7.4 / 2.6; 512 ch L256 batch 8 k3 (0.5) 23.1 / 18.3;
#: 128 ch L128 batch 4 k5 (0.5) 0.51 / 0.78; 128 ch L128 batch 8 k3 (1) 0.59 / 0.99; 256 ch
#: L256 batch 16 k5 (2) 12.2 / 16.9; 128 ch L256 batch 16 k3 (4) 1.7 / 3.1; 128 ch L512
#: batch 16 k5 (8) 4.9 / 10.2; 64 ch L4096 batch 32 k5 (256) 22.2 / 55.7. Below 2 it wins
#: for 128 channels and loses for 256 and more: the line is drawn where all measured won.
WEIGHT_GRAD_TILES_PER_CHANNEL = 2


def _compiled():
    from . import winograd1d_kernels
    return winograd1d_kernels


@functools.lru_cache(maxsize=None)
def _constants(m, r, dtype):
    """(G, then the coefficients of A^T, A and B^T) of F(m, r) in `dtype`, read-only."""
    AT, G, BT = winograd.matrices(m, r)
    out = (G.astype(dtype),) + tuple(winograd_gen.coefficients(a, dtype)
                                     for a in (AT, AT.T, BT))
    for a in out:
        a.flags.writeable = False
    return out


class _Plan:
    """Tiles and chunks of one 1-D F(m, r) convolution: T tiles per sample, the batch's N T
    tiles cut into chunks of about `CHUNK_BYTES` of transformed tiles and products (at
    least `MIN_TILES`, at least `MIN_CHUNKS` chunks; from the shape alone, so the same bits
    for any number of threads)."""

    def __init__(self, N, C, C_out, out_len, m, r, dtype, chunk_bytes=None):
        self.m, self.r, self.alpha = m, r, m + r - 1
        self.T = -(-out_len // m)
        n = N * self.T
        self.work = n * self.alpha * (C + C_out)
        per_tile = self.alpha * (C + C_out) * np.dtype(dtype).itemsize
        budget = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
        tiles = max(MIN_TILES, C_out * C // (C + C_out), budget // per_tile)
        chunk = max(1, min(n, tiles, -(-n // MIN_CHUNKS)))
        self.chunks = list(range(0, n, chunk)) + [n]
        self.chunk = chunk
        self.G, self.AT, self.A, self.BT = _constants(m, r, np.dtype(dtype).str)

    def buffers(self, *channels, dtype):
        """Flat buffers for one chunk's (alpha, C, tiles) arrays, one per channel count."""
        return [np.empty(self.alpha * c * self.chunk, dtype=dtype) for c in channels]


def _phases(a, before, d, n):
    """a (N, C, L) with `before` zeros in front (a negative value crops), cut or zero-filled
    to d n values, as the (N d, C, n) batch of its d phases: row n d + q holds the values q,
    q + d, q + 2 d, ... A convolution with dilation d is the undilated one of each phase of
    its padded input (output q + d o' reads the padded line at q + d (o' + k): phase q at
    o' + k), and its outputs and dL/dy split the same way (before = 0)."""
    N, C, L = a.shape
    lo, hi = max(0, -before), min(L, d * n - before)  # the part of a inside the span
    line = np.zeros((N, C, d * n), dtype=a.dtype)
    if hi > lo:
        line[:, :, before + lo:before + hi] = a[:, :, lo:hi]
    split = line.reshape(N, C, n, d).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(split).reshape(N * d, C, n)


def forward(x, w, pads, groups, out_size, m=4, dilation=1):
    """y (N, C_out, L_out), a new C-contiguous array, of a 1-D stride-1 convolution with r
    = 3 or 5 taps: per chunk of tiles, the input transform (`winograd1d_kernels`), alpha
    products U[p] @ V[p], the output transform into y. With dilation d, the undilated
    convolution of the batch of the input's d phases (`_phases`), its outputs
    interleaved back."""
    if dilation > 1:
        N, L_out, C_out, d = x.shape[0], out_size[0], w.shape[0], dilation
        Lq = -(-L_out // d)  # outputs per phase
        ys = forward(_phases(x, pads[0][0], d, Lq + w.shape[2] - 1), w, ((0, 0),), groups,
                     (Lq,), m)
        y = np.empty((N, C_out, Lq * d), dtype=ys.dtype)  # the phases interleaved back
        y.reshape(N, C_out, Lq, d)[...] = ys.reshape(N, d, C_out, Lq).transpose(0, 2, 3, 1)
        return y if Lq * d == L_out else np.ascontiguousarray(y[:, :, :L_out])
    N, C = x.shape[:2]
    C_out, Cg, r = w.shape
    dtype = x.dtype
    y = np.empty((N, C_out, out_size[0]), dtype=dtype)
    plan = _Plan(N, C, C_out, out_size[0], m, r, dtype)
    inputs, outputs, _ = _compiled().kernels(m, r)
    a = plan.alpha
    U = (plan.G @ w.astype(dtype, copy=False).reshape(C_out * Cg, r).T).reshape(
        a, groups, C_out // groups, Cg)
    xc, cm = planes(x, rank=1)
    c = plan.chunks

    def share(take):
        bufs = plan.buffers(C, C_out, dtype=dtype)
        while (i := take()) is not None:
            g0, g1 = c[i], c[i + 1]
            t = g1 - g0
            V = bufs[0][:a * C * t].reshape(a, C, t)
            Mo = bufs[1][:a * C_out * t].reshape(a, C_out, t)
            inputs(xc, cm, plan.BT, pads[0][0], plan.T, g0, g1, V)
            outputs(winograd.products(U, V, Mo), plan.AT, plan.T, g0, g1, y)

    take_all(share, len(c) - 1, plan.work)
    return y


def backward_weight(x, gy, w_shape, pads, groups, m=4, dilation=1):
    """dL/dw (C_out, C_in/G, r) through the same tiles: dU[p] = sum dM[p] @ V[p]^T, then
    G^T dU; the chunks summed in groups fixed by the shape (`_parallel.grouped_sum`). With
    dilation d, that of the phase batch (the d phases share the weights: their gradients
    add up over the batch)."""
    if dilation > 1:
        d, Lq = dilation, -(-gy.shape[2] // dilation)
        return backward_weight(_phases(x, pads[0][0], d, Lq + w_shape[2] - 1),
                               _phases(gy, 0, d, Lq), w_shape, ((0, 0),), groups, m)
    N, C = x.shape[:2]
    C_out, Cg, r = w_shape
    dtype = np.result_type(x.dtype, gy.dtype)
    plan = _Plan(N, C, C_out, gy.shape[2], m, r, dtype, WEIGHT_GRAD_CHUNK_BYTES)
    inputs, _, output_grads = _compiled().kernels(m, r)
    a = plan.alpha
    xc, cm = planes(x.astype(dtype, copy=False), rank=1)
    gya, gcm = planes(gy.astype(dtype, copy=False), rank=1)
    c = plan.chunks

    def add(i, bufs, part, acc):
        g0, g1 = c[i], c[i + 1]
        t = g1 - g0
        V = bufs[0][:a * C * t].reshape(a, C, t)
        dM = bufs[1][:a * C_out * t].reshape(a, C_out, t)
        inputs(xc, cm, plan.BT, pads[0][0], plan.T, g0, g1, V)
        output_grads(gya, gcm, plan.A, plan.T, g0, g1, dM)
        acc += winograd.weight_products(dM, V, part, groups)

    dU = grouped_sum(len(c) - 1, (a, C_out, Cg), dtype, plan.work,
                      lambda: plan.buffers(C, C_out, dtype=dtype), add)
    return (dU.reshape(a, C_out * Cg).T @ plan.G).reshape(C_out, Cg, r)
