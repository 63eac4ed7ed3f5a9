"""PyTorch-style functions over NumPy arrays and `Tensor`s.

Convolution and padding live in `functional.conv`; layers, activations and losses in
`functional.layers`. Everything is re-exported here: `convscope.functional.conv2d`, ...
"""

from .conv import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
