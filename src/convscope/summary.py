"""A model summary: one row per layer with output shape, parameters, multiply-accumulates,
receptive field and jump, then the totals.

Works for a shape-only spec (a `networks.Network`, or the name of one) and for a convscope
`nn` model. A spec is analysed with `arith` without running anything. A model is run once on
zeros (of its parameters' float type) with a forward hook on every leaf module: shapes and parameter counts are those of the
run; multiply-accumulates and receptive fields come from `arith` and the layers' attributes.

Example:
    >>> s = summary("resnet18")
    >>> s.total_params
    11689512
    >>> print(s)                      # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import arith
from .arith import ReceptiveField
from ._args import int_tuple, show
from .arith.network import Network, Row, analyze, parse_shape
from .arith.zoo import get_network

__all__ = ["summary", "Summary", "format_axes", "field_dict"]


@dataclass
class Summary:
    """What `summary` returns; `str()` gives the table, `to_dict()` plain data.

    Attributes:
        name: the model's name.  input_shape: (C, *spatial), without the batch.
        rows: one `networks.Row` per layer (and per block / join output for a spec).
        total_params: learnable parameters, each counted once.
        total_macs: multiply-accumulates of one forward pass on one sample.
        output_shape: the model's output, without the batch.
    """

    name: str
    input_shape: tuple
    rows: list
    total_params: int
    total_macs: int
    output_shape: tuple

    def to_dict(self) -> dict:
        """JSON-ready data: the totals and, per row, name, kind, output shape, parameters,
        MACs, receptive field, jump, effective padding (ints when the axes agree)."""
        return {
            "network": self.name,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "layers": [_row_dict(r) for r in self.rows],
        }

    HEADER = ("Layer", "Type", "Output shape", "Params", "MACs", "RF", "Jump")

    def table(self) -> tuple[tuple, list]:
        """(header, rows): the cells of the table, one tuple of strings per row (names
        indented by depth)."""
        lines = []
        for r in self.rows:
            f = r.field
            lines.append((
                "  " * r.depth + r.name, r.kind, "x".join(map(str, r.output_shape)),
                f"{r.params:,}" if r.is_layer else "", f"{r.macs:,}" if r.is_layer else "",
                format_axes(f.size) if f else "-", format_axes(f.jump) if f else "-"))
        return self.HEADER, lines

    def totals(self) -> list[str]:
        """The lines under the table: total parameters, MACs, output shape."""
        return [f"Total params: {self.total_params:,}",
                f"Total MACs: {self.total_macs:,} ({self.total_macs / 1e9:.2f} G)",
                f"Output shape: {'x'.join(map(str, self.output_shape))}"]

    def __str__(self) -> str:
        header, rows = self.table()
        lines = [header, *rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        right = {3, 4, 5, 6}

        def fmt(line):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                             for i, (c, w) in enumerate(zip(line, widths))).rstrip()
        rule = "-" * len(fmt(header))
        shape = "x".join(map(str, self.input_shape))
        out = [f"{self.name} on input {shape}", rule, fmt(header), rule]
        out += [fmt(line) for line in lines[1:]]
        out += [rule, *self.totals()]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        """Jupyter shows the table as HTML."""
        from .display import summary_html
        return summary_html(self)


def format_axes(values) -> str:
    """'7' when every axis agrees, else '7x3'.

    Example:
        >>> format_axes((7, 7)), format_axes((7, 3))
        ('7', '7x3')
    """
    values = int_tuple(values, func="format_axes", arg="values", minimum=None)
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _axes_value(values):
    """An int when every axis agrees, else a list per axis."""
    return values[0] if len(set(values)) == 1 else list(values)


def field_dict(f: ReceptiveField | None) -> dict:
    """A receptive field's JSON keys (see `_axes_value`); all None where it is undefined.
    Shared with `convscope rf --json`."""
    if f is not None and not isinstance(f, ReceptiveField):
        raise TypeError(f"field_dict: f must be a ReceptiveField or None, got f={show(f)}")
    if f is None:
        return dict.fromkeys(("receptive_field", "jump", "effective_padding", "aligned"))
    return {"receptive_field": _axes_value(f.size), "jump": _axes_value(f.jump),
            "effective_padding": _axes_value(f.padding), "aligned": f.aligned}


def _row_dict(r: Row) -> dict:
    return {"name": r.name, "kind": r.kind, "output_shape": list(r.output_shape),
            "params": r.params, "macs": r.macs, **field_dict(r.field)}


def summary(model_or_spec, input_shape=None) -> Summary:
    """Summarise a network: per layer its output shape, parameters, multiply-accumulates,
    receptive field and jump; then the totals.

    Args:
        model_or_spec: a convscope `nn.Module`, a `networks.Network`, or the name of one of
            `networks.NETWORKS` ('resnet50', 'vgg16', ...).
        input_shape: one sample's shape (C, *spatial), without the batch, as a tuple or a
            string '3x224x224'. Defaults to the spec's input shape; required for a model.

    Receptive fields pass unchanged through elementwise layers (activations, batch norm,
    dropout), follow every path of a residual addition or concatenation (the widest wins;
    see `arith.rf_merge`), and are undefined ('-') after Flatten / Linear and after a
    transposed convolution. A branched model (an `nn.Graph`, e.g. one read by
    `convscope.onnx.load`) gets one row per node, named as its module (`Graph.module_names`);
    an `Add`, `Mul` or `Concat` node's field is `rf_merge` over its inputs' fields.

    Example:
        >>> summary("vgg16").rows[-4].name, summary("vgg16").rows[-4].field.size
        ('pool5', (212, 212))
    """
    if isinstance(model_or_spec, str):
        model_or_spec = get_network(model_or_spec)
    if isinstance(model_or_spec, Network):
        net = model_or_spec
        shape = parse_shape(net.input_shape if input_shape is None else input_shape,
                            func="summary")
        rows = analyze(net, shape)
        return Summary(net.name, shape, rows, sum(r.params for r in rows),
                       sum(r.macs for r in rows), rows[-1].output_shape if rows else shape)
    if not (callable(model_or_spec) and hasattr(model_or_spec, "named_modules")):
        raise TypeError(f"summary: model_or_spec must be an nn.Module, a Network or a "
                        f"network name, got {type(model_or_spec).__name__}")
    if input_shape is None:
        raise ValueError("summary: input_shape is required for a model, e.g. (3, 32, 32)")
    return _model_summary(model_or_spec, parse_shape(input_shape, func="summary"))


# -- nn models -------------------------------------------------------------------------------

def _model_summary(model, input_shape: tuple) -> Summary:
    import numpy as np

    from .autograd import Tensor, enable_grad
    from .nn import Module
    from .nn.inspection import inspection_copy

    if isinstance(model, Module):  # hooks and evaluation mode on a copy, never on the model
        model = inspection_copy(model, frozen=False)
    leaves = [(name, m) for name, m in model.named_modules()
              if name and not list(m.named_children())]
    if not leaves and not list(model.named_children()):
        leaves = [(type(model).__name__, model)]
    calls = []  # (name, module, input tensors, output tensor), in execution order

    def hook_for(name):
        def hook(module, inputs, output):
            calls.append((name, module, tuple(inputs), output))
        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in leaves]
    try:
        # the model's own float type (a model made .double() runs on float64)
        dtype = next((p.data.dtype for p in model.parameters()), np.dtype(np.float32))
        # requires_grad on the input records the whole graph, so that tensors made outside
        # modules (x + shortcut, concatenations) can be traced back to their parents.
        x = Tensor(np.zeros((1,) + input_shape, dtype=dtype), requires_grad=True)
        with enable_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()

    param_ids = {id(p) for p in model.parameters()}
    fields = {id(x): arith.rf_identity(len(input_shape) - 1) if len(input_shape) > 1
              else None}

    def field_of(t):
        # Iterative walk to the nearest recorded tensors; elementwise ops and joins take the
        # widest of their parents' fields (arith.rf_merge).
        if t is None:
            return None
        todo, order = [t], []
        while todo:
            node = todo.pop()
            if id(node) in fields or id(node) in param_ids:
                continue
            order.append(node)
            todo.extend(getattr(node, "_parents", ()))
        for node in reversed(order):
            if id(node) in fields:
                continue
            parents = [fields.get(id(p)) for p in getattr(node, "_parents", ())
                       if id(p) not in param_ids]
            parent_fields = [f for f in parents if f is not None]
            ok = parents and len(parent_fields) == len(parents)
            fields[id(node)] = arith.rf_merge(parent_fields) if ok else None
        return fields.get(id(t))

    rows = []
    keep = []  # hold every tensor, so that no id is reused while we look them up
    for name, module, inputs, output in calls:
        keep.append((inputs, output))
        inp = inputs[0] if inputs else None
        in_shape = tuple(getattr(inp, "shape", ()))[1:]
        out_shape = tuple(getattr(output, "shape", ()))[1:]
        kind, macs, field_ = _module_row(module, _joined_field([field_of(t) for t in inputs]),
                                         in_shape, out_shape)
        fields[id(output)] = field_
        params = sum(int(p.data.size) for p in module.parameters())
        rows.append(Row(name, kind, out_shape, params, macs, field_))
    total = sum(int(p.data.size) for p in model.parameters())
    return Summary(type(model).__name__, input_shape, rows, total,
                   sum(r.macs for r in rows), tuple(getattr(out, "shape", ()))[1:])


def _joined_field(fields) -> ReceptiveField | None:
    """The field a module sees through all its inputs: one input's own, or where branches
    join (a residual `Add`, a `Concat`, a `Mul`) the union over the paths (`arith.rf_merge`);
    None when any input has none (e.g. a flat one)."""
    if not fields or any(f is None for f in fields):
        return None
    if len({f.ndim for f in fields}) != 1:
        return None
    return fields[0] if len(fields) == 1 else arith.rf_merge(fields)


def _tuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _module_row(module, field_: ReceptiveField | None, in_shape: tuple, out_shape: tuple):
    """(kind, MACs, receptive field) of one leaf module from its PyTorch-style attributes."""
    cls = type(module).__name__
    n = len(in_shape) - 1
    if cls.startswith("ConvTranspose"):
        ks = _tuple(module.kernel_size, n)
        macs = arith.conv_macs(module.out_channels, module.in_channels, ks, in_shape[1:],
                               module.groups)
        return "conv_transpose", macs, None
    if cls.startswith("Conv"):
        ks, ss = _tuple(module.kernel_size, n), _tuple(module.stride, n)
        ds = _tuple(module.dilation, n)
        before = _padding_before(module.padding, ks, ds, n)
        macs = arith.conv_macs(module.in_channels, module.out_channels, ks, out_shape[1:],
                               module.groups)
        return "conv", macs, field_ and arith.rf_layer(field_, ks, ss, before, ds)
    if cls.startswith(("MaxPool", "AvgPool")):
        ks = _tuple(module.kernel_size, n)
        stride = getattr(module, "stride", None)
        ss = ks if stride is None else _tuple(stride, n)
        ds = _tuple(getattr(module, "dilation", 1), n)
        before = _padding_before(getattr(module, "padding", 0), ks, ds, n)
        kind = "maxpool" if cls.startswith("Max") else "avgpool"
        return kind, 0, field_ and arith.rf_layer(field_, ks, ss, before, ds)
    if cls.startswith("Adaptive"):
        kind = "adaptive_maxpool" if "Max" in cls else "adaptive_avgpool"
        ins, outs = in_shape[1:], out_shape[1:]
        if field_ is None or len(ins) != len(outs) or any(i % o for i, o in zip(ins, outs)):
            return kind, 0, None
        ks = tuple(i // o for i, o in zip(ins, outs))
        return kind, 0, arith.rf_layer(field_, ks, ks, 0, 1)
    if cls == "Linear":
        rows_ = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
        return "linear", rows_ * module.in_features * module.out_features, None
    if cls == "Flatten":
        return "flatten", 0, None
    if cls == "Pad":
        return "pad", 0, _pad_field(module, field_, n)
    if cls == "Permute":
        return "permute", 0, _permute_field(module, field_, len(out_shape) - 1)
    if cls == "Concat" and module.dim not in (1, -len(in_shape)):
        return "concat", 0, None  # joins along a spatial axis: positions move
    if cls == "Softmax" and getattr(module, "dim", 1) not in (1, -len(in_shape)):
        return "softmax", 0, None  # normalises across positions: every unit sees all
    kind = cls.lower()
    # Elementwise layers (activations, batch norm, dropout) keep the field; a layer that
    # changes the spatial size in a way we do not know ends it.
    same = len(in_shape) == len(out_shape) and in_shape[1:] == out_shape[1:]
    return kind, 0, field_ if same else None


def _pad_field(module, field_: ReceptiveField | None, n: int) -> ReceptiveField | None:
    """Through `nn.Pad` (F.pad's list, last axis first): the field shifts by the padding
    added before each spatial axis (a 1-wide window with that padding); a crop (negative
    padding) or padding of a non-spatial axis only, keeps or ends it as arith would."""
    if field_ is None or field_.ndim != n:
        return None
    pad = tuple(module.pad)
    k = len(pad) // 2
    before = [pad[2 * (n - 1 - i)] if n - 1 - i < k else 0 for i in range(n)]
    if any(b < 0 for b in before):
        return None
    return arith.rf_layer(field_, 1, 1, before, 1)


def _permute_field(module, field_: ReceptiveField | None, n_out: int
                   ) -> ReceptiveField | None:
    """Through `nn.Permute`: a reorder of the spatial axes reorders the field's axes; right
    after the input (a channels-last model's NHWC -> NCHW) every unit still sees one input;
    a permute that moves positions into the channels ends it."""
    if field_ is None or n_out < 1:
        return None
    ones = arith.rf_identity(field_.ndim)
    if field_ == ones:
        return arith.rf_identity(n_out)
    dims = [d % (field_.ndim + 2) for d in module.dims]
    if dims[:2] != [0, 1] or len(dims) != field_.ndim + 2:
        return None
    axes = [d - 2 for d in dims[2:]]
    return ReceptiveField(tuple(field_.size[a] for a in axes),
                          tuple(field_.jump[a] for a in axes),
                          tuple(field_.padding[a] for a in axes), field_.aligned)


def _padding_before(padding, ks, ds, n):
    if isinstance(padding, str):
        if padding == "same":
            return [d * (k - 1) // 2 for k, d in zip(ks, ds)]
        return [0] * n
    pads = _tuple(padding, n)
    return [p[0] if isinstance(p, (tuple, list)) else p for p in pads]
