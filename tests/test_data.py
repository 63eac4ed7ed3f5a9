"""Tests for convscope.data: IDX and CIFAR readers, data set lookup, loader, transforms."""

import gzip
import io
import json
import os
import struct
import tarfile

import numpy as np
import pytest

from convscope.data import (CIFAR10_CLASSES, CIFAR100_CLASSES, DATASETS, FASHION_MNIST_CLASSES,
                            Compose, DataLoader, Normalize, RandomCrop, RandomHorizontalFlip,
                            dataset_info, find_dataset_dir, load_cifar10, load_cifar100,
                            load_dataset, load_mnist_like, parse_cifar_records, read_idx,
                            write_idx)
from convscope.data import datasets as datasets_module

# ---------------------------------------------------------------- IDX


def idx_bytes(code, shape, payload):
    """An IDX file built by hand from the format description, independently of write_idx."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


IDX_CASES = [  # (code, big-endian dtype, native dtype)
    (0x08, ">u1", np.uint8),
    (0x09, ">i1", np.int8),
    (0x0B, ">i2", np.int16),
    (0x0C, ">i4", np.int32),
    (0x0D, ">f4", np.float32),
    (0x0E, ">f8", np.float64),
]


@pytest.mark.parametrize("code, big, native", IDX_CASES)
@pytest.mark.parametrize("gzipped", [False, True])
def test_read_idx_every_dtype_code(tmp_path, code, big, native, gzipped):
    values = np.array([[0, 1, -2 if np.dtype(native).kind != "u" else 2], [3, 100, 7]])
    payload = values.astype(big).tobytes()
    data = idx_bytes(code, (2, 3), payload)
    p = tmp_path / "x-idx2"  # no .gz suffix either way: gzip is found by its magic bytes
    p.write_bytes(gzip.compress(data) if gzipped else data)
    out = read_idx(p)
    assert out.dtype == np.dtype(native)
    assert out.dtype.isnative
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(out, values)
    out[0, 0] = 5  # writable


def test_read_idx_raw_file_named_gz(tmp_path):
    p = tmp_path / "labels-idx1-ubyte.gz"
    p.write_bytes(idx_bytes(0x08, (4,), bytes([1, 2, 3, 4])))
    np.testing.assert_array_equal(read_idx(p), [1, 2, 3, 4])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64, ">i4", ">f8"])
@pytest.mark.parametrize("name", ["a-idx", "a-idx.gz"])
def test_write_idx_round_trip(tmp_path, dtype, name):
    x = (np.arange(24) % 100).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, x)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    y = read_idx(tmp_path / name)
    assert y.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(y, x)


def test_write_idx_matches_hand_made_file(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, 2], [3, 4]], np.int16))
    expected = idx_bytes(0x0B, (2, 2), bytes([0, 1, 0, 2, 0, 3, 0, 4]))
    assert (tmp_path / "a").read_bytes() == expected


@pytest.mark.parametrize("array, pattern", [
    (np.zeros(3, np.int64), r"write_idx: array dtype int64 has no IDX code"),
    (np.zeros(3, bool), r"write_idx: array dtype bool has no IDX code"),
    (np.array(3, np.uint8), r"write_idx: array must have 1 to 255 dimensions"),
])
def test_write_idx_bad_arrays(tmp_path, array, pattern):
    with pytest.raises(ValueError, match=pattern):
        write_idx(tmp_path / "a", array)


@pytest.mark.parametrize("data, pattern", [
    (b"\x12\x34\x08\x03" + bytes(12),
     r"read_idx: .*/f: bad magic number 0x12340803: an IDX file starts with 0x00 0x00"),
    (b"\x00\x00\x0a\x01" + struct.pack(">I", 2) + bytes(2),
     r"read_idx: .*/f: bad magic number 0x00000A01: unknown IDX dtype code 0x0A "
     r"\(known: 0x08 ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double\)"),
    (b"\x00\x00\x08\x00", r"bad magic number 0x00000800: zero dimensions"),
    (b"\x00\x00", r"read_idx: .*/f: 2 bytes is too short for an IDX header"),
    (b"\x00\x00\x08\x03" + struct.pack(">I", 5),
     r"header declares 3 dimensions \(16 header bytes\), but the file has only 8 bytes"),
    (idx_bytes(0x08, (3, 28, 28), bytes(1000)),
     r"read_idx: .*/f: declared 3x28x28 = 2352 bytes of data, found 1000$"),
    (idx_bytes(0x08, (3,), bytes(5)), r"declared 3 = 3 bytes of data, found 5$"),
    (idx_bytes(0x0D, (2, 2), bytes(15)),
     r"declared 2x2 floats of 4 bytes = 16 bytes of data, found 15$"),
])
def test_read_idx_malformed(tmp_path, data, pattern):
    for name, content in (("f", data), ("f", gzip.compress(data))):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=pattern):
            read_idx(tmp_path / name)


def test_read_idx_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    (tmp_path / "t.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"read_idx: .*t\.gz: gzip data is truncated or corrupt"):
        read_idx(tmp_path / "t.gz")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "none")


def make_mnist_dir(root, n_train=12, n_test=7, gz=True, seed=0):
    """Four IDX files in `root`; returns the arrays written."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(os.path.join(root, f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(root, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
        out[prefix == "train"] = (images, labels)
    return out


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_like(tmp_path, gz):
    written = make_mnist_dir(tmp_path, gz=gz)
    for train in (True, False):
        images, labels = load_mnist_like(tmp_path, train=train, kind="mnist")
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        np.testing.assert_array_equal(images, written[train][0])
        np.testing.assert_array_equal(labels, written[train][1])


