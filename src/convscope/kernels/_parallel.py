"""Run a kernel's independent per-channel work on several threads.

NumPy runs an elementwise operation or a strided copy on one core, but releases the GIL
while it does. Kernels whose work splits into independent channel ranges (the padding copy,
unfold and fold of the im2col convolution, max and average pooling, forward and backward)
hand `over_channels` a function of a range [c0, c1), which each thread runs on its own
disjoint slice: the results are the same bits as a single call, whatever the number of
threads. The compiled depthwise and pooling kernels hand it blocks of `CHANNEL_BLOCK`
channels, which the threads take one at a time (a core the host slows down takes fewer).
The matrix products are left to BLAS's own threads, except in the compiled
Winograd kernels (`winograd_jit`, `winograd1d_jit`), whose threads take their chunks of
tiles one at a time (`take_all`; the weight gradient's sums `grouped_sum`) and run their
own products with OpenBLAS on one thread (`OneBlasThread`). Batch norm and adaptive
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
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from .. import _blas
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


# -- the compiled kernels' chunks: BLAS on one thread while the pool's threads run products --
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None
_controller = None


def _controller_or_none():
    global _controller
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a core dependency
            _controller = False
        else:
            _controller = ThreadpoolController()
    return _controller or None


class OneBlasThread:
    """Context: OpenBLAS (any BLAS threadpoolctl knows) on one thread, restored at the end;
    nested and concurrent uses share one limit (the last to leave restores). The limit is
    process-wide: a BLAS call another thread makes meanwhile also runs on one thread."""

    def __enter__(self):
        global _blas_users, _blas_limiter
        with _blas_lock:
            _blas_users += 1
            if _blas_users == 1:
                ctl = _controller_or_none()
                if ctl is not None:
                    _blas.check(ctl)  # warns once if OpenBLAS's idle threads spin
                _blas_limiter = None if ctl is None else ctl.limit(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        global _blas_users, _blas_limiter
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_limiter is not None:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
        return False


def take_all(share, n, work):
    """share(take) on each of min(threads, n) threads, this one included; take() gives the
    next item of range(n) no thread has taken yet, or None. The threads take items (chunks,
    groups of chunks, 3-D units) one at a time from a shared counter rather than a fixed
    share each, so a core the host slows down takes fewer; which thread computes an item
    changes nothing in the result. Below `MIN_ELEMENTS` of work, this thread alone; OpenBLAS
    on one thread while the threads run."""
    counter = itertools.count()  # next() is atomic under the GIL

    def take():
        i = next(counter)
        return i if i < n else None

    parts = min(get_num_threads(), n) if work >= MIN_ELEMENTS else 1
    if parts > 1:
        with OneBlasThread():
            over_parts(lambda _i0, _i1: share(take), split(n, parts))
    else:
        share(take)


#: Most accumulators of the weight gradient (each alpha^2 C_out C_in/G), and their memory.
MAX_SUMS = 4
SUMS_BYTES = 64 << 20


def _sums(chunks, nbytes):
    """How many groups of chunks the weight gradient sums separately: from the shape alone."""
    return max(1, min(MAX_SUMS, chunks, SUMS_BYTES // max(1, nbytes)))


def grouped_sum(n, shape, dtype, work, buffers, add):
    """The sum over the items i < n (chunks, 3-D units) of what add(i, bufs, part, acc)
    adds into acc (an array of `shape`; part is scratch of the same shape, bufs a thread's
    `buffers()`): the items are summed in groups fixed by n and the size (`_sums`), each
    into its own accumulator, the groups taken by the threads one at a time, then the
    groups added in order: the same bits for any number of threads."""
    bounds = split(n, _sums(n, math.prod(shape) * np.dtype(dtype).itemsize))
    sums = [np.zeros(shape, dtype=dtype) for _ in range(len(bounds) - 1)]

    def share(take):
        bufs = buffers()
        part = np.empty(shape, dtype=dtype)
        while (k := take()) is not None:
            for i in range(bounds[k], bounds[k + 1]):
                add(i, bufs, part, sums[k])

    take_all(share, len(sums), work)
    total = sums[0]
    for acc in sums[1:]:
        total += acc
    return total
