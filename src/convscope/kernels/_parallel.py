"""Run a kernel's independent per-channel work on several threads.

NumPy runs an elementwise operation or a strided copy on one core, but releases the GIL
while it does. Kernels whose work splits into independent channel ranges (the padding copy,
unfold and fold of the im2col convolution, max and average pooling, forward and backward)
hand `over_channels` a function of a range [c0, c1), which each thread runs on its own
disjoint slice: the results are the same bits as a single call, whatever the number of
threads. The compiled depthwise and pooling kernels hand it blocks of `CHANNEL_BLOCK`
channels, which the threads take one at a time (a core the host slows down takes fewer).
The matrix products are left to BLAS's own threads, except in the compiled
Winograd kernels (`winograd_jit`), which hand `over_parts` ranges of their chunks of tiles
and run each thread's own products with OpenBLAS on one thread. Batch norm and adaptive
pooling run on one thread (their reductions and products are NumPy's and BLAS's).

Errors: every range is waited for; the first error (in range order) is raised, naming the
others in its notes. `set_num_threads` may be called while other threads split work: a
split finishes on the pool it took, which is shut down once no split uses it.

The number of threads is ``CONVSCOPE_NUM_THREADS`` when set, else the number of CPUs;
`set_num_threads` changes it at run time. Work on fewer than `MIN_ELEMENTS` elements runs on
the calling thread alone.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

from .._args import is_int as _is_int

#: Below this many elements a split costs more than it saves.
MIN_ELEMENTS = 1 << 16
#: Channels per block where the threads take blocks one at a time (`over_channels`'s
#: `block`): the depthwise and pooling kernels. Fixed halves, one per thread, left one
#: thread waiting for the other: a depthwise layer's forward + backward (8x128x56x56, two
#: threads, median of 20, 3 alternating processes) 9.5-11.2 -> 8.5-9.4 ms.
CHANNEL_BLOCK = 8


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
# Guards _pool and _num, and counts the splits running on each pool: set_num_threads shuts
# a pool down only once no split is using it (a split that took the pool can still submit).
_cond = threading.Condition(threading.Lock())
_users: dict[ThreadPoolExecutor, int] = {}
_retired: set[ThreadPoolExecutor] = set()  # replaced while in use: the last user ends it
_inside = threading.local()  # how many splits this thread is running (set_num_threads
# called from inside one must not wait for its own split to end)


def get_num_threads() -> int:
    """The number of threads the kernels split per-channel work over."""
    return _num


def set_num_threads(n: int) -> None:
    """Split per-channel kernel work over `n` threads from now on (1: no threads).

    Results do not depend on `n`: each thread computes its own channels, bit for bit as a
    single thread would. Safe to call while other threads run kernels: a split that already
    took the old pool finishes on it, and the old pool's threads end once no split uses it
    (when this returns, unless it was called from inside a split).

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
    with _cond:
        old, _pool, _num = _pool, None, int(n)  # made again, with the new size, when needed
        if old is None:
            return
        if getattr(_inside, "depth", 0):  # our own split uses it: its last user ends it
            _retired.add(old)
            return
        _cond.wait_for(lambda: old not in _users)
    old.shutdown(wait=True)


def _acquire() -> tuple[ThreadPoolExecutor, int]:
    """The current pool (made on first use) and its size, counted as in use."""
    global _pool
    with _cond:
        if _pool is None:
            _pool = ThreadPoolExecutor(_num, thread_name_prefix="convscope")
        _users[_pool] = _users.get(_pool, 0) + 1
        return _pool, _num


def _release(pool: ThreadPoolExecutor) -> None:
    with _cond:
        _users[pool] -= 1
        if _users[pool]:
            return
        del _users[pool]
        _cond.notify_all()
        if pool not in _retired:
            return
        _retired.discard(pool)
    pool.shutdown(wait=False)  # its threads end once idle


def _raise_all(errors: list[BaseException]) -> None:
    """Raise the first error, with a note naming each further one (all were waited for)."""
    if not errors:
        return
    first = errors[0]
    for other in errors[1:]:
        first.add_note(f"convscope: another thread of the same kernel also raised "
                       f"{type(other).__name__}: {other}")
    first.convscope_other_errors = errors[1:]
    raise first


def over_parts(fn, bounds) -> None:
    """Call fn(bounds[i], bounds[i+1]) for every i, the first on this thread, the others on
    the pool, and wait for all of them.

    If any call raises, every call is still waited for (none is left writing into the
    caller's arrays), then the first error in range order is raised with the others named
    in its notes (and kept in its ``convscope_other_errors`` attribute).
    """
    if len(bounds) <= 2:
        fn(bounds[0], bounds[-1])
        return
    pool, _ = _acquire()
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        futures = [pool.submit(fn, bounds[i], bounds[i + 1])
                   for i in range(1, len(bounds) - 1)]
        errors = []
        try:
            fn(bounds[0], bounds[1])  # this thread takes the first range
        except BaseException as e:  # noqa: BLE001 - re-raised below, after the others
            errors.append(e)
        wait(futures)
        errors += [f.exception() for f in futures if f.exception() is not None]
    finally:
        _inside.depth -= 1
        _release(pool)
    _raise_all(errors)


def split(n: int, parts: int) -> list[int]:
    """Bounds of `parts` near-equal ranges of range(n): [0, ..., n]."""
    return [n * i // parts for i in range(parts + 1)]


def over_channels(fn, channels: int, elements: int, block: int | None = None) -> None:
    """Call fn(c0, c1) over a partition of range(channels), in parallel when worth it.

    With `block`, the threads take blocks of `block` channels one at a time from a shared
    counter instead of one fixed range each, so a core the host slows down does less of
    the work (the ranges, and so the results, are the same whichever thread runs them)."""
    parts = min(_num, channels)
    if parts < 2 or elements < MIN_ELEMENTS:
        fn(0, channels)
        return
    if block is None or block * parts >= channels:
        over_parts(fn, split(channels, parts))
        return
    counter = itertools.count()  # next() is atomic under the GIL
    blocks = -(-channels // block)

    def take(_p0, _p1):
        while (i := next(counter)) < blocks:
            fn(i * block, min(channels, (i + 1) * block))

    over_parts(take, split(parts, parts))
