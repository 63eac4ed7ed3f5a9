"""Feature maps (activation maps): one image through every convolution of a model.

`feature_maps` runs the model once with a forward hook on each chosen layer and keeps its
output; `plot_feature_maps` draws the input beside one panel per layer, titled with the
layer's name and output shape, its channels on one shared, zero-centred colour scale
(red: positive, blue: negative; a convolution's output before BatchNorm and ReLU has both).

Example:
    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3))
    >>> maps = feature_maps(model, np.zeros((1, 8, 8), dtype=np.float32))
    >>> [(name, a.shape) for name, a in maps.layers]
    [('0', (4, 8, 8)), ('2', (6, 6, 6))]
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..display import png_bytes
from ._common import (conv_layers, display_image, finish, inspecting,
                      new_figure, one_image, resolve_layer, run_to)

__all__ = ["FeatureMaps", "feature_maps", "plot_feature_maps"]


@dataclass
class FeatureMaps:
    """What `feature_maps` computes: the input image (C, H, W) and, per layer in forward
    order, (name, activation map (C_l, *spatial)) of that image."""

    image: np.ndarray
    layers: list

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_feature_maps`) inline."""
        return png_bytes(plot_feature_maps(self))

    def to_dict(self) -> dict:
        return {"layers": [{"layer": name, "shape": list(a.shape),
                            "mean": round(float(a.mean()), 4),
                            "max": round(float(a.max()), 4),
                            "share_positive": round(float((a > 0).mean()), 4)}
                           for name, a in self.layers]}


def feature_maps(model, image, layers=None) -> FeatureMaps:
    """The activation maps of one image at each layer (default: every convolution).

    Args:
        model: a convscope `nn.Module` (run in evaluation mode).
        image: one model input (C, H, W) (or a batch of one), normalised as for the model.
        layers: module names, in any order (default: every convolution).
    """
    func = "feature_maps"
    x = one_image(func, model, image)
    names = ([n for n, _ in conv_layers(model)] if layers is None
             else [resolve_layer(func, model, n) for n in layers])
    if not names:
        raise ValueError(f"{func}: the model has no convolution layer; pass layers=[...]")
    with inspecting(model) as view:
        out = run_to(view, x, names)
    order = [n for n, _ in model.named_modules() if n in names]
    return FeatureMaps(x[0], [(n, np.asarray(out[n].data[0])) for n in order])


def mosaic(maps: np.ndarray, cols: int, gap: int, top: int) -> np.ndarray:
    """Maps (k, h, w) tiled row by row, `cols` per row, into one array with NaN between
    them: `gap` columns between tiles and `top` rows above each row of tiles (room for a
    label)."""
    k, h, w = maps.shape
    rows = math.ceil(k / cols)
    out = np.full((rows * (top + h) + (rows - 1) * gap, cols * (w + gap) - gap), np.nan)
    for c in range(k):
        r, q = divmod(c, cols)
        y0, x0 = r * (top + h + gap) + top, q * (w + gap)
        out[y0:y0 + h, x0:x0 + w] = maps[c]
    return out


def plot_feature_maps(maps: FeatureMaps, path: str | os.PathLike | None = None,
                      max_channels: int = 16, title: str | None = None):
    """The input beside one panel per layer showing its first `max_channels` channels;
    PNG written to `path`, or the Figure returned.

    Each layer's channels are tiled into one image (one axes, not one per channel: drawing
    stays fast for many layers), numbered above each tile, on one zero-centred scale."""
    if any(a.ndim != 3 for _, a in maps.layers):
        raise ValueError("plot_feature_maps: draws 2-D maps (C, H, W) only")
    from matplotlib import colormaps

    cols = 4
    n_layers = len(maps.layers)
    rows_per = [math.ceil(min(max_channels, a.shape[0]) / cols) for _, a in maps.layers]
    fig = new_figure(2.6 + 2.7 * n_layers, 0.7 + 0.65 * max(rows_per) + 0.4, dpi=110)
    top = fig.subfigures(1, n_layers + 1, width_ratios=[1] + [1.05] * n_layers, wspace=0.02)
    ax = top[0].subplots()
    shown, kw = display_image(maps.image)
    ax.imshow(shown, interpolation="nearest", **kw)
    ax.set_title(f"input {'x'.join(map(str, maps.image.shape))}", fontsize=9)
    ax.set_axis_off()
    cmap = colormaps["RdBu_r"].with_extremes(bad="white")
    for sub, (name, a) in zip(top[1:], maps.layers):
        k = min(max_channels, a.shape[0])
        vmax = float(np.abs(a[:k]).max()) or 1.0
        h, w = a.shape[1:]
        gap, label = max(1, round(w / 6)), max(2, round(h / 3.5))
        axc = sub.subplots()
        image = axc.imshow(mosaic(a[:k], cols, gap, label), cmap=cmap, vmin=-vmax,
                           vmax=vmax, interpolation="nearest")
        for c in range(k):
            r, q = divmod(c, cols)
            axc.text(q * (w + gap) + (w - 1) / 2, r * (label + h + gap) + label - 0.9,
                     str(c), ha="center", va="bottom", fontsize=6)
        axc.set_axis_off()
        sub.suptitle(f"layer {name}: {'x'.join(map(str, a.shape))}"
                     + (f" (first {k})" if k < a.shape[0] else ""), fontsize=9)
        sub.colorbar(image, ax=axc, shrink=0.7, location="bottom", aspect=25)
    fig.suptitle(title or "activation maps of one image (red > 0 > blue, one scale per "
                 "layer)", fontsize=10)
    return finish(fig, path)
