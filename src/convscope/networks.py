"""Shape-only network specs, the layer grammar and the named networks (a thin re-export).

The code lives in `convscope.arith`: the spec graph and its walker in `arith.network`, the
layer syntax and spec files in `arith.grammar`, the classic networks in `arith.zoo`. This
module keeps the old import path working: `from convscope.networks import analyze`.
"""

from .arith import grammar, network, zoo
from .arith.grammar import *  # noqa: F401,F403
from .arith.network import *  # noqa: F401,F403
from .arith.zoo import *  # noqa: F401,F403

__all__ = network.__all__ + grammar.__all__ + zoo.__all__
