"""The compiled loops of `winograd_jit`'s 1-D layers: F(m, r)'s transforms along one axis, one
pass each (Numba; see `_jit`). Imported only on the first call that needs them.

Tiles are numbered over the batch: tile g is sample g // T, tile g % T of its T tiles (tile
t covers the outputs m t ... m t + m - 1 and reads the padded input from m t on), so a range
[g0, g1) of tiles may span samples and one call handles a whole chunk; tile i of a chunk is
g0 + i.

* `input_tiles`: B^T d of every alpha-long input tile d of the chunk, written as V[p, c, i]:
  the layout of the alpha batched products U[p] (C_out x C_in) @ V[p] (C_in x tiles).
* `output_tiles`: A^T M of every product tile, written straight into the (N, C_out, L)
  output (the last tile of a sample cut at its end).
* `output_grad_tiles`: the adjoint of `output_tiles`, A dy of every m-long tile of dL/dy
  (zeros past the end), for the weight gradient dU[p] = dM[p] @ V[p]^T.

Per channel, each tile's alpha inputs (m t - pad ... m t - pad + alpha - 1, zero outside the
sample) are de-interleaved into d[j, i] (a copy of contiguous runs where the tile lies inside
the sample, checked reads at its edges), then the transform runs as the sparse formula of
`winograd_formulas` over all the chunk's tiles at once (the innermost loop over tiles,
contiguous, vectorised by LLVM; each row handed over as an explicit slice ``d[j, :n]``, as
`winograd_kernels` explains). Each kernel is compiled per (m, r) (``input_tiles4k5``, ...;
`kernels(m, r)`), so alpha and m are constants and the loops over them unroll. Serial,
GIL-free, cached: the threads belong to `_parallel` (`winograd_jit`).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .winograd_formulas import a2, a4, a4k5, at2, at4, at4k5, bt2, bt4, bt4k5


@jit(inline="always")
def _row(x, cm, n, c):
    """The contiguous line of sample n, channel c, of x in NCL (cm False) or CNL memory."""
    return x[c, n] if cm else x[n, c]


@jit(inline="always")
def _phases(xr, m, u0, ph, n):
    """ph[q, k] := xr[u0 + m k + q] for k < n, q < m (zero outside the line): the line
    de-interleaved into its m phases from u0 on."""
    L = xr.shape[0]
    lo = min(n, max(0, -(u0 // m)))  # the k whose m values all lie inside: [lo, hi)
    hi = max(lo, min(n, (L - m - u0) // m + 1)) if L - m - u0 >= 0 else lo
    src = xr[u0 + m * lo:u0 + m * hi]  # views from 0, indices from range(): no wraparound
    dst = ph[:, lo:hi]                 # checks, so the loop vectorises
    for k in range(hi - lo):
        for q in range(m):
            dst[q, k] = src[m * k + q]
    for k in range(lo):
        _phase_checked(xr, m, u0 + m * k, ph, k)
    for k in range(hi, n):
        _phase_checked(xr, m, u0 + m * k, ph, k)


@jit(inline="always")
def _phase_checked(xr, m, u, ph, k):
    """ph[q, k] := xr[u + q], zero outside the line."""
    for q in range(m):
        ph[q, k] = xr[u + q] if 0 <= u + q < xr.shape[0] else xr.dtype.type(0)


@jit(inline="always")
def _bt_segment(BT, alpha, m, ph, V, c, o, n):
    """V[p, c, o:o + n] = sum_j B^T[p, j] d_j, d_j = ph[j % m, j // m:j // m + n] (the
    formula for this alpha)."""
    e = o + n
    if alpha == 4:  # m = 2
        bt2(BT, ph[0, :n], ph[1, :n], ph[0, 1:n + 1], ph[1, 1:n + 1],
            V[0, c, o:e], V[1, c, o:e], V[2, c, o:e], V[3, c, o:e])
    elif alpha == 6:  # m = 4
        bt4(BT, ph[0, :n], ph[1, :n], ph[2, :n], ph[3, :n], ph[0, 1:n + 1], ph[1, 1:n + 1],
            V[0, c, o:e], V[1, c, o:e], V[2, c, o:e], V[3, c, o:e], V[4, c, o:e],
            V[5, c, o:e])
    else:  # alpha 8, m = 4
        bt4k5(BT, ph[0, :n], ph[1, :n], ph[2, :n], ph[3, :n], ph[0, 1:n + 1],
              ph[1, 1:n + 1], ph[2, 1:n + 1], ph[3, 1:n + 1],
              V[0, c, o:e], V[1, c, o:e], V[2, c, o:e], V[3, c, o:e], V[4, c, o:e],
              V[5, c, o:e], V[6, c, o:e], V[7, c, o:e])


@jit(inline="always")
def _at(AT, alpha, M, co, z, n):
    """z[i, :n] = sum_p A^T[i, p] M[p, co, :n]."""
    if alpha == 4:
        at2(AT, M[0, co, :n], M[1, co, :n], M[2, co, :n], M[3, co, :n], z[0, :n], z[1, :n])
    elif alpha == 6:
        at4(AT, M[0, co, :n], M[1, co, :n], M[2, co, :n], M[3, co, :n], M[4, co, :n],
            M[5, co, :n], z[0, :n], z[1, :n], z[2, :n], z[3, :n])
    else:
        at4k5(AT, M[0, co, :n], M[1, co, :n], M[2, co, :n], M[3, co, :n], M[4, co, :n],
              M[5, co, :n], M[6, co, :n], M[7, co, :n], z[0, :n], z[1, :n], z[2, :n],
              z[3, :n])


@jit(inline="always")
def _a(A, alpha, z, dM, co, n):
    """dM[p, co, :n] = sum_i A[p, i] z[i, :n]."""
    if alpha == 4:
        a2(A, z[0, :n], z[1, :n], dM[0, co, :n], dM[1, co, :n], dM[2, co, :n], dM[3, co, :n])
    elif alpha == 6:
        a4(A, z[0, :n], z[1, :n], z[2, :n], z[3, :n], dM[0, co, :n], dM[1, co, :n],
           dM[2, co, :n], dM[3, co, :n], dM[4, co, :n], dM[5, co, :n])
    else:
        a4k5(A, z[0, :n], z[1, :n], z[2, :n], z[3, :n], dM[0, co, :n], dM[1, co, :n],
             dM[2, co, :n], dM[3, co, :n], dM[4, co, :n], dM[5, co, :n], dM[6, co, :n],
             dM[7, co, :n])


@jit(inline="always")
def _input_tiles(x, cm, BT, alpha, m, pl, T, g0, g1, V):
    """V[p, c, i] = (B^T d)[p] of every tile i of [g0, g1) and channel c of x (NCL, or CNL
    with cm), the tile's inputs zero outside the sample: sample by sample, the line from
    the segment's first input on is de-interleaved into its m phases, and input j of tile i
    is then phase j % m at i + j // m (rows of contiguous values for the formula)."""
    C = V.shape[1]
    ext = (alpha - 1) // m  # phase columns past a segment's last tile
    ph = np.empty((m, min(T, g1 - g0) + ext), dtype=V.dtype)
    for c in range(C):
        g = g0
        while g < g1:  # the chunk's tiles, sample by sample
            s = g // T
            e = min(g1, (s + 1) * T)
            n, o = e - g, g - g0
            _phases(_row(x, cm, s, c), m, m * (g - s * T) - pl, ph, n + ext)
            _bt_segment(BT, alpha, m, ph, V, c, o, n)
            g = e


