"""Converters of the windowed ops: Conv, ConvTranspose, MaxPool, AveragePool, the global
poolings and a reduction over all spatial axes; and the helpers every converter shares
(`float_array`, `single`). Each reads every attribute of its op (auto_pad, asymmetric pads,
output_shape...) or refuses it by name.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn

__all__ = ["conv", "conv_transpose", "max_pool", "avg_pool", "global_pool", "reduce_spatial",
           "float_array", "single", "constant_axes"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_GAP = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


def float_array(array, like=None):
    """`array` as a contiguous float array (float32 unless it is a float already)."""
    a = np.asarray(array)
    if a.dtype.kind != "f":
        return a.astype(np.float32 if like is None else like)
    return np.ascontiguousarray(a)


def single(value) -> float:
    """A float32 attribute as the shortest float that rounds to it (1e-05, not
    9.999999747378752e-06)."""
    return float(str(np.float32(value)))


def _ints(ctx, node, attrs, key, n, default):
    value = attrs.get(key)
    if value is None:
        return (default,) * n
    if len(value) != n:
        raise ctx.invalid(node, f"{key}={list(value)} needs {n} values (one per spatial "
                                f"dimension)")
    return tuple(int(v) for v in value)


def _pads(ctx, node, attrs, n, kernel, stride, dilation):
    """Explicit (before, after) pads from `pads` or `auto_pad`."""
    auto = attrs.get("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise ctx.unsupported(node, f"auto_pad={auto!r} is not supported (NOTSET, VALID, "
                                    f"SAME_UPPER or SAME_LOWER)")
    if auto == "NOTSET":
        pads = attrs.get("pads", [0] * 2 * n)
        if len(pads) != 2 * n:
            raise ctx.invalid(node, f"pads={list(pads)} needs {2 * n} values")
        if any(p < 0 for p in pads):
            raise ctx.unsupported(node, f"negative pads={list(pads)} are not supported")
        return tuple((int(pads[i]), int(pads[i + n])) for i in range(n))
    if auto == "VALID":
        return ((0, 0),) * n
    shape = ctx.shape(node.input[0])
    pairs = []
    for i in range(n):
        span = (kernel[i] - 1) * dilation[i] + 1
        if stride[i] == 1:
            total = span - 1
        else:
            size = None if shape is None or len(shape) != n + 2 else shape[2 + i]
            if size is None:
                raise ctx.unsupported(node, f"auto_pad={auto} with stride {stride[i]} needs "
                                            f"the input's size, which is not static")
            total = max((math.ceil(size / stride[i]) - 1) * stride[i] + span - size, 0)
        small, big = total // 2, total - total // 2
        pairs.append((small, big) if auto == "SAME_UPPER" else (big, small))
    return tuple(pairs)


def _check_rank(ctx, node, n, what="input"):
    shape = ctx.shape(node.input[0])
    if shape is not None and len(shape) != n + 2:
        raise ctx.invalid(node, f"its {what} {node.input[0]!r} has rank {len(shape)} "
                                f"(shape {shape}) but the op is {n}-D and needs rank {n + 2}")


def conv(ctx, node):
    attrs = ctx.attrs(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                             "strides"})
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    w = float_array(ctx.const(node, node.input[1], "weight"))
    b = ctx.const(node, node.input[2] if len(node.input) > 2 else "", "bias", optional=True)
    n = w.ndim - 2
    if n not in _CONV:
        raise ctx.unsupported(node, f"a weight of shape {w.shape}: convscope reads 1-D, 2-D "
                                    f"and 3-D convolutions")
    kernel = tuple(w.shape[2:])
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != kernel:
        raise ctx.invalid(node, f"kernel_shape={list(attrs['kernel_shape'])} does not match "
                                f"the weight's shape {w.shape}")
    stride = _ints(ctx, node, attrs, "strides", n, 1)
    dilation = _ints(ctx, node, attrs, "dilations", n, 1)
    groups = int(attrs.get("group", 1))
    _check_rank(ctx, node, n)
    pads = _pads(ctx, node, attrs, n, kernel, stride, dilation)
    layer = _CONV[n](w.shape[1] * groups, w.shape[0], kernel, stride, pads, dilation, groups,
                     bias=b is not None, dtype=w.dtype)
    layer.weight.data = w
    if b is not None:
        layer.bias.data = float_array(b, w.dtype)
    ctx.add(node, [layer], [x])


def conv_transpose(ctx, node):
    attrs = ctx.attrs(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                             "strides", "output_padding", "output_shape"})
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    w = float_array(ctx.const(node, node.input[1], "weight"))
    b = ctx.const(node, node.input[2] if len(node.input) > 2 else "", "bias", optional=True)
    n = w.ndim - 2
    if n not in _CONV_T:
        raise ctx.unsupported(node, f"a weight of shape {w.shape}: convscope reads 1-D, 2-D "
                                    f"and 3-D transposed convolutions")
    kernel = tuple(w.shape[2:])
    if "kernel_shape" in attrs and tuple(attrs["kernel_shape"]) != kernel:
        raise ctx.invalid(node, f"kernel_shape={list(attrs['kernel_shape'])} does not match "
                                f"the weight's shape {w.shape}")
    stride = _ints(ctx, node, attrs, "strides", n, 1)
    dilation = _ints(ctx, node, attrs, "dilations", n, 1)
    extra = _ints(ctx, node, attrs, "output_padding", n, 0)
    groups = int(attrs.get("group", 1))
    _check_rank(ctx, node, n)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ctx.unsupported(node, f"output_padding={extra} must be smaller than the stride "
                                    f"{stride} or the dilation {dilation} (PyTorch's rule)")
    auto = attrs.get("auto_pad", "NOTSET")
    full = [(kernel[i] - 1) * dilation[i] + 1 + extra[i] for i in range(n)]
    if "output_shape" in attrs:
        out = list(attrs["output_shape"])[-n:]
        shape = ctx.shape(node.input[0])
        if len(out) != n or shape is None or None in shape[2:]:
            raise ctx.unsupported(node, "output_shape needs the input's static size and one "
                                        "size per spatial dimension")
        totals = [stride[i] * (shape[2 + i] - 1) + full[i] - out[i] for i in range(n)]
    elif auto in ("SAME_UPPER", "SAME_LOWER"):
        totals = [full[i] - stride[i] for i in range(n)]  # the output is input * stride
    else:
        totals = None
    if totals is None:
        pads = _pads(ctx, node, attrs, n, kernel, stride, dilation)
    else:
        if any(t < 0 for t in totals):
            raise ctx.unsupported(node, f"the requested output is larger than the full "
                                        f"transposed convolution (padding {totals} < 0)")
        upper = auto == "SAME_UPPER"
        pads = tuple((t // 2, t - t // 2) if upper else (t - t // 2, t // 2) for t in totals)
    layer = _CONV_T[n](w.shape[0], w.shape[1] * groups, kernel, stride, pads, extra, groups,
                       bias=b is not None, dilation=dilation, dtype=w.dtype)
    layer.weight.data = w
    if b is not None:
        layer.bias.data = float_array(b, w.dtype)
    ctx.add(node, [layer], [x])


def _flat_pad(pads):
    """(before, after) pairs of the spatial axes as F.pad's tuple (last axis first)."""
    return tuple(v for pair in reversed(pads) for v in pair)


