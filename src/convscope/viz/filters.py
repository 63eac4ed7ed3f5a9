"""Filter grids: what each convolution's filters look like, with numbers beside them.

`filter_grid` computes (the images, the shared scale, the order and the captions);
`plot_filters` draws. The first layer is drawn as images: RGB filters in colour, each
scaled by its own largest |weight| so that zero stays mid grey (0.5 + 0.5 w / max|w|);
single-channel filters with a diverging colour map centred at zero (red positive, blue
negative) on one shared scale, with a colour bar. A deeper layer (C_in > 3) is drawn per
input channel: one row per filter, one column per input channel, on one shared scale.

Captions and sorting use the lecture's claims as numbers from `convscope.measure`
('orientation': the orientation energy selectivity, `measure.orientation_energy_selectivity`,
and the preferred orientation; 'colour': the colour
opponency index), or any array with one number per filter.

Example:
    >>> import numpy as np
    >>> edge = np.array([[[[-1, 0, 1]] * 3]], dtype=float)     # one vertical-edge filter
    >>> grid = filter_grid(edge)
    >>> grid.mode, grid.vmax, grid.tiles.shape
    ('diverging', 1.0, (1, 1, 3, 3))
"""

from __future__ import annotations

import math
import os
import textwrap
from dataclasses import dataclass, field

import numpy as np

from ..display import png_bytes
from ._common import finish, new_figure

__all__ = ["FilterGrid", "filter_grid", "plot_filters"]

_MEASURES = ("orientation", "colour")


@dataclass
class FilterGrid:
    """What `filter_grid` computes.

    Attributes:
        tiles: 'rgb': (n, kh, kw, 3) colours in [0, 1]; 'diverging': (n, c, kh, kw) raw
            weights (c = 1 for a first layer, else the input channels shown).
        mode: 'rgb' or 'diverging'.
        order: the filter index of each tile (sorted when asked).
        vmax: the shared colour scale (diverging: values in [-vmax, vmax]).
        captions: one caption per tile, or None.
        scores: the numbers behind the captions / sorting, per filter in original order.
        in_channels: the input channels shown (diverging mode).
    """

    tiles: np.ndarray
    mode: str
    order: np.ndarray
    vmax: float
    captions: list | None = None
    scores: dict = field(default_factory=dict)
    in_channels: np.ndarray | None = None

    def _repr_png_(self) -> bytes:
        """Jupyter shows the picture (`plot_filters`) inline."""
        return png_bytes(plot_filters(self))

    def to_dict(self) -> dict:
        return {"mode": self.mode, "filters": [int(i) for i in self.order],
                "vmax": float(self.vmax),
                **{k: [round(float(v), 4) for v in s] for k, s in self.scores.items()},
                **{f"{k}_mean": round(float(np.mean(s)), 4) for k, s in self.scores.items()}}


def _check_weight(func: str, weight) -> np.ndarray:
    w = np.asarray(getattr(weight, "data", weight), dtype=np.float64)
    if w.ndim == 3:
        w = w[:, None]  # (C_out, 1, C_in, K): a 1-D filter bank as a small image
    if w.ndim != 4 or w.shape[0] == 0 or w.shape[1] == 0:
        raise ValueError(f"{func}: weight must have shape (C_out, C_in, kH, kW) or "
                         f"(C_out, C_in, K), got shape {np.shape(weight)}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{func}: weight holds NaN or infinite values")
    return w


def _scores(func: str, w: np.ndarray, what) -> dict:
    """{name: per-filter numbers} for a measure name or a given array."""
    if what is None:
        return {}
    if isinstance(what, str):
        name = "colour" if what == "color" else what
        if name not in _MEASURES:
            raise ValueError(f"{func}: unknown measure {what!r}; use 'orientation', "
                             f"'colour' or an array with one number per filter")
        from .. import measure  # lazily: only when captions or sorting ask for it

        if name == "orientation":
            return {"orientation_selectivity":
                    np.asarray(measure.orientation_energy_selectivity(w)),
                    "preferred_orientation": np.asarray(measure.preferred_orientation(w))}
        if w.shape[1] != 3:
            raise ValueError(f"{func}: colour opponency needs RGB filters (3 input "
                             f"channels), got {w.shape[1]}")
        return {"colour_opponency": np.asarray(measure.colour_opponency(w))}
    values = np.asarray(what, dtype=np.float64).ravel()
    if values.size != w.shape[0]:
        raise ValueError(f"{func}: expected one number per filter ({w.shape[0]}), got "
                         f"{values.size}")
    return {"score": values}


