"""The library's one source of default randomness, reset by `manual_seed`.

Modules draw their initial weights, and `Dropout` its masks, from a `numpy.random.Generator`
passed as `rng=`; without one they use `default_rng()`, a module-level generator that
`manual_seed(seed)` replaces. Seeding once therefore makes model construction and training
reproducible, as `torch.manual_seed` does (the numbers differ from PyTorch's).
"""

from __future__ import annotations

import numpy as np

from . import _args

__all__ = ["manual_seed", "default_rng"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to `numpy.random.default_rng(seed)` and return it.

    >>> import convscope
    >>> _ = convscope.manual_seed(0)
    """
    global _generator
    if not _args.is_int(seed):
        raise TypeError(f"manual_seed: seed must be an int, got seed={_args.show(seed)}")
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got seed={seed}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_rng() -> np.random.Generator:
    """The generator used when no `rng=` is given (the one `manual_seed` last set)."""
    return _generator
