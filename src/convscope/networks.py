"""Shape-only network specs: describe a convolutional network, then ask for its shapes,
receptive fields, parameters and multiply-accumulates without running it.

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
`arith.same_padding`). `analyze` walks a spec with `arith` and returns one `Row` per layer and
per block output. Pure Python, like `arith`.

The named networks (`get_network`, `NETWORKS`) carry the published hyper-parameters. The
receptive fields that Araujo, Norris & Sim report ("Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019, and the google-research/receptive_field library)
were computed on the TF-slim definitions, so `alexnet`, `vgg16`, `resnet50`, `mobilenet_v1`
and `inception_v3` follow TF-slim (``alexnet_v2``, ``vgg_16``, ``resnet_v1_50`` with the
downsampling stride in the last unit of each block, ``mobilenet_v1``, ``inception_v3``);
torchvision's definitions, where they differ, carry a ``_torchvision`` suffix, and
`resnet18` is torchvision's.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Callable, Union

from . import arith
from .arith import ReceptiveField

__all__ = [
    "Conv", "Pool", "AdaptivePool", "Flatten", "Linear", "Block", "Branches", "Network",
    "Row", "analyze", "get_network", "list_networks", "NETWORKS",
    "parse_layer", "parse_spec", "load_spec", "network_from_dict", "parse_shape",
]


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


@dataclass(frozen=True)
class Flatten:
    """(C, *spatial) to (C * prod(spatial),). Receptive fields end here."""

    name: str


@dataclass(frozen=True)
class Linear:
    """A fully connected layer over flat features (after `Flatten`)."""

    name: str
    out_features: int
    bias: bool = True
    in_features: int | None = None


@dataclass(frozen=True)
class Block:
    """A named sequence of nodes. Its name prefixes the names inside; with report=True its
    output gets a row of its own (``block4``, ``layer3``)."""

    name: str
    layers: tuple
    report: bool = True


@dataclass(frozen=True)
class Branches:
    """Paths from one input joined by 'add' (equal shapes) or 'concat' (along channels).

    Each path is a tuple of nodes, named under this node's name (``()`` is the identity), or
    a `Block`, named under its own name too (``Mixed_5b/Branch_1/...``).
    """

    name: str
    paths: tuple
    merge: str = "add"


Node = Union[Conv, Pool, AdaptivePool, Flatten, Linear, Block, Branches]


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
        field: the `arith.ReceptiveField` of one output unit, or None where undefined
            (after Flatten / Linear, after a transposed convolution, after an adaptive pool
            whose windows vary).
        padding: the (before, after) padding per axis as resolved, for conv and pool rows.
        unused: per axis, the last input rows no window covers (`arith.unused_input`),
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
    take the widest (`arith.rf_merge`, which also says whether the paths are aligned).

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
    field_ = arith.rf_identity(len(shape) - 1) if len(shape) > 1 else None
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
    field_ = arith.rf_merge(fields) if all(f is not None for f in fields) else None
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
        if not arith._is_int(value) or value < 1:
            raise ValueError(f"{arg} must be a positive int, got {arg}={value!r}")
    if c_in % node.groups or node.out_channels % node.groups:
        raise ValueError(f"groups={node.groups} must divide in_channels={c_in} and "
                         f"out_channels={node.out_channels}")
    ks = arith._per_axis(func, "kernel_size", node.kernel_size, n)
    ss = arith._per_axis(func, "stride", node.stride, n)
    ds = arith._per_axis(func, "dilation", node.dilation, n)
    pads = arith._per_axis(func, "padding", node.padding, n)
    params = arith.conv_params(c_in, node.out_channels, ks, node.groups, node.bias)
    if node.batch_norm:
        params += 2 * node.out_channels
    if node.transposed:
        ops = arith._per_axis(func, "output_padding", node.output_padding, n)
        out = tuple(arith.conv_transpose_output_size(*a) for a in zip(spatial, ks, ss, pads,
                                                                      ops, ds))
        pairs = tuple(arith._pad_pair(func, p) for p in pads)
        macs = arith.conv_macs(node.out_channels, c_in, ks, spatial, node.groups)
        # An upsampling layer's units see different numbers of inputs: no single field.
        return Row(name, "conv_transpose", (node.out_channels,) + out, params, macs, None,
                   pairs)
    pairs = tuple(arith.resolve_padding(p, size, k, s, d, func)
                  for p, size, k, s, d in zip(pads, spatial, ks, ss, ds))
    out = tuple(arith.conv_output_size(*a) for a in zip(spatial, ks, ss, pairs, ds))
    macs = arith.conv_macs(c_in, node.out_channels, ks, out, node.groups)
    field_ = state.field and arith.rf_layer(state.field, ks, ss, [p[0] for p in pairs], ds)
    unused = tuple(arith.unused_input(*a) for a in zip(spatial, ks, ss, pairs, ds))
    return Row(name, "conv", (node.out_channels,) + out, params, macs, field_, pairs, unused)


def _pool(node: Pool, state: _State, name: str) -> Row:
    c, spatial = _spatial(node, state, name)
    n = len(spatial)
    if node.mode not in ("max", "avg"):
        raise ValueError(f"mode must be 'max' or 'avg', got mode={node.mode!r}")
    ks = arith._per_axis("pool", "kernel_size", node.kernel_size, n)
    ss = ks if node.stride is None else arith._per_axis("pool", "stride", node.stride, n)
    ds = arith._per_axis("pool", "dilation", node.dilation, n)
    pads = arith._per_axis("pool", "padding", node.padding, n)
    pairs = tuple(arith.resolve_padding(p, size, k, s, d, "pool")
                  for p, size, k, s, d in zip(pads, spatial, ks, ss, ds))
    out = tuple(arith.pool_output_size(size, k, s, p, d, bool(node.ceil_mode))
                for size, k, s, p, d in zip(spatial, ks, ss, pairs, ds))
    # ceil_mode adds a last, partial window; it changes the count, not r, j or P.
    field_ = state.field and arith.rf_layer(state.field, ks, ss, [p[0] for p in pairs], ds)
    unused = tuple(arith.unused_input(size, k, s, p, d, bool(node.ceil_mode))
                   for size, k, s, p, d in zip(spatial, ks, ss, pairs, ds))
    return Row(name, node.mode + "pool", (c,) + out, 0, 0, field_, pairs, unused)


def _adaptive(node: AdaptivePool, state: _State, name: str) -> Row:
    c, spatial = _spatial(node, state, name)
    out = arith._ints("adaptive_pool", "output_size", node.output_size, len(spatial), 1)
    field_ = None
    if state.field is not None and all(i % o == 0 for i, o in zip(spatial, out)):
        ks = tuple(i // o for i, o in zip(spatial, out))
        field_ = arith.rf_layer(state.field, ks, ks, 0, 1)
    return Row(name, f"adaptive_{node.mode}pool", (c,) + out, 0, 0, field_)


def _linear(node: Linear, state: _State, name: str) -> Row:
    if len(state.shape) != 1:
        raise ValueError(f"layer {name!r} ({describe(node)}) needs flat features; got "
                         f"{_shape_str(state.shape)} (add a flatten layer before it)")
    (features,) = state.shape
    if node.in_features is not None and node.in_features != features:
        raise ValueError(f"layer {name!r} ({describe(node)}) expects in_features="
                         f"{node.in_features}, got {features} features")
    params = arith.linear_params(features, node.out_features, node.bias)
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


# -- the command line's layer syntax and spec files ------------------------------------------

_KINDS = {
    "conv": "conv", "convt": "convT", "deconv": "convT", "conv_transpose": "convT",
    "maxpool": "maxpool", "avgpool": "avgpool", "pool": "maxpool",
    "gap": "gap", "globalavgpool": "gap", "adaptiveavgpool": "adaptiveavgpool",
    "adaptivemaxpool": "adaptivemaxpool", "flatten": "flatten",
    "fc": "linear", "linear": "linear",
}
_KEYS = {"c": "channels", "o": "out", "k": "kernel_size", "s": "stride", "p": "padding",
         "d": "dilation", "g": "groups", "i": "in_channels", "op": "output_padding"}


def parse_shape(text, func: str = "parse_shape") -> tuple[int, ...]:
    """'3x224x224' (or a sequence of ints) as a tuple of positive ints (C, *spatial)."""
    if isinstance(text, str):
        parts = text.lower().replace(",", "x").split("x")
        if not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{func}: input shape must look like 3x224x224 (C x spatial "
                             f"sizes), got {text!r}")
        values = tuple(int(p) for p in parts)
    elif isinstance(text, (tuple, list)) and all(arith._is_int(v) for v in text):
        values = tuple(int(v) for v in text)
    else:
        raise TypeError(f"{func}: input shape must be a string like '3x224x224' or a tuple "
                        f"of ints, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{func}: input shape must be positive sizes, got {text!r}")
    return values


def _value(key: str, text: str, layer: str):
    """One value of the layer syntax: 3, 3x5 (per axis), 0-1 (before-after), same, valid."""
    if key == "padding" and text.lower() in ("same", "valid"):
        return text.upper()
    axes = text.split("x")
    try:
        parsed = [tuple(int(v) for v in a.split("-")) if "-" in a else int(a) for a in axes]
    except ValueError:
        raise ValueError(f"layer {layer!r}: cannot read {key}={text!r} (expected an int, "
                         f"ints per axis like 3x5, or before-after pairs like 0-1)") from None
    if any(isinstance(p, tuple) for p in parsed) and key != "padding":
        raise ValueError(f"layer {layer!r}: only padding takes before-after pairs, got "
                         f"{key}={text!r}")
    if len(parsed) == 1:
        return parsed[0]
    return tuple(parsed)


def parse_layer(text: str, index: int = 1) -> Node:
    """A layer in the command line's syntax: ``KIND:key value,...``.

    Kinds: conv, convT (transposed), maxpool, avgpool, gap (global average pooling),
    adaptiveavgpool, flatten, linear (or fc). Keys: c (out channels), k (kernel size),
    s (stride), p (padding: an int, 'same', 'valid', per axis 1x2, before-after 0-1),
    d (dilation), g (groups), i (expected in channels), o (out features, or adaptive pool
    output size), op (output padding); flags bn, nobias, ceil; name=NAME.

    Example:
        >>> parse_layer("conv:c64,k7,s2,p3")
        Conv(name='conv1', out_channels=64, kernel_size=7, stride=2, padding=3, dilation=1, \
groups=1, bias=True, batch_norm=False, in_channels=None, transposed=False, output_padding=0)
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"parse_layer: layer {index} is empty")
    kind_text, _, rest = text.strip().partition(":")
    kind = _KINDS.get(kind_text.lower())
    if kind is None:
        raise ValueError(f"layer {index} {text!r}: unknown kind {kind_text!r}; expected one of "
                         f"{', '.join(sorted(set(_KINDS)))}")
    opts: dict = {}
    flags: set = set()
    name = None
    for item in filter(None, (t.strip() for t in rest.split(","))):
        if item.startswith("name="):
            name = item[5:]
            continue
        if item.lower() in ("bn", "nobias", "ceil"):
            flags.add(item.lower())
            continue
        match = re.fullmatch(r"(op|[a-z])=?(.+)", item)
        if not match or match.group(1) not in _KEYS:
            raise ValueError(f"layer {index} {text!r}: unknown option {item!r}; expected "
                             f"c, k, s, p, d, g, i, o, op, bn, nobias, ceil or name=")
        opts[_KEYS[match.group(1)]] = _value(_KEYS[match.group(1)], match.group(2), text)
    counters = {"conv": "conv", "convT": "convT", "maxpool": "pool", "avgpool": "pool",
                "gap": "gap", "linear": "fc"}
    name = name or f"{counters.get(kind, kind)}{index}"

    letters = {"channels": "c", "kernel_size": "k", "out": "o"}

    def need(key):
        if key not in opts:
            raise ValueError(f"layer {index} {text!r}: {kind} needs {letters[key]} ({key}), "
                             f"e.g. {letters[key]}3")
        return opts.pop(key)

    if kind in ("conv", "convT"):
        out = need("channels")
        node = Conv(name, out, need("kernel_size"), opts.pop("stride", 1),
                    opts.pop("padding", 0), opts.pop("dilation", 1), opts.pop("groups", 1),
                    bias="nobias" not in flags, batch_norm="bn" in flags,
                    in_channels=opts.pop("in_channels", None), transposed=kind == "convT",
                    output_padding=opts.pop("output_padding", 0))
    elif kind in ("maxpool", "avgpool"):
        node = Pool(name, need("kernel_size"), opts.pop("stride", None),
                    opts.pop("padding", 0), opts.pop("dilation", 1), "ceil" in flags,
                    kind[:3])
    elif kind == "gap":
        node = AdaptivePool(name, 1, "avg")
    elif kind in ("adaptiveavgpool", "adaptivemaxpool"):
        node = AdaptivePool(name, need("out"), kind[8:11])
    elif kind == "flatten":
        node = Flatten(name)
    else:
        out = opts.pop("out", None) or opts.pop("channels", None)
        if out is None:
            raise ValueError(f"layer {index} {text!r}: linear needs o (out features), "
                             f"e.g. o10")
        node = Linear(name, out, "nobias" not in flags, opts.pop("in_channels", None))
    if opts:
        raise ValueError(f"layer {index} {text!r}: option(s) {', '.join(opts)} do not apply "
                         f"to {kind}")
    return node


