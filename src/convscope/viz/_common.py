"""Shared plumbing of the pictures: figures without pyplot, atomic PNGs, finding layers,
running a model up to a layer, and the theoretical receptive field of a unit.

An internal helper module (like `_args`): the picture modules import from it.

Figures are `matplotlib.figure.Figure` objects with their own Agg canvas. pyplot and the
process-wide backend are never touched, so a Jupyter user keeps inline figures: a drawing
function returns its Figure, which the notebook displays, or writes a PNG when given a path.
"""

from __future__ import annotations

import contextlib
import io as _io
import os
import sys
from dataclasses import dataclass

import numpy as np

from ..autograd import Tensor, enable_grad, no_grad
from ..display import figure
from ..io import atomic_write_bytes
from ..nn.inspection import inspection_copy, is_inspection_copy

#: The colour that marks padding (outside the image) in patches and receptive fields.
PADDING_RGB = (0.80, 0.55, 0.85)


# -- figures -----------------------------------------------------------------------------------
def new_figure(width: float, height: float, dpi: int = 100):
    """A Figure of `width` x `height` inches on its own Agg canvas (no pyplot, no backend
    switch) that a notebook shows inline (`convscope.display.figure`). A PNG written
    by `finish` is exactly round(width * dpi) x round(height * dpi)."""
    from .._optional import require
    require("matplotlib.figure", "convscope.viz (drawing pictures)")
    return figure(width, height, dpi)


def finish(fig, path: str | os.PathLike | None):
    """Write `fig` as a PNG to `path` atomically and return None, or return `fig` itself
    when `path` is None (a notebook shows it inline)."""
    if path is None:
        return fig
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return None


def display_image(image: np.ndarray) -> tuple[np.ndarray, dict]:
    """(array, imshow keywords) to show one model input (C, H, W): three channels as RGB,
    the image scaled to [0, 1]; otherwise the first channel in grey, scaled to its range."""
    x = np.asarray(image, dtype=np.float64)
    if x.shape[0] == 3:
        lo, hi = np.nanmin(x), np.nanmax(x)
        return ((x - lo) / (hi - lo if hi > lo else 1.0)).transpose(1, 2, 0), {}
    lo, hi = np.nanmin(x[0]), np.nanmax(x[0])
    return x[0], {"cmap": "gray", "vmin": lo, "vmax": hi if hi > lo else lo + 1}


