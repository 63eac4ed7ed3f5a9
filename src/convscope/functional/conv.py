"""Convolution, transposed convolution and padding: the public functions.

Each function validates its arguments once (`convscope._args`), calls a kernel on NumPy
arrays, and, when it was given `Tensor`s, records how to call the kernels' backward passes.
NumPy arrays in give NumPy arrays out; Tensors in give a Tensor out.

Output size along each spatial dimension (the lecture's W' = (W - K + 2P)/S + 1, with
dilation d and padding P_before + P_after)::

    out = floor((W + P_before + P_after - d*(K - 1) - 1) / S) + 1

and for the transposed convolution, which maps that output size back::

    out = (W - 1)*S - P_before - P_after + d*(K - 1) + output_padding + 1
"""

from __future__ import annotations

import numpy as np

from .. import _args, kernels
from ..arith.sizes import kernel_extent, transposed_window_count, window_count
from ..kernels import pad as pad_kernel
from ..kernels import conv_pool_jit, pool_jit, winograd_jit
from ._common import check_shape, window_stride
from ._graph import _array, _needs_grad, _result, _wants
from .pooling import max_pool

__all__ = ["conv", "conv_algorithm", "conv1d", "conv2d", "conv2d_max_pool2d", "conv3d",
           "conv_transpose", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "pad"]


def _algorithm(func: str, algorithm, x_shape, w_shape, stride, pads, dilation, groups):
    """(name, kernel) of the algorithm that runs the convolution of these shapes.

    For a transposed convolution the shapes are those of the convolution it is the adjoint
    of (x_shape is its output's shape).
    """
    name = kernels.DEFAULT_ALGORITHM if algorithm is None else algorithm
    if name == "auto":
        name, _ = kernels.choose(x_shape, w_shape, stride, pads, dilation, groups)
    elif name not in kernels.ALGORITHMS:
        raise ValueError(f"{func}: algorithm must be 'auto' or one of "
                         f"{sorted(kernels.ALGORITHMS)}, got algorithm={algorithm!r}")
    kernel = kernels.ALGORITHMS[name]
    rule = kernel.supports(x_shape, w_shape, stride, pads, dilation, groups)
    if rule is not None:
        raise ValueError(f"{func}: algorithm={name!r} needs {rule}, got "
                         f"kernel_size={tuple(w_shape[2:])}, stride={tuple(stride)}, "
                         f"dilation={tuple(dilation)}, groups={groups}, "
                         f"in_channels={x_shape[1]}")
    return name, kernel


def conv_algorithm(input_shape, weight_shape, stride=1, padding=0, dilation=1, groups=1,
                   *, transposed=False):
    """Which algorithm `algorithm='auto'` runs for these shapes, and why.

    Args:
        input_shape: (N, C_in, *S) or (C_in, *S) of the input.
        weight_shape: the weight's shape; the rank is len(weight_shape) - 2.
        stride, padding, dilation, groups: as for `conv2d` (for a transposed convolution,
            as for `conv_transpose2d`, without output_padding, which does not matter here).
        transposed: whether the layer is a transposed convolution.

    Returns:
        (algorithm, reason), two strings.

    Example:
        >>> conv_algorithm((8, 256, 14, 14), (512, 256, 1, 1), stride=2)[0]
        'pointwise'
    """
    func = "conv_algorithm"
    n = len(weight_shape) - 2
    if n < 1:
        raise ValueError(f"{func}: weight_shape needs at least 3 dimensions, got "
                         f"{tuple(weight_shape)}")
    shape = tuple(input_shape) if len(input_shape) == n + 2 else (1, *input_shape)
    if len(shape) != n + 2:
        raise ValueError(f"{func}: input_shape {tuple(input_shape)} does not match a "
                         f"{n}-d weight of shape {tuple(weight_shape)}")
    K = tuple(weight_shape[2:])
    stride = _args.ntuple(stride, n, func=func, arg="stride")
    dilation = _args.ntuple(dilation, n, func=func, arg="dilation")
    pads = _args.conv_padding(padding, n, func=func, kernel_size=K, stride=stride,
                              dilation=dilation, allow_strings=not transposed)
    w_shape = tuple(weight_shape)
    if transposed:  # the adjoint of a convolution from the output's shape to the input's
        C_out = weight_shape[1] * groups
        w_shape = (weight_shape[0], weight_shape[1], *K)
        out = tuple((s - 1) * st - sum(p) + d * (k - 1) + 1
                    for s, st, p, d, k in zip(shape[2:], stride, pads, dilation, K))
        shape = (shape[0], C_out, *out)
    return kernels.choose(shape, w_shape, stride, pads, dilation, groups)


