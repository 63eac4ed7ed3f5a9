"""Feature visualisation by optimisation (Olah et al. 2017): the input a channel likes most.

Start from faint noise and climb the gradient of the objective, the channel's mean
activation (or one unit's activation when `unit` is given), with two regularisers that keep
the picture natural:

- jitter: each step looks at the image shifted by a random offset of up to `jitter` pixels
  (Olah's transformation robustness), so the result cannot rely on exact pixel positions;
- a frequency penalty: ascent on  J(x) - (lambda / 2) ||grad_space x||^2, whose gradient
  adds lambda * Laplacian(x) (in Fourier terms it penalises |k|^2 |x_k|^2, the high
  frequencies, more than the low ones).

Each step moves along the objective's gradient normalised to unit RMS, then projects the
image onto the ball ||x|| <= `norm` (default sqrt(C H W): one data standard deviation per
pixel in normalised units). With a bounded norm, no jitter and no penalty, the optimum of a
unit of a first convolution is its own filter, scaled (the gradient of w . patch is w): a
ground truth that the tests check. Works for 1-channel 28x28 inputs as well as RGB.

Example:
    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3))
    >>> vis = visualize_channels(model, (1, 9, 9), layer="0", channels=[0, 1], steps=20)
    >>> vis.images.shape
    (2, 1, 9, 9)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..display import png_bytes
from ._common import (check_channel, display_image, finish, geometry, inspecting, new_figure,
                      parse_unit, resolve_layer, run_to)
from ._common import progress_bar

__all__ = ["FeatureVisualization", "plot_feature_visualization", "visualize_channels"]


@dataclass
class FeatureVisualization:
    """What `visualize_channels` computes.

    Attributes:
        layer: the layer.  channels: the channels, one image each.
        unit: the unit optimised, or None for the channel's mean activation.
        images: (n, C, H, W) the optimised inputs (normalised model units).
        objective: (n,) the final objective of each image (activation, without penalty).
        steps, jitter, frequency_penalty, norm: the settings used.
    """

    layer: str
    channels: list
    unit: tuple | None
    images: np.ndarray
    objective: np.ndarray
    steps: int
    jitter: int
    frequency_penalty: float
    norm: float

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_feature_visualization`) inline."""
        return png_bytes(plot_feature_visualization(self))

    def to_dict(self) -> dict:
        return {"layer": self.layer, "channels": list(self.channels),
                "unit": None if self.unit is None else list(self.unit),
                "objective": [round(float(v), 4) for v in self.objective],
                "steps": self.steps, "jitter": self.jitter,
                "frequency_penalty": self.frequency_penalty, "norm": round(self.norm, 4)}


def _laplacian(x: np.ndarray) -> np.ndarray:
    """The discrete Laplacian over the spatial axes (2:), with mirrored borders: minus the
    gradient of (1/2) sum of squared neighbour differences."""
    out = np.zeros_like(x)
    for axis in range(2, x.ndim):
        d = np.diff(x, axis=axis)
        lead = [slice(None)] * x.ndim
        tail = [slice(None)] * x.ndim
        lead[axis], tail[axis] = slice(None, -1), slice(1, None)
        out[tuple(lead)] += d
        out[tuple(tail)] -= d
    return out


def _objective(act: np.ndarray, channels, unit) -> np.ndarray:
    """d objective / d activation: 1/positions on each sample's channel (mean), or 1 at the
    unit."""
    seed = np.zeros_like(act)
    for b, c in enumerate(channels):
        if unit is None:
            seed[b, c] = 1.0 / math.prod(act.shape[2:])
        else:
            seed[(b, c) + tuple(unit)] = 1.0
    return seed


