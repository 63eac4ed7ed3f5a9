"""Named data sets: where to find them, how to load them, their classes and statistics.

Supported: 'fashion-mnist', 'mnist', 'cifar10', 'cifar100', and the built-in 'photo-patches'
(32x32 patches of eight colour photographs shipped in scikit-image's wheel; see
`convscope.data.photos`; it needs no folder). convscope downloads nothing; for the others
`find_dataset_dir` looks, in this order, in

1. the `data` argument (the CLI's ``--data DIR``): if given, only there;
2. the environment variable ``CONVSCOPE_DATA``;
3. for Fashion-MNIST only, ``/usr/share/datasets/fashion-mnist``, where the Debian package
   ``dataset-fashion-mnist`` installs it.

In 1 and 2 the files may sit in the folder itself or in a subfolder named after the data set
(``$CONVSCOPE_DATA/fashion-mnist``, ``$CONVSCOPE_DATA/cifar10``...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._args import check_path
from .cifar import SPECS as _CIFAR_SPECS
from .cifar import load_cifar10, load_cifar100
from .idx import load_mnist_like, mnist_file
from .photos import PHOTO_CLASSES, load_photo_patches

__all__ = [
    "BUILTIN",
    "CIFAR100_CLASSES",
    "CIFAR10_CLASSES",
    "DATASETS",
    "DEBIAN_FASHION_MNIST_DIR",
    "DatasetInfo",
    "ENV_VAR",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "PHOTO_CLASSES",
    "dataset_info",
    "find_dataset_dir",
    "load_dataset",
]

ENV_VAR = "CONVSCOPE_DATA"
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
# The fine labels in the order of fine_label_names.txt (alphabetical).
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a data set.

    `mean` and `std` are per channel, over the training set's pixels scaled to [0, 1], for
    `transforms.Normalize`.
    """

    name: str
    shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    subdirs: tuple[str, ...]  # folder names accepted under --data / CONVSCOPE_DATA

    @property
    def num_classes(self) -> int:
        return len(self.classes)


