"""Shape-only network specs and their walker: describe a convolutional network, then ask for
its shapes, receptive fields, parameters and multiply-accumulates without running it.

A spec is a `Network` of nodes:

- `Conv` (convolution or, with transposed=True, transposed convolution), `Pool` (max or
  average), `AdaptivePool` (fixed output size; global pooling at output_size=1), `Flatten`,
  `Linear`;
- `Block`, a named sequence whose output gets its own row (``block4``, ``layer3``);
- `Branches`, paths that start from the same input and join by ``add`` (a residual unit) or
  ``concat`` (an inception module). A path is a tuple of nodes (``()`` is the identity
  shortcut) or a `Block`, whose name prefixes the names inside it.

Padding is an int (both sides), one value per axis, one (before, after) pair per axis, or
TensorFlow's 'SAME' / 'VALID' (resolved at the input size that reaches the layer; see
`arith.same_padding`). `analyze` walks a spec with the rest of `arith` and returns one `Row`
per layer and per block output. Pure Python. The layer syntax and JSON specs are in
`arith.grammar`, the named networks in `arith.zoo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

from .._args import check_bool, check_int, int_per_axis, is_int, pad_pair, per_axis, show
from .counts import conv_macs, conv_params, linear_params
from .receptive import ReceptiveField, rf_identity, rf_layer, rf_merge
from .sizes import (conv_output_size, conv_transpose_output_size, pool_output_size,
                    resolve_padding, unused_input)

__all__ = [
    "Conv", "Pool", "AdaptivePool", "Flatten", "Linear", "Block", "Branches", "Node",
    "Network", "Row", "analyze", "describe", "parse_shape",
]


# -- checks of the nodes' fields (types and ranges; the shapes are checked by `analyze`) ----

def _where(node) -> str:
    return f"{type(node).__name__}(name={show(node.name)})"


def _ints_or_tuple(node, arg: str, value, minimum: int = 1):
    """An int >= minimum or a non-empty tuple of them (one per axis); lists become tuples."""
    where = _where(node)
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(f"{where}: {arg} must not be empty")
        for v in value:
            check_int(v, func=where, arg=arg, minimum=minimum)
        return tuple(value)
    check_int(value, func=where, arg=arg, minimum=minimum)
    return value


def _padding(node, value):
    """An int >= 0, 'SAME'/'VALID', or per axis: ints, (before, after) pairs or strings."""
    where = _where(node)

    def one(v):
        if isinstance(v, str):
            if v.lower() not in ("same", "valid"):
                raise ValueError(f"{where}: padding must be an int, a (before, after) pair, "
                                 f"'SAME' or 'VALID', got padding={show(value)}")
            return v
        if isinstance(v, (tuple, list)):
            return pad_pair(tuple(v), func=where)
        return check_int(v, func=where, arg="padding", minimum=0)

    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(f"{where}: padding must not be empty")
        return tuple(one(v) for v in value)
    return one(value)


def _choice(node, arg: str, value, choices: tuple):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{_where(node)}: {arg} must be one of {', '.join(map(repr, choices))}"
                         f", got {arg}={show(value)}")
    return value


def _nodes(node, arg: str, value, allowed=None) -> tuple:
    allowed = allowed or _NODE_TYPES
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
        raise TypeError(f"{_where(node)}: {arg} must be a tuple of nodes (Conv, Pool, ...), "
                        f"got {arg}={show(value)}")
    for i, v in enumerate(value):
        if not isinstance(v, allowed):
            raise TypeError(f"{_where(node)}: {arg}[{i}] must be a node (Conv, Pool, "
                            f"AdaptivePool, Flatten, Linear, Block, Branches), got {show(v)}")
    return tuple(value)


def _check_fields(node, **rules) -> None:
    """Check and normalise `node`'s fields (a frozen dataclass): name a str, then each rule."""
    if not isinstance(node.name, str):
        raise TypeError(f"{type(node).__name__}: name must be a string, got "
                        f"name={show(node.name)}")
    for arg, rule in rules.items():
        object.__setattr__(node, arg, rule(getattr(node, arg)))