def _common(func, input, weight, bias, stride, dilation, groups, *, transposed):
    """Checks and normalisation shared by convolution and transposed convolution.

    Returns the arrays, the rank n, whether the input is batched, C_out, groups, the kernel
    size, and stride and dilation as n-tuples.
    """
    x, w = _array(input, func, "input"), _array(weight, func, "weight")
    b = _array(bias, func, "bias", optional=True)
    layout = "(C_in, C_out/groups, *K)" if transposed else "(C_out, C_in/groups, *K)"
    if w.ndim < 3:
        raise ValueError(f"{func}: weight needs at least 3 dimensions {layout}, got shape "
                         f"{tuple(w.shape)}")
    n = w.ndim - 2
    _check_not_empty(func, x.shape, w.shape, n, layout, transposed)
    batched = _args.check_input_rank(func, x.shape, n)
    _args.check_float(func, input=x, weight=w, bias=b)
    C_in = x.shape[1 if batched else 0]
    if transposed:
        C_out = w.shape[1] * groups if isinstance(groups, int) and groups > 0 else w.shape[1]
        groups = _args.check_groups(func, groups, C_in, C_out)
        if w.shape[0] != C_in:
            raise ValueError(f"{func}: input has {C_in} channels but weight.shape[0] = "
                             f"{w.shape[0]}; a transposed convolution's weight is "
                             f"(C_in, C_out/groups, *K)")
    else:
        C_out = w.shape[0]
        groups = _args.check_groups(func, groups, C_in, C_out)
        if w.shape[1] * groups != C_in:
            raise ValueError(f"{func}: input has {C_in} channels but weight.shape[1] x "
                             f"groups = {w.shape[1]} x {groups} = {w.shape[1] * groups}")
    if b is not None and b.shape != (C_out,):
        raise ValueError(f"{func}: bias must have shape ({C_out},) (one per filter), got "
                         f"shape {tuple(b.shape)}")
    stride = _args.ntuple(stride, n, func=func, arg="stride")
    dilation = _args.ntuple(dilation, n, func=func, arg="dilation")
    return x, w, b, n, batched, C_out, groups, w.shape[2:], stride, dilation


def _check_not_empty(func, x_shape, w_shape, n, layout, transposed):
    """Refuse what PyTorch refuses: an empty kernel, no channels, an empty spatial input.

    Only the batch may be empty (N = 0 gives an empty output, as in PyTorch).
    """
    if 0 in w_shape[2:]:
        raise ValueError(f"{func}: kernel size must be positive, got weight of shape "
                         f"{tuple(w_shape)}, kernel size {tuple(w_shape[2:])}")
    names = (("C_in", "C_out/groups") if transposed else ("C_out", "C_in/groups"))
    for axis, name in enumerate(names):
        if w_shape[axis] == 0:
            raise ValueError(f"{func}: weight {layout} has {name} = 0 (shape "
                             f"{tuple(w_shape)}); a convolution needs at least one input "
                             f"and one output channel per group")
    if len(x_shape) in (n + 1, n + 2) and 0 in x_shape[-n:]:
        raise ValueError(f"{func}: input spatial size {tuple(x_shape[-n:])} must be "
                         f"non-empty (only the batch may be empty), got input of shape "
                         f"{tuple(x_shape)}")


def _bias_grad(gb):
    """dL/dbias: one bias per filter, so the sum over the batch and every position: each
    (image, filter) plane summed, then the planes over the batch in order, the same bits
    whether dL/dy is NCHW or channel-major memory (a sum over axes (0, 2, 3) at once would
    add in the memory's order)."""
    planes = gb.sum(axis=tuple(range(2, gb.ndim))) if gb.ndim > 2 else gb
    return np.ascontiguousarray(planes).sum(axis=0)


class _Conv:
    """A convolution's checked arguments and the kernel that runs it (`_prepare`)."""

    __slots__ = ("x", "w", "b", "n", "batched", "C_out", "groups", "stride", "dilation",
                 "pads", "xb", "out_size", "kernel")


