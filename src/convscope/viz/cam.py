"""Class activation maps: Grad-CAM (Selvaraju et al. 2017) and its sanity check.

For a target class c and a layer with activations A (K channels, u x v positions), Grad-CAM
weighs each channel by its mean gradient and keeps the positive part:

    alpha_k = mean_{ij} d y_c / d A_k[i, j],      L = ReLU(sum_k alpha_k A_k)

then resizes L (bilinear) to the input. `grad_cam_layers` computes it for many layers in one
forward and one backward pass (a zero tensor is added to each layer's output, whose gradient
is dy_c/dA while the graph still flows through), so the strip of every convolution shows
which layer localises. The sanity check is the cascading model-randomisation test of Adebayo
et al. (2018, "Sanity Checks for Saliency Maps"): every parameter and buffer of the model's
layers is re-initialised, one layer at a time from the output down, and the map is computed
again after each step; a map that barely changes (high Spearman rank correlation with the
trained one) says more about the image than about what the network learned.

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
from dataclasses import dataclass, field

import numpy as np

from ..display import png_bytes
from ._common import (block_outputs, display_image, finish, inspecting,
                      module_of, new_figure, one_image, resolve_layer, run_to)

__all__ = ["CamSanityCheck", "CascadeStep", "GradCAM", "cam_sanity_check", "cascade_copies",
           "grad_cam", "grad_cam_layers", "parametrised_layers", "plot_cam_sanity_check",
           "plot_grad_cam", "plot_grad_cam_layers", "randomized_copy", "reinitialise",
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

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_grad_cam`) inline."""
        return png_bytes(plot_grad_cam(self))

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


class GradCAMs(list):
    """What `grad_cam_layers` returns: a list of `GradCAM`, one per layer, that Jupyter shows
    as its picture (`plot_grad_cam_layers`)."""

    def _repr_png_(self) -> bytes | None:
        return png_bytes(plot_grad_cam_layers(list(self))) if self else None


def grad_cam_layers(model, image, layers=None, target: int | None = None) -> GradCAMs:
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
    with inspecting(model) as view:
        out = run_to(view, x, names, tap=True)
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
    return GradCAMs(result)


def grad_cam(model, image, layer: str | None = None, target: int | None = None) -> GradCAM:
    """Grad-CAM of one image at `layer` (default: the end of the last convolution's block,
    see `grad_cam_layers`)."""
    if layer is None:
        return grad_cam_layers(model, image, None, target)[-1]
    layer = resolve_layer("grad_cam", model, layer, "last")
    return grad_cam_layers(model, image, [layer], target)[0]


# -- the sanity check: cascading randomisation --------------------------------------------------
def parametrised_layers(model) -> list[str]:
    """The dotted names of the modules that hold parameters or buffers themselves (not only
    through their children), in definition order: the layers a randomisation re-draws.
    The model itself, when it holds some, is named ''."""
    return [name for name, m in model.named_modules()
            if any(True for _ in m.named_parameters(recurse=False))
            or any(True for _ in m.named_buffers(recurse=False))]


def _uniform(rng, shape, dtype):
    fan_in = math.prod(shape[1:]) if len(shape) >= 2 else math.prod(shape)
    bound = 1.0 / math.sqrt(max(1, fan_in))
    return rng.uniform(-bound, bound, shape).astype(dtype)


def reinitialise(module, rng: np.random.Generator) -> None:
    """Re-initialise every parameter and buffer that `module` holds itself, in place.

    - a layer with ``reset_parameters(rng)`` (convolutions, Linear): PyTorch's default
      initialisation, weight and bias drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    - a normalisation layer (``reset_running_stats``): its initial state, weight 1, bias 0,
      running mean 0, running variance 1, batch count 0;
    - anything else: each parameter drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in:
      the product of the axes after the first, or the size of a vector), each buffer zeroed.
    """
    reset = getattr(module, "reset_parameters", None)
    if callable(reset):
        reset(rng)
    elif callable(getattr(module, "reset_running_stats", None)):
        module.reset_running_stats()
        for _, p in module.named_parameters(recurse=False):  # weight 1, bias 0
            p.data = np.full_like(p.data, 1.0 if p is getattr(module, "weight", None) else 0.0)
    else:
        for _, p in module.named_parameters(recurse=False):
            p.data = _uniform(rng, p.data.shape, p.data.dtype)
        for name, b in list(module.named_buffers(recurse=False)):
            setattr(module, name, np.zeros_like(b))


def cascade_copies(model, seed: int = 0):
    """Cascading randomisation (Adebayo et al. 2018): yield ``(layer, reached, copy)`` once
    per layer of `parametrised_layers`, from the top (the output side) down.

    `copy` is one deep copy of `model`, made once, in which one more layer is re-initialised
    (`reinitialise`) at each step: after the step of `layer`, every layer in `reached` (the
    layers from the top down to `layer`) holds fresh values and every layer below still
    holds the trained ones. The draws come from ``numpy.random.default_rng(seed)``, in that
    order. `model` itself is never changed.
    """
    clone = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    modules = dict(clone.named_modules())
    reached: list[str] = []
    for name in reversed(parametrised_layers(clone)):
        reinitialise(modules[name], rng)
        reached.append(name)
        yield name, tuple(reached), clone


