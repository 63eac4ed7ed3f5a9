"""Run a kernel's independent per-channel work on all cores.

NumPy runs an elementwise operation or a strided copy on one core, but releases the GIL
while it does. Kernels whose work splits into independent channel ranges (unfold, fold,
pooling, batch norm) hand `over_channels` a function of a range [c0, c1), which each
thread runs on its own disjoint slice: the results are the same bits as a single call,
whatever the number of threads. The matrix products are left to BLAS's own threads.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor


def _num_threads() -> int:
    """CONVSCOPE_NUM_THREADS when set (a positive int), else the number of CPUs."""
    value = os.environ.get("CONVSCOPE_NUM_THREADS", "")
    if not value:
        return os.cpu_count() or 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"convscope: CONVSCOPE_NUM_THREADS must be a positive integer, "
                         f"got {value!r}")
    return int(value)


#: Threads used for per-channel work.
NUM_THREADS = _num_threads()
#: Below this many elements a split costs more than it saves.
MIN_ELEMENTS = 1 << 16

_pool: ThreadPoolExecutor | None = None


def over_channels(fn, channels: int, elements: int) -> None:
    """Call fn(c0, c1) over a partition of range(channels), in parallel when worth it."""
    parts = min(NUM_THREADS, channels)
    if parts < 2 or elements < MIN_ELEMENTS:
        fn(0, channels)
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(NUM_THREADS, thread_name_prefix="convscope")
    bounds = [channels * i // parts for i in range(parts + 1)]
    futures = [_pool.submit(fn, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    fn(bounds[0], bounds[1])  # this thread takes the first range
    for f in futures:
        f.result()
