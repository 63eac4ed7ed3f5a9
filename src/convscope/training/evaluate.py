"""Evaluation: loss, accuracy and predictions of a model over a loader, and the test accuracy
and confusion matrix of a saved checkpoint."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np

from .. import functional as F
from .. import viz
from ..autograd import Tensor, no_grad
from ..data import dataset_info
from .build import load_split, test_loader
from .checkpoint import load_checkpoint, model_from_checkpoint

__all__ = ["CONFUSION_NAME", "evaluate", "evaluate_checkpoint"]

CONFUSION_NAME = "confusion_matrix.png"


def evaluate(model, loader) -> tuple[float, float, np.ndarray]:
    """(mean cross-entropy, accuracy, predictions) of `model` over `loader`, in eval mode."""
    model.eval()
    loss_sum, correct, seen, predictions = 0.0, 0, 0, []
    with no_grad():
        for xb, yb in loader:
            out = model(Tensor(xb))
            scores = out.data if isinstance(out, Tensor) else np.asarray(out)
            loss_sum += float(F.cross_entropy(scores, yb, reduction="sum"))
            pred = scores.argmax(axis=1)
            correct += int((pred == yb).sum())
            seen += len(yb)
            predictions.append(pred)
    if seen == 0:
        raise ValueError("evaluate: the loader gave no sample (an empty data set, or "
                         "drop_last=True with a batch_size larger than the data set)")
    return loss_sum / seen, correct / seen, np.concatenate(predictions)


def evaluate_checkpoint(path, *, data: str | None = None, out: str | None = None,
                        batch_size: int | None = None, limit: int | None = None,
                        pictures: bool = True) -> dict:
    """Test accuracy and confusion matrix of a checkpoint's model on its data set's test split.

    Args:
        path: a checkpoint file or its run folder.
        data: folder of the data set (default: the run's, else the usual lookup).
        out: folder for confusion_matrix.png (default: the checkpoint's folder).
        batch_size: evaluation batch size (default: the run's).
        limit: only the first N test images (default: all of them).
        pictures: write confusion_matrix.png.

    Returns:
        dict with 'accuracy', 'loss', 'confusion_matrix' (K x K ints, rows true classes),
        'classes', 'images', 'epoch' and 'picture' (the PNG's path, or None).
    """
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt)
    overrides: dict[str, Any] = {"limit_test": limit}
    if data is not None:
        overrides["data"] = data
    if batch_size is not None:
        overrides["eval_batch_size"] = batch_size
    config = dataclasses.replace(ckpt.config, **overrides)
    info = dataset_info(config.dataset)
    x_test, y_test = load_split(config, train=False)  # limit_test is `limit`
    loss, accuracy, predictions = evaluate(model, test_loader(config, x_test, y_test))
    matrix = viz.confusion_matrix(y_test, predictions, info.num_classes)
    picture = None
    if pictures:
        picture = os.path.join(out or os.path.dirname(os.path.abspath(ckpt.path)),
                               CONFUSION_NAME)
        viz.plot_confusion_matrix(matrix, info.classes, picture,
                                  title=f"{config.dataset} test set: "
                                        f"{100 * accuracy:.2f}% correct")
    return {"accuracy": accuracy, "loss": loss, "confusion_matrix": matrix.tolist(),
            "classes": list(info.classes), "images": int(len(y_test)), "epoch": ckpt.epoch,
            "picture": picture}
