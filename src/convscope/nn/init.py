"""Initialisation of parameters (PyTorch's `torch.nn.init`, the part convscope uses)."""

from __future__ import annotations

from ..random import default_rng

__all__ = ["init_uniform"]


def init_uniform(rng, bound: float, *params) -> None:
    """Refill each Parameter (None skipped) with U(-bound, bound) in its own dtype, drawn in
    order from `rng` or `convscope.random.default_rng()`: PyTorch's default initialisation
    of Linear and the convolutions."""
    rng = default_rng() if rng is None else rng
    for p in params:
        if p is not None:
            p.data = rng.uniform(-bound, bound, p.data.shape).astype(p.data.dtype)
