"""`load`: an ONNX file -> an `nn.Graph` of convscope layers with the file's weights.

The steps: parse the file (a protobuf), check it (`onnx.checker`, our own check of the
graph's wiring: cycles, names read but never written), infer the static shapes of the
tensors (`onnx.shape_inference`), then walk the nodes in topological order. A node whose
inputs are all constants (initializers, `Constant`, shapes known statically) is evaluated
here with NumPy (PyTorch's exporter writes such small shape computations); every other
node becomes one or two convscope layers (`ops.CONVERTERS`). Nodes that no output needs
are dropped.
"""

from __future__ import annotations

import os

import numpy as np

from .. import _args, nn
from .errors import OnnxError, OnnxFormatError, OnnxUnsupportedError, import_onnx
from .fold import FOLDERS

__all__ = ["load", "OPSETS", "Context"]

#: The opsets of the default domain that `load` reads and `save` writes.
OPSETS = range(11, 22)

_FLOATS = {1: np.float32, 11: np.float64}

# ops that are a whole PyTorch module each ('/conv1/Conv' is module conv1)
_LAYER_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization"}


class Context:
    """What a converter sees while a model is read: the file's name (for messages), the
    opset, the constants, the static shapes and the nodes built so far."""

    def __init__(self, onnx, path: str, opset: int, shapes: dict, consumers: dict,
                 graph_outputs: set):
        self.onnx, self.path, self.opset = onnx, path, opset
        self.graph_outputs = graph_outputs
        self.shapes = shapes          # tensor name -> tuple of ints / None, or None
        self.consumers = consumers    # tensor name -> ONNX nodes that read it
        self.consts: dict = {}        # tensor name -> np.ndarray
        self.alias: dict = {}         # ONNX tensor name -> graph tensor name
        self.nodes: list = []         # nn.Node
        self.skip: set = set()        # ids of ONNX nodes merged into an earlier layer
        self.used_names: set = set()

    # -- messages ----------------------------------------------------------------------------
    def where(self, node) -> str:
        name = node.name or (node.output[0] if node.output else "?")
        return f"{self.path}: node {name!r} ({node.op_type})"

    def unsupported(self, node, what: str) -> OnnxUnsupportedError:
        return OnnxUnsupportedError(f"{self.where(node)}: {what}")

    def invalid(self, node, what: str) -> OnnxFormatError:
        return OnnxFormatError(f"{self.where(node)}: {what}")

    # -- reading a node ----------------------------------------------------------------------
    def attrs(self, node, known) -> dict:
        """The node's attributes as Python values; one not in `known` is refused."""
        out = {}
        for a in node.attribute:
            if a.name not in known:
                raise self.unsupported(node, f"attribute {a.name!r} is not supported "
                                             f"(convscope reads {sorted(known) or 'none'})")
            if a.ref_attr_name:
                raise self.unsupported(node, f"attribute {a.name!r} refers to a function "
                                             f"attribute")
            value = self.onnx.helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            elif isinstance(value, (list, tuple)):
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                         for v in value]
            out[a.name] = value
        return out

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, node, name: str, what: str, optional: bool = False):
        """The constant value of input `name` (None for an absent optional input); a
        computed tensor is refused."""
        if not name:
            if optional:
                return None
            raise self.invalid(node, f"the {what} input is missing")
        if name not in self.consts:
            raise self.unsupported(node, f"the {what} ({name!r}) must be a constant (an "
                                         f"initializer), but it is computed in the graph")
        return self.consts[name]

    def tensor(self, node, name: str, what: str = "input") -> str:
        """The graph tensor behind ONNX tensor `name`, which must be computed (not a
        constant)."""
        if not name:
            raise self.invalid(node, f"the {what} is missing")
        if name in self.consts:
            raise self.unsupported(node, f"the {what} ({name!r}) is a constant; convscope "
                                         f"reads this op on computed tensors only")
        return self.alias.get(name, name)

    def shape(self, name: str):
        """The statically known shape of tensor `name` (None entries: dynamic), or None."""
        if name in self.consts:
            return tuple(self.consts[name].shape)
        return self.shapes.get(name)

    def rank(self, node, name: str, what: str = "input") -> int:
        shape = self.shape(name)
        if shape is None:
            raise self.unsupported(node, f"the rank of its {what} {name!r} is not known "
                                         f"(give the graph input a shape)")
        return len(shape)

    def outputs_used(self, node, count: int) -> None:
        """Refuse a node whose outputs after the first `count` are read."""
        for extra in node.output[count:]:
            if extra and (self.consumers.get(extra) or extra in self.graph_outputs):
                raise self.unsupported(node, f"its output {extra!r} is used; convscope "
                                             f"computes only the first {count} output(s)")

    # -- building ----------------------------------------------------------------------------
    def unique(self, name: str) -> str:
        base, k = name, 1
        while name in self.used_names:
            k += 1
            name = f"{base}_{k}"
        self.used_names.add(name)
        return name

    def add(self, node, modules, inputs, name_hint: str | None = None) -> None:
        """Append `modules` as a chain reading `inputs` (graph tensor names); the last one
        writes the node's first output."""
        base = name_hint or _node_name(node)
        previous = tuple(inputs)
        for i, module in enumerate(modules):
            last = i == len(modules) - 1
            name = self.unique(base if last else f"{base}_{type(module).__name__.lower()}")
            self.nodes.append(nn.Node(name, module, previous))
            previous = (name,)
        self.alias[node.output[0]] = previous[0]


