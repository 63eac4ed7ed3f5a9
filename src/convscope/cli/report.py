"""`convscope report RUN_DIR`: one self-contained HTML page per training run.

Thin: call `viz.report.write_report` and print where the page is. See docs/report.md.
"""

from __future__ import annotations


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
    p.set_defaults(func=_report)


def _report(args) -> int:
    from ..viz.report import write_report
    path = write_report(args.run_dir, args.output, data=args.data)
    print(f"wrote {path}")
    return 0