def parse_spec(text: str, name: str = "spec") -> Network:
    """A network from a spec file's text: JSON (see `network_from_dict`) or one layer per
    line in the command line's syntax, with ``#`` comments and an optional first line
    ``input 3x224x224``.

    Example:
        >>> net = parse_spec("input 1x28x28\\nconv:c8,k5\\nmaxpool:k2\\n")
        >>> analyze(net)[-1].output_shape
        (8, 12, 12)
    """
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"spec {name!r}: invalid JSON: {exc}") from None
        return network_from_dict(data, name)
    input_shape = None
    layers = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.lower().startswith("input"):
            input_shape = parse_shape(line[5:].strip(" :="), func=f"spec {name!r}")
            continue
        for token in line.split():
            layers.append(parse_layer(token, len(layers) + 1))
    if not layers:
        raise ValueError(f"spec {name!r}: no layers")
    return Network(name, tuple(layers), input_shape or (3, 224, 224))


_FIELDS = {
    "conv": Conv, "pool": Pool, "adaptive_pool": AdaptivePool, "flatten": Flatten,
    "linear": Linear,
}


def network_from_dict(data: dict, name: str = "spec") -> Network:
    """A network from a JSON object::

        {"name": "mynet", "input_shape": [3, 32, 32], "sep": "/",
         "layers": [
            {"type": "conv", "name": "conv1", "out_channels": 16, "kernel_size": 3,
             "padding": 1},
            {"type": "branches", "name": "res1", "merge": "add", "paths": [
                [{"type": "conv", "name": "conv", "out_channels": 16, "kernel_size": 3,
                  "padding": "SAME"}],
                []]},
            {"type": "block", "name": "stage2", "layers": [...]},
            {"type": "pool", "name": "pool1", "kernel_size": 2, "mode": "max"}]}

    Node types: conv, pool, adaptive_pool, flatten, linear, block, branches; their keys are
    the fields of `Conv`, `Pool`, `AdaptivePool`, `Flatten`, `Linear`, `Block` and
    `Branches`. A path of "branches" is a list of nodes or a "block" object.
    """
    if not isinstance(data, dict) or "layers" not in data:
        raise ValueError(f"spec {name!r}: a JSON spec is an object with a 'layers' list")
    layers = tuple(_node_from_dict(d, f"layers[{i}]") for i, d in enumerate(data["layers"]))
    return Network(str(data.get("name", name)), layers,
                   parse_shape(data.get("input_shape", (3, 224, 224)), func=f"spec {name!r}"),
                   data.get("sep", "/"), data.get("output"))


