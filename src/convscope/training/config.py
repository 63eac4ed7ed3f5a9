"""`TrainConfig`: every hyper-parameter of a training run and its default, in one place,
checked on construction; the command line's options and defaults come from here."""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass
from typing import Any


from .. import models
from .._args import check_int, show
from ..data import dataset_info

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES"]

#: The values of `TrainConfig.optimizer` and `TrainConfig.schedule`.
OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "constant")


@dataclass
class TrainConfig:
    """Every setting of a training run, with the defaults of `convscope train`.

    Attributes:
        dataset: 'fashion-mnist' (default), 'mnist', 'cifar10', 'cifar100' or the built-in
            'photo-patches' (`data.photos`).
        data: folder holding the data set (None: ``$CONVSCOPE_DATA``, then the Debian
            package's folder; see `data.find_dataset_dir`); None for 'photo-patches'.
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
                             f"sets need 'fashion_cnn', 'cifar_cnn' or 'photo_cnn'")
        if self.widths is not None:
            if isinstance(self.widths, (str, bytes)) or not hasattr(self.widths, "__len__"):
                raise TypeError(f"{who}: widths must be a sequence of ints, got "
                                f"widths={self.widths!r}")
            self.widths = tuple(self.widths)
            if not self.widths:
                raise ValueError(f"{who}: widths must not be empty")
            for i, w in enumerate(self.widths):
                check_int(w, func=who, arg=f"widths[{i}]")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            check_int(getattr(self, name), func=who, arg=name, minimum=1)
        for name in ("limit_train", "limit_test"):
            if getattr(self, name) is not None:
                check_int(getattr(self, name), func=who, arg=name, minimum=1)
        check_int(self.crop_padding, func=who, arg="crop_padding", minimum=0)
        check_int(self.seed, func=who, arg="seed", minimum=0)
        for name in ("lr", "momentum", "weight_decay", "label_smoothing"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{who}: {name} must be a number, got {name}={show(value)}")
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{who}: {name}={value!r} must be finite and >= 0")
            setattr(self, name, float(value))
        if self.lr <= 0:
            raise ValueError(f"{who}: lr={self.lr!r} must be > 0")
        if self.momentum >= 1:
            raise ValueError(f"{who}: momentum={self.momentum!r} must be < 1")
        if self.label_smoothing > 1:
            raise ValueError(f"{who}: label_smoothing={self.label_smoothing!r} must be in "
                             f"[0, 1]")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"{who}: optimizer={self.optimizer!r} must be one of "
                             f"{', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{who}: schedule={self.schedule!r} must be one of "
                             f"{', '.join(SCHEDULES)}")
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
