"""Safe file I/O: atomic writes and a pickle-free container for named arrays.

Every file convscope writes (checkpoints, reports, pictures' data) goes through
`atomic_open`: the bytes go to a temporary file in the target's directory, are flushed and
fsync'ed, and only then `os.replace` puts the file in place. A crash or an exception in the
middle leaves the previous file, if any, exactly as it was and no temporary file behind.

`save_arrays` / `load_arrays` store a dict of NumPy arrays plus a JSON-serialisable `meta`
dict in an ordinary `.npz` archive (one `.npy` member per array, as `np.savez` writes it).
Arbitrary Python objects are never stored or loaded: object arrays are refused on both
sides, and loading uses ``np.load(..., allow_pickle=False)``, so opening a checkpoint from
an untrusted source cannot run code.

Example:
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
    >>> save_arrays(path, {"model/conv1.weight": np.ones((2, 1, 3, 3), np.float32)},
    ...             {"epoch": 3, "lr": 0.01})
    >>> arrays, meta = load_arrays(path)
    >>> arrays["model/conv1.weight"].shape, meta["epoch"]
    ((2, 1, 3, 3), 3)
"""

from __future__ import annotations

import codecs
import contextlib
import json
import os
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import IO, Any

import numpy as np

from ._args import check_bool, check_path, show

__all__ = [
    "META_KEY",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "load_arrays",
    "save_arrays",
]

#: Reserved archive member that holds the JSON-encoded `meta` dict as a uint8 array.
META_KEY = "__convscope_meta__"

_MODES = ("wb", "w", "wt")


