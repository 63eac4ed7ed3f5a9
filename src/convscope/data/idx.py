"""The IDX file format of MNIST and Fashion-MNIST: reader, writer, and the four-file layout.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then `ndim`
big-endian uint32 sizes, then the data in C order, big-endian. The dtype codes are
``0x08`` ubyte, ``0x09`` signed byte, ``0x0B`` short (int16), ``0x0C`` int (int32),
``0x0D`` float (float32) and ``0x0E`` double (float64). The files are usually gzipped;
`read_idx` recognises gzip by its magic bytes ``1f 8b``, whatever the file is called.

Example:
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(p, np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx(p)
    array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from .._args import check_path
from ..io import atomic_write_bytes

__all__ = ["IDX_DTYPES", "load_mnist_like", "mnist_file", "read_idx", "write_idx"]

#: IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_NAMES = {0x08: "ubyte", 0x09: "byte", 0x0B: "short", 0x0C: "int", 0x0D: "float",
               0x0E: "double"}
_KNOWN_CODES = ", ".join(f"0x{code:02X} {name}" for code, name in _CODE_NAMES.items())
_GZIP_MAGIC = b"\x1f\x8b"


def _read_maybe_gzip(path: str, who: str) -> bytes:
    """The file's bytes, gunzipped if it starts with the gzip magic bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{who}: {path}: gzip data is truncated or corrupt: {exc}") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzipped) into an array in native byte order.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``. Gzip is detected from the
            content (magic bytes ``1f 8b``), not from the name.

    Returns:
        A writable array with the declared shape and the dtype of the IDX dtype code
        (uint8, int8, int16, int32, float32 or float64).

    Raises:
        ValueError: bad magic number, unknown dtype code, truncated header, or a data length
            other than the one the header declares; the message names the file.

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x-idx2-double")
        >>> write_idx(p, np.eye(2))
        >>> read_idx(p)
        array([[1., 0.],
               [0., 1.]])
    """
    who = "read_idx"
    path = check_path(path, func=who)
    data = _read_maybe_gzip(path, who)
    if len(data) < 4:
        raise ValueError(f"{who}: {path}: {len(data)} bytes is too short for an IDX header "
                         f"(4-byte magic number)")
    magic = int.from_bytes(data[:4], "big")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0:
        raise ValueError(f"{who}: {path}: bad magic number 0x{magic:08X}: an IDX file starts "
                         f"with 0x00 0x00, a dtype code and the number of dimensions "
                         f"(is this an IDX file?)")
    if code not in IDX_DTYPES:
        raise ValueError(f"{who}: {path}: bad magic number 0x{magic:08X}: unknown IDX dtype "
                         f"code 0x{code:02X} (known: {_KNOWN_CODES})")
    if ndim == 0:
        raise ValueError(f"{who}: {path}: bad magic number 0x{magic:08X}: zero dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{who}: {path}: header declares {ndim} dimensions "
                         f"({header} header bytes), but the file has only {len(data)} bytes")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        dims = "x".join(str(s) for s in shape)
        each = "" if dtype.itemsize == 1 else f" {_CODE_NAMES[code]}s of {dtype.itemsize} bytes"
        raise ValueError(f"{who}: {path}: declared {dims}{each} = {expected} bytes of data, "
                         f"found {found}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    # One copy: to native byte order, and writable (frombuffer over bytes is read-only).
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write `array` as an IDX file, atomically.

    Args:
        path: the file to write; parent directories are created.
        array: dtype uint8, int8, int16, int32, float32 or float64 (any byte order), with
            1 to 255 dimensions each below 2**32.
        compress: gzip the file. Default (None): gzip when `path` ends with ``.gz``.
    """
    who = "write_idx"
    path = check_path(path, func=who)
    if compress is not None and not isinstance(compress, (bool, np.bool_)):
        raise TypeError(f"{who}: compress must be a bool or None, got compress={compress!r}")
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{who}: array must be a NumPy array, got {type(array).__name__}")
    native = {np.dtype(d).newbyteorder("="): code for code, d in IDX_DTYPES.items()}
    dtype = array.dtype.newbyteorder("=")
    if dtype not in native:
        raise ValueError(f"{who}: array dtype {array.dtype} has no IDX code; use uint8, int8, "
                         f"int16, int32, float32 or float64")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"{who}: array must have 1 to 255 dimensions, got shape {array.shape}")
    if any(s >= 2**32 for s in array.shape):
        raise ValueError(f"{who}: every dimension must be below 2**32, got shape {array.shape}")
    code = native[dtype]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)


# File names of the four MNIST files, with the variants that mirrors use.
_MNIST_STEMS = {
    (True, "images"): ["train-images-idx3-ubyte", "train-images.idx3-ubyte"],
    (True, "labels"): ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"],
    (False, "images"): ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"],
    (False, "labels"): ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"],
}


def mnist_file(root: str | os.PathLike, train: bool, what: str) -> str | None:
    """Path of the MNIST-layout `what` ('images' or 'labels') file in `root`, or None."""
    for stem in _MNIST_STEMS[(bool(train), what)]:
        for name in (stem + ".gz", stem):
            candidate = os.path.join(os.fspath(root), name)
            if os.path.isfile(candidate):
                return candidate
    return None


def load_mnist_like(root: str | os.PathLike, train: bool,
                    kind: str = "fashion-mnist") -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST or Fashion-MNIST from the IDX files in `root`.

    Looks for ``train-images-idx3-ubyte[.gz]`` and ``train-labels-idx1-ubyte[.gz]`` (or the
    ``t10k-`` pair when `train` is False) directly in `root`.

    Args:
        root: directory holding the IDX files.
        train: the 60000-image training set (True) or the 10000-image test set (False).
        kind: 'fashion-mnist' or 'mnist'; both use the same layout, it only names the data
            set in messages.

    Returns:
        ``(images, labels)``: uint8 of shape (N, 28, 28) and int64 of shape (N,).

    Raises:
        FileNotFoundError: a file is missing. ValueError: a malformed file, or image and label
        counts that disagree.
    """
    who = "load_mnist_like"
    root = check_path(root, func=who, arg="root")
    if not isinstance(kind, str) or kind not in ("fashion-mnist", "mnist"):
        raise ValueError(f"{who}: kind={kind!r} must be 'fashion-mnist' or 'mnist'")
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"{who}: train must be a bool, got {train!r}")
    files = {}
    for what in ("images", "labels"):
        found = mnist_file(root, train, what)
        if found is None:
            names = " or ".join(s + "[.gz]" for s in _MNIST_STEMS[(bool(train), what)])
            raise FileNotFoundError(f"{who}: no {kind} {what} file in {os.fspath(root)}: "
                                    f"looked for {names}")
        files[what] = found
    images, labels = read_idx(files["images"]), read_idx(files["labels"])
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{who}: {files['images']}: expected uint8 images of shape "
                         f"(N, H, W), got {images.dtype} of shape {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{who}: {files['labels']}: expected uint8 labels of shape (N,), "
                         f"got {labels.dtype} of shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{who}: {len(images)} images in {files['images']} but "
                         f"{len(labels)} labels in {files['labels']}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{who}: {files['labels']}: labels must be 0..9, found "
                         f"{int(labels.max())}")
    return images, labels.astype(np.int64)