def _tuplify(value):
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def _node_from_dict(data, where: str):
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError(f"spec: {where} must be an object with a 'type', got {data!r}")
    kind = data["type"]
    kwargs = {k: _tuplify(v) for k, v in data.items() if k != "type"}
    kwargs.setdefault("name", where)
    try:
        if kind == "block":
            kwargs["layers"] = tuple(_node_from_dict(d, f"{where}.layers[{i}]")
                                     for i, d in enumerate(data.get("layers", [])))
            return Block(**kwargs)
        if kind == "branches":
            paths = []
            for i, path in enumerate(data.get("paths", [])):
                at = f"{where}.paths[{i}]"
                if isinstance(path, dict):
                    paths.append(_node_from_dict(path, at))
                else:
                    paths.append(tuple(_node_from_dict(d, f"{at}[{j}]")
                                       for j, d in enumerate(path)))
            kwargs["paths"] = tuple(paths)
            return Branches(**kwargs)
        if kind not in _FIELDS:
            raise ValueError(f"spec: {where} has unknown type {kind!r}; expected one of "
                             f"{', '.join(list(_FIELDS) + ['block', 'branches'])}")
        return _FIELDS[kind](**kwargs)
    except TypeError as exc:
        raise ValueError(f"spec: {where} ({kind}): {exc}") from None


