"""`dropout`: zero each element with probability p and scale the rest by 1 / (1 - p)."""

from __future__ import annotations

import numpy as np

from .._args import check_bool, show
from ..random import default_rng
from ._common import float_input, unary

__all__ = ["dropout"]


def dropout(input, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    Args:
        p: probability of zeroing, in [0, 1].
        training: when False (or p == 0) the input is returned unchanged.
        rng: a `numpy.random.Generator` for the mask; default `convscope.random.
            default_rng()`, so results are reproducible after `convscope.manual_seed`
            (the masks differ from PyTorch's).

    >>> dropout(np.ones(4), p=0.5, rng=np.random.default_rng(0))
    array([2., 2., 2., 0.])
    """
    func = "dropout"
    x = float_input(input, func)
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{func}: p must be a probability in [0, 1], got p={show(p)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{func}: p must be a probability in [0, 1], got p={p!r}")
    training = check_bool(training, func=func, arg="training")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, got "
                        f"{type(rng).__name__}")
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"{func}: training must be a bool, got training={training!r:.40}")
    if not training or p == 0.0:
        return input
    rng = default_rng() if rng is None else rng
    if p == 1.0:
        scale = np.zeros(x.shape, dtype=x.dtype)
    else:
        keep = rng.random(x.shape, dtype=np.float32) >= p
        scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return unary(input, x * scale, lambda g: g * scale, func)
