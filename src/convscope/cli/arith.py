"""`convscope shape`, `convscope rf` and `convscope summary`: convolution arithmetic on the
command line. Thin: parse, call `networks` / `summary`, print. `rf` and `summary` take a
named network, a spec file or a model file (.onnx, read by `convscope.onnx.load`; branches
included). See docs/arith.md."""

from __future__ import annotations

import argparse
import json
import os

from ..networks import (NETWORKS, Network, analyze, get_network, load_spec, parse_layer,
                       parse_shape)
from ..sources import Source, is_model_file, resolve
from ..summary import field_dict, format_axes, summary

_LAYER_HELP = """\
layers: KIND:OPTIONS, options separated by commas, e.g. conv:c64,k7,s2,p3
  kinds:   conv, convT, maxpool, avgpool, gap (global average pool),
           adaptiveavgpool, flatten, linear (or fc)
  options: c out channels, k kernel, s stride, p padding (int, same, valid,
           per axis 1x2, before-after 0-1), d dilation, g groups,
           i expected in channels, o out features / output size,
           op output padding, flags bn, nobias, ceil, name=NAME
"""


def register(sub) -> None:
    """Add the `shape`, `rf` and `summary` subcommands to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "shape", help="output shape after each layer of a stack given on the command line",
        description="Print the output shape after each layer of a stack, e.g. "
                    "convscope shape 3x224x224 conv:c64,k7,s2,p3 maxpool:k3,s2,p1",
        epilog=_LAYER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="input shape C x spatial sizes, e.g. 3x224x224")
    p.add_argument("layers", nargs="+", metavar="LAYER", help="layers, e.g. conv:c64,k3,p1")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_shape)

    for name, func, what in (("rf", _rf, "receptive field, jump and effective padding of "
                                           "every layer"),
                             ("summary", _summary, "per-layer output shape, parameters, "
                                                   "MACs, receptive field and jump")):
        p = sub.add_parser(
            name, help=f"{what} of a named network, a spec file or a model file (.onnx)",
            description=f"Print the {what} of a named network (see --list), of a spec "
                        f"file (one layer per line in the `shape` syntax, or JSON; see "
                        f"docs/arith.md) or of a model file (.onnx, e.g. exported by "
                        f"torch.onnx.export; branches included: the field of a join is "
                        f"the union over its paths).")
        p.add_argument("network", nargs="?", metavar="NAME_SPEC_OR_MODEL",
                       help="a network name (see --list), a spec file, a model file "
                            "(.onnx) or a run (a folder holding checkpoint.npz, or the "
                            "checkpoint)")
        p.add_argument("--input", default=None, metavar="CxHxW",
                       help="input shape (default: the network's, 3x224x224 for the named "
                            "networks; a model file's own when it fixes one; a run's data "
                            "set's)")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")
        p.add_argument("--list", action="store_true", help="list the named networks")
        if name == "rf":
            p.add_argument("--endpoint", default=None, metavar="LAYER",
                           help="report this layer as the output (default: the network's "
                                "output, e.g. pool5, block4, Mixed_7c)")
        p.set_defaults(func=func)


def _network(args):
    """The named network, the spec file's Network, or the `sources.Source` of a model file
    or a run (a folder holding checkpoint.npz, or the checkpoint)."""
    target = args.network
    if target is None:
        raise ValueError("give a network name, a spec file, a model file or a run (see "
                         "--list)")
    if target in NETWORKS:
        return get_network(target)
    if is_model_file(target) or target.endswith(".npz") or os.path.isdir(target):
        return resolve(target, func=f"convscope {args.command}")
    if os.path.exists(target):
        return load_spec(target)
    raise ValueError(f"{target!r} is neither a known network nor a spec file; known "
                     f"networks: {', '.join(NETWORKS)}")


def _name(target: str) -> str:
    """A model file or run as its base name (runs/baseline -> baseline)."""
    return os.path.basename(os.path.normpath(target))


def _print_list() -> int:
    for name in NETWORKS:
        net = get_network(name)
        print(f"{name:22s} {net.source}")
    return 0


def _table(header, lines) -> str:
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    fmt = lambda row: "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(x) for x in lines])


def _shape(args) -> int:
    layers = tuple(parse_layer(text, i) for i, text in enumerate(args.layers, 1))
    net = Network("stack", layers, parse_shape(args.input, func="shape"))
    rows = analyze(net)
    if args.json:
        print(json.dumps({"input_shape": list(net.input_shape),
                          "layers": [{"name": r.name, "output_shape": list(r.output_shape),
                                      "dropped": list(r.unused) if r.unused else None}
                                     for r in rows]}, indent=2))
        return 0
    lines = [["input", "", "x".join(map(str, net.input_shape)), "", ""]]
    for text, r in zip(args.layers, rows):
        f = r.field
        lines.append([r.name, text, "x".join(map(str, r.output_shape)),
                      format_axes(f.size) if f else "-", format_axes(f.jump) if f else "-"])
    print(_table(["layer", "spec", "output", "RF", "jump"], lines))
    for r in rows:
        if r.unused and any(r.unused):
            print(f"note: {r.name} drops the last {format_axes(r.unused)} input row(s) per "
                  f"axis that no window covers (stride does not divide the padded input)")
    return 0


def _output_row(net, rows, endpoint):
    if endpoint is not None:
        for r in rows:
            if r.name == endpoint:
                return r
        raise ValueError(f"{net.name} has no layer named {endpoint!r}")
    if getattr(net, "output", None) is not None:
        for r in rows:
            if r.name == net.output:
                return r
    defined = [r for r in rows if r.field is not None]
    if not defined:
        raise ValueError(f"{net.name}: no layer has a receptive field")
    return defined[-1]


def _model_shape(model, path: str, input_shape):
    """--input, else the shape the model file declares, else an error saying to pass it."""
    from ..sources import declared_shape
    shape = input_shape if input_shape is not None else declared_shape(model)
    if shape is None:
        raise ValueError(f"{path} does not fix its input size: pass --input CxHxW (e.g. "
                         f"--input 3x224x224)")
    return parse_shape(shape)


def rf_dict(net, input_shape=None, endpoint=None, name: str | None = None) -> dict:
    """The `rf --json` object (schema in docs/arith.md) of a Network, or of a model (an
    `nn.Module`, e.g. a loaded model file: input_shape required unless the file fixes it;
    one row per layer of `convscope.summary`)."""
    if isinstance(net, Network):
        rows = analyze(net, input_shape)
        shape = parse_shape(net.input_shape if input_shape is None else input_shape)
    else:
        shape = _model_shape(net, name or "the model", input_shape)
        result = summary(net, shape)
        rows = result.rows
        net = argparse.Namespace(name=name or result.name, output=None)
    out = _output_row(net, rows, endpoint)
    if out.field is None:
        raise ValueError(f"{net.name}: layer {out.name!r} ({out.kind}) has no receptive "
                         f"field (after flatten/linear or a transposed convolution)")
    layers = [{"name": r.name, "kind": r.kind, "output_shape": list(r.output_shape),
               **field_dict(r.field)} for r in rows]
    return {
        "network": net.name, "input_shape": list(shape), "output_layer": out.name,
        "output_shape": list(out.output_shape), **field_dict(out.field), "layers": layers,
    }


def _rf(args) -> int:
    if args.list:
        return _print_list()
    net = _network(args)
    if isinstance(net, Source):
        data = rf_dict(net.model, args.input or net.input_shape, args.endpoint,
                       name=_name(args.network))
    else:
        data = rf_dict(net, args.input, args.endpoint, name=_name(args.network))
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    show = lambda v: "-" if v is None else format_axes(v if isinstance(v, list) else [v])
    lines = [[d["name"], d["kind"], "x".join(map(str, d["output_shape"])),
              show(d["receptive_field"]), show(d["jump"]), show(d["effective_padding"]),
              {None: "", True: "", False: "NOT ALIGNED"}[d["aligned"]]]
             for d in data["layers"]]
    print(f"{data['network']} on input {'x'.join(map(str, data['input_shape']))}")
    print(_table(["layer", "kind", "output", "RF", "jump", "eff. padding", ""], lines))
    print(f"\n{data['output_layer']}: receptive field {show(data['receptive_field'])}, "
          f"jump {show(data['jump'])}, effective padding {show(data['effective_padding'])}"
          + ("" if data["aligned"] else " (branches NOT aligned)"))
    return 0


def _summary(args) -> int:
    if args.list:
        return _print_list()
    net = _network(args)
    if isinstance(net, Network):
        result = summary(net, args.input)
    else:
        result = summary(net.model, _model_shape(net.model, args.network,
                                                 args.input or net.input_shape))
        result.name = _name(args.network)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result)
    return 0
