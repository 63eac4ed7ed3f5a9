"""The compiled loops of `winograd_jit`: Winograd F(m x m, 3 x 3)'s transforms, one fused pass
each (Numba; see `_jit`). Imported only on the first call that needs them.

Tiles are numbered by *tile rows*: tile row g of a batch is image g // TH, row g % TH of
that image's TH x TW tiles, so a range [g0, g1) of tile rows may span images and one
compiled call handles a whole chunk. Tile t of a chunk is (g - g0) * TW + tx.

* `input_tiles`: B^T d B of every alpha x alpha input tile d of the chunk (read from the
  zero-padded, channel-major input), written as V[i * alpha + j, c, t]: the layout of the
  alpha^2 batched products U[k] (C_out x C_in) @ V[k] (C_in x tiles).
* `output_tiles`: A^T M A of every product tile, written straight into the (N, C_out, H, W)
  output (tiles cut at the map's edge).
* `output_grad_tiles`: the adjoint of `output_tiles`, A dY A^T of every m x m tile of
  dL/dy (zeros past the map's edge), for the weight gradient dU[k] = dM[k] @ V[k]^T.

Per channel, the chunk's tiles are first de-interleaved into d[i, l, t] (tap (i, l) of
tile t; tile by tile, alpha contiguous reads each), then each transform runs axis by axis
with the innermost loop over all the chunk's tiles (contiguous, vectorised by LLVM), not
over the few tiles of one row (a 7x7 map has 2 of them). The small matrices (`winograd`'s
A^T and B^T in the data's dtype) are passed as tuples of tuples, so their size is part of
the compiled signature: the loops over their entries unroll, and one kernel serves F(2x2)
and F(4x4), each compiled once per dtype. The outputs are written back the same way, m
contiguous values per tile. Measured (single thread, 64 ch 56x56 batch 8, F(4x4)): with
zero-padded rows built inside the loop and a strided copy per tap, the input transform
took 9.0 ms (6.8 of them the copies); from a NumPy-padded input, tile by tile, 4.3 ms; the
output transform 5.8 -> 4.4 ms writing m contiguous outputs per tile instead of strided
ones. Serial, GIL-free, cached: the threads belong to `_parallel` (`winograd_jit`).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def _mix2(M, src, dst):
    """dst[p, t] = sum_j M[p][j] src[j, t]: a small matrix (a tuple of tuples, so its size is
    known when compiling: the j loop unrolls and the t loop over the tiles vectorises)."""
    T = src.shape[1]
    for p in range(len(M)):
        row = M[p]
        out = dst[p]
        for t in range(T):
            acc = row[0] * src[0, t]
            for j in range(1, len(row)):
                acc += row[j] * src[j, t]
            out[t] = acc


@jit
def _mix_rows(M, P, k0, co, dst):
    """dst[p, t] = sum_j M[p][j] P[k0 + j, co, t] (see `_mix2`), read in place from the
    products P (alpha^2, C_out, T)."""
    T = P.shape[2]
    for p in range(len(M)):
        row = M[p]
        out = dst[p]
        for t in range(T):
            acc = row[0] * P[k0, co, t]
            for j in range(1, len(row)):
                acc += row[j] * P[k0 + j, co, t]
            out[t] = acc


@jit
def _mix3(M, src, dst):
    """dst[p, b, t] = sum_j M[p][j] src[j, b, t] (see `_mix2`)."""
    for b in range(src.shape[1]):
        _mix2(M, src[:, b], dst[:, b])


@jit
def _rows(M, src, dst, c):
    """dst[p*alpha + b, c, t] = sum_j M[p][j] src[j, b, t]: the second (row) pass of a 2-D
    transform, written into the product's layout."""
    T = src.shape[2]
    B = src.shape[1]
    for p in range(len(M)):
        row = M[p]
        for b in range(B):
            out = dst[p * B + b, c]
            for t in range(T):
                acc = row[0] * src[0, b, t]
                for j in range(1, len(row)):
                    acc += row[j] * src[j, b, t]
                out[t] = acc


