"""`convscope report RUN_DIR`: one self-contained HTML page per training run.

Thin: call `viz.report.write_report` and print where the page is. See docs/report.md.
"""

from __future__ import annotations

# the section ids of viz.report.SECTIONS, listed here so that --help does not import the
# pictures (tests/test_viz_report.py checks the two agree)
SECTION_IDS = ("run", "accuracy", "confusion", "summary", "filters", "maps", "rf",
               "patches", "cam", "widget")


def register(sub) -> None:
    """Add the `report` subcommand to `sub` (argparse subparsers)."""
    p = sub.add_parser(
        "report", help="write a run's self-contained HTML report",
        description="Write one HTML file about a training run that opens from disk with no "
                    "network: configuration, accuracy, curves, confusion matrix, model "
                    "summary, filters with their orientation / colour numbers, feature maps, "
                    "receptive fields, top patches, class-activation maps and a live "
                    "convolution-arithmetic widget. Sections whose data is missing say so.")
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="a folder written by `convscope train` (metrics.json, checkpoint.npz)")
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="the HTML file (default: RUN_DIR/report.html)")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="folder holding the data set (default: where the run found it)")
    p.add_argument("--sections", default=None, metavar="A,B",
                   help=f"the sections to include, comma-separated, from "
                        f"{','.join(SECTION_IDS)} (default: all)")
    p.add_argument("--images", type=int, default=3, metavar="N",
                   help="test images shown as feature maps and Grad-CAM strips (default: 3)")
    p.set_defaults(func=_report)


def _report(args) -> int:
    from ..viz.report import write_report
    sections = None if args.sections is None else [
        name.strip() for name in args.sections.split(",") if name.strip()]
    path = write_report(args.run_dir, args.output, data=args.data, sections=sections,
                        images=args.images)
    print(f"wrote {path}")
    return 0
