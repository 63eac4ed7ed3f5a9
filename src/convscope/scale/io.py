"""Reading inputs too large to load and writing results block by block: .npy, Zarr, images.

A `.npy` file is opened with a memory map *inside each task* (`NpyFile`): handing a memmap
to `dask.array.from_array` would copy the whole file into the graph. Results are written
the same way, each task into its own region of a memory-mapped `.npy`, or of a Zarr array
whose chunks are the Dask chunks (one writer per Zarr chunk, no locks). Both go to a
temporary name next to the target and are renamed into place when complete.
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np

from .._optional import require

__all__ = ["NpyFile", "read_array", "read_image", "read_image_folder", "write_array",
           "write_npy", "write_zarr", "compute", "IMAGE_SUFFIXES", "MAX_PIXELS"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")


class NpyFile:
    """A .npy file as an array-like that Dask slices: each `__getitem__` opens the file
    with a memory map, copies the slice out and closes it. Small to send to a worker."""

    def __init__(self, path):
        self.path = os.path.abspath(os.fspath(path))
        try:
            data = np.load(self.path, mmap_mode="r")  # reads the header only
        except ValueError as exc:
            raise ValueError(f"read_array: {self.path} is not a readable .npy file of "
                             f"numbers ({exc})") from None
        if not isinstance(data, np.ndarray):
            raise ValueError(f"read_array: {self.path} is not a .npy file")
        shape, dtype = data.shape, data.dtype
        del data
        if dtype.hasobject:
            raise ValueError(f"read_array: {self.path} holds Python objects (dtype {dtype}); "
                             f"only numeric arrays are read (no pickle)")
        self.shape, self.dtype, self.ndim = tuple(shape), np.dtype(dtype), len(shape)
        self.mtime = os.stat(self.path).st_mtime_ns

    def __getitem__(self, index):
        data = np.load(self.path, mmap_mode="r")
        try:
            return np.array(data[index])
        finally:
            del data


class _NpyTarget:
    """A .npy file that Dask's `store` writes into, region by region, through a memmap
    opened in the task."""

    def __init__(self, path):
        self.path = path

    def __setitem__(self, index, value):
        data = np.load(self.path, mmap_mode="r+")
        data[index] = value
        data.flush()
        del data


def _is_zarr(path: str) -> bool:
    return path.rstrip("/").endswith(".zarr") or (os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, name)) for name in ("zarr.json", ".zarray")))


# The most pixels `read_image` loads unless told otherwise (width x height; about 4 GB per
# channel as float32). Pillow's own guard, PIL.Image.MAX_IMAGE_PIXELS, applies too: it is
# the user's process-wide setting, which convscope reads and never changes.
MAX_PIXELS = 1 << 30

_EIGHT_BIT = ("L", "LA", "RGB", "RGBA")
# modes Pillow converts exactly to 8-bit L / LA / RGB / RGBA (CMYK: Pillow's plain
# conversion, 255 - C etc., without a colour profile)
_CONVERT = {"CMYK": "RGB", "YCbCr": "RGB", "HSV": "RGB", "RGBX": "RGB", "RGBa": "RGBA",
            "La": "LA", "BGR;15": "RGB", "BGR;16": "RGB", "BGR;24": "RGB"}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def read_image(path, max_pixels: int | None = None) -> np.ndarray:
    """An image file as (C, H, W) float32 with its colours on the 0..1 scale.

    Every kind of pixel is scaled alike: 8-bit values / 255, 16-bit ones (16-bit PNG and
    TIFF, modes I;16*) / 65535, 1-bit ones as 0 or 1. Grey images have C = 1, grey + alpha
    C = 2, colour C = 3, colour + alpha C = 4. A palette image (every GIF) is read as its
    colours (grey when its palette is all grey; with alpha when it has a transparent
    colour); CMYK, YCbCr and HSV as RGB. Floating-point images (mode F: float TIFF) are read
    as stored, taken to be on the 0..1 scale already. 32-bit integer images (whose full
    scale is unknown) and LAB are refused by name. A multi-frame file gives its first frame.

    Args:
        path: the image file.
        max_pixels: the most pixels (width x height) to load; default `MAX_PIXELS`. The size
            is checked from the header, before any pixel is decoded.
    """
    Image = require("PIL.Image", "read_image", extra="scale")
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"read_image: max_pixels must be a positive int, got "
                         f"max_pixels={max_pixels!r}")
    try:
        with Image.open(path) as image:  # lazy: reads the header only
            width, height = image.size
            if width * height > limit:
                raise ValueError(f"read_image: {path} has {width} x {height} = "
                                 f"{width * height:,} pixels, more than the limit "
                                 f"max_pixels={limit:,}; pass a larger max_pixels if you "
                                 f"trust the file")
            array = _pixels(image, path)
    except Image.DecompressionBombError as exc:
        raise ValueError(f"read_image: Pillow refuses {path} as too large ({exc}); its "
                         f"process-wide limit is PIL.Image.MAX_IMAGE_PIXELS (convscope "
                         f"leaves it as you set it), or store the image as .npy or Zarr"
                         ) from None
    except OSError as exc:
        raise ValueError(f"read_image: cannot read {path} as an image ({exc})") from None
    return array[None] if array.ndim == 2 else np.ascontiguousarray(np.moveaxis(array, -1, 0))


def _pixels(image, path) -> np.ndarray:
    """The pixels of an open Pillow image as (H, W) or (H, W, C) float32 on the 0..1 scale."""
    mode = image.mode
    if mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in image.info
        palette = np.asarray(image.getpalette("RGB") or [0, 0, 0], np.uint8).reshape(-1, 3)
        colours = np.asarray(image.convert("RGBA" if alpha else "RGB"))
        if (palette == palette[:, :1]).all():  # a grey palette: grey (+ alpha)
            colours = colours[..., [0, 3]] if alpha else colours[..., 0]
        return colours.astype(np.float32) / 255
    if mode in _CONVERT:
        image, mode = image.convert(_CONVERT[mode]), _CONVERT[mode]
    if mode in _EIGHT_BIT:
        return np.asarray(image).astype(np.float32) / 255
    if mode == "1":
        return np.asarray(image).astype(np.float32)
    if mode in _SIXTEEN_BIT or (mode == "I" and image.format == "PNG"):  # PNG: <= 16 bits
        return np.asarray(image).astype(np.float32) / 65535
    if mode == "F":
        return np.asarray(image).astype(np.float32)
    why = {"I": "32-bit integer pixels, whose full scale is unknown",
           "LAB": "CIELAB colours, which need a colour-managed conversion to RGB"}.get(
        mode, "a kind of pixel convscope does not read")
    raise ValueError(f"read_image: {path} has Pillow mode {mode!r} ({why}); save it as an "
                     f"8- or 16-bit PNG or TIFF, or as .npy")


def read_image_folder(folder, batch_size: int = 256):
    """The image files of a folder (sorted by name) as a Dask array (N, C, H, W), loaded a
    batch per task; every image must have the same shape. Returns (array, file names)."""
    dask = require("dask", "read_image_folder")
    da = require("dask.array", "read_image_folder")
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"read_image_folder: no folder {folder}")
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))
    if not names:
        raise ValueError(f"read_image_folder: {folder} holds no image files "
                         f"({', '.join(IMAGE_SUFFIXES)})")
    first = read_image(os.path.join(folder, names[0]))
    batches = []
    for i in range(0, len(names), batch_size):
        paths = [os.path.join(folder, f) for f in names[i:i + batch_size]]
        load = dask.delayed(_load_batch, pure=True)(paths, first.shape)
        batches.append(da.from_delayed(load, (len(paths), *first.shape), dtype=np.float32))
    return da.concatenate(batches, axis=0), names


def _load_batch(paths, shape) -> np.ndarray:
    out = np.empty((len(paths), *shape), np.float32)
    for i, path in enumerate(paths):
        image = read_image(path)
        if image.shape != tuple(shape):
            raise ValueError(f"read_image_folder: {path} has shape {image.shape}, the "
                             f"folder's first image {tuple(shape)}; resize them alike")
        out[i] = image
    return out


def read_array(path, chunks="auto", max_pixels: int | None = None):
    """A lazy Dask array from a .npy file (memory-mapped in each task), a Zarr array or an
    image file (read whole by `read_image`, as (C, H, W) float32 on the 0..1 scale, at
    most `max_pixels`)."""
    da = require("dask.array", "read_array")
    tokenize = require("dask.base", "read_array").tokenize
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"read_array: no such file or folder: {path}")
    if _is_zarr(path):
        require("zarr", "read_array (reading Zarr)")
        return da.from_zarr(path, chunks=chunks if chunks != "auto" else None)
    if path.lower().endswith(".npy"):
        source = NpyFile(path)
        name = "npy-" + tokenize(source.path, source.mtime, source.shape, str(source.dtype))
        return da.from_array(source, chunks=chunks, name=name,
                             meta=np.empty((0,) * source.ndim, source.dtype))
    if path.lower().endswith(IMAGE_SUFFIXES):
        return da.from_array(read_image(path, max_pixels), chunks=chunks)
    raise ValueError(f"read_array: {path} is not a .npy file, a Zarr array (.zarr) or an "
                     f"image ({', '.join(IMAGE_SUFFIXES)})")


def compute(obj, client=None, progress: bool = False):
    """Compute a Dask collection on `client` (distributed), else on the scheduler the user
    configured (`dask.config.set(scheduler=...)`, or a default distributed Client), else
    on Dask's local threads; with a progress bar on stderr when `progress` is True."""
    dask = require("dask", "compute")
    if client is not None:
        future = client.compute(obj)
        if progress:
            require("distributed", "compute").progress(future)
            print(file=sys.stderr)
        return future.result()
    # the user's choice wins; threads (not Dask's default for a delayed) otherwise
    scheduler = {} if dask.config.get("scheduler", None) is not None else {
        "scheduler": "threads"}
    if progress:
        ProgressBar = require("dask.diagnostics", "compute").ProgressBar
        with ProgressBar(out=sys.stderr, dt=0.5):
            return dask.compute(obj, **scheduler)[0]
    return dask.compute(obj, **scheduler)[0]


