"""Where a model and its images come from: a training run or a model file.

Every command that looks at a trained model (`convscope summary`, `rf`, `viz`, `report`,
`apply`) takes either

- a **run**: a folder written by `convscope train`, or its checkpoint file. It brings its
  model, its data set (test images, class names, input shape, the mean and standard
  deviation the model was trained with) and its initialisation; or
- a **model file** (``.onnx``, read by `convscope.onnx.load`): your own network, exported
  from PyTorch, Keras or JAX. It brings the model and, when the file declares it, the input
  shape. Images come from ``images=DIR`` (a folder of image files; a folder of class
  subfolders gives the true labels, one class per subfolder, as torchvision's
  `ImageFolder`) or ``dataset=NAME`` (a named data set of `convscope.data`, with its
  statistics and classes); ``labels`` names the classes; ``mean`` / ``std`` normalise
  the images as the model wants (ImageNet's, for most exported models).

`resolve` turns either into one `Source`; the commands read the model, the images, the class
names and the input shape from it. A command that needs images and gets a model file
without any says what to pass. Nothing here imports PyTorch.

Example:
    >>> src = resolve("runs/baseline")                          # doctest: +SKIP
    >>> src = resolve("resnet.onnx", images="photos/", mean=(0.485, 0.456, 0.406),
    ...               std=(0.229, 0.224, 0.225))                # doctest: +SKIP
    >>> x, y = src.test()                                       # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ._args import show

__all__ = ["Source", "resolve", "is_model_file", "MODEL_SUFFIXES", "parse_labels",
           "input_channels", "declared_shape"]

MODEL_SUFFIXES = (".onnx",)


def is_model_file(path) -> bool:
    """True for a path naming a model file (``.onnx``) rather than a run."""
    return isinstance(path, (str, os.PathLike)) and os.fspath(path).lower().endswith(
        MODEL_SUFFIXES)


@dataclass
class Source:
    """A model and where its images come from (see the module docstring).

    Attributes:
        path: what was given.  kind: 'run' or 'model' (a model file).
        model: the model, in evaluation mode.
        input_shape: one input (C, *spatial), or None when unknown (a model file that
            declares no fixed size, without `input_shape`).
        classes: the class names, or () when unknown.
        mean, std: per-channel statistics the images are normalised with (None: as read,
            in [0, 1]).
        config: a run's `TrainConfig` (None for a model file).
        data: what the images are, for messages ('the test set of fashion-mnist', ...),
            or None when there are none.
    """

    path: str
    kind: str
    model: object
    input_shape: tuple | None = None
    classes: tuple = ()
    mean: tuple | None = None
    std: tuple | None = None
    config: object = None
    data: str | None = None
    loader: object = field(default=None, repr=False)
    _cache: tuple | None = field(default=None, repr=False)

    @property
    def has_data(self) -> bool:
        return self.loader is not None

    def initial_model(self):
        """A run's model at its (seeded) initialisation; None for a model file."""
        if self.config is None:
            return None
        from .training import build_model
        return build_model(self.config).eval()

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """Images in [0, 1], (N, C, ...) or (C, ...), as the model's input: (x - mean) / std
        per channel when the source has statistics, float32."""
        x = np.asarray(x, dtype=np.float32)
        if self.mean is None:
            return x
        spatial = len(self.input_shape) - 1 if self.input_shape else 2
        shape = (-1,) + (1,) * spatial  # the channel axis comes before the spatial ones
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        std = np.asarray(self.std, np.float32).reshape(shape)
        return ((x - mean) / std).astype(np.float32)

    def require_data(self, what: str) -> None:
        """Raise a ValueError saying what to pass when the source has no images."""
        if self.loader is None:
            raise ValueError(f"{what} needs images, and {self.path} is a model file, which "
                             f"holds none: pass --images DIR (a folder of images, or of "
                             f"class subfolders) or --dataset NAME (e.g. fashion-mnist, "
                             f"cifar10, photo-patches)")

    def test(self, what: str = "this command") -> tuple[np.ndarray, np.ndarray | None]:
        """(images normalised for the model (N, C, *spatial) float32, true labels or None),
        loaded once."""
        self.require_data(what)
        if self._cache is None:
            x, y = self.loader()
            self._cache = (self.normalize(x), None if y is None else np.asarray(y))
        return self._cache

    def class_name(self, index: int) -> str:
        index = int(index)
        return self.classes[index] if 0 <= index < len(self.classes) else f"class {index}"


