"""`convscope animate`: one convolution setting as a GIF, SVG or HTML animation.

Thin: parse the options into the library's argument forms, call
`viz.animate.conv_animation` (which checks them with the library's own rules) and
`viz.animate_draw.save_animation`. See docs/animate.md for the conv_arithmetic settings.
"""

from __future__ import annotations

import argparse
import re

_EXAMPLES = """\
examples (docs/animate.md has every conv_arithmetic setting):
  convscope animate --input 5x5 --kernel 3 --padding 1 --stride 2 -o conv.gif
  convscope animate --input 7 --kernel 3 --padding 2 --padding-mode reflect --values
  convscope animate --input 3x3 --kernel 3 --stride 2 --padding 1 --output-padding 1 \\
      --transposed -o up.html
  convscope animate --input 5x5 --kernel 3 --channels 2,1 --values -o sum.svg
"""


def _ints(text: str, what: str):
    """'3' -> 3, '3x2' -> (3, 2)."""
    parts = text.lower().split("x")
    if not all(re.fullmatch(r"\d+", p.strip()) for p in parts):
        raise ValueError(f"animate: {what} must be an int or ints per axis like 3x2, got "
                         f"{what}={text!r}")
    values = tuple(int(p) for p in parts)
    return values[0] if len(values) == 1 else values


def parse_padding(text: str):
    """The --padding syntax as the library's padding argument.

    '1' -> 1; '1x2' -> (1, 2) (per axis); '(0,1)' -> ((0, 1),) (one (before, after) pair,
    for every axis); '(0,1),(1,2)' or '0-1x1-2' -> ((0, 1), (1, 2)); 'same', 'valid'.
    """
    t = text.strip().lower().replace(" ", "")
    if t in ("same", "valid"):
        return t
    if "(" in t:
        pairs = re.findall(r"\((\d+),(\d+)\)", t)
        if not pairs or re.sub(r"\(\d+,\d+\),?", "", t):
            raise ValueError(f"animate: --padding pairs look like (0,1) or (0,1),(1,2), got "
                             f"{text!r}")
        return tuple((int(a), int(b)) for a, b in pairs)
    if "-" in t:
        axes = t.split("x")
        if not all(re.fullmatch(r"\d+-\d+", a) for a in axes):
            raise ValueError(f"animate: --padding before-after pairs look like 0-1 or 0-1x1-2,"
                             f" got {text!r}")
        return tuple(tuple(int(v) for v in a.split("-")) for a in axes)
    return _ints(t, "--padding")


def _spread_pairs(padding, n: int):
    """One (before, after) pair given for an n-d input applies to every axis."""
    if (isinstance(padding, tuple) and len(padding) == 1 and isinstance(padding[0], tuple)
            and n > 1):
        return padding * n
    return padding


def _channels(text: str):
    parts = text.replace("x", ",").split(",")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"animate: --channels must look like CIN,COUT (e.g. 3,2), got "
                         f"{text!r}")
    return tuple(int(p) for p in parts)


def register(sub) -> None:
    """Add the `animate` subcommand to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "animate", help="animate one convolution setting (GIF, SVG or HTML)",
        description="Draw a convolution sliding over a 1-D or 2-D input, one frame per output "
                    "position (plus a held first and last frame): the padded input, the "
                    "kernel, the output, the output-size formula with its numbers, and the "
                    "rows a stride drops. Sizes come from convscope.arith, values from "
                    "convscope.functional.",
        epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default="5x5", metavar="HxW",
                   help="input size: 7 (1-D) or 5x5 (2-D) (default: 5x5)")
    p.add_argument("--kernel", default="3", metavar="K",
                   help="kernel size, one int or per axis like 3x2 (default: 3)")
    p.add_argument("--padding", default="0", metavar="P",
                   help="padding: an int, per axis 1x2, (before,after) pairs like (0,1) or "
                        "(0,1),(1,2) (or 0-1x1-2), same, or valid (default: 0)")
    p.add_argument("--padding-mode", default="zeros",
                   choices=["zeros", "reflect", "replicate", "circular"],
                   help="what the padded cells hold (default: zeros)")
    p.add_argument("--stride", default="1", metavar="S",
                   help="stride, one int or per axis (default: 1)")
    p.add_argument("--dilation", default="1", metavar="D",
                   help="dilation, one int or per axis (default: 1)")
    p.add_argument("--transposed", action="store_true",
                   help="a transposed convolution, drawn as the equal direct convolution "
                        "over the stretched input (default: off)")
    p.add_argument("--output-padding", default="0", metavar="OP",
                   help="transposed only: extra size at the end (default: 0)")
    p.add_argument("--channels", default="1,1", metavar="CIN,COUT",
                   help="input and output channels, 1 to 4 each (default: 1,1)")
    p.add_argument("--values", action="store_true",
                   help="show numbers: small integer input, kernel and bias, and each output "
                        "computed by convscope.functional (default: off)")
    p.add_argument("--seed", type=int, default=0, help="seed of --values (default: 0)")
    p.add_argument("--frame-ms", type=int, default=700,
                   help="milliseconds per output position (default: 700)")
    p.add_argument("-o", "--output", default="conv.gif", metavar="FILE",
                   help="output file: .gif, .svg or .html (default: conv.gif)")
    p.set_defaults(func=_animate)


def _animate(args) -> int:
    from ..viz.animate import conv_animation
    from ..viz.animate_draw import check_frame_ms, save_animation

    size = _ints(args.input, "--input")
    size = (size,) if isinstance(size, int) else size
    if not args.output.lower().endswith((".gif", ".svg", ".html", ".htm")):
        raise ValueError(f"animate: -o must end in .gif, .svg or .html, got {args.output!r}")
    check_frame_ms(args.frame_ms, "animate", "--frame-ms")
    anim = conv_animation(
        size, _ints(args.kernel, "--kernel"), _ints(args.stride, "--stride"),
        _spread_pairs(parse_padding(args.padding), len(size)),
        _ints(args.dilation, "--dilation"), transposed=args.transposed,
        output_padding=_ints(args.output_padding, "--output-padding"),
        padding_mode=args.padding_mode, channels=_channels(args.channels),
        values=args.values, seed=args.seed)
    save_animation(anim, args.output, args.frame_ms)
    print(f"wrote {args.output}: {anim.func}, input {'x'.join(map(str, anim.input_size))} -> "
          f"output {'x'.join(map(str, anim.output_size))}, {len(anim.frames)} frames")
    return 0
