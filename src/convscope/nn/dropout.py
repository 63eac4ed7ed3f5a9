"""`Dropout`: inverted dropout in training, identity in evaluation."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .._args import check_bool, check_rng, show
from ..random import default_rng
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout in training, identity in evaluation.

    The mask comes from this layer's own generator: `rng` if given, otherwise one seeded
    from `convscope.random.default_rng()` at construction, so `manual_seed` before building
    the model makes the masks reproducible.
    """

    def __init__(self, p=0.5, inplace=False, rng=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise TypeError(f"Dropout: p must be a probability in [0, 1], got p={show(p)}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got p={p!r}")
        self.p = p
        self.inplace = check_bool(inplace, func="Dropout", arg="inplace")
        check_rng(rng, func="Dropout")
        self.rng = rng if rng is not None else np.random.default_rng(
            default_rng().integers(2 ** 63))

    def forward(self, input):
        return F.dropout(input, self.p, self.training, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
