"""Drawing a `ConvAnimation`: a GIF (Pillow; encoded in `animate_gif`), an animated SVG, or an
HTML page with controls.

The layout is computed once as plain shapes (rectangles, lines, text) -- a static part and
one overlay per frame -- and each writer renders those shapes, so the GIF, the SVG and the
HTML page show the same picture. Colours follow conv_arithmetic: the input blue, the
kernel's taps dark blue, the output teal; padding white, the zeros a transposed convolution
inserts light grey, and the rows and columns the stride drops light red.

Example:
    >>> import os, tempfile
    >>> from convscope.viz.animate import conv_animation
    >>> path = os.path.join(tempfile.mkdtemp(), "conv.gif")
    >>> save_animation(conv_animation((5, 5), 3, padding=1), path)
    >>> from PIL import Image
    >>> Image.open(path).n_frames                 # 5x5 positions + a held first and last
    27
"""

from __future__ import annotations

import functools
import html
import textwrap
import os
from dataclasses import dataclass

import numpy as np

from ..io import atomic_write_bytes, atomic_write_text
from .animate import INPUT, PAD, ZERO, ConvAnimation

__all__ = ["render_frames", "save_animation", "to_html", "to_svg"]

FIRST_MS, LAST_MS = 1200, 2400  # the held first and last frames

_INK, _GREY, _LIGHT = "#222222", "#777777", "#bbbbbb"
_FILL = {INPUT: "#9ecae1", PAD: "#ffffff", ZERO: "#eeeeee"}
_TAP = {INPUT: "#08519c", PAD: "#6b8fb5", ZERO: "#6b8fb5"}
_DROP, _DROP_EDGE = "#fcbba1", "#de2d26"
_OUT_DONE, _OUT_NOW, _OUT_EDGE = "#99d8c9", "#00695c", "#5f9e8f"
_KERNEL = "#4a7fb5"
_MARGIN, _GAP = 18, 44


@dataclass(frozen=True)
class Shape:
    """One thing to draw. kind: 'rect' (x, y, w, h), 'line' (x, y to x2=w, y2=h) or 'text'
    (at x, y; anchor 'l', 'm' or 'r'; h is the font size)."""

    kind: str
    x: float
    y: float
    w: float = 0
    h: float = 0
    fill: str | None = None
    stroke: str | None = None
    width: float = 1
    text: str = ""
    anchor: str = "l"
    bold: bool = False


def _rect(x, y, w, h, fill, stroke=_LIGHT, width=1):
    return Shape("rect", x, y, w, h, fill=fill, stroke=stroke, width=width)


def _text(x, y, text, size, colour=_INK, anchor="l", bold=False):
    return Shape("text", x, y, h=size, fill=colour, text=text, anchor=anchor, bold=bold)


@functools.lru_cache(maxsize=None)
def _font(size: int, bold: bool = False):
    """DejaVu Sans (shipped with matplotlib) at `size` px, else Pillow's own font."""
    from PIL import ImageFont
    try:
        import matplotlib
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf",
                                               name), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size)


def _text_width(text: str, size: int, bold: bool = False) -> float:
    try:
        return _font(size, bold).getlength(text)
    except ImportError:
        return 0.62 * size * len(text)


