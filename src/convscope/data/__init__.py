"""Data: IDX and CIFAR binary readers, named data sets, a mini-batch loader, transforms.

Nothing is downloaded and nothing is unpickled. See docs/data.md.

Example:
    >>> import numpy as np
    >>> from convscope.data import DataLoader, RandomHorizontalFlip
    >>> loader = DataLoader(np.zeros((6, 1, 28, 28), np.uint8), np.arange(6), batch_size=4,
    ...                     shuffle=True, seed=0, transform=RandomHorizontalFlip())
    >>> [xb.shape for xb, _ in loader]
    [(4, 1, 28, 28), (2, 1, 28, 28)]
"""

from .cifar import load_cifar10, load_cifar100, parse_cifar_records
from .datasets import (
    CIFAR10_CLASSES,
    CIFAR100_CLASSES,
    DATASETS,
    DEBIAN_FASHION_MNIST_DIR,
    ENV_VAR,
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    PHOTO_CLASSES,
    DatasetInfo,
    dataset_info,
    find_dataset_dir,
    load_dataset,
)
from .idx import load_mnist_like, read_idx, write_idx
from .loader import DataLoader
from .photos import load_photo_patches
from .transforms import Compose, Normalize, RandomCrop, RandomHorizontalFlip

__all__ = [
    "CIFAR100_CLASSES",
    "CIFAR10_CLASSES",
    "Compose",
    "DATASETS",
    "DEBIAN_FASHION_MNIST_DIR",
    "DataLoader",
    "DatasetInfo",
    "ENV_VAR",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "Normalize",
    "PHOTO_CLASSES",
    "RandomCrop",
    "RandomHorizontalFlip",
    "dataset_info",
    "find_dataset_dir",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_mnist_like",
    "load_photo_patches",
    "parse_cifar_records",
    "read_idx",
    "write_idx",
]
