"""Fix the thread count of every math library before NumPy or PyTorch is imported.

OpenBLAS reads OPENBLAS_NUM_THREADS once, when NumPy loads, so the benchmarks import this
module first. `--threads N` on the command line (default 2, the cores of these machines)
sets BLAS's, OpenMP's and convscope's own per-channel threads alike, so that both libraries
are measured with the same number of cores.
"""

import os
import sys


def threads_from_argv(default: int = 2) -> int:
    """The value of --threads in sys.argv, or `default`."""
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return default


THREADS = threads_from_argv()
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "CONVSCOPE_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
