"""A minimal, reproducible mini-batch loader over in-memory NumPy arrays."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._args import is_int as _is_int
from ..jsonutil import to_plain as _plain

__all__ = ["DataLoader"]


class DataLoader:
    """Iterate over ``(x, y)`` in mini-batches, optionally shuffled and transformed.

    Each iteration is one epoch. With ``shuffle=True`` every epoch draws a fresh permutation
    from the loader's own `numpy.random.Generator`, so the same `seed` gives the same
    sequence of epochs in every run, and no global random state is touched. The same
    generator is passed to `transform` as ``transform(xb, rng)``.

    Args:
        x: inputs, an array whose first axis indexes samples, e.g. (N, C, H, W). Any numeric
            dtype; batches are converted to float32 (so uint8 images stay small in memory).
        y: labels, shape (N,); batches are int64.
        batch_size: samples per batch, a positive int.
        shuffle: draw a new order each epoch (default False: the stored order).
        drop_last: drop the last batch when it is smaller than `batch_size`.
        seed: seed for ``np.random.default_rng``. Give `seed` or `rng`, not both; with
            neither, the generator is seeded from the operating system.
        rng: a `numpy.random.Generator` to use (and advance) instead of a seed.
        transform: called as ``transform(xb, rng)`` on each float32 batch, e.g.
            `transforms.Compose`.

    Resuming: `state_dict` returns the epoch counter and the generator's state as plain
    JSON-serialisable values. Taken between epochs and given to `load_state_dict` of a new
    loader over the same data, it makes the new loader produce exactly the epochs (order
    and random transforms) that the old one would have produced next.

    Example:
        >>> import numpy as np
        >>> loader = DataLoader(np.zeros((10, 1, 4, 4)), np.arange(10), batch_size=4,
        ...                     shuffle=True, seed=0)
        >>> len(loader), [yb.shape[0] for _, yb in loader]
        (3, [4, 4, 2])
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None,
                 rng: np.random.Generator | None = None,
                 transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None
                 = None):
        who = "DataLoader"
        if not hasattr(x, "shape") or not hasattr(y, "shape"):
            raise TypeError(f"{who}: x and y must be NumPy arrays, got {type(x).__name__} and "
                            f"{type(y).__name__}")
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim < 1:
            raise ValueError(f"{who}: x must have a sample axis, got shape {x.shape}")
        if y.ndim != 1:
            raise ValueError(f"{who}: y must have shape (N,), got shape {y.shape}")
        if len(x) != len(y):
            raise ValueError(f"{who}: x and y must have the same length, got len(x)={len(x)} "
                             f"and len(y)={len(y)}")
        if len(x) == 0:
            raise ValueError(f"{who}: the data set is empty (x has shape {x.shape}); a loader "
                             f"needs at least one sample")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"{who}: x must be a real numeric array, got dtype {x.dtype}")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"{who}: y must hold integer labels, got dtype {y.dtype}")
        if not _is_int(batch_size):
            raise TypeError(f"{who}: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"{who}: batch_size={batch_size} must be a positive int")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{who}: {name} must be a bool, got {name}={flag!r}")
        if seed is not None and not _is_int(seed):
            raise TypeError(f"{who}: seed must be an int or None, got seed={seed!r}")
        if seed is not None and seed < 0:
            raise ValueError(f"{who}: seed must be >= 0, got seed={seed}")
        if seed is not None and rng is not None:
            raise ValueError(f"{who}: give seed or rng, not both (got seed={seed!r} and an rng)")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"{who}: rng must be a numpy.random.Generator, got "
                            f"{type(rng).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError(f"{who}: transform must be callable, got {type(transform).__name__}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.epoch = 0  # epochs started so far

    def __len__(self) -> int:
        """The number of batches per epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = len(self.x)
        # The permutation is drawn when the epoch starts, not lazily on the first batch.
        order = self.rng.permutation(n) if self.shuffle else None
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order):
        for b in range(len(self)):
            start = b * self.batch_size
            stop = min(start + self.batch_size, len(self.x))
            if order is None:
                # Copies of the slices (views), so that changing a batch in place never
                # changes the data set.
                xb = np.array(self.x[start:stop], dtype=np.float32)
                yb = np.array(self.y[start:stop], dtype=np.int64)
            else:
                # Fancy indexing already copies: convert only if the dtype differs.
                index = order[start:stop]
                xb = self.x[index].astype(np.float32, copy=False)
                yb = self.y[index].astype(np.int64, copy=False)
            if self.transform is not None:
                xb = self.transform(xb, self.rng)
            yield xb, yb

    def state_dict(self) -> dict[str, Any]:
        """The epoch counter and the generator state, as JSON-serialisable plain values."""
        return {"epoch": self.epoch, "rng": _plain(self.rng.bit_generator.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned, so that the next epochs repeat the saved run's."""
        who = "DataLoader.load_state_dict"
        if not isinstance(state, dict) or "rng" not in state or "epoch" not in state:
            raise ValueError(f"{who}: expected a dict with keys 'epoch' and 'rng' from "
                             f"DataLoader.state_dict(), got {state!r:.200}")
        epoch = state["epoch"]
        if not _is_int(epoch) or epoch < 0:
            raise ValueError(f"{who}: epoch must be an int >= 0, got epoch={epoch!r:.60}")
        mine = self.rng.bit_generator.state.get("bit_generator")
        theirs = state["rng"].get("bit_generator") if isinstance(state["rng"], dict) else None
        if theirs != mine:
            raise ValueError(f"{who}: the state is for bit generator {theirs!r}, this loader's "
                             f"generator is {mine!r}")
        try:
            self.rng.bit_generator.state = state["rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{who}: invalid generator state: {exc}") from None
        self.epoch = epoch