def _prepare(func, input, weight, bias, stride, padding, dilation, groups, algorithm):
    """Check a convolution's arguments (errors name `func`) and pick its kernel."""
    c = _Conv()
    x, w, b, n, batched, C_out, groups, K, stride, dilation = _common(
        func, input, weight, bias, stride, dilation, groups, transposed=False)
    pads = _args.conv_padding(padding, n, func=func, kernel_size=K, stride=stride,
                              dilation=dilation)
    xb = x if batched else x[None]
    S = xb.shape[2:]
    for i in range(n):
        span = kernel_extent(K[i], dilation[i])
        padded = S[i] + sum(pads[i])
        if span > padded:
            raise ValueError(
                f"{func}: kernel_size={tuple(K)} with dilation={dilation} spans "
                f"{span} along spatial dimension {i}, larger than the padded input "
                f"{padded} (input {S[i]} + padding {pads[i][0]} + {pads[i][1]})")
    out_size = tuple(window_count(S[i], K[i], stride[i], pads[i], dilation[i])
                     for i in range(n))
    padded = tuple(s + sum(p) for s, p in zip(S, pads))
    check_shape(func, "padded input", xb.shape[:2] + padded, xb.dtype)
    stride = window_stride(stride, padded, [kernel_extent(k, d) for k, d in zip(K, dilation)])
    _, kernel = _algorithm(func, algorithm, xb.shape, w.shape, stride, pads, dilation,
                           groups)
    c.x, c.w, c.b, c.n, c.batched, c.C_out, c.groups = x, w, b, n, batched, C_out, groups
    c.stride, c.dilation, c.pads, c.xb, c.out_size, c.kernel = (stride, dilation, pads, xb,
                                                                out_size, kernel)
    return c


def _conv_backward(c, input, weight, bias, saved, gb):
    """(dL/dinput, dL/dweight, dL/dbias) from dL/dy (batched) as the graph wants them."""
    gx = gw = gbias = None
    if _wants(input):
        gx = c.kernel.backward_input(gb, c.w, c.xb.shape, c.stride, c.pads, c.dilation,
                                     c.groups)
        gx = gx if c.batched else gx[0]
    if _wants(weight):
        gw = c.kernel.backward_weight(c.xb, saved, gb, c.w.shape, c.stride, c.pads,
                                      c.dilation, c.groups)
    if _wants(bias):
        gbias = _bias_grad(gb)
    return gx, gw, gbias


def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
         algorithm=None, _func="conv"):
    """N-d convolution; the rank is weight.ndim - 2. See `conv2d` for the arguments."""
    return _run(_prepare(_func, input, weight, bias, stride, padding, dilation, groups,
                         algorithm), input, weight, bias)


def _run(c, input, weight, bias):
    """The convolution `_prepare` checked, as a graph node when a gradient is wanted."""
    values = getattr(c.kernel, "forward_values", None)
    weight_grad = _needs_grad(weight)
    if values is not None and not weight_grad:  # nothing to keep for a weight gradient
        y, saved = values(c.xb, c.w, c.stride, c.pads, c.dilation, c.groups, c.out_size), None
    else:
        y, saved = c.kernel.forward(c.xb, c.w, c.stride, c.pads, c.dilation, c.groups,
                                    c.out_size)
    if c.b is not None:
        y += c.b.reshape((1, c.C_out) + (1,) * c.n)  # y is the kernel's own new array
    out = y if c.batched else y[0]
    if not weight_grad:
        saved = None  # no weight gradient: don't keep the columns alive

    def backward(g):
        return _conv_backward(c, input, weight, bias, saved, g if c.batched else g[None])

    return _result(out, (input, weight, bias), backward, f"conv{c.n}d")