def load_spec(path: str) -> Network:
    """Read a spec file (JSON or the line format; see `parse_spec`)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stem = re.sub(r"\.[^./]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    return parse_spec(text, stem)


# -- the named networks ----------------------------------------------------------------------
# Conventions below: `slim` convolutions carry a batch norm and no bias where TF-slim's
# arg_scope puts one (ResNet, MobileNet, Inception), as torchvision's do.

def alexnet() -> Network:
    """TF-slim ``alexnet_v2`` (one-tower AlexNet from "One weird trick", Krizhevsky 2014):
    conv1 11x11/4 VALID, max pools 3x3/2 VALID, the other convolutions SAME, and the fully
    connected layers as convolutions (fc6 5x5 VALID on the 5x5 pool5 at 224)."""
    c = lambda n, out, k, **kw: Conv(n, out, k, padding=kw.pop("padding", "SAME"), **kw)
    p = lambda n: Pool(n, 3, 2, "VALID")
    layers = (
        c("conv1", 64, 11, stride=4, padding="VALID"), p("pool1"),
        c("conv2", 192, 5), p("pool2"),
        c("conv3", 384, 3), c("conv4", 384, 3), c("conv5", 256, 3), p("pool5"),
        c("fc6", 4096, 5, padding="VALID"), c("fc7", 4096, 1), c("fc8", 1000, 1),
    )
    return Network("alexnet", layers, output="pool5",
                   endpoints=("conv1", "pool1", "conv2", "conv3", "conv4", "conv5", "pool5"),
                   source="TF-slim nets/alexnet.py (alexnet_v2)")


def alexnet_torchvision() -> Network:
    """torchvision's AlexNet: conv1 11x11/4 pad 2, convolutions padded to keep the size,
    conv4 with 256 channels, adaptive average pooling to 6x6 and three Linear layers."""
    layers = (
        Conv("conv1", 64, 11, 4, 2), Pool("pool1", 3, 2),
        Conv("conv2", 192, 5, 1, 2), Pool("pool2", 3, 2),
        Conv("conv3", 384, 3, 1, 1), Conv("conv4", 256, 3, 1, 1), Conv("conv5", 256, 3, 1, 1),
        Pool("pool5", 3, 2), AdaptivePool("avgpool", 6), Flatten("flatten"),
        Linear("fc6", 4096), Linear("fc7", 4096), Linear("fc8", 1000),
    )
    return Network("alexnet_torchvision", layers, sep=".", output="pool5",
                   source="torchvision.models.alexnet")


_VGG16 = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _vgg16_features() -> tuple:
    layers = []
    for stage, (channels, count) in enumerate(_VGG16, 1):
        layers += [Conv(f"conv{stage}_{i}", channels, 3, padding=1) for i in range(1, count + 1)]
        layers.append(Pool(f"pool{stage}", 2, 2))
    return tuple(layers)


def vgg16() -> Network:
    """TF-slim ``vgg_16`` (Simonyan & Zisserman 2014, configuration D): 3x3 convolutions
    with SAME padding (1 pixel), 2x2/2 max pools, fc6 as a 7x7 VALID convolution and fc7,
    fc8 as 1x1 convolutions."""
    layers = _vgg16_features() + (
        Conv("fc6", 4096, 7, padding="VALID"), Conv("fc7", 4096, 1), Conv("fc8", 1000, 1))
    return Network("vgg16", layers, output="pool5",
                   endpoints=tuple(n for n in ("conv1_1", "pool1", "conv2_1", "pool2",
                                               "conv3_1", "conv3_2", "pool3", "conv4_1",
                                               "conv4_2", "pool4", "conv5_1", "conv5_2",
                                               "pool5")),
                   source="TF-slim nets/vgg.py (vgg_16)")


def vgg16_torchvision() -> Network:
    """torchvision's VGG-16: the same features, then adaptive average pooling to 7x7,
    flatten and three Linear layers (the same parameters as TF-slim's fc convolutions)."""
    layers = _vgg16_features() + (
        AdaptivePool("avgpool", 7), Flatten("flatten"),
        Linear("fc6", 4096), Linear("fc7", 4096), Linear("fc8", 1000))
    return Network("vgg16_torchvision", layers, sep=".", output="pool5",
                   source="torchvision.models.vgg16")


def _bottleneck(name: str, width: int, stride: int, in_channels: int, slim: bool,
                sep_names: tuple = ("conv1", "conv2", "conv3")) -> Branches:
    """A ResNet bottleneck unit: 1x1 (width), 3x3 (width, stride), 1x1 (4 * width), added
    to the shortcut (1x1 convolution when the shape changes, else identity / subsampling).

    TF-slim (``resnet_v1.bottleneck``) pads its strided 3x3 explicitly by (k-1)/2 on both
    sides (``conv2d_same``) and subsamples an identity shortcut with a 1x1/stride max pool;
    torchvision strides the 3x3 too, with padding 1.
    """
    out = 4 * width
    residual = (
        Conv(sep_names[0], width, 1, bias=False, batch_norm=True),
        Conv(sep_names[1], width, 3, stride, 1, bias=False, batch_norm=True),
        Conv(sep_names[2], out, 1, bias=False, batch_norm=True),
    )
    if in_channels != out or (stride != 1 and not slim):
        short_name = "shortcut" if slim else "downsample"
        shortcut = (Conv(short_name, out, 1, stride, bias=False, batch_norm=True),)
    elif stride != 1:
        shortcut = (Pool("shortcut", 1, stride),)
    else:
        shortcut = ()
    return Branches(name, (residual, shortcut), "add")


def resnet50() -> Network:
    """TF-slim ``resnet_v1_50`` (He et al. 2016): blocks of 3, 4, 6, 3 bottleneck units with
    the downsampling stride in the *last* unit of blocks 1-3 (TF-slim's convention);
    conv1 7x7/2 padded 3 (``conv2d_same``), pool1 3x3/2 SAME, global average pool5 and
    a 1x1 convolution as logits."""
    layers = [Conv("conv1", 64, 7, 2, 3, bias=False, batch_norm=True),
              Pool("pool1", 3, 2, "SAME")]
    channels = 64
    for b, (width, units, stride) in enumerate(((64, 3, 2), (128, 4, 2), (256, 6, 2),
                                                 (512, 3, 1)), 1):
        block = []
        for u in range(1, units + 1):
            s = stride if u == units else 1
            block.append(_bottleneck(f"unit_{u}", width, s, channels, slim=True))
            channels = 4 * width
        layers.append(Block(f"block{b}", tuple(block)))
    layers += [AdaptivePool("pool5", 1), Conv("logits", 1000, 1)]
    return Network("resnet50", tuple(layers), output="block4",
                   endpoints=("block1", "block2", "block3", "block4"),
                   source="TF-slim nets/resnet_v1.py (resnet_v1_50)")


def _torchvision_resnet(name: str, unit, units: tuple, expansion: int) -> Network:
    layers = [Conv("conv1", 64, 7, 2, 3, bias=False, batch_norm=True), Pool("maxpool", 3, 2, 1)]
    channels = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), units), 1):
        stride = 1 if stage == 1 else 2
        blocks = []
        for i in range(count):
            blocks.append(unit(str(i), width, stride if i == 0 else 1, channels))
            channels = width * expansion
        layers.append(Block(f"layer{stage}", tuple(blocks)))
    layers += [AdaptivePool("avgpool", 1), Flatten("flatten"), Linear("fc", 1000)]
    return Network(name, tuple(layers), sep=".", output="layer4",
                   endpoints=("layer1", "layer2", "layer3", "layer4"),
                   source=f"torchvision.models.{name.split('_')[0]}")


