"""Layers and models with PyTorch's `torch.nn` interface, over NumPy.

One module per kind, as PyTorch's `torch.nn.modules`: `module` (`Module`, `Parameter`),
`conv`, `pooling`, `normalization`, `activation`, `linear` (`Linear`, `Identity`,
`Flatten`), `dropout`, `merge` (`Add`, `Mul`, `Concat`), `shape` (`Reshape`, `Squeeze`,
`Unsqueeze`, `Pad`), `container` (`Sequential`), `graph` (`Graph`, `Node`: branched
models) and `init`.

>>> from convscope import nn
>>> model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
>>> model(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape
(2, 8, 14, 14)
"""

import numpy as np  # noqa: F401  (for the doctest above)

from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .graph import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .merge import *  # noqa: F401,F403
from .module import Module, Parameter, RemovableHandle  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
