"""Run a kernel's independent per-channel work on several threads.

NumPy runs an elementwise operation or a strided copy on one core, but releases the GIL
while it does. Kernels whose work splits into independent channel ranges (the padding copy,
unfold and fold of the im2col convolution, max and average pooling, forward and backward)
hand `over_channels` a function of a range [c0, c1), which each thread runs on its own
disjoint slice: the results are the same bits as a single call, whatever the number of
threads. The matrix products are left to BLAS's own threads, and batch norm and adaptive
pooling run on one thread (their reductions and products are NumPy's and BLAS's).

The number of threads is ``CONVSCOPE_NUM_THREADS`` when set, else the number of CPUs;
`set_num_threads` changes it at run time. Work on fewer than `MIN_ELEMENTS` elements runs on
the calling thread alone.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .._args import is_int as _is_int

#: Below this many elements a split costs more than it saves.
MIN_ELEMENTS = 1 << 16


def _num_threads() -> int:
    """CONVSCOPE_NUM_THREADS when set (a positive int), else the number of CPUs."""
    value = os.environ.get("CONVSCOPE_NUM_THREADS", "")
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"convscope: CONVSCOPE_NUM_THREADS must be a positive integer, "
                         f"got {value!r}")
    return int(value)


_num = _num_threads()
_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def get_num_threads() -> int:
    """The number of threads the kernels split per-channel work over."""
    return _num


def set_num_threads(n: int) -> None:
    """Split per-channel kernel work over `n` threads from now on (1: no threads).

    Results do not depend on `n`: each thread computes its own channels, bit for bit as a
    single thread would.

    >>> from convscope.kernels import get_num_threads, set_num_threads
    >>> before = get_num_threads()
    >>> set_num_threads(1); get_num_threads()
    1
    >>> set_num_threads(before)
    """
    global _num, _pool
    if not _is_int(n):
        raise TypeError(f"set_num_threads: n must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got n={n}")
    with _lock:
        old, _num = _pool, int(n)
        _pool = None  # made again, with the new size, by the next split
    if old is not None:
        old.shutdown(wait=True)


def over_channels(fn, channels: int, elements: int) -> None:
    """Call fn(c0, c1) over a partition of range(channels), in parallel when worth it."""
    global _pool
    parts = min(_num, channels)
    if parts < 2 or elements < MIN_ELEMENTS:
        fn(0, channels)
        return
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_num, thread_name_prefix="convscope")
        pool = _pool
    bounds = [channels * i // parts for i in range(parts + 1)]
    futures = [pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    fn(bounds[0], bounds[1])  # this thread takes the first range
    for f in futures:
        f.result()