def _optional(check):
    return lambda value: None if value is None else check(value)



# -- nodes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Conv:
    """A convolution (PyTorch's Conv{1,2,3}d arguments), or a transposed one.

    `in_channels` is taken from the input when None; when given it is checked. With
    batch_norm=True a batch norm follows, counted as PyTorch's BatchNorm (2 * out_channels
    parameters: weight and bias).
    """

    name: str
    out_channels: int
    kernel_size: object
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    bias: bool = True
    batch_norm: bool = False
    in_channels: int | None = None
    transposed: bool = False
    output_padding: object = 0

    def __post_init__(self):
        _check_fields(
            self, out_channels=lambda v: check_int(v, func=_where(self), arg="out_channels"),
            kernel_size=lambda v: _ints_or_tuple(self, "kernel_size", v),
            stride=lambda v: _ints_or_tuple(self, "stride", v),
            padding=lambda v: _padding(self, v),
            dilation=lambda v: _ints_or_tuple(self, "dilation", v),
            groups=lambda v: check_int(v, func=_where(self), arg="groups"),
            bias=lambda v: check_bool(v, func=_where(self), arg="bias"),
            batch_norm=lambda v: check_bool(v, func=_where(self), arg="batch_norm"),
            in_channels=_optional(lambda v: check_int(v, func=_where(self), arg="in_channels")),
            transposed=lambda v: check_bool(v, func=_where(self), arg="transposed"),
            output_padding=lambda v: _ints_or_tuple(self, "output_padding", v, 0))


@dataclass(frozen=True)
class Pool:
    """Max (mode='max') or average (mode='avg') pooling; `stride` defaults to kernel_size."""

    name: str
    kernel_size: object
    stride: object = None
    padding: object = 0
    dilation: object = 1
    ceil_mode: bool = False
    mode: str = "max"

    def __post_init__(self):
        _check_fields(
            self, kernel_size=lambda v: _ints_or_tuple(self, "kernel_size", v),
            stride=_optional(lambda v: _ints_or_tuple(self, "stride", v)),
            padding=lambda v: _padding(self, v),
            dilation=lambda v: _ints_or_tuple(self, "dilation", v),
            ceil_mode=lambda v: check_bool(v, func=_where(self), arg="ceil_mode"),
            mode=lambda v: _choice(self, "mode", v, ("max", "avg")))


@dataclass(frozen=True)
class AdaptivePool:
    """Pooling to a fixed output size (PyTorch's AdaptiveAvgPool); 1 is global pooling.

    When the output size divides the input size it is an ordinary pooling with kernel and
    stride in / out; otherwise its windows differ in size and no single receptive field
    describes it (the field is then reported as undefined).
    """

    name: str
    output_size: object = 1
    mode: str = "avg"

    def __post_init__(self):
        _check_fields(self, output_size=lambda v: _ints_or_tuple(self, "output_size", v),
                      mode=lambda v: _choice(self, "mode", v, ("max", "avg")))


@dataclass(frozen=True)
class Flatten:
    """(C, *spatial) to (C * prod(spatial),). Receptive fields end here."""

    name: str

    def __post_init__(self):
        _check_fields(self)


@dataclass(frozen=True)
class Linear:
    """A fully connected layer over flat features (after `Flatten`)."""

    name: str
    out_features: int
    bias: bool = True
    in_features: int | None = None

    def __post_init__(self):
        _check_fields(
            self, out_features=lambda v: check_int(v, func=_where(self), arg="out_features"),
            bias=lambda v: check_bool(v, func=_where(self), arg="bias"),
            in_features=_optional(lambda v: check_int(v, func=_where(self), arg="in_features")))


@dataclass(frozen=True)
class Block:
    """A named sequence of nodes. Its name prefixes the names inside; with report=True its
    output gets a row of its own (``block4``, ``layer3``)."""

    name: str
    layers: tuple
    report: bool = True

    def __post_init__(self):
        _check_fields(self, layers=lambda v: _nodes(self, "layers", v),
                      report=lambda v: check_bool(v, func=_where(self), arg="report"))


