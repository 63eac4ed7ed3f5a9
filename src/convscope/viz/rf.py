"""Receptive fields: the theoretical field of a unit and its effective field (Luo et al. 2016).

The theoretical field of an output unit is the window of input pixels it can depend on, from
`convscope.summary` (strides, dilations and pooling of the model itself, via `arith`). The
effective receptive field (ERF) is how much each of those pixels actually matters: the
gradient of the unit with respect to the input, its magnitude averaged over many inputs
(random noise or images of the data set). Luo et al. found it roughly Gaussian and much
smaller than the theoretical field, growing like sqrt(depth) rather than linearly.

Numbers: `mass_inside`, the share of the gradient magnitude inside the theoretical field's
box (clipped to the image), and the half-widths of the smallest square windows, centred on
the field's centre, holding 50%, 90% and 99% of it. With zero padding `mass_inside` is 1 by
construction (a pixel outside the box cannot influence the unit, and the padding is no
pixel); padding that copies pixels (circular, or reflect/replicate padding reaching past the
box's image part) feeds pixels outside the box into the unit, and there it is a measurement
below 1.

Example:
    >>> import numpy as np
    >>> from convscope import nn
    >>> model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3))
    >>> x = np.random.default_rng(0).normal(size=(8, 1, 12, 12))
    >>> erf = effective_receptive_field(model, x, layer="2")
    >>> erf.theoretical_size, erf.mass_inside
    ((5, 5), 1.0)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..display import png_bytes
from ._common import (PADDING_RGB, check_channel, check_images, conv_layers, finish, geometry,
                      inspecting, new_figure, parse_unit, resolve_layer, run_to,
                      with_padding)
from ._common import progress_bar

__all__ = ["EffectiveReceptiveField", "LayerFieldSizes", "effective_receptive_field",
           "plot_receptive_field", "plot_receptive_field_sizes", "receptive_field_sizes"]

QUANTILES = (50, 90, 99)


@dataclass
class EffectiveReceptiveField:
    """What `effective_receptive_field` computes.

    Attributes:
        layer, unit, channel: the unit (channel None: all channels at that position).
        gradient: (H, W) mean |d unit / d input| over the inputs, summed over input channels.
        box: per axis the theoretical field [start, stop) in input coordinates (may reach
            into the padding: start < 0 or stop > size).
        theoretical_size: the field's size r per axis.
        centre: the field's centre in input coordinates.
        mass_inside: share of the gradient mass inside the theoretical field's box (1 by
            construction with zero padding; below 1 where padding copies outside pixels).
        halfwidths: {50: h, 90: h, 99: h}: half the side of the smallest centred square
            window holding that percentage of the mass (the theoretical field has r / 2).
        n_inputs: how many inputs were averaged.
        image: the first input, to draw the field on.
    """

    layer: str
    unit: tuple
    channel: int | None
    gradient: np.ndarray
    box: tuple
    theoretical_size: tuple
    centre: tuple
    mass_inside: float
    halfwidths: dict
    n_inputs: int
    image: np.ndarray

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_receptive_field`) inline."""
        return png_bytes(plot_receptive_field(self))

    def to_dict(self) -> dict:
        size = self.theoretical_size
        return {"layer": self.layer, "unit": list(self.unit), "channel": self.channel,
                "theoretical_size": size[0] if len(set(size)) == 1 else list(size),
                **{f"effective_halfwidth_{q}": self.halfwidths[q] for q in QUANTILES},
                "mass_inside": self.mass_inside, "n_inputs": self.n_inputs}


def _halfwidths(gradient: np.ndarray, centre) -> dict:
    """Half-widths of the centred square (Chebyshev) windows holding 50/90/99% of the mass.

    A pixel at Chebyshev distance d from the centre is inside a window of half-width d + 0.5
    (its own edge); the answer for q is the smallest such half-width whose window holds q%.
    """
    total = gradient.sum()
    if total <= 0:
        return {q: 0.0 for q in QUANTILES}
    grids = np.meshgrid(*[np.arange(s) for s in gradient.shape], indexing="ij")
    d = np.max([np.abs(g - c) for g, c in zip(grids, centre)], axis=0).ravel()
    order = np.argsort(d, kind="stable")
    d_sorted = d[order]
    cum = np.cumsum(gradient.ravel()[order]) / total
    # the mass within distance d_sorted[k] is the cumulative sum at the last pixel tied at it
    last = np.searchsorted(d_sorted, d_sorted, side="right") - 1
    cum_at = cum[last]
    out = {}
    for q in QUANTILES:
        k = int(np.argmax(cum_at >= q / 100 - 1e-12))
        out[q] = float(d_sorted[k] + 0.5)
    return out