def with_padding(patch: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """An RGB picture (h, w, 3) of a patch (C, h, w) scaled from [lo, hi] to [0, 1] (three
    channels as RGB, otherwise the first channel in grey), whose NaN pixels (the padding)
    take the colour `PADDING_RGB`."""
    p = np.asarray(patch, dtype=np.float64)
    scaled = np.clip((p - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    rgb = scaled if p.shape[0] == 3 else np.repeat(scaled[:1], 3, axis=0)
    rgb = rgb.transpose(1, 2, 0)
    pad = np.isnan(p).any(axis=0)
    rgb[pad] = PADDING_RGB
    return rgb


# -- progress ----------------------------------------------------------------------------------
class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def progress_bar(enabled: bool, total: int, desc: str, unit: str):
    """A tqdm bar on stderr when `enabled` (and tqdm is installed), else a silent stand-in."""
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True)


# -- layers ------------------------------------------------------------------------------------
def is_conv(module) -> bool:
    """A (non-transposed) convolution: its class or a base class is named Conv1d/2d/3d."""
    names = [c.__name__ for c in type(module).__mro__]
    return (hasattr(module, "weight") and any(n.startswith("Conv") for n in names)
            and not any("Transpose" in n for n in names))


def conv_layers(model) -> list[tuple[str, object]]:
    """(dotted name, module) of every convolution of `model`, in definition order."""
    return [(name, m) for name, m in model.named_modules() if name and is_conv(m)]


def block_outputs(model, input_shape) -> list[str]:
    """For each convolution, the last leaf module of its block: the last module that runs
    before the next convolution and still gives maps larger than 1 pixel (e.g. the ReLU
    after conv -> pool -> BatchNorm -> ReLU; not a global average pool). Grad-CAM reads
    these: after normalisation and ReLU a channel's sign means what it says, while a raw
    convolution output carries BatchNorm's offset."""
    from ..summary import summary

    rows = summary(model, tuple(input_shape)).rows
    convs = {name for name, _ in conv_layers(model)}
    ends, current = [], None
    for r in rows:
        if r.name in convs:
            if current is not None:
                ends.append(current)
            current = r.name
        elif (current is not None and len(r.output_shape) == len(input_shape)
              and max(r.output_shape[1:]) > 1):
            current = r.name
        elif current is not None:  # Flatten and after: the last block ended
            ends.append(current)
            current = None
    if current is not None:
        ends.append(current)
    return ends


def layer_names(model) -> list[str]:
    """The dotted names of every submodule of `model`."""
    return [name for name, _ in model.named_modules() if name]


def resolve_layer(func: str, model, layer: str | None, default: str = "last") -> str:
    """`layer` checked against the model's module names; None gives the first or last
    convolution (`default`)."""
    convs = [name for name, _ in conv_layers(model)]
    if layer is None:
        if not convs:
            raise ValueError(f"{func}: the model has no convolution layer; pass layer=NAME "
                             f"(one of {', '.join(layer_names(model)) or 'none'})")
        return convs[0] if default == "first" else convs[-1]
    if not isinstance(layer, str):
        raise TypeError(f"{func}: layer must be a module name (str), got {layer!r}")
    names = layer_names(model)
    if layer not in names:
        known = ", ".join(convs) if convs else ", ".join(names)
        raise ValueError(f"{func}: unknown layer={layer!r}; the model's convolution layers "
                         f"are {known} (any module name of the model works, e.g. "
                         f"{', '.join(names[:6])}{' ...' if len(names) > 6 else ''})")
    return layer


def module_of(model, name: str):
    return dict(model.named_modules())[name]


def check_images(func: str, images, arg: str = "images", ndim: int | None = None
                 ) -> np.ndarray:
    """A float32 batch (N, C, *spatial) of model inputs; one image (C, *spatial) gets a batch
    axis when `ndim` (the spatial rank) says it lacks one."""
    x = np.asarray(images.data if isinstance(images, Tensor) else images)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{func}: {arg} must be a numeric array, got dtype {x.dtype}")
    if ndim is not None and x.ndim == ndim + 1:
        x = x[None]
    if x.ndim < 3 or x.shape[0] == 0:
        raise ValueError(f"{func}: {arg} must have shape (N, C, H, W) (or one image (C, H, "
                         f"W)), got shape {x.shape}")
    return x.astype(np.float32, copy=False)


def one_image(func: str, model, image) -> np.ndarray:
    """One model input (C, *spatial), or a batch of one, as a batch (1, C, *spatial); the
    spatial rank is that of the model's first convolution (2 when it has none)."""
    convs = conv_layers(model)
    spatial = convs[0][1].weight.data.ndim - 2 if convs else 2
    x = check_images(func, image, "image", ndim=spatial)
    if x.ndim != spatial + 2 or len(x) != 1:
        raise ValueError(f"{func}: image must be one input (C, *spatial) with {spatial} "
                         f"spatial axes, or a batch of one, got shape {np.shape(image)}")
    return x


def check_channel(func: str, channel, channels: int, layer: str) -> int:
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise TypeError(f"{func}: channel must be an int, got channel={channel!r}")
    if not 0 <= channel < channels:
        raise ValueError(f"{func}: channel={channel} is out of range: layer {layer!r} has "
                         f"{channels} channels (0..{channels - 1})")
    return int(channel)


@contextlib.contextmanager
def inspecting(model):
    """An `inspection_copy` of `model` in evaluation mode (BatchNorm's running statistics,
    no dropout) with frozen parameters (no weight gradients computed), for the duration:
    ``with inspecting(model) as view: run_to(view, ...)``. `model` itself is never
    changed."""
    yield inspection_copy(model)


class _Reached(Exception):
    """Raised by a hook to stop the forward pass once every wanted layer has run."""


def run_to(model, x, layers, *, grad: bool = False, tap: bool = False):
    """Run `model` on `x` until every module in `layers` has produced its output; returns
    {name: output Tensor} (the first call of each module).

    With grad=True the input is a leaf that requires grad (its `.grad` is filled by a later
    backward; the Tensor is returned under the key None). With tap=True each captured output
    gets a zero leaf added (``A + Z``), so that ``Z.grad`` is dL/dA after a backward while
    the graph still flows through; the leaves are returned under ``(name, 'tap')``.

    The hooks go on an `inspection_copy` (the model as it is given, unless it is one
    already, as `inspecting` yields): the user's model gets no hook and no gradient.
    """
    if not is_inspection_copy(model):
        model = inspection_copy(model, evaluation=False, frozen=False)
    wanted = list(dict.fromkeys(layers))
    modules = dict(model.named_modules())
    out: dict = {}
    inp = Tensor(x, requires_grad=grad or tap)
    out[None] = inp

    def hook_for(name):
        def hook(module, inputs, output):
            if name in out:
                return None
            result = None
            if tap:
                z = Tensor(np.zeros_like(output.data), requires_grad=True)
                out[(name, "tap")] = z
                result = output + z
            out[name] = output if result is None else result
            if all(n in out for n in wanted) and not tap:
                raise _Reached
            return result
        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in wanted]
    try:
        with (enable_grad() if grad or tap else no_grad()):
            try:
                out["output"] = model(inp)
            except _Reached:
                pass
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in wanted if n not in out]
    if missing:
        raise ValueError(f"run_to: layers {missing} did not run in the model's forward pass")
    return out