@dataclass(frozen=True)
class Branches:
    """Paths from one input joined by 'add' (equal shapes) or 'concat' (along channels).

    Each path is a tuple of nodes, named under this node's name (``()`` is the identity), or
    a `Block`, named under its own name too (``Mixed_5b/Branch_1/...``).
    """

    name: str
    paths: tuple
    merge: str = "add"

    def __post_init__(self):
        def paths(value):
            if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
                raise TypeError(f"{_where(self)}: paths must be a tuple of paths (tuples of "
                                f"nodes, or Blocks), got paths={show(value)}")
            return tuple(p if isinstance(p, Block) else _nodes(self, f"paths[{i}]", p)
                         for i, p in enumerate(value))
        _check_fields(self, paths=paths,
                      merge=lambda v: _choice(self, "merge", v, ("add", "concat")))


Node = Union[Conv, Pool, AdaptivePool, Flatten, Linear, Block, Branches]
_NODE_TYPES = (Conv, Pool, AdaptivePool, Flatten, Linear, Block, Branches)


@dataclass(frozen=True)
class Network:
    """A whole network.

    Attributes:
        name: its name.  layers: the nodes, in order.
        input_shape: the default input (C, *spatial).
        sep: joins nested names ('/' as in TF-slim scopes, '.' as in PyTorch modules).
        output: the layer reported as "the network's output" by `rf`: the end of the
            convolutional part (``pool5``, ``block4``, ``Mixed_7c``); None means the last
            layer whose receptive field is defined.
        endpoints: the layers the literature reports receptive fields for.
        source: where the hyper-parameters come from.
    """

    name: str
    layers: tuple
    input_shape: tuple = (3, 224, 224)
    sep: str = "/"
    output: str | None = None
    endpoints: tuple = ()
    source: str = ""

    def __post_init__(self):
        def text(arg):
            def check(value):
                if not isinstance(value, str):
                    raise TypeError(f"{_where(self)}: {arg} must be a string, got "
                                    f"{arg}={show(value)}")
                return value
            return check
        _check_fields(self, layers=lambda v: _nodes(self, "layers", v),
                      input_shape=lambda v: parse_shape(v, func=_where(self)),
                      sep=text("sep"), output=_optional(text("output")),
                      endpoints=lambda v: tuple(text("endpoints")(e) for e in v)
                      if isinstance(v, (tuple, list)) else text("endpoints")(v),
                      source=text("source"))


# -- analysis --------------------------------------------------------------------------------

@dataclass
class Row:
    """One line of an analysis: a layer, or the output of a block or a join.

    Attributes:
        name: full name (``block1/unit_3/conv2``).  kind: 'conv', 'conv_transpose',
            'maxpool', 'avgpool', 'adaptive_avgpool', 'adaptive_maxpool', 'flatten',
            'linear', 'add', 'concat' or 'block'.
        output_shape: (C, *spatial), or (features,) after Flatten.
        params: learnable parameters (0 for block and join rows).
        macs: multiply-accumulates for one sample.
        field: the `ReceptiveField` of one output unit, or None where undefined
            (after Flatten / Linear, after a transposed convolution, after an adaptive pool
            whose windows vary).
        padding: the (before, after) padding per axis as resolved, for conv and pool rows.
        unused: per axis, the last input rows no window covers (`unused_input`),
            for conv and pool rows; nonzero means the layer silently drops them.
        depth: nesting level, for indentation.
    """

    name: str
    kind: str
    output_shape: tuple
    params: int = 0
    macs: int = 0
    field: ReceptiveField | None = None
    padding: tuple | None = None
    unused: tuple | None = None
    depth: int = 0

    @property
    def is_layer(self) -> bool:
        return self.kind not in ("block", "add", "concat")


@dataclass
class _State:
    shape: tuple
    field: ReceptiveField | None


def _join(sep: str, *parts: str) -> str:
    return sep.join(p for p in parts if p)


def _shape_str(shape) -> str:
    return "x".join(str(s) for s in shape)