def effective_receptive_field(model, inputs, layer: str | None = None, unit=None,
                              channel: int | None = None, batch_size: int = 64,
                              progress: bool = False) -> EffectiveReceptiveField:
    """The theoretical and the effective receptive field of one unit of `layer`.

    Args:
        model: a convscope `nn.Module` (evaluation mode is used; the weights are unchanged).
        inputs: (N, C, H, W) model inputs to average over: images of the data set,
            normalised as for the model, or random ones, e.g.
            ``np.random.default_rng(0).normal(size=(64, 1, 28, 28))``.
        layer: a module name (default: the last convolution).
        unit: the output position (i, j) (default: the centre of the layer's output).
        channel: one output channel, or None for every channel at that position
            (Luo et al.'s gradient signal of 1 at the centre of the output plane).
        batch_size: inputs per backward pass.
        progress: show a progress bar on stderr.

    Shape:
        gradient (H, W); the theoretical field is r = r_prev + (K_eff - 1) * j_prev per layer.
    """
    func = "effective_receptive_field"
    x = check_images(func, inputs, "inputs")
    layer = resolve_layer(func, model, layer, "last")
    geo = geometry(model, x.shape[1:], layer, func)
    if geo.field is None or len(geo.output_shape) != x.ndim - 1:
        raise ValueError(f"{func}: layer {layer!r} has no receptive field (output "
                         f"{geo.output_shape}); choose a convolution or pooling layer")
    unit = parse_unit(func, unit, geo.output_shape[1:])
    if channel is not None:
        channel = check_channel(func, channel, geo.output_shape[0], layer)
    total = np.zeros(x.shape[2:], dtype=np.float64)
    bar = progress_bar(progress, len(x), f"effective field of layer {layer}", "input")
    with inspecting(model) as view:
        for start in range(0, len(x), batch_size):
            out = run_to(view, x[start:start + batch_size], [layer], grad=True)
            a = out[layer]
            seed = np.zeros(a.shape, dtype=a.data.dtype)
            index = (slice(None), slice(None) if channel is None else channel) + unit
            seed[index] = 1.0  # samples are independent in eval mode: one backward for all
            a.backward(seed)
            total += np.abs(out[None].grad).sum(axis=(0, 1))
            bar.update(len(a.data))
    bar.close()
    gradient = total / len(x)
    box = geo.box(unit)
    inside = np.zeros(gradient.shape, dtype=bool)
    inside[tuple(slice(max(a, 0), max(b, 0)) for a, b in box)] = True
    mass = gradient.sum()
    # 1 - outside / total: exactly 1.0 when nothing leaks out (no rounding of two sums)
    mass_inside = float(1.0 - gradient[~inside].sum() / mass) if mass > 0 else float("nan")
    centre = geo.centre(unit)
    return EffectiveReceptiveField(layer, unit, channel, gradient, box, tuple(geo.field.size),
                                   centre, mass_inside, _halfwidths(gradient, centre), len(x),
                                   x[0])


@dataclass
class LayerFieldSizes:
    """Theoretical size and effective widths (2 x half-width) of one layer's centre unit."""

    layer: str
    theoretical_size: int
    effective: dict  # {50: width, 90: width, 99: width}

    def to_dict(self) -> dict:
        return {"layer": self.layer, "theoretical_size": self.theoretical_size,
                **{f"effective_size_{q}": w for q, w in self.effective.items()}}


class FieldSizes(list):
    """What `receptive_field_sizes` returns: a list of `LayerFieldSizes` that Jupyter shows
    as its picture (`plot_receptive_field_sizes`)."""

    def _repr_png_(self) -> bytes | None:
        return png_bytes(plot_receptive_field_sizes(list(self))) if self else None


def receptive_field_sizes(model, inputs, layers=None, batch_size: int = 64
                          ) -> FieldSizes:
    """Theoretical vs effective field size of the centre unit of each layer (default: every
    convolution and, in a branched model, every join of paths -- `nn.Add`, `nn.Concat`,
    whose theoretical field is the union over its paths -- in the order they run), all
    channels; sizes along the first spatial axis. The effective field comes from gradients
    through the whole model, every path included."""
    if layers is None:
        from ..summary import summary

        convs = {n for n, _ in conv_layers(model)}
        x = check_images("receptive_field_sizes", inputs, "inputs")
        rows = summary(model, tuple(x.shape[1:])).rows
        names = [r.name for r in rows if r.field is not None
                 and (r.name in convs or r.kind in ("add", "concat"))]
    else:
        names = list(layers)
    rows = []
    for name in names:
        erf = effective_receptive_field(model, inputs, name, batch_size=batch_size)
        rows.append(LayerFieldSizes(name, int(erf.theoretical_size[0]),
                                    {q: 2 * h for q, h in erf.halfwidths.items()}))
    return FieldSizes(rows)


# -- drawing -----------------------------------------------------------------------------------
def _rectangle(ax, box, **style):
    import matplotlib.patches as mpatches

    (y0, y1), (x0, x1) = box
    ax.add_patch(mpatches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                    **style))