def _basic_block(name: str, width: int, stride: int, in_channels: int) -> Branches:
    """torchvision's BasicBlock: two 3x3 convolutions (the first strided) plus a shortcut."""
    residual = (Conv("conv1", width, 3, stride, 1, bias=False, batch_norm=True),
                Conv("conv2", width, 3, 1, 1, bias=False, batch_norm=True))
    shortcut = ()
    if stride != 1 or in_channels != width:
        shortcut = (Conv("downsample", width, 1, stride, bias=False, batch_norm=True),)
    return Branches(name, (residual, shortcut), "add")


def resnet50_torchvision() -> Network:
    """torchvision's ResNet-50 (v1.5): the stride sits in the 3x3 convolution of the
    *first* unit of layers 2-4, so the fields are smaller than TF-slim's."""
    unit = lambda n, w, s, c: _bottleneck(n, w, s, c, slim=False)
    return _torchvision_resnet("resnet50_torchvision", unit, (3, 4, 6, 3), 4)


def resnet18() -> Network:
    """torchvision's ResNet-18: two BasicBlocks per stage (He et al. 2016, table 1)."""
    return _torchvision_resnet("resnet18", _basic_block, (2, 2, 2, 2), 1)


_MOBILENET = ((1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512), (1, 512), (1, 512),
              (1, 512), (1, 512), (1, 512), (2, 1024), (1, 1024))


