"""A small reverse-mode autograd over NumPy arrays, in the spirit of micrograd.

Each operation creates a `Tensor` that remembers its parents and a closure which, given the
gradient of the output, returns the gradients of the parents. `backward()` orders the graph
topologically once and calls the closures in reverse. The closures call kernels; this module
does no convolution math itself.

As in PyTorch, `backward()` frees the graph it runs through: each node drops its closure
(and with it the arrays the closure saved: unfolded columns, masks, inputs) and its links
to its parents once its gradient is computed, so that after `loss.backward()` a live `loss`
keeps no intermediate buffers. `backward(retain_graph=True)` keeps them for a second pass.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled"]

_state = threading.local()


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph (False inside `no_grad()`)."""
    return getattr(_state, "enabled", True)


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    previous = is_grad_enabled()
    _state.enabled = enabled
    try:
        yield
    finally:
        _state.enabled = previous


def no_grad():
    """Context manager in which no graph is recorded (inference, optimizer steps)."""
    return _grad_mode(False)


def enable_grad():
    """Context manager that turns graph recording back on inside `no_grad()`."""
    return _grad_mode(True)


_FLOAT_DTYPES = (np.float32, np.float64)
#: NumPy dtype kinds a Tensor may hold: bool, signed and unsigned int, float.
_KINDS = "biuf"


def _as_array(data, dtype=None, func: str = "tensor") -> np.ndarray:
    """`data` as an array of bools, ints or floats; anything else is refused by name."""
    if isinstance(data, Tensor):
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


def _axes(func: str, axis, ndim: int, arg: str = "axis"):
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


def _check_bool(func: str, **flags) -> None:
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{func}: {name} must be a bool, got {name}={value!r}")


def _broadcast(func: str, f, x: np.ndarray, y: np.ndarray):
    """f(x, y), a NumPy broadcasting operation, with a named error when the shapes clash."""
    try:
        return f(x, y)
    except ValueError as exc:
        if "broadcast" in str(exc) or "mismatch" in str(exc):
            raise ValueError(f"{func}: shapes {x.shape} and {y.shape} do not broadcast "
                             f"(each dimension must be equal or 1, aligned from the "
                             f"last)") from None
        raise


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
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


