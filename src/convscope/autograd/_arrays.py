"""Array plumbing of the autograd: checked conversion to arrays, axes, broadcasting and
its undoing, gradient layouts.

An internal helper module (like `convscope._args`): `autograd.graph` and `autograd.ops`
import from it.
"""

from __future__ import annotations

import numpy as np

#: NumPy dtype kinds a Tensor may hold: bool, signed and unsigned int, float.
_KINDS = "biuf"


def as_array(data, dtype=None, func: str = "tensor") -> np.ndarray:
    """`data` as an array of bools, ints or floats; anything else is refused by name."""
    from .graph import GraphNode  # (graph imports this module: looked up at call time)

    if isinstance(data, GraphNode):
        data = data.data
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"{func}: dtype={dtype!r} is not a NumPy dtype") from exc
        if dtype.kind not in _KINDS:
            raise TypeError(f"{func}: dtype must be a bool, integer or floating-point dtype, "
                            f"got dtype={dtype}")
    try:
        arr = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{func}: data must be numbers or nested sequences of numbers of "
                        f"one shape, got {type(data).__name__} ({exc})") from None
    if arr.dtype.kind not in _KINDS:
        raise TypeError(f"{func}: data must hold bools, integers or floating-point numbers, "
                        f"got dtype {arr.dtype} (from {type(data).__name__})")
    return arr


def axes(func: str, axis, ndim: int, arg: str = "axis"):
    """`axis` (None, an int or a sequence of ints) as None or a tuple of axes in [0, ndim).

    Out-of-range axes raise NumPy's AxisError, which is both a ValueError and the IndexError
    PyTorch raises.
    """
    if axis is None:
        return None
    many = isinstance(axis, (tuple, list))
    values = tuple(axis) if many else (axis,)
    if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in values):
        raise TypeError(f"{func}: {arg} must be None, an int or a tuple of ints, got "
                        f"{arg}={axis!r}")
    out = []
    for a in values:
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(
                f"{func}: {arg}={axis!r} is out of range for a tensor with {ndim} "
                f"dimension{'s' if ndim != 1 else ''} (expected axes in [{-ndim}, {ndim - 1}])")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{func}: {arg}={axis!r} repeats an axis")
    return tuple(out) if many else out[0]


def check_bool(func: str, **flags) -> None:
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{func}: {name} must be a bool, got {name}={value!r}")


def broadcast(func: str, f, x: np.ndarray, y: np.ndarray):
    """f(x, y), a NumPy broadcasting operation, with a named error when the shapes clash."""
    try:
        return f(x, y)
    except ValueError as exc:
        if "broadcast" in str(exc) or "mismatch" in str(exc):
            raise ValueError(f"{func}: shapes {x.shape} and {y.shape} do not broadcast "
                             f"(each dimension must be equal or 1, aligned from the "
                             f"last)") from None
        raise


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`, undoing NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    ndim_extra = grad.ndim - len(shape)
    if ndim_extra > 0:
        grad = grad.sum(axis=tuple(range(ndim_extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def reshape_like(g: np.ndarray, src: np.ndarray) -> np.ndarray:
    """`g` with the shape of `src` and, when `src` is not C-contiguous, its memory layout.

    The gradient of a reshape (e.g. a flatten before the classifier) arrives in C order;
    giving it the layout of the input (the channel-major activation maps a convolution
    returns) lets the backward passes below run on aligned arrays instead of mixing
    layouts at every elementwise op. One copy, and only when the layouts differ.
    """
    g = g.reshape(src.shape)
    if src.flags.c_contiguous or g.ndim < 2:
        return g
    aligned = np.empty_like(src)
    aligned[...] = g
    return aligned
