"""One converter per ONNX op: `CONVERTERS[op_type](ctx, node)` appends the convscope layers
that compute the node (`ctx.add`) or makes its output another name for its input
(`ctx.alias`). A converter reads only the attributes it knows (`ctx.attrs` refuses any
other) and refuses, naming the node, whatever it cannot translate exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn

__all__ = ["CONVERTERS"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_GAP = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


def _float(array, like=None):
    a = np.asarray(array)
    if a.dtype.kind != "f":
        return a.astype(np.float32 if like is None else like)
    return np.ascontiguousarray(a)


def _single(value) -> float:
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
    w = _float(ctx.const(node, node.input[1], "weight"))
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
        layer.bias.data = _float(b, w.dtype)
    ctx.add(node, [layer], [x])


def conv_transpose(ctx, node):
    attrs = ctx.attrs(node, {"auto_pad", "dilations", "group", "kernel_shape", "pads",
                             "strides", "output_padding", "output_shape"})
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    w = _float(ctx.const(node, node.input[1], "weight"))
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
        layer.bias.data = _float(b, w.dtype)
    ctx.add(node, [layer], [x])


def _pool_pads(ctx, node, attrs, n, kernel, stride, dilation):
    return _pads(ctx, node, attrs, n, kernel, stride, dilation)


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
    pads = _pool_pads(ctx, node, attrs, n, kernel, stride, dilation)
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
    pads = _pool_pads(ctx, node, attrs, n, kernel, stride, (1,) * n)
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


def batch_norm(ctx, node):
    attrs = ctx.attrs(node, {"epsilon", "momentum", "training_mode", "spatial"})
    if attrs.get("training_mode", 0):
        raise ctx.unsupported(node, "training_mode=1 (batch statistics at inference) is not "
                                    "supported; export the model in evaluation mode")
    if attrs.get("spatial", 1) != 1:
        raise ctx.unsupported(node, "spatial=0 (per-position statistics) is not supported")
    ctx.outputs_used(node, 1)
    x = ctx.tensor(node, node.input[0])
    if len(node.input) != 5:
        raise ctx.invalid(node, f"needs 5 inputs (X, scale, B, mean, var), got "
                                f"{len(node.input)}")
    scale, bias, mean, var = (_float(ctx.const(node, name, what)) for name, what in
                              zip(node.input[1:], ("scale", "bias", "mean", "var")))
    c = scale.shape[0] if scale.ndim == 1 else None
    if c is None or any(v.shape != (c,) for v in (bias, mean, var)):
        raise ctx.invalid(node, f"scale, B, mean and var must be vectors of one length, got "
                                f"shapes {[v.shape for v in (scale, bias, mean, var)]}")
    rank = ctx.rank(node, node.input[0])
    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}.get(rank)
    if cls is None:
        raise ctx.unsupported(node, f"an input of rank {rank}: convscope normalises ranks 2 "
                                    f"to 5")
    layer = cls(c, eps=_single(attrs.get("epsilon", 1e-5)),
                momentum=round(1.0 - _single(attrs.get("momentum", 0.9)), 7),
                dtype=scale.dtype)
    layer.weight.data, layer.bias.data = scale, bias.astype(scale.dtype)
    layer.running_mean = mean.astype(scale.dtype)
    layer.running_var = var.astype(scale.dtype)
    ctx.add(node, [layer], [x])


def _unary(make, known=()):
    def convert(ctx, node):
        attrs = ctx.attrs(node, set(known))
        ctx.add(node, [make(ctx, node, attrs)], [ctx.tensor(node, node.input[0])])
    return convert


def _softmax(ctx, node, attrs):
    axis = int(attrs.get("axis", -1 if ctx.opset >= 13 else 1))
    if ctx.opset < 13:  # older opsets flatten the trailing axes from `axis` on
        rank = ctx.rank(node, node.input[0])
        if axis % rank != rank - 1:
            raise ctx.unsupported(node, f"axis={axis} on a rank-{rank} input in opset "
                                        f"{ctx.opset} (softmax over the flattened trailing "
                                        f"axes) is not supported")
    return nn.Softmax(axis)


def clip(ctx, node):
    attrs = ctx.attrs(node, {"min", "max"})
    x = ctx.tensor(node, node.input[0])
    lo, hi = attrs.get("min"), attrs.get("max")
    if len(node.input) > 1:
        value = ctx.const(node, node.input[1], "min", optional=True)
        lo = None if value is None else float(np.asarray(value).reshape(-1)[0])
    if len(node.input) > 2:
        value = ctx.const(node, node.input[2], "max", optional=True)
        hi = None if value is None else float(np.asarray(value).reshape(-1)[0])
    layer = nn.ReLU6() if (lo, hi) == (0.0, 6.0) else nn.Clip(lo, hi)
    ctx.add(node, [layer], [x])


def dropout(ctx, node):
    ctx.attrs(node, {"ratio", "seed", "is_test"})
    if len(node.input) > 2 and node.input[2]:
        training = ctx.const(node, node.input[2], "training_mode")
        if bool(np.asarray(training).reshape(-1)[0]):
            raise ctx.unsupported(node, "training_mode=true (dropout at inference) is not "
                                        "supported")
    ctx.outputs_used(node, 1)
    ctx.alias[node.output[0]] = ctx.tensor(node, node.input[0])


def identity(ctx, node):
    ctx.attrs(node, set())
    ctx.alias[node.output[0]] = ctx.tensor(node, node.input[0])


def cast(ctx, node):
    to = ctx.attrs(node, {"to", "saturate"}).get("to")
    x = ctx.tensor(node, node.input[0])
    if to not in (1, 11):
        raise ctx.unsupported(node, f"a cast of a computed tensor to type {to}; convscope "
                                    f"computes in float32 / float64")
    ctx.alias[node.output[0]] = x


def elementwise(ctx, node):
    """Add, Mul, Sub, Div, Sum: of computed tensors, or of one and a constant."""
    ctx.attrs(node, set())
    op = node.op_type
    computed = [name for name in node.input if name and name not in ctx.consts]
    constants = [name for name in node.input if name and name in ctx.consts]
    if op in ("Sub", "Div") and (len(computed) != 1 or node.input[0] not in computed):
        raise ctx.unsupported(node, f"{op} is read only as (computed tensor {op.lower()} a "
                                    f"constant)")
    if op in ("Sum",):
        op = "Add"
    if len(constants) > 1:
        raise ctx.unsupported(node, "more than one constant operand")
    inputs = [ctx.tensor(node, name) for name in computed]
    constant = None
    if constants:
        constant = ctx.consts[constants[0]]
        shape = ctx.shape(computed[0])
        like = np.float32
        if constant.dtype.kind == "f":
            like = constant.dtype
        constant = np.asarray(constant, dtype=like)
        if shape is not None and constant.ndim > len(shape):
            raise ctx.unsupported(node, f"the constant of shape {constant.shape} has more "
                                        f"dimensions than the input {shape}")
        if op == "Sub":
            constant = -constant
        elif op == "Div":
            constant = (1 / constant).astype(constant.dtype)
    if op in ("Add", "Sub"):
        layer = nn.Add(constant)
    else:
        layer = nn.Mul(constant)
    if _fuse_hardswish(ctx, node, layer, inputs):
        return
    ctx.add(node, [layer], inputs)


def _fuse_hardswish(ctx, node, layer, inputs) -> bool:
    """x * HardSigmoid(x) with PyTorch's constants (how opsets < 14 write hardswish): one
    Hardswish layer instead of a branch."""
    if type(layer) is not nn.Mul or layer.constant is not None or len(inputs) != 2:
        return False
    for a, b in (inputs, inputs[::-1]):
        producer = next((n for n in ctx.nodes if n.name == b), None)
        if (producer is not None and type(producer.module) is nn.Hardsigmoid
                and producer.inputs == (a,)
                and abs(producer.module.alpha - 1 / 6) < 1e-6
                and producer.module.beta == 0.5
                and not any(b in n.inputs for n in ctx.nodes)
                and _onnx_name(ctx, b) not in ctx.graph_outputs
                and len(ctx.consumers.get(_onnx_name(ctx, b), [])) == 1):
            ctx.nodes.remove(producer)
            ctx.add(node, [nn.Hardswish()], [a], name_hint=producer.name)
            return True
    return False


def _onnx_name(ctx, graph_name):
    return next((k for k, v in ctx.alias.items() if v == graph_name), graph_name)


def concat(ctx, node):
    attrs = ctx.attrs(node, {"axis"})
    if "axis" not in attrs:
        raise ctx.invalid(node, "the attribute axis is required")
    inputs = [ctx.tensor(node, name) for name in node.input if name]
    ctx.add(node, [nn.Concat(int(attrs["axis"]))], inputs)


def flatten(ctx, node):
    axis = int(ctx.attrs(node, {"axis"}).get("axis", 1))
    x = ctx.tensor(node, node.input[0])
    shape = ctx.shape(node.input[0])
    if axis < 0:
        if shape is None:
            raise ctx.unsupported(node, f"axis={axis} on an input of unknown rank")
        axis += len(shape)
    if axis == 1 and shape is not None and len(shape) >= 2:
        layer = nn.Flatten(1, -1)
    elif axis == 0:
        layer = nn.Reshape((1, -1))
    elif axis == 1:
        layer = nn.Reshape((0, -1))
    elif shape is not None and None not in shape[axis:]:
        layer = nn.Reshape((-1, math.prod(shape[axis:])))
    else:
        raise ctx.unsupported(node, f"axis={axis} on an input whose trailing size is not "
                                    f"static")
    ctx.add(node, [layer], [x])


def reshape(ctx, node):
    allowzero = ctx.attrs(node, {"allowzero"}).get("allowzero", 0)
    x = ctx.tensor(node, node.input[0])
    shape = [int(v) for v in np.asarray(ctx.const(node, node.input[1], "shape")).reshape(-1)]
    if allowzero and 0 in shape:
        raise ctx.unsupported(node, "allowzero=1 with a 0 in the shape (an empty dimension)")
    known = ctx.shape(node.input[0])
    if known and known[0] is not None and shape and shape[0] == known[0] and shape[0] > 0:
        shape[0] = 0  # the batch: keep whatever size the input has (0 copies it)
    ctx.add(node, [nn.Reshape(tuple(shape))], [x])


def _axes(ctx, node, attrs):
    if "axes" in attrs:
        return tuple(int(a) for a in attrs["axes"])
    if len(node.input) > 1 and node.input[1]:
        return tuple(int(a) for a in np.asarray(ctx.const(node, node.input[1], "axes"))
                     .reshape(-1))
    return None


def squeeze(ctx, node):
    axes = _axes(ctx, node, ctx.attrs(node, {"axes"}))
    ctx.add(node, [nn.Squeeze(axes)], [ctx.tensor(node, node.input[0])])


def unsqueeze(ctx, node):
    axes = _axes(ctx, node, ctx.attrs(node, {"axes"}))
    if axes is None:
        raise ctx.invalid(node, "Unsqueeze needs axes")
    ctx.add(node, [nn.Unsqueeze(axes)], [ctx.tensor(node, node.input[0])])


def gemm(ctx, node):
    attrs = ctx.attrs(node, {"alpha", "beta", "transA", "transB"})
    if attrs.get("transA", 0):
        raise ctx.unsupported(node, "transA=1 (a transposed input) is not supported")
    x = ctx.tensor(node, node.input[0])
    w = _float(ctx.const(node, node.input[1], "B (weight)"))
    if w.ndim != 2:
        raise ctx.invalid(node, f"B must be a matrix, got shape {w.shape}")
    w = w if attrs.get("transB", 0) else w.T
    w = (w * w.dtype.type(attrs.get("alpha", 1.0))).astype(w.dtype)
    c = ctx.const(node, node.input[2] if len(node.input) > 2 else "", "C", optional=True)
    bias = None
    if c is not None:
        c = np.asarray(c, dtype=w.dtype) * w.dtype.type(attrs.get("beta", 1.0))
        if c.size not in (1, w.shape[0]) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            raise ctx.unsupported(node, f"C of shape {c.shape}: convscope reads a bias of "
                                        f"shape ({w.shape[0]},), (1, {w.shape[0]}) or a scalar")
        bias = np.broadcast_to(c.reshape(-1), (w.shape[0],)).astype(w.dtype)
    ctx.add(node, [_linear(w, bias)], [x])


def _linear(w, bias):
    layer = nn.Linear(w.shape[1], w.shape[0], bias=bias is not None, dtype=w.dtype)
    layer.weight.data = np.ascontiguousarray(w)
    if bias is not None:
        layer.bias.data = np.ascontiguousarray(bias)
    return layer


def matmul(ctx, node):
    ctx.attrs(node, set())
    x = ctx.tensor(node, node.input[0])
    b = _float(ctx.const(node, node.input[1], "second operand (weight)"))
    if b.ndim != 2:
        raise ctx.unsupported(node, f"a second operand of shape {b.shape}: convscope reads "
                                    f"x @ W with a constant matrix W")
    w, bias = b.T, None
    # MatMul then Add of a vector: one Linear layer with a bias
    readers = ctx.consumers.get(node.output[0], [])
    if (len(readers) == 1 and readers[0].op_type == "Add"
            and node.output[0] not in ctx.graph_outputs):
        add = readers[0]
        other = [name for name in add.input if name != node.output[0]]
        if len(other) == 1 and other[0] in ctx.consts:
            c = np.asarray(ctx.consts[other[0]])
            if c.shape in ((w.shape[0],), (1, w.shape[0])) and c.dtype.kind == "f":
                bias = c.reshape(-1).astype(w.dtype)
                ctx.skip.add(id(add))
                ctx.add(node, [_linear(w, bias)], [x])
                ctx.alias[add.output[0]] = ctx.alias[node.output[0]]
                return
    ctx.add(node, [_linear(w, bias)], [x])


def pad(ctx, node):
    attrs = ctx.attrs(node, {"mode", "pads", "value"})
    x = ctx.tensor(node, node.input[0])
    mode = attrs.get("mode", "constant")
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate",
             "wrap": "circular"}
    if mode not in modes:
        raise ctx.unsupported(node, f"mode={mode!r} is not supported (constant, reflect, "
                                    f"edge or wrap)")
    if "pads" in attrs:
        pads, value, axes = list(attrs["pads"]), float(attrs.get("value", 0.0)), None
    else:
        pads = [int(v) for v in np.asarray(ctx.const(node, node.input[1], "pads")).reshape(-1)]
        v = ctx.const(node, node.input[2] if len(node.input) > 2 else "", "constant_value",
                      optional=True)
        value = 0.0 if v is None or np.asarray(v).size == 0 else float(np.asarray(v).reshape(-1)[0])
        a = ctx.const(node, node.input[3] if len(node.input) > 3 else "", "axes",
                      optional=True)
        axes = None if a is None else [int(i) for i in np.asarray(a).reshape(-1)]
    if len(pads) % 2:
        raise ctx.invalid(node, f"pads={pads} needs an even number of values")
    k = len(pads) // 2
    rank = ctx.shape(node.input[0])
    rank = len(rank) if rank is not None else (k if axes is None else None)
    if rank is None:
        raise ctx.unsupported(node, "axes on an input of unknown rank")
    axes = list(range(k)) if axes is None else [a % rank for a in axes]
    if len(axes) != k:
        raise ctx.invalid(node, f"pads={pads} does not match axes={axes}")
    per_axis = {a: (pads[i], pads[i + k]) for i, a in enumerate(axes)}
    first = min((a for a, p in per_axis.items() if p != (0, 0)), default=rank)
    flat = tuple(v for a in range(rank - 1, first - 1, -1) for v in per_axis.get(a, (0, 0)))
    ctx.add(node, [nn.Pad(flat, modes[mode], value)], [x])


def _leaky(ctx, node, attrs):
    return nn.LeakyReLU(_single(attrs.get("alpha", 0.01)))


def _hard_sigmoid(ctx, node, attrs):
    return nn.Hardsigmoid(_single(attrs.get("alpha", 0.2)), _single(attrs.get("beta", 0.5)))


def _gelu(ctx, node, attrs):
    return nn.GELU(attrs.get("approximate", "none"))


CONVERTERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool,
    "AveragePool": avg_pool, "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool,
    "BatchNormalization": batch_norm,
    "Relu": _unary(lambda c, n, a: nn.ReLU()),
    "LeakyRelu": _unary(_leaky, {"alpha"}),
    "Sigmoid": _unary(lambda c, n, a: nn.Sigmoid()),
    "Tanh": _unary(lambda c, n, a: nn.Tanh()),
    "HardSigmoid": _unary(_hard_sigmoid, {"alpha", "beta"}),
    "HardSwish": _unary(lambda c, n, a: nn.Hardswish()),
    "Gelu": _unary(_gelu, {"approximate"}),
    "Softmax": _unary(_softmax, {"axis"}),
    "Clip": clip, "Dropout": dropout, "Identity": identity, "Cast": cast,
    "Add": elementwise, "Mul": elementwise, "Sub": elementwise, "Div": elementwise,
    "Sum": elementwise, "Concat": concat, "Flatten": flatten, "Reshape": reshape,
    "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Gemm": gemm, "MatMul": matmul, "Pad": pad,
}
