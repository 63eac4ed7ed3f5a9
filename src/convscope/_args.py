"""Argument normalisation and validation, written once for every public function.

Each helper turns a user's argument into the explicit form the kernels want (ints into
n-tuples, 'same'/'valid' into (before, after) pairs) and, when the argument is wrong, raises
an error that names the function, the argument, the value and the rule, e.g.
``conv2d: padding='same' needs stride 1, got stride=(2, 2)``.
"""

from __future__ import annotations

import numbers
import os

SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}
_LARGEST = 2 ** 63 - 1  # the largest size NumPy's index arithmetic holds (a C long)


def is_int(value) -> bool:
    """An int (Python's or NumPy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def show(value, limit: int = 60) -> str:
    """`repr(value)` on one line and at most about `limit` characters, for error messages
    (an array shows as its shape and dtype)."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if (shape is not None and dtype is not None and not isinstance(value, (int, float, type))
            and isinstance(shape, tuple)):
        return f"{type(value).__name__}(shape={tuple(shape)}, dtype={dtype})"
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_bool(value, *, func: str, arg: str) -> bool:
    """`value` as a bool (Python's or NumPy's), or a TypeError naming `func` and `arg`."""
    if not isinstance(value, bool) and type(value).__name__ not in ("bool", "bool_"):
        raise TypeError(f"{func}: {arg} must be a bool, got {arg}={show(value)}")
    return bool(value)


def int_tuple(value, *, func: str, arg: str, minimum: int | None = 1) -> tuple[int, ...]:
    """An int or a non-empty tuple/list of ints as a tuple, each >= `minimum`."""
    if is_int(value):
        value = (value,)
    if not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"{func}: {arg} must be an int or a non-empty tuple of ints, got "
                        f"{arg}={show(value)}")
    return tuple(check_int(v, func=func, arg=arg, minimum=minimum) for v in value)


def _rule(minimum: int) -> str:
    return "positive" if minimum == 1 else f">= {minimum}"


def check_int(value, *, func: str, arg: str, minimum: int | None = 1) -> int:
    """`value` as an int >= `minimum` (no bound when None): the one positive-int check.

    A non-int is a TypeError, a value below the minimum a ValueError, both naming `func`,
    `arg` and the value: ``Linear: in_features must be positive, got in_features=0``.
    """
    if not is_int(value):
        raise TypeError(f"{func}: {arg} must be an int, got {arg}={show(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{func}: {arg} must be {_rule(minimum)}, got {arg}={value!r}")
    if abs(value) > _LARGEST:
        raise ValueError(f"{func}: {arg} is too large, got {arg}={value!r}")
    return int(value)


def check_real(value, *, func: str, arg: str, minimum: float | None = None,
               positive: bool = False) -> float:
    """`value` as a finite-or-infinite real number (not a bool, not NaN), optionally
    >= `minimum` or > 0; a TypeError / ValueError naming `func` and `arg` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {arg} must be a real number, got {arg}={show(value)}")
    if value != value:
        raise ValueError(f"{func}: {arg} must be a number, got {arg}={value!r}")
    if positive and not value > 0:
        raise ValueError(f"{func}: {arg}={value!r} must be > 0")
    if minimum is not None and not value >= minimum:
        raise ValueError(f"{func}: {arg}={value!r} must be >= {minimum}")
    return value


def ntuple(value, n: int, *, func: str, arg: str, minimum: int | None = 1) -> tuple[int, ...]:
    """`value` (an int or a sequence of n ints) as an n-tuple of ints, each >= `minimum`."""
    if is_int(value):
        values = (int(value),) * n
    elif isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        if len(value) != n:
            raise ValueError(f"{func}: {arg} needs 1 or {n} values (one per spatial "
                             f"dimension), got {arg}={show(value)}")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{func}: {arg} must be an int or a tuple of {n} ints, "
                        f"got {arg}={show(value)}")
    if minimum is not None and any(v < minimum for v in values):
        raise ValueError(f"{func}: {arg} must be {_rule(minimum)}, got {arg}={value!r}")
    return values


def per_axis(value, n: int, *, func: str, arg: str) -> tuple:
    """One value for every axis (an int, or a string for padding), or a sequence of n values
    (a sequence of one value counts for every axis, as PyTorch expands it); an inner list (a
    per-axis (before, after) padding pair) becomes a tuple. The values themselves are
    checked by the caller."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{func}: {arg} needs 1 or {n} values (one per spatial "
                             f"dimension), got {arg}={show(value)}")
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return (value,) * n


def int_per_axis(value, n: int, *, func: str, arg: str, minimum: int | None = 1
                 ) -> tuple[int, ...]:
    """`per_axis`, each value an int >= `minimum` (see `check_int`)."""
    return tuple(check_int(v, func=func, arg=arg, minimum=minimum)
                 for v in per_axis(value, n, func=func, arg=arg))