def analyze(network: Network, input_shape=None) -> list[Row]:
    """Walk `network` with `input_shape` (C, *spatial) and return one `Row` per layer, per
    block output and per join, in order.

    Output sizes, padding, parameters and multiply-accumulates come from `arith`; the
    receptive field, jump and effective padding follow every path and, where paths join,
    take the widest (`rf_merge`, which also says whether the paths are aligned).

    Raises ValueError, naming the layer, when a layer would have an empty output, when
    channels do not match (a given in_channels, an 'add' of different shapes, groups that do
    not divide the channels), or when a layer gets an input of the wrong rank.

    Example:
        >>> net = Network("tiny", (Conv("conv1", 8, 3, padding=1), Pool("pool1", 2)),
        ...               input_shape=(3, 32, 32))
        >>> [(r.name, r.output_shape, r.field.size) for r in analyze(net)]
        [('conv1', (8, 32, 32), (3, 3)), ('pool1', (8, 16, 16), (4, 4))]
    """
    if not isinstance(network, Network):
        raise TypeError(f"analyze: network must be a Network, got {type(network).__name__}")
    shape = parse_shape(network.input_shape if input_shape is None else input_shape,
                        func="analyze")
    field_ = rf_identity(len(shape) - 1) if len(shape) > 1 else None
    rows: list[Row] = []
    _walk(network.layers, _State(shape, field_), "", 0, network.sep, rows)
    return rows


def _walk(nodes, state: _State, prefix: str, depth: int, sep: str, rows: list) -> _State:
    for node in nodes:
        name = _join(sep, prefix, node.name)
        if isinstance(node, Block):
            state = _walk(node.layers, state, name, depth + 1, sep, rows)
            if node.report:
                rows.append(Row(name, "block", state.shape, field=state.field, depth=depth))
        elif isinstance(node, Branches):
            state = _branches(node, state, name, depth, sep, rows)
        else:
            row = _layer(node, state, name)
            row.depth = depth
            rows.append(row)
            state = _State(row.output_shape, row.field)
    return state


def _branches(node: Branches, state: _State, name: str, depth: int, sep: str,
              rows: list) -> _State:
    if node.merge not in ("add", "concat"):
        raise ValueError(f"layer {name!r}: merge must be 'add' or 'concat', "
                         f"got merge={node.merge!r}")
    if not node.paths:
        raise ValueError(f"layer {name!r}: branches need at least one path")
    outs = []
    for path in node.paths:
        if isinstance(path, Block):
            out = _walk(path.layers, state, _join(sep, name, path.name), depth + 1, sep, rows)
        else:
            out = _walk(tuple(path), state, name, depth + 1, sep, rows)
        outs.append(out)
    shapes = [o.shape for o in outs]
    if node.merge == "add":
        if len(set(shapes)) != 1:
            raise ValueError(f"layer {name!r}: 'add' needs every path to have the same "
                             f"shape, got {', '.join(_shape_str(s) for s in shapes)}")
        shape = shapes[0]
    else:
        if any(len(s) < 2 for s in shapes) or len({s[1:] for s in shapes}) != 1:
            raise ValueError(f"layer {name!r}: 'concat' needs every path to have the same "
                             f"spatial size, got {', '.join(_shape_str(s) for s in shapes)}")
        shape = (sum(s[0] for s in shapes),) + shapes[0][1:]
    fields = [o.field for o in outs]
    field_ = rf_merge(fields) if all(f is not None for f in fields) else None
    rows.append(Row(name, node.merge, shape, field=field_, depth=depth))
    return _State(shape, field_)


def _layer(node, state: _State, name: str) -> Row:
    """The row of one layer; arith's errors are re-raised naming the layer."""
    try:
        if isinstance(node, Conv):
            return _conv(node, state, name)
        if isinstance(node, Pool):
            return _pool(node, state, name)
        if isinstance(node, AdaptivePool):
            return _adaptive(node, state, name)
        if isinstance(node, Flatten):
            return Row(name, "flatten", (math.prod(state.shape),))
        if isinstance(node, Linear):
            return _linear(node, state, name)
    except (ValueError, TypeError) as exc:
        if str(exc).startswith(f"layer {name!r}"):
            raise
        raise type(exc)(f"layer {name!r} ({describe(node)}) on input "
                        f"{_shape_str(state.shape)}: {exc}") from None
    raise TypeError(f"analyze: unknown node {node!r} in layer {name!r}")


