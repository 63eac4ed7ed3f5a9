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

from ._common import (conv_layers, display_image, finish, inspecting,
                      new_figure, one_image, resolve_layer, run_to)

__all__ = ["FeatureMaps", "feature_maps", "plot_feature_maps"]


@dataclass
class FeatureMaps:
    """What `feature_maps` computes: the input image (C, H, W) and, per layer in forward
    order, (name, activation map (C_l, *spatial)) of that image."""

    image: np.ndarray
    layers: list

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
    with inspecting(model):
        out = run_to(model, x, names)
    order = [n for n, _ in model.named_modules() if n in names]
    return FeatureMaps(x[0], [(n, np.asarray(out[n].data[0])) for n in order])


def plot_feature_maps(maps: FeatureMaps, path: str | os.PathLike | None = None,
                      max_channels: int = 16, title: str | None = None):
    """The input beside one panel per layer showing its first `max_channels` channels;
    PNG written to `path`, or the Figure returned."""
    if any(a.ndim != 3 for _, a in maps.layers):
        raise ValueError("plot_feature_maps: draws 2-D maps (C, H, W) only")
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
    for sub, (name, a) in zip(top[1:], maps.layers):
        k = min(max_channels, a.shape[0])
        vmax = float(np.abs(a[:k]).max()) or 1.0
        axes = sub.subplots(math.ceil(k / cols), cols, squeeze=False)
        image = None
        for c, axc in enumerate(axes.flat):
            axc.set_axis_off()
            if c < k:
                image = axc.imshow(a[c], cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                                   interpolation="nearest")
                axc.set_title(str(c), fontsize=6, pad=1)
        sub.suptitle(f"layer {name}: {'x'.join(map(str, a.shape))}"
                     + (f" (first {k})" if k < a.shape[0] else ""), fontsize=9)
        sub.colorbar(image, ax=axes, shrink=0.7, location="bottom", aspect=25)
    fig.suptitle(title or "activation maps of one image (red > 0 > blue, one scale per "
                 "layer)", fontsize=10)
    return finish(fig, path)