def visualize_channels(model, input_shape, layer: str | None = None, channels=(0,),
                       unit=None, steps: int = 256, lr: float = 0.05, jitter: int = 2,
                       frequency_penalty: float = 0.3, norm: float | None = None,
                       seed: int = 0, progress: bool = False) -> FeatureVisualization:
    """The inputs that maximise each of `channels` of `layer` (one image per channel,
    optimised together as one batch).

    Args:
        model: a convscope `nn.Module` (evaluation mode; the weights are unchanged).
        input_shape: one input's shape (C, H, W), e.g. (1, 28, 28).
        layer: a module name (default: the last convolution).
        channels: the channels to visualise.
        unit: an output position (i, j): maximise that unit instead of the channel mean.
        steps: gradient steps.  lr: step size (RMS pixel change per step).
        jitter: the largest random shift per step, in pixels (0: none).
        frequency_penalty: lambda of the smoothness penalty (0: none).
        norm: the bound on each image's L2 norm (default sqrt(C H W)).
        seed: seeds the starting noise and the jitter.
        progress: show a progress bar on stderr.
    """
    func = "visualize_channels"
    shape = tuple(int(s) for s in input_shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"{func}: input_shape must be (C, *spatial), got {input_shape!r}")
    layer = resolve_layer(func, model, layer, "last")
    geo = geometry(model, shape, layer, func)
    if len(geo.output_shape) != len(shape):
        raise ValueError(f"{func}: layer {layer!r} has output {geo.output_shape}, not maps; "
                         f"choose a convolution or pooling layer")
    channels = [check_channel(func, c, geo.output_shape[0], layer) for c in channels]
    if not channels:
        raise ValueError(f"{func}: channels must not be empty")
    if unit is not None:
        unit = parse_unit(func, unit, geo.output_shape[1:])
    for name, value, low in (("steps", steps, 1), ("jitter", jitter, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{func}: {name} must be an int >= {low}, got {name}={value!r}")
    radius = math.sqrt(math.prod(shape)) if norm is None else float(norm)
    if not radius > 0:
        raise ValueError(f"{func}: norm must be positive, got norm={norm!r}")
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.01, (len(channels), *shape))
    spatial = tuple(range(2, x.ndim))
    bar = progress_bar(progress, steps, f"optimising layer {layer}", "step")
    with inspecting(model) as view:
        for _ in range(steps):
            bar.update()
            shift = tuple(int(s) for s in rng.integers(-jitter, jitter + 1, len(spatial)))
            xs = np.roll(x, shift, axis=spatial) if jitter else x
            out = run_to(view, xs.astype(np.float32), [layer], grad=True)
            act = out[layer]
            act.backward(_objective(act.data, channels, unit))
            g = out[None].grad.astype(np.float64)
            if jitter:
                g = np.roll(g, tuple(-s for s in shift), axis=spatial)
            rms = np.sqrt((g ** 2).mean(axis=tuple(range(1, x.ndim)), keepdims=True))
            x = x + lr * (g / np.maximum(rms, 1e-12) + frequency_penalty * _laplacian(x))
            length = np.sqrt((x ** 2).sum(axis=tuple(range(1, x.ndim)), keepdims=True))
            x = x * np.minimum(1.0, radius / np.maximum(length, 1e-12))
        bar.close()
        act = run_to(view, x.astype(np.float32), [layer])[layer].data
    final = (act[np.arange(len(channels)), channels].mean(axis=tuple(range(1, act.ndim - 1)))
             if unit is None else
             act[(np.arange(len(channels)), channels) + tuple(np.array(u) for u in unit)])
    return FeatureVisualization(layer, channels, unit, x.astype(np.float32),
                                np.asarray(final, dtype=np.float64), int(steps), int(jitter),
                                float(frequency_penalty), radius)


def plot_feature_visualization(vis: FeatureVisualization,
                               path: str | os.PathLike | None = None,
                               title: str | None = None):
    """The optimised images in a grid, each titled with its channel and final activation;
    one channel in grey (mid grey = 0, the data mean), three as RGB. PNG or Figure."""
    if vis.images.ndim != 4:
        raise ValueError("plot_feature_visualization: draws 2-D images only")
    n = len(vis.channels)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig = new_figure(max(5.2, 1.5 * cols), 1.6 * rows + 0.8 + (1.2 if n == 1 else 0), dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        img = vis.images[k]
        if img.shape[0] == 3:
            shown, kw = display_image(img)
        else:
            m = float(np.abs(img).max()) or 1.0
            shown, kw = img[0], {"cmap": "gray", "vmin": -m, "vmax": m}
        ax.imshow(shown, interpolation="nearest", **kw)
        ax.set_title(f"channel {vis.channels[k]}\nact {vis.objective[k]:.2f}", fontsize=7)
    what = "mean activation" if vis.unit is None else f"unit {vis.unit}"
    fig.suptitle(title or f"inputs that maximise the {what} of layer {vis.layer!r}\n"
                 f"({vis.steps} steps, jitter {vis.jitter} px, frequency penalty "
                 f"{vis.frequency_penalty:g})", fontsize=9)
    return finish(fig, path)