def _temporary(path: str) -> str:
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}")


def _replace(tmp: str, path: str) -> None:
    """Move tmp onto path; an existing folder is swapped out first, then removed."""
    if os.path.isdir(path) and not os.path.islink(path):
        old = _temporary(path) + ".old"
        os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, path)


def _remove(tmp: str) -> None:
    if os.path.isdir(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
    elif os.path.exists(tmp):
        os.remove(tmp)


def write_npy(x, path, client=None, progress: bool = False) -> str:
    """Write a Dask array into a .npy file, each task into its region of a memory map."""
    da = require("dask.array", "write_npy")
    path = os.fspath(path)
    tmp = _temporary(path)
    try:
        header = np.lib.format.open_memmap(tmp, mode="w+", dtype=x.dtype, shape=x.shape)
        del header
        compute(da.store(x, _NpyTarget(tmp), lock=False, compute=False), client, progress)
        _replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def write_zarr(x, path, client=None, progress: bool = False) -> str:
    """Write a Dask array into a Zarr array whose chunks are the Dask chunks.

    The Zarr chunk of an axis is the first Dask chunk; each Dask chunk must then start at a
    multiple of it (the last may be longer: `apply_tiled` merges a short last block) so that
    every Zarr chunk has one writer. Otherwise the axis is rechunked first.
    """
    da = require("dask.array", "write_zarr")
    zarr = require("zarr", "write_zarr")
    path = os.fspath(path)
    fixed = {}
    for axis, sizes in enumerate(x.chunks):
        starts = np.cumsum((0,) + sizes[:-1])
        if any(s % sizes[0] for s in starts):
            fixed[axis] = sizes[0]
    if fixed:
        x = x.rechunk(fixed)
    chunk_shape = tuple(max(c[0], 1) for c in x.chunks)
    tmp = _temporary(path)
    try:
        target = zarr.open_array(store=tmp, mode="w", shape=x.shape, chunks=chunk_shape,
                                 dtype=x.dtype)
        compute(da.store(x, target, lock=False, compute=False), client, progress)
        _replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def write_array(x, path, client=None, progress: bool = False) -> str:
    """Write a Dask array to `path`: a .npy file or a Zarr array (a path ending in .zarr),
    on `client` or as `compute` says; a progress bar on stderr only when `progress`."""
    path = os.fspath(path)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise FileNotFoundError(f"write_array: the folder {parent} does not exist")
    if path.lower().endswith(".npy"):
        return write_npy(x, path, client, progress)
    if path.rstrip("/").lower().endswith(".zarr"):
        return write_zarr(x, path, client, progress)
    raise ValueError(f"write_array: the output must end in .npy or .zarr, got {path}")
