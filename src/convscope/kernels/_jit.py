"""Numba, the one compiled-kernel dependency: where compiled code is cached, how a kernel is
declared, and who owns the threads.

* A compiled kernel is declared with `jit` (Numba's ``njit`` with ``nogil=True`` and
  ``cache=True``). Nothing compiles at import: Numba compiles a kernel on its first call
  and keeps the machine code in the user's cache (``$CONVSCOPE_CACHE_DIR/numba``, else
  ``$XDG_CACHE_HOME/convscope/numba``, else ``~/.cache/convscope/numba``; ``NUMBA_CACHE_DIR``
  wins when the user set it), so a later process loads it in milliseconds.
* Kernels are serial loops. The threads that run them are `_parallel`'s pool, which hands
  each thread its own slice (channels, images); they release the GIL, so the slices run at
  once. No kernel uses ``prange``: Numba's threading layer would spin its own threads
  against OpenBLAS's and the pool's (measured: about twice the sum of the parts), and no
  BLAS call runs inside a compiled loop.
* The NumPy algorithms stay the readable references: every compiled kernel is tested
  against them.

Import this module only from the modules that hold compiled kernels, and import those lazily
(on the first call that needs them), so that ``import convscope`` does not load Numba.
"""

from __future__ import annotations

import os


def cache_dir() -> str:
    """The folder Numba's compiled kernels are cached in (see the module docstring)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    root = (os.environ.get("CONVSCOPE_CACHE_DIR")
            or os.path.join(os.environ.get("XDG_CACHE_HOME")
                            or os.path.join(os.path.expanduser("~"), ".cache"), "convscope"))
    return os.path.join(root, "numba")


def _numba():
    import numba

    if not numba.config.CACHE_DIR:  # read when a cached dispatcher is made (at `jit`)
        numba.config.CACHE_DIR = cache_dir()
    return numba


def jit(fn=None, **options):
    """``numba.njit(nogil=True, cache=True, **options)``; usable bare or with options."""
    numba = _numba()
    options = {"nogil": True, "cache": True, **options}
    if fn is None:
        return numba.njit(**options)
    return numba.njit(**options)(fn)
