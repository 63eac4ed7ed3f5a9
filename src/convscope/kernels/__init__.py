"""The kernels: convolution (forward and backward), padding, pooling and batch norm, in NumPy
and, where NumPy cannot fuse the loops, compiled with Numba (the modules named ``*_jit``).

`ALGORITHMS` maps an algorithm name to an object (a module) with the same functions:

* `supports(x_shape, w_shape, stride, pads, dilation, groups)`: None when it applies, else
  the rule it needs (for the error message);
* `forward(x, w, stride, pads, dilation, groups, out_size) -> (y, saved)`;
* `backward_input(gy, w, in_shape, stride, pads, dilation, groups)`;
* `backward_weight(x, saved, gy, w_shape, stride, pads, dilation, groups)`;
* optionally `forward_values(x, w, stride, pads, dilation, groups, out_size) -> y`: the
  output alone, run instead of `forward` when no weight gradient will read what it saves
  (`im2col`: a strided layer's columns then never all exist at once).

Arguments are already validated and explicit: tuples per spatial dimension, `pads` a
(before, after) pair per dimension. 'auto' is not an algorithm but a choice among them by
shape: see `choose`.

`depthwise_jit` is a compiled (Numba) kernel, picked by 'auto'; `depthwise` is the NumPy
algorithm it is tested against. Modules named ``*_jit`` hold compiled loops (see `_jit`);
Numba is loaded on their first call, never by ``import convscope``.

`set_num_threads` / `get_num_threads` set how many threads the per-channel copies of the
unfold, the fold and pooling, and the compiled Winograd kernels' chunks of tiles, are split
over (see `_parallel`); the results are the same bits for any number.
"""

from . import depthwise, depthwise_jit, direct, im2col, pointwise, shifted, winograd, winograd_jit
from ._parallel import MIN_ELEMENTS as PARALLEL_MIN_ELEMENTS
from ._parallel import get_num_threads, set_num_threads
from .choose import choose

ALGORITHMS = {"direct": direct, "im2col": im2col, "pointwise": pointwise,
              "depthwise": depthwise, "depthwise_jit": depthwise_jit, "shifted": shifted,
              "winograd2": winograd.F2, "winograd4": winograd.F4,
              # the same arithmetic with compiled transforms (Numba, compiled on first use)
              "winograd2_jit": winograd_jit.F2, "winograd4_jit": winograd_jit.F4}
DEFAULT_ALGORITHM = "auto"

__all__ = ["ALGORITHMS", "DEFAULT_ALGORITHM", "PARALLEL_MIN_ELEMENTS", "choose",
           "get_num_threads", "set_num_threads"]