def _gradient_array(grad, out) -> np.ndarray:
    """The `grad` given to `out.backward(grad)` as an array of out's shape and dtype."""
    value = grad.data if isinstance(grad, Tensor) else grad
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"backward: grad must be an array or a Tensor, got "
                        f"{type(grad).__name__}") from exc
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or \
            np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"backward: grad must hold real numbers, got dtype {arr.dtype}")
    if arr.shape != out.shape:
        raise RuntimeError(f"backward: mismatch in shape: grad has shape {arr.shape} and "
                           f"the tensor has shape {out.shape}")
    return arr.astype(out.data.dtype, copy=False)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Attributes:
        data: the values, a NumPy array (assignable, e.g. to copy weights from elsewhere).
        grad: the accumulated gradient of the last `backward()` calls, a NumPy array or None.
        requires_grad: whether gradients flow to this tensor.
    """

    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype, func="Tensor")
        _check_bool("Tensor", requires_grad=requires_grad)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating-point dtype, got "
                            f"{self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[Tensor, ...] = ()
        self._backward = None  # grad_out -> tuple of grads, one per parent (None to skip)
        self._op = ""

    # -- construction of graph nodes -------------------------------------------------------
    @classmethod
    def _from_op(cls, data, parents, backward, op: str = "") -> "Tensor":
        """A new node. `backward(grad)` returns one gradient (or None) per parent."""
        out = cls(data)
        if is_grad_enabled() and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = tuple(parents)
            out._backward = backward
            out._op = op
        return out

    # -- properties --------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (no copy)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element converts to a Python "
                             f"number, got shape {self.shape} ({self.data.size} elements)")
        return self.data.item()

    def detach(self) -> "Tensor":
        """A tensor sharing the data, cut from the graph."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, prefix="tensor(", separator=", ")
        extra = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{extra})"

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    # -- backward ---------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires grad.

        Args:
            grad: the gradient of some scalar with respect to this tensor, of this tensor's
                shape; it may be omitted for a tensor with one element (it is then 1), as
                in PyTorch.
            retain_graph: keep the graph (its closures and the arrays they saved) so that
                `backward` can run through it again. By default the graph is freed as it is
                used, and a second `backward` through it raises RuntimeError.
        """
        func = "backward"
        if not isinstance(retain_graph, (bool, np.bool_)):
            raise TypeError(f"{func}: retain_graph must be a bool, got "
                            f"retain_graph={retain_graph!r}")
        if not self.requires_grad:
            raise RuntimeError(f"{func}: element 0 of tensors does not require grad and "
                               f"does not have a grad_fn (the tensor was not computed from "
                               f"a tensor with requires_grad=True)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"{func}: grad can be implicitly created only for a tensor with one "
                    f"element, got shape {self.shape}; pass grad= of that shape")
            grad = np.ones_like(self.data)
        else:
            grad = _gradient_array(grad, self)

        order: list[Tensor] = []
        seen: set[int] = set()
        stack = [(self, False)]
        while stack:  # iterative DFS, so deep graphs don't hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in node._parents:
                if id(parent) not in seen:
                    stack.append((parent, False))

        grads: dict[int, np.ndarray] = {id(self): grad}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:  # a leaf
                if node.requires_grad:
                    g = np.asarray(g, dtype=node.data.dtype).reshape(node.shape)
                    node.grad = g.copy() if node.grad is None else node.grad + g
                continue
            parents, parent_grads = node._parents, node._backward(g)
            if not retain_graph:
                node._release()
            for parent, pg in zip(parents, parent_grads):
                if pg is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = pg if key not in grads else grads[key] + pg

    def _release(self) -> None:
        """Free what this node keeps for its backward pass (PyTorch frees saved tensors).

        The closure goes, and with it every array it saved; the parents go too, so that the
        intermediate results they hold are freed as soon as nothing else refers to them.
        """
        op = self._op or "an operation"

        def freed(g):
            raise RuntimeError(
                f"backward: trying to backward through the graph a second time: the arrays "
                f"saved by {op} were freed by the first backward(); call "
                f"backward(retain_graph=True) the first time to keep them")

        self._backward = freed
        self._parents = ()

    # -- elementwise arithmetic --------------------------------------------------------------
    def _coerce(self, other, func: str) -> "Tensor":
        if isinstance(other, Tensor):
            return other
        if not isinstance(other, (int, float, bool, np.number, np.bool_, np.ndarray, list,
                                  tuple)):
            raise TypeError(f"{func}: the other operand must be a number, an array or a "
                            f"Tensor, got {type(other).__name__}")
        # a constant takes this tensor's dtype, so float32 graphs stay float32
        return Tensor(_as_array(other, func=func).astype(self.data.dtype, copy=False))

    def __add__(self, other):
        other = self._coerce(other, "add")
        a, b = self.shape, other.shape
        return Tensor._from_op(_broadcast("add", np.add, self.data, other.data), (self, other),
                               lambda g: (_unbroadcast(g, a), _unbroadcast(g, b)), "add")

    __radd__ = __add__

    def __neg__(self):
        return Tensor._from_op(-self.data, (self,), lambda g: (-g,), "neg")

    def __sub__(self, other):
        other = self._coerce(other, "sub")
        a, b = self.shape, other.shape
        return Tensor._from_op(_broadcast("sub", np.subtract, self.data, other.data),
                               (self, other),
                               lambda g: (_unbroadcast(g, a), _unbroadcast(-g, b)), "sub")

    def __rsub__(self, other):
        return self._coerce(other, "sub") - self

    def __mul__(self, other):
        other = self._coerce(other, "mul")
        x, y = self.data, other.data
        return Tensor._from_op(_broadcast("mul", np.multiply, x, y), (self, other),
                               lambda g: (_unbroadcast(g * y, x.shape),
                                          _unbroadcast(g * x, y.shape)), "mul")

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = self._coerce(other, "div")
        x, y = self.data, other.data
        return Tensor._from_op(_broadcast("div", np.true_divide, x, y), (self, other),
                               lambda g: (_unbroadcast(g / y, x.shape),
                                          _unbroadcast(-g * x / (y * y), y.shape)), "div")

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
            return _unbroadcast(gx, x.shape), _unbroadcast(gy, y.shape)

        return Tensor._from_op(_broadcast("matmul", np.matmul, x, y), (self, other), backward,
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
        axis = _axes("sum", axis, self.ndim)
        _check_bool("sum", keepdims=keepdims)
        shape = self.shape

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, shape).astype(g.dtype, copy=True),)

        return Tensor._from_op(self.data.sum(axis=axis, keepdims=keepdims), (self,),
                               backward, "sum")

    def mean(self, axis=None, keepdims: bool = False):
        """The mean over `axis` (None: all; an int or a tuple of ints, negative from the end)."""
        axis = _axes("mean", axis, self.ndim)
        _check_bool("mean", keepdims=keepdims)
        n = self.data.size if axis is None else int(
            np.prod([self.shape[a] for a in np.atleast_1d(axis)]))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / max(n, 1))

    def max(self, axis=None, keepdims: bool = False):
        """The maximum over `axis`; ties share the gradient equally."""
        axis = _axes("max", axis, self.ndim)
        _check_bool("max", keepdims=keepdims)
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
        start_dim = _axes("flatten", start_dim, len(shape), "start_dim")
        end = _axes("flatten", end_dim, len(shape), "end_dim")
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
        other = other.data if isinstance(other, Tensor) else _as_array(other, func=func)
        return _broadcast(func, f, self.data, other)

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
    arr = np.array(_as_array(data, dtype, func="tensor"), copy=True)
    _check_bool("tensor", requires_grad=requires_grad)
    if requires_grad and not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"tensor: requires_grad=True needs a floating-point dtype, got {arr.dtype}")
    return Tensor(arr, requires_grad=requires_grad)
