"""Pure NumPy kernels: convolution (forward and backward), padding, and friends.

`ALGORITHMS` maps an algorithm name to a module with the same three functions:
`forward(x, w, stride, pads, dilation, groups, out_size) -> (y, saved)`,
`backward_input(gy, w, in_shape, stride, pads, dilation, groups)` and
`backward_weight(...)`. Arguments are already validated and explicit: tuples per spatial
dimension, `pads` a (before, after) pair per dimension.

`set_num_threads` / `get_num_threads` set how many threads the per-channel copies of the
unfold, the fold and pooling are split over (see `_parallel`); the results are the same
bits for any number.
"""

from . import direct, im2col
from ._parallel import MIN_ELEMENTS as PARALLEL_MIN_ELEMENTS
from ._parallel import get_num_threads, set_num_threads

ALGORITHMS = {"direct": direct, "im2col": im2col}
DEFAULT_ALGORITHM = "im2col"


def conv_backward_weight(algorithm, x, saved, gy, w_shape, stride, pads, dilation, groups):
    """dL/dW for either algorithm; im2col reuses the forward pass's columns when kept."""
    if algorithm == "im2col":
        cols = saved if saved is not None else im2col.unfold(
            x, w_shape[2:], stride, dilation, pads, gy.shape[2:])
        return im2col.backward_weight(cols, gy, w_shape, groups)
    return direct.backward_weight(x, gy, w_shape, stride, pads, dilation, groups)
