"""Pictures of a training run: learning curves, first-layer filters, a confusion matrix.

matplotlib (the ``viz`` extra) is imported only when a picture is drawn, on a Figure with its
own Agg canvas (pyplot's process-wide backend is never switched, so notebooks keep inline
figures). Each drawing function writes a PNG atomically when given a path (a file is either
the old picture or the new one, never half) and otherwise returns the Figure. The filter
grid lives in `viz.filters`; `plot_filters` is re-exported here for the training job.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "filters.png")
    >>> plot_filters(np.random.default_rng(0).normal(size=(8, 1, 3, 3)), path)
    >>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np

from ._common import finish, new_figure
from ..training.evaluate import confusion_matrix  # noqa: F401  (re-exported: the numbers)
from .filters import plot_filters  # noqa: F401  (re-exported: the training job draws it)

__all__ = ["confusion_matrix", "format_confusion_matrix", "plot_confusion_matrix",
           "plot_filters", "plot_training_curves"]


# -- learning curves ---------------------------------------------------------------------------
def plot_training_curves(epochs: Sequence[Mapping], path: str | os.PathLike | None = None,
                         title: str | None = None):
    """Loss and accuracy per epoch, training vs test, side by side, as a PNG.

    Args:
        epochs: one dict per epoch with 'epoch', 'train_loss', 'train_accuracy',
            'test_loss', 'test_accuracy' (accuracies in [0, 1]), as in metrics.json.
        path: the PNG to write (atomically); None returns the matplotlib Figure.
        title: a title over both panels.
    """
    keys = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")
    for i, row in enumerate(epochs):
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"plot_training_curves: epochs[{i}] lacks {missing}")
    x = [row["epoch"] for row in epochs]
    fig = new_figure(10, 4, dpi=120)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split, style in (("train", "o-"), ("test", "s--")):
        ax_loss.plot(x, [row[f"{split}_loss"] for row in epochs], style, label=split)
        ax_acc.plot(x, [100 * row[f"{split}_accuracy"] for row in epochs], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
        if x:
            ax.set_xticks(x if len(x) <= 20 else x[:: math.ceil(len(x) / 20)])
    if title:
        fig.suptitle(title)
    return finish(fig, path)


# -- confusion matrix --------------------------------------------------------------------------
def format_confusion_matrix(matrix: np.ndarray, classes: Sequence[str]) -> str:
    """The matrix as a text table: rows are true classes, columns predictions, with recall.

    Column headers are the class indices (names are long); each row starts with its index
    and name and ends with the row's recall (correct / total of that class).
    """
    m = np.asarray(matrix)
    k = len(classes)
    name_w = max(len(c) for c in classes) + 5
    cell = max(5, len(str(int(m.max()))) + 1) if m.size else 5
    lines = ["true \\ predicted".ljust(name_w) + "".join(f"{j:>{cell}}" for j in range(k))
             + "  recall"]
    for i, name in enumerate(classes):
        total = int(m[i].sum())
        recall = f"{100 * m[i, i] / total:6.1f}%" if total else "     -"
        lines.append(f"{i:>2} {name}".ljust(name_w)
                     + "".join(f"{int(v):>{cell}}" for v in m[i]) + "  " + recall)
    return "\n".join(lines)


def plot_confusion_matrix(matrix: np.ndarray, classes: Sequence[str],
                          path: str | os.PathLike | None = None, title: str | None = None):
    """The confusion matrix as a heat map, rows normalised, counts written in the cells; a
    PNG written to `path`, or the Figure returned when no path is given."""
    m = np.asarray(matrix, dtype=np.float64)
    k = len(classes)
    if m.shape != (k, k):
        raise ValueError(f"plot_confusion_matrix: matrix must have shape ({k}, {k}) for "
                         f"{k} classes, got {m.shape}")
    rows = m.sum(axis=1, keepdims=True)
    share = m / np.where(rows > 0, rows, 1)
    size = max(4.0, 0.6 * k + 2)
    fig = new_figure(size + 1, size, dpi=120)
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.5 else "black")
    return finish(fig, path)
