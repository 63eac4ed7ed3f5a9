"""`save`: a convscope model (a `Sequential`, a `Graph`, nested or not, or one layer) ->
an ONNX file that `load` and onnxruntime read back with the same outputs.

The model runs once on `example_input` while it is written: every layer's output shape is
known, and the file declares the example's shape with a dynamic batch (`N`). Weights are
initializers named as `state_dict` names them (`features.0.weight`). Batch norm is written
in its inference form (running statistics), dropout as Identity.
"""

from __future__ import annotations

import re

import numpy as np

from .. import _args, nn
from ..autograd import Tensor, no_grad
from ..io import atomic_write_bytes
from .errors import OnnxUnsupportedError, import_onnx
from .reader import OPSETS

__all__ = ["save"]

_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
          "circular": "wrap"}


class _Writer:
    """Collects ONNX nodes and initializers while the model runs on the example."""

    def __init__(self, onnx, opset: int, dtype):
        self.onnx, self.opset, self.dtype = onnx, opset, np.dtype(dtype)
        self.nodes, self.initializers, self.names = [], [], set()

    def name(self, base: str) -> str:
        base = base or "t"
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def const(self, base: str, value, dtype=None) -> str:
        value = np.asarray(value, dtype=dtype if dtype is not None else self.dtype)
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs, base: str, **attrs) -> str:
        out = self.name(f"{base}:{op}" if base else op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], name=out,
                                                     **attrs))
        return out

    # -- containers --------------------------------------------------------------------------
    def emit(self, module, prefix: str, names: list, values: list):
        """Write `module` applied to tensors `names` (whose example values are `values`);
        returns (output name, output value)."""
        if type(module) is nn.Sequential or (isinstance(module, nn.Sequential)
                                             and type(module).forward is nn.Sequential.forward):
            if len(names) != 1:
                raise OnnxUnsupportedError(f"convscope.onnx.save: Sequential {prefix!r} "
                                           f"takes one input, got {len(names)}")
            name, value = names[0], values[0]
            for key, child in module.named_children():
                name, value = self.emit(child, _join(prefix, key), [name], [value])
            return name, value
        if isinstance(module, nn.Graph) and type(module).forward is nn.Graph.forward:
            env = dict(zip(module.inputs, zip(names, values)))
            for node in module.nodes:
                ins = [env[i] for i in node.inputs]
                env[node.name] = self.emit(node.module,
                                           _join(prefix, module.module_names[node.name]),
                                           [n for n, _ in ins], [v for _, v in ins])
            outs = [env[o] for o in module.outputs]
            if len(outs) != 1:
                raise OnnxUnsupportedError(f"convscope.onnx.save: graph {prefix!r} nested in "
                                           f"another model has {len(outs)} outputs; only the "
                                           f"outermost graph may have several")
            return outs[0]
        write = _writer_for(module)
        if write is None:
            raise OnnxUnsupportedError(
                f"convscope.onnx.save: cannot write layer {prefix or 'model'!r} "
                f"({type(module).__name__}); convscope writes "
                f"{', '.join(sorted(c.__name__ for c in _WRITERS))} and Sequential / Graph "
                f"models of them")
        output = module(*values)
        out = write(self, module, prefix, names, values, output)
        last = self.nodes[-1] if self.nodes else None
        desired = prefix or type(module).__name__.lower()
        if last is not None and last.output[0] == out and desired not in self.names:
            # the layer's output tensor (and last node) take the layer's name
            self.names.add(desired)
            last.output[0], last.name, out = desired, desired, desired
        return out, output


def _rank(module) -> int:
    """The number of spatial dimensions of a 1d / 2d / 3d layer, from its class name."""
    for cls in type(module).__mro__:
        match = re.search(r"([123])d$", cls.__name__)
        if match:
            return int(match.group(1))
    raise OnnxUnsupportedError(f"convscope.onnx.save: cannot tell the rank of "
                               f"{type(module).__name__}")


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _array(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value)


def _spatial_pads(pads):
    """(before, after) pairs -> ONNX's [begins..., ends...]."""
    return [int(b) for b, _ in pads] + [int(a) for _, a in pads]


