"""The main job: train a CNN on an image data set, with progress, metrics, checkpoints and
pictures, and resume it after an interruption with the very same numbers.

`TrainConfig` holds every hyper-parameter and its default, in one place; `train(config)`
runs the job and writes into ``config.out`` (default ``runs/<timestamp>``):

- ``metrics.json``: the configuration, the model, and one row per epoch (train loss and
  accuracy, test loss and accuracy, seconds); rewritten atomically after every epoch.
- ``checkpoint.npz``: model, optimizer, scheduler, data-loader and random states, the
  configuration and the metrics, in a pickle-free `.npz` (`io.save_arrays`); written
  atomically at the start and after every epoch, so Ctrl-C always leaves the last complete
  epoch on disk and ``train(config, resume=out_dir)`` goes on from there.
- ``training_curves.png`` and ``filters.png`` (the first convolution's filters).

Reproducibility: the seed sets the initial weights (`convscope.manual_seed`) and the data
order and augmentation (the loader's own generator, ``default_rng([seed, 1])``); a resumed
run restores all of them, so 2 epochs + resume + 1 epoch gives the same metrics as 3 epochs.

Example (a tiny run on whatever Fashion-MNIST is installed):
    >>> config = TrainConfig(epochs=1, limit_train=256, limit_test=256,
    ...                      widths=(8, 16), out="/tmp/convscope-doc-run")  # doctest: +SKIP
    >>> metrics = train(config, progress=False)                             # doctest: +SKIP
    >>> round(metrics["epochs"][-1]["test_accuracy"], 2)                    # doctest: +SKIP
    0.61
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _args, models, optim, viz
from . import functional as F
from . import random as _random
from .autograd import Tensor, no_grad
from .data import (Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip,
                   dataset_info, load_dataset)
from .io import _plain, atomic_write_text, load_arrays, save_arrays

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "METRICS_NAME", "Checkpoint", "TrainConfig",
           "TrainingInterrupted", "build_model", "evaluate", "evaluate_checkpoint",
           "load_checkpoint", "make_loaders", "make_optimizer", "save_checkpoint", "train"]

CHECKPOINT_NAME = "checkpoint.npz"
METRICS_NAME = "metrics.json"
CURVES_NAME = "training_curves.png"
FILTERS_NAME = "filters.png"
CONFUSION_NAME = "confusion_matrix.png"
#: Stored in every checkpoint's metadata; a file without it is not one of ours.
CHECKPOINT_FORMAT = "convscope.train.checkpoint/1"

_OPTIMIZERS = ("sgd", "adamw")
_SCHEDULES = ("onecycle", "cosine", "constant")


# -- configuration -----------------------------------------------------------------------------
@dataclass
class TrainConfig:
    """Every setting of a training run, with the defaults of `convscope train`.

    Attributes:
        dataset: 'fashion-mnist' (default), 'mnist', 'cifar10' or 'cifar100'.
        data: folder holding the data set (None: ``$CONVSCOPE_DATA``, then the Debian
            package's folder; see `data.find_dataset_dir`).
        model: a key of `models.MODELS` (None: `models.model_for_dataset(dataset)`).
        widths: the model's channel widths (None: the model's default).
        epochs: passes over the training set.
        batch_size: training mini-batch size.
        lr: the learning rate; the peak of the one-cycle schedule.
        momentum: SGD momentum (Nesterov when `nesterov`); AdamW's beta1.
        nesterov: Nesterov momentum for SGD.
        weight_decay: L2 penalty (SGD) or decoupled weight decay (AdamW), on all parameters.
        label_smoothing: of the training loss (the test loss is plain cross-entropy).
        optimizer: 'sgd' or 'adamw'.
        schedule: 'onecycle' (warm up for 30% of the steps, then cosine down; stepped every
            batch), 'cosine' (cosine from `lr` to 0 over all batches) or 'constant'.
        flip: random horizontal flips of the training images.
        crop_padding: random crops after zero padding by this many pixels (0: none).
        seed: seeds the initial weights, the data order and the augmentation.
        out: output folder (None: ``runs/<YYYYmmdd-HHMMSS>``).
        eval_batch_size: batch size when evaluating.
        limit_train, limit_test: use only the first N images of a split (tests, quick looks).
    """

    dataset: str = "fashion-mnist"
    data: str | None = None
    model: str | None = None
    widths: tuple[int, ...] | None = None
    epochs: int = 11
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    optimizer: str = "sgd"
    schedule: str = "onecycle"
    flip: bool = True
    crop_padding: int = 0
    seed: int = 0
    out: str | None = None
    eval_batch_size: int = 1000
    limit_train: int | None = None
    limit_test: int | None = None

    def __post_init__(self):
        who = "TrainConfig"
        dataset_info(self.dataset)  # raises on an unknown name
        if self.model is not None and self.model not in models.MODELS:
            raise ValueError(f"{who}: unknown model={self.model!r}; known: "
                             f"{', '.join(models.MODELS)}")
        if self.model == "signal_cnn":
            raise ValueError(f"{who}: model='signal_cnn' takes 1-D signals; the image data "
                             f"sets need 'fashion_cnn' or 'cifar_cnn'")
        if self.widths is not None:
            if isinstance(self.widths, (str, bytes)) or not hasattr(self.widths, "__len__"):
                raise TypeError(f"{who}: widths must be a sequence of ints, got "
                                f"widths={self.widths!r}")
            self.widths = tuple(self.widths)
            if not self.widths:
                raise ValueError(f"{who}: widths must not be empty")
            for w in self.widths:
                _check_int(who, "widths", w, 1, shown=self.widths)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            _check_int(who, name, getattr(self, name), 1)
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) is not None:
                _check_int(who, name, getattr(self, name), 1)
        _check_int(who, "crop_padding", self.crop_padding, 0)
        _check_int(who, "seed", self.seed, 0)
        for name in ("lr", "momentum", "weight_decay", "label_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{who}: {name} must be a number, got {name}={value!r}")
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{who}: {name}={value!r} must be finite and >= 0")
            setattr(self, name, float(value))
        if self.lr <= 0:
            raise ValueError(f"{who}: lr={self.lr!r} must be > 0")
        if self.momentum >= 1:
            raise ValueError(f"{who}: momentum={self.momentum!r} must be < 1")
        if self.label_smoothing > 1:
            raise ValueError(f"{who}: label_smoothing={self.label_smoothing!r} must be in "
                             f"[0, 1]")
        if self.optimizer not in _OPTIMIZERS:
            raise ValueError(f"{who}: optimizer={self.optimizer!r} must be one of "
                             f"{', '.join(_OPTIMIZERS)}")
        if self.schedule not in _SCHEDULES:
            raise ValueError(f"{who}: schedule={self.schedule!r} must be one of "
                             f"{', '.join(_SCHEDULES)}")
        for name in ("nesterov", "flip"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{who}: {name} must be a bool, got "
                                f"{name}={getattr(self, name)!r}")
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            raise ValueError(f"{who}: nesterov=True needs momentum > 0, got momentum=0")
        for name in ("data", "out"):
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, (str, os.PathLike)):
                    raise TypeError(f"{who}: {name} must be a path or None, got {value!r}")
                setattr(self, name, os.fspath(value))

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-ready plain values (widths as a list)."""
        d = dataclasses.asdict(self)
        if d["widths"] is not None:
            d["widths"] = list(d["widths"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "TrainConfig.from_dict") -> TrainConfig:
        """Rebuild a configuration from `to_dict`'s output; unknown keys are an error."""
        if not isinstance(d, dict):
            raise ValueError(f"{where}: the configuration must be a dict, got "
                             f"{type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"{where}: unknown configuration keys {unknown}")
        return cls(**d)

    def model_spec(self) -> tuple[str, dict[str, Any]]:
        """(model name, keyword arguments) of the model this configuration trains."""
        info = dataset_info(self.dataset)
        name = self.model or models.model_for_dataset(self.dataset)
        kwargs: dict[str, Any] = {"in_channels": info.shape[0],
                                  "num_classes": info.num_classes}
        if name == "fashion_cnn":
            kwargs["image_size"] = info.shape[1]
        if self.widths is not None:
            kwargs["widths"] = list(self.widths)
        return name, kwargs


def _check_int(who: str, name: str, value, minimum: int, shown=None) -> int:
    shown = value if shown is None else shown
    if not _args._is_int(value):
        raise TypeError(f"{who}: {name} must be an int, got {name}={shown!r}")
    if value < minimum:
        raise ValueError(f"{who}: {name}={shown!r} must be >= {minimum}")
    return int(value)


# -- building blocks (also used by benchmarks/train_vs_torch.py) -------------------------------
def build_model(config: TrainConfig):
    """The model of `config`, initialised from `convscope.manual_seed(config.seed)`."""
    name, kwargs = config.model_spec()
    _random.manual_seed(config.seed)
    return models.build_model(name, **kwargs)


def load_data(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) of `config.dataset`, cut to the limits."""
    return (*_load_split(config, train=True), *_load_split(config, train=False))


def _load_split(config: TrainConfig, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one split of `config.dataset`, cut to `limit_train` / `limit_test`."""
    x, y = load_dataset(config.dataset, train, config.data)
    limit = config.limit_train if train else config.limit_test
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def _test_loader(config: TrainConfig, x, y) -> DataLoader:
    """The evaluation loader: stored order, normalised, `eval_batch_size` images a batch."""
    info = dataset_info(config.dataset)
    return DataLoader(x, y, config.eval_batch_size, transform=Normalize(info.mean, info.std))


def make_loaders(config: TrainConfig, x_train, y_train, x_test, y_test
                 ) -> tuple[DataLoader, DataLoader]:
    """The training loader (shuffled, augmented, normalised) and the test loader.

    The training loader's generator is ``default_rng([seed, 1])``: it draws each epoch's
    permutation and the augmentation, and nothing else does.
    """
    info = dataset_info(config.dataset)
    normalize = Normalize(info.mean, info.std)
    augment = []
    if config.crop_padding:
        augment.append(RandomCrop(info.shape[1:], padding=config.crop_padding))
    if config.flip:
        augment.append(RandomHorizontalFlip())
    train_loader = DataLoader(x_train, y_train, config.batch_size, shuffle=True,
                              rng=np.random.default_rng([config.seed, 1]),
                              transform=Compose(augment + [normalize]))
    return train_loader, _test_loader(config, x_test, y_test)


def make_optimizer(config: TrainConfig, model, steps_per_epoch: int):
    """(optimizer, scheduler or None) of `config`; the scheduler is stepped every batch."""
    params = list(model.parameters())
    if config.optimizer == "sgd":
        optimizer = optim.SGD(params, lr=config.lr, momentum=config.momentum,
                              nesterov=config.nesterov, weight_decay=config.weight_decay)
    else:
        optimizer = optim.AdamW(params, lr=config.lr, betas=(config.momentum, 0.999),
                                weight_decay=config.weight_decay)
    total = config.epochs * steps_per_epoch
    if config.schedule == "onecycle":
        scheduler = optim.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total,
                                     cycle_momentum=False)
    elif config.schedule == "cosine":
        scheduler = optim.CosineAnnealingLR(optimizer, T_max=total)
    else:
        scheduler = None
    return optimizer, scheduler


def first_conv_weight(model) -> np.ndarray | None:
    """The weight of the model's first convolution (the first parameter of rank >= 3)."""
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.data.ndim >= 3:
            return p.data
    return None


# -- one epoch ---------------------------------------------------------------------------------
def _train_epoch(model, loader, optimizer, scheduler, config, bar) -> tuple[float, float]:
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
    return loss_sum / seen, correct / seen


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
    return loss_sum / seen, correct / seen, np.concatenate(predictions)


class _NoBar:
    def update(self, n=1):
        pass

    def set_postfix(self, **kwargs):
        pass

    def close(self):
        pass


def _progress_bar(enabled: bool, total: int, desc: str):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="batch", file=sys.stderr, leave=True,
                dynamic_ncols=True)