def _node_name(node) -> str:
    """A readable name for the layer of `node`: its weight's name without '.weight'
    (PyTorch's module path), else the module path in PyTorch's node name, else the node's
    name, else its output's."""
    if len(node.input) > 1 and node.input[1].endswith(".weight"):
        return node.input[1][: -len(".weight")]
    parts = node.name.strip("/").split("/")
    if (len(parts) >= 2 and parts[-1].split("_")[0] == node.op_type
            and ("." in parts[-2] or node.op_type in _LAYER_OPS)):
        return parts[-2]  # PyTorch's '/features/features.3/MaxPool': module features.3
    return node.name.strip("/") or node.output[0]


def _check_wiring(path, graph, known) -> list:
    """Graph nodes in topological order; a name read but never written, or a cycle, is an
    OnnxFormatError naming it."""
    writer = {}
    for node in graph.node:
        for out in node.output:
            if out:
                if out in writer or out in known:
                    raise OnnxFormatError(f"{path}: tensor {out!r} is written twice (by node "
                                          f"{node.name or node.op_type!r})")
                writer[out] = node
    for node in graph.node:
        for name in node.input:
            if name and name not in writer and name not in known:
                raise OnnxFormatError(
                    f"{path}: node {node.name or node.op_type!r} ({node.op_type}) reads "
                    f"{name!r}, which is neither a graph input, an initializer nor a node's "
                    f"output (a missing initializer?)")
    order, state = [], {}
    for start in graph.node:
        if id(start) in state:
            continue
        stack = [(start, iter(start.input))]
        state[id(start)] = 1
        while stack:
            node, pending = stack[-1]
            for name in pending:
                src = writer.get(name)
                if src is None or state.get(id(src)) == 2:
                    continue
                if state.get(id(src)) == 1:
                    cycle = [n.name or n.op_type for n, _ in stack]
                    at = cycle.index(src.name or src.op_type)
                    raise OnnxFormatError(f"{path}: the graph has a cycle through nodes "
                                          f"{cycle[at:]}")
                state[id(src)] = 1
                stack.append((src, iter(src.input)))
                break
            else:
                stack.pop()
                state[id(node)] = 2
                order.append(node)
    for out in graph.output:
        if out.name not in writer and out.name not in known:
            raise OnnxFormatError(f"{path}: graph output {out.name!r} is not computed by any "
                                  f"node")
    return order