DATASETS = {
    "fashion-mnist": DatasetInfo("fashion-mnist", (1, 28, 28), FASHION_MNIST_CLASSES,
                                 (0.2860,), (0.3530,),
                                 ("fashion-mnist", "fashion_mnist", "FashionMNIST")),
    "mnist": DatasetInfo("mnist", (1, 28, 28), MNIST_CLASSES, (0.1307,), (0.3081,),
                         ("mnist", "MNIST")),
    "cifar10": DatasetInfo("cifar10", (3, 32, 32), CIFAR10_CLASSES,
                           (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
                           ("cifar10", "cifar-10")),
    "cifar100": DatasetInfo("cifar100", (3, 32, 32), CIFAR100_CLASSES,
                            (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
                            ("cifar100", "cifar-100")),
    # built in: no folder; mean and std over the 8000 training patches
    "photo-patches": DatasetInfo("photo-patches", (3, 32, 32), PHOTO_CLASSES,
                                 (0.5205, 0.3597, 0.3081), (0.3012, 0.2301, 0.2270), ()),
}

#: Data sets that come with the code (no folder to find, no --data).
BUILTIN = ("photo-patches",)

_HOW_TO_GET = {
    "fashion-mnist": "install it with `apt-get install dataset-fashion-mnist`, or download "
                     "the four IDX files (train-images-idx3-ubyte.gz, "
                     "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                     "t10k-labels-idx1-ubyte.gz) into a folder and pass --data DIR",
    "mnist": "download the four MNIST IDX files (train-images-idx3-ubyte.gz, "
             "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
             "t10k-labels-idx1-ubyte.gz) into a folder and pass --data DIR",
    "cifar10": "download the binary version cifar-10-binary.tar.gz (not the Python version) "
               "into a folder and pass --data DIR",
    "cifar100": "download the binary version cifar-100-binary.tar.gz (not the Python "
                "version) into a folder and pass --data DIR",
}


def dataset_info(name: str) -> DatasetInfo:
    """The `DatasetInfo` of `name` (a key of `DATASETS`)."""
    if not isinstance(name, str):
        raise TypeError(f"dataset_info: name must be a str, got {type(name).__name__} "
                        f"{name!r:.40}; known: {', '.join(DATASETS)}")
    if name not in DATASETS:
        raise ValueError(f"dataset_info: unknown data set name={name!r}; known: "
                         f"{', '.join(DATASETS)}")
    return DATASETS[name]


def _holds(name: str, directory: str) -> bool:
    """Whether `directory` holds data set `name` in a layout the loaders read."""
    if not os.path.isdir(directory):
        return False
    if name in ("fashion-mnist", "mnist"):
        return any(mnist_file(directory, train, "images") for train in (True, False))
    spec = _CIFAR_SPECS[name]
    return (os.path.isfile(os.path.join(directory, spec["tar"]))
            or os.path.isdir(os.path.join(directory, spec["folder"]))
            or any(os.path.isfile(os.path.join(directory, n)) for n in spec[True] + spec[False]))


def _candidates(name: str, root: str) -> list[str]:
    """`root` and its subfolders named after data set `name`."""
    return [root] + [os.path.join(root, sub) for sub in DATASETS[name].subdirs]


def find_dataset_dir(name: str, data: str | os.PathLike | None = None) -> str:
    """The folder that holds data set `name`.

    Looks in `data` (if given, only there), else in ``$CONVSCOPE_DATA``, else (Fashion-MNIST
    only) in ``/usr/share/datasets/fashion-mnist``; in `data` and ``$CONVSCOPE_DATA`` also
    in a subfolder named after the data set.

    Raises:
        FileNotFoundError: nowhere holds it; the message lists every place looked and says
            how to get the data set.
    """
    who = "find_dataset_dir"
    info = dataset_info(name)
    if name in BUILTIN:
        raise ValueError(f"{who}: data set {name!r} is built in (made from scikit-image's "
                         f"photos); it has no folder")
    looked = []
    if data is not None:
        sources = [("--data", _candidates(name, check_path(data, func=who, arg="data")))]
    else:
        sources = []
        if os.environ.get(ENV_VAR):
            sources.append((f"${ENV_VAR}", _candidates(name, os.environ[ENV_VAR])))
        if name == "fashion-mnist":
            sources.append(("Debian package dataset-fashion-mnist", [DEBIAN_FASHION_MNIST_DIR]))
    for label, places in sources:
        for place in places:
            looked.append(f"{place} ({label})")
            if _holds(name, place):
                return place
    if data is None and not os.environ.get(ENV_VAR):
        looked.append(f"${ENV_VAR} (not set)")
    where = "\n  ".join(looked)
    raise FileNotFoundError(f"{who}: data set {info.name!r} not found; looked in:\n  {where}\n"
                            f"To get it: {_HOW_TO_GET[name]}.")


def load_dataset(name: str, train: bool,
                 data: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Load a named data set as float32 images in [0, 1] and int64 labels.

    Args:
        name: 'fashion-mnist', 'mnist', 'cifar10', 'cifar100' (fine labels) or
            'photo-patches' (built in, see `convscope.data.photos`).
        train: the training split (True) or the test split (False).
        data: folder to look in (see `find_dataset_dir`); must be None for 'photo-patches'.

    Returns:
        ``(x, y)``: x float32 of shape (N, C, H, W) (C = 1 for the MNISTs, 3 for CIFAR and
        the photo patches),
        y int64 of shape (N,).

    Example (where Fashion-MNIST is installed):
        >>> x, y = load_dataset("fashion-mnist", train=False)  # doctest: +SKIP
        >>> x.shape, x.dtype, y[:3]                             # doctest: +SKIP
        ((10000, 1, 28, 28), dtype('float32'), array([9, 2, 1]))
    """
    dataset_info(name)  # an unknown name gets its error here
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"load_dataset: train must be a bool, got {train!r}")
    if name in BUILTIN:
        if data is not None:
            raise ValueError(f"load_dataset: data set {name!r} is built in and takes no "
                             f"folder, got data={data!r}")
        return load_photo_patches(bool(train))
    if data is not None:
        check_path(data, func="load_dataset", arg="data")
    root = find_dataset_dir(name, data)
    if name in ("fashion-mnist", "mnist"):
        images, labels = load_mnist_like(root, train, kind=name)
        images = images[:, None]  # (N, 1, 28, 28)
    elif name == "cifar10":
        images, labels = load_cifar10(root, train)
    else:
        images, labels = load_cifar100(root, train)
    x = images.astype(np.float32)
    x /= np.float32(255)
    return x, labels