def max_pool(ctx, node):
    attrs = ctx.attrs(node, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                             "storage_order", "strides"})
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    if "kernel_shape" not in attrs:
        raise ctx.invalid(node, "the attribute kernel_shape is required")
    kernel = tuple(int(k) for k in attrs["kernel_shape"])
    n = len(kernel)
    if n not in _MAX:
        raise ctx.unsupported(node, f"kernel_shape={list(kernel)}: convscope pools 1-D, 2-D "
                                    f"and 3-D")
    _check_rank(ctx, node, n)
    stride = _ints(ctx, node, attrs, "strides", n, 1)
    dilation = _ints(ctx, node, attrs, "dilations", n, 1)
    ceil = bool(attrs.get("ceil_mode", 0))
    pads = _pads(ctx, node, attrs, n, kernel, stride, dilation)
    if all(b == a and b <= k // 2 for (b, a), k in zip(pads, kernel)):
        ctx.add(node, [_MAX[n](kernel, stride, tuple(b for b, _ in pads), dilation, ceil)], [x])
        return
    if ceil:
        raise ctx.unsupported(node, f"pads={pads} (asymmetric or over half the kernel) "
                                    f"together with ceil_mode=1")
    pad = nn.Pad(_flat_pad(pads), "constant", -math.inf)
    ctx.add(node, [pad, _MAX[n](kernel, stride, 0, dilation, False)], [x])


def avg_pool(ctx, node):
    attrs = ctx.attrs(node, {"auto_pad", "ceil_mode", "count_include_pad", "dilations",
                             "kernel_shape", "pads", "strides"})
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    if "kernel_shape" not in attrs:
        raise ctx.invalid(node, "the attribute kernel_shape is required")
    kernel = tuple(int(k) for k in attrs["kernel_shape"])
    n = len(kernel)
    if n not in _AVG:
        raise ctx.unsupported(node, f"kernel_shape={list(kernel)}: convscope pools 1-D, 2-D "
                                    f"and 3-D")
    _check_rank(ctx, node, n)
    stride = _ints(ctx, node, attrs, "strides", n, 1)
    if _ints(ctx, node, attrs, "dilations", n, 1) != (1,) * n:
        raise ctx.unsupported(node, f"dilations={attrs['dilations']}: convscope's average "
                                    f"pooling has no dilation")
    ceil = bool(attrs.get("ceil_mode", 0))
    include = bool(attrs.get("count_include_pad", 0))
    pads = _pads(ctx, node, attrs, n, kernel, stride, (1,) * n)
    if all(b == a and b <= k // 2 for (b, a), k in zip(pads, kernel)):
        ctx.add(node, [_AVG[n](kernel, stride, tuple(b for b, _ in pads), ceil, include)], [x])
        return
    if ceil or not include:
        raise ctx.unsupported(node, f"pads={pads} (asymmetric or over half the kernel) need "
                                    f"count_include_pad=1 and ceil_mode=0")
    ctx.add(node, [nn.Pad(_flat_pad(pads)), _AVG[n](kernel, stride, 0, False, True)], [x])


def global_pool(ctx, node):
    ctx.attrs(node, set())
    x = ctx.tensor(node, node.input[0])
    if node.op_type == "GlobalMaxPool":
        ctx.add(node, [nn.GlobalMaxPool()], [x])
        return
    n = ctx.rank(node, node.input[0]) - 2
    if n not in _GAP:
        raise ctx.unsupported(node, f"an input of rank {n + 2}: convscope pools 1-D, 2-D and "
                                    f"3-D")
    ctx.add(node, [_GAP[n](1)], [x])


def reduce_spatial(ctx, node):
    """ReduceMean / ReduceMax over all spatial axes (PyTorch's `x.mean((2, 3))`): a global
    pooling, then a Squeeze unless keepdims."""
    attrs = ctx.attrs(node, {"axes", "keepdims", "noop_with_empty_axes"})
    x = ctx.tensor(node, node.input[0])
    rank = ctx.rank(node, node.input[0])
    axes = constant_axes(ctx, node, attrs)
    spatial = tuple(range(2, rank))
    if axes is None or tuple(sorted(a % rank for a in axes)) != spatial or rank - 2 not in _GAP:
        raise ctx.unsupported(node, f"axes={None if axes is None else list(axes)} on a "
                                    f"rank-{rank} input: convscope reads a reduction over all "
                                    f"spatial axes {list(spatial)} (a global pooling)")
    pool = nn.GlobalMaxPool() if node.op_type == "ReduceMax" else _GAP[rank - 2](1)
    layers = [pool] if attrs.get("keepdims", 1) else [pool, nn.Squeeze(spatial)]
    ctx.add(node, layers, [x])


def constant_axes(ctx, node, attrs):
    """Axes from the attribute (older opsets) or the constant second input (newer); None if
    absent."""
    if "axes" in attrs:
        return tuple(int(a) for a in attrs["axes"])
    if len(node.input) > 1 and node.input[1]:
        return tuple(int(a) for a in np.asarray(ctx.const(node, node.input[1], "axes"))
                     .reshape(-1))
    return None