# -- checkpoints -------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """What `load_checkpoint` returns: the checkpoint's parts, checked and unpacked."""

    path: str
    config: TrainConfig
    epoch: int  # complete epochs
    model_name: str
    model_kwargs: dict
    model_state: dict  # name -> array
    optimizer_state: dict | None
    scheduler_state: dict | None
    loader_state: dict | None
    rng_state: dict | None
    metrics: dict = field(default_factory=dict)


def save_checkpoint(path: str, *, config: TrainConfig, model, optimizer, scheduler, loader,
                    epoch: int, metrics: dict) -> None:
    """Write everything a run needs to go on, atomically and without pickle.

    Arrays: ``model/<name>`` for every parameter and buffer, ``optim/<index>/<name>`` for the
    optimizer's per-parameter arrays. Metadata (JSON): format, epoch, config, model name and
    arguments, the rest of the optimizer state, the scheduler state, the loader's and the
    default generator's states, and the metrics.
    """
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    opt_meta: dict[str, dict] = {}
    for index, state in opt["state"].items():
        for name, value in state.items():
            if isinstance(value, np.ndarray):
                arrays[f"optim/{index}/{name}"] = value  # live, but written out right here
            else:
                opt_meta.setdefault(str(index), {})[name] = _plain(value)
    name, kwargs = config.model_spec()
    meta = {
        "format": CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "config": config.to_dict(),
        "model": {"name": name, "kwargs": kwargs},
        "optimizer": {"param_groups": _plain(opt["param_groups"]), "state": opt_meta,
                      "indices": sorted({int(i) for i in opt["state"]})},
        "scheduler": None if scheduler is None else _plain(scheduler.state_dict()),
        "loader": _plain(loader.state_dict()),
        "rng": _plain(_random.default_rng().bit_generator.state),
        "metrics": metrics,
    }
    save_arrays(path, arrays, meta)