def _spatial(node, state: _State, name: str) -> tuple[int, tuple]:
    if len(state.shape) < 2:
        raise ValueError(f"layer {name!r} ({describe(node)}) needs an input (C, *spatial), "
                         f"got flat features {_shape_str(state.shape)}")
    return state.shape[0], state.shape[1:]


def _conv(node: Conv, state: _State, name: str) -> Row:
    c_in, spatial = _spatial(node, state, name)
    n = len(spatial)
    func = "conv_transpose" if node.transposed else "conv"
    if node.in_channels is not None and node.in_channels != c_in:
        raise ValueError(f"layer {name!r} ({describe(node)}) expects in_channels="
                         f"{node.in_channels}, got an input with {c_in} channels "
                         f"({_shape_str(state.shape)})")
    for arg, value in (("groups", node.groups), ("out_channels", node.out_channels)):
        if not is_int(value) or value < 1:
            raise ValueError(f"{arg} must be a positive int, got {arg}={value!r}")
    if c_in % node.groups or node.out_channels % node.groups:
        raise ValueError(f"groups={node.groups} must divide in_channels={c_in} and "
                         f"out_channels={node.out_channels}")
    ks = per_axis(node.kernel_size, n, func=func, arg="kernel_size")
    ss = per_axis(node.stride, n, func=func, arg="stride")
    ds = per_axis(node.dilation, n, func=func, arg="dilation")
    pads = per_axis(node.padding, n, func=func, arg="padding")
    params = conv_params(c_in, node.out_channels, ks, node.groups, node.bias)
    if node.batch_norm:
        params += 2 * node.out_channels
    if node.transposed:
        ops = per_axis(node.output_padding, n, func=func, arg="output_padding")
        out = tuple(conv_transpose_output_size(*a) for a in zip(spatial, ks, ss, pads,
                                                                      ops, ds))
        pairs = tuple(pad_pair(p, func=func) for p in pads)
        macs = conv_macs(node.out_channels, c_in, ks, spatial, node.groups)
        # An upsampling layer's units see different numbers of inputs: no single field.
        return Row(name, "conv_transpose", (node.out_channels,) + out, params, macs, None,
                   pairs)
    pairs = tuple(resolve_padding(p, size, k, s, d, func)
                  for p, size, k, s, d in zip(pads, spatial, ks, ss, ds))
    out = tuple(conv_output_size(*a) for a in zip(spatial, ks, ss, pairs, ds))
    macs = conv_macs(c_in, node.out_channels, ks, out, node.groups)
    field_ = state.field and rf_layer(state.field, ks, ss, [p[0] for p in pairs], ds)
    unused = tuple(unused_input(*a) for a in zip(spatial, ks, ss, pairs, ds))
    return Row(name, "conv", (node.out_channels,) + out, params, macs, field_, pairs, unused)


def _pool(node: Pool, state: _State, name: str) -> Row:
    c, spatial = _spatial(node, state, name)
    n = len(spatial)
    if node.mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got mode={node.mode!r}")
    ks = per_axis(node.kernel_size, n, func="pool", arg="kernel_size")
    ss = ks if node.stride is None else per_axis(node.stride, n, func="pool", arg="stride")
    ds = per_axis(node.dilation, n, func="pool", arg="dilation")
    pads = per_axis(node.padding, n, func="pool", arg="padding")
    pairs = tuple(resolve_padding(p, size, k, s, d, "pool")
                  for p, size, k, s, d in zip(pads, spatial, ks, ss, ds))
    out = tuple(pool_output_size(size, k, s, p, d, bool(node.ceil_mode))
                for size, k, s, p, d in zip(spatial, ks, ss, pairs, ds))
    # ceil_mode adds a last, partial window; it changes the count, not r, j or P.
    field_ = state.field and rf_layer(state.field, ks, ss, [p[0] for p in pairs], ds)
    unused = tuple(unused_input(size, k, s, p, d, bool(node.ceil_mode))
                   for size, k, s, p, d in zip(spatial, ks, ss, pairs, ds))
    return Row(name, node.mode + "pool", (c,) + out, 0, 0, field_, pairs, unused)


