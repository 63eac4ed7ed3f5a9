"""Top patches: the images that excite one channel most, cropped to what the unit sees.

For a channel of a layer, `top_patches` runs every image, takes the channel's largest
activation in each (one patch per image), keeps the k images with the largest values, and
crops each to the theoretical receptive field of the winning unit (`arith` through
`convscope.summary`). Where the field reaches past the image border the patch holds NaN,
drawn as padding (lilac) by `plot_top_patches`.

Example:
    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))
    >>> x = np.random.default_rng(0).normal(size=(20, 1, 8, 8)).astype(np.float32)
    >>> top = top_patches(model, x, layer="0", channel=1, k=4)
    >>> top.patches.shape, bool(np.all(np.diff(top.values) <= 0))
    ((4, 1, 3, 3), True)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..display import png_bytes
from ._common import (check_channel, check_images, finish, geometry, inspecting, new_figure,
                      resolve_layer, run_to, with_padding)
from ._common import progress_bar

__all__ = ["TopPatches", "plot_top_patches", "top_patches"]


@dataclass
class TopPatches:
    """What `top_patches` computes.

    Attributes:
        layer, channel: the channel shown.
        indices: (k,) indices of the images, strongest first.
        values: (k,) their largest activation in the channel.
        units: (k, ndim) the position of that activation in the layer's output.
        patches: (k, C, *field_size) the input inside the unit's theoretical field, NaN in
            the padding.
        labels: (k,) the images' classes, or None.
        field_size: the theoretical receptive field r per axis.
        value_range: (lo, hi) of the images, for drawing every patch on one scale.
        classes: class names, or None.
    """

    layer: str
    channel: int
    indices: np.ndarray
    values: np.ndarray
    units: np.ndarray
    patches: np.ndarray
    labels: np.ndarray | None
    field_size: tuple
    value_range: tuple
    classes: tuple | None = None

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_top_patches`) inline."""
        return png_bytes(plot_top_patches(self))

    def to_dict(self) -> dict:
        return {"layer": self.layer, "channel": self.channel,
                "field_size": list(self.field_size),
                "indices": [int(i) for i in self.indices],
                "values": [round(float(v), 4) for v in self.values],
                "units": [list(map(int, u)) for u in self.units],
                "labels": None if self.labels is None else [int(v) for v in self.labels]}


def top_patches(model, images, layer: str | None = None, channel: int = 0, k: int = 9,
                labels=None, classes=None, batch_size: int = 500,
                progress: bool = False) -> TopPatches:
    """The k images whose largest activation in `channel` of `layer` is largest, each
    cropped to the receptive field of the unit where that activation sits.

    Args:
        model: a convscope `nn.Module` (run in evaluation mode).
        images: (N, C, H, W) model inputs (e.g. the normalised test set).
        layer: a module name (default: the last convolution).
        channel: the output channel.
        k: how many images (at most N).
        labels: (N,) classes of the images, shown under the patches (optional).
        classes: class names for the labels (optional).
        batch_size: images per forward pass.
        progress: show a progress bar on stderr.
    """
    func = "top_patches"
    x = check_images(func, images)
    layer = resolve_layer(func, model, layer, "last")
    geo = geometry(model, x.shape[1:], layer, func)
    if geo.field is None or len(geo.output_shape) != x.ndim - 1:
        raise ValueError(f"{func}: layer {layer!r} has no receptive field (output "
                         f"{geo.output_shape}); choose a convolution or pooling layer")
    channel = check_channel(func, channel, geo.output_shape[0], layer)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{func}: k must be a positive int, got k={k!r}")
    k = min(int(k), len(x))
    best = np.empty(len(x))
    where = np.empty(len(x), dtype=np.int64)
    bar = progress_bar(progress, len(x), f"channel {channel} of layer {layer}", "image")
    with inspecting(model) as view:
        for start in range(0, len(x), batch_size):
            a = run_to(view, x[start:start + batch_size], [layer])[layer].data[:, channel]
            bar.update(len(a))
            flat = a.reshape(len(a), -1)
            where[start:start + len(a)] = flat.argmax(axis=1)
            best[start:start + len(a)] = flat.max(axis=1)
    bar.close()
    indices = np.argsort(-best, kind="stable")[:k]
    spatial = geo.output_shape[1:]
    units = np.stack(np.unravel_index(where[indices], spatial), axis=1)
    size = tuple(geo.field.size)
    patches = np.full((k, x.shape[1], *size), np.nan, dtype=np.float64)
    for n, (i, unit) in enumerate(zip(indices, units)):
        box = geo.box(tuple(unit))
        src = tuple(slice(max(a, 0), min(b, s)) for (a, b), s in zip(box, x.shape[2:]))
        dst = tuple(slice(max(a, 0) - a, min(b, s) - a) for (a, b), s in zip(box, x.shape[2:]))
        patches[(n, slice(None)) + dst] = x[(i, slice(None)) + src]
    y = None if labels is None else np.asarray(labels)[indices]
    return TopPatches(layer, channel, indices, best[indices], units, patches, y, size,
                      (float(x.min()), float(x.max())),
                      None if classes is None else tuple(classes))


def plot_top_patches(top: TopPatches, path: str | os.PathLike | None = None,
                     title: str | None = None):
    """The patches in a grid, strongest first, each titled with its activation value and
    class; padding in lilac. PNG written to `path`, or the Figure returned."""
    if top.patches.ndim != 4:
        raise ValueError("plot_top_patches: draws 2-D patches (k, C, h, w) only")
    k = len(top.indices)
    cols = min(k, 6)
    rows = math.ceil(k / cols)
    fig = new_figure(max(4.0, 1.45 * cols), 1.6 * rows + 0.7, dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    lo, hi = top.value_range
    for n, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if n >= k:
            continue
        ax.imshow(with_padding(top.patches[n], lo, hi), interpolation="nearest")
        label = ""
        if top.labels is not None:
            y = int(top.labels[n])
            label = top.classes[y] if top.classes and 0 <= y < len(top.classes) else str(y)
        ax.set_title(f"#{top.indices[n]} {label}\nact {top.values[n]:.2f}", fontsize=7)
    padded = bool(np.isnan(top.patches).any())
    fig.suptitle(title or f"top {k} images for channel {top.channel} of layer {top.layer!r}"
                 f" (field {'x'.join(map(str, top.field_size))}"
                 + ("; lilac: padding)" if padded else ")"), fontsize=10)
    return finish(fig, path)
