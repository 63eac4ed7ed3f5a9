"""Evaluation: loss, accuracy and predictions of a model over a loader, the confusion matrix,
and the test accuracy and confusion matrix of a saved checkpoint (numbers only: its picture is
drawn by `convscope.train.evaluate_checkpoint`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import functional as F
from ..autograd import Tensor, no_grad
from ..data import dataset_info
from .build import load_split, test_loader
from .checkpoint import load_checkpoint, model_from_checkpoint

__all__ = ["confusion_matrix", "evaluate", "evaluate_checkpoint"]


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


def confusion_matrix(targets: np.ndarray, predictions: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """Counts C[i, j] of samples of true class i predicted as class j, int64 (K, K).

    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    array([[1, 0],
           [1, 1]])
    """
    t = np.asarray(targets, dtype=np.int64).ravel()
    p = np.asarray(predictions, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: targets and predictions differ in length: "
                         f"{t.size} and {p.size}")
    for name, v in (("targets", t), ("predictions", p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in [0, {num_classes}), got "
                             f"values in [{v.min()}, {v.max()}]")
    return np.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def evaluate_checkpoint(path, *, data: str | None = None, batch_size: int | None = None,
                        limit: int | None = None) -> dict:
    """Test accuracy and confusion matrix of a checkpoint's model on its data set's test split.

    Numbers only; `convscope.train.evaluate_checkpoint` also draws confusion_matrix.png.

    Args:
        path: a checkpoint file or its run folder.
        data: folder of the data set (default: the run's, else the usual lookup).
        batch_size: evaluation batch size (default: the run's).
        limit: only the first N test images (default: all of them).

    Returns:
        dict with 'accuracy', 'loss', 'confusion_matrix' (K x K ints, rows true classes),
        'classes', 'images', 'epoch', 'dataset' (its name) and 'checkpoint' (the file's path).
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
    matrix = confusion_matrix(y_test, predictions, info.num_classes)
    return {"accuracy": accuracy, "loss": loss, "confusion_matrix": matrix.tolist(),
            "classes": list(info.classes), "images": int(len(y_test)), "epoch": ckpt.epoch,
            "dataset": config.dataset, "checkpoint": ckpt.path}
