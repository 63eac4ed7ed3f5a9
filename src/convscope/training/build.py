"""The pieces a run is built from, each from a `TrainConfig`: the model, the data, the
loaders and the optimizer with its schedule (also used by benchmarks/train_vs_torch.py)."""

from __future__ import annotations

import numpy as np

from .. import models, optim
from ..data import (Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip,
                    dataset_info, load_dataset)
from .config import TrainConfig

__all__ = ["build_model", "model_rng", "load_data", "load_split", "test_loader", "make_loaders",
           "make_optimizer"]


def model_rng(config: TrainConfig) -> np.random.Generator:
    """The generator the run's initial weights come from: ``default_rng(config.seed)``, the
    very generator ``convscope.manual_seed(config.seed)`` would install (so the weights are
    those of earlier versions, which reset the library's default generator), but a private
    one: the user's `convscope.random.default_rng()` is neither reset nor drawn from."""
    return np.random.default_rng(config.seed)


def build_model(config: TrainConfig):
    """The model of `config`, initialised from `model_rng(config)` (the run's own
    generator; no global generator is touched)."""
    name, kwargs = config.model_spec()
    return models.build_model(name, rng=model_rng(config), **kwargs)


def load_data(config: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) of `config.dataset`, cut to the limits."""
    return (*load_split(config, train=True), *load_split(config, train=False))


def load_split(config: TrainConfig, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of one split of `config.dataset`, cut to `limit_train` / `limit_test`."""
    x, y = load_dataset(config.dataset, train, config.data)
    limit = config.limit_train if train else config.limit_test
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return x, y


def test_loader(config: TrainConfig, x, y) -> DataLoader:
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
    return train_loader, test_loader(config, x_test, y_test)


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