def _number(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def _size_text(size) -> str:
    return "x".join(map(str, size))


def _setting_text(values) -> str:
    """One value when every axis has it, else one per axis: 2 or 2x1."""
    return str(values[0]) if len(set(values)) == 1 else _size_text(values)


# -- layout ------------------------------------------------------------------------------------
@dataclass
class _Layout:
    width: int
    height: int
    static: list
    frames: list  # one list of shapes per frame
    durations: list


#: Milliseconds per frame a picture may show (a GIF stores at most 655.35 s a frame).
FRAME_MS = (20, 60_000)


def check_frame_ms(frame_ms, func: str = "layout", arg: str = "frame_ms") -> int:
    """`frame_ms` as an int within `FRAME_MS`, else a ValueError naming it."""
    lo, hi = FRAME_MS
    if (not isinstance(frame_ms, (int, np.integer)) or isinstance(frame_ms, bool)
            or not lo <= frame_ms <= hi):
        raise ValueError(f"{func}: {arg} must be an int from {lo} to {hi} milliseconds, "
                         f"got {arg}={frame_ms!r}")
    return int(frame_ms)


def layout(anim: ConvAnimation, frame_ms: int = 700) -> _Layout:
    """The picture as shapes: a static part and one overlay per frame."""
    frame_ms = check_frame_ms(frame_ms)
    n, (c_in, c_out) = anim.ndim, anim.channels
    grid = anim.grid_size if n == 2 else (1, anim.grid_size[0])
    out = anim.output_size if n == 2 else (1, anim.output_size[0])
    kernel = anim.kernel_size if n == 2 else (1, anim.kernel_size[0])
    wide = max(grid[1], out[1])
    tall = max(grid[0] * c_in, out[0] * c_out)
    cs = int(np.clip(min(330 / wide, 480 / tall), 16, 40))      # cell size
    ks = int(min(cs, 26))                          # kernel cell size
    fs = max(9, int(cs * 0.42))                    # numbers in cells
    show_numbers = anim.grid_values is not None
    show_sources = not show_numbers and anim.padding_mode != "zeros"
    static: list[Shape] = []

    # -- text at the top
    y = _MARGIN
    title = _title(anim)
    static.append(_text(_MARGIN, y + 9, title, 17, bold=True))
    texts = [(title, 17, True)]
    y += 28
    for line in anim.formulas:
        static.append(_text(_MARGIN, y + 8, line, 14))
        texts.append((line, 14, False))
        y += 21
    for line in (part for note in _notes(anim) for part in textwrap.wrap(
            note, 100, break_on_hyphens=False)):
        static.append(_text(_MARGIN, y + 8, line, 13, colour="#444444"))
        texts.append((line, 13, False))
        y += 19
    top = y + 14

    # -- the three panels: input, kernel, output
    gap = max(cs // 2, 10)
    x0 = _MARGIN
    in_label = _input_label(anim)
    static.append(_text(x0, top + 8, in_label, 13, bold=True))
    grid_top = top + 26
    in_w = grid[1] * cs
    cells = {}  # (channel, i, j) -> (x, y) of the input grid cell
    label = np.vectorize(_number)(anim.grid_values) if show_numbers else None
    source_label = _source_labels(anim) if show_sources else None
    drop_rows = set(anim.uncovered[0]) if n == 2 else set()
    drop_cols = set(anim.uncovered[-1])
    for c in range(c_in):
        gy = grid_top + c * (grid[0] * cs + gap + (14 if c_in > 1 else 0))
        if c_in > 1:
            static.append(_text(x0, gy + 6, f"channel {c}", 12, _GREY))
            gy += 14
        for i in range(grid[0]):
            for j in range(grid[1]):
                kind = anim.grid_kinds[(i, j) if n == 2 else (j,)]
                fill = _FILL[kind]
                edge = _LIGHT
                if i in drop_rows or j in drop_cols:
                    fill, edge = _DROP, _DROP_EDGE
                x, yy = x0 + j * cs, gy + i * cs
                cells[c, i, j] = (x, yy, kind)
                static.append(_rect(x, yy, cs, cs, fill, edge))
                text = None
                if label is not None:
                    text = label[(c, i, j) if n == 2 else (c, j)]
                elif source_label is not None:
                    text = source_label[(i, j) if n == 2 else (j,)]
                if text is not None:
                    colour = _INK if kind == INPUT else _GREY
                    static.append(_text(x + cs / 2, yy + cs / 2, text, fs, colour, "m"))
    in_h = c_in * (grid[0] * cs + gap + (14 if c_in > 1 else 0)) - gap

    # kernel panel
    kx = x0 + max(in_w, _text_width(in_label, 13, True)) + _GAP
    k_label = f"kernel {_size_text(anim.kernel_size)}" + (
        " (flipped)" if anim.transposed else "")
    static.append(_text(kx, top + 8, k_label, 13, bold=True))
    ky = grid_top
    k_w = 0
    for o in range(c_out):
        if c_out > 1:
            static.append(_text(kx, ky + 6, f"filter {o}", 12, _GREY))
            ky += 14
        for c in range(c_in):
            bx = kx + c * (kernel[1] * ks + 8)
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    static.append(_rect(bx + j * ks, ky + i * ks, ks, ks, _KERNEL, "#ffffff"))
                    if anim.weight is not None:
                        v = anim.weight[(o, c, i, j) if n == 2 else (o, c, j)]
                        static.append(_text(bx + j * ks + ks / 2, ky + i * ks + ks / 2,
                                            _number(v), max(9, int(ks * 0.45)), "#ffffff",
                                            "m"))
        row_w = c_in * (kernel[1] * ks + 8) - 8
        if anim.bias is not None:
            static.append(_text(kx + row_w + 8, ky + kernel[0] * ks / 2,
                                f"bias {_number(anim.bias[o])}", 12, anchor="l"))
            row_w += 8 + _text_width(f"bias {_number(anim.bias[o])}", 12)
        k_w = max(k_w, row_w)
        ky += kernel[0] * ks + 12
    if anim.dilation != (1,) * n:
        static.append(_text(kx, ky + 6, f"dilation {_setting_text(anim.dilation)}: taps "
                                        f"{_setting_text(anim.dilation)} cells apart", 12,
                            _GREY))
        k_w = max(k_w, _text_width("dilation 2x2: taps 2x2 apart", 12))
        ky += 18
    k_w = max(k_w, _text_width(k_label, 13, True))

    # output panel
    ox = kx + k_w + _GAP
    out_label = f"output {_size_text(anim.output_size)}" + (
        f" x {c_out} channels" if c_out > 1 else "")
    static.append(_text(ox, top + 8, out_label, 13, bold=True))
    out_cells = {}
    for o in range(c_out):
        gy = grid_top + o * (out[0] * cs + gap + (14 if c_out > 1 else 0))
        if c_out > 1:
            static.append(_text(ox, gy + 6, f"channel {o}", 12, _GREY))
            gy += 14
        for i in range(out[0]):
            for j in range(out[1]):
                out_cells[o, i, j] = (ox + j * cs, gy + i * cs)
                static.append(_rect(ox + j * cs, gy + i * cs, cs, cs, "#ffffff", "#999999"))
    out_h = c_out * (out[0] * cs + gap + (14 if c_out > 1 else 0)) - gap
    out_w = max(out[1] * cs, _text_width(out_label, 13, True))

    bottom = grid_top + max(in_h, ky - grid_top, out_h) + 16
    # legend
    legend = _legend(anim, show_numbers)
    lx = _MARGIN
    for colour, edge, words in legend:
        static.append(_rect(lx, bottom, 14, 14, colour, edge))
        static.append(_text(lx + 19, bottom + 7, words, 12))
        lx += 19 + _text_width(words, 12) + 16
    caption_y = bottom + 28

    # -- frames
    frames, durations, captions = [], [], []
    for index, frame in enumerate(anim.frames):
        shapes: list[Shape] = []
        for tap in frame.taps:
            i, j = (tap if n == 2 else (0, tap[0]))
            for c in range(c_in):
                x, yy, kind = cells[c, i, j]
                shapes.append(_rect(x, yy, cs, cs, _TAP[kind], "#ffffff"))
                text = None
                if label is not None:
                    text = label[(c, i, j) if n == 2 else (c, j)]
                elif source_label is not None:
                    text = source_label[(i, j) if n == 2 else (j,)]
                if text is not None:
                    shapes.append(_text(x + cs / 2, yy + cs / 2, text, fs, "#ffffff", "m"))
        if frame.taps:  # the window's span
            (i0, j0), (i1, j1) = _span(frame.taps, n)
            for c in range(c_in):
                x, yy, _ = cells[c, i0, j0]
                shapes.append(Shape("rect", x, yy, (j1 - j0 + 1) * cs, (i1 - i0 + 1) * cs,
                                    stroke="#08306b", width=3))
        for o in range(c_out):
            for i in range(out[0]):
                for j in range(out[1]):
                    idx = (i, j) if n == 2 else (j,)
                    if not frame.done[idx]:
                        continue
                    now = frame.position == idx
                    x, yy = out_cells[o, i, j]
                    shapes.append(_rect(x, yy, cs, cs, _OUT_NOW if now else _OUT_DONE,
                                        _OUT_EDGE))
                    if anim.y is not None:
                        shapes.append(_text(x + cs / 2, yy + cs / 2,
                                            _number(anim.y[(o, *idx)]), fs,
                                            "#ffffff" if now else _INK, "m"))
        lines = _caption(anim, frame, index)
        captions.extend(lines)
        for k, line in enumerate(lines):
            shapes.append(_text(_MARGIN, caption_y + 8 + 19 * k, line, 14))
        frames.append(shapes)
        durations.append(FIRST_MS if index == 0 else LAST_MS if index == len(anim.frames) - 1
                         else frame_ms)
    rows = max(len(_caption(anim, f, i)) for i, f in enumerate(anim.frames))
    height = int(caption_y + 19 * max(rows, 1) + _MARGIN)
    width = max([ox + out_w + _MARGIN, lx + _MARGIN]
                + [_MARGIN * 2 + _text_width(t, s, b) for t, s, b in texts]
                + [_MARGIN * 2 + _text_width(t, 14) for t in captions])
    return _Layout(int(width), height, static, frames, durations)


def _span(taps, n):
    cells = np.array(taps if n == 2 else [(0, t[0]) for t in taps])
    return tuple(cells.min(axis=0)), tuple(cells.max(axis=0))


def _title(anim: ConvAnimation) -> str:
    n = anim.ndim
    parts = [f"{anim.func}: input {_size_text(anim.input_size)}",
             f"kernel {_size_text(anim.kernel_size)}"]
    pads = anim.padding
    if all(b == a for b, a in pads):
        parts.append(f"padding {_setting_text([b for b, _ in pads])}")
    else:
        parts.append("padding " + ", ".join(f"({b},{a})" for b, a in pads))
    parts.append(f"stride {_setting_text(anim.stride)}")
    if anim.dilation != (1,) * n:
        parts.append(f"dilation {_setting_text(anim.dilation)}")
    if any(anim.output_padding):
        parts.append(f"output_padding {_setting_text(anim.output_padding)}")
    if anim.channels != (1, 1):
        parts.append(f"channels {anim.channels[0]}->{anim.channels[1]}")
    return ", ".join(parts) + f"  ->  output {_size_text(anim.output_size)}"


def _input_label(anim: ConvAnimation) -> str:
    size = _size_text(anim.input_size)
    if anim.transposed:
        return f"input {size}, stretched and padded to {_size_text(anim.grid_size)}"
    if anim.grid_size == anim.input_size:
        return f"input {size}"
    return f"input {size}, padded to {_size_text(anim.grid_size)}"


def _notes(anim: ConvAnimation) -> list[str]:
    notes = []
    n = anim.ndim
    if anim.transposed:
        zeros = [s - 1 for s in anim.stride]
        before = anim.grid_padding
        after = [g - (i - 1) * s - 1 - b for g, i, s, b in
                 zip(anim.grid_size, anim.input_size, anim.stride, before)]
        if list(before) == after:
            pad = f"padding d(K-1) - P = {_setting_text(before)} on each side"
        else:
            pad = (f"padding d(K-1) - P = {_setting_text(before)} before and "
                   f"{_setting_text(after)} after"
                   + (" (with output_padding)" if any(anim.output_padding) else ""))
        notes.append(f"drawn as the equal direct convolution: {_setting_text(zeros)} zero(s) "
                     f"inserted between input cells (S - 1), {pad}, stride 1, kernel flipped")
    if anim.padding_mode != "zeros":
        notes.append(f"padding_mode='{anim.padding_mode}': each padded cell copies the input "
                     f"cell whose " + ("value" if anim.grid_values is not None else "number")
                     + " it shows")
    names = ("row", "column") if n == 2 else ("entry",)
    dropped = [f"{d} {names[a]}{'s' if d != 1 else ''}" for a, d in enumerate(anim.dropped)
               if d]
    if dropped:
        notes.append(f"the stride does not divide: the last {' and '.join(dropped)} of the "
                     f"input are dropped (no window reaches them)")
    elif any(anim.uncovered):
        padding_only = not anim.transposed and all(
            not anim.grid_padding[a] <= g < anim.grid_padding[a] + anim.input_size[a]
            for a, gs in enumerate(anim.uncovered) for g in gs)
        notes.append("red: grid cells no window reaches" + (
            " (the floor): padding only, no input is lost" if padding_only else
            " (the stride steps over them)"))
    return notes


def _legend(anim: ConvAnimation, numbers: bool) -> list:
    items = [(_FILL[INPUT], _LIGHT, "input")]
    if (anim.grid_kinds == PAD).any():
        items.append((_FILL[PAD], _LIGHT, "padding" + (
            " (zeros)" if anim.padding_mode == "zeros" else f" ({anim.padding_mode})")))
    if anim.transposed and any(s > 1 for s in anim.stride):
        items.append((_FILL[ZERO], _LIGHT, "inserted zeros"))
    items.append((_TAP[INPUT], "#ffffff", "kernel taps"))
    if any(anim.uncovered):
        items.append((_DROP, _DROP_EDGE, "no window reaches"))
    items.append((_OUT_DONE, _OUT_EDGE, "output computed"))
    return items


def _source_labels(anim: ConvAnimation):
    """Without values: number the input cells 1, 2, ... and show in each padded cell the
    number of the cell it copies."""
    numbers = np.arange(1, int(np.prod(anim.input_size)) + 1).reshape(anim.input_size)
    src = anim.grid_source
    labels = np.full(anim.grid_size, "", dtype=object)
    for idx in np.ndindex(*anim.grid_size):
        s = tuple(src[idx])
        labels[idx] = "" if s[0] < 0 else str(numbers[s])
    return labels


def _caption(anim: ConvAnimation, frame, index: int) -> list[str]:
    positions = int(np.prod(anim.output_size))
    if frame.position is None:
        if index == 0:
            return [f"{positions} output positions: one frame each"]
        return [f"done: all {positions} positions computed, output "
                f"{_size_text(anim.output_size)}"]
    pos = frame.position
    where = ", ".join(map(str, pos))
    if frame.partial is None:
        (i0, j0), (i1, j1) = _span(frame.taps, anim.ndim)
        if anim.ndim == 2:
            return [f"output ({where}): the window covers rows {i0}-{i1}, columns {j0}-{j1} "
                    f"of the grid"]
        return [f"output ({where}): the window covers entries {j0}-{j1} of the grid"]
    lines = []
    c_in, c_out = anim.channels
    signed = lambda v: _number(v) if v >= 0 else f"({_number(v)})"
    what = " + ".join(f"sum(x{c} * w{c})" for c in range(c_in)) if c_in > 1 else "sum(x * w)"
    for o in range(c_out):
        terms = " + ".join(signed(v) for v in [*frame.partial[o], anim.bias[o]])
        name = f"y{o}" if c_out > 1 else "y"
        lines.append(f"{name}[{where}] = {what} + bias = {terms} = "
                     f"{_number(anim.y[(o, *pos)])}")
    return lines


# -- writers -----------------------------------------------------------------------------------
def _draw_pil(draw, shapes):
    for s in shapes:
        if s.kind == "rect":
            draw.rectangle([s.x, s.y, s.x + s.w - 1, s.y + s.h - 1], fill=s.fill,
                           outline=s.stroke, width=int(s.width))
        elif s.kind == "line":
            draw.line([s.x, s.y, s.w, s.h], fill=s.stroke, width=int(s.width))
        else:
            anchor = {"l": "lm", "m": "mm", "r": "rm"}[s.anchor]
            draw.text((s.x, s.y), s.text, fill=s.fill, font=_font(int(s.h), s.bold),
                      anchor=anchor)


def render_frames(anim: ConvAnimation, frame_ms: int = 700):
    """The frames as Pillow RGB images and their durations in milliseconds."""
    from .._optional import require
    Image = require("PIL.Image", "convscope.viz.animate (drawing frames)")
    ImageDraw = require("PIL.ImageDraw", "convscope.viz.animate (drawing frames)")
    lay = layout(anim, frame_ms)
    base = Image.new("RGB", (lay.width, lay.height), "#ffffff")
    _draw_pil(ImageDraw.Draw(base), lay.static)
    images = []
    for shapes in lay.frames:
        image = base.copy()
        _draw_pil(ImageDraw.Draw(image), shapes)
        images.append(image)
    return images, lay.durations


def _svg_shape(s: Shape) -> str:
    if s.kind == "rect":
        fill = s.fill or "none"
        return (f'<rect x="{s.x:g}" y="{s.y:g}" width="{s.w:g}" height="{s.h:g}" '
                f'fill="{fill}" stroke="{s.stroke or "none"}" stroke-width="{s.width:g}"/>')
    if s.kind == "line":
        return (f'<line x1="{s.x:g}" y1="{s.y:g}" x2="{s.w:g}" y2="{s.h:g}" '
                f'stroke="{s.stroke}" stroke-width="{s.width:g}"/>')
    anchor = {"l": "start", "m": "middle", "r": "end"}[s.anchor]
    weight = ' font-weight="bold"' if s.bold else ""
    return (f'<text x="{s.x:g}" y="{s.y:g}" font-size="{s.h:g}" fill="{s.fill}" '
            f'text-anchor="{anchor}" dominant-baseline="central"{weight}>'
            f'{html.escape(s.text)}</text>')


def _svg(lay: _Layout, animated: bool, element_id: str = "") -> str:
    total = sum(lay.durations)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width}" '
             f'height="{lay.height}" viewBox="0 0 {lay.width} {lay.height}"'
             f'{f" id={chr(34)}{element_id}{chr(34)}" if element_id else ""} '
             f'font-family="DejaVu Sans, Verdana, sans-serif">',
             f'<rect width="{lay.width}" height="{lay.height}" fill="#ffffff"/>']
    parts += [_svg_shape(s) for s in lay.static]
    start = 0
    for k, (shapes, ms) in enumerate(zip(lay.frames, lay.durations)):
        show = "inline" if k == 0 else "none"
        parts.append(f'<g class="frame" data-ms="{ms}" display="{show}">')
        if animated:  # SMIL: visible from `start` for `ms` of every `total`-long loop
            times = [0.0, start / total, (start + ms) / total]
            values = ["none", "inline", "none"]
            if start == 0:
                times, values = times[1:], values[1:]
            parts.append(f'<animate attributeName="display" values="{";".join(values)}" '
                         f'keyTimes="{";".join(f"{t:.6f}" for t in times)}" '
                         f'dur="{total / 1000:g}s" calcMode="discrete" '
                         f'repeatCount="indefinite"/>')
        parts += [_svg_shape(s) for s in shapes]
        parts.append("</g>")
        start += ms
    parts.append("</svg>")
    return "\n".join(parts)