@jit(inline="always")
def _output_tiles(M, AT, alpha, m, T, g0, g1, y):
    """y[s, co, m t + k] = (A^T M)[k] of every tile of [g0, g1), cut at the sample's end."""
    C_out, L = y.shape[1], y.shape[2]
    n = g1 - g0
    z = np.empty((m, n), dtype=M.dtype)
    for co in range(C_out):
        _at(AT, alpha, M, co, z, n)
        g = g0
        while g < g1:
            s = g // T
            e = min(g1, (s + 1) * T)
            u0 = m * (g - s * T)
            yr = y[s, co, u0:]  # views from 0 (see `_phases`)
            zs = z[:, g - g0:]
            full = min(e - g, (L - u0) // m)  # tiles whose m outputs all lie in the line
            for i in range(full):
                for k in range(m):
                    yr[m * i + k] = zs[k, i]
            for i in range(full, e - g):
                for k in range(L - u0 - m * i):
                    yr[m * i + k] = zs[k, i]
            g = e


@jit(inline="always")
def _output_grad_tiles(gy, cm, A, alpha, m, T, g0, g1, dM):
    """dM[p, co, i] = (A z)[p], z the m values of dL/dy (NCL, or CNL with cm) of tile i
    (zeros past the sample's end)."""
    C_out = dM.shape[1]
    n = g1 - g0
    z = np.empty((m, n), dtype=dM.dtype)
    for co in range(C_out):
        g = g0
        while g < g1:
            s = g // T
            e = min(g1, (s + 1) * T)
            o = g - g0
            _phases(_row(gy, cm, s, co), m, m * (g - s * T), z[:, o:], e - g)
            g = e
        _a(A, alpha, z, dM, co, n)


@jit
def input_tiles2(x, cm, BT, pl, T, g0, g1, V):
    """`_input_tiles` of F(2, 3) (alpha = 4 a constant: its loops unroll)."""
    _input_tiles(x, cm, BT, 4, 2, pl, T, g0, g1, V)


@jit
def input_tiles4(x, cm, BT, pl, T, g0, g1, V):
    """`_input_tiles` of F(4, 3) (alpha = 6)."""
    _input_tiles(x, cm, BT, 6, 4, pl, T, g0, g1, V)


@jit
def input_tiles4k5(x, cm, BT, pl, T, g0, g1, V):
    """`_input_tiles` of F(4, 5) (alpha = 8)."""
    _input_tiles(x, cm, BT, 8, 4, pl, T, g0, g1, V)


@jit
def output_tiles2(M, AT, T, g0, g1, y):
    """`_output_tiles` of F(2, 3)."""
    _output_tiles(M, AT, 4, 2, T, g0, g1, y)


@jit
def output_tiles4(M, AT, T, g0, g1, y):
    """`_output_tiles` of F(4, 3)."""
    _output_tiles(M, AT, 6, 4, T, g0, g1, y)


@jit
def output_tiles4k5(M, AT, T, g0, g1, y):
    """`_output_tiles` of F(4, 5)."""
    _output_tiles(M, AT, 8, 4, T, g0, g1, y)


@jit
def output_grad_tiles2(gy, cm, A, T, g0, g1, dM):
    """`_output_grad_tiles` of F(2, 3)."""
    _output_grad_tiles(gy, cm, A, 4, 2, T, g0, g1, dM)


@jit
def output_grad_tiles4(gy, cm, A, T, g0, g1, dM):
    """`_output_grad_tiles` of F(4, 3)."""
    _output_grad_tiles(gy, cm, A, 6, 4, T, g0, g1, dM)


@jit
def output_grad_tiles4k5(gy, cm, A, T, g0, g1, dM):
    """`_output_grad_tiles` of F(4, 5)."""
    _output_grad_tiles(gy, cm, A, 8, 4, T, g0, g1, dM)


def kernels(m, r):
    """(input_tiles, output_tiles, output_grad_tiles) of F(m, r)."""
    return {(2, 3): (input_tiles2, output_tiles2, output_grad_tiles2),
            (4, 3): (input_tiles4, output_tiles4, output_grad_tiles4),
            (4, 5): (input_tiles4k5, output_tiles4k5, output_grad_tiles4k5)}[m, r]
