"""convscope: convolutional layers you can read, run, measure and see.

A NumPy-only CNN engine with PyTorch's semantics: `functional` (convolution and friends),
a small autograd `Tensor`, `nn` modules, `optim`, `data`, `models`, convolution arithmetic
(`arith`), a model `summary`, and `measure` (what first-layer filters learned, in numbers).
"""

# before NumPy loads OpenBLAS, if it has not yet: its idle threads' timeout (see `_blas`)
from . import _blas  # noqa: F401  (first)

from .autograd import Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from . import data, functional, io, optim
from . import arith
from . import measure, models, nn
from .random import manual_seed
from .summary import summary

__version__ = "0.1.0"
