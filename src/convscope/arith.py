"""Convolution arithmetic: output sizes, 'same' padding, receptive fields, parameter counts.

Pure Python (no NumPy), so that it can describe networks far too large to run. Every function
here is per spatial dimension on plain ints unless its name ends in ``_shape`` (those map the
per-dimension function over a tuple of sizes).

The lecture's formula for the output size of a convolution,

    W' = (W - K + 2P) / S + 1,

generalises to dilation d (the kernel then spans d(K-1)+1 inputs) and to padding that differs
before and after (p_b, p_a):

    W' = floor((W + p_b + p_a - d(K-1) - 1) / S) + 1.

When S does not divide W + p_b + p_a - d(K-1) - 1 the floor drops the last rows of the input:
no window covers them (Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning", the non-divisible cases). `unused_input` counts them and `exact_input_sizes` lists
the input sizes a stack accepts without dropping any.

Receptive fields follow Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019). Along one axis a unit of layer l sees r_l inputs, adjacent
units are j_l inputs apart (the jump, or effective stride), and the field of the first unit
starts P_l inputs before the first input (the effective padding). Through a layer with kernel
K, stride S, dilation d and padding p_b before:

    r_l = r_{l-1} + (d(K-1)+1 - 1) * j_{l-1}
    j_l = j_{l-1} * S
    P_l = P_{l-1} + p_b * j_{l-1}

so L stacked KxK stride-1 layers see the lecture's 1 + L(K-1).

Example:
    >>> conv_output_size(32, 5)            # a 5x5 filter over 32x32 gives 28x28
    28
    >>> conv_output_size(224, 3, stride=2, padding=1)
    112
    >>> same_padding(224, 3, stride=2)     # TensorFlow 'SAME': the odd pixel goes at the end
    (0, 1)
    >>> rf_stack([(3, 1, 1, 1)] * 4, ndim=1).size
    (9,)
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

__all__ = [
    "conv_output_size", "conv_transpose_output_size", "pool_output_size",
    "conv_output_shape", "conv_transpose_output_shape", "pool_output_shape",
    "same_padding", "resolve_padding", "symmetric_same_padding", "padding_for_output_size",
    "unused_input", "exact_input_sizes",
    "ReceptiveField", "rf_identity", "rf_layer", "rf_merge", "rf_stack",
    "conv_params", "conv_macs", "linear_params",
]


# -- argument checks -------------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int(func: str, arg: str, value, minimum: int) -> int:
    """`value` as an int >= minimum, or a TypeError / ValueError naming func, arg and rule."""
    if not _is_int(value):
        raise TypeError(f"{func}: {arg} must be an int, got {arg}={value!r}")
    if value < minimum:
        rule = "positive" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{func}: {arg} must be {rule}, got {arg}={value!r}")
    return int(value)


def _pad_pair(func: str, padding) -> tuple[int, int]:
    """An int p (p on both sides) or a (before, after) pair, each >= 0."""
    if _is_int(padding):
        p = _int(func, "padding", padding, 0)
        return p, p
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(_is_int(p) for p in padding)):
        before, after = (int(p) for p in padding)
        if before < 0 or after < 0:
            raise ValueError(f"{func}: padding must be >= 0, got padding={padding!r}")
        return before, after
    raise TypeError(f"{func}: padding must be an int, a (before, after) pair of ints, "
                    f"'same' or 'valid', got padding={padding!r}")


def _span(kernel_size: int, dilation: int) -> int:
    """Number of inputs one window covers: d(K-1) + 1."""
    return dilation * (kernel_size - 1) + 1


# -- output sizes ----------------------------------------------------------------------------

def same_padding(size, kernel_size, stride=1, dilation=1) -> tuple[int, int]:
    """Padding (before, after) that TensorFlow's 'SAME' applies along one axis.

    'SAME' makes the output ceil(W / S) long, whatever the stride:

        total  = max((ceil(W / S) - 1) * S + d(K-1) + 1 - W, 0)
        before = floor(total / 2),  after = total - before

    so an odd total puts the extra pixel at the end. The amount depends on the input size
    W when S > 1 (at S = 1 it is d(K-1), the lecture's P = (K-1)/2 per side for odd K).

    Example:
        >>> same_padding(224, 7, stride=2)
        (2, 3)
        >>> same_padding(225, 7, stride=2)
        (3, 3)
    """
    func = "same_padding"
    size = _int(func, "size", size, 1)
    kernel_size = _int(func, "kernel_size", kernel_size, 1)
    stride = _int(func, "stride", stride, 1)
    dilation = _int(func, "dilation", dilation, 1)
    return _padding_pair(size, -(-size // stride), kernel_size, stride, dilation)


def _padding_pair(size, out_size, kernel_size, stride, dilation) -> tuple[int, int]:
    """(before, after) of the least total padding that gives `out_size` outputs (if any
    padding does), split as TensorFlow does: the odd pixel at the end."""
    total = max((out_size - 1) * stride + _span(kernel_size, dilation) - size, 0)
    return total // 2, total - total // 2


def symmetric_same_padding(kernel_size, dilation=1) -> int:
    """The padding P on each side that keeps the size at stride 1: P = d(K-1)/2.

    This is the lecture's "same padding" P = (K-1)/2. It exists only when d(K-1) is even; for
    an even kernel use the asymmetric pair that `same_padding` returns.

    Example:
        >>> symmetric_same_padding(5)
        2
    """
    func = "symmetric_same_padding"
    kernel_size = _int(func, "kernel_size", kernel_size, 1)
    dilation = _int(func, "dilation", dilation, 1)
    total = dilation * (kernel_size - 1)
    if total % 2:
        raise ValueError(
            f"{func}: kernel_size={kernel_size} with dilation={dilation} needs an odd total "
            f"padding {total}, which cannot be split evenly; use same_padding(...) for the "
            f"(before, after) pair ({total // 2}, {total - total // 2})")
    return total // 2


def resolve_padding(padding, size, kernel_size, stride=1, dilation=1,
                    func: str = "resolve_padding") -> tuple[int, int]:
    """Any padding argument as an explicit (before, after) pair for an input of `size`.

    Accepts an int p (p on both sides), a (before, after) pair, 'valid' / 'VALID' (no
    padding) and 'same' / 'SAME' (TensorFlow's rule, see `same_padding`; at stride 1 it equals
    PyTorch's padding='same').

    Example:
        >>> resolve_padding("SAME", 112, 3, stride=2)
        (0, 1)
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return 0, 0
        if mode == "same":
            return same_padding(size, kernel_size, stride, dilation)
        raise ValueError(f"{func}: padding must be an int, a (before, after) pair, 'same' or "
                         f"'valid', got padding={padding!r}")
    return _pad_pair(func, padding)


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """Output length of a convolution along one axis.

    Args:
        size: input length W.
        kernel_size: K.  stride: S (default 1).  dilation: d (default 1).
        padding: an int P (both sides), a (before, after) pair, 'same' or 'valid'.

    Shape:
        W' = floor((W + p_b + p_a - d(K-1) - 1) / S) + 1, the lecture's (W - K + 2P)/S + 1.

    Raises ValueError when the window is larger than the padded input (no output).

    Example:
        >>> conv_output_size(32, 5)
        28
        >>> conv_output_size(8, 3, stride=2, padding=(0, 1))
        4
    """
    return _window_output_size("conv_output_size", size, kernel_size, stride, padding,
                               dilation, ceil_mode=False)


def pool_output_size(size, kernel_size, stride=None, padding=0, dilation=1,
                     ceil_mode=False) -> int:
    """Output length of max / average pooling along one axis (PyTorch's rule).

    `stride` defaults to `kernel_size`. With ceil_mode=False this is `conv_output_size`.
    With ceil_mode=True the division rounds up, so a last, partial window is kept, except
    when that window would start past the input and the left padding (it would see only
    right padding):

        W' = ceil((W + p_b + p_a - d(K-1) - 1) / S) + 1,
        minus 1 if (W' - 1) * S >= W + p_b.

    Example:
        >>> pool_output_size(6, 3, stride=2)
        2
        >>> pool_output_size(6, 3, stride=2, ceil_mode=True)
        3
    """
    if stride is None:
        stride = kernel_size
    if not isinstance(ceil_mode, bool):
        raise TypeError(f"pool_output_size: ceil_mode must be a bool, got "
                        f"ceil_mode={ceil_mode!r}")
    return _window_output_size("pool_output_size", size, kernel_size, stride, padding,
                               dilation, ceil_mode)


def _window_output_size(func, size, kernel_size, stride, padding, dilation, ceil_mode):
    size = _int(func, "size", size, 1)
    kernel_size = _int(func, "kernel_size", kernel_size, 1)
    stride = _int(func, "stride", stride, 1)
    dilation = _int(func, "dilation", dilation, 1)
    before, after = resolve_padding(padding, size, kernel_size, stride, dilation, func)
    span = _span(kernel_size, dilation)
    room = size + before + after - span
    if room < 0:
        raise ValueError(
            f"{func}: kernel_size={kernel_size} with dilation={dilation} spans {span}, "
            f"larger than the padded input {size + before + after} (size={size}, "
            f"padding={(before, after)})")
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1) -> int:
    """Output length of a transposed convolution along one axis (PyTorch's rule).

    A transposed convolution maps a W'-long input back to a length W that the forward
    convolution (same K, S, P, d) would map to W'; several W do, and `output_padding` (less
    than S or d) picks among them:

        W = (W' - 1) * S - p_b - p_a + d(K-1) + output_padding + 1.

    Example:
        >>> conv_transpose_output_size(112, 3, stride=2, padding=1, output_padding=1)
        224
    """
    func = "conv_transpose_output_size"
    size = _int(func, "size", size, 1)
    kernel_size = _int(func, "kernel_size", kernel_size, 1)
    stride = _int(func, "stride", stride, 1)
    dilation = _int(func, "dilation", dilation, 1)
    output_padding = _int(func, "output_padding", output_padding, 0)
    if isinstance(padding, str):
        raise ValueError(f"{func}: padding must be an int or a (before, after) pair, "
                         f"got padding={padding!r}")
    before, after = _pad_pair(func, padding)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"{func}: output_padding must be smaller than stride or dilation, "
                         f"got output_padding={output_padding}, stride={stride}, "
                         f"dilation={dilation}")
    out = (size - 1) * stride - before - after + _span(kernel_size, dilation) + output_padding
    if out < 1:
        raise ValueError(f"{func}: padding={padding!r} removes the whole output "
                         f"(size={size}, kernel_size={kernel_size}, stride={stride} "
                         f"gives {out})")
    return out