def _caption(scores: dict, i: int) -> str:
    parts = []
    if "orientation_selectivity" in scores:
        parts.append(f"OES {scores['orientation_selectivity'][i]:.2f}")
        parts.append(f"{scores['preferred_orientation'][i]:.0f}°")
    if "colour_opponency" in scores:
        parts.append(f"CO {scores['colour_opponency'][i]:.2f}")
    if "score" in scores:
        parts.append(f"{scores['score'][i]:.2f}")
    return " ".join(parts)


def filter_grid(weight, *, captions=None, sort_by=None, rgb: bool | None = None,
                max_filters: int | None = None, max_in_channels: int = 16) -> FilterGrid:
    """The tiles, scale, order and captions of a grid of convolution filters.

    Args:
        weight: (C_out, C_in, kH, kW) (or (C_out, C_in, K) for Conv1d), array or Parameter.
        captions: None, 'orientation', 'colour' (via `convscope.measure`), or an array with
            one number per filter, written under each filter.
        sort_by: the same choices; filters sorted by that number, largest first.
        rgb: draw 3-channel filters in colour (default: when C_in == 3).
        max_filters: show at most this many filters (the first ones, after sorting);
            default 64 for a first layer (C_in 1 or 3), 16 for a deeper one.
        max_in_channels: a deeper layer shows at most this many input channels.
    """
    func = "filter_grid"
    w = _check_weight(func, weight)
    if max_filters is None:
        max_filters = 64 if w.shape[1] in (1, 3) else 16
    for name, value in (("max_filters", max_filters), ("max_in_channels", max_in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{func}: {name} must be a positive int, got {name}={value!r}")
    rgb = w.shape[1] == 3 if rgb is None else bool(rgb)
    if rgb and w.shape[1] != 3:
        raise ValueError(f"{func}: rgb=True needs 3 input channels, got {w.shape[1]}")
    scores = {**_scores(func, w, captions), **_scores(func, w, sort_by)}
    order = np.arange(w.shape[0])
    if sort_by is not None:
        by = _scores(func, w, sort_by)
        key = by.get("orientation_selectivity", by.get("colour_opponency", by.get("score")))
        order = np.argsort(-key, kind="stable")
    order = order[:max_filters]
    text = [_caption(scores, i) for i in order] if captions is not None else None
    if rgb:
        peak = np.abs(w).max(axis=(1, 2, 3), keepdims=True)
        tiles = 0.5 + 0.5 * w / np.where(peak > 0, peak, 1.0)  # zero stays grey
        return FilterGrid(tiles[order].transpose(0, 2, 3, 1), "rgb", order,
                          float(np.abs(w).max()), text, scores)
    channels = np.arange(min(w.shape[1], max_in_channels))
    tiles = w[order][:, channels]
    vmax = float(np.abs(tiles).max()) or 1.0
    return FilterGrid(tiles, "diverging", order, vmax, text, scores, channels)


def plot_filters(weight, path: str | os.PathLike | None = None, title: str | None = None,
                 **options):
    """Draw a grid of filters (see `filter_grid`); write a PNG to `path`, or return the
    Figure when no path is given.

    Args:
        weight: a weight array (C_out, C_in, kH, kW), or a `FilterGrid` already computed.
        path: the PNG to write (atomically); None returns the matplotlib Figure.
        title: the title (default: what is shown and how it is scaled).
        **options: passed to `filter_grid` (captions, sort_by, rgb, max_filters, ...).
    """
    grid = weight if isinstance(weight, FilterGrid) else filter_grid(weight, **options)
    if grid.mode == "diverging" and grid.tiles.shape[1] > 1:
        return finish(_draw_matrix(grid, title), path)
    return finish(_draw_first_layer(grid, title), path)


def _draw_first_layer(grid: FilterGrid, title):
    n = len(grid.order)
    cols = max(1, math.ceil(math.sqrt(n * 1.5)))
    rows = math.ceil(n / cols)
    kh, kw = grid.tiles.shape[1:3] if grid.mode == "rgb" else grid.tiles.shape[2:4]
    cell = 0.9 if grid.captions is None else 1.2
    bar = 0.0 if grid.mode == "rgb" else 0.9
    fig = new_figure(max(3.0, cols * 0.9 * min(2.0, max(1.0, kw / kh)) + bar), rows * cell + 0.6,
                     dpi=110)
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= n:
            continue
        if grid.mode == "rgb":
            ax.imshow(grid.tiles[k], interpolation="nearest")
        else:
            image = ax.imshow(grid.tiles[k, 0], cmap="RdBu_r", vmin=-grid.vmax,
                              vmax=grid.vmax, interpolation="nearest")
        ax.set_title(f"#{grid.order[k]}", fontsize=7, pad=2)
        if grid.captions is not None:
            ax.text(0.5, -0.06, grid.captions[k], transform=ax.transAxes, ha="center",
                    va="top", fontsize=6)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="weight (shared scale)")
    legend = []
    if "orientation_selectivity" in grid.scores and grid.captions is not None:
        legend.append("OES: orientation energy selectivity, 1 - circular variance of the\n"
                      "grating energy over 5 wavelengths (0: all orientations alike, 1: one);\n"
                      "angle: preferred stripe direction (0° horizontal, 90° vertical)")
    if "colour_opponency" in grid.scores and grid.captions is not None:
        legend.append("CO: colour opponency (0: grey, 1: pure red-green or blue-yellow)")
    if legend:  # wrapped to the figure's width (about 17 characters of 7 pt per inch)
        chars = max(40, int(fig.get_figwidth() * 17))
        fig.supxlabel("\n".join(textwrap.fill(line, chars) for line in legend), fontsize=7)
    scale = ("colour: each filter scaled by its own max |w|, zero = grey" if grid.mode == "rgb"
             else "red > 0 > blue")
    joint = "\n" if grid.mode == "rgb" else "; "  # the RGB scale note is long: its own line
    fig.suptitle(title or f"{n} filters ({kh}x{kw}){joint}{scale}", fontsize=10)
    return fig


def _draw_matrix(grid: FilterGrid, title):
    """A deeper layer: one row per filter, one column per input channel."""
    n, c, kh, kw = grid.tiles.shape
    pitch_h, pitch_w = kh + 1, kw + 1
    mosaic = np.full((n * pitch_h - 1, c * pitch_w - 1), np.nan)  # NaN: the white gaps
    for i in range(n):
        for j in range(c):
            mosaic[i * pitch_h:i * pitch_h + kh, j * pitch_w:j * pitch_w + kw] = grid.tiles[i, j]
    per_pixel = min(0.1, 12.0 / (c * pitch_w), 12.0 / (n * pitch_h))  # inches per weight
    fig = new_figure(1.8 + c * pitch_w * per_pixel, 1.1 + n * pitch_h * per_pixel, dpi=110)
    ax = fig.subplots()
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
    image = ax.imshow(mosaic, cmap=cmap, vmin=-grid.vmax, vmax=grid.vmax,
                      interpolation="nearest")
    ax.set_xticks([j * pitch_w + (kw - 1) / 2 for j in range(c)],
                  [str(int(k)) for k in grid.in_channels], fontsize=6)
    ax.set_yticks([i * pitch_h + (kh - 1) / 2 for i in range(n)],
                  [str(int(k)) for k in grid.order], fontsize=6)
    ax.set_xlabel("input channel")
    ax.set_ylabel("filter (output channel)")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    fig.colorbar(image, ax=ax, shrink=0.6, label="weight (shared scale)")
    ax.set_title(title or f"{n} filters x {c} input channels ({kh}x{kw}); red > 0 > blue",
                 fontsize=10)
    return fig