def parse_labels(labels) -> tuple:
    """Class names: a sequence of them, a text file with one per line, or a comma-separated
    string."""
    if labels is None:
        return ()
    if isinstance(labels, (list, tuple)):
        return tuple(str(v) for v in labels)
    if not isinstance(labels, str):
        raise TypeError(f"labels must be class names, a file of them or 'a,b,c', got "
                        f"labels={show(labels)}")
    if os.path.isfile(labels):
        with open(labels, encoding="utf-8") as f:
            names = tuple(line.strip() for line in f if line.strip())
        if not names:
            raise ValueError(f"--labels {labels}: the file names no class (one per line)")
        return names
    names = tuple(v.strip() for v in labels.split(","))
    if not all(names):
        raise ValueError(f"--labels must be a file with one class name per line or names "
                         f"separated by commas, got {labels!r}")
    return names


def _stats(arg: str, value, channels: int | None) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = tuple(float(v) for v in value.split(","))
        except ValueError:
            raise ValueError(f"--{arg} must be numbers separated by commas, e.g. "
                             f"0.485,0.456,0.406, got {value!r}") from None
    value = tuple(float(v) for v in np.atleast_1d(value))
    if channels is not None and len(value) not in (1, channels):
        raise ValueError(f"--{arg} must give 1 or {channels} values (the model's input "
                         f"channels), got {len(value)}")
    if arg == "std" and any(v <= 0 for v in value):
        raise ValueError(f"--std must be positive, got {value}")
    return value


def input_channels(model) -> int | None:
    """The input channels of the model's first convolution (None without one)."""
    for _, module in model.named_modules():
        if type(module).__name__.startswith("Conv") and hasattr(module, "in_channels"):
            return int(module.in_channels)
    return None


def declared_shape(model) -> tuple | None:
    """(C, *spatial) the model file declares for its input, when every size is fixed."""
    shapes = getattr(model, "input_shapes", None)
    if not shapes or shapes[0] is None or len(shapes[0]) < 2:
        return None
    shape = tuple(shapes[0][1:])
    return shape if all(isinstance(s, int) and s > 0 for s in shape) else None


def _fit_image(image: np.ndarray, channels: int | None, size: tuple | None) -> np.ndarray:
    """One image (C, H, W) in [0, 1] with the model's channels (grey repeated to RGB, RGB
    to grey by its mean) and, when `size` is given, resized to it (bilinear)."""
    if channels is not None and image.shape[0] != channels:
        if image.shape[0] == 1:
            image = np.repeat(image, channels, axis=0)
        elif channels == 1:
            image = image[:3].mean(axis=0, keepdims=True)
        else:
            image = image[:channels]
    if size is not None and tuple(image.shape[1:]) != tuple(size):
        from PIL import Image
        h, w = size
        image = np.stack([np.asarray(Image.fromarray(c.astype(np.float32), mode="F").resize(
            (w, h), Image.Resampling.BILINEAR)) for c in image])
    return image.astype(np.float32)