def _per_axis(func: str, arg: str, value, n: int) -> tuple:
    """One value (an int, or a string for padding) for every axis, or a sequence of n values;
    an inner list (a per-axis (before, after) padding pair) becomes a tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{func}: {arg} needs 1 or {n} values (one per spatial "
                             f"dimension), got {arg}={value!r}")
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return (value,) * n


def _ints(func: str, arg: str, value, n: int, minimum: int) -> tuple[int, ...]:
    """`_per_axis`, each value an int >= minimum (see `_int`)."""
    return tuple(_int(func, arg, v, minimum) for v in _per_axis(func, arg, value, n))


def _shape(func: str, shape) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not shape:
        raise TypeError(f"{func}: shape must be a non-empty tuple of spatial sizes, "
                        f"got shape={shape!r}")
    return tuple(_int(func, "shape", s, 1) for s in shape)


def _map_axes(func: str, size_of, shape, **args) -> tuple[int, ...]:
    """`size_of(size, **args)` along every axis of `shape`, each of `args` given once for
    every axis or once per axis."""
    shape = _shape(func, shape)
    per_axis = zip(*(_per_axis(func, arg, value, len(shape)) for arg, value in args.items()))
    return tuple(size_of(size, **dict(zip(args, values)))
                 for size, values in zip(shape, per_axis))


def conv_output_shape(shape, kernel_size, stride=1, padding=0, dilation=1) -> tuple[int, ...]:
    """`conv_output_size` along every axis of a spatial `shape` (H, W), (D, H, W), ...

    Each argument is one value for all axes or one per axis; padding per axis may itself be a
    (before, after) pair.

    Example:
        >>> conv_output_shape((224, 224), 7, stride=2, padding=3)
        (112, 112)
    """
    return _map_axes("conv_output_shape", conv_output_size, shape, kernel_size=kernel_size,
                     stride=stride, padding=padding, dilation=dilation)


def pool_output_shape(shape, kernel_size, stride=None, padding=0, dilation=1,
                      ceil_mode=False) -> tuple[int, ...]:
    """`pool_output_size` along every axis of a spatial `shape`.

    Example:
        >>> pool_output_shape((112, 112), 3, stride=2, padding=1)
        (56, 56)
    """
    return _map_axes("pool_output_shape", pool_output_size, shape, kernel_size=kernel_size,
                     stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)


def conv_transpose_output_shape(shape, kernel_size, stride=1, padding=0, output_padding=0,
                                dilation=1) -> tuple[int, ...]:
    """`conv_transpose_output_size` along every axis of a spatial `shape`.

    Example:
        >>> conv_transpose_output_shape((7, 7), 4, stride=2, padding=1)
        (14, 14)
    """
    return _map_axes("conv_transpose_output_shape", conv_transpose_output_size, shape,
                     kernel_size=kernel_size, stride=stride, padding=padding,
                     output_padding=output_padding, dilation=dilation)


# -- inverse questions -----------------------------------------------------------------------

def padding_for_output_size(size, out_size, kernel_size, stride=1, dilation=1
                            ) -> tuple[int, int]:
    """The smallest padding (before, after) that gives `out_size` outputs from `size` inputs.

    Inverting W' = floor((W + P - d(K-1) - 1) / S) + 1 for the total P:

        P = max((W' - 1) * S + d(K-1) + 1 - W, 0),

    split as TensorFlow does (the odd pixel at the end). With W' = ceil(W / S) this is
    'SAME'; with W' = W and S = 1 it is the padding that keeps the size.

    Raises ValueError when even zero padding gives more than `out_size` outputs.

    Example:
        >>> padding_for_output_size(32, 32, 5)
        (2, 2)
    """
    func = "padding_for_output_size"
    size = _int(func, "size", size, 1)
    out_size = _int(func, "out_size", out_size, 1)
    kernel_size = _int(func, "kernel_size", kernel_size, 1)
    stride = _int(func, "stride", stride, 1)
    dilation = _int(func, "dilation", dilation, 1)
    pair = _padding_pair(size, out_size, kernel_size, stride, dilation)
    # size + total >= the span, so there is always output; it exceeds out_size only when
    # total is 0 (the input alone already gives more).
    got = conv_output_size(size, kernel_size, stride, pair, dilation)
    if got != out_size:
        raise ValueError(
            f"{func}: no padding gives out_size={out_size} from size={size} with "
            f"kernel_size={kernel_size}, stride={stride}, dilation={dilation}; zero padding "
            f"already gives {got}")
    return pair


def unused_input(size, kernel_size, stride=1, padding=0, dilation=1, ceil_mode=False) -> int:
    """How many of the last input rows no window covers (silently dropped by the floor).

    The last window starts at (W' - 1) * S - p_b and covers d(K-1) + 1 inputs, so

        unused = max(W - ((W' - 1) * S - p_b + d(K-1) + 1), 0).

    It is 0 when S divides W + p_b + p_a - d(K-1) - 1, or when padding after the input
    absorbs the remainder. (When S > d(K-1) + 1 windows also skip rows between them, and a
    dilated window has holes; those are not counted: this counts the rows after the last
    window.)

    Example:
        >>> unused_input(224, 11, stride=4)       # AlexNet's conv1 without padding
        1
        >>> unused_input(227, 11, stride=4)
        0
    """
    out = pool_output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    before, _ = resolve_padding(padding, size, kernel_size, stride, dilation)
    last_covered = (out - 1) * stride - before + _span(kernel_size, dilation)
    return max(size - last_covered, 0)


def exact_input_sizes(layers, start=1, stop=1024) -> list[int]:
    """The input sizes in [start, stop) that a stack maps without dropping rows anywhere.

    `layers` is a sequence of (kernel_size, stride, padding, dilation) per axis, padding an
    int, a (before, after) pair or 'same' / 'valid'. A size is exact when every layer has
    output and `unused_input` is 0 at every layer. With fixed padding, the exact sizes of one
    layer form an arithmetic progression of step S, and those of a stack one of step the
    product of the strides (the jump).

    Example:
        >>> exact_input_sizes([(3, 2, 0, 1)] * 2, 1, 20)   # two K3 S2 layers, no padding
        [7, 11, 15, 19]
    """
    func = "exact_input_sizes"
    start = _int(func, "start", start, 1)
    stop = _int(func, "stop", stop, 1)
    sizes = []
    for size in range(start, stop):
        current = size
        for kernel_size, stride, padding, dilation in layers:
            before, after = resolve_padding(padding, current, kernel_size, stride, dilation)
            if current + before + after < _span(kernel_size, dilation):
                break
            if unused_input(current, kernel_size, stride, (before, after), dilation):
                break
            current = conv_output_size(current, kernel_size, stride, (before, after),
                                       dilation)
        else:
            sizes.append(size)
    return sizes


# -- receptive fields ------------------------------------------------------------------------

class ReceptiveField(NamedTuple):
    """Receptive field of one unit of a layer, per spatial axis (Araujo et al. 2019).

    Attributes:
        size: r, how many inputs one unit sees, per axis.
        jump: j, the distance in inputs between adjacent units (effective stride).
        padding: P, the effective padding: the field of unit 0 spans inputs [-P, r - P - 1],
            and the field of unit i is centred at i * j - P + (r - 1) / 2.
        aligned: False when branches joined upstream disagree in jump or centre.
    """

    size: tuple[int, ...]
    jump: tuple[int, ...]
    padding: tuple[int, ...]
    aligned: bool = True

    @property
    def ndim(self) -> int:
        return len(self.size)

    def center(self, index: int, axis: int = 0) -> float:
        """Input coordinate of the centre of the field of unit `index` along `axis`."""
        r, j, p = self.size[axis], self.jump[axis], self.padding[axis]
        return index * j - p + (r - 1) / 2


def rf_identity(ndim: int) -> ReceptiveField:
    """The input itself: every unit sees one input, jump 1, no padding."""
    ndim = _int("rf_identity", "ndim", ndim, 1)
    return ReceptiveField((1,) * ndim, (1,) * ndim, (0,) * ndim)


def rf_layer(field: ReceptiveField, kernel_size, stride=1, padding_before=0, dilation=1
             ) -> ReceptiveField:
    """The receptive field after one convolution or pooling layer.

    Per axis, with K_eff = d(K-1) + 1:

        r' = r + (K_eff - 1) * j,    j' = j * S,    P' = P + p_b * j.

    Args: `kernel_size`, `stride`, `padding_before` (the padding added before the input,
    p_b, as resolved for that input size) and `dilation` are one int for every axis or one
    per axis.

    Example:
        >>> rf_layer(rf_identity(2), 7, stride=2, padding_before=3)
        ReceptiveField(size=(7, 7), jump=(2, 2), padding=(3, 3), aligned=True)
    """
    func = "rf_layer"
    n = field.ndim
    ks = _ints(func, "kernel_size", kernel_size, n, 1)
    ss = _ints(func, "stride", stride, n, 1)
    ps = _ints(func, "padding_before", padding_before, n, 0)
    ds = _ints(func, "dilation", dilation, n, 1)
    size = tuple(r + (_span(k, d) - 1) * j
                 for r, j, k, d in zip(field.size, field.jump, ks, ds))
    jump = tuple(j * s for j, s in zip(field.jump, ss))
    padding = tuple(p + pb * j for p, j, pb in zip(field.padding, field.jump, ps))
    return ReceptiveField(size, jump, padding, field.aligned)


def rf_merge(fields) -> ReceptiveField:
    """The receptive field where branches join (a residual addition or a concatenation).

    Per axis the result is the largest field over the branches. The branches are aligned
    when they share the jump and the centre of unit 0, (r - 1)/2 - P, so that every output
    unit combines fields centred on the same input point; as in Araujo et al.'s library,
    an unaligned join is reported (aligned=False), taking the widest branch's values.

    Example:
        >>> a = rf_layer(rf_identity(1), 3, padding_before=1)
        >>> rf_merge([a, rf_identity(1)])
        ReceptiveField(size=(3,), jump=(1,), padding=(1,), aligned=True)
    """
    fields = list(fields)
    if not fields:
        raise ValueError("rf_merge: needs at least one field, got none")
    n = fields[0].ndim
    if any(f.ndim != n for f in fields):
        raise ValueError(f"rf_merge: fields must have the same number of axes, got "
                         f"{[f.ndim for f in fields]}")
    aligned = all(f.aligned for f in fields)
    size, jump, padding = [], [], []
    for axis in range(n):
        jumps = {f.jump[axis] for f in fields}
        # Twice the centre, to compare ints: 2 * ((r - 1)/2 - P) = r - 1 - 2P.
        centres = {f.size[axis] - 1 - 2 * f.padding[axis] for f in fields}
        aligned = aligned and len(jumps) == 1 and len(centres) == 1
        widest = max(fields, key=lambda f: f.size[axis])
        size.append(widest.size[axis])
        jump.append(widest.jump[axis])
        padding.append(widest.padding[axis])
    return ReceptiveField(tuple(size), tuple(jump), tuple(padding), aligned)


def rf_stack(layers, ndim: int = 2) -> ReceptiveField:
    """The receptive field at the end of a chain of (kernel_size, stride, padding_before,
    dilation) layers, starting from the input.

    Example:
        >>> rf_stack([(3, 1, 1, 1)] * 3, ndim=2).size    # 1 + L(K-1) = 7
        (7, 7)
    """
    field = rf_identity(ndim)
    for kernel_size, stride, padding_before, dilation in layers:
        field = rf_layer(field, kernel_size, stride, padding_before, dilation)
    return field


# -- parameters and multiply-accumulates -----------------------------------------------------

def conv_params(in_channels, out_channels, kernel_size, groups=1, bias=True) -> int:
    """Learnable parameters of a convolution: C_out * (C_in / g) * prod(K) (+ C_out bias).

    The same count holds for a transposed convolution. `kernel_size` is a tuple.

    Example:
        >>> conv_params(3, 64, (7, 7), bias=False)
        9408
    """
    func = "conv_params"
    in_channels = _int(func, "in_channels", in_channels, 1)
    out_channels = _int(func, "out_channels", out_channels, 1)
    groups = _int(func, "groups", groups, 1)
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{func}: groups={groups} must divide in_channels={in_channels} "
                         f"and out_channels={out_channels}")
    return out_channels * (in_channels // groups) * math.prod(kernel_size) + (
        out_channels if bias else 0)


def conv_macs(in_channels, out_channels, kernel_size, out_shape, groups=1) -> int:
    """Multiply-accumulates of one convolution on one sample.

    Every output element is a dot product of length (C_in / g) * prod(K):
    MACs = C_out * prod(out_shape) * (C_in / g) * prod(K). (A FLOP count is about twice this.)

    Example:
        >>> conv_macs(3, 64, (7, 7), (112, 112))
        118013952
    """
    return (out_channels * math.prod(out_shape) * (in_channels // groups)
            * math.prod(kernel_size))


def linear_params(in_features, out_features, bias=True) -> int:
    """Learnable parameters of a fully connected layer: in * out (+ out bias)."""
    return in_features * out_features + (out_features if bias else 0)
