"""`convscope report RUN_DIR` / `convscope report model.onnx --images DIR`: one
self-contained HTML page per training run or model file.

Thin: resolve a model file with `sources.resolve`, call `viz.report.write_report` and print
where the page is. See docs/report.md.
"""

from __future__ import annotations

import os

from ._source import add_source_arguments, source_from_args

# the section ids of viz.report.SECTIONS, listed here so that --help does not import the
# pictures (tests/test_viz_report.py checks the two agree)
SECTION_IDS = ("run", "accuracy", "confusion", "summary", "filters", "maps", "rf",
               "patches", "cam", "widget")


def register(sub) -> None:
    """Add the `report` subcommand to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "report", help="write a run's or a model file's self-contained HTML report",
        description="Write one HTML file about a training run, or about a model file (.onnx) "
                    "on a folder of images, that opens from disk with no network: "
                    "configuration, accuracy, curves, confusion matrix, model summary, "
                    "filters with their orientation / colour numbers, feature maps, "
                    "receptive fields, top patches, class-activation maps and a live "
                    "convolution-arithmetic widget. Sections whose data is missing say so.",
        epilog="Example: convscope report model.onnx --images photos/ --mean "
               "0.485,0.456,0.406 --std 0.229,0.224,0.225 (photos/ holding one subfolder "
               "per class gives the true labels and the confusion matrix)")
    p.add_argument("run_dir", metavar="RUN_DIR_OR_MODEL",
                   help="a folder written by `convscope train` (metrics.json, "
                        "checkpoint.npz), or a model file (.onnx)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the HTML file (default: RUN_DIR/report.html; MODEL.html beside a "
                        "model file)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder holding the data set (default: where the run found it)")
    p.add_argument("--sections", default=None, metavar="A,B",
                   help=f"the sections to include, comma-separated, from "
                        f"{','.join(SECTION_IDS)} (default: all)")
    p.add_argument("--show", type=int, default=None, metavar="N",
                   help="images shown as feature maps and Grad-CAM strips (default: 3)")
    add_source_arguments(p, images_help="a model file's images: a folder of images, or of "
                                        "class subfolders (their names are the classes and "
                                        "give the true labels); a number N, as before, is "
                                        "the same as --show N")
    p.set_defaults(func=_report)


def _report(args) -> int:
    from ..sources import is_model_file
    from ..viz.report import write_report
    sections = None if args.sections is None else [
        name.strip() for name in args.sections.split(",") if name.strip()]
    shown = 3 if args.show is None else args.show
    images = args.images
    if images is not None and images.lstrip("-").isdigit() and not os.path.isdir(images):
        shown, images = int(images), None  # the older --images N
        args.images = None
    source = None
    if is_model_file(args.run_dir):
        source = source_from_args(args, args.run_dir, "report")
    else:
        given = [f"--{name.replace('input_shape', 'input')}" for name in
                 ("dataset", "labels", "input_shape", "mean", "std")
                 if getattr(args, name) is not None] + (["--images DIR"] if images else [])
        if given:
            raise ValueError(f"{', '.join(given)}: for a model file; a run's report shows its "
                             f"own test set (--data DIR says where it lies)")
    path = write_report(args.run_dir, args.output, data=args.data, sections=sections,
                        images=shown, source=source)
    print(f"wrote {path}")
    return 0