def conv2d_max_pool2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
                      *, algorithm=None, _func="conv2d", _pool_func="max_pool2d"):
    """``max_pool2d(conv2d(input, weight, bias, ...), 2)``: a convolution, then 2x2 max
    pooling at stride 2, with the same values and gradients.

    Where the convolution runs a compiled Winograd kernel (`kernels.winograd_jit`), the two
    run as one pass: each tile's outputs are pooled as they are transformed back, and the
    convolution's outputs (four times the pooled map) are never written nor read again.
    With `algorithm='auto'`, a thin layer (at most `kernels.conv_pool_jit.MAX_ROWS` values
    per window, such as a grayscale or RGB image's 3x3 layer; stride 1, dilation 1,
    groups 1) runs as one compiled pass too (`kernels.conv_pool_jit`): the pooled map
    computed directly, the weight gradient from the pooled dL/dy, the same values as the two
    functions to rounding. Otherwise it is the two functions one after the other.
    `nn.Sequential` calls this for a `Conv2d` followed by a `MaxPool2d(2)`.
    """
    c = _prepare(_func, input, weight, bias, stride, padding, dilation, groups, algorithm)
    if c.n != 2:
        raise ValueError(f"{_func}: conv2d_max_pool2d needs a 2D weight (C_out, C_in/groups, "
                         f"K_h, K_w), got shape {tuple(c.w.shape)}")
    auto = (kernels.DEFAULT_ALGORITHM if algorithm is None else algorithm) == "auto"
    if (auto and not isinstance(c.kernel, winograd_jit.Algorithm)
            and conv_pool_jit.supports(c.xb.shape, c.w.shape, c.stride, c.pads, c.dilation,
                                       c.groups)):
        return _conv_max_pool_thin(c, input, weight, bias)
    if (not isinstance(c.kernel, winograd_jit.Algorithm)
            or min(c.out_size) < 2 or c.xb.shape[0] == 0):
        return max_pool(_run(c, input, weight, bias), 2, ndim=2, _func=_pool_func)
    y, arg = winograd_jit.forward_max_pool(c.xb, c.w, c.b, c.pads, c.groups, c.out_size,
                                           m=c.kernel.m)
    out = y if c.batched else y[0]
    conv_shape = c.xb.shape[:1] + (c.C_out,) + tuple(c.out_size)
    saved = pool_jit.pool_saved_2x2(arg, conv_shape)

    def backward(g):
        gy = pool_jit.max_pool_backward(g if c.batched else g[None], saved)
        return _conv_backward(c, input, weight, bias, None, gy)

    return _result(out, (input, weight, bias), backward, "conv2d_max_pool2d")


def _conv_max_pool_thin(c, input, weight, bias):
    """`conv2d_max_pool2d` of a layer with few values per window (`kernels.conv_pool_jit`):
    the pooled map computed directly, the weight gradient from the pooled dL/dy."""
    y, arg, saved = conv_pool_jit.forward(c.xb, c.w, c.b, c.pads)
    out = y if c.batched else y[0]

    def backward(g):
        gb = g if c.batched else g[None]
        gx = gw = gbias = None
        if _wants(input):
            gx = conv_pool_jit.backward_input(gb, arg, c.w, c.xb.shape, c.pads)
            gx = gx if c.batched else gx[0]
        if _wants(weight):
            gw = conv_pool_jit.backward_weight(gb, arg, saved, c.xb, c.w.shape, c.pads)
        if _wants(bias):
            gbias = _bias_grad(gb)  # the pooled dL/dy sums as the unpooled one
        return gx, gw, gbias

    return _result(out, (input, weight, bias), backward, "conv2d_max_pool2d")