def plot_receptive_field(erf: EffectiveReceptiveField, path: str | os.PathLike | None = None,
                         title: str | None = None):
    """The theoretical field drawn on the input (left) and the effective field as a heat map
    with the theoretical box and the 50/90/99% windows (right); the part of the field that
    lies in the padding is drawn in lilac. PNG written to `path`, or the Figure returned."""
    if erf.gradient.ndim != 2:
        raise ValueError(f"plot_receptive_field: draws 2-D inputs, got gradient shape "
                         f"{erf.gradient.shape}")
    H, W = erf.gradient.shape
    (y0, y1), (x0, x1) = erf.box
    top, left = max(0, -y0), max(0, -x0)  # padding rows / columns the field reaches
    bottom, right = max(0, y1 - H), max(0, x1 - W)
    extent = (-left - 0.5, W + right - 0.5, H + bottom - 0.5, -top - 0.5)

    def padded(values):  # (C, H, W) -> (C, H + pads, W + pads), NaN in the padding
        out = np.full((values.shape[0], H + top + bottom, W + left + right), np.nan)
        out[:, top:top + H, left:left + W] = values
        return out

    image = np.asarray(erf.image, dtype=np.float64)
    shown = with_padding(padded(image), np.nanmin(image), np.nanmax(image))
    heat = padded((erf.gradient / (erf.gradient.max() or 1.0))[None])[0]

    fig = new_figure(9.5, 4.6, dpi=110)
    ax_img, ax_erf = fig.subplots(1, 2)
    ax_img.imshow(shown, interpolation="nearest", extent=extent)
    _rectangle(ax_img, erf.box, edgecolor="red", linewidth=2)
    ax_img.plot(erf.centre[1], erf.centre[0], "r+", markersize=10)
    ax_img.set_title(f"theoretical field {'x'.join(map(str, erf.theoretical_size))} of unit "
                     f"{erf.unit} (red)", fontsize=9)
    import matplotlib

    cmap = matplotlib.colormaps["magma"].with_extremes(bad=PADDING_RGB)
    mapped = ax_erf.imshow(heat, cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                           extent=extent)
    fig.colorbar(mapped, ax=ax_erf, shrink=0.85, label="mean |gradient| (max = 1)")
    cy, cx = erf.centre
    for q, style in zip(QUANTILES, (":", "--", "-")):
        h = erf.halfwidths[q]
        _rectangle(ax_erf, ((cy - h + 0.5, cy + h + 0.5), (cx - h + 0.5, cx + h + 0.5)),
                   edgecolor="cyan", linewidth=1.2, linestyle=style,
                   label=f"{q}% of the mass: half-width {h:g}")
    _rectangle(ax_erf, erf.box, edgecolor="red", linewidth=2.5, linestyle=(0, (6, 4)),
               label=f"theoretical field: half-width {erf.theoretical_size[0] / 2:g}")
    ax_erf.legend(fontsize=7, loc="lower right", framealpha=0.8)
    ax_erf.set_title(f"effective field, mean over {erf.n_inputs} inputs; mass inside the "
                     f"red box {erf.mass_inside:.3f}", fontsize=9)
    for ax in (ax_img, ax_erf):
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
    channel = "all channels" if erf.channel is None else f"channel {erf.channel}"
    note = " (lilac: padding, outside the image)" if top + left + bottom + right else ""
    fig.suptitle(title or f"receptive field of layer {erf.layer!r}, {channel}{note}",
                 fontsize=11)
    return finish(fig, path)


def plot_receptive_field_sizes(sizes, path: str | os.PathLike | None = None,
                               title: str | None = None):
    """Theoretical vs effective size per layer. `sizes`: a list of `LayerFieldSizes`, or a
    dict {label: list} to compare models (e.g. {'initial': ..., 'trained': ...})."""
    runs = sizes if isinstance(sizes, dict) else {"": sizes}
    first = next(iter(runs.values()))
    long = len(first) > 6 or any(len(str(r.layer)) > 8 for r in first)
    fig = new_figure(max(7, 0.45 * len(first) + 2) if long else 7, 5.6 if long else 4.2,
                     dpi=110)
    ax = fig.subplots()
    x = np.arange(len(first))
    ax.plot(x, [r.theoretical_size for r in first], "k-o", label="theoretical size r")
    markers = ("s", "o", "^", "D")
    for k, (label, rows) in enumerate(runs.items()):
        dx = 0.06 * (k - (len(runs) - 1) / 2)  # side by side where the runs agree
        for q, colour in zip((50, 90), ("tab:blue", "tab:orange")):
            name = f"effective {q}%" + (f" ({label})" if label else "")
            ax.plot(x + dx, [r.effective[q] for r in rows], "--" if k else "-", color=colour,
                    marker=markers[k % 4], markerfacecolor="white" if k else colour,
                    label=name)
    if long:  # module names of a loaded model: slanted, without the word "layer"
        ax.set_xticks(x, [str(r.layer) for r in first], rotation=40, ha="right", fontsize=8)
    else:
        ax.set_xticks(x, [f"layer {r.layer}" for r in first])
    ax.set(xlabel="convolution or join of paths", ylabel="field size (input pixels)",
           title=title or "theoretical vs effective receptive field of the centre unit\n"
                          "(effective: width of the centred square holding 50% / 90% of "
                          "the gradient)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return finish(fig, path)
