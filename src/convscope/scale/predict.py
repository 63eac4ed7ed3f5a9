"""`predict`: a whole model (classifier head included) over many images, a batch per task."""

from __future__ import annotations

import os

import numpy as np

from .._optional import require
from ..autograd import Tensor, no_grad

__all__ = ["predict"]


def _forward(x, model=None, cast=None):
    with no_grad():
        y = model(np.asarray(x, dtype=cast))
    return y.data if isinstance(y, Tensor) else y


def _check_eval(model, func: str) -> None:
    training = [name for name, m in model.named_modules() if m.training and (
        type(m).__name__.startswith(("BatchNorm", "Dropout")))]
    if training:
        raise ValueError(f"{func}: layer {training[0]!r} of the model is in training mode "
                         f"(batch statistics or random dropout would change the answers "
                         f"with the batching); call model.eval() first")


def predict(model, images, batch_size: int = 256, client=None, out=None,
            progress: bool = False):
    """Run `model` over many images, `batch_size` images per task.

    Args:
        model: any convscope nn.Module in eval mode (e.g. a trained classifier).
        images: a Dask or NumPy array (N, C, *spatial), or a folder of image files (same
            size; read as float32 in [0, 1], see `io.read_image_folder`).
        batch_size: images per task (default 256).
        client: a distributed.Client: the model goes to its workers once (scattered), and
            `out` is written there. Without it: Dask's local threads.
        out: if given, a .npy or .zarr path the result is written to (atomically).
        progress: with `out`, a progress bar on stderr while writing (default: none).

    Returns:
        A lazy Dask array (N, *output_shape), one chunk per batch; or, with `out`, the path.

    Example:
        >>> import numpy as np
        >>> from convscope import models
        >>> model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0)).eval()
        >>> x = np.zeros((10, 1, 28, 28), np.float32)
        >>> scores = predict(model, x, batch_size=4)
        >>> scores.shape, scores.chunks[0]
        ((10, 10), (4, 4, 2))
    """
    from . import io
    da = require("dask.array", "predict")

    func = "predict"
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"{func}: batch_size must be a positive int, got "
                         f"batch_size={batch_size!r}")
    _check_eval(model, func)
    if isinstance(images, (str, os.PathLike)):
        images, _ = io.read_image_folder(images, batch_size)
    elif not hasattr(images, "ndim") or not hasattr(images, "shape"):
        raise TypeError(f"{func}: images must be a Dask or NumPy array (N, C, *spatial) or a "
                        f"folder of images, got {type(images).__name__}")
    if images.ndim < 3:
        raise ValueError(f"{func}: images must be (N, C, *spatial), got shape "
                         f"{tuple(images.shape)}")
    x = images if isinstance(images, da.Array) else da.from_array(images, chunks=-1)
    x = x.rechunk((batch_size,) + (-1,) * (x.ndim - 1))
    dtype = next((p.data.dtype for p in model.parameters()), np.dtype(np.float32))
    probe = _forward(np.zeros((1,) + x.shape[1:], dtype), model, dtype)
    shape = probe.shape[1:]
    chunks = (x.chunks[0],) + tuple((s,) for s in shape)
    extra = {}
    if len(shape) + 1 < x.ndim:
        extra["drop_axis"] = list(range(len(shape) + 1, x.ndim))
    elif len(shape) + 1 > x.ndim:
        extra["new_axis"] = list(range(x.ndim, len(shape) + 1))
    if client is not None:
        [model] = client.scatter([model], broadcast=True)
    y = da.map_blocks(_forward, x, chunks=chunks, dtype=probe.dtype,
                      meta=np.empty((0,) * (len(shape) + 1), probe.dtype), model=model,
                      cast=dtype, **extra)
    if out is not None:
        return io.write_array(y, out, client, progress)
    return y
