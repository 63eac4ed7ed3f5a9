"""The chunk loop shared by `shifted` and `phase`: columns of a convolution taken a few MB of
positions at a time into one reused buffer, and dL/dy laid out on their grid.

Both kernels multiply a (rows, positions) column matrix that they never materialise whole:
`chunks` hands out (rows, t) views of one buffer, filled chunk by chunk, each `chunk_size`
positions long (at least `MIN_CHUNK`, about `CHUNK_BYTES` of columns, in the caches).
"""

from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_BYTES", "MIN_CHUNK", "chunk_size", "chunks", "chunks_on_threads", "on_grid"]

#: Bytes of one chunk of columns (C_in/G prod(K) rows); a few MB, in the L2/L3 caches.
CHUNK_BYTES = 4 << 20
#: Fewest positions per chunk (long enough for the matrix product to run at full speed).
MIN_CHUNK = 512


def chunk_size(rows, itemsize):
    """Positions per chunk for columns of `rows` rows."""
    return max(MIN_CHUNK, CHUNK_BYTES // max(1, rows * itemsize))


def chunks(fill, rows, positions, T, dtype):
    """(l0, t, b) for each chunk [l0, l0 + t) of the positions, b a (rows, t) view of one
    reused buffer that fill(b, l0, t) has just filled with that chunk's columns."""
    buf = np.empty(rows * min(T, positions), dtype=dtype)
    for l0 in range(0, positions, T):
        t = min(T, positions - l0)
        b = buf[:rows * t].reshape(rows, t)
        fill(b, l0, t)
        yield l0, t, b


def chunks_on_threads(fill, rows, positions, T, dtype, consume):
    """The chunks of `chunks`, taken by the threads one at a time (`_parallel.take_all`),
    each thread filling its own buffer and calling consume(l0, t, b) at once, with BLAS on
    one thread (on one thread too: OpenBLAS's threaded and one-thread products can differ
    in the last bit), so the fill of one chunk runs beside the product of another and the
    results are the same bits on any number of threads."""
    from ._parallel import OneBlasThread, take_all

    n = -(-positions // T)

    def share(take):
        buf = np.empty(rows * min(T, positions), dtype=dtype)
        while (i := take()) is not None:
            l0 = i * T
            t = min(T, positions - l0)
            b = buf[:rows * t].reshape(rows, t)
            fill(b, l0, t)
            consume(l0, t, b)

    with OneBlasThread():
        take_all(share, n, rows * positions)


def on_grid(gy, grid_size):
    """dL/dy (N, C_out, *O) on a grid of size `grid_size` per axis, (C_out, N * prod), zeros
    on the positions that are not outputs."""
    N, C_out, *O = gy.shape
    gyp = np.zeros((C_out, N, *grid_size), dtype=gy.dtype)
    gyp[(slice(None), slice(None)) + tuple(slice(0, o) for o in O)] = \
        gy.transpose(1, 0, *range(2, gy.ndim))
    return gyp.reshape(C_out, -1)