def conv_transpose(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                   groups=1, dilation=1, *, algorithm=None, _func="conv_transpose"):
    """N-d transposed convolution; see `conv_transpose2d` for the arguments."""
    func = _func
    x, w, b, n, batched, C_out, groups, K, stride, dilation = _common(
        func, input, weight, bias, stride, dilation, groups, transposed=True)
    pads = _args.conv_padding(padding, n, func=func, kernel_size=K, stride=stride,
                              dilation=dilation, allow_strings=False)
    output_padding = _args.ntuple(output_padding, n, func=func, arg="output_padding",
                                  minimum=0)
    for i in range(n):
        if output_padding[i] >= max(stride[i], dilation[i]):
            raise ValueError(f"{func}: output_padding must be smaller than stride or "
                             f"dilation, got output_padding={output_padding}, "
                             f"stride={stride}, dilation={dilation}")
    xb = x if batched else x[None]
    I = xb.shape[2:]
    out_size = tuple(transposed_window_count(I[i], K[i], stride[i], pads[i],
                                             output_padding[i], dilation[i])
                     for i in range(n))
    if any(o <= 0 for o in out_size):
        raise ValueError(f"{func}: output size {out_size} is not positive for input size "
                         f"{tuple(I)}, kernel_size={tuple(K)}, stride={stride}, "
                         f"padding={tuple(pads)}")
    out_shape = (xb.shape[0], C_out) + out_size
    check_shape(func, "output", out_shape, xb.dtype)

    # The transposed convolution is the input gradient of the convolution that maps an
    # out_shape array to x, with the same weight: y = fold(W^T @ x).
    _, kernel = _algorithm(func, algorithm, out_shape, w.shape, stride, pads, dilation,
                           groups)
    y = kernel.backward_input(xb, w, out_shape, stride, pads, dilation, groups)
    if b is not None:
        y += b.reshape((1, C_out) + (1,) * n)  # y is the kernel's own new array
    out = y if batched else y[0]

    def backward(g):
        gb = g if batched else g[None]
        gx = gw = gbias = None
        if _wants(input):  # the adjoint of the fold is the convolution itself
            gx, _ = kernel.forward(gb, w, stride, pads, dilation, groups, I)
            gx = gx if batched else gx[0]
        if _wants(weight):  # the same weight gradient, with the roles of x and y swapped
            gw = kernel.backward_weight(gb, None, xb, w.shape, stride, pads, dilation,
                                        groups)
        if _wants(bias):
            gbias = _bias_grad(gb)
        return gx, gw, gbias

    return _result(out, (input, weight, bias), backward, f"conv_transpose{n}d")


_CONV_DOC = """{n}-D convolution of a batch of {what} with C_out filters, PyTorch's `conv{n}d`.

    Each filter (C_in/groups x {K}) slides over the input; at each position one dot product
    plus the filter's one bias gives one value of that filter's activation map.

    Args:
        input: (N, C_in, {S}) or unbatched (C_in, {S}); a NumPy array or a Tensor.
        weight: (C_out, C_in/groups, {K}).
        bias: (C_out,) or None.
        stride: int or tuple of {n} ints.
        padding: int, tuple of {n} ints, tuple of {n} (before, after) pairs (asymmetric),
            'valid' (none) or 'same' (stride 1 only; an odd total puts the extra at the end).
        dilation: int or tuple of {n} ints (spacing of the kernel's taps).
        groups: split channels into groups convolved separately (groups = C_in: depthwise).
        algorithm: 'auto' (default: chosen by shape, see `conv_algorithm`), 'im2col'
            (unfold + matrix product), 'pointwise' (1x1 kernels), 'depthwise' (groups =
            C_in; NumPy), 'depthwise_jit' (the same, a compiled loop), 'winograd2' /
            'winograd4' (Winograd F(2,3) / F(4,3) per axis, for 3-tap kernels with stride 1
            and dilation 1) or 'direct' (the readable reference).

    Shape: out = floor((S + P_before + P_after - dilation*(K-1) - 1) / stride) + 1.
    """

_CONV_T_DOC = """{n}-D transposed convolution, PyTorch's `conv_transpose{n}d`.

    The adjoint of `conv{n}d` with the same weight: it maps an activation map back to the
    size of the convolution's input (upsampling when stride > 1).

    Args:
        input: (N, C_in, {S}) or unbatched (C_in, {S}).
        weight: (C_in, C_out/groups, {K}) (PyTorch's layout for transposed convolution).
        bias: (C_out,) or None.
        stride, dilation: int or tuple of {n} ints.
        padding: int, tuple of {n} ints, or tuple of {n} (before, after) pairs; removed
            from the output.
        output_padding: extra size added at the far end of each dimension, smaller than
            stride or dilation; it picks one of the input sizes a strided conv maps alike.
        groups: as for convolution.

    Shape: out = (S - 1)*stride - P_before - P_after + dilation*(K-1) + output_padding + 1.
    """

def _check_weight_rank(func, weight, n):
    shape = getattr(weight, "shape", None)
    if shape is not None and len(shape) != n + 2:
        raise ValueError(f"{func}: expected weight with {n + 2} dimensions (out, in, "
                         f"{n} kernel sizes), got shape {tuple(shape)}")


# The 1-D, 2-D and 3-D functions fix the rank and call the N-d ones; their docstrings share
# one text per kind, filled in below each definition.

def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm=None):
    _check_weight_rank("conv1d", weight, 1)
    return conv(input, weight, bias, stride, padding, dilation, groups,
                algorithm=algorithm, _func="conv1d")


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1, *, algorithm=None):
    _check_weight_rank("conv_transpose1d", weight, 1)
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, algorithm=algorithm, _func="conv_transpose1d")


