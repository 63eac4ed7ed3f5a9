"""Optimizers and learning-rate schedulers with PyTorch's semantics.

`SGD`, `Adam` and `AdamW` update each parameter's `.data` array in place from its `.grad`
(a parameter whose `.grad` is None is skipped), with the same operations in the same order as
PyTorch's single-tensor ("foreach=False") code, so that both agree to rounding. `StepLR`,
`CosineAnnealingLR` and `OneCycleLR` set `param_groups[i]['lr']` (and, for OneCycleLR, the
momentum or Adam's beta1) after each epoch or batch, with PyTorch's formulas.

State dicts hold only NumPy arrays, Python numbers, bools, strings, lists and dicts, so that
they can be written as ``.npz`` arrays plus JSON without pickle.

Example:
    >>> import numpy as np
    >>> from convscope import Tensor
    >>> from convscope.optim import SGD
    >>> w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad = np.array([1.0, -1.0])
    >>> opt.step()
    >>> w.data
    array([0.9, 2.1])
"""

from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW",
           "LRScheduler", "StepLR", "CosineAnnealingLR", "OneCycleLR"]
