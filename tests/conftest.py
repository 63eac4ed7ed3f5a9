"""Shared test setup: convscope is imported before NumPy, as its docs ask (`convscope._blas`:
OpenBLAS reads its idle-thread timeout when NumPy loads it), so the compiled kernels' threads
do not share the cores with OpenBLAS's spinning ones while the suite runs."""

import convscope  # noqa: F401  (first: before any test module imports NumPy)