def to_svg(anim: ConvAnimation, frame_ms: int = 700) -> str:
    """The animation as one SVG that plays by itself in a browser (SMIL)."""
    return _svg(layout(anim, frame_ms), animated=True)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:16px}} button{{font-size:15px;margin-right:6px}}
</style></head><body>
<div>{svg}</div>
<p><button id="prev">&#9664; step</button><button id="play">pause</button>
<button id="next">step &#9654;</button>
<input id="slider" type="range" min="0" max="{last}" value="0" style="width:300px">
<span id="where"></span></p>
<script>
(function () {{
  var frames = document.querySelectorAll("#anim g.frame"), k = 0, timer = null;
  var slider = document.getElementById("slider"), where = document.getElementById("where");
  function show(i) {{
    frames[k].setAttribute("display", "none");
    k = (i + frames.length) % frames.length;
    frames[k].setAttribute("display", "inline");
    slider.value = k; where.textContent = "frame " + (k + 1) + " of " + frames.length;
  }}
  function tick() {{ show(k + 1); timer = setTimeout(tick, +frames[k].dataset.ms); }}
  function stop() {{ clearTimeout(timer); timer = null;
    document.getElementById("play").textContent = "play"; }}
  document.getElementById("play").onclick = function () {{
    if (timer) {{ stop(); }} else {{ this.textContent = "pause"; tick(); }} }};
  document.getElementById("prev").onclick = function () {{ stop(); show(k - 1); }};
  document.getElementById("next").onclick = function () {{ stop(); show(k + 1); }};
  slider.oninput = function () {{ stop(); show(+slider.value); }};
  show(0); timer = setTimeout(tick, +frames[0].dataset.ms);
}})();
</script></body></html>
"""


def to_html(anim: ConvAnimation, frame_ms: int = 700) -> str:
    """A self-contained page: the animation with play / pause / step buttons and a slider."""
    lay = layout(anim, frame_ms)
    return _HTML.format(title=html.escape(_title(anim)), svg=_svg(lay, False, "anim"),
                        last=len(lay.frames) - 1)


def save_animation(anim: ConvAnimation, path: str | os.PathLike, frame_ms: int = 700) -> None:
    """Write `anim` to `path` (atomically): .gif (Pillow), .svg or .html by the extension."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".gif":
        from .animate_gif import to_gif
        atomic_write_bytes(path, to_gif(anim, frame_ms))
    elif ext == ".svg":
        atomic_write_text(path, to_svg(anim, frame_ms))
    elif ext in (".html", ".htm"):
        atomic_write_text(path, to_html(anim, frame_ms))
    else:
        raise ValueError(f"save_animation: the file name must end in .gif, .svg or .html, "
                         f"got {os.fspath(path)!r}")
