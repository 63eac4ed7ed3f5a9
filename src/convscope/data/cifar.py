"""CIFAR-10 and CIFAR-100 readers for the *binary* distribution.

The binary version is a sequence of fixed-size records: the label byte(s), then a 32x32
colour image as 3072 bytes (1024 red, 1024 green, 1024 blue, each row-major):

- CIFAR-10 (``cifar-10-binary.tar.gz``, folder ``cifar-10-batches-bin``): 1 label byte,
  3073-byte records, training set ``data_batch_1.bin`` .. ``data_batch_5.bin``, test set
  ``test_batch.bin``.
- CIFAR-100 (``cifar-100-binary.tar.gz``, folder ``cifar-100-binary``): 2 label bytes
  (coarse, fine), 3074-byte records, ``train.bin`` and ``test.bin``.

The Python version (``cifar-10-python.tar.gz``) stores pickles; convscope never reads it,
because unpickling a downloaded file can run arbitrary code. Download the binary version.

Members are read straight out of the tar archive, without extracting it to disk.
"""

from __future__ import annotations

import os
import tarfile
import zlib

import numpy as np

from .._args import check_int, check_path

__all__ = ["load_cifar10", "load_cifar100", "parse_cifar_records"]

_IMAGE_BYTES = 3 * 32 * 32

#: The file layout of each CIFAR data set (also used by `datasets` to find them).
SPECS = {
    "cifar10": {
        "title": "CIFAR-10",
        "tar": "cifar-10-binary.tar.gz",
        "folder": "cifar-10-batches-bin",
        "python": ("cifar-10-python.tar.gz", "cifar-10-batches-py"),
        True: [f"data_batch_{i}.bin" for i in range(1, 6)],
        False: ["test_batch.bin"],
        "label_bytes": 1,
    },
    "cifar100": {
        "title": "CIFAR-100",
        "tar": "cifar-100-binary.tar.gz",
        "folder": "cifar-100-binary",
        "python": ("cifar-100-python.tar.gz", "cifar-100-python"),
        True: ["train.bin"],
        False: ["test.bin"],
        "label_bytes": 2,
    },
}


