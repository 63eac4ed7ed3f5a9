"""Batch transforms for images of shape (N, C, H, W).

Every transform works on a whole batch at once and is called as ``t(x, rng)``, where `rng`
is a `numpy.random.Generator` (`DataLoader` passes its own). The random transforms draw from
it and nothing else, so a seeded loader gives the same augmented batches in every run.
Floating inputs keep their dtype (float32 stays float32); the input is never modified.

Example:
    >>> import numpy as np
    >>> t = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
    ...              Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])
    >>> x = np.zeros((8, 3, 32, 32), np.float32)
    >>> y = t(x, np.random.default_rng(0))
    >>> y.shape, y.dtype
    ((8, 3, 32, 32), dtype('float32'))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .._args import is_int as _is_int

__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip"]


def _check_batch(who: str, x: np.ndarray) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{who}: expected a NumPy array, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a batch of shape (N, C, H, W), got shape {x.shape}")
    return x


def _check_rng(who: str, rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: rng must be a numpy.random.Generator (call it as t(x, rng)), "
                        f"got {type(rng).__name__}")
    return rng


def _floats(who: str, arg: str, value) -> np.ndarray:
    """A number or a flat sequence of numbers as a 1-D float64 array."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{who}: {arg} must be a number or a sequence of numbers, got "
                        f"{arg}={value!r}")
    try:
        return np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{who}: {arg} must be a number or a sequence of numbers, got "
                        f"{arg}={value!r:.60}") from None


def _float_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)


class Normalize:
    """Subtract a per-channel mean and divide by a per-channel std: ``(x - mean) / std``.

    Args:
        mean: one value per channel (or one value for all channels).
        std: likewise; every value must be positive.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        mean, std = (_floats("Normalize", name, v) for name, v in (("mean", mean),
                                                                   ("std", std)))
        if mean.ndim != 1 or std.ndim != 1 or not mean.size or not std.size:
            raise ValueError(f"Normalize: mean and std must be numbers or flat sequences, got "
                             f"shapes {mean.shape} and {std.shape}")
        if not np.all(np.isfinite(mean)):
            raise ValueError(f"Normalize: mean={mean.tolist()} must be finite")
        if not np.all(std > 0) or not np.all(np.isfinite(std)):
            raise ValueError(f"Normalize: std={std.tolist()} must be positive and finite")
        if len(mean) != len(std) and 1 not in (len(mean), len(std)):
            raise ValueError(f"Normalize: mean has {len(mean)} values but std has {len(std)}")
        self.mean, self.std = mean, std

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_batch("Normalize", x)
        channels = max(len(self.mean), len(self.std))
        if channels != 1 and x.shape[1] != channels:
            raise ValueError(f"Normalize: {channels} channel statistics but the batch has "
                             f"C={x.shape[1]} (shape {x.shape})")
        dtype = _float_dtype(x)
        mean = self.mean.astype(dtype).reshape(1, -1, 1, 1)
        std = self.std.astype(dtype).reshape(1, -1, 1, 1)
        out = np.subtract(x, mean, dtype=dtype)  # a new array, in the float dtype
        out /= std
        return out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Cut a random `size` window out of each image, after zero padding on every side.

    Each image gets its own offset, uniform over the positions where the window fits inside
    the padded image. With ``padding=0`` and `size` equal to the image size it is the
    identity.

    Args:
        size: output (H, W), or one int for a square.
        padding: zeros added to each side of H and W before cropping (default 0).
    """

    def __init__(self, size: int | Sequence[int], padding: int = 0):
        if _is_int(size):
            size = (int(size), int(size))
        if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(map(_is_int, size)):
            raise TypeError(f"RandomCrop: size must be an int or a pair of ints, got {size!r}")
        if min(size) < 1:
            raise ValueError(f"RandomCrop: size={tuple(size)} must be positive")
        if not _is_int(padding):
            raise TypeError(f"RandomCrop: padding must be an int, got {padding!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding={padding} must be >= 0")
        self.size = (int(size[0]), int(size[1]))
        self.padding = int(padding)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check_batch("RandomCrop", x)
        rng = _check_rng("RandomCrop", rng)
        p, (h, w) = self.padding, self.size
        n, _, height, width = x.shape
        if p > max(height, width):
            raise ValueError(f"RandomCrop: padding={p} is larger than the image "
                             f"{(height, width)}; crops would hold only padding")
        if h > height + 2 * p or w > width + 2 * p:
            raise ValueError(f"RandomCrop: size={self.size} is larger than the padded image "
                             f"{(height + 2 * p, width + 2 * p)} (image {(height, width)}, "
                             f"padding={p})")
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
        top = rng.integers(0, height + 2 * p - h + 1, size=n)
        left = rng.integers(0, width + 2 * p - w + 1, size=n)
        # (N, C, positions_h, positions_w, h, w): every window, as a view; then one gather.
        windows = sliding_window_view(padded, (h, w), axis=(2, 3))
        return windows[np.arange(n), :, top, left]  # (N, C, h, w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right (along W) with probability `p`, independently."""

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"RandomHorizontalFlip: p must be a number, got p={p!r}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p={p!r} must be a number in [0, 1]")
        self.p = float(p)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check_batch("RandomHorizontalFlip", x)
        rng = _check_rng("RandomHorizontalFlip", rng)
        flip = rng.random(len(x)) < self.p
        return np.where(flip[:, None, None, None], x[..., ::-1], x)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Compose:
    """Apply transforms in order, passing the same `rng` to each."""

    def __init__(self, transforms: Sequence[Callable]):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose: transforms must be a list or tuple of callables, got "
                            f"{type(transforms).__name__}")
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: transforms[{i}]={t!r} is not callable")
        self.transforms = transforms

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"