# -- receptive fields ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerGeometry:
    """Where a layer's units look in the input: its output shape (C, *spatial) and its
    `arith.ReceptiveField` (None where undefined, e.g. after Flatten)."""

    name: str
    output_shape: tuple
    field: object

    def box(self, unit) -> tuple[tuple[int, int], ...]:
        """Per axis the input interval [start, stop) seen by output unit `unit` (a tuple of
        indices): start = i * jump - P, stop = start + r. Parts may lie in the padding
        (start < 0 or stop > input size)."""
        f = self.field
        return tuple((i * j - p, i * j - p + r)
                     for i, j, p, r in zip(unit, f.jump, f.padding, f.size))

    def centre(self, unit) -> tuple[float, ...]:
        return tuple(self.field.center(i, axis) for axis, i in enumerate(unit))


def geometry(model, input_shape, layer: str, func: str = "geometry") -> LayerGeometry:
    """The `LayerGeometry` of `layer` from `convscope.summary(model, input_shape)`: the
    receptive field through the model itself (strides, dilations, pooling)."""
    from ..summary import summary

    rows = {r.name: r for r in summary(model, tuple(input_shape)).rows}
    if layer not in rows:
        raise ValueError(f"{func}: layer {layer!r} is not a leaf module that the summary "
                         f"traces; choose one of {', '.join(rows)}")
    row = rows[layer]
    return LayerGeometry(layer, tuple(row.output_shape), row.field)


def parse_unit(func: str, unit, spatial: tuple) -> tuple[int, ...]:
    """`unit` (indices per spatial axis) checked against the layer's output size; None
    gives the centre unit (size // 2 per axis)."""
    if unit is None:
        return tuple(s // 2 for s in spatial)
    try:
        unit = tuple(int(i) for i in unit)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: unit must be a tuple of ints, got unit={unit!r}") from None
    if len(unit) != len(spatial) or any(not 0 <= i < s for i, s in zip(unit, spatial)):
        raise ValueError(f"{func}: unit={unit} must index the layer's output of spatial size "
                         f"{'x'.join(map(str, spatial))}")
    return unit
