"""Functions that rearrange values without computing: `cat` (`torch.cat`), `reshape`
(with ONNX's 0 = "copy this dimension" as well as -1 = "the rest"), `squeeze`,
`unsqueeze` and `permute` (`torch.permute`, ONNX's Transpose). Each gradient is the inverse
rearrangement.

>>> cat([np.zeros((1, 2)), np.ones((1, 3))], dim=1).shape
(1, 5)
"""

from __future__ import annotations

import math

import numpy as np

from .. import _args
from ._common import check_dim, unary
from ._graph import _array, _result, _wants

__all__ = ["cat", "reshape", "squeeze", "unsqueeze", "permute"]


def cat(tensors, dim=0):
    """The inputs joined along `dim`; all other dimensions must agree.

    >>> cat([np.zeros((2, 1)), np.zeros((2, 4))], dim=-1).shape
    (2, 5)
    """
    func = "cat"
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{func}: tensors must be a non-empty list of arrays or Tensors, "
                        f"got {_args.show(tensors)}")
    arrays = [_array(t, func, f"tensors[{i}]") for i, t in enumerate(tensors)]
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError(f"{func}: zero-dimensional inputs cannot be joined")
    d = check_dim(func, dim, ndim)
    for i, a in enumerate(arrays):
        if a.ndim != ndim or a.shape[:d] + a.shape[d + 1:] != \
                arrays[0].shape[:d] + arrays[0].shape[d + 1:]:
            raise ValueError(f"{func}: tensors[{i}] has shape {tuple(a.shape)} but "
                             f"tensors[0] has shape {tuple(arrays[0].shape)}; all must "
                             f"match except in dim={dim}")
    y = np.concatenate(arrays, axis=d)
    ends = np.cumsum([a.shape[d] for a in arrays])[:-1]

    def backward(g):
        parts = np.split(g, ends, axis=d)
        return tuple(p if _wants(t) else None for p, t in zip(parts, tensors))

    return _result(y, tuple(tensors), backward, func)


def target_shape(func: str, shape, in_shape: tuple) -> tuple:
    """`shape` with ONNX's rules made explicit: 0 copies the input's size at that index,
    one -1 takes the size that keeps the number of values."""
    if not isinstance(shape, (tuple, list)) or not all(_args.is_int(n) for n in shape):
        raise TypeError(f"{func}: shape must be a tuple of ints, got shape={_args.show(shape)}")
    shape = [int(n) for n in shape]
    if any(n < -1 for n in shape) or shape.count(-1) > 1:
        raise ValueError(f"{func}: shape={tuple(shape)} may hold sizes >= 0 (0 copies the "
                         f"input's size) and at most one -1 (the size inferred)")
    for i, n in enumerate(shape):
        if n == 0:
            if i >= len(in_shape):
                raise ValueError(f"{func}: shape={tuple(shape)} copies dimension {i} (a 0) "
                                 f"of an input with only {len(in_shape)} dimensions")
            shape[i] = in_shape[i]
    total = math.prod(in_shape)
    known = math.prod(n for n in shape if n != -1)
    if -1 in shape:
        if known == 0 or total % known:
            raise ValueError(f"{func}: cannot reshape an input of shape {tuple(in_shape)} "
                             f"({total} values) into shape {tuple(shape)}")
        shape[shape.index(-1)] = total // known
    elif known != total:
        raise ValueError(f"{func}: cannot reshape an input of shape {tuple(in_shape)} "
                         f"({total} values) into shape {tuple(shape)}")
    return tuple(shape)


def reshape(input, shape):
    """The same values in `shape`: -1 is the size inferred, 0 copies the input's size
    at the same index (ONNX's Reshape; PyTorch's `view` would read 0 as empty).

    >>> reshape(np.zeros((2, 3, 4)), (0, -1)).shape
    (2, 12)
    """
    x = _array(input, "reshape", "input")
    y = x.reshape(target_shape("reshape", shape, x.shape))
    return unary(input, y, lambda g: g.reshape(x.shape), "reshape")


def _dims(func, dims, ndim):
    if _args.is_int(dims):
        dims = (dims,)
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"{func}: dims must be an int or a tuple of ints, got "
                        f"dims={_args.show(dims)}")
    out = tuple(check_dim(func, d, ndim, "dims") for d in dims)
    if len(set(out)) != len(out):
        raise ValueError(f"{func}: dims={tuple(dims)} repeats a dimension")
    return out


def squeeze(input, dims=None):
    """`input` without the size-1 dimensions `dims` (None: every size-1 dimension).

    >>> squeeze(np.zeros((2, 1, 3, 1)), (1, 3)).shape
    (2, 3)
    """
    func = "squeeze"
    x = _array(input, func, "input")
    if dims is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = _dims(func, dims, x.ndim)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"{func}: dimension {a} of an input of shape "
                                 f"{tuple(x.shape)} has size {x.shape[a]}, not 1")
    y = np.squeeze(x, axis=axes)
    return unary(input, y, lambda g: g.reshape(x.shape), func)


def unsqueeze(input, dims):
    """`input` with new size-1 dimensions at the indices `dims` of the output.

    >>> unsqueeze(np.zeros((2, 3)), (0, -1)).shape
    (1, 2, 3, 1)
    """
    func = "unsqueeze"
    x = _array(input, func, "input")
    axes = _dims(func, dims, x.ndim + (1 if _args.is_int(dims) else len(dims)))
    y = np.expand_dims(x, axes)
    return unary(input, y, lambda g: g.reshape(x.shape), func)


def permute(input, dims):
    """The dimensions of `input` reordered: output dimension i is input dimension dims[i]
    (`torch.permute`; ONNX's Transpose with perm=dims).

    >>> permute(np.zeros((2, 3, 4)), (0, 2, 1)).shape
    (2, 4, 3)
    """
    func = "permute"
    x = _array(input, func, "input")
    if not isinstance(dims, (tuple, list)) or not all(_args.is_int(d) for d in dims):
        raise TypeError(f"{func}: dims must be a tuple of ints, got dims={_args.show(dims)}")
    axes = tuple(check_dim(func, d, x.ndim, "dims") for d in dims)
    if len(axes) != x.ndim or sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"{func}: dims={tuple(dims)} must list each of the {x.ndim} "
                         f"dimensions of an input of shape {tuple(x.shape)} once")
    y = np.transpose(x, axes)
    inverse = tuple(np.argsort(axes))
    return unary(input, y, lambda g: np.transpose(g, inverse), func)