def _conv(w: _Writer, m, prefix, names, values, output):
    n = _rank(m)
    x = names[0]
    transposed = isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
    pads = _args.conv_padding(m.padding, n, func=type(m).__name__, kernel_size=m.kernel_size,
                              stride=m.stride, dilation=m.dilation,
                              allow_strings=not transposed)
    if m.padding_mode != "zeros" and any(v for pair in pads for v in pair):
        rank = _array(values[0]).ndim
        if m.padding_mode == "circular" and w.opset < 19:
            raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r}: "
                                       f"padding_mode='circular' needs opset 19 or later "
                                       f"(Pad mode 'wrap'), got opset {w.opset}")
        full = [0] * (rank - n) + [b for b, _ in pads] + [0] * (rank - n) + [a for _, a in pads]
        x = w.node("Pad", [x, w.const(f"{prefix}.pads", full, np.int64)], prefix,
                   mode=_MODES[m.padding_mode])
        pads = ((0, 0),) * n
    inputs = [x, w.const(f"{prefix}.weight", _array(m.weight))]
    if m.bias is not None:
        inputs.append(w.const(f"{prefix}.bias", _array(m.bias)))
    attrs = dict(kernel_shape=list(m.kernel_size), strides=list(m.stride),
                 dilations=list(m.dilation), group=m.groups, pads=_spatial_pads(pads))
    if transposed:
        attrs["output_padding"] = list(m.output_padding)
    return w.node("ConvTranspose" if transposed else "Conv", inputs, prefix, **attrs)


def _pool(w: _Writer, m, prefix, names, values, output):
    n = _rank(m)
    cls = type(m).__name__
    kernel = _args.ntuple(m.kernel_size, n, func=cls, arg="kernel_size")
    stride = _args.ntuple(m.stride, n, func=cls, arg="stride")
    padding = _args.ntuple(m.padding, n, func=cls, arg="padding", minimum=0)
    attrs = dict(kernel_shape=list(kernel), strides=list(stride),
                 pads=list(padding) * 2, ceil_mode=int(bool(m.ceil_mode)))
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        attrs["dilations"] = list(_args.ntuple(m.dilation, n, func=cls, arg="dilation"))
        return w.node("MaxPool", names, prefix, **attrs)
    attrs["count_include_pad"] = int(bool(m.count_include_pad))
    return w.node("AveragePool", names, prefix, **attrs)


def _adaptive(w: _Writer, m, prefix, names, values, output):
    in_size = _array(values[0]).shape[-_rank(m):]
    out_size = _array(output).shape[-_rank(m):]
    if all(o == 1 for o in out_size):
        return w.node("GlobalAveragePool", names, prefix)
    if any(i % o for i, o in zip(in_size, out_size)):
        raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r} "
                                   f"({type(m).__name__}) maps size {tuple(in_size)} to "
                                   f"{tuple(out_size)}; ONNX writes only output size 1 or a "
                                   f"divisor of the input size")
    kernel = [i // o for i, o in zip(in_size, out_size)]
    return w.node("AveragePool", names, prefix, kernel_shape=kernel, strides=kernel)


def _batch_norm(w: _Writer, m, prefix, names, values, output):
    if m.running_mean is None:
        raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r} "
                                   f"({type(m).__name__}) has track_running_stats=False; ONNX "
                                   f"writes batch norm with running statistics")
    c = m.num_features
    scale = _array(m.weight) if m.weight is not None else np.ones(c)
    bias = _array(m.bias) if m.bias is not None else np.zeros(c)
    inputs = [names[0], w.const(f"{prefix}.weight", scale), w.const(f"{prefix}.bias", bias),
              w.const(f"{prefix}.running_mean", m.running_mean),
              w.const(f"{prefix}.running_var", m.running_var)]
    momentum = 0.1 if m.momentum is None else m.momentum
    return w.node("BatchNormalization", inputs, prefix, epsilon=float(m.eps),
                  momentum=1.0 - float(momentum))


def _activation(op, **fixed):
    def write(w: _Writer, m, prefix, names, values, output):
        return w.node(op, names, prefix, **fixed)
    return write


def _leaky(w, m, prefix, names, values, output):
    return w.node("LeakyRelu", names, prefix, alpha=float(m.negative_slope))


def _gelu(w, m, prefix, names, values, output):
    if w.opset < 20:
        raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r} (GELU) needs "
                                   f"opset 20 or later (the Gelu op), got opset {w.opset}")
    return w.node("Gelu", names, prefix, approximate=m.approximate)


def _clip(w, m, prefix, names, values, output):
    lo = "" if m.min is None else w.const(f"{prefix}.min", m.min)
    hi = "" if m.max is None else w.const(f"{prefix}.max", m.max)
    return w.node("Clip", [names[0], lo, hi], prefix)


def _hardsigmoid(w, m, prefix, names, values, output):
    return w.node("HardSigmoid", names, prefix, alpha=float(m.alpha), beta=float(m.beta))


def _hardswish(w, m, prefix, names, values, output):
    if w.opset >= 14:
        return w.node("HardSwish", names, prefix)
    gate = w.node("HardSigmoid", names, prefix, alpha=1.0 / 6.0, beta=0.5)
    return w.node("Mul", [names[0], gate], prefix)