@jit
def input_tiles(xp, BT, m, TH, TW, g0, g1, V):
    """V[i*alpha + j, c, t] = (B^T d B)[i, j] of the chunk's tiles (tile rows [g0, g1)).

    xp: the zero-padded input, channel-major (C, N, TH*m + alpha - m, TW*m + alpha - m),
    C-contiguous: tile (ty, tx) is xp[c, n, ty*m:ty*m + alpha, tx*m:tx*m + alpha]. BT: B^T
    as a tuple of tuples.
    """
    alpha = len(BT)
    C = xp.shape[0]
    T = (g1 - g0) * TW
    d = np.empty((alpha, alpha, T), dtype=V.dtype)  # d[i, l, t]: the tiles, de-interleaved
    tmp = np.empty((alpha, alpha, T), dtype=V.dtype)
    for c in range(C):
        for g in range(g0, g1):
            plane = xp[c, g // TH]
            r0 = (g % TH) * m
            base = (g - g0) * TW
            for i in range(alpha):
                row = plane[r0 + i]
                di = d[i]
                for tx in range(TW):  # alpha (a constant of BT's type) taps per tile
                    for l in range(alpha):
                        di[l, base + tx] = row[tx * m + l]
        # B^T along the columns (per input row i), then along the rows, into V
        for i in range(alpha):
            _mix2(BT, d[i], tmp[i])
        _rows(BT, tmp, V, c)


@jit
def output_tiles(M, AT, TH, TW, g0, g1, y):
    """y[n, co, ty*m + q, tx*m + p] = (A^T M_tile A)[q, p] for the chunk's tile rows
    [g0, g1), where M_tile[i, j] = M[i*alpha + j, co, t]; cut at y's edges."""
    m, alpha = len(AT), len(AT[0])
    N, C_out, Ho, Wo = y.shape
    T = (g1 - g0) * TW
    tmp = np.empty((alpha, m, T), dtype=M.dtype)
    z = np.empty((m, m, T), dtype=M.dtype)
    for co in range(C_out):
        # tmp[i, p, t] = sum_j AT[p, j] M[i*alpha + j, co, t]; then
        # z[q, p, t] = sum_i AT[q, i] tmp[i, p, t]
        for i in range(alpha):
            _mix_rows(AT, M, i * alpha, co, tmp[i])
        _mix3(AT, tmp, z)
        for g in range(g0, g1):
            n = g // TH
            ty = g % TH
            base = (g - g0) * TW
            full = min(TW, Wo // m)  # tiles wholly inside the map's width
            for q in range(min(m, Ho - ty * m)):
                dst = y[n, co, ty * m + q]
                for tx in range(full):  # m (a constant of AT's type) contiguous outputs
                    for p in range(m):
                        dst[tx * m + p] = z[q, p, base + tx]
                for v in range(full * m, Wo):
                    dst[v] = z[q, v % m, base + v // m]


@jit
def output_grad_tiles(gy, A, TH, TW, g0, g1, dM):
    """dM[i*alpha + j, co, t] = (A dY A^T)[i, j] of the m x m tiles dY of gy (N, C_out, Ho,
    Wo) in the chunk's tile rows [g0, g1), zeros past gy's edges: the adjoint of
    `output_tiles`."""
    alpha, m = len(A), len(A[0])  # A: (alpha, m), the transpose of A^T, as tuples
    N, C_out, Ho, Wo = gy.shape
    T = (g1 - g0) * TW
    z = np.empty((m, m, T), dtype=dM.dtype)
    tmp = np.empty((m, alpha, T), dtype=dM.dtype)
    out = np.empty((alpha, alpha, T), dtype=dM.dtype)
    for co in range(C_out):
        for g in range(g0, g1):
            n = g // TH
            ty = g % TH
            base = (g - g0) * TW
            full = min(TW, Wo // m)  # tiles wholly inside the map's width
            for q in range(m):
                r = ty * m + q
                zq = z[q]
                if r >= Ho:
                    for p in range(m):
                        for tx in range(TW):
                            zq[p, base + tx] = 0
                    continue
                src = gy[n, co, r]
                for tx in range(full):  # m (a constant of A's type) values per tile
                    for p in range(m):
                        zq[p, base + tx] = src[tx * m + p]
                for tx in range(full, TW):
                    for p in range(m):
                        v = tx * m + p
                        zq[p, base + tx] = src[v] if v < Wo else 0
        # tmp[q, j, t] = sum_p A[j, p] z[q, p, t]; out[i, j, t] = sum_q A[i, q] tmp[q, j, t]
        for q in range(m):
            _mix2(A, z[q], tmp[q])
        _mix3(A, tmp, out)
        for k in range(alpha * alpha):
            s = out[k // alpha, k % alpha]
            dst = dM[k, co]
            for t in range(T):
                dst[t] = s[t]
