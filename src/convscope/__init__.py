"""convscope: convolutional layers you can read, run, measure and see.

A NumPy-only CNN engine with PyTorch's semantics: `functional` (convolution and friends),
a small autograd `Tensor`, `nn` modules, `optim`, `data`, `models`, convolution arithmetic
(`arith`), a model `summary`, and `measure` (what first-layer filters learned, in numbers).
"""

import os as _os

# OpenBLAS's idle threads spin for 2^28 cycles (about 0.1 s) after every threaded matrix
# product, on the same cores as convscope's own kernel threads (`kernels._parallel`), which
# then run at about half speed (measured: a compiled Winograd layer 9.2 ms after a
# product, 5.4 ms with this). OpenBLAS reads the variable once, when NumPy loads it, so
# this takes effect when convscope is imported before NumPy (as the command-line tool and
# the benchmarks are); a value the user set is kept.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from . import data, functional, io, optim
from . import arith
from . import measure, models, nn
from .random import manual_seed
from .summary import summary

__version__ = "0.1.0"
