"""Class activation maps: Grad-CAM (Selvaraju et al. 2017) and its sanity check.

For a target class c and a layer with activations A (K channels, u x v positions), Grad-CAM
weighs each channel by its mean gradient and keeps the positive part:

    alpha_k = mean_{ij} d y_c / d A_k[i, j],      L = ReLU(sum_k alpha_k A_k)

then resizes L (bilinear) to the input. `grad_cam_layers` computes it for many layers in one
forward and one backward pass (a zero tensor is added to each layer's output, whose gradient
is dy_c/dA while the graph still flows through), so the strip of every convolution shows
which layer localises. The sanity check of Adebayo et al. (2018): the same map from a copy of
the model whose weights are redrawn at random; a map that barely changes (high Spearman rank
correlation) says more about the image than about what the network learned.

Example:
    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(),
    ...                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    >>> cam = grad_cam(model, np.ones((1, 6, 6), dtype=np.float32), layer="1", target=0)
    >>> cam.cam.shape, cam.heatmap.shape
    ((6, 6), (6, 6))
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass

import numpy as np

from ._common import (block_outputs, display_image, finish, inspecting,
                      module_of, new_figure, one_image, resolve_layer, run_to)

__all__ = ["CamSanityCheck", "GradCAM", "cam_sanity_check", "grad_cam", "grad_cam_layers",
           "plot_cam_sanity_check", "plot_grad_cam", "plot_grad_cam_layers", "randomized_copy",
           "resize_bilinear", "spearman"]


@dataclass
class GradCAM:
    """What `grad_cam` computes.

    Attributes:
        layer: the layer.  kind: its module type ('ReLU', 'Conv2d', ...).
        target: the class explained.  score: the model's score y_c.
        predicted: the predicted class.  weights: (K,) alpha_k.
        cam: ReLU(sum_k alpha_k A_k) at the layer's resolution (u, v).
        heatmap: `cam` resized to the input (H, W) and divided by its maximum (0..1).
        image: the input image (C, H, W).
    """

    layer: str
    kind: str
    target: int
    score: float
    predicted: int
    weights: np.ndarray
    cam: np.ndarray
    heatmap: np.ndarray
    image: np.ndarray

    def to_dict(self) -> dict:
        return {"layer": self.layer, "kind": self.kind, "target": self.target,
                "predicted": self.predicted,
                "score": round(self.score, 4), "cam_shape": list(self.cam.shape),
                "cam_max": round(float(self.cam.max()), 6)}


def resize_bilinear(a: np.ndarray, shape) -> np.ndarray:
    """Bilinear resize of a 2-D array with half-pixel centres (PyTorch's interpolate with
    align_corners=False, OpenCV's resize)."""
    a = np.asarray(a, dtype=np.float64)
    for axis, out in enumerate(shape):
        n = a.shape[axis]
        pos = np.clip((np.arange(out) + 0.5) * n / out - 0.5, 0, n - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        t = (pos - lo).reshape([-1 if k == axis else 1 for k in range(a.ndim)])
        a = np.take(a, lo, axis=axis) * (1 - t) + np.take(a, hi, axis=axis) * t
    return a


def _rank(v: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(1, len(v) + 1)
    _, inverse, counts = np.unique(v, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def spearman(a, b) -> float:
    """Spearman's rank correlation of two arrays (ties get mean ranks); NaN when one is
    constant."""
    ra, rb = _rank(np.ravel(a)), _rank(np.ravel(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


def grad_cam_layers(model, image, layers=None, target: int | None = None) -> list[GradCAM]:
    """Grad-CAM of one image at several layers (default: the end of every convolution's
    block), from one forward and one backward pass.

    Args:
        model: a convscope `nn.Module` ending in class scores (N, classes).
        image: one model input (C, H, W) (or a batch of one), normalised as for the model.
        layers: module names (default: `block_outputs`: the last module of each
            convolution's block, e.g. its ReLU, as pytorch-grad-cam advises; a raw
            convolution output before BatchNorm carries an offset that can swamp the map).
        target: the class to explain (default: the predicted class).
    """
    func = "grad_cam"
    x = one_image(func, model, image)
    names = (block_outputs(model, x.shape[1:]) if layers is None
             else [resolve_layer(func, model, n) for n in layers])
    if not names:
        raise ValueError(f"{func}: the model has no convolution layer; pass layers=[...]")
    with inspecting(model):
        out = run_to(model, x, names, tap=True)
        scores = out["output"]
        if scores.ndim != 2:
            raise ValueError(f"{func}: the model must end in class scores (N, classes), got "
                             f"output shape {scores.shape}")
        predicted = int(np.argmax(scores.data[0]))
        if target is None:
            target = predicted
        if isinstance(target, bool) or not isinstance(target, (int, np.integer)) or not (
                0 <= target < scores.shape[1]):
            raise ValueError(f"{func}: target={target!r} must be a class index in [0, "
                             f"{scores.shape[1]})")
        seed = np.zeros(scores.shape, dtype=scores.data.dtype)
        seed[0, target] = 1.0
        scores.backward(seed)
    result = []
    for name in names:
        a = out[name].data[0].astype(np.float64)  # (K, u, v)
        grad = out[(name, "tap")].grad
        g = np.zeros_like(a) if grad is None else grad[0].astype(np.float64)
        if a.ndim != 3:
            raise ValueError(f"{func}: layer {name!r} has output {a.shape}; Grad-CAM needs "
                             f"2-D maps (K, u, v)")
        weights = g.mean(axis=(1, 2))
        cam = np.maximum(np.tensordot(weights, a, axes=1), 0.0)
        heat = resize_bilinear(cam, x.shape[2:])
        peak = heat.max()
        result.append(GradCAM(name, type(module_of(model, name)).__name__, int(target),
                              float(scores.data[0, target]), predicted,
                              weights, cam, heat / peak if peak > 0 else heat, x[0]))
    return result


def grad_cam(model, image, layer: str | None = None, target: int | None = None) -> GradCAM:
    """Grad-CAM of one image at `layer` (default: the end of the last convolution's block,
    see `grad_cam_layers`)."""
    if layer is None:
        return grad_cam_layers(model, image, None, target)[-1]
    layer = resolve_layer("grad_cam", model, layer, "last")
    return grad_cam_layers(model, image, [layer], target)[0]


def randomized_copy(model, seed: int = 0):
    """A copy of `model` whose weights of rank >= 2 (convolutions, linear layers) are
    redrawn from PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)); biases and
    normalisation layers are kept (Adebayo et al.'s full randomisation of the weights)."""
    clone = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    for _, p in clone.named_parameters():
        if p.data.ndim >= 2:
            bound = 1.0 / math.sqrt(max(1, math.prod(p.data.shape[1:])))
            p.data = rng.uniform(-bound, bound, p.data.shape).astype(p.data.dtype)
    return clone


@dataclass
class CamSanityCheck:
    """Grad-CAM of the trained model, of its randomised copy, and their Spearman rank
    correlation (at the layer's resolution)."""

    trained: GradCAM
    randomized: GradCAM
    spearman: float

    def to_dict(self) -> dict:
        return {"trained": self.trained.to_dict(), "randomized": self.randomized.to_dict(),
                "spearman": None if math.isnan(self.spearman) else round(self.spearman, 4)}


def cam_sanity_check(model, image, layer: str | None = None, target: int | None = None,
                     seed: int = 0) -> CamSanityCheck:
    """Grad-CAM before and after randomising the weights (`randomized_copy`), for the same
    class (default: the trained model's prediction)."""
    trained = grad_cam(model, image, layer, target)
    randomized = grad_cam(randomized_copy(model, seed), image, trained.layer, trained.target)
    return CamSanityCheck(trained, randomized, spearman(trained.cam, randomized.cam))


# -- drawing -----------------------------------------------------------------------------------
def _overlay(ax, cam: GradCAM, title: str):
    shown, kw = display_image(cam.image)
    ax.imshow(shown, interpolation="nearest", **kw)
    image = ax.imshow(cam.heatmap, cmap="jet", alpha=0.45, vmin=0, vmax=1,
                      interpolation="bilinear")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()
    return image


def _class(classes, k):
    return classes[k] if classes and 0 <= k < len(classes) else str(k)


def plot_grad_cam(cam: GradCAM, path: str | os.PathLike | None = None, classes=None,
                  title: str | None = None):
    """The input and the Grad-CAM heat map over it; PNG written to `path`, or the Figure."""
    fig = new_figure(6.4, 3.4, dpi=110)
    ax_in, ax_cam = fig.subplots(1, 2)
    shown, kw = display_image(cam.image)
    ax_in.imshow(shown, interpolation="nearest", **kw)
    ax_in.set_title(f"input (predicted: {_class(classes, cam.predicted)})", fontsize=8)
    ax_in.set_axis_off()
    image = _overlay(ax_cam, cam, f"Grad-CAM at layer {cam.layer} ({cam.kind}, "
                                  f"{'x'.join(map(str, cam.cam.shape))})")
    fig.colorbar(image, ax=ax_cam, shrink=0.8, label="relevance (max = 1)")
    fig.suptitle(title or f"why {_class(classes, cam.target)!r}? (score {cam.score:.2f})",
                 fontsize=10)
    return finish(fig, path)


def plot_grad_cam_layers(cams, path: str | os.PathLike | None = None, classes=None,
                         title: str | None = None):
    """A strip: the input, then the Grad-CAM of every layer in `cams`; PNG or Figure."""
    cams = list(cams)
    fig = new_figure(1.2 + 2.1 * (len(cams) + 1), 2.7, dpi=110)
    axes = fig.subplots(1, len(cams) + 1, squeeze=False)[0]
    shown, kw = display_image(cams[0].image)
    axes[0].imshow(shown, interpolation="nearest", **kw)
    axes[0].set_title("input", fontsize=8)
    axes[0].set_axis_off()
    image = None
    for ax, cam in zip(axes[1:], cams):
        # long module names (a loaded model's) go on a line of their own
        sep = "\n" if len(str(cam.layer)) > 12 else " "
        image = _overlay(ax, cam, f"layer {cam.layer}{sep}({cam.kind}, "
                                  f"{'x'.join(map(str, cam.cam.shape))})")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="relevance (max = 1)")
    fig.suptitle(title or f"Grad-CAM for {_class(classes, cams[0].target)!r} at every layer "
                 f"(predicted: {_class(classes, cams[0].predicted)})", fontsize=10)
    return finish(fig, path)


def plot_cam_sanity_check(check: CamSanityCheck, path: str | os.PathLike | None = None,
                          classes=None, title: str | None = None):
    """Trained vs randomised-weights Grad-CAM side by side, with their rank correlation."""
    fig = new_figure(6.4, 3.5, dpi=110)
    ax_t, ax_r = fig.subplots(1, 2)
    _overlay(ax_t, check.trained, f"trained weights (layer {check.trained.layer}, "
                                  f"{check.trained.kind})")
    image = _overlay(ax_r, check.randomized, "random weights (same class)")
    fig.colorbar(image, ax=[ax_t, ax_r], shrink=0.8, label="relevance (max = 1)")
    rho = ("undefined (a map is zero everywhere)" if math.isnan(check.spearman)
           else f"{check.spearman:.2f}")
    fig.suptitle(title or f"sanity check for {_class(classes, check.trained.target)!r}: "
                 f"Spearman rank correlation {rho}", fontsize=10)
    return finish(fig, path)