def _parse(onnx, path: str):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise OnnxFormatError(f"{path}: is a directory, not an ONNX file") from None
    if not data:
        raise OnnxFormatError(f"{path}: the file is empty, not an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several kinds
        raise OnnxFormatError(f"{path}: not a valid ONNX file (truncated or corrupted?): "
                              f"{exc}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxFormatError(f"{path}: not an ONNX model (no graph with nodes: truncated "
                              f"or not an ONNX file?)")
    return model


def _opset(path, model) -> int:
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if "ai.onnx" not in opsets:
        raise OnnxFormatError(f"{path}: the model imports no opset of the default ONNX "
                              f"domain")
    version = opsets["ai.onnx"]
    if version not in OPSETS:
        raise OnnxUnsupportedError(f"{path}: opset {version}; convscope reads opsets "
                                   f"{OPSETS.start} to {OPSETS.stop - 1} (convert it with "
                                   f"onnx.version_converter)")
    return version


def _static_shapes(onnx, path, model) -> dict:
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as exc:  # noqa: BLE001 - onnx raises InferenceError and others
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxFormatError(f"{path}: the tensors' shapes are inconsistent (a wrong input "
                              f"rank or size?): {message}") from None
    shapes = {}
    g = inferred.graph
    for info in list(g.input) + list(g.value_info) + list(g.output):
        t = info.type.tensor_type
        if info.type.HasField("tensor_type") and t.HasField("shape"):
            shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                      for d in t.shape.dim)
    return shapes


def load(path) -> nn.Graph:
    """Read an ONNX file into an `nn.Graph` of convscope layers with their weights.

    The graph's inputs keep the file's names (`model.inputs`); its outputs are named after
    the layers that compute them (`model.outputs`). `model.input_shapes` holds the shapes
    the file declares (None for a dynamic size, such as the batch), and the model refuses an
    input of another rank. The model is returned in evaluation mode (batch norm uses the
    running statistics, as the file does); `train()` makes it trainable.

    Raises OnnxFormatError for a file that is not a valid model, OnnxUnsupportedError for
    an op or attribute convscope does not translate (both name the file), ImportError when
    the `onnx` package is missing.

    Example:
        >>> model = load("model.onnx")                      # doctest: +SKIP
        >>> model(np.zeros((1, 3, 32, 32), np.float32))     # doctest: +SKIP
    """
    onnx = import_onnx("convscope.onnx.load")
    path = _args.check_path(path, func="convscope.onnx.load")
    if not os.path.exists(path):
        raise FileNotFoundError(f"convscope.onnx.load: no such file: {path}")
    model = _parse(onnx, path)
    graph = model.graph
    opset = _opset(path, model)
    for fn in list(model.functions):
        raise OnnxUnsupportedError(f"{path}: the model defines local function "
                                   f"{fn.name!r}; convscope reads plain graphs only")
    if any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer):
        try:  # weights stored beside the file (models over 2 GB)
            from onnx.external_data_helper import load_external_data_for_model
            load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
        except Exception as exc:  # noqa: BLE001 - missing or short files, bad offsets
            raise OnnxFormatError(f"{path}: the weights stored in external files cannot be "
                                  f"read: {exc}") from None
    initializers = {}
    for init in graph.initializer:
        try:
            initializers[init.name] = onnx.numpy_helper.to_array(init).copy()
        except Exception as exc:  # noqa: BLE001 - external data, bad sizes...
            raise OnnxFormatError(f"{path}: initializer {init.name!r} cannot be read "
                                  f"(truncated, or stored in a missing external file?): "
                                  f"{exc}") from None
    if graph.sparse_initializer:
        raise OnnxUnsupportedError(f"{path}: sparse initializers are not supported")
    inputs = [i for i in graph.input if i.name not in initializers]
    if not inputs:
        raise OnnxFormatError(f"{path}: the graph has no input (every input is an "
                              f"initializer)")
    order = _check_wiring(path, graph, set(initializers) | {i.name for i in inputs})
    checked = model
    if any(not o.type.tensor_type.HasField("shape") for o in graph.output):
        # outputs of unknown rank are fine for us (and onnxruntime); the checker wants a
        # shape field, so it checks a copy that has one
        checked = type(model)()
        checked.CopyFrom(model)
        for o in checked.graph.output:
            if o.type.HasField("tensor_type") and not o.type.tensor_type.HasField("shape"):
                o.type.tensor_type.shape.SetInParent()
    try:
        onnx.checker.check_model(checked)
    except Exception as exc:  # noqa: BLE001 - ValidationError and protobuf errors
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OnnxFormatError(f"{path}: not a valid ONNX model: {message}") from None
    input_shapes = []
    for i in inputs:
        t = i.type.tensor_type
        if not i.type.HasField("tensor_type") or t.elem_type not in _FLOATS:
            raise OnnxUnsupportedError(f"{path}: graph input {i.name!r} must be a float32 or "
                                       f"float64 tensor")
        input_shapes.append(tuple(d.dim_value if d.HasField("dim_value") else None
                                  for d in t.shape.dim) if t.HasField("shape") else None)
    shapes = _static_shapes(onnx, path, model)
    consumers = {}
    for node in order:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    ctx = Context(onnx, path, opset, shapes, consumers, {o.name for o in graph.output})
    ctx.consts.update(initializers)
    ctx.used_names.update(i.name for i in inputs)
    from .ops import CONVERTERS
    for node in order:
        if id(node) in ctx.skip:
            continue
        if node.domain not in ("", "ai.onnx"):
            raise ctx.unsupported(node, f"ops of domain {node.domain!r} are not supported "
                                        f"(convscope reads the default ONNX domain)")
        try:
            folded = _fold(ctx, node)
            if not folded:
                convert = CONVERTERS.get(node.op_type)
                if convert is None:
                    raise ctx.unsupported(node, f"op {node.op_type} is not supported; "
                                                f"convscope reads {', '.join(sorted(CONVERTERS))}")
                convert(ctx, node)
        except OnnxError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                OverflowError, MemoryError) as exc:
            # a convscope layer refused the node's values (e.g. an output_padding that is
            # not smaller than the stride): say which node
            raise ctx.unsupported(node, f"cannot be translated: {exc}") from None
    outputs = []
    for out in graph.output:
        if out.name in ctx.consts:
            raise OnnxUnsupportedError(f"{path}: graph output {out.name!r} is a constant; "
                                       f"convscope models compute their outputs")
        outputs.append(ctx.alias.get(out.name, out.name))
    nodes = _needed(ctx.nodes, outputs)
    try:
        result = nn.Graph([i.name for i in inputs], nodes, outputs, input_shapes)
    except (ValueError, TypeError) as exc:
        raise OnnxFormatError(f"{path}: {exc}") from None
    return result.eval()