def mobilenet_v1() -> Network:
    """TF-slim ``mobilenet_v1`` (Howard et al. 2017, depth multiplier 1): Conv2d_0 3x3/2,
    then 13 depthwise (3x3, groups = channels) + pointwise (1x1) pairs, all SAME padding,
    which at stride 2 on an even input puts the one padding pixel after the input."""
    layers = [Conv("Conv2d_0", 32, 3, 2, "SAME", bias=False, batch_norm=True)]
    channels = 32
    for i, (stride, out) in enumerate(_MOBILENET, 1):
        layers.append(Conv(f"Conv2d_{i}_depthwise", channels, 3, stride, "SAME",
                           groups=channels, bias=False, batch_norm=True))
        layers.append(Conv(f"Conv2d_{i}_pointwise", out, 1, bias=False, batch_norm=True))
        channels = out
    layers += [AdaptivePool("AvgPool_1a", 1), Conv("Conv2d_1c_1x1", 1000, 1)]
    return Network("mobilenet_v1", tuple(layers), output="Conv2d_13_pointwise",
                   endpoints=("Conv2d_0",) + tuple(f"Conv2d_{i}_pointwise"
                                                   for i in range(1, 14)),
                   source="TF-slim nets/mobilenet_v1.py (mobilenet_v1)")


