"""`convscope train` and `convscope evaluate`: the main job on the command line.

Thin: parse the options into a `train.TrainConfig`, call `train.train` or
`train.evaluate_checkpoint`, print. Every default comes from `TrainConfig`, so the help text
and the library never disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from .. import train as _train
from ..data import DATASETS, ENV_VAR, DEBIAN_FASHION_MNIST_DIR

_DEFAULTS = _train.TrainConfig()
# Options whose value a resumed run may change; the others come from the checkpoint.
_RESUMABLE = ("data", "out")


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--widths must be comma-separated ints such as "
                                         f"32,64,128, got {text!r}") from None


def _option(parser, flag: str, name: str, help: str, **kwargs) -> None:
    """An option whose default (None: not given) is shown from TrainConfig."""
    default = getattr(_DEFAULTS, name)
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    if "(default:" not in help:  # else the text says what None means
        help = f"{help} (default: {shown})"
    parser.add_argument(flag, dest=name, default=None, help=help, **kwargs)


def register(subparsers) -> None:
    """Add the `train` and `evaluate` subcommands."""
    p = subparsers.add_parser(
        "train", help="train the default CNN (Fashion-MNIST unless told otherwise)",
        description="Train a CNN with convscope alone and write metrics.json, "
                    "checkpoint.npz, training_curves.png, filters.png, report.html (the "
                    "run's page, see `convscope report`) and explain.html (click any unit, "
                    "see `convscope explain`) into --out. "
                    "Ctrl-C keeps the checkpoint of the last complete epoch; --resume goes on "
                    "from it with the same numbers as an uninterrupted run.",
        epilog=f"Data lookup: --data DIR, else ${ENV_VAR}, else (Fashion-MNIST) "
               f"{DEBIAN_FASHION_MNIST_DIR} from the Debian package dataset-fashion-mnist.")
    _option(p, "--dataset", "dataset", "data set", choices=sorted(DATASETS))
    _option(p, "--data", "data", "folder holding the data set (default: the lookup below)",
            metavar="DIR")
    _option(p, "--epochs", "epochs", "passes over the training set", type=int)
    _option(p, "--batch-size", "batch_size", "training mini-batch size", type=int)
    _option(p, "--lr", "lr", "learning rate (the peak of the one-cycle schedule)", type=float)
    _option(p, "--momentum", "momentum", "SGD momentum (AdamW: beta1)", type=float)
    _option(p, "--weight-decay", "weight_decay", "weight decay", type=float)
    _option(p, "--label-smoothing", "label_smoothing", "label smoothing of the training "
            "loss", type=float)
    _option(p, "--optimizer", "optimizer", "optimizer", choices=["sgd", "adamw"])
    _option(p, "--schedule", "schedule", "learning-rate schedule, stepped every batch",
            choices=["onecycle", "cosine", "constant"])
    p.add_argument("--no-nesterov", dest="nesterov", action="store_false", default=None,
                   help=f"plain instead of Nesterov momentum (default: "
                        f"{'Nesterov' if _DEFAULTS.nesterov else 'plain'})")
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None,
                   help=f"no random horizontal flips (default: "
                        f"{'flips' if _DEFAULTS.flip else 'none'})")
    _option(p, "--crop-padding", "crop_padding", "random crops after padding by this many "
            "pixels; 0 for none", type=int)
    _option(p, "--model", "model", "model (default: the data set's)",
            choices=["fashion_cnn", "cifar_cnn", "photo_cnn"])
    _option(p, "--widths", "widths", "channel widths of the model, e.g. 32,64,128 (default: "
            "the model's)", type=_widths)
    _option(p, "--seed", "seed", "seed of the weights, data order and augmentation", type=int)
    _option(p, "--out", "out", "output folder (default: runs/<timestamp>)", metavar="DIR")
    _option(p, "--eval-batch-size", "eval_batch_size", "batch size for evaluation", type=int)
    _option(p, "--limit-train", "limit_train", "use only the first N training images",
            type=int, metavar="N")
    _option(p, "--limit-test", "limit_test", "use only the first N test images", type=int,
            metavar="N")
    p.add_argument("--resume", metavar="PATH",
                   help="go on from a checkpoint (checkpoint.npz or its run folder); the "
                        "run keeps its configuration, only --data and --out may be given")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is shown only on a terminal anyway)")
    p.set_defaults(func=_run_train)

    e = subparsers.add_parser(
        "evaluate", help="test accuracy and confusion matrix of a checkpoint",
        description="Rebuild the model of a checkpoint, print its test accuracy and a "
                    "confusion matrix, and write confusion_matrix.png next to the checkpoint "
                    "(or into --out).")
    e.add_argument("checkpoint", metavar="CKPT",
                   help="checkpoint.npz written by `convscope train`, or its run folder")
    e.add_argument("--data", metavar="DIR",
                   help="folder holding the data set (default: the run's, else the usual "
                        "lookup)")
    e.add_argument("--out", metavar="DIR",
                   help="folder for confusion_matrix.png (default: the checkpoint's)")
    e.add_argument("--batch-size", type=int, default=None,
                   help="evaluation batch size (default: the run's)")
    e.add_argument("--limit", type=int, default=None, metavar="N",
                   help="only the first N test images (default: all)")
    e.set_defaults(func=_run_evaluate)


def _given(args) -> dict:
    names = [f.name for f in dataclasses.fields(_train.TrainConfig)]
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def _run_train(args) -> int:
    given = _given(args)
    if args.resume is not None:
        fixed = sorted(n for n in given if n not in _RESUMABLE)
        if fixed:
            flags = ", ".join("--" + n.replace("_", "-") for n in fixed)
            raise ValueError(f"--resume keeps the run's configuration; {flags} cannot be "
                             f"changed (only --data and --out can)")
        config = _train.TrainConfig(data=given.get("data"), out=given.get("out"))
    else:
        config = _train.TrainConfig(**given)
    start = time.perf_counter()
    try:
        metrics = _train.train(config, progress=not args.no_progress, resume=args.resume)
    except _train.TrainingInterrupted as exc:
        print(f"\n{exc.advice()}", file=sys.stderr)
        return 130
    out = metrics["config"]["out"]
    wall = time.perf_counter() - start
    best, final = metrics["best_test_accuracy"], metrics["final_test_accuracy"]
    if best is None:
        print(f"no epoch completed; report in {out}/")
        return 0
    print(f"best test accuracy {100 * best:.2f}% (epoch {metrics['best_epoch']}), final "
          f"{100 * final:.2f}%; {_duration(wall)} wall time this session, "
          f"{_duration(metrics['total_seconds'])} training in total; report in {out}/")
    return 0


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(round(seconds)), 60)
    return f"{minutes} min {s} s" if minutes else f"{seconds:.1f} s"


def _run_evaluate(args) -> int:
    result = _train.evaluate_checkpoint(args.checkpoint, data=args.data, out=args.out,
                                        batch_size=args.batch_size, limit=args.limit)
    from ..viz import format_confusion_matrix
    print(f"test accuracy {100 * result['accuracy']:.2f}% ({result['images']} images, "
          f"loss {result['loss']:.4f}) after epoch {result['epoch']}")
    print(format_confusion_matrix(result["confusion_matrix"], result["classes"]))
    if result["picture"]:
        print(f"confusion matrix written to {result['picture']}")
    sys.stdout.flush()
    return 0