def _default_file_mode() -> int:
    """Permissions a plain ``open(path, 'w')`` would give: 0o666 minus the umask."""
    # os.umask can only be read by setting it; put it back at once.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb",
                encoding: str = "utf-8") -> Iterator[IO]:
    """Open `path` for writing so that it is replaced all at once or not at all.

    Writes go to a temporary file in the same directory (so that the final rename stays on
    one file system). When the ``with`` block ends normally the file is flushed, fsync'ed and
    renamed over `path` with `os.replace`; if the block raises, the temporary file is removed,
    any previous `path` is left untouched, and the exception propagates. Missing parent
    directories are created. A new file gets the permissions ``open()`` would give it; a
    replaced file keeps its permissions.

    Args:
        path: the file to write.
        mode: ``'wb'`` (default, binary) or ``'w'`` / ``'wt'`` (text).
        encoding: text encoding for the text modes (default UTF-8).

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "sub", "report.txt")
        >>> with atomic_open(p, "w") as f:
        ...     _ = f.write("hello")
        >>> open(p).read()
        'hello'
    """
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"atomic_open: mode={show(mode)} is not supported, use one of "
                         f"{_MODES}")
    path = check_path(path, func="atomic_open")
    if "b" not in mode:
        if not isinstance(encoding, str):
            raise TypeError(f"atomic_open: encoding must be a str, got "
                            f"encoding={show(encoding)}")
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"atomic_open: unknown encoding={encoding!r}") from None
    if os.path.isdir(path):
        raise IsADirectoryError(f"atomic_open: path={path!r} is a directory")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    try:
        file_mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        file_mode = _default_file_mode()

    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        if mode == "wb":
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding, newline="")
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_open`)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write_bytes: data must be bytes, got {type(data).__name__}")
    path = check_path(path, func="atomic_write_bytes")
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write the string `text` to `path` atomically (see `atomic_open`)."""
    if not isinstance(text, str):
        raise TypeError(f"atomic_write_text: text must be str, got {type(text).__name__}")
    path = check_path(path, func="atomic_write_text")
    with atomic_open(path, "w", encoding=encoding) as f:
        f.write(text)


def _check_arrays(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"save_arrays: arrays must be a dict of name -> array, "
                        f"got {type(arrays).__name__}")
    checked = {}
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise TypeError(f"save_arrays: array names must be str, got {key!r}")
        if key == "" or "\x00" in key:
            raise ValueError(f"save_arrays: array name {key!r} must be non-empty and "
                             f"contain no NUL character")
        if key == META_KEY:
            raise ValueError(f"save_arrays: array name {key!r} is reserved for the metadata")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise ValueError(f"save_arrays: array {key!r} has dtype {array.dtype}, which "
                             f"holds Python objects; only plain numeric/bool/string arrays "
                             f"can be saved")
        checked[key] = array
    return checked


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
                meta: Mapping[str, Any] | None = None, compress: bool = False) -> None:
    """Save named arrays and a JSON-serialisable `meta` dict to an `.npz` file, atomically.

    The file is a standard NumPy `.npz` archive readable with
    ``np.load(path, allow_pickle=False)``: one ``<name>.npy`` member per array, plus the
    reserved member `META_KEY` holding ``json.dumps(meta)`` as UTF-8 bytes in a uint8 array.

    Args:
        path: the file to write (replaced atomically; parent directories are created).
        arrays: name -> array. Names may contain dots and slashes
            (``"model/conv1.weight"``). Object arrays are refused.
        meta: a dict of JSON-serialisable values (nested dicts/lists, numbers, strings,
            bools, None). Default: ``{}``.
        compress: deflate the members (smaller, slower) instead of storing them.

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> save_arrays(p, {"w": np.arange(3)}, {"step": 1})
        >>> load_arrays(p)[1]
        {'step': 1}
    """
    path = check_path(path, func="save_arrays")
    checked = _check_arrays(arrays)
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"save_arrays: meta must be a dict, got {type(meta).__name__}")
    try:
        meta_json = json.dumps(dict(meta))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save_arrays: meta must be JSON-serialisable: {exc}") from None
    checked[META_KEY] = np.frombuffer(meta_json.encode("utf-8"), dtype=np.uint8)

    compress = check_bool(compress, func="save_arrays", arg="compress")
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    # Written member by member as np.savez does, which also lets names like "file" through.
    with atomic_open(path, "wb") as f:
        with zipfile.ZipFile(f, mode="w", compression=compression, allowZip64=True) as zf:
            for key, array in checked.items():
                with zf.open(key + ".npy", mode="w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)


# What numpy and zipfile raise on a damaged archive, besides ValueError.
_CORRUPT_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, zlib.error, struct.error,
                   KeyError, OSError)


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load a file written by `save_arrays`; return ``(arrays, meta)``.

    Never unpickles: any member that would need it (an object array) makes the load fail.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not an `.npz` archive, is truncated or corrupt, holds an
            object array, or lacks valid metadata; the message names the file and the fault.

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> save_arrays(p, {"b/c.d": np.zeros(2)}, {"x": [1, 2]})
        >>> arrays, meta = load_arrays(p)
        >>> sorted(arrays), meta
        (['b/c.d'], {'x': [1, 2]})
    """
    path = check_path(path, func="load_arrays")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_arrays: {path}: no such file")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load_arrays: {path}: is a directory, not an .npz file")
    where = f"load_arrays: {path}"
    try:
        loaded = np.load(path, allow_pickle=False)
    except PermissionError:
        raise
    except _CORRUPT_ERRORS as exc:
        raise ValueError(f"{where}: not a readable .npz archive (truncated or corrupt?): "
                         f"{type(exc).__name__}: {exc}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{where}: is a single .npy array, not an .npz archive written by "
                         f"save_arrays")
    arrays = {}
    with loaded:
        for key in loaded.files:
            try:
                arrays[key] = loaded[key]
            except _CORRUPT_ERRORS as exc:
                if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                    raise ValueError(f"{where}: member {key!r} is an object array, which "
                                     f"could run code when loaded; refusing it") from None
                raise ValueError(f"{where}: member {key!r} is unreadable (truncated or "
                                 f"corrupt?): {type(exc).__name__}: {exc}") from None
    if META_KEY not in arrays:
        raise ValueError(f"{where}: no metadata member {META_KEY!r}; not a file written by "
                         f"save_arrays")
    raw = arrays.pop(META_KEY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ValueError(f"{where}: metadata member {META_KEY!r} must be a 1-d uint8 array, "
                         f"got dtype {raw.dtype} shape {raw.shape}")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{where}: metadata is not valid UTF-8 JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{where}: metadata must be a JSON object, got "
                         f"{type(meta).__name__}")
    return arrays, meta
