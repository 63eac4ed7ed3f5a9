"""Convolution animations: the numbers of every frame (what slides where, what it computes).

`conv_animation` lays out one convolution the way Dumoulin & Visin's conv_arithmetic GIFs
draw it: the (padded) input as a grid of cells, the kernel's taps over it, the output beside
it, and one frame per output position (plus a held first and last frame). A transposed
convolution is drawn as the direct convolution it equals: the input stretched by S - 1
zeros between its cells, padded with d(K-1) - P on each side (plus output_padding at the
far end), and a stride-1 convolution with the kernel flipped and its channel axes swapped.

The sizes come from `convscope.arith` (the formula and the dropped rows as well), and the
values (`values=True`) from `convscope.functional`: the output is the library's own
`conv{n}d` / `conv_transpose{n}d`, and the arguments are checked by the library's code, so a
setting the library refuses gets the library's message. Drawing lives in `animate_draw`.

Example:
    >>> anim = conv_animation((5, 5), 3, stride=2, padding=1)
    >>> anim.output_size, len(anim.frames)      # 3x3 positions + a held first and last frame
    ((3, 3), 11)
    >>> anim.formulas[0]                         # both axes alike: one line
    "H' = W' = (H - K + 2P)/S + 1 = (5 - 3 + 2*1)/2 + 1 = 3"
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .. import _args, arith
from .. import functional as F
from ..nn.conv import PADDING_MODES

__all__ = ["ConvAnimation", "Frame", "conv_animation"]

# Cell kinds of the grid the kernel slides over.
INPUT, PAD, ZERO = "input", "pad", "zero"  # ZERO: a zero a transposed conv inserts
_AXES = {1: ("W",), 2: ("H", "W")}
#: The most cells the drawn grid (the padded or stretched input) may have along an axis: a
#: picture of one frame per output position is read by a person.
MAX_CELLS = 64


@dataclass(frozen=True)
class Frame:
    """One picture of the animation.

    Attributes:
        position: the output index (per axis) the kernel is at, or None for the held first
            (nothing computed yet) and last (everything computed) frames.
        taps: the grid cells under the kernel's taps, one index tuple per tap (empty when
            `position` is None).
        done: (*output_size) bool, the output cells computed so far (this one included).
        partial: (C_out, C_in) the dot product of each filter's slice with the window of
            each input channel (the bias not included), or None without values.
    """

    position: tuple | None
    taps: tuple
    done: np.ndarray
    partial: np.ndarray | None = None


@dataclass(frozen=True)
class ConvAnimation:
    """The numbers of a convolution animation (see the module docstring).

    Attributes:
        ndim: 1 or 2 spatial dimensions.
        input_size, kernel_size, stride, dilation, output_padding: per axis.
        padding: per axis (before, after), as the library resolves it.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
        transposed: drawn as the equivalent direct convolution (see the module docstring).
        channels: (C_in, C_out).
        grid_kinds: (*grid_size) str array of INPUT / PAD / ZERO cells.
        grid_source: (*grid_size, ndim) int array, the input cell each grid cell shows
            (-1 for a constant zero).
        grid_stride, grid_padding: the stride of the drawn convolution (1 when transposed)
            and its padding before the first input cell (may be negative: a crop).
        output_size: per axis, from `arith`.
        dropped: per axis, `arith.unused_input`: the last input rows no window reaches.
        uncovered: per axis, the grid rows/columns no tap ever reaches (drawn as dropped).
        formulas: one line per axis (identical axes share one line).
        x: (C_in, *input_size) input values, or None without values.
        weight: the drawn kernel, (C_out, C_in, *kernel_size) (flipped and swapped when
            transposed), or None.
        bias: (C_out,) or None.
        grid_values: (C_in, *grid_size) what the kernel slides over, or None.
        y: (C_out, *output_size) the library's output, or None.
        frames: the held first frame, one per output position in raster order, the held
            last frame.
    """

    ndim: int
    input_size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    output_padding: tuple
    padding_mode: str
    transposed: bool
    channels: tuple
    grid_kinds: np.ndarray
    grid_source: np.ndarray
    grid_stride: tuple
    grid_padding: tuple
    output_size: tuple
    dropped: tuple
    uncovered: tuple
    formulas: tuple
    x: np.ndarray | None
    weight: np.ndarray | None
    bias: np.ndarray | None
    grid_values: np.ndarray | None
    y: np.ndarray | None
    frames: tuple

    @property
    def grid_size(self) -> tuple:
        return self.grid_kinds.shape

    @property
    def func(self) -> str:
        """The library function this animation draws, e.g. 'conv2d'."""
        return f"conv{'_transpose' if self.transposed else ''}{self.ndim}d"

    def _repr_html_(self) -> str:
        """Jupyter shows the animation inline: the GIF and its formula."""
        from ..display import animation_html
        return animation_html(self)


def conv_animation(input_size, kernel_size, stride=1, padding=0, dilation=1, *,
                   transposed: bool = False, output_padding=0, padding_mode: str = "zeros",
                   channels=(1, 1), values: bool = False, seed: int = 0) -> ConvAnimation:
    """The frames of one convolution sliding over a 1-D or 2-D input.

    Args:
        input_size: W or (H, W).
        kernel_size, stride, dilation: an int or one per axis.
        padding: an int, one per axis, one (before, after) pair per axis, 'same' or 'valid'
            (the library's `conv{n}d` rules; a transposed convolution takes no strings).
        transposed: draw `conv_transpose{n}d` as the equivalent direct convolution.
        output_padding: transposed only: extra size at the far end, < stride or dilation.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular' (not with transposed).
        channels: (C_in, C_out), each 1 to 4: every output value sums C_in dot products and
            one bias per filter.
        values: draw small integers as input, kernel and bias, and the outputs the library
            computes from them (seeded by `seed`).

    Shape: the output size is `arith.conv_output_size` (transposed:
    `arith.conv_transpose_output_size`) along each axis.

    Raises ValueError / TypeError with the library's own messages for settings it refuses
    (a kernel larger than the padded input, padding='same' with a stride, ...).
    """
    who = "conv_animation"
    if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool):
        input_size = (int(input_size),)
    if not isinstance(input_size, (tuple, list)) or len(input_size) not in (1, 2):
        raise ValueError(f"{who}: input_size must be W or (H, W) (1-D or 2-D), got "
                         f"input_size={input_size!r}")
    n = len(input_size)
    size = _args.ntuple(tuple(input_size), n, func=who, arg="input_size")
    c_in, c_out = _args.ntuple(channels, 2, func=who, arg="channels")
    if max(c_in, c_out) > 4:
        raise ValueError(f"{who}: at most 4 input and 4 output channels fit in a picture, got "
                         f"channels={(c_in, c_out)}")
    if not isinstance(transposed, bool) or not isinstance(values, bool):
        raise TypeError(f"{who}: transposed and values must be bools")
    func = f"conv{'_transpose' if transposed else ''}{n}d"
    # The library's own checks, in the library's words.
    K = _args.ntuple(kernel_size, n, func=func, arg="kernel_size")
    S = _args.ntuple(stride, n, func=func, arg="stride")
    D = _args.ntuple(dilation, n, func=func, arg="dilation")
    pads = _args.conv_padding(padding, n, func=func, kernel_size=K, stride=S, dilation=D,
                              allow_strings=not transposed)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{func}: padding_mode must be one of {PADDING_MODES}, got "
                         f"padding_mode={padding_mode!r}")
    if transposed and padding_mode != "zeros":
        raise ValueError(f"{func}: only padding_mode='zeros' is supported, got "
                         f"padding_mode={padding_mode!r}")
    OP = _args.ntuple(output_padding, n, func=func, arg="output_padding", minimum=0)
    if not transposed and any(OP):
        raise ValueError(f"{func}: output_padding applies to a transposed convolution only, "
                         f"got output_padding={tuple(OP)}")

    if transposed:
        cells = tuple((s - 1) * st + 1 + 2 * d * (k - 1) - p[0] - p[1] + op
                      for s, st, k, d, p, op in zip(size, S, K, D, pads, OP))
    else:
        cells = tuple(s + p[0] + p[1] for s, p in zip(size, pads))
    if max(size + cells) > MAX_CELLS:
        raise ValueError(f"{who}: at most {MAX_CELLS} cells per axis fit in a picture, got "
                         f"input_size={size} drawn on a grid of {cells} (padding "
                         f"{tuple(pads)}); draw a smaller convolution")

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(c_in, *size)).astype(np.float64)
    w_shape = (c_in, c_out, *K) if transposed else (c_out, c_in, *K)
    w = rng.integers(-1, 3, size=w_shape).astype(np.float64)
    b = rng.integers(-1, 2, size=c_out).astype(np.float64)
    y = _library_output(func, x, w, b, S, pads, D, OP, padding_mode, transposed)

    if transposed:
        out = arith.conv_transpose_output_shape(size, K, S, pads, OP, D)
        # the drawn convolution: stride 1 over the stretched input, kernel flipped, in<->out
        grid_pad = tuple(d * (k - 1) - p[0] for k, d, p in zip(K, D, pads))
        grid_stride = (1,) * n
        grid = tuple((s - 1) * st + 1 + d * (k - 1) - p[0] + d * (k - 1) - p[1] + op
                     for s, st, k, d, p, op in zip(size, S, K, D, pads, OP))
        drawn_w = np.flip(np.swapaxes(w, 0, 1), axis=tuple(range(2, 2 + n)))
    else:
        out = arith.conv_output_shape(size, K, S, pads, D)
        grid_pad = tuple(p[0] for p in pads)
        grid_stride = S
        grid = tuple(s + p[0] + p[1] for s, p in zip(size, pads))
        drawn_w = w
    if tuple(y.shape[1:]) != tuple(out):  # the library and arith must agree
        raise RuntimeError(f"{who}: {func} gave {y.shape[1:]} but arith says {out}")

    kinds, source = _grid(size, grid, grid_pad, S if transposed else (1,) * n,
                          padding_mode, pads if not transposed else None)
    grid_values = np.zeros((c_in, *grid))
    inside = source[..., 0] >= 0
    idx = tuple(source[..., a][inside] for a in range(n))
    grid_values[(slice(None), inside)] = x[(slice(None), *idx)]

    covered = [set() for _ in range(n)]
    frames = [Frame(None, (), np.zeros(out, bool), None)]
    done = np.zeros(out, bool)
    for pos in itertools.product(*(range(o) for o in out)):
        taps = tuple(tuple(p * st + t * d for p, st, t, d in zip(pos, grid_stride, tap, D))
                     for tap in itertools.product(*(range(k) for k in K)))
        for tap in taps:
            for a in range(n):
                covered[a].add(tap[a])
        done = done.copy()
        done[pos] = True
        window = grid_values[(slice(None), *_window_slices(pos, grid_stride, K, D))]
        # (C_out, C_in): each filter slice times its channel's window, summed over the taps
        partial = (drawn_w * window[None]).reshape(c_out, c_in, -1).sum(axis=-1)
        frames.append(Frame(tuple(pos), taps, done, partial if values else None))
    frames.append(Frame(None, (), done, None))

    uncovered = tuple(tuple(g for g in range(grid[a]) if g not in covered[a])
                      for a in range(n))
    dropped = (tuple(arith.unused_input(s, k, st, p, d) for s, k, st, p, d
                     in zip(size, K, S, pads, D)) if not transposed else (0,) * n)
    formulas = _formulas(n, size, K, S, pads, D, OP, out, transposed)
    keep = (lambda a: a) if values else (lambda a: None)
    return ConvAnimation(
        ndim=n, input_size=size, kernel_size=K, stride=S, padding=pads, dilation=D,
        output_padding=OP, padding_mode=padding_mode, transposed=transposed,
        channels=(c_in, c_out), grid_kinds=kinds, grid_source=source,
        grid_stride=grid_stride, grid_padding=grid_pad, output_size=tuple(out),
        dropped=dropped, uncovered=uncovered, formulas=formulas, x=keep(x),
        weight=keep(drawn_w), bias=keep(b), grid_values=keep(grid_values), y=keep(y),
        frames=tuple(frames))


def _library_output(func, x, w, b, S, pads, D, OP, padding_mode, transposed):
    """The output of the library's convolution on (C_in, *size) values: (C_out, *out)."""
    n = len(S)
    if transposed:
        conv_t = getattr(F, func)
        return conv_t(x, w, b, stride=S, padding=pads, output_padding=OP, dilation=D)
    conv = getattr(F, func)
    if padding_mode == "zeros":
        return conv(x, w, b, stride=S, padding=pads, dilation=D)
    # as nn.Conv does for the other modes on a batch: pad (F.pad lists the last axis
    # first), then convolve without padding
    flat = tuple(v for pair in reversed(pads) for v in pair)
    padded = F.pad(x[None], flat, mode=padding_mode)
    return conv(padded, w, b, stride=S, padding=(0,) * n, dilation=D)[0]


def _grid(size, grid, grid_pad, spacing, padding_mode, pads):
    """Per grid cell its kind and the input cell it shows.

    Returns kinds (*grid) and source (*grid, n): along each axis a grid index g sits at
    position t = g - grid_pad of the (stretched) input; t is input cell t / spacing when
    spacing divides t, else an inserted zero; outside the input it is padding, which copies
    an input cell for padding_mode reflect / replicate / circular.
    """
    n = len(size)
    per_axis_kind, per_axis_src = [], []
    for a in range(n):
        g = np.arange(grid[a])
        t = g - grid_pad[a]
        length = (size[a] - 1) * spacing[a] + 1
        inside = (t >= 0) & (t < length)
        on_cell = inside & (t % spacing[a] == 0)
        src = np.where(on_cell, t // spacing[a], -1)
        kind = np.where(on_cell, 0, np.where(inside, 1, 2))  # 0 input, 1 zero, 2 pad
        if padding_mode != "zeros":
            # the index map F.pad uses (numpy's names for the same modes)
            mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[padding_mode]
            src = np.pad(np.arange(size[a]), pads[a], mode=mode)
        per_axis_kind.append(kind)
        per_axis_src.append(src)
    # a cell is padding if it is padding along any axis, else an inserted zero if it is one
    # along any axis, else an input cell
    codes = np.meshgrid(*per_axis_kind, indexing="ij")
    kinds = np.max(np.stack(codes), axis=0)
    source = np.stack(np.meshgrid(*per_axis_src, indexing="ij"), axis=-1)
    source[(source < 0).any(axis=-1)] = -1
    return np.array([INPUT, ZERO, PAD])[kinds], source


def _window_slices(pos, stride, K, D):
    return tuple(slice(p * s, p * s + d * (k - 1) + 1, d) for p, s, k, d in zip(pos, stride, K, D))


def _formulas(n, size, K, S, pads, D, OP, out, transposed) -> tuple:
    """The output-size formula with this setting's numbers, one line per axis (one line for
    both axes of a square setting). The floor is written only when the stride does not
    divide (then it drops rows)."""
    lines = []
    for a in range(n):
        (pb, pa), k, s, d, w, o = pads[a], K[a], S[a], D[a], size[a], out[a]
        name = "H' = W'" if n == 2 and a == 0 and _square(size, K, S, pads, D, OP) else (
            _AXES[n][a] + "'")
        v = _AXES[n][a]
        if transposed and pb == pa and d == 1:
            line = (f"{name} = ({v} - 1)*S - 2P + K + output_padding "
                    f"= ({w} - 1)*{s} - 2*{pb} + {k} + {OP[a]} = {o}")
        elif transposed:
            line = (f"{name} = ({v} - 1)*S - Pb - Pa + d(K - 1) + output_padding + 1 "
                    f"= ({w} - 1)*{s} - {pb} - {pa} + {d}*({k} - 1) + {OP[a]} + 1 = {o}")
        else:
            floor = (w + pb + pa - d * (k - 1) - 1) % s != 0
            lo, hi = ("floor(", ")") if floor else ("", "")
            if pb == pa and d == 1:
                line = (f"{name} = {lo}({v} - K + 2P)/S{hi} + 1 "
                        f"= {lo}({w} - {k} + 2*{pb})/{s}{hi} + 1 = {o}")
            else:
                line = (f"{name} = {lo}({v} + Pb + Pa - d(K - 1) - 1)/S{hi} + 1 "
                        f"= {lo}({w} + {pb} + {pa} - {d}*({k} - 1) - 1)/{s}{hi} + 1 = {o}")
        lines.append(line)
        if name.startswith("H' = W'"):
            break
    return tuple(lines)


def _square(*per_axis) -> bool:
    return all(len(set(v)) == 1 for v in per_axis)

