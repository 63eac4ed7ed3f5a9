"""The training loop: `train(config)` runs the job, one epoch at a time, with a progress bar,
metrics.json and a checkpoint after every epoch, and resumes after an interruption."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from .. import functional as F
from .. import models
from ..autograd import Tensor
from ..data import dataset_info
from ..jsonutil import write_json
from .build import build_model, load_data, make_loaders, make_optimizer
from .checkpoint import CHECKPOINT_NAME, load_checkpoint, restore_checkpoint, save_checkpoint
from .config import TrainConfig
from .evaluate import evaluate
from .filters import filters_line, final_filters, initial_filters
from .pictures import write_pictures

__all__ = ["METRICS_NAME", "TrainingInterrupted", "train", "train_epoch", "progress_bar",
           "metrics_summary"]

METRICS_NAME = "metrics.json"


def train_epoch(model, loader, optimizer, scheduler, config, bar) -> tuple[float, float]:
    """One pass over `loader`; returns (mean training loss, training accuracy)."""
    model.train()
    loss_sum, correct, seen = 0.0, 0, 0
    start = time.perf_counter()
    for xb, yb in loader:
        scores = model(Tensor(xb))
        loss = F.cross_entropy(scores, yb, label_smoothing=config.label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = len(yb)
        loss_sum += float(loss.item()) * n
        correct += int((scores.data.argmax(axis=1) == yb).sum())
        seen += n
        bar.update(1)
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.2f}%",
                        img_s=f"{seen / (time.perf_counter() - start):.0f}", refresh=False)
    if seen == 0:
        raise ValueError("train_epoch: the loader gave no sample (an empty data set, or "
                         "drop_last=True with a batch_size larger than the data set)")
    return loss_sum / seen, correct / seen


class NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return NoBar()
    return tqdm(total=total, desc=desc, unit="batch", file=sys.stderr, leave=True,
                dynamic_ncols=True)


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during `train`: the checkpoint of the last complete epoch is on disk.

    Attributes: checkpoint (its path), epoch (complete epochs in it), out (the run folder).
    """

    def __init__(self, checkpoint: str, epoch: int, out: str):
        super().__init__(f"interrupted; checkpoint of epoch {epoch} in {checkpoint}")
        self.checkpoint, self.epoch, self.out = checkpoint, epoch, out


def default_out() -> str:
    base = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    out, k = base, 1
    while os.path.exists(out):
        k += 1
        out = f"{base}-{k}"
    return out


def metrics_summary(rows: list) -> dict:
    if not rows:
        return {"best_test_accuracy": None, "best_epoch": None, "final_test_accuracy": None,
                "total_seconds": 0.0}
    best = max(rows, key=lambda r: r["test_accuracy"])
    return {"best_test_accuracy": best["test_accuracy"], "best_epoch": best["epoch"],
            "final_test_accuracy": rows[-1]["test_accuracy"],
            "total_seconds": round(sum(r["seconds"] + r["eval_seconds"] for r in rows), 3)}


