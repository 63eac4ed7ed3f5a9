"""One converter per ONNX op: `CONVERTERS[op_type](ctx, node)` appends the convscope layers
that compute the node (`ctx.add`) or makes its output another name for its input
(`ctx.alias`). A converter reads only the attributes it knows (`ctx.attrs` refuses any
other) and refuses, naming the node, whatever it cannot translate exactly.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from .ops_conv import (avg_pool, constant_axes, conv, conv_transpose, float_array,
                       global_pool, max_pool, reduce_spatial, single)

__all__ = ["CONVERTERS"]

_BATCH_NORM = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}


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
    scale, bias, mean, var = (float_array(ctx.const(node, name, what)) for name, what in
                              zip(node.input[1:], ("scale", "bias", "mean", "var")))
    c = scale.shape[0] if scale.ndim == 1 else None
    if c is None or any(v.shape != (c,) for v in (bias, mean, var)):
        raise ctx.invalid(node, f"scale, B, mean and var must be vectors of one length, got "
                                f"shapes {[v.shape for v in (scale, bias, mean, var)]}")
    rank = ctx.rank(node, node.input[0])
    cls = _BATCH_NORM.get(rank)
    if cls is None:
        raise ctx.unsupported(node, f"an input of rank {rank}: convscope normalises ranks 2 "
                                    f"to 5")
    layer = cls(c, eps=single(attrs.get("epsilon", 1e-5)),
                momentum=round(1.0 - single(attrs.get("momentum", 0.9)), 7),
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


def squeeze(ctx, node):
    axes = constant_axes(ctx, node, ctx.attrs(node, {"axes"}))
    ctx.add(node, [nn.Squeeze(axes)], [ctx.tensor(node, node.input[0])])


def unsqueeze(ctx, node):
    axes = constant_axes(ctx, node, ctx.attrs(node, {"axes"}))
    if axes is None:
        raise ctx.invalid(node, "Unsqueeze needs axes")
    ctx.add(node, [nn.Unsqueeze(axes)], [ctx.tensor(node, node.input[0])])


def transpose(ctx, node):
    perm = ctx.attrs(node, {"perm"}).get("perm")
    x = ctx.tensor(node, node.input[0])
    if perm is None:  # ONNX's default: reversed dimensions
        perm = list(range(ctx.rank(node, node.input[0])))[::-1]
    ctx.add(node, [nn.Permute(tuple(int(p) for p in perm))], [x])


def gemm(ctx, node):
    attrs = ctx.attrs(node, {"alpha", "beta", "transA", "transB"})
    if attrs.get("transA", 0):
        raise ctx.unsupported(node, "transA=1 (a transposed input) is not supported")
    x = ctx.tensor(node, node.input[0])
    w = float_array(ctx.const(node, node.input[1], "B (weight)"))
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
    b = float_array(ctx.const(node, node.input[1], "second operand (weight)"))
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
    return nn.LeakyReLU(single(attrs.get("alpha", 0.01)))


def _hard_sigmoid(ctx, node, attrs):
    return nn.Hardsigmoid(single(attrs.get("alpha", 0.2)), single(attrs.get("beta", 0.5)))


def _gelu(ctx, node, attrs):
    return nn.GELU(attrs.get("approximate", "none"))


CONVERTERS = {
    "Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": max_pool,
    "AveragePool": avg_pool, "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool,
    "ReduceMean": reduce_spatial, "ReduceMax": reduce_spatial,
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
    "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Transpose": transpose, "Gemm": gemm,
    "MatMul": matmul, "Pad": pad,
}