def _adaptive(node: AdaptivePool, state: _State, name: str) -> Row:
    c, spatial = _spatial(node, state, name)
    out = int_per_axis(node.output_size, len(spatial), func="adaptive_pool",
                       arg="output_size")
    field_ = None
    if state.field is not None and all(i % o == 0 for i, o in zip(spatial, out)):
        ks = tuple(i // o for i, o in zip(spatial, out))
        field_ = rf_layer(state.field, ks, ks, 0, 1)
    return Row(name, f"adaptive_{node.mode}pool", (c,) + out, 0, 0, field_)


def _linear(node: Linear, state: _State, name: str) -> Row:
    if len(state.shape) != 1:
        raise ValueError(f"layer {name!r} ({describe(node)}) needs flat features; got "
                         f"{_shape_str(state.shape)} (add a flatten layer before it)")
    (features,) = state.shape
    if node.in_features is not None and node.in_features != features:
        raise ValueError(f"layer {name!r} ({describe(node)}) expects in_features="
                         f"{node.in_features}, got {features} features")
    params = linear_params(features, node.out_features, node.bias)
    return Row(name, "linear", (node.out_features,), params, features * node.out_features)


def describe(node) -> str:
    """A layer in the command line's syntax (``conv:c64,k7,s2,p3``)."""
    def val(v):
        if isinstance(v, (tuple, list)):
            return "x".join(val(x) if not isinstance(x, (tuple, list))
                            else "-".join(str(y) for y in x) for x in v)
        return str(v)
    if isinstance(node, Conv):
        parts = [f"c{node.out_channels}", f"k{val(node.kernel_size)}"]
        parts += [f"s{val(node.stride)}"] if node.stride != 1 else []
        parts += [f"p{val(node.padding)}"] if node.padding != 0 else []
        parts += [f"d{val(node.dilation)}"] if node.dilation != 1 else []
        parts += [f"g{node.groups}"] if node.groups != 1 else []
        kind = "convT" if node.transposed else "conv"
        return f"{kind}:" + ",".join(parts)
    if isinstance(node, Pool):
        parts = [f"k{val(node.kernel_size)}"]
        parts += [f"s{val(node.stride)}"] if node.stride is not None else []
        parts += [f"p{val(node.padding)}"] if node.padding != 0 else []
        parts += [f"d{val(node.dilation)}"] if node.dilation != 1 else []
        parts += ["ceil"] if node.ceil_mode else []
        return f"{node.mode}pool:" + ",".join(parts)
    if isinstance(node, AdaptivePool):
        return f"adaptive{node.mode}pool:o{val(node.output_size)}"
    if isinstance(node, Linear):
        return f"linear:o{node.out_features}"
    if isinstance(node, Flatten):
        return "flatten"
    return type(node).__name__.lower()


def parse_shape(text, func: str = "parse_shape") -> tuple[int, ...]:
    """'3x224x224' (or a sequence of ints) as a tuple of positive ints (C, *spatial)."""
    if isinstance(text, str):
        parts = text.lower().replace(",", "x").split("x")
        if not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{func}: input shape must look like 3x224x224 (C x spatial "
                             f"sizes), got {show(text)}")
        values = tuple(int(p) for p in parts)
    elif isinstance(text, (tuple, list)) and all(is_int(v) for v in text):
        values = tuple(int(v) for v in text)
    else:
        raise TypeError(f"{func}: input shape must be a string like '3x224x224' or a tuple "
                        f"of ints, got {show(text)}")
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{func}: input shape must be positive sizes, got {show(text)}")
    return values
