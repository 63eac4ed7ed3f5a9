"""`convscope bench`: which convolution algorithm runs a layer and why, and (with --time)
how long each algorithm that applies takes on it (with --backward, its gradients too).

Timings are taken in this one process, round after round, each round calling every
candidate once in an order that alternates between rounds, and the best of the rounds is
shown: on a shared machine single timings move a lot, so read them as noisy. The first
call of a compiled kernel (`winograd*_jit`) may compile it (once per machine, then cached);
that call is a warm-up and not timed. Thin: parse, ask `functional`, print."""

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
                    "also time the forward pass of every algorithm that applies (with "
                    "--backward, the gradients too), in alternating rounds in one process "
                    "(noisy on a shared machine).")
    p.add_argument("--explain", required=True, metavar="LAYER",
                   help="a conv or convT layer, e.g. conv:c128,k3,p1 (required)")
    p.add_argument("--input", required=True, metavar="CxHxW",
                   help="input shape C x spatial sizes, e.g. 64x56x56 (required)")
    p.add_argument("--batch", type=int, default=1, help="batch size N (default: 1)")
    p.add_argument("--time", action="store_true",
                   help="also time each applicable algorithm's forward pass, all but the slow "
                        "direct reference; the pick is marked (default: off)")
    p.add_argument("--repeat", type=int, default=5,
                   help="rounds with --time, each timing every candidate once in "
                        "alternating order; the best is shown (default: 5)")
    p.add_argument("--backward", action="store_true",
                   help="also time the input and weight gradients (implies --time; "
                        "default: off)")
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
    if args.time or args.backward:  # --backward implies --time
        args.time = True
        result.update(_timings(args, layer, x_shape, w_shape, kwargs))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    kind = "conv_transpose" if layer.transposed else "conv"
    print(f"{args.explain} on input {'x'.join(map(str, x_shape))} ({kind}, weight "
          f"{'x'.join(map(str, w_shape))}): algorithm='auto' runs {algorithm!r}")
    print(f"  why: {reason}")
    if "forward_ms" in result:
        cols = ["forward_ms"] + (["backward_ms"] if args.backward else [])
        print(f"  {'algorithm':>14}  {'forward ms':>10}" + (f"  {'backward ms':>11}"
                                                         if args.backward else "")
              + f"   (best of {max(1, args.repeat)} alternating rounds; noisy on a "
                f"shared machine)")
        for name in result["forward_ms"]:
            mark = "  <- auto" if name == algorithm else ""
            print(f"  {name:>14}" + "".join(f"  {result[c][name]:10.3f}" +
                                            (" " if c == "backward_ms" else "")
                                            for c in cols) + mark)
    return 0


def _timings(args, layer, x_shape, w_shape, kwargs) -> dict:
    """{'forward_ms': {name: ms}, and with --backward 'backward_ms'} of every algorithm
    that applies ('auto' first, the slow 'direct' reference left out)."""
    from .. import functional as F
    from ..autograd import Tensor
    from ..kernels import ALGORITHMS

    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    fn = F.conv_transpose if layer.transposed else F.conv
    if layer.transposed:
        kwargs = dict(kwargs, output_padding=layer.output_padding)

    def call(name):
        """(forward seconds, backward seconds or None)."""
        if not args.backward:
            t0 = time.perf_counter()
            fn(x, w, algorithm=name, **kwargs)
            return time.perf_counter() - t0, None
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        t0 = time.perf_counter()
        y = fn(xt, wt, algorithm=name, **kwargs)
        t1 = time.perf_counter()
        y.backward(np.ones(y.shape, dtype=np.float32))
        return t1 - t0, time.perf_counter() - t1

    names = []
    for name in ("auto", *sorted(set(ALGORITHMS) - {"direct"})):
        try:
            call(name)  # warm-up (and compile); refuses if the algorithm does not apply
        except ValueError:
            continue
        names.append(name)
    best = {name: [float("inf"), float("inf")] for name in names}
    for r in range(max(1, args.repeat)):
        for name in names if r % 2 == 0 else names[::-1]:
            f, b = call(name)
            best[name][0] = min(best[name][0], f)
            if b is not None:
                best[name][1] = min(best[name][1], b)
    out = {"forward_ms": {k: round(1e3 * v[0], 3) for k, v in best.items()}}
    if args.backward:
        out["backward_ms"] = {k: round(1e3 * v[1], 3) for k, v in best.items()}
    return out
