"""Argument normalisation and validation, written once for every public function.

Each helper turns a user's argument into the explicit form the kernels want (ints into
n-tuples, 'same'/'valid' into (before, after) pairs) and, when the argument is wrong, raises
an error that names the function, the argument, the value and the rule, e.g.
``conv2d: padding='same' needs stride 1, got stride=(2, 2)``.
"""

from __future__ import annotations

import numbers

import numpy as np

SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}


def _is_int(value) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool)


def ntuple(value, n: int, *, func: str, arg: str, minimum: int | None = 1) -> tuple[int, ...]:
    """`value` (an int or a sequence of n ints) as an n-tuple of ints, each >= `minimum`."""
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) != n:
            raise ValueError(f"{func}: {arg} needs 1 or {n} values (one per spatial "
                             f"dimension), got {arg}={value!r}")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{func}: {arg} must be an int or a tuple of {n} ints, "
                        f"got {arg}={value!r}")
    if minimum is not None and any(v < minimum for v in values):
        rule = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{func}: {arg} must be {rule}, got {arg}={value!r}")
    return values


def same_padding(kernel_size, dilation) -> tuple[tuple[int, int], ...]:
    """(before, after) per dimension that keeps the size at stride 1.

    The total is d(K-1) (the lecture's P = (K-1)/2 on each side when K is odd); an odd total
    puts the extra element on the far side, as PyTorch does for even kernels.
    """
    pairs = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pairs.append((total // 2, total - total // 2))
    return tuple(pairs)


def conv_padding(padding, n: int, *, func: str, kernel_size, stride, dilation,
                 allow_strings: bool = True) -> tuple[tuple[int, int], ...]:
    """Padding as ((before, after),) * n.

    Accepts an int, a tuple of n ints (symmetric), a tuple of n (before, after) pairs
    (asymmetric), 'valid' (no padding) or 'same' (stride 1 only).
    """
    if isinstance(padding, str):
        if not allow_strings:
            raise ValueError(f"{func}: padding must be an int or a tuple, got "
                             f"padding={padding!r} (string padding is not supported here)")
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{func}: padding='same' needs stride 1, got "
                                 f"stride={tuple(stride)}")
            return same_padding(kernel_size, dilation)
        raise ValueError(f"{func}: padding must be 'same', 'valid', an int or a tuple, "
                         f"got padding={padding!r}")
    if (isinstance(padding, (tuple, list)) and len(padding) == n
            and all(isinstance(p, (tuple, list)) for p in padding)):
        if not all(len(p) == 2 and all(_is_int(v) for v in p) for p in padding):
            raise TypeError(f"{func}: asymmetric padding needs one (before, after) pair of "
                            f"ints per spatial dimension, got padding={padding!r}")
        pairs = tuple((int(a), int(b)) for a, b in padding)
        if any(v < 0 for p in pairs for v in p):
            raise ValueError(f"{func}: padding must be non-negative, got padding={padding!r}")
        return pairs
    values = ntuple(padding, n, func=func, arg="padding", minimum=None)
    if any(v < 0 for v in values):
        raise ValueError(f"{func}: padding must be non-negative, got padding={padding!r}")
    return tuple((v, v) for v in values)


def check_float(func: str, **arrays) -> np.dtype:
    """All named arrays share one float dtype (float32 or float64); return it."""
    dtype = None
    for name, arr in arrays.items():
        if arr is None:
            continue
        if arr.dtype not in (np.float32, np.float64):
            raise TypeError(f"{func}: {name} must be float32 or float64, got dtype {arr.dtype}")
        if dtype is None:
            dtype = arr.dtype
        elif arr.dtype != dtype:
            first = next(k for k, v in arrays.items() if v is not None)
            raise TypeError(f"{func}: {name} has dtype {arr.dtype} but {first} has dtype "
                            f"{dtype}; convert one of them (e.g. .astype(np.float32))")
    return dtype


def check_input_rank(func: str, shape: tuple, n: int, arg: str = "input") -> bool:
    """Check an (N, C, *spatial) or (C, *spatial) shape; return True when it is batched."""
    if len(shape) == n + 2:
        return True
    if len(shape) == n + 1:
        return False
    spatial = SPATIAL_NAMES.get(n, ", ".join(f"S{i}" for i in range(n)))
    raise ValueError(f"{func}: expected {arg} of shape (N, C, {spatial}) or (C, {spatial}), "
                     f"got shape {tuple(shape)}")


def check_groups(func: str, groups, in_channels: int, out_channels: int) -> int:
    if not _is_int(groups):
        raise TypeError(f"{func}: groups must be an int, got groups={groups!r}")
    if groups < 1:
        raise ValueError(f"{func}: groups must be positive, got groups={groups}")
    if in_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide in_channels={in_channels}")
    if out_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide out_channels={out_channels}")
    return int(groups)