def test_load_mnist_like_count_mismatch(tmp_path):
    make_mnist_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match=r"load_mnist_like: 12 images in .*train-images-idx3-"
                                         r"ubyte\.gz but 11 labels in .*train-labels"):
        load_mnist_like(tmp_path, train=True)


def test_load_mnist_like_missing_and_wrong_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no fashion-mnist images file in .*: looked "
                                                r"for t10k-images-idx3-ubyte\[\.gz\]"):
        load_mnist_like(tmp_path, train=False)
    make_mnist_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(12, 10, np.uint8))
    with pytest.raises(ValueError, match=r"labels must be 0\.\.9, found 10"):
        load_mnist_like(tmp_path, train=True)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((12, 784), np.uint8))
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(N, H, W\)"):
        load_mnist_like(tmp_path, train=True)
    with pytest.raises(ValueError, match=r"load_mnist_like: kind='cifar10' must be"):
        load_mnist_like(tmp_path, train=True, kind="cifar10")


# ---------------------------------------------------------------- CIFAR binary


def cifar_records(n, label_bytes, seed):
    """(raw bytes, images, coarse labels, fine/only labels) for n synthetic records."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    fine = rng.integers(0, 100 if label_bytes == 2 else 10, n).astype(np.uint8)
    coarse = rng.integers(0, 20, n).astype(np.uint8)
    raw = b""
    for i in range(n):
        labels = bytes([coarse[i], fine[i]]) if label_bytes == 2 else bytes([fine[i]])
        raw += labels + images[i].tobytes()  # R plane, G plane, B plane, each row-major
    return raw, images, coarse, fine


def make_tar(path, files):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(files[0][0].split("/")[0])
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def cifar10_files():
    files, train_x, train_y = [], [], []
    for i in range(1, 6):
        raw, x, _, y = cifar_records(2 + i % 2, 1, seed=i)
        files.append((f"cifar-10-batches-bin/data_batch_{i}.bin", raw))
        train_x.append(x)
        train_y.append(y)
    raw, test_x, _, test_y = cifar_records(4, 1, seed=9)
    files.append(("cifar-10-batches-bin/batches.meta.txt", b"airplane\n"))
    files.append(("cifar-10-batches-bin/test_batch.bin", raw))
    expected = {True: (np.concatenate(train_x), np.concatenate(train_y)),
                False: (test_x, test_y)}
    return files, expected


def check_cifar(loaded, expected):
    images, labels = loaded
    assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


def test_cifar10_from_tar_and_folders(tmp_path, cifar10_files):
    files, expected = cifar10_files
    tar = tmp_path / "cifar-10-binary.tar.gz"
    make_tar(tar, files)
    folder = tmp_path / "extracted"
    for name, data in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    for source in (tar, tmp_path, folder, folder / "cifar-10-batches-bin"):
        for train in (True, False):
            check_cifar(load_cifar10(source, train=train), expected[train])
    assert len(load_cifar10(tar, train=True)[0]) == 3 + 2 + 3 + 2 + 3


def test_cifar100_fine_and_coarse(tmp_path):
    train_raw, train_x, train_coarse, train_fine = cifar_records(5, 2, seed=1)
    test_raw, test_x, test_coarse, test_fine = cifar_records(3, 2, seed=2)
    tar = tmp_path / "cifar-100-binary.tar.gz"
    make_tar(tar, [("cifar-100-binary/train.bin", train_raw),
                   ("cifar-100-binary/test.bin", test_raw)])
    check_cifar(load_cifar100(tar, train=True), (train_x, train_fine))
    check_cifar(load_cifar100(tmp_path, train=False), (test_x, test_fine))
    check_cifar(load_cifar100(tar, train=False, label_mode="coarse"), (test_x, test_coarse))
    with pytest.raises(ValueError, match=r"load_cifar100: label_mode='both' must be"):
        load_cifar100(tar, train=True, label_mode="both")


def test_cifar_bad_length_names_the_file(tmp_path, cifar10_files):
    files, _ = cifar10_files
    files = [(n, d[:-10] if n.endswith("test_batch.bin") else d) for n, d in files]
    make_tar(tmp_path / "cifar-10-binary.tar.gz", files)
    with pytest.raises(ValueError, match=r"cifar-10-binary\.tar\.gz:test_batch\.bin: 12282 bytes"
                                         r" is not a multiple of the 3073-byte record"):
        load_cifar10(tmp_path / "cifar-10-binary.tar.gz", train=False)
    # CIFAR-100 records read as CIFAR-10 do not fit either.
    raw, *_ = cifar_records(3, 2, seed=0)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "test_batch.bin").write_bytes(raw)
    with pytest.raises(ValueError, match=r"test_batch\.bin: 9222 bytes is not a multiple"):
        load_cifar10(tmp_path / "d", train=False)


def test_cifar_python_version_is_refused(tmp_path):
    p = tmp_path / "cifar-10-python.tar.gz"
    make_tar(p, [("cifar-10-batches-py/data_batch_1", b"\x80\x02"),
                 ("cifar-10-batches-py/batches.meta", b"\x80\x02")])
    with pytest.raises(ValueError, match=r"Python \(pickle\) version of CIFAR-10, which "
                                         r"convscope never loads.*cifar-10-binary\.tar\.gz"):
        load_cifar10(p, train=True)
    renamed = tmp_path / "renamed.tar.gz"
    os.rename(p, renamed)
    with pytest.raises(ValueError, match=r"renamed\.tar\.gz is the Python \(pickle\) version"):
        load_cifar10(renamed, train=True)


def test_cifar_damaged_or_missing(tmp_path, cifar10_files):
    files, _ = cifar10_files
    tar = tmp_path / "cifar-10-binary.tar.gz"
    make_tar(tar, files)
    data = tar.read_bytes()
    tar.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"load_cifar10: .*cifar-10-binary\.tar\.gz: not a "
                                         r"readable tar archive"):
        load_cifar10(tar, train=False)
    make_tar(tar, [f for f in files if "data_batch_3" not in f[0]])
    with pytest.raises(ValueError, match=r"the archive has no member data_batch_3\.bin"):
        load_cifar10(tar, train=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"load_cifar10: no CIFAR-10 binary files in"):
        load_cifar10(tmp_path / "empty", train=True)
    with pytest.raises(TypeError, match=r"load_cifar10: train must be a bool"):
        load_cifar10(tar, train="yes")


def test_cifar_label_out_of_range(tmp_path):
    raw, *_ = cifar_records(2, 1, seed=0)
    raw = bytes([200]) + raw[1:]
    (tmp_path / "test_batch.bin").write_bytes(raw)
    with pytest.raises(ValueError, match=r"label 200 is out of range 0\.\.9"):
        load_cifar10(tmp_path, train=False)


# ---------------------------------------------------------------- data sets and lookup


def test_dataset_info():
    assert FASHION_MNIST_CLASSES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert len(CIFAR10_CLASSES) == 10
    assert len(CIFAR100_CLASSES) == len(set(CIFAR100_CLASSES)) == 100
    assert list(CIFAR100_CLASSES) == sorted(CIFAR100_CLASSES)
    for name, info in DATASETS.items():
        assert info.name == name
        assert len(info.mean) == len(info.std) == info.shape[0]
    assert dataset_info("cifar100").num_classes == 100
    with pytest.raises(ValueError, match=r"dataset_info: unknown data set name='imagenet'"):
        dataset_info("imagenet")


@pytest.fixture
def no_default_dirs(tmp_path, monkeypatch):
    """No CONVSCOPE_DATA, and the Debian folder moved to an empty temporary place."""
    monkeypatch.delenv("CONVSCOPE_DATA", raising=False)
    debian = tmp_path / "debian" / "fashion-mnist"
    monkeypatch.setattr(datasets_module, "DEBIAN_FASHION_MNIST_DIR", str(debian))
    return debian


def test_lookup_order(tmp_path, monkeypatch, no_default_dirs):
    arg, env = tmp_path / "arg", tmp_path / "env"
    for d in (arg, env / "fashion-mnist", no_default_dirs):
        d.mkdir(parents=True)
        make_mnist_dir(d, n_train=2, n_test=1)
    monkeypatch.setenv("CONVSCOPE_DATA", str(env))
    assert find_dataset_dir("fashion-mnist", data=arg) == str(arg)
    assert find_dataset_dir("fashion-mnist") == str(env / "fashion-mnist")
    monkeypatch.delenv("CONVSCOPE_DATA")
    assert find_dataset_dir("fashion-mnist") == str(no_default_dirs)
    # An env folder without the data falls through to the Debian folder.
    monkeypatch.setenv("CONVSCOPE_DATA", str(tmp_path / "empty"))
    assert find_dataset_dir("fashion-mnist") == str(no_default_dirs)
    # An explicit --data without the data is an error, not a silent fallback.
    with pytest.raises(FileNotFoundError, match=r"empty2 \(--data\)"):
        find_dataset_dir("fashion-mnist", data=tmp_path / "empty2")
    # The Debian folder is only for Fashion-MNIST.
    with pytest.raises(FileNotFoundError):
        find_dataset_dir("mnist")


def test_not_found_message_lists_places(tmp_path, monkeypatch, no_default_dirs):
    monkeypatch.setenv("CONVSCOPE_DATA", str(tmp_path / "root"))
    with pytest.raises(FileNotFoundError) as info:
        find_dataset_dir("fashion-mnist")
    message = str(info.value)
    assert "find_dataset_dir: data set 'fashion-mnist' not found" in message
    assert f"{tmp_path / 'root'} ($CONVSCOPE_DATA)" in message
    assert f"{tmp_path / 'root' / 'fashion-mnist'} ($CONVSCOPE_DATA)" in message
    assert f"{no_default_dirs} (Debian package dataset-fashion-mnist)" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--data DIR" in message

    monkeypatch.delenv("CONVSCOPE_DATA")
    with pytest.raises(FileNotFoundError) as info:
        find_dataset_dir("cifar10")
    message = str(info.value)
    assert "$CONVSCOPE_DATA (not set)" in message
    assert "cifar-10-binary.tar.gz" in message and "Debian" not in message


def test_load_dataset_scales_and_shapes(tmp_path, monkeypatch, no_default_dirs):
    written = make_mnist_dir(tmp_path / "mnist")
    monkeypatch.setenv("CONVSCOPE_DATA", str(tmp_path))
    x, y = load_dataset("mnist", train=True)
    assert x.dtype == np.float32 and x.shape == (12, 1, 28, 28)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0] * 255, written[True][0].astype(np.float32))
    assert x.min() >= 0 and x.max() <= 1

    raw, images, _, labels = cifar_records(3, 1, seed=0)
    (tmp_path / "c").mkdir()
    make_tar(tmp_path / "c" / "cifar-10-binary.tar.gz",
             [("cifar-10-batches-bin/test_batch.bin", raw)])
    x, y = load_dataset("cifar10", train=False, data=tmp_path / "c")
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.float32
    np.testing.assert_array_equal(np.round(x * 255).astype(np.uint8), images)
    np.testing.assert_array_equal(y, labels)
    with pytest.raises(TypeError, match=r"load_dataset: train must be a bool"):
        load_dataset("mnist", train=None)


REAL = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isfile(os.path.join(REAL, "t10k-images-idx3-ubyte.gz")),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_real_fashion_mnist_test_set(monkeypatch):
    monkeypatch.delenv("CONVSCOPE_DATA", raising=False)
    images, labels = load_mnist_like(REAL, train=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.min() == 0 and labels.max() == 9
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 1000))
    x, y = load_dataset("fashion-mnist", train=False)
    assert x.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(y, labels)


# ---------------------------------------------------------------- DataLoader


def small_data(n=10):
    x = np.arange(n * 4, dtype=np.uint8).reshape(n, 1, 2, 2)
    return x, np.arange(n)


def epoch_labels(loader):
    return [yb.tolist() for _, yb in loader]


def test_loader_in_order_batches_and_len():
    x, y = small_data(10)
    loader = DataLoader(x, y, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    xb, yb = batches[0]
    assert xb.dtype == np.float32 and yb.dtype == np.int64 and xb.shape == (4, 1, 2, 2)
    np.testing.assert_array_equal(xb, x[:4])
    xb[:] = -1  # batches are copies
    assert x.min() == 0
    dropped = DataLoader(x, y, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and epoch_labels(dropped) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(x, y, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(x, y, batch_size=20)) == 1
    assert len(DataLoader(x, y, batch_size=20, drop_last=True)) == 0


def test_loader_shuffle_is_seeded_and_changes_each_epoch():
    x, y = small_data(20)
    a = DataLoader(x, y, batch_size=6, shuffle=True, seed=123)
    b = DataLoader(x, y, batch_size=6, shuffle=True, seed=123)
    a1, a2 = epoch_labels(a), epoch_labels(a)
    assert a1 == epoch_labels(b) and a2 == epoch_labels(b)
    assert a1 != a2
    assert sorted(sum(a1, [])) == list(range(20))
    assert sum(a1, []) == np.random.default_rng(123).permutation(20).tolist()
    assert epoch_labels(DataLoader(x, y, batch_size=6, shuffle=True, seed=124)) != a1
    # images travel with their labels
    for xb, yb in DataLoader(x, y, batch_size=6, shuffle=True, seed=0):
        np.testing.assert_array_equal(xb, x[yb])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_batches_never_alias_the_data(dtype, shuffle):
    x, y = small_data(10)
    x = x.astype(dtype)
    before = x.copy()
    for xb, yb in DataLoader(x, y, batch_size=4, shuffle=shuffle, seed=0):
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb, x[yb])
        xb[:] = -1
        yb[:] = -1
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(y, np.arange(10))


def test_loader_resume_from_state_dict():
    x, y = small_data(17)
    flip = RandomHorizontalFlip(0.5)
    original = DataLoader(x, y, batch_size=5, shuffle=True, seed=7, transform=flip)
    list(original)
    state = json.loads(json.dumps(original.state_dict()))  # survives a JSON checkpoint
    expected = [[(xb.copy(), yb.copy()) for xb, yb in original] for _ in range(2)]

    resumed = DataLoader(x, y, batch_size=5, shuffle=True, seed=999, transform=flip)
    resumed.load_state_dict(state)
    assert resumed.epoch == 1
    for epoch in expected:
        for (ex, ey), (rx, ry) in zip(epoch, resumed, strict=True):
            np.testing.assert_array_equal(rx, ex)
            np.testing.assert_array_equal(ry, ey)


def test_loader_with_rng_and_transform():
    x, y = small_data(8)
    seen = []

    def record(xb, rng):
        seen.append(rng)
        return xb * 2

    rng = np.random.default_rng(0)
    loader = DataLoader(x, y, batch_size=8, rng=rng, transform=record)
    (xb, _), = list(loader)
    np.testing.assert_array_equal(xb, x.astype(np.float32) * 2)
    assert seen == [rng]


def test_loader_load_state_dict_rejects_foreign_state():
    x, y = small_data(4)
    loader = DataLoader(x, y, batch_size=2, seed=0)
    other = DataLoader(x, y, batch_size=2, rng=np.random.Generator(np.random.MT19937(0)))
    json.dumps(other.state_dict())  # arrays in the MT19937 state become lists
    with pytest.raises(ValueError, match=r"bit generator 'MT19937', this loader's generator "
                                         r"is 'PCG64'"):
        loader.load_state_dict(other.state_dict())
    with pytest.raises(ValueError, match=r"expected a dict with keys 'epoch' and 'rng'"):
        loader.load_state_dict({"seed": 1})
    other.load_state_dict(json.loads(json.dumps(other.state_dict())))


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(batch_size=0), ValueError, r"DataLoader: batch_size=0 must be a positive int"),
    (dict(batch_size=-3), ValueError, r"batch_size=-3 must be a positive int"),
    (dict(batch_size=2.0), TypeError, r"DataLoader: batch_size must be an int, got 2\.0"),
    (dict(batch_size=True), TypeError, r"batch_size must be an int, got True"),
    (dict(batch_size=2, y=np.arange(9)), ValueError,
     r"x and y must have the same length, got len\(x\)=10 and len\(y\)=9"),
    (dict(batch_size=2, y=np.zeros((10, 2), int)), ValueError, r"y must have shape \(N,\)"),
    (dict(batch_size=2, y=np.zeros(10)), TypeError, r"y must hold integer labels"),
    (dict(batch_size=2, x=[1, 2]), TypeError, r"x and y must be NumPy arrays, got list"),
    (dict(batch_size=2, seed=1, rng=np.random.default_rng()), ValueError,
     r"give seed or rng, not both"),
    (dict(batch_size=2, rng=1), TypeError, r"rng must be a numpy.random.Generator"),
    (dict(batch_size=2, transform=3), TypeError, r"transform must be callable"),
])
def test_loader_bad_arguments(kwargs, exc, pattern):
    x, y = small_data(10)
    kwargs = {"x": x, "y": y, **kwargs}
    with pytest.raises(exc, match=pattern):
        DataLoader(**kwargs)


# ---------------------------------------------------------------- transforms


def batch(n=6, c=3, h=5, w=7, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def test_normalize():
    x = batch()
    out = Normalize((0.1, 0.2, 0.3), (0.5, 0.25, 2.0))(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    for c, (m, s) in enumerate([(0.1, 0.5), (0.2, 0.25), (0.3, 2.0)]):
        np.testing.assert_allclose(out[:, c], (x[:, c] - m) / s, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(Normalize(0.5, 0.5)(x), x * 2 - 1, atol=1e-6)
    assert Normalize(0.5, 0.5)(x.astype(np.float64)).dtype == np.float64
    with pytest.raises(ValueError, match=r"Normalize: 2 channel statistics but the batch has "
                                         r"C=3"):
        Normalize((0, 0), (1, 1))(x)
    with pytest.raises(ValueError, match=r"Normalize: std=\[1\.0, 0\.0\] must be positive"):
        Normalize((0, 0), (1, 0))
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, C, H, W\), got "
                                         r"shape \(3, 5, 7\)"):
        Normalize(0, 1)(x[0])


def test_flip():
    x = batch()
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x, rng), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x, rng), x)
    out = RandomHorizontalFlip(0.5)(batch(n=200), np.random.default_rng(1))
    assert out.dtype == np.float32 and out.shape == (200, 3, 5, 7)
    xs = batch(n=200)
    flipped = [np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, xs)]
    kept = [np.array_equal(o, xi) for o, xi in zip(out, xs)]
    assert all(f != k for f, k in zip(flipped, kept))
    assert 60 < sum(flipped) < 140
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: p=1\.5 must be"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(TypeError, match=r"RandomHorizontalFlip: rng must be a numpy"):
        RandomHorizontalFlip()(x, None)


def test_crop_identity_and_windows():
    x = batch(n=30)
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(RandomCrop((5, 7))(x, rng), x)
    out = RandomCrop(4, padding=2)(x, rng)
    assert out.shape == (30, 3, 4, 4) and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = set()
    for i in range(len(x)):
        matches = [(t, l) for t in range(padded.shape[2] - 3) for l in range(padded.shape[3] - 3)
                   if np.array_equal(out[i], padded[i, :, t:t + 4, l:l + 4])]
        assert matches, f"crop {i} is not a window of its padded image"
        offsets.add(matches[0])
    assert len(offsets) > 5  # each image draws its own offset
    again = RandomCrop(4, padding=2)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(RandomCrop(4, padding=2)(x, np.random.default_rng(0)), again)


def test_crop_bad_arguments():
    with pytest.raises(ValueError, match=r"RandomCrop: size=\(6, 8\) is larger than the padded "
                                         r"image \(5, 7\)"):
        RandomCrop((6, 8))(batch(), np.random.default_rng())
    with pytest.raises(ValueError, match=r"RandomCrop: padding=-1 must be >= 0"):
        RandomCrop(3, padding=-1)
    with pytest.raises(TypeError, match=r"RandomCrop: size must be an int or a pair"):
        RandomCrop("3")
    with pytest.raises(ValueError, match=r"RandomCrop: size=\(0, 0\) must be positive"):
        RandomCrop(0)


def test_compose_and_reproducibility():
    x = batch(n=8, c=3, h=8, w=8)
    t = Compose([RandomCrop(8, padding=2), RandomHorizontalFlip(), Normalize(0.5, 0.5)])
    a = t(x, np.random.default_rng(5))
    b = t(x, np.random.default_rng(5))
    assert a.dtype == np.float32 and a.shape == x.shape
    np.testing.assert_array_equal(a, b)
    assert "RandomCrop(size=(8, 8), padding=2)" in repr(t)
    with pytest.raises(TypeError, match=r"Compose: transforms\[1\]=3 is not callable"):
        Compose([Normalize(0, 1), 3])


# ---------------------------------------------------------------- bad arguments, one table
def _loader(x=None, y=None, **kwargs):
    x0, y0 = small_data(6)
    return DataLoader(x0 if x is None else x, y0 if y is None else y,
                      **{"batch_size": 2, **kwargs})


RNG = np.random.default_rng(0)
BATCH = np.zeros((2, 1, 4, 4), np.float32)
DATA_ERRORS = [
    # (call, exception, message pattern)
    (lambda: _loader(x=[[1.0]]), TypeError, r"DataLoader: x and y must be NumPy arrays"),
    (lambda: _loader(y=np.arange(5)), ValueError,
     r"DataLoader: x and y must have the same length, got len\(x\)=6 and len\(y\)=5"),
    (lambda: _loader(y=np.zeros((6, 2), np.int64)), ValueError,
     r"DataLoader: y must have shape \(N,\)"),
    (lambda: _loader(y=np.zeros(6)), TypeError,
     r"DataLoader: y must hold integer labels, got dtype float64"),
    (lambda: _loader(x=np.array(["a"] * 6)), TypeError,
     r"DataLoader: x must be a real numeric array, got dtype <U1"),
    (lambda: _loader(batch_size=0), ValueError, r"DataLoader: batch_size=0 must be a positive"),
    (lambda: _loader(batch_size=2.0), TypeError, r"DataLoader: batch_size must be an int"),
    (lambda: _loader(shuffle="yes"), TypeError,
     r"DataLoader: shuffle must be a bool, got shuffle='yes'"),
    (lambda: _loader(drop_last=1), TypeError, r"DataLoader: drop_last must be a bool"),
    (lambda: _loader(seed="a"), TypeError, r"DataLoader: seed must be an int or None, "
                                           r"got seed='a'"),
    (lambda: _loader(seed=1.5), TypeError, r"DataLoader: seed must be an int or None"),
    (lambda: _loader(seed=-1), ValueError, r"DataLoader: seed must be >= 0, got seed=-1"),
    (lambda: _loader(seed=1, rng=RNG), ValueError, r"DataLoader: give seed or rng, not both"),
    (lambda: _loader(rng=0), TypeError, r"DataLoader: rng must be a numpy.random.Generator"),
    (lambda: _loader(transform="flip"), TypeError, r"DataLoader: transform must be callable"),
    (lambda: _loader().load_state_dict({"epoch": 0}), ValueError,
     r"DataLoader.load_state_dict: expected a dict with keys 'epoch' and 'rng'"),
    (lambda: _loader().load_state_dict({"epoch": "a", "rng": _loader().state_dict()["rng"]}),
     ValueError, r"DataLoader.load_state_dict: epoch must be an int >= 0, got epoch='a'"),
    (lambda: _loader().load_state_dict({"epoch": 0, "rng": {"bit_generator": "MT19937"}}),
     ValueError, r"DataLoader.load_state_dict: the state is for bit generator 'MT19937'"),
    (lambda: Normalize("a", 1.0), TypeError,
     r"Normalize: mean must be a number or a sequence of numbers, got mean='a'"),
    (lambda: Normalize(0.0, {}), TypeError, r"Normalize: std must be a number or a sequence"),
    (lambda: Normalize(0.0, 0.0), ValueError, r"Normalize: std=\[0.0\] must be positive"),
    (lambda: Normalize((0.0, 0.0, 0.0), 1.0)(BATCH), ValueError,
     r"Normalize: 3 channel statistics but the batch has C=1"),
    (lambda: Normalize(0.0, 1.0)(np.zeros((4, 4))), ValueError,
     r"Normalize: expected a batch of shape \(N, C, H, W\), got shape \(4, 4\)"),
    (lambda: RandomCrop(0), ValueError, r"RandomCrop: size=\(0, 0\) must be positive"),
    (lambda: RandomCrop("a"), TypeError, r"RandomCrop: size must be an int or a pair of ints"),
    (lambda: RandomCrop(4, padding=-1), ValueError, r"RandomCrop: padding=-1 must be >= 0"),
    (lambda: RandomCrop(4, padding=2**70)(BATCH, RNG), ValueError,
     r"RandomCrop: padding=\d+ is larger than the image \(4, 4\)"),
    (lambda: RandomCrop(9)(BATCH, RNG), ValueError,
     r"RandomCrop: size=\(9, 9\) is larger than the padded image"),
    (lambda: RandomCrop(4)(BATCH, 0), TypeError,
     r"RandomCrop: rng must be a numpy.random.Generator \(call it as t\(x, rng\)\)"),
    (lambda: RandomHorizontalFlip("a"), TypeError,
     r"RandomHorizontalFlip: p must be a number, got p='a'"),
    (lambda: RandomHorizontalFlip(1.5), ValueError,
     r"RandomHorizontalFlip: p=1.5 must be a number in \[0, 1\]"),
    (lambda: Compose(5), TypeError,
     r"Compose: transforms must be a list or tuple of callables, got int"),
    (lambda: Compose([1]), TypeError, r"Compose: transforms\[0\]=1 is not callable"),
    (lambda: read_idx(None), TypeError,
     r"read_idx: path must be a path \(a str or an os.PathLike\), got NoneType"),
    (lambda: read_idx("/nonexistent/x-idx1"), FileNotFoundError, r"/nonexistent/x-idx1"),
    (lambda: write_idx(3, np.zeros(2, np.uint8)), TypeError, r"write_idx: path must be a path"),
    (lambda: write_idx("x", [1, 2]), TypeError, r"write_idx: array must be a NumPy array"),
    (lambda: write_idx("x", np.zeros(2, np.uint8), compress="yes"), TypeError,
     r"write_idx: compress must be a bool or None"),
    (lambda: load_mnist_like(None, True), TypeError, r"load_mnist_like: root must be a path"),
    (lambda: load_mnist_like(".", True, kind=np.zeros(2)), ValueError,
     r"load_mnist_like: kind=.* must be 'fashion-mnist' or 'mnist'"),
    (lambda: load_mnist_like(".", 1), TypeError, r"load_mnist_like: train must be a bool"),
    (lambda: load_cifar10(1.5, True), TypeError, r"load_cifar10: path must be a path"),
    (lambda: load_cifar100(".", True, label_mode=["fine"]), ValueError,
     r"load_cifar100: label_mode=\['fine'\] must be 'fine' or 'coarse'"),
    (lambda: parse_cifar_records("abc", 1, 0), TypeError,
     r"parse_cifar_records: data must be bytes, got str"),
    (lambda: parse_cifar_records(b"", 0, 0), ValueError,
     r"parse_cifar_records: label_bytes must be positive, got label_bytes=0"),
    (lambda: parse_cifar_records(b"", 1, 1.5), TypeError,
     r"parse_cifar_records: label_index must be an int"),
    (lambda: parse_cifar_records(b"", 2, 2), ValueError,
     r"parse_cifar_records: label_index=2 must be below label_bytes=2"),
    (lambda: dataset_info(["mnist"]), TypeError, r"dataset_info: name must be a str, got list"),
    (lambda: dataset_info("imagenet"), ValueError, r"dataset_info: unknown data set "
                                                   r"name='imagenet'"),
    (lambda: find_dataset_dir("mnist", 3), TypeError,
     r"find_dataset_dir: data must be a path \(a str or an os.PathLike\), got int"),
    (lambda: load_dataset("mnist", True, data=b"x"), TypeError,
     r"load_dataset: data must be a path"),
    (lambda: load_dataset("mnist", "yes"), TypeError, r"load_dataset: train must be a bool"),
]


@pytest.mark.parametrize("call,exc,pattern", DATA_ERRORS, ids=[e[2][:45] for e in DATA_ERRORS])
def test_data_errors(call, exc, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # calls that get as far as writing write here
    with pytest.raises(exc, match=pattern):
        call()