def _bn_conv(name, out, kernel, stride=1, padding="SAME"):
    return Conv(name, out, kernel, stride, padding, bias=False, batch_norm=True)


def _mixed_5(name: str, pool_channels: int) -> Branches:
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 64, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 48, 1),
                           _bn_conv("Conv2d_0b_5x5", 64, 5)), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", 64, 1), _bn_conv("Conv2d_0b_3x3", 96, 3),
                           _bn_conv("Conv2d_0c_3x3", 96, 3)), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", pool_channels, 1)), False),
    ), "concat")


def _mixed_6(name: str, width: int) -> Branches:
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 192, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", width, 1),
                           _bn_conv("Conv2d_0b_1x7", width, (1, 7)),
                           _bn_conv("Conv2d_0c_7x1", 192, (7, 1))), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", width, 1),
                           _bn_conv("Conv2d_0b_7x1", width, (7, 1)),
                           _bn_conv("Conv2d_0c_1x7", width, (1, 7)),
                           _bn_conv("Conv2d_0d_7x1", width, (7, 1)),
                           _bn_conv("Conv2d_0e_1x7", 192, (1, 7))), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", 192, 1)), False),
    ), "concat")


def _mixed_7(name: str) -> Branches:
    def split(a: str, b: str) -> Branches:
        return Branches("concat", ((_bn_conv(a, 384, (1, 3)),), (_bn_conv(b, 384, (3, 1)),)),
                        "concat")
    return Branches(name, (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 320, 1),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 384, 1),
                           split("Conv2d_0b_1x3", "Conv2d_0c_3x1")), False),
        Block("Branch_2", (_bn_conv("Conv2d_0a_1x1", 448, 1), _bn_conv("Conv2d_0b_3x3", 384, 3),
                           split("Conv2d_0c_1x3", "Conv2d_0d_3x1")), False),
        Block("Branch_3", (Pool("AvgPool_0a_3x3", 3, 1, "SAME", mode="avg"),
                           _bn_conv("Conv2d_0b_1x1", 192, 1)), False),
    ), "concat")


