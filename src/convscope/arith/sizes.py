"""Output sizes and padding: the lecture's W' = (W - K + 2P)/S + 1 and its relatives.

Per spatial dimension on plain ints, unless a name ends in ``_shape`` (those map the
per-dimension function over a tuple of sizes). `window_count` is the formula itself, the one
function that `functional`, `nn` and the rest of `arith` call; the public functions here
check their arguments and then call it. See the package docstring (`convscope.arith`) for the
derivation.

Example:
    >>> conv_output_size(32, 5)            # a 5x5 filter over 32x32 gives 28x28
    28
    >>> same_padding(224, 3, stride=2)     # TensorFlow 'SAME': the odd pixel goes at the end
    (0, 1)
"""

from __future__ import annotations

from .._args import check_bool, check_int, pad_pair, per_axis, show, split_padding

__all__ = [
    "conv_output_size", "conv_transpose_output_size", "pool_output_size",
    "conv_output_shape", "conv_transpose_output_shape", "pool_output_shape",
    "same_padding", "resolve_padding", "symmetric_same_padding",
    "padding_for_output_size", "unused_input", "exact_input_sizes",
    "kernel_extent", "window_count", "transposed_window_count", "layer_tuples",
]


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
    size = check_int(size, func=func, arg="size", minimum=1)
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size", minimum=1)
    stride = check_int(stride, func=func, arg="stride", minimum=1)
    dilation = check_int(dilation, func=func, arg="dilation", minimum=1)
    return _padding_pair(size, -(-size // stride), kernel_size, stride, dilation)


def _padding_pair(size, out_size, kernel_size, stride, dilation) -> tuple[int, int]:
    """(before, after) of the least total padding that gives `out_size` outputs (if any
    padding does), split as TensorFlow does: the odd pixel at the end."""
    total = max((out_size - 1) * stride + kernel_extent(kernel_size, dilation) - size, 0)
    return split_padding(total)


def symmetric_same_padding(kernel_size, dilation=1) -> int:
    """The padding P on each side that keeps the size at stride 1: P = d(K-1)/2.

    This is the lecture's "same padding" P = (K-1)/2. It exists only when d(K-1) is even; for
    an even kernel use the asymmetric pair that `same_padding` returns.

    Example:
        >>> symmetric_same_padding(5)
        2
    """
    func = "symmetric_same_padding"
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size", minimum=1)
    dilation = check_int(dilation, func=func, arg="dilation", minimum=1)
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
                         f"'valid', got padding={show(padding)}")
    return pad_pair(padding, func=func)


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
    ceil_mode = check_bool(ceil_mode, func="pool_output_size", arg="ceil_mode")
    return _window_output_size("pool_output_size", size, kernel_size, stride, padding,
                               dilation, ceil_mode)


def _window_output_size(func, size, kernel_size, stride, padding, dilation, ceil_mode):
    size = check_int(size, func=func, arg="size", minimum=1)
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size", minimum=1)
    stride = check_int(stride, func=func, arg="stride", minimum=1)
    dilation = check_int(dilation, func=func, arg="dilation", minimum=1)
    before, after = resolve_padding(padding, size, kernel_size, stride, dilation, func)
    span = kernel_extent(kernel_size, dilation)
    if size + before + after < span:
        raise ValueError(
            f"{func}: kernel_size={kernel_size} with dilation={dilation} spans {span}, "
            f"larger than the padded input {size + before + after} (size={size}, "
            f"padding={(before, after)})")
    return window_count(size, kernel_size, stride, (before, after), dilation, ceil_mode)


def kernel_extent(kernel_size: int, dilation: int = 1) -> int:
    """How many inputs one window covers: d(K-1) + 1 (the effective kernel size).

    Example:
        >>> kernel_extent(3, dilation=2)
        5
    """
    func = "kernel_extent"
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size")
    dilation = check_int(dilation, func=func, arg="dilation")
    return dilation * (kernel_size - 1) + 1


def _checked(func, size, kernel_size, stride, padding, dilation):
    """The ints of `window_count` and `transposed_window_count`, checked."""
    size = check_int(size, func=func, arg="size", minimum=0)
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size")
    stride = check_int(stride, func=func, arg="stride")
    dilation = check_int(dilation, func=func, arg="dilation")
    if not (isinstance(padding, (tuple, list)) and len(padding) == 2):
        raise TypeError(f"{func}: padding must be a (before, after) pair of ints, got "
                        f"padding={show(padding)}")
    return size, kernel_size, stride, pad_pair(padding, func=func), dilation


def window_count(size: int, kernel_size: int, stride: int, padding: tuple[int, int],
                 dilation: int, ceil_mode: bool = False) -> int:
    """The output-size formula itself, on checked ints; every output size in convscope
    (`conv_output_size`, `pool_output_size`, `functional`, `nn`) comes from here.

        W' = floor((W + p_b + p_a - d(K-1) - 1) / S) + 1      (ceil with ceil_mode,
             minus 1 if the last window would start in the right padding: PyTorch's rule)

    `padding` is the (before, after) pair. Returns 0 when the window is larger than the
    padded input (the callers turn that into their own error).

    Example:
        >>> window_count(32, 5, 1, (0, 0), 1)
        28
    """
    size, kernel_size, stride, (before, after), dilation = _checked(
        "window_count", size, kernel_size, stride, padding, dilation)
    ceil_mode = check_bool(ceil_mode, func="window_count", arg="ceil_mode")
    room = size + before + after - kernel_extent(kernel_size, dilation)
    if room < 0:
        return 0
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + before:
        out -= 1
    return out


def transposed_window_count(size: int, kernel_size: int, stride: int,
                            padding: tuple[int, int], output_padding: int,
                            dilation: int) -> int:
    """The transposed convolution's output-size formula on checked ints (the inverse of
    `window_count`; may be <= 0, which the callers refuse):

        W = (W' - 1) * S - p_b - p_a + d(K-1) + output_padding + 1.

    Example:
        >>> transposed_window_count(14, 4, 2, (1, 1), 0, 1)
        28
    """
    func = "transposed_window_count"
    size, kernel_size, stride, (before, after), dilation = _checked(
        func, size, kernel_size, stride, padding, dilation)
    output_padding = check_int(output_padding, func=func, arg="output_padding", minimum=0)
    return ((size - 1) * stride - before - after + kernel_extent(kernel_size, dilation)
            + output_padding)


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
    size = check_int(size, func=func, arg="size", minimum=1)
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size", minimum=1)
    stride = check_int(stride, func=func, arg="stride", minimum=1)
    dilation = check_int(dilation, func=func, arg="dilation", minimum=1)
    output_padding = check_int(output_padding, func=func, arg="output_padding", minimum=0)
    if isinstance(padding, str):
        raise ValueError(f"{func}: padding must be an int or a (before, after) pair, "
                         f"got padding={show(padding)}")
    before, after = pad_pair(padding, func=func)
    if output_padding >= stride and output_padding >= dilation:
        raise ValueError(f"{func}: output_padding must be smaller than stride or dilation, "
                         f"got output_padding={output_padding}, stride={stride}, "
                         f"dilation={dilation}")
    out = transposed_window_count(size, kernel_size, stride, (before, after), output_padding,
                                  dilation)
    if out < 1:
        raise ValueError(f"{func}: padding={show(padding)} removes the whole output "
                         f"(size={size}, kernel_size={kernel_size}, stride={stride} "
                         f"gives {out})")
    return out


def _shape(func: str, shape) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not shape:
        raise TypeError(f"{func}: shape must be a non-empty tuple of spatial sizes, "
                        f"got shape={show(shape)}")
    return tuple(check_int(s, func=func, arg="shape", minimum=1) for s in shape)


def _map_axes(func: str, size_of, shape, **args) -> tuple[int, ...]:
    """`size_of(size, **args)` along every axis of `shape`, each of `args` given once for
    every axis or once per axis."""
    shape = _shape(func, shape)
    values = zip(*(per_axis(value, len(shape), func=func, arg=arg)
                   for arg, value in args.items()))
    return tuple(size_of(size, **dict(zip(args, axis_values)))
                 for size, axis_values in zip(shape, values))


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
    size = check_int(size, func=func, arg="size", minimum=1)
    out_size = check_int(out_size, func=func, arg="out_size", minimum=1)
    kernel_size = check_int(kernel_size, func=func, arg="kernel_size", minimum=1)
    stride = check_int(stride, func=func, arg="stride", minimum=1)
    dilation = check_int(dilation, func=func, arg="dilation", minimum=1)
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
    if stride is None:
        stride = kernel_size
    check_bool(ceil_mode, func="unused_input", arg="ceil_mode")
    out = pool_output_size(size, kernel_size, stride, padding, dilation, ceil_mode)
    before, _ = resolve_padding(padding, size, kernel_size, stride, dilation)
    last_covered = (out - 1) * stride - before + kernel_extent(kernel_size, dilation)
    return max(size - last_covered, 0)


def layer_tuples(layers, *, func: str, fields: str) -> list[tuple]:
    """`layers` (a sequence of 4-tuples, one per layer) as a list, or a TypeError naming
    `func` and the expected `fields`."""
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"{func}: layers must be a sequence of {fields} tuples, got "
                        f"layers={show(layers)}")
    layers = list(layers)
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)) or len(layer) != 4:
            raise TypeError(f"{func}: layers[{i}] must be a {fields} tuple, got "
                            f"{show(layer)}")
    return layers


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
    start = check_int(start, func=func, arg="start", minimum=1)
    stop = check_int(stop, func=func, arg="stop", minimum=1)
    layers = layer_tuples(layers, func=func, fields="(kernel_size, stride, padding, dilation)")
    for i, (kernel_size, stride, padding, dilation) in enumerate(layers):
        # every layer's own arguments, checked once (at a size its window fits)
        conv_output_size(kernel_extent(check_int(kernel_size, func=func,
                                                 arg=f"layers[{i}] kernel_size"),
                                       check_int(dilation, func=func,
                                                 arg=f"layers[{i}] dilation")),
                         kernel_size, stride, padding if isinstance(padding, str) else 0,
                         dilation)
        if not isinstance(padding, str):
            pad_pair(padding, func=f"{func}: layers[{i}]")
    sizes = []
    for size in range(start, stop):
        current = size
        for kernel_size, stride, padding, dilation in layers:
            before, after = resolve_padding(padding, current, kernel_size, stride, dilation)
            if current + before + after < kernel_extent(kernel_size, dilation):
                break
            if unused_input(current, kernel_size, stride, (before, after), dilation):
                break
            current = conv_output_size(current, kernel_size, stride, (before, after),
                                       dilation)
        else:
            sizes.append(size)
    return sizes
