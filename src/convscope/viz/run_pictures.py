"""The pictures a training run leaves in its folder: training_curves.png, filters.png and
(for `convscope evaluate`) confusion_matrix.png.

`convscope.train` calls these after `convscope.training.train` has finished (or was
interrupted); the training package itself draws nothing.
"""

from __future__ import annotations

import os

import numpy as np

from .training import plot_confusion_matrix, plot_filters, plot_training_curves

__all__ = ["CONFUSION_NAME", "CURVES_NAME", "FILTERS_NAME", "first_conv_weight",
           "write_confusion", "write_pictures"]

CURVES_NAME = "training_curves.png"
FILTERS_NAME = "filters.png"
CONFUSION_NAME = "confusion_matrix.png"


def first_conv_weight(model) -> np.ndarray | None:
    """The weight of the model's first convolution (the first parameter of rank >= 3)."""
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.data.ndim >= 3:
            return p.data
    return None


def write_pictures(out: str, rows: list, model, config) -> list[str]:
    """training_curves.png (when `rows`, the metrics' epochs, has any) and filters.png (when
    the model has a convolution) into `out`; returns the paths written.

    `config` is the run's `training.TrainConfig` (its data set and model name title the
    curves)."""
    written = []
    if rows:
        path = os.path.join(out, CURVES_NAME)
        plot_training_curves(rows, path, title=f"{config.dataset}: {config.model_spec()[0]}")
        written.append(path)
    weight = first_conv_weight(model)
    if weight is not None:
        path = os.path.join(out, FILTERS_NAME)
        plot_filters(weight, path, title=f"first-layer filters after {len(rows)} "
                                         f"epoch{'s' if len(rows) != 1 else ''}")
        written.append(path)
    return written


def write_confusion(result: dict, out: str | None = None) -> str:
    """confusion_matrix.png of a `training.evaluate_checkpoint` result, into `out` (default:
    the checkpoint's folder); returns its path."""
    path = os.path.join(out or os.path.dirname(os.path.abspath(result["checkpoint"])),
                        CONFUSION_NAME)
    plot_confusion_matrix(np.asarray(result["confusion_matrix"]), result["classes"], path,
                          title=f"{result['dataset']} test set: "
                                f"{100 * result['accuracy']:.2f}% correct")
    return path