def _softmax(w, m, prefix, names, values, output):
    rank = _array(values[0]).ndim
    if w.opset < 13 and m.dim % rank != rank - 1:
        raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r} (Softmax over dim "
                                   f"{m.dim} of a rank-{rank} input) needs opset 13 or later")
    return w.node("Softmax", names, prefix, axis=int(m.dim % rank if w.opset < 13 else m.dim))


def _linear(w, m, prefix, names, values, output):
    rank = _array(values[0]).ndim
    weight = _array(m.weight)
    if rank == 2:
        inputs = [names[0], w.const(f"{prefix}.weight", weight)]
        if m.bias is not None:
            inputs.append(w.const(f"{prefix}.bias", _array(m.bias)))
        return w.node("Gemm", inputs, prefix, transB=1)
    y = w.node("MatMul", [names[0], w.const(f"{prefix}.weight", weight.T)], prefix)
    if m.bias is None:
        return y
    return w.node("Add", [y, w.const(f"{prefix}.bias", _array(m.bias))], prefix)


def _flatten(w, m, prefix, names, values, output):
    rank = _array(values[0]).ndim
    start, end = m.start_dim % max(rank, 1), m.end_dim % max(rank, 1)
    if start == 1 and end == rank - 1:
        return w.node("Flatten", names, prefix, axis=1)
    shape = list(_array(output).shape)
    shape[0] = 0 if start > 0 else -1
    return w.node("Reshape", [names[0], w.const(f"{prefix}.shape", shape, np.int64)], prefix)


def _identity(w, m, prefix, names, values, output):
    return w.node("Identity", names, prefix)


def _elementwise(w, m, prefix, names, values, output):
    op = "Add" if isinstance(m, nn.Add) else "Mul"
    operands = list(names)
    if m.constant is not None:
        operands.append(w.const(f"{prefix}.constant", m.constant))
    out = operands[0]
    for other in operands[1:]:
        out = w.node(op, [out, other], prefix)
    return out


def _concat(w, m, prefix, names, values, output):
    return w.node("Concat", names, prefix, axis=int(m.dim))


def _reshape(w, m, prefix, names, values, output):
    return w.node("Reshape", [names[0], w.const(f"{prefix}.shape", m.shape, np.int64)],
                  prefix)


def _squeeze_like(op):
    def write(w, m, prefix, names, values, output):
        dims = m.dims
        if dims is None:
            return w.node(op, names, prefix)
        if w.opset < 13:
            return w.node(op, names, prefix, axes=list(dims))
        return w.node(op, [names[0], w.const(f"{prefix}.axes", dims, np.int64)], prefix)
    return write


def _permute(w, m, prefix, names, values, output):
    rank = _array(values[0]).ndim
    return w.node("Transpose", names, prefix, perm=[int(d) % rank for d in m.dims])


def _pad(w, m, prefix, names, values, output):
    rank = _array(values[0]).ndim
    k = len(m.pad) // 2
    if m.mode == "circular" and w.opset < 19:
        raise OnnxUnsupportedError(f"convscope.onnx.save: layer {prefix!r}: Pad mode "
                                   f"'circular' needs opset 19 or later (mode 'wrap')")
    begins, ends = [0] * rank, [0] * rank
    for i in range(k):  # F.pad lists the last dimension first
        begins[rank - 1 - i], ends[rank - 1 - i] = m.pad[2 * i], m.pad[2 * i + 1]
    inputs = [names[0], w.const(f"{prefix}.pads", begins + ends, np.int64)]
    if m.mode == "constant":
        inputs.append(w.const(f"{prefix}.value", m.value))
    return w.node("Pad", inputs, prefix, mode=_MODES[m.mode])


_WRITERS = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv, nn.ConvTranspose1d: _conv,
    nn.ConvTranspose2d: _conv, nn.ConvTranspose3d: _conv,
    nn.MaxPool1d: _pool, nn.MaxPool2d: _pool, nn.MaxPool3d: _pool,
    nn.AvgPool1d: _pool, nn.AvgPool2d: _pool, nn.AvgPool3d: _pool,
    nn.AdaptiveAvgPool1d: _adaptive, nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveAvgPool3d: _adaptive, nn.GlobalMaxPool: _activation("GlobalMaxPool"),
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.BatchNorm3d: _batch_norm,
    nn.ReLU: _activation("Relu"), nn.LeakyReLU: _leaky, nn.Sigmoid: _activation("Sigmoid"),
    nn.Tanh: _activation("Tanh"), nn.GELU: _gelu, nn.Clip: _clip,
    nn.Hardsigmoid: _hardsigmoid, nn.Hardswish: _hardswish, nn.Softmax: _softmax,
    nn.Linear: _linear, nn.Flatten: _flatten, nn.Identity: _identity, nn.Dropout: _identity,
    nn.Add: _elementwise, nn.Mul: _elementwise, nn.Concat: _concat, nn.Reshape: _reshape,
    nn.Squeeze: _squeeze_like("Squeeze"), nn.Unsqueeze: _squeeze_like("Unsqueeze"),
    nn.Permute: _permute, nn.Pad: _pad,
}


