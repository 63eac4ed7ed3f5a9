"""The graph and its backward pass: grad mode (`no_grad`, `enable_grad`), and `GraphNode`,
the base of `Tensor`: an array, its gradient, its parents and the closure that maps the
output's gradient to theirs, and `backward()`, which orders the graph topologically once,
calls the closures in reverse and frees them as it goes (see `convscope.autograd`).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from ._arrays import as_array, check_bool

__all__ = ["GraphNode", "enable_grad", "is_grad_enabled", "no_grad"]

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


def _gradient_array(grad, out) -> np.ndarray:
    """The `grad` given to `out.backward(grad)` as an array of out's shape and dtype."""
    value = grad.data if isinstance(grad, GraphNode) else grad
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


class GraphNode:
    """A node of the graph: an array, its gradient and the way back to its parents (the
    base of `Tensor`, which adds the operations: `autograd.ops`).

    Attributes:
        data: the values, a NumPy array (assignable, e.g. to copy weights from elsewhere).
        grad: the accumulated gradient of the last `backward()` calls, a NumPy array or None.
        requires_grad: whether gradients flow to this tensor.
    """

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = as_array(data, dtype, func="Tensor")
        check_bool("Tensor", requires_grad=requires_grad)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating-point dtype, got "
                            f"{self.data.dtype}")
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._parents: tuple[GraphNode, ...] = ()
        self._backward = None  # grad_out -> tuple of grads, one per parent (None to skip)
        self._op = ""

    # -- construction of graph nodes -------------------------------------------------------
    @classmethod
    def _from_op(cls, data, parents, backward, op: str = ""):
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

        order: list[GraphNode] = []
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
