"""The command-line side of `convscope.sources`: the options a model file takes where a run
brings its own data (--images, --dataset, --labels, --input, --mean, --std), and the one
call that turns a command's arguments into a `Source`.

An internal helper module of the CLI (like `_args`): the command modules import from it.
"""

from __future__ import annotations

MODEL_HELP = "a run folder (holding checkpoint.npz), a checkpoint file or a model file (.onnx)"


def add_source_arguments(parser, *, images: bool = True, input_shape: bool = True,
                         labels: bool = True, images_help: str | None = None) -> None:
    """Add the options of a model file to `parser`: where its images and class names come
    from and how they are normalised (a run brings its own; these override them).
    `images_help` replaces the help of --images."""
    group = parser.add_argument_group(
        "model files (.onnx)", "A run brings its data set, class names and statistics; a "
        "model file takes them from these options (a run uses them instead of its own).")
    if images:
        group.add_argument("--images", metavar="DIR", default=None,
                           help=images_help or "a folder of images (PNG, JPEG, ...), or of "
                                "class subfolders (their names are the classes and give the "
                                "true labels) (default: the run's test set)")
    group.add_argument("--dataset", metavar="NAME", default=None,
                       help="a named data set whose test images, classes and statistics to "
                            "use, e.g. fashion-mnist, cifar10, photo-patches (default: the "
                            "run's)")
    if labels:
        group.add_argument("--labels", metavar="FILE|A,B,...", default=None,
                           help="class names: a text file with one per line, or names "
                                "separated by commas (default: the run's, the data set's or "
                                "the class subfolders')")
    if input_shape:
        group.add_argument("--input", metavar="CxHxW", default=None, dest="input_shape",
                           help="the model's input shape when the file does not fix it; "
                                "--images are resized to it (default: the file's, or the "
                                "run's)")
    group.add_argument("--mean", metavar="M,M,M", default=None,
                       help="per-channel mean to subtract from images in [0, 1], e.g. "
                            "ImageNet's 0.485,0.456,0.406 (default: the run's or the data "
                            "set's; none for a model file)")
    group.add_argument("--std", metavar="S,S,S", default=None,
                       help="per-channel standard deviation to divide by, e.g. "
                            "0.229,0.224,0.225 (default: as --mean)")


def source_from_args(args, path: str, func: str):
    """`sources.resolve` with the options `add_source_arguments` added (missing ones are
    None)."""
    from ..sources import resolve

    get = lambda name: getattr(args, name, None)  # noqa: E731
    return resolve(path, images=get("images"), dataset=get("dataset"), data=get("data"),
                   labels=get("labels"), input_shape=get("input_shape"), mean=get("mean"),
                   std=get("std"), func=func)
