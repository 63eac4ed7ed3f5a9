"""`convscope bench`: which convolution algorithm runs a layer and why, and (with --time)
how long each algorithm that applies takes on it. Thin: parse, ask `functional`, print."""

from __future__ import annotations

import json
import time

import numpy as np

from ..arith.grammar import parse_layer
from ..arith.network import Conv, parse_shape


def register(sub) -> None:
    """Add the `bench` subcommand to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "bench", help="which convolution algorithm runs a layer, and why (--time: timings)",
        description="Explain which algorithm algorithm='auto' picks for a convolution layer "
                    "(given in the `shape` syntax) on an input, e.g. convscope bench "
                    "--explain conv:c128,k3,p1 --input 64x56x56 --batch 8; with --time, "
                    "also time the forward pass of every algorithm that applies.")
    p.add_argument("--explain", required=True, metavar="LAYER",
                   help="a conv or convT layer, e.g. conv:c128,k3,p1 (required)")
    p.add_argument("--input", required=True, metavar="CxHxW",
                   help="input shape C x spatial sizes, e.g. 64x56x56 (required)")
    p.add_argument("--batch", type=int, default=1, help="batch size N (default: 1)")
    p.add_argument("--time", action="store_true",
                   help="also time each applicable algorithm's forward pass, all but the slow "
                        "direct reference (default: off)")
    p.add_argument("--repeat", type=int, default=3,
                   help="timed calls per algorithm with --time; the best is shown "
                        "(default: 3)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_bench)


def _layer(args):
    layer = parse_layer(args.explain)
    if not isinstance(layer, Conv):
        raise ValueError(f"--explain needs a conv or convT layer, got {args.explain!r}")
    shape = parse_shape(args.input, func="bench")
    if args.batch < 1:
        raise ValueError(f"--batch must be a positive integer, got {args.batch}")
    n = len(shape) - 1
    if n < 1:
        raise ValueError(f"--input needs C and at least one spatial size, got {args.input!r}")
    k = layer.kernel_size
    K = tuple(k) if isinstance(k, tuple) else (k,) * n
    groups = layer.groups
    C_in = shape[0]
    if layer.transposed:
        w_shape = (C_in, layer.out_channels // groups, *K)
    else:
        w_shape = (layer.out_channels, C_in // groups, *K)
    return layer, (args.batch, *shape), w_shape


def _bench(args) -> int:
    from .. import functional as F
    from ..kernels import ALGORITHMS

    layer, x_shape, w_shape = _layer(args)
    kwargs = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation,
                  groups=layer.groups)
    algorithm, reason = F.conv_algorithm(x_shape, w_shape, transposed=layer.transposed,
                                         **kwargs)
    result = {"layer": args.explain, "input": list(x_shape), "weight": list(w_shape),
              "algorithm": algorithm, "reason": reason}
    if args.time:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        fn = F.conv_transpose if layer.transposed else F.conv
        if layer.transposed:
            kwargs["output_padding"] = layer.output_padding
        times = {}
        for name in ("auto", *sorted(set(ALGORITHMS) - {"direct"})):  # not the slow reference
            try:
                fn(x, w, algorithm=name, **kwargs)  # warm-up; refuses if it does not apply
            except ValueError:
                continue
            best = float("inf")
            for _ in range(max(1, args.repeat)):
                t0 = time.perf_counter()
                fn(x, w, algorithm=name, **kwargs)
                best = min(best, time.perf_counter() - t0)
            times[name] = best
        result["forward_ms"] = {k: round(1e3 * v, 3) for k, v in times.items()}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    kind = "conv_transpose" if layer.transposed else "conv"
    print(f"{args.explain} on input {'x'.join(map(str, x_shape))} ({kind}, weight "
          f"{'x'.join(map(str, w_shape))}): algorithm='auto' runs {algorithm!r}")
    print(f"  why: {reason}")
    for name, ms in result.get("forward_ms", {}).items():
        print(f"  {name:>10}: {ms:10.3f} ms forward (best of {max(1, args.repeat)})")
    return 0
