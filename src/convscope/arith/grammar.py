"""The layer syntax of the command line (``conv:c64,k7,s2,p3``) and spec files (one layer
per line, or JSON), read into `arith.network` specs. The syntax is documented in
docs/arith.md.

Example:
    >>> layer = parse_layer("conv:c64,k7,s2,p3")
    >>> layer.out_channels, layer.kernel_size, layer.stride, layer.padding
    (64, 7, 2, 3)
"""

from __future__ import annotations

import json
import os
import re

from .._args import check_int, show
from .network import (AdaptivePool, Block, Branches, Conv, Flatten, Linear, Network, Node,
                      Pool, parse_shape)

__all__ = ["parse_layer", "parse_spec", "load_spec", "network_from_dict"]


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
    if any(isinstance(p, tuple) and len(p) != 2 for p in parsed):
        raise ValueError(f"layer {layer!r}: a before-after pair has two values, like 0-1, "
                         f"got {key}={text!r}")
    if any(isinstance(p, tuple) for p in parsed) and key != "padding":
        raise ValueError(f"layer {layer!r}: only padding takes before-after pairs, got "
                         f"{key}={text!r}")
    if len(parsed) == 1 and isinstance(parsed[0], tuple):
        return (parsed[0],)  # one (before, after) pair, for every axis
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
    index = check_int(index, func="parse_layer", arg="index")
    if not isinstance(text, str):
        raise TypeError(f"parse_layer: a layer must be a string like 'conv:c64,k3', got "
                        f"{show(text)}")
    if not text.strip():
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
        >>> from convscope.arith.network import analyze
        >>> net = parse_spec("input 1x28x28\\nconv:c8,k5\\nmaxpool:k2\\n")
        >>> analyze(net)[-1].output_shape
        (8, 12, 12)
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_spec: text must be a string (a spec file's content), got "
                        f"text={show(text)}")
    if not isinstance(name, str):
        raise TypeError(f"parse_spec: name must be a string, got name={show(name)}")
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
    if not isinstance(name, str):
        raise TypeError(f"network_from_dict: name must be a str, got name={name!r}")
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
    except (TypeError, ValueError) as exc:
        if str(exc).startswith("spec:"):
            raise
        raise ValueError(f"spec: {where} ({kind}): {exc}") from None


def load_spec(path: str) -> Network:
    """Read a spec file (JSON or the line format; see `parse_spec`)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"load_spec: path must be a file name, got path={show(path)}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_spec: no such spec file: {path}")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise ValueError(f"load_spec: {path} is not a text file (UTF-8)") from None
    stem = re.sub(r"\.[^./]*$", "", path.replace("\\", "/").rsplit("/", 1)[-1])
    return parse_spec(text, stem)
