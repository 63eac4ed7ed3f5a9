"""Keep freed memory for reuse: large arrays without a page fault per element each step.

glibc's malloc serves every allocation above a threshold (at most 32 MiB) with its own
mmap and returns it with munmap when freed, so a training step that allocates the same
large temporaries every time (the im2col columns of one layer are ~30 MB at batch 128)
pays the kernel for zeroed pages, one fault per 4 KiB, on every step (a Fashion-MNIST
epoch of the default model took about 47 s before and 43.5 s after, here). Disabling
mmap for malloc (M_MMAP_MAX = 0) and raising the trim threshold lets freed blocks be
reused from the heap instead.

This changes the whole process's allocator, so the library never does it on import: the
command-line tool and the benchmarks call `reuse_freed_memory()` at start (with the same
effect on PyTorch in the benchmarks, whose CPU allocator is glibc's malloc too).
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def reuse_freed_memory() -> bool:
    """Tell glibc's malloc to keep and reuse freed memory; False where that is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    return mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and ok