def _fold(ctx, node) -> bool:
    """Evaluate `node` here when all its inputs are constants (or shapes known
    statically); True when done."""
    fold = FOLDERS.get(node.op_type)
    if node.op_type == "Constant":
        ctx.consts[node.output[0]] = fold(ctx, node, [])
        return True
    if node.op_type == "Shape" and node.input and node.input[0] not in ctx.consts:
        shape = ctx.shapes.get(node.input[0])
        if shape is None or None in shape:
            raise ctx.unsupported(node, f"the shape of {node.input[0]!r} is not static "
                                        f"(convscope reads shape computations only on "
                                        f"tensors of a fixed size)")
        ctx.consts[node.output[0]] = fold(ctx, node, [np.zeros(shape, dtype=np.int8)])
        return True
    present = [name for name in node.input if name]
    if not present or not all(name in ctx.consts for name in present):
        return False
    if fold is None:
        raise ctx.unsupported(node, f"op {node.op_type} on constant inputs is not supported "
                                    f"(convscope evaluates {', '.join(sorted(FOLDERS))})")
    values = [ctx.consts[name] if name else None for name in node.input]
    result = fold(ctx, node, values)
    ctx.consts[node.output[0]] = np.asarray(result)
    return True


def _needed(nodes, outputs) -> list:
    """The nodes some output depends on."""
    by_name = {n.name: n for n in nodes}
    keep, stack = set(), list(outputs)
    while stack:
        name = stack.pop()
        if name in keep or name not in by_name:
            continue
        keep.add(name)
        stack.extend(by_name[name].inputs)
    return [n for n in nodes if n.name in keep]