def _folder_loader(folder: str, channels, size, names: tuple = ()):
    """A loader of the images of `folder` (or of its class subfolders) -> (x, y or None),
    and the class names. A subfolder's label is the index of its name among `names` (the
    model's classes, from --labels), else its place in the sorted subfolders (torchvision's
    `ImageFolder`)."""
    from .scale.io import IMAGE_SUFFIXES, read_image

    if not os.path.isdir(folder):
        raise FileNotFoundError(f"--images: no such folder: {folder}")
    entries = sorted(os.listdir(folder))
    files = [f for f in entries if f.lower().endswith(IMAGE_SUFFIXES)]
    subfolders = [d for d in entries if os.path.isdir(os.path.join(folder, d))
                  and not d.startswith(".")]
    if files:
        groups = [(None, folder, files)]
        classes = ()
    else:
        groups = []
        unknown = [d for d in subfolders if names and d not in names]
        if unknown:
            raise ValueError(f"--images {folder}: subfolder(s) {unknown} are not among the "
                             f"--labels classes {list(names)}")
        for k, d in enumerate(subfolders):
            path = os.path.join(folder, d)
            files = sorted(f for f in os.listdir(path) if f.lower().endswith(IMAGE_SUFFIXES))
            groups.append((names.index(d) if names else k, path, files))
        classes = tuple(names) or tuple(subfolders)
        if not any(files for _, _, files in groups):
            raise ValueError(f"--images {folder}: holds no image files "
                             f"({', '.join(IMAGE_SUFFIXES)}), directly or in class subfolders")

    def load():
        images, labels = [], []
        for label, path, files in groups:
            for name in files:
                try:
                    image = read_image(os.path.join(path, name))
                except Exception as exc:  # noqa: BLE001 - Pillow's many errors
                    raise ValueError(f"--images: {os.path.join(path, name)} is not an image "
                                     f"that can be read ({type(exc).__name__}: {exc})") from None
                images.append(_fit_image(image, channels, size))
                labels.append(label)
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            raise ValueError(f"--images {folder}: the images differ in size "
                             f"({', '.join('x'.join(map(str, s)) for s in sorted(shapes))}); "
                             f"pass --input CxHxW to resize them to the model's input")
        return np.stack(images), (None if labels[0] is None else np.asarray(labels))
    return load, classes


def resolve(path, *, images=None, dataset=None, data=None, labels=None, input_shape=None,
            mean=None, std=None, func: str = "resolve") -> Source:
    """A run folder, a checkpoint or a model file (``.onnx``) as a `Source`.

    Args:
        path: the run folder / checkpoint, or the model file.
        images: a folder of images (or of class subfolders) to use as the test images.
        dataset: a named data set (`convscope.data.DATASETS`) to use as the test images, with
            its classes and statistics (for a model file).
        data: the folder holding the data set (as `--data`).
        labels: class names (a list, a file with one per line or 'a,b,c').
        input_shape: (C, *spatial) or '3x224x224': a model file's input when the file does
            not fix it; --images are resized to it.
        mean, std: per-channel statistics to normalise the images with ('0.5,0.5,0.5').
    """
    from .arith.network import parse_shape
    from .data import dataset_info, load_dataset

    if images is not None and dataset is not None:
        raise ValueError(f"{func}: give --images DIR or --dataset NAME, not both")
    shape = None if input_shape is None else parse_shape(input_shape, func=func)
    path = os.fspath(path)
    if is_model_file(path):
        from . import onnx
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{func}: no such model file: {path}")
        model = onnx.load(path).eval()
        shape = shape or declared_shape(model)
        source = Source(path, "model", model, shape)
        info = None
        if dataset is not None:
            info = dataset_info(dataset)
            source.input_shape = source.input_shape or tuple(info.shape)
            source.classes, source.mean, source.std = tuple(info.classes), info.mean, info.std
    else:
        from .training import load_checkpoint, model_from_checkpoint
        ckpt = load_checkpoint(path)
        info = dataset_info(ckpt.config.dataset if dataset is None else dataset)
        source = Source(path, "run", model_from_checkpoint(ckpt).eval(), tuple(info.shape),
                        tuple(info.classes), info.mean, info.std, ckpt.config)
        if dataset is None:
            dataset, data = ckpt.config.dataset, data if data is not None else ckpt.config.data
    channels = source.input_shape[0] if source.input_shape else input_channels(source.model)
    source.mean = _stats("mean", mean, channels) or source.mean
    source.std = _stats("std", std, channels) or source.std
    if (source.mean is None) != (source.std is None):
        raise ValueError(f"{func}: give both --mean and --std, or neither")
    if images is not None:
        size = source.input_shape[1:] if source.input_shape else None
        source.loader, found = _folder_loader(os.fspath(images), channels, size,
                                              parse_labels(labels))
        source.classes = found or source.classes
        source.data = f"images of {images}"
    elif dataset is not None:
        limit = getattr(source.config, "limit_test", None) if source.kind == "run" else None

        def load(name=dataset, where=data):
            x, y = load_dataset(name, False, where)
            return (x, y) if limit is None else (x[:limit], y[:limit])
        source.loader = load
        source.data = f"test images of {dataset}"
    if labels is not None:
        source.classes = parse_labels(labels)
    return source
