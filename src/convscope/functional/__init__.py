"""PyTorch-style functions over NumPy arrays and `Tensor`s, one module per kind:
`conv` (convolution, transposed convolution, padding), `pooling`, `normalization`,
`activations`, `elementwise` (add, mul, clip, hard sigmoid/swish), `shape` (cat,
reshape, squeeze, unsqueeze), `linear` (and `flatten`), `dropout` and `losses`. Everything
is re-exported here: `convscope.functional.conv2d`, `convscope.functional.max_pool2d`, ...
"""

from .activations import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