def randomized_copy(model, seed: int = 0):
    """A copy of `model` with every parameter and buffer re-initialised (`reinitialise`;
    the last step of `cascade_copies` with the same seed); `model` is not changed."""
    clone = copy.deepcopy(model)
    for _, _, clone in cascade_copies(model, seed):
        pass
    return clone


@dataclass
class CascadeStep:
    """One step of the cascade: the layers re-initialised so far (`reached`, from the top
    down; `layer` is the lowest of them and `kind` its type), the Grad-CAM of that model and
    its Spearman rank correlation with the trained map."""

    layer: str
    kind: str
    reached: tuple
    cam: GradCAM
    spearman: float

    def to_dict(self) -> dict:
        return {"layer": self.layer, "kind": self.kind, "reached": list(self.reached),
                "spearman": None if math.isnan(self.spearman) else round(self.spearman, 4)}


@dataclass
class CamSanityCheck:
    """Grad-CAM of the trained model, of its fully randomised copy (every parameter and
    buffer re-initialised), their Spearman rank correlation (at the layer's resolution),
    and the cascade: one `CascadeStep` per layer, from the top down."""

    trained: GradCAM
    randomized: GradCAM
    spearman: float
    steps: list = field(default_factory=list)

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_cam_sanity_check`) inline."""
        return png_bytes(plot_cam_sanity_check(self))

    def to_dict(self) -> dict:
        return {"trained": self.trained.to_dict(), "randomized": self.randomized.to_dict(),
                "spearman": None if math.isnan(self.spearman) else round(self.spearman, 4),
                "cascade": [step.to_dict() for step in self.steps]}


def cam_sanity_check(model, image, layer: str | None = None, target: int | None = None,
                     seed: int = 0) -> CamSanityCheck:
    """The model-randomisation test of Adebayo et al. (2018) for Grad-CAM, cascading.

    Grad-CAM of the trained model at `layer` for `target` (default: the prediction), then
    of a copy whose layers are re-initialised one at a time from the top (output) down,
    every parameter and buffer of each (`cascade_copies`, `reinitialise`; draws from
    ``default_rng(seed)``), for the same layer and class: one map per step, each with its
    Spearman rank correlation to the trained map. The last step re-initialises every layer
    (the full randomisation, `randomized`). A map that stays close to the trained one as
    the weights go random shows the image more than what the network learned. `model` is
    not changed.
    """
    trained = grad_cam(model, image, layer, target)
    modules = dict(model.named_modules())
    steps = []
    for name, reached, clone in cascade_copies(model, seed):
        cam = grad_cam(clone, image, trained.layer, trained.target)
        steps.append(CascadeStep(name, type(modules[name]).__name__, reached, cam,
                                 spearman(trained.cam, cam.cam)))
    if not steps:
        raise ValueError("cam_sanity_check: the model holds no parameter or buffer to "
                         "randomise")
    return CamSanityCheck(trained, steps[-1].cam, steps[-1].spearman, steps)


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
    """The cascade in a row: the trained model's Grad-CAM, then the map after each step of
    the randomisation (titled with the layer it reached and how many layers from the top are
    random), each with its Spearman rank correlation to the trained map underneath."""
    steps = check.steps or [CascadeStep("all", "", ("all",), check.randomized,
                                        check.spearman)]
    n = len(steps) + 1
    fig = new_figure(0.9 + 1.55 * n, 2.55, dpi=110)
    axes = fig.subplots(1, n, squeeze=False)[0]
    _overlay(axes[0], check.trained, f"trained\n(layer {check.trained.layer}, "
                                     f"{check.trained.kind})")
    axes[0].text(0.5, -0.06, "rank corr. 1", transform=axes[0].transAxes, ha="center",
                 va="top", fontsize=8)
    image = None
    for k, (ax, step) in enumerate(zip(axes[1:], steps), start=1):
        image = _overlay(ax, step.cam, f"random down to\n{step.layer} {step.kind} "
                                       f"({k}/{len(steps)})")
        rho = "undefined" if math.isnan(step.spearman) else f"{step.spearman:+.2f}"
        ax.text(0.5, -0.06, f"rank corr. {rho}", transform=ax.transAxes, ha="center",
                va="top", fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="relevance (max = 1)")
    fig.suptitle(title or f"sanity check for {_class(classes, check.trained.target)!r}: "
                 f"layers re-initialised one by one from the output down (Adebayo et al. "
                 f"2018)", fontsize=9)
    return finish(fig, path)
