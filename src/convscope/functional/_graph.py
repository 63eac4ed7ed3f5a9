"""What every public function shares: NumPy arrays or Tensors in, the same kind out.

A function takes its arguments' arrays with `_array`, computes on NumPy arrays, and hands
the result to `_result`, which records a graph node (with the function's backward closure)
only when an input is a Tensor that requires grad.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Tensor, is_grad_enabled


def _array(value, func: str, arg: str, optional: bool = False):
    """The NumPy array of numbers behind an argument; None stays None when `optional`."""
    if value is None:
        if optional:
            return None
        raise TypeError(f"{func}: {arg} must be an array or a Tensor, got None")
    if isinstance(value, Tensor):
        arr = value.data
    elif isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except Exception as exc:  # noqa: BLE001 - reported with the argument's name
            raise TypeError(f"{func}: {arg} must be an array or a Tensor, got "
                            f"{type(value).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{func}: {arg} must hold numbers (bool, int or float), got dtype "
                        f"{arr.dtype} (from {type(value).__name__})")
    return arr


def _needs_grad(*values) -> bool:
    """Whether a graph node is to be recorded for these inputs."""
    return is_grad_enabled() and any(_wants(v) for v in values)


def _wants(value) -> bool:
    """Whether the gradient with respect to this input is wanted."""
    return isinstance(value, Tensor) and value.requires_grad


def _result(out, inputs, backward, op):
    """`out` as a graph node when any input needs grad, a Tensor when any input is one.

    `backward(g)` returns one gradient (or None) per input; an input that is None becomes
    an empty constant parent.
    """
    if _needs_grad(*inputs):
        parents = tuple(v if isinstance(v, Tensor) else Tensor(np.zeros(0) if v is None else v)
                        for v in inputs)
        return Tensor._from_op(out, parents, backward, op)
    if any(isinstance(v, Tensor) for v in inputs):
        return Tensor(out)
    return out
