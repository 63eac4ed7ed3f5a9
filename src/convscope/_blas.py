"""OpenBLAS's idle threads and convscope's own kernel threads: keeping them off each other's
cores.

After every threaded matrix product, OpenBLAS's idle threads spin for 2^28 cycles (about
0.1 s) waiting for the next one, on the same cores as convscope's kernel threads
(`kernels._parallel`), which then run at about half speed. Measured (2 cores, AMD EPYC): a
compiled Winograd layer 9.2 ms after a product, 5.4 ms with a short timeout; a training step
of the default model, batch 128, median 69-81 ms against 40-47 ms. OpenBLAS reads its
timeout, ``OPENBLAS_THREAD_TIMEOUT``, once, when NumPy loads it, so importing this module
sets it (a value the user set is kept) and that takes effect when convscope is imported
before NumPy (as the command-line tool, the benchmarks, the notebooks and the tests do).
Imported after NumPy, it is too late: `check` then warns once, at the first call that runs
convscope's threads beside OpenBLAS's, with the two ways out.
"""

from __future__ import annotations

import os
import sys
import warnings

#: The timeout convscope asks for: 2^4 cycles of spinning, then the idle threads sleep.
TIMEOUT = "4"
#: Whether OpenBLAS may have been loaded with its default timeout: NumPy was imported before
#: convscope, with OPENBLAS_THREAD_TIMEOUT unset.
LOADED_BEFORE = "numpy" in sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in os.environ
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", TIMEOUT)

MESSAGE = ("convscope: NumPy was imported before convscope, so OpenBLAS's idle threads spin "
           "for about 0.1 s after each of its matrix products (OPENBLAS_THREAD_TIMEOUT was "
           "unset when NumPy loaded OpenBLAS), on the cores convscope's kernel threads run "
           "on: those kernels run up to 2x slower (a training step of the default model "
           "1.7x). Import convscope before NumPy, or set OPENBLAS_THREAD_TIMEOUT=4 in the "
           "environment before starting Python.")

_checked = False


def check(controller) -> None:
    """Warn once (RuntimeWarning) when OpenBLAS runs several threads with the default
    timeout beside convscope's threads; `controller` is threadpoolctl's
    ThreadpoolController, read before convscope limits it."""
    global _checked
    if _checked:
        return
    _checked = True
    if not LOADED_BEFORE:
        return
    if any(lib.get("internal_api") == "openblas" and lib.get("num_threads", 1) > 1
           for lib in controller.info()):
        warnings.warn(MESSAGE, RuntimeWarning, stacklevel=2)
