"""The built-in photo-patches data set: offline, deterministic, a test band training never sees."""

import socket
import sys

import numpy as np
import pytest

from convscope import models
from convscope.data import (DATASETS, PHOTO_CLASSES, dataset_info, find_dataset_dir,
                            load_dataset, load_photo_patches)
from convscope.data import photos as photos_module


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(photos_module, "_CACHE", [])  # read the files again, offline


def test_photos_load_offline(no_network):
    images = photos_module.photos()
    assert len(images) == len(PHOTO_CLASSES) == 8
    for image in images:
        assert image.dtype == np.float32 and image.ndim == 3 and image.shape[2] == 3
        assert 256 <= min(image.shape[:2]) < 512
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert image.std() > 0.02  # a real photograph, not a blank
        # colour: the channels differ (not a grey picture)
        assert np.abs(image[..., 0] - image[..., 2]).mean() > 0.01


def test_patches_shapes_labels_and_determinism(no_network):
    x, y = load_photo_patches(train=False, per_photo=3)
    assert x.shape == (24, 3, 32, 32) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.tile(np.arange(8), 3))
    x2, y2 = load_photo_patches(train=False, per_photo=3)
    np.testing.assert_array_equal(x, x2)
    xd, yd = load_dataset("photo-patches", train=True)
    assert xd.shape == (8000, 3, 32, 32) and np.bincount(yd).tolist() == [1000] * 8
    # the normalisation constants are the training patches' statistics
    info = dataset_info("photo-patches")
    np.testing.assert_allclose(xd.mean(axis=(0, 2, 3)), info.mean, atol=2e-4)
    np.testing.assert_allclose(xd.std(axis=(0, 2, 3)), info.std, atol=2e-4)
    assert info.shape == (3, 32, 32) and info.classes == PHOTO_CLASSES
    xt, yt = load_dataset("photo-patches", train=False)
    assert xt.shape == (2000, 3, 32, 32) and np.bincount(yt).tolist() == [250] * 8


def _columns(image, patch):
    """Every column at which `patch` (3, k, k) sits in `image` (H, W, 3), found by search:
    the positions whose first pixel matches, then each of those compared whole."""
    k = patch.shape[-1]
    H, W = image.shape[:2]
    corner = np.all(image[:H - k + 1, :W - k + 1] == patch[:, 0, 0], axis=-1)
    cols = [c for r, c in np.argwhere(corner)
            if np.array_equal(image[r:r + k, c:c + k].transpose(2, 0, 1), patch)]
    return np.array(cols, dtype=int)


def test_test_patches_come_from_the_held_out_band():
    images = photos_module.photos()
    x_train, y_train = load_photo_patches(train=True, per_photo=4)
    x_test, y_test = load_photo_patches(train=False, per_photo=4)
    for x, y, is_train in ((x_train, y_train, True), (x_test, y_test, False)):
        for patch, label in zip(x, y):
            image = images[label]
            width = image.shape[1]
            band = width - int(round(0.25 * width))
            cols = _columns(image, patch)
            assert len(cols) >= 1  # cut from its own photo
            if is_train:
                assert np.all(cols + 32 <= band)  # entirely left of the band
            else:
                assert np.all(cols >= band)       # entirely inside it


def test_photo_patches_is_built_in():
    assert "photo-patches" in DATASETS
    assert models.model_for_dataset("photo-patches") == "photo_cnn"
    with pytest.raises(ValueError, match=r"load_dataset: data set 'photo-patches' is built in "
                                         r"and takes no folder, got data='/tmp'"):
        load_dataset("photo-patches", train=True, data="/tmp")
    with pytest.raises(ValueError, match=r"find_dataset_dir: data set 'photo-patches' is "
                                         r"built in"):
        find_dataset_dir("photo-patches")


@pytest.mark.parametrize("kwargs, exc, pattern", [
    ({"train": 1}, TypeError, "load_photo_patches: train must be a bool"),
    ({"train": True, "per_photo": 0}, ValueError, "load_photo_patches: per_photo must be positive, got per_photo=0"),
    ({"train": True, "per_photo": 2.5}, TypeError, "per_photo must be an int"),
    ({"train": True, "patch_size": 65}, ValueError, "patch_size=65 must be <= 64"),
])
def test_bad_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        load_photo_patches(**kwargs)


def test_without_scikit_image_says_how_to_get_it(monkeypatch):
    monkeypatch.setattr(photos_module, "_CACHE", [])
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ImportError, match=r"pip install 'convscope\[photos\]'"):
        load_photo_patches(train=False, per_photo=1)
