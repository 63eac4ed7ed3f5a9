"""Layers and models with PyTorch's `torch.nn` interface, over NumPy.

>>> from convscope import nn
>>> model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
>>> model(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape
(2, 8, 14, 14)
"""

import numpy as np  # noqa: F401  (for the doctest above)

from .conv import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .module import Module, Parameter, RemovableHandle  # noqa: F401
