"""The compiled loops of `winograd_jit`: Winograd F(m x m, 3 x 3)'s transforms, one fused pass
each (Numba; see `_jit`). Imported only on the first call that needs them.

Tiles are numbered by *tile rows*: tile row g of a batch is image g // TH, row g % TH of
that image's TH x TW tiles, so a range [g0, g1) of tile rows may span images and one
compiled call handles a whole chunk. Tile t of a chunk is (g - g0) * TW + tx.

* `input_tiles`: B^T d B of every alpha x alpha input tile d of the chunk (from a
  zero-padded copy of the chunk's rows of each plane), written as
  V[i * alpha + j, c, t]: the layout of the alpha^2 batched products U[k] (C_out x C_in)
  @ V[k] (C_in x tiles).
* `output_tiles`: A^T M A of every product tile, written straight into the (N, C_out, H, W)
  output (tiles cut at the map's edge).
* `output_grad_tiles`: the adjoint of `output_tiles`, A dY A^T of every m x m tile of
  dL/dy (zeros past the map's edge), for the weight gradient dU[k] = dM[k] @ V[k]^T.
* `input_tiles_cl`, `output_grad_tiles_cl`: the same values with the channels innermost
  (V[k, t, c], dM[k, t, co]) for small maps: each image's rows staged once as (row, col,
  channel), then every tile's transform on vectors over the channels (the formulas' loops
  run C long instead of over the chunk's tiles), no per-tile copy (`_gather`).

Per channel, the rows the chunk's tiles read are copied into a zero-padded buffer (the
padding written once), the tiles de-interleaved from it into d[i, l, t] (tap (i, l) of
tile t; tile by tile, alpha contiguous reads each, no checks at the map's edges), then each
transform runs axis by axis
with the innermost loop over all the chunk's tiles (contiguous, vectorised by LLVM), not
over the few tiles of one row (a 7x7 map has 2 of them). The transforms are the sparse
formulas of `winograd_formulas` (zeros dropped, +-1 entries as additions; the other
entries read from coefficient arrays in the data's dtype), inlined into each kernel, and
each kernel is compiled for F(2x2) and F(4x4) separately (`input_tiles2`, `input_tiles4`,
...; `kernels(m)`), so alpha and m are constants and the loops over them unroll. The
outputs are written back m contiguous values per tile. Each row is handed to a formula as
an explicit slice, ``d[i, l, :n]``, not as the view ``d[i, l]``: LLVM then vectorises the
formula's loop (one bt4 pass over 6 rows of 512 tiles, in isolation: 0.47 -> 0.09 ns per
value; in the kernels, where the de-interleaving and the scatter into y remain, on one
thread over the default model's four layer shapes, min of 12 alternating rounds: input
18.0 -> 16.1 ms, output 11.0 -> 10.0, output gradient 11.3 -> 9.2; the same bits).

Measured (one thread; 32->64 14x14 batch 128, F(4x4), all chunks): the input transform
2.5 ms and the output transform 6.2 ms with the matrices applied as dense tuples of
coefficients, 1.4 and 3.1 ms as inlined sparse formulas (the 36 products: 3.2 ms).
Earlier (64 ch 56x56 batch 8): with zero-padded rows built inside the loop and a strided
copy per tap, the input transform took 9.0 ms (6.8 of them the copies); from a
NumPy-padded input, tile by tile, 4.3 ms. Serial, GIL-free, cached: the threads belong to
`_parallel` (`winograd_jit`).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from ._phase_kernels import window_max
from .winograd_formulas import a2, a4, at2, at4, bt2, bt4


@jit(inline="always")
def _input_cols(n, c, alpha, d, i, tmp):
    """tmp[i, p] = sum_l B^T[p, l] d[i, l] (along the tiles' columns), tiles [0, n)."""
    if alpha == 6:
        bt4(c, d[i, 0, :n], d[i, 1, :n], d[i, 2, :n], d[i, 3, :n], d[i, 4, :n], d[i, 5, :n],
            tmp[i, 0, :n], tmp[i, 1, :n], tmp[i, 2, :n], tmp[i, 3, :n], tmp[i, 4, :n],
            tmp[i, 5, :n])
    else:
        bt2(c, d[i, 0, :n], d[i, 1, :n], d[i, 2, :n], d[i, 3, :n],
            tmp[i, 0, :n], tmp[i, 1, :n], tmp[i, 2, :n], tmp[i, 3, :n])


@jit(inline="always")
def _input_rows(n, c, alpha, tmp, b, V, ch):
    """V[p*alpha + b, ch] = sum_j B^T[p, j] tmp[j, b] (along the rows, into the products'
    layout)."""
    if alpha == 6:
        bt4(c, tmp[0, b, :n], tmp[1, b, :n], tmp[2, b, :n], tmp[3, b, :n], tmp[4, b, :n],
            tmp[5, b, :n], V[b, ch, :n], V[6 + b, ch, :n], V[12 + b, ch, :n],
            V[18 + b, ch, :n], V[24 + b, ch, :n], V[30 + b, ch, :n])
    else:
        bt2(c, tmp[0, b, :n], tmp[1, b, :n], tmp[2, b, :n], tmp[3, b, :n],
            V[b, ch, :n], V[4 + b, ch, :n], V[8 + b, ch, :n], V[12 + b, ch, :n])


@jit(inline="always")
def _staging(g0, g1, TH, TW, m, size, dtype):
    """A zeroed buffer for `_stage`: per image of the chunk (tile rows [g0, g1)), the rows
    and columns its size x size tiles at stride m read."""
    images = (g1 - 1) // TH - g0 // TH + 1
    return np.zeros((images, (min(g1 - g0, TH) - 1) * m + size, (TW - 1) * m + size),
                    dtype=dtype)


@jit(inline="always")
def _stage(x, cm, c, pt, pl, TH, m, size, g0, g1, p):
    """Copy channel c of the chunk's images into p (from `_staging`): p[j, r - top, col] =
    x[n0 + j, c, r - pt, col - pl] for the padded rows r from image j's first tile row in
    the chunk (top) on, where that is inside x; the rest of p keeps its zeros (the same
    positions for every channel). x is (N, C, H, W), or with cm (C, N, H, W) memory.

    Then every tile is read from p without a check (`_gather`). On one thread, the input
    transform of the default model's shapes: 32 ch 14x14 batch 128 2.5 -> 1.7 ms, 64 ch 7x7
    1.4 -> 1.1; 64 ch 56x56 batch 8 3.1 -> 2.5, against reading x in place with checks at
    the map's edges. Unsigned indices help this copy, not the gathering (2x slower there).
    """
    H, W = x.shape[2], x.shape[3]
    n0 = g0 // TH
    r_lo, r_hi = max(0, pt), H + pt  # the padded rows that hold x's rows
    c_lo, c_hi = max(0, pl), min(p.shape[2], W + pl)
    for j in range(p.shape[0]):
        n = n0 + j
        plane = x[c, n] if cm else x[n, c]
        top = max(g0 - n * TH, 0) * m
        bottom = (min(g1 - n * TH, TH) - 1) * m + size
        dst_plane = p[j]
        for r in range(max(r_lo, top), min(r_hi, bottom)):
            src = plane[r - pt]
            dst = dst_plane[r - top]
            for col in range(c_lo, c_hi):
                dst[np.uint64(col)] = src[np.uint64(col - pl)]


@jit(inline="always")
def _gather(p, TH, TW, m, size, g0, g1, d):
    """d[i, l, (g - g0) * TW + tx] = value (i, l) of the size x size tile (g, tx) (tile row g
    of the batch, tiles at stride m) from `_stage`'s p: the tiles de-interleaved."""
    n0 = g0 // TH
    for g in range(g0, g1):
        base = (g - g0) * TW
        j = g // TH - n0
        r0 = (g % TH) * m - max(g0 - (n0 + j) * TH, 0) * m
        padded = p[j]
        for i in range(size):
            di = d[i]
            row = padded[r0 + i]
            for tx in range(TW):
                for l in range(size):
                    di[l, base + tx] = row[tx * m + l]


@jit(inline="always")
def _input_tiles(x, cm, BT, alpha, m, pt, pl, TH, TW, g0, g1, V, c_base):
    """V[i*alpha + j, c_base + c, t] = (B^T d B)[i, j] of the chunk's tiles (tile rows
    [g0, g1)); c_base places the channels in a taller V (a 3-D layer's depth slices).

    x: the input (N, C, H, W), or with cm its channel-major memory as a (C, N, H, W)
    array, read in place (`winograd_jit` passes C-contiguous arrays; a 3-D layer's depth
    slices are strided views, compiled once more for that layout): tile (ty, tx) of
    channel c of image n covers rows ty*m - pt ... + alpha and columns tx*m - pl ...
    + alpha of x[n, c] (pt, pl: the top and left padding, negative to crop), zeros
    outside x. BT: B^T's coefficients.
    """
    C = x.shape[0] if cm else x.shape[1]
    T = (g1 - g0) * TW
    d = np.empty((alpha, alpha, T), dtype=V.dtype)  # d[i, l, t]: the tiles, de-interleaved
    tmp = np.empty((alpha, alpha, T), dtype=V.dtype)
    p = _staging(g0, g1, TH, TW, m, alpha, V.dtype)
    for c in range(C):
        _stage(x, cm, c, pt, pl, TH, m, alpha, g0, g1, p)
        _gather(p, TH, TW, m, alpha, g0, g1, d)
        # B^T along the columns (per input row i), then along the rows, into V
        for i in range(alpha):
            _input_cols(T, BT, alpha, d, i, tmp)
        for b in range(alpha):
            _input_rows(T, BT, alpha, tmp, b, V, c_base + c)


@jit(inline="always")
def _output_cols(n, c, alpha, M, i, co, tmp):
    """tmp[i, p] = sum_j A^T[p, j] M[i*alpha + j, co]."""
    k = i * alpha
    if alpha == 6:
        at4(c, M[k, co, :n], M[k + 1, co, :n], M[k + 2, co, :n], M[k + 3, co, :n],
            M[k + 4, co, :n], M[k + 5, co, :n],
            tmp[i, 0, :n], tmp[i, 1, :n], tmp[i, 2, :n], tmp[i, 3, :n])
    else:
        at2(c, M[k, co, :n], M[k + 1, co, :n], M[k + 2, co, :n], M[k + 3, co, :n],
            tmp[i, 0, :n], tmp[i, 1, :n])


@jit(inline="always")
def _output_rows(n, c, alpha, tmp, p, z):
    """z[q, p] = sum_i A^T[q, i] tmp[i, p]."""
    if alpha == 6:
        at4(c, tmp[0, p, :n], tmp[1, p, :n], tmp[2, p, :n], tmp[3, p, :n], tmp[4, p, :n],
            tmp[5, p, :n], z[0, p, :n], z[1, p, :n], z[2, p, :n], z[3, p, :n])
    else:
        at2(c, tmp[0, p, :n], tmp[1, p, :n], tmp[2, p, :n], tmp[3, p, :n],
            z[0, p, :n], z[1, p, :n])


@jit(inline="always")
def _output_transform(n, c, alpha, M, co, tmp, z):
    """z[q, p, t] = (A^T M_t A)[q, p] of filter co's product tiles t < n."""
    for i in range(alpha):
        _output_cols(n, c, alpha, M, i, co, tmp)
    for p in range(alpha - 2):
        _output_rows(n, c, alpha, tmp, p, z)


@jit(inline="always")
def _output_tiles(M, AT, alpha, TH, TW, g0, g1, y):
    """y[n, co, ty*m + q, tx*m + p] = (A^T M_tile A)[q, p] for the chunk's tile rows
    [g0, g1), where M_tile[i, j] = M[i*alpha + j, co, t]; cut at y's edges. AT: A^T's
    coefficients."""
    m = alpha - 2
    N, C_out, Ho, Wo = y.shape
    T = (g1 - g0) * TW
    tmp = np.empty((alpha, m, T), dtype=M.dtype)
    z = np.empty((m, m, T), dtype=M.dtype)
    full = min(TW, Wo // m)  # tiles wholly inside the map's width
    for co in range(C_out):
        _output_transform(T, AT, alpha, M, co, tmp, z)
        for g in range(g0, g1):
            n = g // TH
            ty = g % TH
            base = (g - g0) * TW
            for q in range(min(m, Ho - ty * m)):
                dst = y[n, co, ty * m + q]
                zq = z[q]
                # unsigned indices: no negative-index checks in the hot loop (8.0 -> 7.2 ms
                # over the default model's four layer shapes, one thread)
                for tx in range(full):
                    u = np.uint64(tx * m)
                    t = np.uint64(base + tx)
                    for p in range(m):
                        dst[u + np.uint64(p)] = zq[p, t]
                for v in range(full * m, Wo):
                    dst[v] = zq[v % m, base + v // m]


@jit(inline="always")
def _grad_cols(n, c, alpha, z, q, tmp):
    """tmp[q, j] = sum_p A[j, p] z[q, p]."""
    if alpha == 6:
        a4(c, z[q, 0, :n], z[q, 1, :n], z[q, 2, :n], z[q, 3, :n],
           tmp[q, 0, :n], tmp[q, 1, :n], tmp[q, 2, :n], tmp[q, 3, :n], tmp[q, 4, :n],
           tmp[q, 5, :n])
    else:
        a2(c, z[q, 0, :n], z[q, 1, :n],
           tmp[q, 0, :n], tmp[q, 1, :n], tmp[q, 2, :n], tmp[q, 3, :n])


@jit(inline="always")
def _grad_rows(n, c, alpha, tmp, j, dM, co):
    """dM[i*alpha + j, co] = sum_q A[i, q] tmp[q, j]."""
    if alpha == 6:
        a4(c, tmp[0, j, :n], tmp[1, j, :n], tmp[2, j, :n], tmp[3, j, :n],
           dM[j, co, :n], dM[6 + j, co, :n], dM[12 + j, co, :n], dM[18 + j, co, :n],
           dM[24 + j, co, :n], dM[30 + j, co, :n])
    else:
        a2(c, tmp[0, j, :n], tmp[1, j, :n],
           dM[j, co, :n], dM[4 + j, co, :n], dM[8 + j, co, :n], dM[12 + j, co, :n])


@jit(inline="always")
def _output_grad_tiles(gy, cm, A, alpha, TH, TW, g0, g1, dM):
    """dM[i*alpha + j, co, t] = (A dY A^T)[i, j] of the m x m tiles dY of gy (N, C_out, Ho,
    Wo; with cm its channel-major memory as (C_out, N, Ho, Wo)) in the chunk's tile rows
    [g0, g1), zeros past gy's edges: the adjoint of `output_tiles`. A: A's
    coefficients."""
    m = alpha - 2
    C_out = gy.shape[0] if cm else gy.shape[1]
    T = (g1 - g0) * TW
    z = np.empty((m, m, T), dtype=dM.dtype)
    tmp = np.empty((m, alpha, T), dtype=dM.dtype)
    # the m x m tiles gathered as `_input_tiles`' (one thread: 128 ch 7x7 batch 128 2.1 ->
    # 1.4 ms, 64 ch 14x14 1.25 -> 1.0, against reading gy with checks at its edges)
    p = _staging(g0, g1, TH, TW, m, m, dM.dtype)
    for co in range(C_out):
        _stage(gy, cm, co, 0, 0, TH, m, m, g0, g1, p)
        _gather(p, TH, TW, m, m, g0, g1, z)
        # tmp[q, j] = sum_p A[j, p] z[q, p]; dM[i*alpha + j] = sum_q A[i, q] tmp[q, j]
        for q in range(m):
            _grad_cols(T, A, alpha, z, q, tmp)
        for j in range(alpha):
            _grad_rows(T, A, alpha, tmp, j, dM, co)


@jit(inline="always")
def _stage_cl(x, cm, n, top, rows, pt, pl, S):
    """S[r - top, col, c] = x[n, c, r - pt, col - pl] (channels innermost) for the padded
    rows r in [top, top + rows) of image n, zeros outside x (x (N, C, H, W), or with cm its
    (C, N, H, W) memory)."""
    C = x.shape[0] if cm else x.shape[1]
    H, W = x.shape[2], x.shape[3]
    S[:rows] = 0
    c_lo, c_hi = max(0, pl), min(S.shape[1], W + pl)
    # Written along the channels (contiguous), not plane by plane (writes C apart): AVX2,
    # one thread, the whole input transform, batch 128, old -> new, ms: NCHW 32 ch 14 x 14
    # 2.48 -> 1.55, 64 ch 7 x 7 1.15 -> 0.55, 128 ch 7 x 7 2.28 -> 1.08, 64 ch 14 x 14
    # 4.26 -> 3.14; channel-major memory (reads a plane of the batch apart, so eight
    # channels' rows at a time) 3.54 -> 1.9, 1.73 -> 0.73, 3.38 -> 1.2-2.1, 4.27 -> 2.9-5.0.
    for r in range(max(top, pt), min(top + rows, H + pt)):
        dst = S[r - top]
        if cm:  # eight channels' rows at a time (a plane apart: many pages)
            for cb in range(C % 8, C, 8):
                s0, s1, s2, s3 = (x[cb, n, r - pt], x[cb + 1, n, r - pt], x[cb + 2, n, r - pt],
                                  x[cb + 3, n, r - pt])
                s4, s5, s6, s7 = (x[cb + 4, n, r - pt], x[cb + 5, n, r - pt],
                                  x[cb + 6, n, r - pt], x[cb + 7, n, r - pt])
                for col in range(c_lo, c_hi):
                    d, j = dst[col, cb:], col - pl
                    d[0], d[1], d[2], d[3] = s0[j], s1[j], s2[j], s3[j]
                    d[4], d[5], d[6], d[7] = s4[j], s5[j], s6[j], s7[j]
        for col in range(c_lo, c_hi):
            d = dst[col]
            if cm:
                for c in range(C % 8):
                    d[c] = x[c, n, r - pt, col - pl]
            else:
                for c in range(C):
                    d[c] = x[n, c, r - pt, col - pl]


@jit(inline="always")
def _input_tiles_cl(x, cm, BT, alpha, m, pt, pl, TH, TW, g0, g1, V):
    """`_input_tiles` into V[k, t, c], the channels innermost (the products then take V
    transposed): per image of the chunk, its rows are staged once as S[row, col, c], and
    each tile's transform runs on vectors over the channels (the formulas' loops, C long),
    with no per-tile copy of the 6 x 6 values (`_gather`'s scalar loop, the cost of
    `_input_tiles` on maps 2-4 tiles wide). The same values as `_input_tiles`."""
    C = x.shape[0] if cm else x.shape[1]
    S = np.empty(((min(g1 - g0, TH) - 1) * m + alpha, (TW - 1) * m + alpha, C),
                 dtype=V.dtype)
    tmp = np.empty((alpha, alpha, C), dtype=V.dtype)
    for n in range(g0 // TH, (g1 - 1) // TH + 1):
        ga, gb = max(g0, n * TH), min(g1, (n + 1) * TH)
        top = (ga - n * TH) * m  # the first padded row of the image's tiles in the chunk
        _stage_cl(x, cm, n, top, (gb - ga - 1) * m + alpha, pt, pl, S)
        for g in range(ga, gb):
            r0 = (g - n * TH) * m - top
            for tx in range(TW):
                t = (g - g0) * TW + tx
                c0 = tx * m
                for i in range(alpha):  # B^T along the tile's columns, per row i
                    Si = S[r0 + i]
                    if alpha == 6:
                        bt4(BT, Si[c0, :C], Si[c0 + 1, :C], Si[c0 + 2, :C], Si[c0 + 3, :C],
                            Si[c0 + 4, :C], Si[c0 + 5, :C], tmp[i, 0, :C], tmp[i, 1, :C],
                            tmp[i, 2, :C], tmp[i, 3, :C], tmp[i, 4, :C], tmp[i, 5, :C])
                    else:
                        bt2(BT, Si[c0, :C], Si[c0 + 1, :C], Si[c0 + 2, :C], Si[c0 + 3, :C],
                            tmp[i, 0, :C], tmp[i, 1, :C], tmp[i, 2, :C], tmp[i, 3, :C])
                for b in range(alpha):  # then along the rows, into V[p * alpha + b, t]
                    if alpha == 6:
                        bt4(BT, tmp[0, b, :C], tmp[1, b, :C], tmp[2, b, :C], tmp[3, b, :C],
                            tmp[4, b, :C], tmp[5, b, :C], V[b, t, :C], V[6 + b, t, :C],
                            V[12 + b, t, :C], V[18 + b, t, :C], V[24 + b, t, :C],
                            V[30 + b, t, :C])
                    else:
                        bt2(BT, tmp[0, b, :C], tmp[1, b, :C], tmp[2, b, :C], tmp[3, b, :C],
                            V[b, t, :C], V[4 + b, t, :C], V[8 + b, t, :C], V[12 + b, t, :C])


@jit
def input_tiles_cl2(x, cm, BT, pt, pl, TH, TW, g0, g1, V):
    """`_input_tiles_cl` of F(2x2, 3x3)."""
    _input_tiles_cl(x, cm, BT, 4, 2, pt, pl, TH, TW, g0, g1, V)


@jit
def input_tiles_cl4(x, cm, BT, pt, pl, TH, TW, g0, g1, V):
    """`_input_tiles_cl` of F(4x4, 3x3)."""
    _input_tiles_cl(x, cm, BT, 6, 4, pt, pl, TH, TW, g0, g1, V)


@jit(inline="always")
def _output_grad_tiles_cl(gy, cm, A, alpha, TH, TW, g0, g1, dM):
    """`_output_grad_tiles` into dM[k, t, co], the channels innermost (the weight products
    then take dM transposed), staged per image as `_input_tiles_cl` stages its input. The
    same values as `_output_grad_tiles`."""
    m = alpha - 2
    C_out = gy.shape[0] if cm else gy.shape[1]
    S = np.empty((min(g1 - g0, TH) * m, TW * m, C_out), dtype=dM.dtype)
    tmp = np.empty((m, alpha, C_out), dtype=dM.dtype)
    for n in range(g0 // TH, (g1 - 1) // TH + 1):
        ga, gb = max(g0, n * TH), min(g1, (n + 1) * TH)
        top = (ga - n * TH) * m  # the image's first tile row in the chunk, in rows
        _stage_cl(gy, cm, n, top, (gb - ga) * m, 0, 0, S)
        for g in range(ga, gb):
            r0 = (g - n * TH) * m - top
            for tx in range(TW):
                t = (g - g0) * TW + tx
                c0 = tx * m
                for q in range(m):  # tmp[q, j] = sum_p A[j, p] z[q, p]
                    Sq = S[r0 + q]
                    if alpha == 6:
                        a4(A, Sq[c0, :C_out], Sq[c0 + 1, :C_out], Sq[c0 + 2, :C_out],
                           Sq[c0 + 3, :C_out], tmp[q, 0, :C_out], tmp[q, 1, :C_out],
                           tmp[q, 2, :C_out], tmp[q, 3, :C_out], tmp[q, 4, :C_out],
                           tmp[q, 5, :C_out])
                    else:
                        a2(A, Sq[c0, :C_out], Sq[c0 + 1, :C_out], tmp[q, 0, :C_out],
                           tmp[q, 1, :C_out], tmp[q, 2, :C_out], tmp[q, 3, :C_out])
                for j in range(alpha):  # dM[i * alpha + j] = sum_q A[i, q] tmp[q, j]
                    if alpha == 6:
                        a4(A, tmp[0, j, :C_out], tmp[1, j, :C_out], tmp[2, j, :C_out],
                           tmp[3, j, :C_out], dM[j, t, :C_out], dM[6 + j, t, :C_out],
                           dM[12 + j, t, :C_out], dM[18 + j, t, :C_out],
                           dM[24 + j, t, :C_out], dM[30 + j, t, :C_out])
                    else:
                        a2(A, tmp[0, j, :C_out], tmp[1, j, :C_out], dM[j, t, :C_out],
                           dM[4 + j, t, :C_out], dM[8 + j, t, :C_out], dM[12 + j, t, :C_out])


@jit
def output_grad_tiles_cl2(gy, cm, A, TH, TW, g0, g1, dM):
    """`_output_grad_tiles_cl` of F(2x2, 3x3)."""
    _output_grad_tiles_cl(gy, cm, A, 4, TH, TW, g0, g1, dM)


@jit
def output_grad_tiles_cl4(gy, cm, A, TH, TW, g0, g1, dM):
    """`_output_grad_tiles_cl` of F(4x4, 3x3)."""
    _output_grad_tiles_cl(gy, cm, A, 6, TH, TW, g0, g1, dM)


@jit
def input_tiles2(x, cm, BT, pt, pl, TH, TW, g0, g1, V, c_base):
    """`_input_tiles` of F(2x2, 3x3) (alpha = 4 a constant: its loops unroll)."""
    _input_tiles(x, cm, BT, 4, 2, pt, pl, TH, TW, g0, g1, V, c_base)


@jit
def input_tiles4(x, cm, BT, pt, pl, TH, TW, g0, g1, V, c_base):
    """`_input_tiles` of F(4x4, 3x3) (alpha = 6)."""
    _input_tiles(x, cm, BT, 6, 4, pt, pl, TH, TW, g0, g1, V, c_base)


@jit
def output_tiles2(M, AT, TH, TW, g0, g1, y):
    """`_output_tiles` of F(2x2, 3x3) (alpha = 4 a constant: its loops unroll)."""
    _output_tiles(M, AT, 4, TH, TW, g0, g1, y)


@jit
def output_tiles4(M, AT, TH, TW, g0, g1, y):
    """`_output_tiles` of F(4x4, 3x3) (alpha = 6)."""
    _output_tiles(M, AT, 6, TH, TW, g0, g1, y)


@jit
def output_grad_tiles2(gy, cm, A, TH, TW, g0, g1, dM):
    """`_output_grad_tiles` of F(2x2, 3x3) (alpha = 4 a constant: its loops unroll)."""
    _output_grad_tiles(gy, cm, A, 4, TH, TW, g0, g1, dM)


@jit
def output_grad_tiles4(gy, cm, A, TH, TW, g0, g1, dM):
    """`_output_grad_tiles` of F(4x4, 3x3) (alpha = 6)."""
    _output_grad_tiles(gy, cm, A, 6, TH, TW, g0, g1, dM)


@jit(inline="always")
def _output_tiles_pool(M, AT, alpha, TH, TW, g0, g1, bias, y, arg):
    """`_output_tiles` followed by 2x2 max pooling at stride 2, in one pass: y (C_out, N, PH,
    PW), channel-major, the maxima of the convolution's outputs (plus bias[co], when bias
    has C_out entries, added before the maximum), arg the tap of each maximum (kh * 2 + kw,
    uint8), `pool_jit`'s rule (the first maximum in kernel order, or the last NaN). The
    pooling windows never cross a tile (m is even), and the convolution's outputs are never
    written: the pooled map is a quarter of them. Each window position (a, c) of a tile is
    pooled over all the chunk's tiles in one vector loop (`_phase_kernels.window_max`), then the pooled
    tiles are written out with unsigned indices. A loop over the windows tile by tile, with
    a branch per tap, ran scalar and mispredicted: on an AVX2 machine, one thread, the
    default model's two pooled layers took 14.0 ms per training step, 4.0 ms so (8.3 with
    the vector loop but the writes indexed as before)."""
    m = alpha - 2
    h = m // 2
    C_out, PH, PW = y.shape[0], y.shape[2], y.shape[3]
    T = (g1 - g0) * TW
    tmp = np.empty((alpha, m, T), dtype=M.dtype)
    z = np.empty((m, m, T), dtype=M.dtype)
    pv = np.empty((h, h, T), dtype=M.dtype)
    pk = np.empty((h, h, T), dtype=np.uint8)
    add = bias.shape[0] == C_out
    for co in range(C_out):
        _output_transform(T, AT, alpha, M, co, tmp, z)
        b = bias[co] if add else M.dtype.type(0)
        for a in range(h):
            for c in range(h):
                window_max(z[2 * a, 2 * c, :T], z[2 * a, 2 * c + 1, :T],
                           z[2 * a + 1, 2 * c, :T], z[2 * a + 1, 2 * c + 1, :T], b, add,
                           pv[a, c, :T], pk[a, c, :T], T)
        full = min(TW, PW // h)  # tiles whose pooled windows all lie inside the map
        for g in range(g0, g1):
            n = g // TH
            ty = g % TH
            base = (g - g0) * TW
            for a in range(min(h, PH - ty * h)):
                dst = y[co, n, ty * h + a]
                adst = arg[co, n, ty * h + a]
                for c in range(h):
                    # unsigned indices, as `_output_tiles`: no negative-index checks
                    vc, kc = pv[a, c, base:], pk[a, c, base:]
                    for tx in range(full):
                        u = np.uint64(tx * h + c)
                        dst[u] = vc[np.uint64(tx)]
                        adst[u] = kc[np.uint64(tx)]
                for v in range(full * h, PW):
                    dst[v] = pv[a, v % h, base + v // h]
                    adst[v] = pk[a, v % h, base + v // h]


@jit
def output_tiles_pool2(M, AT, TH, TW, g0, g1, bias, y, arg):
    """`_output_tiles_pool` of F(2x2, 3x3)."""
    _output_tiles_pool(M, AT, 4, TH, TW, g0, g1, bias, y, arg)


@jit
def output_tiles_pool4(M, AT, TH, TW, g0, g1, bias, y, arg):
    """`_output_tiles_pool` of F(4x4, 3x3)."""
    _output_tiles_pool(M, AT, 6, TH, TW, g0, g1, bias, y, arg)


def kernels(m):
    """(input_tiles, output_tiles, output_grad_tiles) of F(m x m, 3 x 3)."""
    return {2: (input_tiles2, output_tiles2, output_grad_tiles2),
            4: (input_tiles4, output_tiles4, output_grad_tiles4)}[m]


def input_kernel_cl(m):
    """`_input_tiles_cl` of F(m x m, 3 x 3)."""
    return {2: input_tiles_cl2, 4: input_tiles_cl4}[m]


def output_grad_kernel_cl(m):
    """`_output_grad_tiles_cl` of F(m x m, 3 x 3)."""
    return {2: output_grad_tiles_cl2, 4: output_grad_tiles_cl4}[m]


def pooling_kernel(m):
    """`_output_tiles_pool` of F(m x m, 3 x 3)."""
    return {2: output_tiles_pool2, 4: output_tiles_pool4}[m]
