"""The pictures a run leaves in its folder: training_curves.png and filters.png."""

from __future__ import annotations

import os

import numpy as np

from .. import viz
from .config import TrainConfig

__all__ = ["CURVES_NAME", "FILTERS_NAME", "first_conv_weight", "write_pictures"]

CURVES_NAME = "training_curves.png"
FILTERS_NAME = "filters.png"


def first_conv_weight(model) -> np.ndarray | None:
    """The weight of the model's first convolution (the first parameter of rank >= 3)."""
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.data.ndim >= 3:
            return p.data
    return None


def write_pictures(out: str, rows: list, model, config: TrainConfig) -> list[str]:
    """training_curves.png and filters.png; returns the paths written."""
    written = []
    if rows:
        path = os.path.join(out, CURVES_NAME)
        viz.plot_training_curves(rows, path, title=f"{config.dataset}: "
                                 f"{config.model_spec()[0]}")
        written.append(path)
    weight = first_conv_weight(model)
    if weight is not None:
        path = os.path.join(out, FILTERS_NAME)
        viz.plot_filters(weight, path, title=f"first-layer filters after {len(rows)} "
                                             f"epoch{'s' if len(rows) != 1 else ''}")
        written.append(path)
    return written