def pad_pair(padding, *, func: str) -> tuple[int, int]:
    """An int p (p on both sides) or a (before, after) pair of ints, each >= 0."""
    if is_int(padding):
        p = check_int(padding, func=func, arg="padding", minimum=0)
        return p, p
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(is_int(p) for p in padding)):
        before, after = (int(p) for p in padding)
        if before < 0 or after < 0:
            raise ValueError(f"{func}: padding must be >= 0, got padding={show(padding)}")
        return before, after
    raise TypeError(f"{func}: padding must be an int, a (before, after) pair of ints, "
                    f"'same' or 'valid', got padding={show(padding)}")


def split_padding(total: int) -> tuple[int, int]:
    """A total padding as (before, after), an odd element after: PyTorch's padding='same'
    for even kernels and TensorFlow's 'SAME' both put it there."""
    return total // 2, total - total // 2


def conv_padding(padding, n: int, *, func: str, kernel_size, stride, dilation,
                 allow_strings: bool = True) -> tuple[tuple[int, int], ...]:
    """Padding as ((before, after),) * n.

    Accepts an int, a tuple of n ints (symmetric), a tuple of n (before, after) pairs
    (asymmetric), 'valid' (no padding) or 'same' (stride 1 only).
    """
    if isinstance(padding, str):
        if not allow_strings:
            raise ValueError(f"{func}: padding must be an int or a tuple, got "
                             f"padding={show(padding)} (string padding is not supported here)")
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{func}: padding='same' needs stride 1, got "
                                 f"stride={tuple(stride)}")
            # Stride 1 keeps the size when the total is the window's extent d(K-1).
            return tuple(split_padding(d * (k - 1)) for k, d in zip(kernel_size, dilation))
        raise ValueError(f"{func}: padding must be 'same', 'valid', an int or a tuple, "
                         f"got padding={show(padding)}")
    if (isinstance(padding, (tuple, list)) and len(padding) == n
            and all(isinstance(p, (tuple, list)) for p in padding)):
        if not all(len(p) == 2 and all(is_int(v) for v in p) for p in padding):
            raise TypeError(f"{func}: asymmetric padding needs one (before, after) pair of "
                            f"ints per spatial dimension, got padding={show(padding)}")
        pairs = tuple((int(a), int(b)) for a, b in padding)
        if any(v < 0 for p in pairs for v in p):
            raise ValueError(f"{func}: padding must be non-negative, got padding={show(padding)}")
        return pairs
    values = ntuple(padding, n, func=func, arg="padding", minimum=None)
    if any(v < 0 for v in values):
        raise ValueError(f"{func}: padding must be non-negative, got padding={show(padding)}")
    return tuple((v, v) for v in values)


def check_float(func: str, **arrays):
    """All named arrays share one float dtype (float32 or float64); return it."""
    dtype = None
    for name, arr in arrays.items():
        if arr is None:
            continue
        if arr.dtype.name not in ("float32", "float64"):
            raise TypeError(f"{func}: {name} must be float32 or float64, got dtype {arr.dtype}")
        if dtype is None:
            dtype = arr.dtype
        elif arr.dtype != dtype:
            first = next(k for k, v in arrays.items() if v is not None)
            raise TypeError(f"{func}: {name} has dtype {arr.dtype} but {first} has dtype "
                            f"{dtype}; convert one of them (e.g. .astype(np.float32))")
    return dtype


def check_dtype(dtype, *, func: str):
    """A float32 / float64 dtype argument of a module (as a NumPy dtype)."""
    import numpy as np  # only modules with parameters ask; arith stays NumPy-free

    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in ("float32", "float64"):
        raise TypeError(f"{func}: dtype must be float32 or float64, got dtype={show(dtype)}")
    return resolved


def check_rng(rng, *, func: str):
    """None or a `numpy.random.Generator`."""
    if rng is not None and type(rng).__name__ != "Generator":
        raise TypeError(f"{func}: rng must be a numpy.random.Generator or None, got "
                        f"{type(rng).__name__}")
    return rng


def check_channels(func: str, shape, n: int, expected: int, arg: str = "in_channels") -> None:
    """An (N, C, *spatial) or (C, *spatial) input of a module with `expected` channels."""
    batched = check_input_rank(func, tuple(shape), n)
    got = shape[1 if batched else 0]
    if got != expected:
        raise ValueError(f"{func}: expected input with {expected} channels ({arg}="
                         f"{expected}), got {got} channels in input of shape {tuple(shape)}")


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
    if not is_int(groups):
        raise TypeError(f"{func}: groups must be an int, got groups={show(groups)}")
    if groups < 1:
        raise ValueError(f"{func}: groups must be positive, got groups={groups}")
    if in_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide in_channels={in_channels}")
    if out_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide out_channels={out_channels}")
    return int(groups)


def check_path(value, *, func: str, arg: str = "path") -> str:
    """`value` (a str or an os.PathLike) as a str path; a TypeError naming `func` otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    raise TypeError(f"{func}: {arg} must be a path (a str or an os.PathLike), got "
                    f"{type(value).__name__} {show(value)}")
