"""`photo-patches`: which photograph does a 32x32 colour patch come from?

Fashion-MNIST is grey, so the lecture's "opposing colours" cannot show on it. This built-in
data set cuts patches from eight real colour photographs that scikit-image ships inside its
wheel (nothing is downloaded; ``pip install convscope[photos]``):

==========  ==========================================  ==================================
class       ``skimage.data``                            used part
==========  ==========================================  ==================================
astronaut   ``astronaut()`` (Eileen Collins, NASA)      all, 512x512 -> 256x256
cat         ``chelsea()``                               all, 300x451
coffee      ``coffee()``                                all, 400x600
rocket      ``rocket()`` (SpaceX Falcon 9)              all, 427x640
motorcycle  ``stereo_motorcycle()[0]`` (left view)      all, 500x741
galaxies    ``hubble_deep_field()``                     all, 872x1000 -> 290x333
tissue      ``immunohistochemistry()``                  all, 512x512 -> 256x256
retina      ``retina()``                                the square inside the fundus disc
==========  ==========================================  ==================================

Each photo is shrunk by an integer factor ``f = max(1, min(H, W) // 256)`` (the mean of each
f x f block), so every photo has its shorter side between 256 and 511 pixels and a patch
covers a comparable share of it. The right-most quarter of every photo's columns is held out:
test patches lie entirely inside it and training patches entirely left of it, so the test
asks about parts of each photo that training never saw. Patch corners are drawn uniformly
from a fixed generator (``default_rng([PATCH_SEED, split])``): the data set is the same on
every machine, whatever the training seed.

Example:
    >>> x, y = load_photo_patches(train=False, per_photo=4)   # doctest: +SKIP
    >>> x.shape, x.dtype, y[:5]                                 # doctest: +SKIP
    ((32, 3, 32, 32), dtype('float32'), array([0, 1, 2, 3, 4]))
"""

from __future__ import annotations

import numpy as np

from .._args import check_int

__all__ = ["PHOTO_CLASSES", "PATCH_SEED", "PATCH_SIZE", "TEST_PER_PHOTO", "TRAIN_PER_PHOTO",
           "load_photo_patches", "photo_split", "photos"]

#: The classes, in label order, and the scikit-image function of each.
PHOTO_CLASSES = ("astronaut", "cat", "coffee", "rocket", "motorcycle", "galaxies", "tissue",
                 "retina")
_LOADERS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle",
            "hubble_deep_field", "immunohistochemistry", "retina")
PATCH_SIZE = 32
TRAIN_PER_PHOTO = 1000
TEST_PER_PHOTO = 250
PATCH_SEED = 20021
TEST_FRACTION = 0.25  # the right-most share of the columns that only the test split sees


def _shrink(image: np.ndarray) -> np.ndarray:
    """Block means over f x f pixels, f = max(1, min(H, W) // 256), as float32 in [0, 1]."""
    f = max(1, min(image.shape[:2]) // 256)
    h, w = image.shape[0] // f * f, image.shape[1] // f * f
    blocks = image[:h, :w].astype(np.float32).reshape(h // f, f, w // f, f, 3)
    return blocks.mean(axis=(1, 3)) / np.float32(255)


_CACHE: list[np.ndarray] = []


def photos() -> list[np.ndarray]:
    """The eight photos as float32 (H, W, 3) arrays in [0, 1], shrunk as described above.

    Read once per process and kept (read-only arrays; copy one to change it).

    Raises:
        MissingDependency (an ImportError): scikit-image is not installed (the message
            says how to get it).
    """
    if not _CACHE:
        _CACHE.extend(_read_photos())
    return list(_CACHE)


def _read_photos() -> list[np.ndarray]:
    from .._optional import require
    skdata = require("skimage.data", "the data set photo-patches (its photos ship in "
                                     "scikit-image's wheel)")
    out = []
    for name in _LOADERS:
        image = getattr(skdata, name)()
        if name == "stereo_motorcycle":
            image = image[0]  # (left, right, disparity): the left view
        if name == "retina":
            # the fundus is a disc on black; keep the square inscribed in it
            side = image.shape[0]
            lo = int(round(side * (1 - 0.98 / np.sqrt(2)) / 2))
            image = image[lo:side - lo, lo:side - lo]
        image = _shrink(np.asarray(image)[..., :3])
        image.setflags(write=False)
        out.append(image)
    return out


def photo_split(width: int) -> int:
    """The first column of the held-out test band of a photo `width` pixels wide."""
    return width - int(round(TEST_FRACTION * width))


def load_photo_patches(train: bool, per_photo: int | None = None,
                       patch_size: int = PATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Patches of the eight photos and the index of the photo each comes from.

    Args:
        train: the training split (patches left of each photo's held-out band) or the test
            split (patches inside it).
        per_photo: patches per photo (default: 1000 for training, 250 for test).
        patch_size: side of the square patches (default 32).

    Returns:
        ``(x, y)``: x float32 (8 * per_photo, 3, patch_size, patch_size) in [0, 1], y int64
        (the index into `PHOTO_CLASSES`), interleaved: patch i of photo k is row 8 i + k, so
        any first N rows hold every photo about equally often.
    """
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"load_photo_patches: train must be a bool, got {train!r}")
    if per_photo is None:
        per_photo = TRAIN_PER_PHOTO if train else TEST_PER_PHOTO
    per_photo = check_int(per_photo, func="load_photo_patches", arg="per_photo")
    size = check_int(patch_size, func="load_photo_patches", arg="patch_size")
    if size > 64:
        raise ValueError(f"load_photo_patches: patch_size={size} must be <= 64 (the narrowest "
                         f"held-out band is 64 pixels wide)")
    rng = np.random.default_rng([PATCH_SEED, int(bool(train))])
    xs, ys = [], []
    for label, image in enumerate(photos()):
        height, width = image.shape[:2]
        split = photo_split(width)
        lo, hi = (0, split - size) if train else (split, width - size)
        rows = rng.integers(0, height - size, per_photo, endpoint=True)
        cols = rng.integers(lo, hi, per_photo, endpoint=True)
        # (per_photo, size, size, 3) by fancy indexing of every patch's pixel grid
        r = rows[:, None, None] + np.arange(size)[None, :, None]
        c = cols[:, None, None] + np.arange(size)[None, None, :]
        xs.append(image[r, c].transpose(0, 3, 1, 2))
        ys.append(np.full(per_photo, label, dtype=np.int64))
    # interleaved (photo 0, 1, ..., 7, 0, 1, ...): every prefix (--limit-train) is balanced
    x = np.stack(xs, axis=1).reshape(-1, 3, size, size)
    y = np.stack(ys, axis=1).reshape(-1)
    return np.ascontiguousarray(x, dtype=np.float32), y
