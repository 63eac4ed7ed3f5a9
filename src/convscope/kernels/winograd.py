"""Winograd minimal filtering for stride-1 convolutions (Lavin & Gray 2016), any rank.

Along one axis, F(m, r) computes m outputs of an r-tap correlation from a tile of
alpha = m + r - 1 inputs with alpha multiplications instead of r m::

    y = A^T [(G g) * (B^T d)]          g: the r taps, d: the alpha inputs of one tile

Along several axes the transforms apply axis by axis (2D: A^T [(G g G^T) * (B^T d B)] A).
Summed over input channels, the elementwise product becomes, for each of the alpha^n tile
positions, one matrix product (C_out x C_in) @ (C_in x tiles): a 3x3 layer does
(alpha/m)^2 = 2.25 multiplications per output and input channel with F(4x4, 3x3) instead of
9. The transforms are small matrix products along one axis of preallocated arrays.

The matrices come from the Toom-Cook construction with interpolation points p (plus the
point at infinity): A^T and G are Vandermonde matrices of the points and B^T is solved from
the identity sum_j A^T[i,j] G[j,k] B^T[j,l] = [l == i + k], which is exactly the 1-D
correlation. Larger tiles need more points, and far-apart points grow the rounding error;
F(4, 3) uses the points 0, +-1, 1/2, -2 (Barabasz et al. 2020, "Error analysis and improving
the accuracy of Winograd convolution"), F(4, 5) the points 0, +-1, +-1/2, +-2 (8
multiplications for 4 outputs of a 5-tap layer instead of 20); their float32 error is
measured in the tests. The kernel sizes with default points are the keys of `POINTS`: 3 along
every axis (F(2, 3), F(4, 3)) and 5 (F(4, 5): 1-D layers are where the compiled kernel
`winograd_jit` uses it; 2-D 5x5 runs here, 64 multiplications per tile of 16 outputs).

The work is split into bands of tile rows along the first spatial axis, so the expanded
tiles of one band stay small (a few MB, in cache) and the extra memory stays bounded.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _adjoint, im2col
from .im2col import pad_channel_major

#: Interpolation points (the point at infinity is added) of F(m, r), by (tile size m,
#: kernel size r).
POINTS = {(2, 3): (0.0, 1.0, -1.0), (4, 3): (0.0, 1.0, -1.0, 0.5, -2.0),
          (4, 5): (0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0)}
#: Expanded input tiles of one band (bytes); bounds the extra memory and keeps it in cache.
BAND_BYTES = 4 << 20


def matrices(m: int, r: int = 3, points=None):
    """(A^T (m, alpha), G (alpha, r), B^T (alpha, alpha)) of F(m, r) in float64.

    `points`: the m + r - 2 finite interpolation points, any sequence of real numbers
    (default `POINTS[m, r]`). The arrays are cached and shared by every caller, so they are
    read-only (copy one to change it).
    """
    if points is not None:
        try:
            points = tuple(float(p) for p in points)
        except (TypeError, ValueError):
            raise TypeError(f"winograd.matrices: points must be a sequence of real numbers, "
                            f"got {points!r}") from None
    elif (m, r) not in POINTS:
        raise ValueError(f"winograd.matrices: no default points for F({m}, {r}); give "
                         f"{m + r - 2} points (defaults exist for (m, r) in "
                         f"{sorted(POINTS)})")
    return _matrices(m, r, points)


@functools.lru_cache(maxsize=None)
def _matrices(m, r, points):
    alpha = m + r - 1
    p = np.array(POINTS[m, r] if points is None else points, dtype=np.float64)
    if p.size != alpha - 1:
        raise ValueError(f"winograd.matrices: F({m}, {r}) needs {alpha - 1} points, got "
                         f"{p.size}")
    AT = np.zeros((m, alpha))
    AT[:, :-1] = p[None, :] ** np.arange(m)[:, None]
    AT[m - 1, -1] = 1.0
    f = np.array([np.prod([pj - pl for pl in p if pl != pj]) for pj in p])
    G = np.zeros((alpha, r))
    G[:-1] = p[:, None] ** np.arange(r)[None, :] / f[:, None]
    G[-1, r - 1] = 1.0
    # B^T solves sum_j AT[i,j] G[j,k] BT[j,l] = [l == i + k] for every i < m, k < r
    system = np.einsum("ij,jk->ikj", AT, G).reshape(m * r, alpha)
    target = np.zeros((m, r, alpha))
    for i in range(m):
        for k in range(r):
            target[i, k, i + k] = 1.0
    BT, *_ = np.linalg.lstsq(system, target.reshape(m * r, alpha), rcond=None)
    if not np.allclose(system @ BT, target.reshape(m * r, alpha), atol=1e-9):
        raise ValueError(f"winograd.matrices: points {tuple(p)} give no F({m}, {r})")
    for a in (AT, G, BT):
        a.setflags(write=False)
    return AT, G, BT


def _apply(M, take, put, scratch):
    """put(p)[...] = sum_j M[p, j] * take(j) for every row p of the small matrix M.

    Slice arithmetic over whole sub-arrays: one pass over memory per nonzero coefficient,
    most of them 0 or +-1; faster here than a BLAS product with 4- or 6-long rows.
    """
    for p, row in enumerate(M):
        o = put(p)
        (j0, c0), *rest = [(j, c) for j, c in enumerate(row) if c != 0.0]
        if rest and c0 == 1.0 and abs(rest[0][1]) == 1.0:
            (np.add if rest[0][1] == 1.0 else np.subtract)(take(j0), take(rest[0][0]), out=o)
            rest = rest[1:]
        elif c0 == 1.0:
            np.copyto(o, take(j0))
        else:
            np.multiply(take(j0), c0, out=o)
        for j, c in rest:
            if abs(c) == 1.0:
                (np.add if c == 1.0 else np.subtract)(o, take(j), out=o)
            else:
                tmp = scratch(o.shape)
                np.multiply(take(j), c, out=tmp)
                o += tmp


def _scratch(dtype):
    """A function returning a reusable temporary of a given shape."""
    cache = {}

    def get(shape):
        if shape not in cache:
            cache[shape] = np.empty(shape, dtype=dtype)
        return cache[shape]
    return get


def _along_axes(M, a, n):
    """M (p, q) applied along each of the n leading axes (size q) of a, into new arrays."""
    scratch = _scratch(a.dtype)
    for i in range(n):
        out = np.empty(a.shape[:i] + (M.shape[0],) + a.shape[i + 1:], dtype=a.dtype)
        lead = (slice(None),) * i
        _apply(M, lambda j: a[lead + (j,)], lambda p: out[lead + (p,)], scratch)
        a = out
    return a


def _input_transform(BT, xb, m, T, scratch):
    """B^T d B over all tiles: (alpha,)*n + (C, N, *T) from the padded (C, N, *Sp) band.

    Axis by axis: the alpha inputs of tile t along axis i are the strided slice
    j + m*t (j < alpha), so each pass reads windows of the previous array and writes one
    new leading axis; the overlapping tiles are never copied out.
    """
    n = len(T)
    alpha = BT.shape[0]
    a = xb
    for i in range(n):
        # a: (alpha,)*i + (C, N) + T[:i] + Sp[i:]  ->  (alpha,)*(i+1) + (C, N) + T[:i+1] + ...
        out = np.empty((alpha,) * (i + 1) + a.shape[i:2 * i + 2] + (T[i],) + a.shape[2 * i + 3:],
                       dtype=a.dtype)
        take = (slice(None),) * (2 * i + 2)
        put = (slice(None),) * i
        _apply(BT, lambda j: a[take + (slice(j, j + m * (T[i] - 1) + 1, m),)],
               lambda p: out[put + (p,)], scratch)
        a = out
    return a


def products(U, V, out):
    """out[k] = U[k] @ V[k] for every tile position k, group by group: U (alpha^n, G,
    C_out/G, C_in/G), V (alpha^n, C_in, tiles), out (alpha^n, C_out, tiles). The compiled
    kernels' chunks (`winograd_jit`, `winograd1d_jit`) multiply in the Winograd domain
    through this."""
    G, Cog, Cg = U.shape[1:]
    if G == 1:
        return np.matmul(U[:, 0], V, out=out)
    for g in range(G):
        np.matmul(U[:, g], V[:, g * Cg:(g + 1) * Cg], out=out[:, g * Cog:(g + 1) * Cog])
    return out


def weight_products(dM, V, out, groups):
    """out[k] = dM[k] @ V[k]^T per group, the weight gradient in the Winograd domain: dM
    (alpha^n, C_out, tiles), V (alpha^n, C_in, tiles), out (alpha^n, C_out, C_in/G)."""
    Cog, Cg = dM.shape[1] // groups, V.shape[1] // groups
    for g in range(groups):
        np.matmul(dM[:, g * Cog:(g + 1) * Cog], V[:, g * Cg:(g + 1) * Cg].transpose(0, 2, 1),
                  out=out[:, g * Cog:(g + 1) * Cog])
    return out


def transform_weight(w, groups, m):
    """U (alpha^n, G, C_out/G, C_in/G): G g G^T along every kernel axis (r x ... x r)."""
    C_out, C_in_g, *K = w.shape
    n = len(K)
    _, Gm, _ = matrices(m, K[0])
    u = np.moveaxis(w, range(2, 2 + n), range(n))  # (r,)*n + (C_out, C_in/G)
    u = _along_axes(Gm, u, n)
    alpha = m + K[0] - 1
    return u.reshape(alpha ** n, groups, C_out // groups, C_in_g)


def forward(x, w, stride, pads, dilation, groups, out_size, m=4):
    """y (N, C_out, *O) of an r x..x r stride-1 convolution, as a channel-major view."""
    N, C = x.shape[:2]
    C_out, r = w.shape[0], w.shape[2]
    n = x.ndim - 2
    alpha = m + r - 1
    AT, _, BT = matrices(m, r)
    AT, BT = AT.astype(x.dtype), BT.astype(x.dtype)
    T = [-(-o // m) for o in out_size]  # tiles per axis
    # padded so that every tile has its alpha inputs: T*m + r - 1 along each axis
    full = [(b, t * m + r - 1 - s - b) for s, (b, _), t in zip(x.shape[2:], pads, T)]
    # inputs past the last tile (an output size cut short, as output_padding does) unused
    x = x[(slice(None), slice(None)) + tuple(slice(0, s + min(a, 0))
                                             for s, (_, a) in zip(x.shape[2:], full))]
    xp = pad_channel_major(x, [(b, max(a, 0)) for b, a in full])  # (C, N, *Sp)
    U = transform_weight(w, groups, m).astype(x.dtype)
    y = np.empty((C_out, N, *(t * m for t in T)), dtype=x.dtype)
    y_tiles = y.reshape(C_out, N, *(v for t in T for v in (t, m)))  # (C_out, N, t_0, m, ...)
    rest = math.prod(T[1:])
    band = max(1, min(T[0], BAND_BYTES // max(1, x.itemsize * alpha ** n * C * N * rest)))
    scratch = _scratch(x.dtype)
    # y's tiles in the order of the transforms' output: (m,)*n + (C_out, N, *T), a view
    order = [3 + 2 * i for i in range(n)] + [0, 1] + [2 + 2 * i for i in range(n)]
    for t0 in range(0, T[0], band):
        t1 = min(T[0], t0 + band)
        Tb = (t1 - t0, *T[1:])
        V = _input_transform(BT, xp[:, :, t0 * m:t1 * m + r - 1], m, Tb, scratch)
        L = N * math.prod(Tb)
        Mo = np.matmul(U, V.reshape(alpha ** n, groups, C // groups, L))
        Mo = Mo.reshape((alpha,) * n + (C_out, N, *Tb))
        Z = _along_axes(AT, Mo, n)  # (m,)*n + (C_out, N, *Tb)
        y_tiles[:, :, t0:t1].transpose(order)[...] = Z
    y = y[(slice(None), slice(None)) + tuple(slice(0, o) for o in out_size)]
    return y.transpose(1, 0, *range(2, y.ndim)), None


class Algorithm:
    """F(m x m, r x r) (any rank; r a kernel size with default points, `POINTS`) behind the
    kernels' common interface.

    The input gradient is the adjoint convolution through the same forward pass (stride 1
    makes it one); the weight gradient is im2col's long-reduction matrix product.
    """

    def __init__(self, m: int):
        self.m = m
        self.__name__ = f"winograd{m}"

    def supports(self, x_shape, w_shape, stride, pads, dilation, groups):
        """None when this algorithm applies, else the rule it needs."""
        sizes = sorted(r for m, r in POINTS if m == self.m)
        K = w_shape[2:]
        ok = (len(set(K)) == 1 and K[0] in sizes and all(s == 1 for s in stride)
              and all(d == 1 for d in dilation))
        return None if ok else (f"the same kernel_size along every axis, one of {sizes}, "
                                f"stride 1 and dilation 1")

    def forward(self, x, w, stride, pads, dilation, groups, out_size):
        return forward(x, w, stride, pads, dilation, groups, out_size, m=self.m)

    def backward_input(self, gy, w, in_shape, stride, pads, dilation, groups):
        gx = _adjoint.input_grad(self.forward, gy, w, in_shape, pads, dilation, groups)
        if gx is None:  # padding wider than the kernel: the adjoint would crop
            return im2col.backward_input(gy, w, in_shape, stride, pads, dilation, groups)
        return gx

    def backward_weight(self, x, saved, gy, w_shape, stride, pads, dilation, groups):
        return im2col.backward_weight(x, None, gy, w_shape, stride, pads, dilation, groups)


F2 = Algorithm(2)
F4 = Algorithm(4)
