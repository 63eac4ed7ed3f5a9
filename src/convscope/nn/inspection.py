"""`inspection_copy`: a model's module tree copied shallowly, to look inside it (hooks,
evaluation mode, frozen parameters) without touching the model itself.

The pictures (`convscope.viz`) and `convscope.summary` run the copy, so a model that serves
predictions in other threads meanwhile keeps its flags and hooks: nothing is flipped on it
and restored afterwards, and no lock is needed.
"""

from __future__ import annotations

import copy
import weakref
from collections import OrderedDict

__all__ = ["inspection_copy", "is_inspection_copy"]

_copies: set[int] = set()  # ids of the live roots made by inspection_copy


def inspection_copy(model, *, evaluation: bool = True, frozen: bool = True):
    """A shallow copy of `model`'s module tree to look inside it, sharing its arrays.

    Every module is a new object (``copy.copy``) with its own ``training`` flag (False with
    `evaluation`) and no forward hooks; every Parameter a new Tensor over the same array
    (``requires_grad`` False with `frozen`, no ``.grad``); buffers are the same arrays. A
    module shared at two places of the tree (or a tied Parameter) is copied once. The
    user's model is not touched, so it may go on serving predictions in other threads
    while a picture is computed: no flag flips, no hook is attached to it, no gradient is
    left on its parameters. (A submodule held in a plain attribute instead of being
    registered is not copied; it runs as it is.)
    """
    modules: dict[int, object] = {}
    params: dict[int, object] = {}

    def param(p):
        if p is None:
            return None
        if id(p) not in params:
            view = copy.copy(p)
            view.grad = None
            view.requires_grad = bool(p.requires_grad and not frozen)
            params[id(p)] = view
        return params[id(p)]

    def module(m):
        if m is None:
            return None
        if id(m) not in modules:
            view = copy.copy(m)
            modules[id(m)] = view
            state = view.__dict__
            state["_parameters"] = OrderedDict((k, param(p)) for k, p in m._parameters.items())
            state["_buffers"] = OrderedDict(m._buffers)
            state["_forward_hooks"] = OrderedDict()
            state["training"] = False if evaluation else m.training
            state["_modules"] = OrderedDict((k, module(c)) for k, c in m._modules.items())
        return modules[id(m)]

    view = module(model)
    _copies.add(id(view))
    weakref.finalize(view, _copies.discard, id(view))
    return view


def is_inspection_copy(model) -> bool:
    """Whether `model` is the root of an `inspection_copy` (still alive)."""
    return id(model) in _copies
