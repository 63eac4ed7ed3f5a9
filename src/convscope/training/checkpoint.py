"""Checkpoints: the format, `save_checkpoint`, `load_checkpoint` (checked, with errors that
name the file) and what resuming needs (`model_from_checkpoint`, `restore_checkpoint`).

A checkpoint is a pickle-free `.npz` (`io.save_arrays`): the model's and the optimizer's
arrays, and JSON metadata with the format tag, the epoch, the configuration, the model's name
and arguments, the scheduler's and loader's states, and the metrics. (Files of earlier
versions also hold ``rng``, the library's default generator's state; it is ignored: a run no
longer draws from that generator, see `training.build.model_rng`.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .. import models
from .._args import check_path
from ..io import load_arrays, save_arrays
from ..jsonutil import to_plain
from .config import TrainConfig

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "Checkpoint", "save_checkpoint",
           "load_checkpoint", "checkpoint_path", "model_from_checkpoint",
           "restore_checkpoint"]

CHECKPOINT_NAME = "checkpoint.npz"
#: Stored in every checkpoint's metadata; a file without it is not one of ours.
CHECKPOINT_FORMAT = "convscope.train.checkpoint/1"


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
    arguments, the rest of the optimizer state, the scheduler state, the loader's state (its
    generator draws the data order and augmentation) and the metrics.
    """
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    opt_meta: dict[str, dict] = {}
    for index, state in opt["state"].items():
        for name, value in state.items():
            if isinstance(value, np.ndarray):
                arrays[f"optim/{index}/{name}"] = value  # live, but written out right here
            else:
                opt_meta.setdefault(str(index), {})[name] = to_plain(value)
    name, kwargs = config.model_spec()
    meta = {
        "format": CHECKPOINT_FORMAT,
        "epoch": int(epoch),
        "config": config.to_dict(),
        "model": {"name": name, "kwargs": kwargs},
        "optimizer": {"param_groups": to_plain(opt["param_groups"]), "state": opt_meta,
                      "indices": sorted({int(i) for i in opt["state"]})},
        "scheduler": None if scheduler is None else to_plain(scheduler.state_dict()),
        "loader": to_plain(loader.state_dict()),
        "metrics": metrics,
    }
    save_arrays(path, arrays, meta)


def checkpoint_path(path) -> str:
    path = check_path(path, func="load_checkpoint")
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
    path = checkpoint_path(path)
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


def model_from_checkpoint(ckpt: Checkpoint):
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


def restore_checkpoint(ckpt: Checkpoint, model, optimizer, scheduler, loader) -> None:
    """Load a checkpoint's states into freshly built objects (the scheduler exists first)."""
    where = f"load_checkpoint: {ckpt.path}"
    fresh_name, fresh_kwargs = ckpt.config.model_spec()
    if (fresh_name, fresh_kwargs) != (ckpt.model_name, ckpt.model_kwargs):
        raise ValueError(f"{where}: its model {ckpt.model_name!r} {ckpt.model_kwargs} does "
                         f"not match its configuration's {fresh_name!r} {fresh_kwargs}")
    try:
        model.load_state_dict(ckpt.model_state)
        if ckpt.optimizer_state is None or ckpt.loader_state is None:
            raise ValueError("optimizer or loader state missing")
        optimizer.load_state_dict(ckpt.optimizer_state)
        if scheduler is not None:
            if ckpt.scheduler_state is None:
                raise ValueError("scheduler state missing")
            scheduler.load_state_dict(ckpt.scheduler_state)
        loader.load_state_dict(ckpt.loader_state)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{where}: cannot resume from it: {exc}") from None