def _writer_for(module):
    """The writer of the layer's class (subclasses that keep its forward count too)."""
    for cls in type(module).__mro__:
        if cls in _WRITERS and type(module).forward is cls.forward:
            return _WRITERS[cls]
    return None


def _value_info(onnx, name, array, elem_type):
    shape = ["N"] + list(array.shape[1:]) if array.ndim else []
    return onnx.helper.make_tensor_value_info(name, elem_type, shape)


def save(model, path, example_input, opset: int = 17) -> None:
    """Write `model` as an ONNX file at `path` (atomically: a temporary file, then a
    rename).

    Args:
        model: an `nn.Sequential`, an `nn.Graph` (branches included), or a single layer,
            of the layers listed in docs/onnx.md.
        path: the file to write.
        example_input: an array (or a Tensor) of the model's input, e.g. one batch of shape
            (N, C, H, W); a tuple of them for a graph with several inputs. The file
            declares this shape with a dynamic batch size.
        opset: the ONNX opset, 11 to 21 (default 17).

    Raises OnnxUnsupportedError naming a layer ONNX cannot hold, ImportError when the
    `onnx` package is missing.
    """
    onnx = import_onnx("convscope.onnx.save")
    path = _args.check_path(path, func="convscope.onnx.save")
    if not isinstance(model, nn.Module):
        raise TypeError(f"convscope.onnx.save: model must be a convscope nn.Module, got "
                        f"{type(model).__name__}")
    if not _args.is_int(opset) or opset not in OPSETS:
        raise ValueError(f"convscope.onnx.save: opset must be an int from {OPSETS.start} to "
                         f"{OPSETS.stop - 1}, got opset={_args.show(opset)}")
    examples = list(example_input) if isinstance(example_input, (tuple, list)) else \
        [example_input]
    arrays = []
    for i, e in enumerate(examples):
        a = _array(e)
        if a.dtype not in (np.float32, np.float64) or a.ndim == 0:
            raise TypeError(f"convscope.onnx.save: example_input must be float32 or float64 "
                            f"arrays with a batch dimension, got dtype {a.dtype} shape "
                            f"{a.shape}")
        arrays.append(a)
    names = list(model.inputs) if isinstance(model, nn.Graph) else ["input"]
    if len(names) != len(arrays):
        raise ValueError(f"convscope.onnx.save: the model takes {len(names)} input(s) "
                         f"{names}, got {len(arrays)} example input(s)")
    dtype = arrays[0].dtype
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    writer = _Writer(onnx, opset, dtype)
    writer.names.update(names)
    with no_grad():
        if isinstance(model, nn.Graph) and len(model.outputs) > 1:
            env = dict(zip(model.inputs, zip(names, arrays)))
            for node in model.nodes:
                ins = [env[i] for i in node.inputs]
                env[node.name] = writer.emit(node.module, model.module_names[node.name],
                                             [n for n, _ in ins], [v for _, v in ins])
            results = [env[o] for o in model.outputs]
            out_names = list(model.outputs)
        else:
            results = [writer.emit(model, "", names, arrays)]
            out_names = list(model.outputs) if isinstance(model, nn.Graph) else ["output"]
    outputs = []
    for (name, value), out_name in zip(results, out_names):
        if out_name in writer.names and name != out_name:
            out_name = writer.name(out_name)
        if name != out_name:  # give the output its name
            writer.nodes.append(onnx.helper.make_node("Identity", [name], [out_name],
                                                      name=f"{out_name}:Identity"))
        outputs.append(_value_info(onnx, out_name, _array(value), elem))
    inputs = [_value_info(onnx, n, a, elem) for n, a in zip(names, arrays)]
    graph = onnx.helper.make_graph(writer.nodes, "convscope", inputs, outputs,
                                   writer.initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="convscope")
    proto.ir_version = min(proto.ir_version, onnx.helper.find_min_ir_version_for(opsets))
    proto.ir_version = max(proto.ir_version, 7)
    onnx.checker.check_model(proto)
    atomic_write_bytes(path, proto.SerializeToString())