conv1d.__doc__ = _CONV_DOC.format(n=1, what="signals", K="K", S="L")
conv_transpose1d.__doc__ = _CONV_T_DOC.format(n=1, K="K", S="L")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm=None):
    _check_weight_rank("conv2d", weight, 2)
    return conv(input, weight, bias, stride, padding, dilation, groups,
                algorithm=algorithm, _func="conv2d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1, *, algorithm=None):
    _check_weight_rank("conv_transpose2d", weight, 2)
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, algorithm=algorithm, _func="conv_transpose2d")


conv2d.__doc__ = _CONV_DOC.format(n=2, what="images", K="K_h x K_w", S="H, W")
conv_transpose2d.__doc__ = _CONV_T_DOC.format(n=2, K="K_h x K_w", S="H, W")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algorithm=None):
    _check_weight_rank("conv3d", weight, 3)
    return conv(input, weight, bias, stride, padding, dilation, groups,
                algorithm=algorithm, _func="conv3d")


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1, *, algorithm=None):
    _check_weight_rank("conv_transpose3d", weight, 3)
    return conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                          dilation, algorithm=algorithm, _func="conv_transpose3d")


conv3d.__doc__ = _CONV_DOC.format(n=3, what="volumes", K="K_d x K_h x K_w", S="D, H, W")
conv_transpose3d.__doc__ = _CONV_T_DOC.format(n=3, K="K_d x K_h x K_w", S="D, H, W")



def pad(input, pad, mode="constant", value=0.0):
    """Pad the trailing dimensions of `input`, PyTorch's `F.pad`.

    Args:
        input: an array or a Tensor.
        pad: (last_before, last_after, second_last_before, ...), an even number of ints.
            In 'constant' mode a negative amount crops.
        mode: 'constant' (fill with `value`), 'reflect' (mirror, edge not repeated),
            'replicate' (repeat the edge) or 'circular' (wrap around).
        value: the fill of 'constant' mode.

    Example: pad(x, (1, 1, 2, 2), mode='reflect') pads W by 1 and H by 2 on each side.
    """
    func = "pad"
    x = _array(input, func, "input")
    if not isinstance(pad, (tuple, list)) or not all(_args.is_int(p) for p in pad):
        raise TypeError(f"{func}: pad must be a tuple of ints, got pad={pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"{func}: pad needs an even number of values, at most 2 x "
                         f"input.ndim = {2 * x.ndim}, got pad={tuple(pad)}")
    if not isinstance(mode, str) or mode not in pad_kernel.MODES:
        raise ValueError(f"{func}: mode must be one of {pad_kernel.MODES}, got mode={mode!r}")
    k = len(pad) // 2
    # F.pad lists the last dimension first
    pads = tuple((int(pad[2 * (k - 1 - i)]), int(pad[2 * (k - 1 - i) + 1])) for i in range(k))
    dims = x.shape[x.ndim - k:]
    for axis, ((b, a), size) in enumerate(zip(pads, dims)):
        dim = x.ndim - k + axis
        if mode == "constant":
            if size + b + a < 0:
                raise ValueError(f"{func}: pad={tuple(pad)} crops dimension {dim} of size "
                                 f"{size} to a negative size")
            continue
        if b < 0 or a < 0:
            raise ValueError(f"{func}: mode={mode!r} needs non-negative pad, got "
                             f"pad={tuple(pad)}")
        if mode == "reflect" and max(b, a) >= size:
            raise ValueError(f"{func}: reflect padding must be smaller than the input "
                             f"dimension, got padding ({b}, {a}) for dimension {dim} of "
                             f"size {size}")
        if mode == "circular" and max(b, a) > size:
            raise ValueError(f"{func}: circular padding must be at most the input "
                             f"dimension, got padding ({b}, {a}) for dimension {dim} of "
                             f"size {size}")
        if mode == "replicate" and size == 0 and (b or a):
            raise ValueError(f"{func}: replicate padding needs a non-empty dimension {dim}")
    out = pad_kernel.pad(x, pads, mode, value)
    shape = x.shape
    return _result(out, (input,), lambda g: (pad_kernel.pad_backward(g, shape, pads, mode),),
                   "pad")