def parse_cifar_records(data: bytes, label_bytes: int, label_index: int,
                        source: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Split CIFAR binary records into images (N, 3, 32, 32) uint8 and labels (N,) int64.

    Args:
        data: the concatenated records.
        label_bytes: 1 for CIFAR-10, 2 for CIFAR-100.
        label_index: which label byte to return (CIFAR-100: 0 coarse, 1 fine).
        source: names the data in error messages.
    """
    who = "parse_cifar_records"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{who}: data must be bytes, got {type(data).__name__}")
    label_bytes = check_int(label_bytes, func=who, arg="label_bytes")
    label_index = check_int(label_index, func=who, arg="label_index", minimum=0)
    if label_index >= label_bytes:
        raise ValueError(f"{who}: label_index={label_index} must be below "
                         f"label_bytes={label_bytes}")
    record = label_bytes + _IMAGE_BYTES
    if len(data) % record:
        raise ValueError(f"parse_cifar_records: {source}: {len(data)} bytes is not a multiple "
                         f"of the {record}-byte record ({label_bytes} label byte(s) + "
                         f"{_IMAGE_BYTES} image bytes); truncated, or not this data set?")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = records[:, label_index].astype(np.int64)
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return images, labels


def _python_version_error(who: str, path: str, spec: dict) -> ValueError:
    return ValueError(
        f"{who}: {path} is the Python (pickle) version of {spec['title']}, which convscope "
        f"never loads (unpickling a downloaded file can run code); download the binary "
        f"version {spec['tar']} instead")


def _read_members(who: str, path: str, spec: dict, names: list[str]) -> dict[str, bytes]:
    """The named `.bin` files' bytes from a tar archive, from a folder, or a folder's folder."""
    if os.path.basename(path) in spec["python"]:
        raise _python_version_error(who, path, spec)
    if os.path.isfile(path):
        return _read_tar(who, path, spec, names)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{who}: {path}: no such file or directory")
    places = [path, os.path.join(path, spec["folder"])]
    for place in places:
        if all(os.path.isfile(os.path.join(place, n)) for n in names):
            out = {}
            for n in names:
                with open(os.path.join(place, n), "rb") as f:
                    out[n] = f.read()
            return out
    tar = os.path.join(path, spec["tar"])
    if os.path.isfile(tar):
        return _read_tar(who, tar, spec, names)
    for python_name in spec["python"]:
        if os.path.exists(os.path.join(path, python_name)):
            raise _python_version_error(who, os.path.join(path, python_name), spec)
    raise FileNotFoundError(
        f"{who}: no {spec['title']} binary files in {path}: looked for {', '.join(names)} in "
        f"{' and '.join(places)}, and for {tar}")


def _read_tar(who: str, path: str, spec: dict, names: list[str]) -> dict[str, bytes]:
    out = {}
    try:
        # Walk the archive once, in order: seeking back in a gzip stream decompresses again.
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                base = os.path.basename(member.name)
                if member.isfile() and base in names and base not in out:
                    out[base] = tar.extractfile(member).read()
                elif base in ("batches.meta", "data_batch_1", "meta"):
                    raise _python_version_error(who, path, spec)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{who}: {path}: not a readable tar archive (truncated or "
                         f"corrupt?): {exc}") from None
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"{who}: {path}: the archive has no member {', '.join(missing)} "
                         f"(expected {spec['folder']}/<name>)")
    return out


def _load(who: str, kind: str, path, train: bool, label_index: int, num_classes: int):
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"{who}: train must be a bool, got {train!r}")
    spec = SPECS[kind]
    path = check_path(path, func=who)
    names = spec[bool(train)]
    members = _read_members(who, path, spec, names)
    images, labels = [], []
    for name in names:
        source = f"{path}:{name}" if os.path.isfile(path) else name
        x, y = parse_cifar_records(members[name], spec["label_bytes"], label_index, source)
        if y.size and y.max() >= num_classes:
            raise ValueError(f"{who}: {source}: label {int(y.max())} is out of range "
                             f"0..{num_classes - 1}; not a {spec['title']} file?")
        images.append(x)
        labels.append(y)
    if len(images) == 1:
        return images[0], labels[0]
    return np.concatenate(images), np.concatenate(labels)


def load_cifar10(path: str | os.PathLike, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-10 from its binary distribution.

    Args:
        path: ``cifar-10-binary.tar.gz``, a folder holding it, the extracted
            ``cifar-10-batches-bin`` folder, or the folder above that.
        train: the 50000-image training set (the five data batches) or the 10000-image
            test set.

    Returns:
        ``(images, labels)``: uint8 (N, 3, 32, 32) and int64 (N,) in 0..9.

    Raises:
        ValueError: for the Python (pickle) version, a file whose length is not a multiple
            of 3073 bytes, or a damaged archive; the message names the file.
    """
    return _load("load_cifar10", "cifar10", path, train, label_index=0, num_classes=10)


def load_cifar100(path: str | os.PathLike, train: bool,
                  label_mode: str = "fine") -> tuple[np.ndarray, np.ndarray]:
    """Load CIFAR-100 from its binary distribution.

    Args:
        path: ``cifar-100-binary.tar.gz``, a folder holding it, the extracted
            ``cifar-100-binary`` folder, or the folder above that.
        train: ``train.bin`` (50000 images) or ``test.bin`` (10000 images).
        label_mode: 'fine' (100 classes, default) or 'coarse' (20 superclasses).

    Returns:
        ``(images, labels)``: uint8 (N, 3, 32, 32) and int64 (N,).
    """
    if not isinstance(label_mode, str) or label_mode not in ("fine", "coarse"):
        raise ValueError(f"load_cifar100: label_mode={label_mode!r} must be 'fine' or "
                         f"'coarse'")
    fine = label_mode == "fine"
    return _load("load_cifar100", "cifar100", path, train, label_index=1 if fine else 0,
                 num_classes=100 if fine else 20)
