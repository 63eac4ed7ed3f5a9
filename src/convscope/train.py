"""The training job (a thin re-export of `convscope.training`, which holds the code).

Kept so that ``from convscope.train import train, TrainConfig, load_checkpoint`` and the
like go on working; see `convscope.training` for the rooms.
"""

from .training import *  # noqa: F401,F403
