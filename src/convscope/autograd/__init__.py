"""A small reverse-mode autograd over NumPy arrays, in the spirit of micrograd.

Each operation creates a `Tensor` that remembers its parents and a closure which, given the
gradient of the output, returns the gradients of the parents. `backward()` orders the graph
topologically once and calls the closures in reverse. The closures call kernels; this module
does no convolution math itself.

As in PyTorch, `backward()` frees the graph it runs through: each node drops its closure
(and with it the arrays the closure saved: unfolded columns, masks, inputs) and its links
to its parents once its gradient is computed, so that after `loss.backward()` a live `loss`
keeps no intermediate buffers. `backward(retain_graph=True)` keeps them for a second pass.

The rooms: `autograd.graph` (grad mode, `GraphNode` and `backward`), `autograd.ops`
(`Tensor`: the operations) and `autograd._arrays` (array plumbing).
"""

from ._arrays import reshape_like
from .graph import GraphNode, enable_grad, is_grad_enabled, no_grad
from .ops import Tensor, tensor

__all__ = ["Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled"]
