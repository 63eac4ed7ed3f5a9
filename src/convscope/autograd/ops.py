"""`Tensor`: a `GraphNode` with the operations (arithmetic, matrix product, reductions, shape
changes, indexing, comparisons), each a new node whose closure gives its parents' gradients.
"""

from __future__ import annotations

import numpy as np

from ._arrays import as_array, axes, broadcast, check_bool, reshape_like, unbroadcast
from .graph import GraphNode

__all__ = ["Tensor", "tensor"]


class Tensor(GraphNode):
    """An n-dimensional array that can record the operations applied to it.

    Attributes:
        data: the values, a NumPy array (assignable, e.g. to copy weights from elsewhere).
        grad: the accumulated gradient of the last `backward()` calls, a NumPy array or None.
        requires_grad: whether gradients flow to this tensor.
    """

    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def detach(self) -> "Tensor":
        """A tensor sharing the data, cut from the graph."""
        return Tensor(self.data)

    # -- elementwise arithmetic --------------------------------------------------------------
    def _coerce(self, other, func: str) -> "Tensor":
        if isinstance(other, Tensor):
            return other
        if not isinstance(other, (int, float, bool, np.number, np.bool_, np.ndarray, list,
                                  tuple)):
            raise TypeError(f"{func}: the other operand must be a number, an array or a "
                            f"Tensor, got {type(other).__name__}")
        # a constant takes this tensor's dtype, so float32 graphs stay float32
        return Tensor(as_array(other, func=func).astype(self.data.dtype, copy=False))

    def __add__(self, other):
        other = self._coerce(other, "add")
        a, b = self.shape, other.shape
        return Tensor._from_op(broadcast("add", np.add, self.data, other.data), (self, other),
                               lambda g: (unbroadcast(g, a), unbroadcast(g, b)), "add")

    __radd__ = __add__

    def __neg__(self):
        return Tensor._from_op(-self.data, (self,), lambda g: (-g,), "neg")

    def __sub__(self, other):
        other = self._coerce(other, "sub")
        a, b = self.shape, other.shape
        return Tensor._from_op(broadcast("sub", np.subtract, self.data, other.data),
                               (self, other),
                               lambda g: (unbroadcast(g, a), unbroadcast(-g, b)), "sub")

    def __rsub__(self, other):
        return self._coerce(other, "sub") - self

    def __mul__(self, other):
        other = self._coerce(other, "mul")
        x, y = self.data, other.data
        return Tensor._from_op(broadcast("mul", np.multiply, x, y), (self, other),
                               lambda g: (unbroadcast(g * y, x.shape),
                                          unbroadcast(g * x, y.shape)), "mul")

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._coerce(other, "div")
        x, y = self.data, other.data
        return Tensor._from_op(broadcast("div", np.true_divide, x, y), (self, other),
                               lambda g: (unbroadcast(g / y, x.shape),
                                          unbroadcast(-g * x / (y * y), y.shape)), "div")

    def __rtruediv__(self, other):
        return self._coerce(other, "div") / self

    def __pow__(self, exponent):
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float, np.integer,
                                                                   np.floating)):
            raise TypeError(f"pow: the exponent must be a number (int or float), got "
                            f"{type(exponent).__name__}")
        x = self.data
        return Tensor._from_op(x ** exponent, (self,),
                               lambda g: (g * exponent * x ** (exponent - 1),), "pow")

    def __matmul__(self, other):
        other = self._coerce(other, "matmul")
        x, y = self.data, other.data
        if x.ndim < 2 or y.ndim < 2:
            raise ValueError(f"matmul: both operands need at least 2 dimensions, got shapes "
                             f"{x.shape} and {y.shape}")
        if x.shape[-1] != y.shape[-2]:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not match: "
                             f"(..., n, k) @ (..., k, m) needs the same k, got "
                             f"{x.shape[-1]} and {y.shape[-2]}")

        def backward(g):
            gx = g @ np.swapaxes(y, -1, -2)
            gy = np.swapaxes(x, -1, -2) @ g
            return unbroadcast(gx, x.shape), unbroadcast(gy, y.shape)

        return Tensor._from_op(broadcast("matmul", np.matmul, x, y), (self, other), backward,
                               "matmul")

    def __rmatmul__(self, other):
        return self._coerce(other, "matmul") @ self

    def exp(self):
        out = np.exp(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g * out,), "exp")

    def log(self):
        x = self.data
        return Tensor._from_op(np.log(x), (self,), lambda g: (g / x,), "log")

    def sqrt(self):
        out = np.sqrt(self.data)
        return Tensor._from_op(out, (self,), lambda g: (g / (2 * out),), "sqrt")

    def abs(self):
        x = self.data
        return Tensor._from_op(np.abs(x), (self,), lambda g: (g * np.sign(x),), "abs")

    # -- reductions --------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False):
        """The sum over `axis` (None: all; an int or a tuple of ints, negative from the end)."""
        axis = axes("sum", axis, self.ndim)
        check_bool("sum", keepdims=keepdims)
        shape = self.shape

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, shape).astype(g.dtype, copy=True),)

        return Tensor._from_op(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                               backward, "sum")

    def mean(self, axis=None, keepdims: bool = False):
        """The mean over `axis` (None: all; an int or a tuple of ints, negative from the end)."""
        axis = axes("mean", axis, self.ndim)
        check_bool("mean", keepdims=keepdims)
        n = self.data.size if axis is None else int(
            np.prod([self.shape[a] for a in np.atleast_1d(axis)]))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / max(n, 1))

    def max(self, axis=None, keepdims: bool = False):
        """The maximum over `axis`; ties share the gradient equally."""
        axis = axes("max", axis, self.ndim)
        check_bool("max", keepdims=keepdims)
        x = self.data
        if x.size == 0:
            raise ValueError(f"max: a tensor of shape {self.shape} has no elements to take "
                             f"the maximum of")
        out = x.max(axis=axis, keepdims=True)

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            mask = x == out
            # ties share the gradient equally
            return (mask * (g / mask.sum(axis=axis, keepdims=True)),)

        value = out if keepdims else (out.reshape(()) if axis is None else out.squeeze(axis))
        return Tensor._from_op(value, (self,), backward, "max")

    # -- shape -------------------------------------------------------------------------------
    def reshape(self, *shape):
        """The same values in `shape` (ints, or one tuple; one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"reshape: shape must be ints or one tuple of ints, got "
                            f"shape={shape!r}")
        if any(n < -1 for n in shape) or list(shape).count(-1) > 1:
            raise ValueError(f"reshape: shape={shape} may hold sizes >= 0 and at most one "
                             f"-1 (the size inferred)")
        known = int(np.prod([n for n in shape if n != -1]))
        if (known != self.size) if -1 not in shape else (known == 0 or self.size % known):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} elements) into shape {shape}")
        src = self.data
        backward = lambda g: (reshape_like(g, src),)  # noqa: E731
        return Tensor._from_op(src.reshape(shape), (self,), backward, "reshape")

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Dimensions start_dim..end_dim (inclusive) merged into one, as PyTorch's."""
        shape = self.shape
        if not shape:
            return self.reshape(1)
        start_dim = axes("flatten", start_dim, len(shape), "start_dim")
        end = axes("flatten", end_dim, len(shape), "end_dim")
        if not isinstance(start_dim, int) or not isinstance(end, int):
            raise TypeError(f"flatten: start_dim and end_dim must be ints, got "
                            f"start_dim={start_dim!r}, end_dim={end_dim!r}")
        if start_dim > end:
            raise ValueError(f"flatten: start_dim={start_dim} must come before "
                             f"end_dim={end_dim} (shape {shape})")
        new = shape[:start_dim] + (int(np.prod(shape[start_dim:end + 1])),) + shape[end + 1:]
        return self.reshape(new)

    def transpose(self, *axes):
        """The dimensions permuted as NumPy's `transpose` (no axes: reversed)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = axes or tuple(reversed(range(self.ndim)))
        if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
            raise TypeError(f"transpose: axes must be ints, got axes={axes!r}")
        if sorted(a % self.ndim if -self.ndim <= a < self.ndim else a for a in axes) != \
                list(range(self.ndim)):
            raise ValueError(f"transpose: axes={tuple(axes)} must be a permutation of the "
                             f"{self.ndim} dimensions {tuple(range(self.ndim))} (shape "
                             f"{self.shape})")
        inverse = tuple(np.argsort(axes))
        return Tensor._from_op(self.data.transpose(axes), (self,),
                               lambda g: (g.transpose(inverse),), "transpose")

    permute = transpose

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.data
        shape, dtype = self.shape, self.dtype
        try:
            value = self.data[index]
        except ValueError as exc:  # a zero slice step
            raise ValueError(f"getitem: index {index!r:.80} on a tensor of shape {shape}: "
                             f"{exc}") from None
        except OverflowError:
            raise IndexError(f"getitem: index {index!r:.80} is out of bounds for a tensor of "
                             f"shape {shape}") from None
        except IndexError as exc:
            # Out of range stays an IndexError (Python's rule, which iteration relies on);
            # an index of the wrong kind is a TypeError
            kind = IndexError if "out of bounds" in str(exc) or "too many" in str(exc) \
                else TypeError
            raise kind(f"getitem: index {index!r:.80} on a tensor of shape {shape}: "
                       f"{exc}") from None

        def backward(g):
            out = np.zeros(shape, dtype=dtype)
            np.add.at(out, index, g)  # add.at accumulates repeated indices
            return (out,)

        return Tensor._from_op(value, (self,), backward, "getitem")

    # -- comparisons give plain arrays (no gradient) -----------------------------------------
    def _compare(self, other, f, func):
        """f(self, other) elementwise, a plain boolean array (comparisons record no graph)."""
        other = other.data if isinstance(other, Tensor) else as_array(other, func=func)
        return broadcast(func, f, self.data, other)

    def __eq__(self, other):
        try:
            return self._compare(other, np.equal, "eq")
        except TypeError:
            return NotImplemented  # not numbers: Python's identity comparison (False)

    def __lt__(self, other):
        return self._compare(other, np.less, "lt")

    def __gt__(self, other):
        return self._compare(other, np.greater, "gt")

    __hash__ = object.__hash__


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a `Tensor` from an array-like (a copy of the data).

    >>> x = tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    array([2., 4.])
    """
    arr = np.array(as_array(data, dtype, func="tensor"), copy=True)
    check_bool("tensor", requires_grad=requires_grad)
    if requires_grad and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"tensor: requires_grad=True needs a floating-point dtype, got {arr.dtype}")
    return Tensor(arr, requires_grad=requires_grad)