def _checkpoint_path(path) -> str:
    path = os.fspath(path)
    if os.path.isdir(path):
        inside = os.path.join(path, CHECKPOINT_NAME)
        if not os.path.isfile(inside):
            raise FileNotFoundError(f"load_checkpoint: {path} is a folder without a "
                                    f"{CHECKPOINT_NAME}")
        return inside
    return path


def load_checkpoint(path) -> Checkpoint:
    """Read and check a checkpoint written by `save_checkpoint` (a file or its run folder).

    Raises:
        FileNotFoundError: no such file (or a folder without ``checkpoint.npz``).
        ValueError: not a readable archive, not a convscope training checkpoint, or its
            contents are inconsistent; the message names the file and what is wrong.
    """
    path = _checkpoint_path(path)
    arrays, meta = load_arrays(path)
    where = f"load_checkpoint: {path}"
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{where}: not a convscope training checkpoint (format "
                         f"{meta.get('format')!r}, expected {CHECKPOINT_FORMAT!r})")
    try:
        config = TrainConfig.from_dict(meta["config"], where)
        epoch = meta["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not (
                0 <= epoch <= config.epochs):
            raise ValueError(f"{where}: epoch={epoch!r} must be an int in [0, "
                             f"{config.epochs}]")
        model_name = meta["model"]["name"]
        model_kwargs = dict(meta["model"]["kwargs"])
        optimizer_state = None
        if "optimizer" in meta:
            o = meta["optimizer"]
            state: dict[int, dict] = {}
            for i in o["indices"]:
                state[int(i)] = dict(o["state"].get(str(i), {}))
            for key, value in arrays.items():
                if key.startswith("optim/"):
                    _, index, name = key.split("/", 2)
                    state.setdefault(int(index), {})[name] = value
            optimizer_state = {"state": state, "param_groups": o["param_groups"]}
        metrics = meta.get("metrics") or {}
        scheduler_state, loader_state, rng_state = (meta.get("scheduler"), meta.get("loader"),
                                                    meta.get("rng"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{where}: damaged metadata ({type(exc).__name__}: {exc})") from None
    model_state = {k[len("model/"):]: v for k, v in arrays.items() if k.startswith("model/")}
    if not model_state:
        raise ValueError(f"{where}: holds no model weights (no 'model/...' arrays)")
    return Checkpoint(path, config, epoch, model_name, model_kwargs, model_state,
                      optimizer_state, scheduler_state, loader_state, rng_state, metrics)


def _model_from_checkpoint(ckpt: Checkpoint):
    where = f"load_checkpoint: {ckpt.path}"
    try:
        model = models.build_model(ckpt.model_name, **ckpt.model_kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: cannot rebuild model {ckpt.model_name!r} with "
                         f"{ckpt.model_kwargs}: {exc}") from None
    try:
        model.load_state_dict(ckpt.model_state)
    except ValueError as exc:
        raise ValueError(f"{where}: the weights do not fit model {ckpt.model_name!r}: "
                         f"{exc}") from None
    return model


# -- the job -----------------------------------------------------------------------------------
class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during `train`: the checkpoint of the last complete epoch is on disk.

    Attributes: checkpoint (its path), epoch (complete epochs in it), out (the run folder).
    """

    def __init__(self, checkpoint: str, epoch: int, out: str):
        super().__init__(f"interrupted; checkpoint of epoch {epoch} in {checkpoint}")
        self.checkpoint, self.epoch, self.out = checkpoint, epoch, out


def _default_out() -> str:
    base = os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    out, k = base, 1
    while os.path.exists(out):
        k += 1
        out = f"{base}-{k}"
    return out


def _write_pictures(out: str, rows: list, model, config: TrainConfig) -> list[str]:
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


def _summary(rows: list) -> dict:
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
        pictures: write training_curves.png and filters.png at the end (and on Ctrl-C).
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
    out = config.out or _default_out()
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
    start_epoch = 0
    if ckpt is not None:
        _restore(ckpt, model, optimizer, scheduler, train_loader)
        start_epoch = ckpt.epoch
        metrics["epochs"] = list(ckpt.metrics.get("epochs", []))[:start_epoch]
        say(f"resuming {ckpt.path} after epoch {start_epoch} of {config.epochs}")
    rows = metrics["epochs"]
    metrics.update(_summary(rows), finished=start_epoch >= config.epochs)
    os.makedirs(out, exist_ok=True)

    def checkpoint(done: int) -> None:
        save_checkpoint(ckpt_path, config=config, model=model, optimizer=optimizer,
                        scheduler=scheduler, loader=train_loader, epoch=done,
                        metrics=metrics)
        atomic_write_text(os.path.join(out, METRICS_NAME), json.dumps(metrics, indent=2) + "\n")

    if ckpt is None:
        checkpoint(0)
    say(f"training {model_name} ({metrics['model']['parameters']:,} parameters) on "
        f"{config.dataset} ({len(x_train)} training, {len(x_test)} test images) for "
        f"{config.epochs} epochs; writing to {out}")
    show_bar = progress and sys.stderr.isatty()
    epoch = start_epoch
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            bar = _progress_bar(show_bar, len(train_loader), f"epoch {epoch}/{config.epochs}")
            try:
                t0 = time.perf_counter()
                train_loss, train_acc = _train_epoch(model, train_loader, optimizer,
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
            metrics.update(_summary(rows), finished=epoch == config.epochs)
            checkpoint(epoch)
            say(f"epoch {epoch}/{config.epochs}: train loss {train_loss:.4f} acc "
                f"{100 * train_acc:.2f}% | test loss {test_loss:.4f} acc {100 * test_acc:.2f}%"
                f" | {seconds:.1f} s, {len(x_train) / seconds:.0f} img/s")
    except KeyboardInterrupt:
        done = len(rows)
        if pictures:
            try:
                _write_pictures(out, rows, model, config)
            except Exception:  # noqa: BLE001 - never hide the interruption behind a picture
                pass
        print(f"\ninterrupted during epoch {epoch}; the checkpoint of epoch {done} is in "
              f"{ckpt_path}\ngo on with: convscope train --resume {out}", file=sys.stderr)
        raise TrainingInterrupted(ckpt_path, done, out) from None
    if pictures:
        _write_pictures(out, rows, model, config)
    return metrics


def _restore(ckpt: Checkpoint, model, optimizer, scheduler, loader) -> None:
    """Load a checkpoint's states into freshly built objects (the scheduler exists first)."""
    where = f"load_checkpoint: {ckpt.path}"
    fresh_name, fresh_kwargs = ckpt.config.model_spec()
    if (fresh_name, fresh_kwargs) != (ckpt.model_name, ckpt.model_kwargs):
        raise ValueError(f"{where}: its model {ckpt.model_name!r} {ckpt.model_kwargs} does "
                         f"not match its configuration's {fresh_name!r} {fresh_kwargs}")
    try:
        model.load_state_dict(ckpt.model_state)
        if ckpt.optimizer_state is None or ckpt.loader_state is None or ckpt.rng_state is None:
            raise ValueError("optimizer, loader or random state missing")
        optimizer.load_state_dict(ckpt.optimizer_state)
        if scheduler is not None:
            if ckpt.scheduler_state is None:
                raise ValueError("scheduler state missing")
            scheduler.load_state_dict(ckpt.scheduler_state)
        loader.load_state_dict(ckpt.loader_state)
        _random.default_rng().bit_generator.state = ckpt.rng_state
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{where}: cannot resume from it: {exc}") from None


# -- evaluation of a saved model -----------------------------------------------------------------
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
    model = _model_from_checkpoint(ckpt)
    overrides: dict[str, Any] = {"limit_test": limit}
    if data is not None:
        overrides["data"] = data
    if batch_size is not None:
        overrides["eval_batch_size"] = batch_size
    config = dataclasses.replace(ckpt.config, **overrides)
    info = dataset_info(config.dataset)
    x_test, y_test = _load_split(config, train=False)  # limit_test is `limit`
    loss, accuracy, predictions = evaluate(model, _test_loader(config, x_test, y_test))
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
