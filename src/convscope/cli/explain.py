"""`convscope explain RUN|MODEL`: the explainer page of a network on one image.

Thin: call `viz.explain.write_explainer` and print where the page is. See docs/explain.md.
"""

from __future__ import annotations


def register(sub) -> None:
    """Add the `explain` subcommand to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "explain", help="write a page where you click any unit of your network and see why "
                        "it has its value",
        description="Write one self-contained HTML file (no network) that shows one image "
                    "going through the network as columns of feature maps, with the class "
                    "scores at the end. Click any unit: its receptive field is outlined on "
                    "the input and on every earlier layer, and a panel shows how its value "
                    "is computed from its inputs (patch x kernel, partial sums, bias; the "
                    "pooling window; the batch-norm formula; relu), its effective receptive "
                    "field, the window sliding over the layer's input and the layer's size "
                    "arithmetic.")
    p.add_argument("source", metavar="RUN|MODEL",
                   help="a folder written by `convscope train` (or its checkpoint.npz), or a "
                        "model file (.onnx; needs --image)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--image", metavar="FILE", default=None,
                       help="your own picture (PNG, JPEG, ...), the model's size, normalised "
                            "as the run's data set")
    which.add_argument("--index", type=int, default=0, metavar="N",
                       help="test image N of the run's test set (default: 0)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the HTML file (default: RUN/explain.html; MODEL.explain.html for a model "
                        "file)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder holding the data set (default: where the run found it)")
    p.set_defaults(func=_explain)


def _explain(args) -> int:
    from ..viz.explain import write_explainer
    path = write_explainer(args.source, args.output, image=args.image, index=args.index,
                           data=args.data)
    print(f"wrote {path}")
    return 0
