"""The training job with its pictures and page: what `convscope train` and `convscope
evaluate` call.

`convscope.training` holds the numbers (configuration, model, loop, checkpoints,
evaluation) and knows no pictures; `convscope.viz` draws. This module sits above both:

- `train(config)`: `training.train`, then `write_run_pages` into the run folder
  (training_curves.png, filters.png, explain.html, report.html); on Ctrl-C the pictures
  of the last complete epoch.
- `evaluate_checkpoint(path)`: `training.evaluate_checkpoint` and confusion_matrix.png.

Everything of `convscope.training` is re-exported here, so ``from convscope.train import
TrainConfig, load_checkpoint`` and the like go on working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import training
from .training import *  # noqa: F401,F403
from .training import TrainConfig, TrainingInterrupted, load_checkpoint, model_from_checkpoint
from .viz.explain import write_explainer
from .viz.report import REPORT_NAME, write_report
from .viz.run_pictures import (CONFUSION_NAME, CURVES_NAME, FILTERS_NAME,  # noqa: F401
                               first_conv_weight, write_confusion, write_pictures)

__all__ = [*training.__all__, "CONFUSION_NAME", "CURVES_NAME", "FILTERS_NAME",
           "REPORT_NAME", "first_conv_weight", "write_pictures", "write_run_pages",
           "write_run_pictures"]


def write_run_pictures(out: str) -> list[str]:
    """training_curves.png and filters.png of the run folder `out`, drawn from its
    checkpoint.npz (the model and the epochs it holds); returns the paths written."""
    ckpt = load_checkpoint(out)
    return write_pictures(out, list(ckpt.metrics.get("epochs", [])),
                          model_from_checkpoint(ckpt), ckpt.config)


def write_run_pages(out: str, *, data: str | None = None) -> list[str]:
    """Everything `convscope train` draws after training, into the run folder `out`: the
    pictures (`write_run_pictures`), the explainer page explain.html (`viz.explain`: click
    a unit of test image 0 and see why it has its value) and the run's page, report.html
    (`viz.report`, which links the explainer; `data` is where the data set is, None: where
    the run found it). Returns the paths written, the report last."""
    explainer = write_explainer(out, data=data)  # before the report, which links it
    return [*write_run_pictures(out), explainer, write_report(out, data=data)]


def train(config: TrainConfig, *, progress: bool = True, resume: str | None = None,
          pictures: bool = True, log: Callable[[str], Any] | None = print) -> dict:
    """`training.train` (see it for the arguments), then, with `pictures`,
    `write_run_pages` into the run folder; `log` gets the page's path
    (``report: RUN/report.html``).

    On Ctrl-C (`training.TrainingInterrupted`) the pictures of the last complete epoch are
    written (when `pictures`) and the exception goes on.
    """
    try:
        metrics = training.train(config, progress=progress, resume=resume, log=log)
    except TrainingInterrupted as exc:
        if pictures:
            try:
                write_run_pictures(exc.out)
            except Exception:  # noqa: BLE001 - never hide the interruption behind a picture
                pass
        raise
    if pictures:
        out = metrics["config"]["out"]
        page = write_run_pages(out, data=metrics["config"]["data"])[-1]
        if log is not None:
            log(f"report: {page}")
    return metrics


def evaluate_checkpoint(path, *, data: str | None = None, out: str | None = None,
                        batch_size: int | None = None, limit: int | None = None,
                        pictures: bool = True) -> dict:
    """`training.evaluate_checkpoint` and, with `pictures`, confusion_matrix.png in `out`
    (default: the checkpoint's folder); the result's 'picture' is its path (or None)."""
    result = training.evaluate_checkpoint(path, data=data, batch_size=batch_size,
                                          limit=limit)
    result["picture"] = write_confusion(result, out) if pictures else None
    return result

