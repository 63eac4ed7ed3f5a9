"""`convscope viz`: pictures of what a trained network learned, from a run folder, a
checkpoint or a model file (.onnx).

    convscope viz filters|maps|rf|patches|cam|optimize RUN_OR_MODEL
        [--layer NAME] [--channel C] [--unit I,J] [--image FILE | --index N] [-o FILE]
        [--json] [--images DIR | --dataset NAME] [--labels ...] [--input CxHxW]

Thin: `sources.resolve` gives the model and its test images (a run's data set, normalised
as in training; for a model file, --images or --dataset), then call `convscope.viz`, write
the PNG, print the numbers (one line, or JSON with --json). `--image FILE` reads a PNG/JPEG
with Pillow: converted to grey (L) or RGB to match the model's input channels, resized to
the model's input size with bilinear filtering (a model file of any size: kept as it is),
scaled to [0, 1], optionally inverted (--invert: Fashion-MNIST shows light objects on
black), then normalised with the source's mean and std.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from ._source import MODEL_HELP, add_source_arguments, source_from_args

SUBCOMMANDS = ("filters", "maps", "rf", "patches", "cam", "optimize")


def _unit(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--unit must be comma-separated ints such as 3,3, "
                                         f"got {text!r}") from None


def register(subparsers) -> None:
    """Add `viz` and its subcommands."""
    p = subparsers.add_parser(
        "viz", help="pictures of what a trained network learned",
        description="Pictures of a trained run, with their numbers: filter grids, activation "
                    "maps, receptive fields (theoretical and effective), the test images "
                    "that excite a channel most, Grad-CAM, and feature visualisation by "
                    "optimisation. See docs/viz.md.")
    sub = p.add_subparsers(dest="picture", metavar="PICTURE", required=True)
    helps = {
        "filters": ("a layer's filters as a grid", "first convolution"),
        "maps": ("activation maps of one image through every convolution", None),
        "rf": ("theoretical and effective receptive field of one unit", "last convolution"),
        "patches": ("the test images that excite a channel most, cropped to the unit's field",
                    "last convolution"),
        "cam": ("Grad-CAM at one layer, a strip over every convolution's block, and the "
                "randomised-weights sanity check",
                "end of the last convolution's block, e.g. its ReLU"),
        "optimize": ("the input that maximises a channel (feature visualisation)",
                     "last convolution"),
    }
    for name in SUBCOMMANDS:
        text, layer_default = helps[name]
        s = sub.add_parser(name, help=text, description=f"convscope viz {name}: {text}.")
        s.add_argument("run", metavar="RUN_OR_MODEL", help=MODEL_HELP)
        if layer_default:
            s.add_argument("--layer", metavar="NAME", default=None,
                           help=f"module name, as in `print(model)` (default: the "
                                f"{layer_default})")
        if name in ("patches", "optimize"):
            s.add_argument("--channel", type=int, default=0, metavar="C",
                           help="output channel of the layer (default: 0)")
        if name == "rf":
            s.add_argument("--channel", type=int, default=None, metavar="C",
                           help="output channel (default: all channels at the unit)")
        if name in ("rf", "optimize"):
            s.add_argument("--unit", type=_unit, default=None, metavar="I,J",
                           help="output position of the unit (default: rf: the centre of "
                                "the layer's output; optimize: none, the channel's mean)")
        if name in ("maps", "rf", "cam"):
            which = s.add_mutually_exclusive_group()
            which.add_argument("--image", metavar="FILE", default=None,
                               help="your own PNG/JPEG, converted to the model's input "
                                    "(default: a test image, see --index)")
            which.add_argument("--index", type=int, default=0, metavar="N",
                               help="index of the test image (default: 0)")
            s.add_argument("--invert", action="store_true",
                           help="invert --image (dark objects on light ground -> light on "
                                "dark, as Fashion-MNIST) (default: no)")
        if name == "filters":
            s.add_argument("--captions", choices=["orientation", "colour", "none"],
                           default="none", help="numbers under each filter, from "
                           "convscope.measure, and the layer mean against 100 random "
                           "initialisations of the layer (default: none)")
            s.add_argument("--sort", choices=["orientation", "colour", "none"],
                           default="none", help="sort filters by that number (default: "
                                                "none)")
        if name == "rf":
            s.add_argument("--samples", type=int, default=256, metavar="N",
                           help="test images averaged for the effective field; also writes "
                                "FILE-sizes.png: theoretical vs effective size of every "
                                "convolution, initial and trained weights (default: 256)")
            s.add_argument("--random", action="store_true",
                           help="average over N(0, 1) noise inputs instead of test images "
                                "(default: test images)")
        if name == "patches":
            s.add_argument("-k", type=int, default=12, help="number of images (default: 12)")
        if name == "cam":
            s.add_argument("--target", type=int, default=None, metavar="CLASS",
                           help="class to explain (default: the predicted class)")
        if name == "optimize":
            s.add_argument("--steps", type=int, default=256,
                           help="gradient steps (default: 256)")
        s.add_argument("--data", metavar="DIR", default=None,
                       help="folder holding the data set (default: the run's)")
        s.add_argument("-o", "--out", metavar="FILE", default=None,
                       help=f"PNG to write (default: viz-{name}.png in the current folder)")
        s.add_argument("--json", action="store_true",
                       help="print the picture's numbers as JSON (default: one line)")
        add_source_arguments(s)
        s.set_defaults(func=_run)


# -- loading -----------------------------------------------------------------------------------
def _image(run, args, what: str) -> tuple[np.ndarray, int | None, str]:
    """(model input (C, H, W), label or None, description) of --image or --index."""
    if getattr(args, "image", None):
        return load_image(args.image, run.input_shape, run, args.invert), None, \
            os.path.basename(args.image)
    x, y = run.test(what)
    if not 0 <= args.index < len(x):
        where = (f"the test set has {len(x)} images" if run.kind == "run"
                 and not getattr(args, "images", None) else f"there are {len(x)} {run.data}")
        raise ValueError(f"--index={args.index} is out of range: {where} (0..{len(x) - 1})")
    return x[args.index], None if y is None else int(y[args.index]), \
        f"image {args.index}" if run.kind == "model" else f"test image {args.index}"


def load_image(path: str, shape, run, invert: bool = False) -> np.ndarray:
    """A PNG/JPEG as a model input of `shape` (C, H, W): grey or RGB, resized (bilinear),
    scaled to [0, 1], optionally inverted, normalised with the source's statistics
    (`run.normalize`). shape None: the model's input channels at the image's own size."""
    from .._optional import require
    Image = require("PIL.Image", "convscope viz --image")
    UnidentifiedImageError = Image.UnidentifiedImageError
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--image: no such file: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode.startswith("I") or img.mode == "F":  # I;16B would clip to 255
                raise ValueError(f"--image {path}: {img.mode} images (16-bit or float) are "
                                 f"not supported; give an 8-bit PNG or JPEG")
            if shape is None:
                from ..sources import input_channels
                shape = (input_channels(run.model) or 3, img.height, img.width)
            channels, h, w = shape
            img = img.convert("L" if channels == 1 else "RGB")
            img = img.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(img, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"--image {path}: not an image Pillow can read (a PNG or JPEG is "
                         f"expected)") from None
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    if invert:
        a = 1.0 - a
    return run.normalize(a)


# -- the pictures ------------------------------------------------------------------------------
def _run(args) -> int:
    from .. import viz

    run = source_from_args(args, args.run, f"convscope viz {args.picture}")
    what_for = f"convscope viz {args.picture}"
    model, classes = run.model, list(run.classes) or None
    out = args.out or f"viz-{args.picture}.png"
    picture = args.picture
    bar = sys.stderr.isatty()  # progress bars only for a person watching
    if picture == "filters":
        from ..viz._common import is_conv, module_of, resolve_layer

        layer = resolve_layer("viz filters", model, args.layer, "first")
        module = module_of(model, layer)
        if not is_conv(module):
            raise ValueError(f"--layer={layer!r} is a {type(module).__name__}, not a "
                             f"convolution; filters are drawn for convolutions")
        pick = {"none": None}
        grid = viz.filter_grid(module.weight.data, captions=pick.get(args.captions,
                                                                     args.captions),
                               sort_by=pick.get(args.sort, args.sort))
        numbers = {"layer": layer, **grid.to_dict()}
        title = f"filters of layer {layer} ({'x'.join(map(str, module.weight.shape))})"
        line = f"{len(grid.order)} filters of layer {layer}"
        if grid.scores and module.weight.data.ndim == 4:
            # the trained layer against its own random initialisations (convscope.measure)
            from .. import measure

            # the run's null level: the one definition training and the report use
            null = measure.run_null_level(module, run.config.seed)
            numbers["null"] = null
            for key, level in null.items():
                if f"{key}_mean" in numbers:
                    mean = numbers[f"{key}_mean"]
                    sd = (mean - level["mean"]) / level["std"] if level["std"] > 0 else 0.0
                    short = "OES" if key.startswith("orientation") else "CO"
                    title += (f"\nmean {short} {mean:.3f}; random initialisations "
                              f"{level['mean']:.3f} ± {level['std']:.3f} ({sd:+.1f} sd)")
                    name = ("orientation energy selectivity" if key.startswith("orientation")
                            else key.replace("_", " "))
                    line += (f"; mean {name} {mean:.3f} vs "
                             f"{level['mean']:.3f} ± {level['std']:.3f} at random "
                             f"initialisation ({sd:+.1f} sd)")
        viz.plot_filters(grid, out, title=title)
    elif picture == "maps":
        image, label, what = _image(run, args, what_for)
        maps = viz.feature_maps(model, image)
        viz.plot_feature_maps(maps, out, title=f"activation maps of {what}"
                              + (f" ({run.class_name(label)})" if label is not None else ""))
        numbers = maps.to_dict()
        line = ", ".join(f"layer {d['layer']}: {'x'.join(map(str, d['shape']))}"
                         for d in numbers["layers"])
    elif picture == "rf":
        image, _, what = _image(run, args, what_for)
        if args.samples < 1:
            raise ValueError(f"--samples must be >= 1, got {args.samples}")
        if args.random:
            inputs = np.random.default_rng(0).normal(
                size=(args.samples, *image.shape)).astype(np.float32)
        else:
            inputs = run.test(what_for)[0][:args.samples]
        inputs = np.concatenate([image[None], inputs])  # the first is the one drawn
        erf = viz.effective_receptive_field(model, inputs, args.layer, args.unit, args.channel,
                                            progress=bar)
        viz.plot_receptive_field(erf, out)
        # every convolution's centre unit, before (a run's seeded initialisation) and after
        initial = run.initial_model()
        sizes = {"trained": viz.receptive_field_sizes(model, inputs[1:])}
        if initial is not None:
            sizes = {"initial": viz.receptive_field_sizes(initial, inputs[1:]), **sizes}
        base, ext = os.path.splitext(out)
        sizes_png = f"{base}-sizes{ext or '.png'}"
        viz.plot_receptive_field_sizes(sizes, sizes_png)
        numbers = {**erf.to_dict(), "sizes": {k: [r.to_dict() for r in v]
                                              for k, v in sizes.items()},
                   "pictures": [out, sizes_png]}
        h = erf.halfwidths
        line = (f"layer {erf.layer} unit {erf.unit}: theoretical field "
                f"{'x'.join(map(str, erf.theoretical_size))}; effective half-widths "
                f"50/90/99%: {h[50]:g}/{h[90]:g}/{h[99]:g} px; mass inside "
                f"{erf.mass_inside:.3f}")
    elif picture == "patches":
        x, y = run.test(what_for)
        top = viz.top_patches(model, x, args.layer, args.channel, args.k, labels=y,
                              classes=classes, progress=bar)
        viz.plot_top_patches(top, out)
        numbers = top.to_dict()
        line = (f"channel {top.channel} of layer {top.layer}: top activations "
                f"{', '.join(f'{v:.2f}' for v in top.values[:5])}"
                f"{' ...' if len(top.values) > 5 else ''}")
    elif picture == "cam":
        image, label, what = _image(run, args, what_for)
        from ..viz._common import block_outputs

        check = viz.cam_sanity_check(model, image, args.layer, args.target)
        layers = block_outputs(model, image.shape)
        if check.trained.layer not in layers:
            layers.append(check.trained.layer)
        strip = viz.grad_cam_layers(model, image, layers, check.trained.target)
        base, ext = os.path.splitext(out)
        viz.plot_grad_cam(check.trained, out, classes=classes)
        viz.plot_grad_cam_layers(strip, f"{base}-layers{ext or '.png'}", classes=classes)
        viz.plot_cam_sanity_check(check, f"{base}-sanity{ext or '.png'}", classes=classes)
        rho = check.to_dict()["spearman"]
        numbers = {**check.trained.to_dict(), "image": what,
                   "label": label, "spearman_randomized": rho,
                   "cascade": check.to_dict()["cascade"],
                   "pictures": [out, f"{base}-layers{ext or '.png'}",
                                f"{base}-sanity{ext or '.png'}"]}
        line = (f"{what}: predicted {run.class_name(check.trained.predicted)!r}, explained "
                f"{run.class_name(check.trained.target)!r} at layer {check.trained.layer}; "
                f"Spearman rank correlation with every layer re-initialised: "
                f"{'undefined (a map is zero everywhere)' if rho is None else rho}")
    else:  # optimize
        if args.steps < 1:
            raise ValueError(f"--steps must be >= 1, got {args.steps}")
        if run.input_shape is None:
            raise ValueError(f"{run.path} does not fix its input size: pass --input CxHxW")
        vis = viz.visualize_channels(model, run.input_shape, args.layer, [args.channel],
                                     args.unit, steps=args.steps, progress=bar)
        viz.plot_feature_visualization(vis, out)
        numbers = vis.to_dict()
        line = (f"channel {args.channel} of layer {vis.layer}: activation "
                f"{vis.objective[0]:.3f} after {vis.steps} steps")
    if args.json:
        print(json.dumps({"picture": out, **numbers}, indent=2))
    else:
        print(f"{line}\nwrote {', '.join(numbers.get('pictures', [out]))}")
    sys.stdout.flush()
    return 0