def train(config: TrainConfig, *, progress: bool = True, resume: str | None = None,
          pictures: bool = True, log: Callable[[str], Any] | None = print) -> dict:
    """Train `config`'s model; write metrics, checkpoints and pictures into its `out` folder.

    Args:
        config: the run's settings. With `resume`, the checkpoint's configuration is used
            instead; only `data` and `out` of `config` are taken (when not None).
        progress: show a tqdm bar per epoch on stderr (only when stderr is a terminal).
        resume: a checkpoint file or a run folder to go on from.
        pictures: write training_curves.png and filters.png at the end (and on Ctrl-C), and
            explain.html (`convscope.viz.explain`) and report.html (`convscope.viz.report`)
            at the end.
        log: called with one line per epoch and the final lines (None: silent).

    Returns:
        The metrics dict, as written to metrics.json.

    Raises:
        TrainingInterrupted: on Ctrl-C (a KeyboardInterrupt); the checkpoint of the last
            complete epoch is on disk and ``resume=`` that folder goes on.
        FileNotFoundError: the data set is not found (the message says where it looked).
    """
    say = log or (lambda line: None)
    ckpt = None
    if resume is not None:
        ckpt = load_checkpoint(resume)
        saved = ckpt.config
        config = dataclasses.replace(
            saved, data=config.data if config.data is not None else saved.data,
            out=config.out if config.out is not None else os.path.dirname(
                os.path.abspath(ckpt.path)))
    out = config.out or default_out()
    config = dataclasses.replace(config, out=out)
    ckpt_path = os.path.join(out, CHECKPOINT_NAME)
    if ckpt is None and os.path.exists(ckpt_path):
        raise ValueError(f"train: {out} already holds a {CHECKPOINT_NAME}; go on with "
                         f"--resume {out}, or choose another --out")

    x_train, y_train, x_test, y_test = load_data(config)
    info = dataset_info(config.dataset)
    model = build_model(config)
    train_loader, test_loader = make_loaders(config, x_train, y_train, x_test, y_test)
    optimizer, scheduler = make_optimizer(config, model, len(train_loader))
    model_name, model_kwargs = config.model_spec()
    metrics = {
        "config": config.to_dict(),
        "model": {"name": model_name, "kwargs": model_kwargs,
                  "parameters": models.count_parameters(model)},
        "dataset": {"name": config.dataset, "classes": list(info.classes),
                    "train_images": int(len(x_train)), "test_images": int(len(x_test))},
        "epochs": [],
    }
    filters = initial_filters(model, config.seed)  # before a resume loads the trained weights
    if filters is not None:
        metrics["filters"] = filters
    start_epoch = 0
    if ckpt is not None:
        restore_checkpoint(ckpt, model, optimizer, scheduler, train_loader)
        start_epoch = ckpt.epoch
        metrics["epochs"] = list(ckpt.metrics.get("epochs", []))[:start_epoch]
        say(f"resuming {ckpt.path} after epoch {start_epoch} of {config.epochs}")
    rows = metrics["epochs"]
    metrics.update(metrics_summary(rows), finished=start_epoch >= config.epochs)
    os.makedirs(out, exist_ok=True)

    def checkpoint(done: int) -> None:
        save_checkpoint(ckpt_path, config=config, model=model, optimizer=optimizer,
                        scheduler=scheduler, loader=train_loader, epoch=done,
                        metrics=metrics)
        write_json(os.path.join(out, METRICS_NAME), metrics)

    if ckpt is None:
        checkpoint(0)
    say(f"training {model_name} ({metrics['model']['parameters']:,} parameters) on "
        f"{config.dataset} ({len(x_train)} training, {len(x_test)} test images) for "
        f"{config.epochs} epochs; writing to {out}")
    show_bar = progress and sys.stderr.isatty()
    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            bar = progress_bar(show_bar, len(train_loader), f"epoch {epoch}/{config.epochs}")
            try:
                t0 = time.perf_counter()
                train_loss, train_acc = train_epoch(model, train_loader, optimizer,
                                                     scheduler, config, bar)
                seconds = time.perf_counter() - t0
            finally:
                bar.close()
            t0 = time.perf_counter()
            test_loss, test_acc, _ = evaluate(model, test_loader)
            eval_seconds = time.perf_counter() - t0
            rows.append({
                "epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc,
                "test_loss": test_loss, "test_accuracy": test_acc,
                "seconds": round(seconds, 3), "eval_seconds": round(eval_seconds, 3),
                "images_per_second": round(len(x_train) / seconds, 1),
                "lr": float(optimizer.param_groups[0]["lr"]),
            })
            metrics.update(metrics_summary(rows), finished=epoch == config.epochs)
            if epoch == config.epochs:
                final_filters(filters, model)
            checkpoint(epoch)
            say(f"epoch {epoch}/{config.epochs}: train loss {train_loss:.4f} acc "
                f"{100 * train_acc:.2f}% | test loss {test_loss:.4f} acc {100 * test_acc:.2f}%"
                f" | {seconds:.1f} s, {len(x_train) / seconds:.0f} img/s")
    except KeyboardInterrupt:
        done = len(rows)
        if pictures:
            try:
                write_pictures(out, rows, model, config)
            except Exception:  # noqa: BLE001 - never hide the interruption behind a picture
                pass
        print(f"\ninterrupted during epoch {epoch}; the checkpoint of epoch {done} is in "
              f"{ckpt_path}\ngo on with: convscope train --resume {out}", file=sys.stderr)
        raise TrainingInterrupted(ckpt_path, done, out) from None
    if filters is not None and "final" not in filters:  # resumed after the last epoch
        final_filters(filters, model)
    line = filters_line(filters)
    if line:
        say(line)
    if pictures:
        write_pictures(out, rows, model, config)
        from ..viz.explain import write_explainer  # click a unit: docs/explain.md
        say(f"explainer: {write_explainer(out, data=config.data)}")
        from ..viz.report import write_report  # the page of the run (docs/report.md)
        say(f"report: {write_report(out, data=config.data)}")
    return metrics