def inception_v3() -> Network:
    """TF-slim ``inception_v3`` (Szegedy et al. 2016), without the auxiliary classifier:
    a VALID stem (3x3/2, 3x3, 3x3 SAME, max pool 3x3/2, 1x1, 3x3, max pool 3x3/2), inception
    modules Mixed_5b-5d (35x35 at 299), the grid reduction Mixed_6a, the factorised 1x7 / 7x1
    modules Mixed_6b-6e, the reduction Mixed_7a and the expanded-filter-bank modules Mixed_7b,
    Mixed_7c; then global average pooling and a 1x1 convolution as logits."""
    stem = (
        _bn_conv("Conv2d_1a_3x3", 32, 3, 2, "VALID"), _bn_conv("Conv2d_2a_3x3", 32, 3,
                                                               padding="VALID"),
        _bn_conv("Conv2d_2b_3x3", 64, 3), Pool("MaxPool_3a_3x3", 3, 2, "VALID"),
        _bn_conv("Conv2d_3b_1x1", 80, 1, padding="VALID"),
        _bn_conv("Conv2d_4a_3x3", 192, 3, padding="VALID"), Pool("MaxPool_5a_3x3", 3, 2, "VALID"),
    )
    mixed_6a = Branches("Mixed_6a", (
        Block("Branch_0", (_bn_conv("Conv2d_1a_1x1", 384, 3, 2, "VALID"),), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 64, 1), _bn_conv("Conv2d_0b_3x3", 96, 3),
                           _bn_conv("Conv2d_1a_1x1", 96, 3, 2, "VALID")), False),
        Block("Branch_2", (Pool("MaxPool_1a_3x3", 3, 2, "VALID"),), False),
    ), "concat")
    mixed_7a = Branches("Mixed_7a", (
        Block("Branch_0", (_bn_conv("Conv2d_0a_1x1", 192, 1),
                           _bn_conv("Conv2d_1a_3x3", 320, 3, 2, "VALID")), False),
        Block("Branch_1", (_bn_conv("Conv2d_0a_1x1", 192, 1),
                           _bn_conv("Conv2d_0b_1x7", 192, (1, 7)),
                           _bn_conv("Conv2d_0c_7x1", 192, (7, 1)),
                           _bn_conv("Conv2d_1a_3x3", 192, 3, 2, "VALID")), False),
        Block("Branch_2", (Pool("MaxPool_1a_3x3", 3, 2, "VALID"),), False),
    ), "concat")
    layers = stem + (
        _mixed_5("Mixed_5b", 32), _mixed_5("Mixed_5c", 64), _mixed_5("Mixed_5d", 64),
        mixed_6a, _mixed_6("Mixed_6b", 128), _mixed_6("Mixed_6c", 160),
        _mixed_6("Mixed_6d", 160), _mixed_6("Mixed_6e", 192),
        mixed_7a, _mixed_7("Mixed_7b"), _mixed_7("Mixed_7c"),
        AdaptivePool("AvgPool_1a", 1), Conv("Conv2d_1c_1x1", 1000, 1),
    )
    return Network("inception_v3", layers, output="Mixed_7c",
                   endpoints=("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3",
                              "MaxPool_3a_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3",
                              "MaxPool_5a_3x3", "Mixed_5b", "Mixed_5c", "Mixed_5d",
                              "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                              "Mixed_7a", "Mixed_7b", "Mixed_7c"),
                   source="TF-slim nets/inception_v3.py (inception_v3_base)")


NETWORKS: dict[str, Callable[[], Network]] = {
    "alexnet": alexnet,
    "alexnet_torchvision": alexnet_torchvision,
    "vgg16": vgg16,
    "vgg16_torchvision": vgg16_torchvision,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "resnet50_torchvision": resnet50_torchvision,
    "mobilenet_v1": mobilenet_v1,
    "inception_v3": inception_v3,
}


def list_networks() -> list[str]:
    """The names `get_network` knows."""
    return list(NETWORKS)


def get_network(name: str) -> Network:
    """The named network's spec (see `NETWORKS`).

    Example:
        >>> get_network("vgg16").output
        'pool5'
    """
    if name not in NETWORKS:
        raise ValueError(f"get_network: unknown network {name!r}; known: "
                         f"{', '.join(NETWORKS)}")
    return NETWORKS[name]()
