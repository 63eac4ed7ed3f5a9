"""One self-contained HTML page per training run, or per model file: `convscope report
RUN_DIR` / `convscope report model.onnx --images DIR`.

The page holds everything a learner wants to see about a run, in one file that opens from
disk with no server and no network: every picture is a PNG inlined as a base64 data URI,
the styles and the one script (the arithmetic widget, `report_widget`) are inside the page.

Sections: the run's configuration; accuracy per epoch, the curves and the confusion matrix;
the model summary (`convscope.summary`: output shape, parameters, MACs, receptive field and
jump per layer); the first-layer filters at initialisation and after training with the
orientation / colour-opponency numbers of metrics.json's "filters" against their null
level; feature maps of a few test images; theoretical vs effective receptive fields per
layer; top patches; the class-activation strip; the live arithmetic widget. A section whose
data is missing (no checkpoint, no data set, no "filters" in metrics.json, a picture module
this version lacks) says so in the page instead.

A model file (your own network, exported to ONNX) has no training history: its page shows
the model, its summary, the accuracy and confusion matrix on labelled images (class
subfolders of --images, or --dataset), its filters against random initialisations of the
same layer, feature maps, receptive fields, top patches and Grad-CAM on the images given
(`build_report(path, source=convscope.sources.resolve(path, images=...))`).

The numbers come from the library (`train.evaluate`, `summary`, `convscope.viz.*`'s compute
functions) and the pictures from their drawing functions; this module only lays them out.

Example:
    >>> import os, tempfile                                            # doctest: +SKIP
    >>> path = write_report("runs/baseline")                           # doctest: +SKIP
    >>> os.path.basename(path)                                         # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import base64
import html
import json
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from ..io import atomic_write_text
from .report_widget import WIDGET_HTML

__all__ = ["REPORT_NAME", "SECTIONS", "build_report", "write_report"]

REPORT_NAME = "report.html"


@dataclass
class _Run:
    """What the sections draw from; None (with a reason in `missing`) where absent."""

    directory: str
    metrics: dict
    config: object = None          # train.TrainConfig
    model: object = None           # the trained model
    initial: object = None         # the same model at initialisation
    input_shape: tuple | None = None
    classes: tuple = ()
    x_test: np.ndarray | None = None   # normalised as the model wants
    y_test: np.ndarray | None = None
    missing: dict = field(default_factory=dict)  # what -> why it is missing
    images: int = 3          # test images for the feature maps and the class-activation strips
    erf_images: int = 64     # inputs averaged for the effective receptive fields
    patch_images: int = 2000  # test images searched for top patches
    kind: str = "run"        # or "model": a model file (no training history)
    data: str = "test images"  # what the images are, for the text


def _load_run(run_dir: str, data: str | None) -> _Run:
    from .. import training as train
    from ..data import Normalize, dataset_info, load_dataset

    path = os.path.join(run_dir, train.METRICS_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"report: {run_dir} holds no {train.METRICS_NAME} (is it the "
                                f"folder `convscope train --out` wrote?)")
    with open(path, encoding="utf-8") as f:
        try:
            metrics = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"report: {path} is not valid JSON: {exc}") from None
    run = _Run(os.path.abspath(run_dir), metrics)
    try:
        run.config = train.TrainConfig.from_dict(metrics.get("config") or {})
    except (TypeError, ValueError) as exc:
        run.missing["model"] = f"the configuration in metrics.json cannot be read ({exc})"
        return run
    if data is not None:
        import dataclasses
        run.config = dataclasses.replace(run.config, data=data)
    run.classes = tuple(metrics.get("dataset", {}).get("classes") or ())
    kwargs = metrics.get("model", {}).get("kwargs", {})
    if "in_channels" in kwargs and "image_size" in kwargs:
        run.input_shape = (kwargs["in_channels"], kwargs["image_size"], kwargs["image_size"])
    ckpt_path = os.path.join(run_dir, train.CHECKPOINT_NAME)
    if not os.path.isfile(ckpt_path):
        run.missing["model"] = f"no {train.CHECKPOINT_NAME} in the run folder"
    else:
        ckpt = train.load_checkpoint(ckpt_path)
        run.initial = train.build_model(ckpt.config)   # seeded: the run's own initialisation
        run.model = train.build_model(ckpt.config)
        run.model.load_state_dict(ckpt.model_state)
        run.model.eval()
        run.initial.eval()
    try:
        x, y = load_dataset(run.config.dataset, False, run.config.data)
    except (FileNotFoundError, ValueError) as exc:
        run.missing["data"] = f"the test set cannot be read: {exc}"
    else:
        if run.config.limit_test is not None:
            x, y = x[:run.config.limit_test], y[:run.config.limit_test]
        info = dataset_info(run.config.dataset)
        run.x_test = Normalize(info.mean, info.std)(x).astype(np.float32)
        run.y_test = np.asarray(y)
        run.classes = run.classes or tuple(info.classes)
    return run


def _load_source(source) -> _Run:
    """The `_Run` of a `sources.Source` of a model file: no metrics, no initialisation;
    images and labels from the source when it has them."""
    run = _Run(os.path.abspath(source.path), {}, kind="model", model=source.model,
               input_shape=source.input_shape, classes=tuple(source.classes))
    if not source.has_data:
        try:
            source.require_data("the report's pictures")
        except ValueError as exc:
            run.missing["data"] = str(exc)
        return run
    run.x_test, y = source.test("report")
    run.data = source.data or "images"
    if y is None:
        run.missing["labels"] = ("the images have no true labels: put them in one subfolder "
                                 "per class under --images, or use --dataset NAME")
    else:
        run.y_test = y
    run.input_shape = run.input_shape or tuple(run.x_test.shape[1:])
    return run


def _class_name(run: _Run, k: int) -> str:
    k = int(k)
    return run.classes[k] if 0 <= k < len(run.classes) else str(k)


# -- page pieces -------------------------------------------------------------------------------
def _e(value) -> str:
    """Text for an element's content (quotes stay quotes)."""
    return html.escape(str(value), quote=False)


def _png(draw, *args, **kwargs) -> bytes:
    """Call a convscope drawing function with a temporary PNG path; return the PNG bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "picture.png")
        draw(*args, path=path, **kwargs)
        with open(path, "rb") as f:
            return f.read()


def _img(png: bytes, alt: str, size: str = "medium") -> str:
    """An inline PNG; size 'small' (filter grids), 'medium' or 'wide' caps its width."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{size}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _missing(text: str) -> str:
    return f'<p class="missing">Not shown: {_e(text)}.</p>'


def _table(header, rows, numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i >= numeric_from else ""}>{_e(c)}</td>'
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _need(run: _Run, *what: str) -> str | None:
    """The reason a section cannot be drawn, or None."""
    for w in what:
        if w in run.missing:
            return run.missing[w]
    return None


# -- sections: each returns (id, title, html) ---------------------------------------------------
def _section_model_file(run: _Run):
    params = sum(int(p.data.size) for p in run.model.parameters())
    shape = "x".join(map(str, run.input_shape)) if run.input_shape else "not fixed"
    images = ("none" if run.x_test is None else
              f"{len(run.x_test)} {run.data}"
              + (" (with true labels)" if run.y_test is not None else " (no labels)"))
    facts = [("model file", run.directory), ("parameters", f"{params:,}"),
             ("input", shape), ("images", images),
             ("classes", ", ".join(run.classes) if run.classes else "unknown (see --labels)")]
    body = _table(["", ""], facts, numeric_from=2).replace(
        "<thead><tr><th></th><th></th></tr></thead>", "")
    return "run", "The model", body


def _section_run(run: _Run):
    if run.kind == "model":
        return _section_model_file(run)
    m = run.metrics
    model = m.get("model", {})
    data = m.get("dataset", {})
    facts = [
        ("model", f"{model.get('name', '?')} ({model.get('parameters', 0):,} parameters)"),
        ("data set", f"{data.get('name', '?')}: {data.get('train_images', '?')} training, "
                     f"{data.get('test_images', '?')} test images"),
        ("epochs", f"{len(m.get('epochs', []))}" + ("" if m.get("finished") else
                                                    " (not finished)")),
        ("training time", f"{m.get('total_seconds', 0):.0f} s"),
        ("run folder", run.directory),
    ]
    config = m.get("config", {})
    items = "".join(f"<span><code>{_e(k)}</code> {_e(v if isinstance(v, str) else json.dumps(v))}"
                    f"</span>" for k, v in config.items())
    body = (_table(["", ""], facts, numeric_from=2).replace("<thead><tr><th></th><th></th>"
                                                            "</tr></thead>", "")
            + f'<h3>Configuration</h3><div class="config">{items}</div>')
    return "run", "The run", body


def _section_accuracy(run: _Run):
    from . import training as pictures
    m = run.metrics
    epochs = m.get("epochs", [])
    if run.kind == "model":
        return "accuracy", "Accuracy and curves", _missing(
            "a model file has no training history; the confusion matrix shows its accuracy "
            "on labelled images")
    if not epochs:
        return "accuracy", "Accuracy and curves", _missing("no epoch has finished yet")
    head = (f'<p class="big">test accuracy <b>{_pct(m.get("final_test_accuracy"))}</b> '
            f'after {len(epochs)} epochs (best {_pct(m.get("best_test_accuracy"))} at '
            f'epoch {m.get("best_epoch")})</p>')
    rows = [(e["epoch"], f"{e['train_loss']:.4f}", _pct(e["train_accuracy"]),
             f"{e['test_loss']:.4f}", _pct(e["test_accuracy"]), f"{e.get('lr', 0):.4g}",
             f"{e.get('seconds', 0):.1f}") for e in epochs]
    table = _table(["epoch", "train loss", "train acc.", "test loss", "test acc.", "lr",
                    "seconds"], rows)
    curves = _img(_png(pictures.plot_training_curves, epochs,
                       title=f"{m.get('dataset', {}).get('name', '')}: "
                             f"{m.get('model', {}).get('name', '')}"),
                  "training and test loss and accuracy per epoch")
    return "accuracy", "Accuracy and curves", head + curves + table


def _section_confusion(run: _Run):
    from .. import training as train
    from ..data import DataLoader
    from . import training as pictures
    title = "Confusion matrix"
    reason = _need(run, "model", "data", "labels")
    if reason:
        return "confusion", title, _missing(reason)
    batch = getattr(run.config, "eval_batch_size", 1000) or 1000
    _, accuracy, pred = train.evaluate(run.model, DataLoader(run.x_test, run.y_test, batch))
    n = max(len(run.classes), int(np.max(pred)) + 1, int(np.max(run.y_test)) + 1)
    names = [_class_name(run, k) for k in range(n)]
    matrix = pictures.confusion_matrix(run.y_test, pred, n)
    png = _png(pictures.plot_confusion_matrix, matrix, names,
               title=f"{'test set' if run.kind == 'run' else 'images'}: "
                     f"{100 * accuracy:.2f}% correct")
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    rows = [(name, int(matrix[k].sum()), _pct(per_class[k])) for k, name in enumerate(names)]
    who = "The checkpoint's model" if run.kind == "run" else "The model"
    text = (f"<p>{who} on the {len(run.y_test)} {run.data}: "
            f"<b>{100 * accuracy:.2f}%</b> correct. Rows are the true classes.</p>")
    return "confusion", title, text + _img(png, "confusion matrix") + _table(
        ["class", "images", "correct"], rows)


def _section_summary(run: _Run):
    from ..summary import summary
    title = "Model summary"
    reason = _need(run, "model")
    if reason or run.input_shape is None:
        return "summary", title, _missing(reason or "the model's input shape is unknown")
    s = summary(run.model, run.input_shape).to_dict()
    show = lambda v: "-" if v is None else "x".join(map(str, v)) if isinstance(v, list) else v
    rows = [(r["name"], r["kind"], "x".join(map(str, r["output_shape"])), f"{r['params']:,}",
             f"{r['macs']:,}", show(r["receptive_field"]), show(r["jump"]))
            for r in s["layers"]]
    text = (f"<p>Input {'x'.join(map(str, s['input_shape']))}: {s['total_params']:,} "
            f"parameters, {s['total_macs']:,} multiply-accumulates per image. The receptive "
            f"field is how many input pixels one unit of the layer sees; the jump is how far "
            f"apart in the input two neighbouring units are.</p>")
    return "summary", title, text + _table(
        ["layer", "type", "output shape", "params", "MACs", "receptive field", "jump"],
        rows, numeric_from=2)


def _first_conv_weight(model):
    from ..nn import Conv1d, Conv2d, Conv3d
    for _, module in model.named_modules():
        if isinstance(module, (Conv1d, Conv2d, Conv3d)):
            return np.asarray(module.weight.data)
    return None


def _filter_stats(run: _Run) -> dict:
    """metrics.json's "filters" record for a run that predates it, as `convscope train`
    computes it: `measure.filter_stats` at initialisation and after training, and
    `measure.run_null_level` (100 initialisations from seeds seed + 1, seed + 2, ...)."""
    from .. import measure
    seed = run.config.seed if run.config is not None else 0  # a model file: seeds 1..100
    stats = {"final": measure.filter_stats(_first_conv_weight(run.model)),
             "null": measure.run_null_level(run.model, seed)}
    if run.initial is not None:
        stats["init"] = measure.filter_stats(_first_conv_weight(run.initial))
    return stats


def _section_filters(run: _Run):
    from . import training as pictures
    title = "First-layer filters"
    parts = []
    stats = run.metrics.get("filters")
    source = 'metrics.json "filters"'
    if (not stats or "final" not in stats) and run.model is not None and \
            _first_conv_weight(run.model) is not None:
        stats, source = _filter_stats(run), (
            "computed here: this run's metrics.json has none" if run.kind == "run" else
            "computed here from the model file's first convolution; a model file has no "
            "initialisation of its own")
    if stats:
        rows = []
        for key, name in (("orientation_selectivity", "orientation energy selectivity"),
                          ("colour_opponency", "colour opponency")):
            if key not in stats.get("final", {}):
                continue
            init, final = stats.get("init", {}).get(key), stats["final"][key]
            null = stats.get("null", {}).get(key) or {}
            mean, std = null.get("mean"), null.get("std")
            z = (final - mean) / std if None not in (mean, std) and std else None
            fmt = lambda v: "-" if v is None else f"{v:.3f}"
            rows.append((name, fmt(init), fmt(final),
                         "-" if mean is None else f"{mean:.3f} ± {std:.3f}",
                         "-" if z is None else f"{z:+.1f}"))
        parts.append(f"<p>Layer means ({_e(source)}); the null level is the same measure on "
                     f"random initialisations of this model (mean ± standard deviation), and "
                     f"the last column says how many standard deviations above it the trained "
                     f"filters are.</p>")
        parts.append(_table(["measure", "at initialisation", "after training", "null level",
                             "trained vs null (sd)"], rows))
    else:
        parts.append(_missing('metrics.json has no "filters" numbers and there is no model '
                              'to measure'))
    reason = _need(run, "model")
    if reason:
        parts.append(_missing(reason))
    else:
        grids = []
        for model, when in ((run.initial, "at initialisation"), (run.model, "after training")):
            if model is None:  # a model file: no initialisation of its own
                continue
            weight = _first_conv_weight(model)
            if weight is None:
                parts.append(_missing("the model has no convolution"))
                break
            # each filter captioned with its own number (convscope.measure via viz.filters)
            measure = "colour" if weight.shape[1] == 3 else "orientation"
            png = _png(pictures.plot_filters, weight, captions=measure,
                       title=f"first-layer filters {when}")
            grids.append(f"<figure>{_img(png, f'filters {when}')}</figure>")
        parts.append('<div class="row">' + "".join(grids) + "</div>")
    return "filters", title, "".join(parts)


def _section_maps(run: _Run):
    title = "Feature maps"
    from . import maps
    reason = _need(run, "model", "data")
    if reason:
        return "maps", title, _missing(reason)
    parts = [f"<p>What each convolution layer computes from {run.images} of the "
             f"{run.data} (the first channels of each layer).</p>"]
    for i in range(min(run.images, len(run.x_test))):
        fm = maps.feature_maps(run.model, run.x_test[i])
        label = "" if run.y_test is None else f": {_class_name(run, run.y_test[i])}"
        parts.append(_img(_png(maps.plot_feature_maps, fm, title=f"image {i}{label}"),
                          f"feature maps of test image {i}", "wide"))
    return "maps", title, "".join(parts)


def _section_rf(run: _Run):
    title = "Receptive fields: theoretical vs effective"
    from . import rf
    reason = _need(run, "model", "data")
    if reason:
        return "rf", title, _missing(reason)
    inputs = run.x_test[:run.erf_images]
    if run.initial is None:  # a model file: its weights only
        sizes = {"trained": rf.receptive_field_sizes(run.model, inputs)}
        rows = [(t.layer, t.theoretical_size, *(t.effective.get(q, "-") for q in (50, 90, 99)))
                for t in sizes["trained"]]
        header = ["layer", "theoretical", "50%", "90%", "99%"]
        when = ("; in a branched model the joins of paths are listed too (their theoretical "
                "field is the union over the paths)")
    else:
        sizes = {"initial": rf.receptive_field_sizes(run.initial, inputs),
                 "trained": rf.receptive_field_sizes(run.model, inputs)}
        rows = [(t.layer, t.theoretical_size, *(v.effective.get(q, "-") for q in (50, 90, 99)
                                                for v in (i, t)))
                for i, t in zip(sizes["initial"], sizes["trained"])]
        header = ["layer", "theoretical", "50% init", "50% trained", "90% init",
                  "90% trained", "99% init", "99% trained"]
        when = ", at initialisation and after training"
    text = (f"<p>The theoretical field of a layer's centre unit (from the arithmetic) and its "
            f"effective size (Luo et al. 2016): the width holding 50%, 90% and 99% of the "
            f"gradient of that unit with respect to the input, averaged over "
            f"{len(inputs)} of the {run.data}{when}.</p>")
    return "rf", title, text + _img(_png(rf.plot_receptive_field_sizes, sizes),
                                    "theoretical and effective receptive field sizes") + \
        _table(header, rows)


def _section_patches(run: _Run):
    title = "Top patches"
    from . import patches
    reason = _need(run, "model", "data")
    if reason:
        return "patches", title, _missing(reason)
    n = min(run.patch_images, len(run.x_test))
    top = patches.top_patches(run.model, run.x_test[:n], channel=0, k=9,
                              labels=run.y_test[:n], classes=run.classes or None)
    text = (f"<p>The 9 of {n} {run.data} that excite channel {top.channel} of layer "
            f"<code>{_e(top.layer)}</code> most, each cut to the receptive field "
            f"({'x'.join(map(str, top.field_size))}) of the unit that fires.</p>")
    return "patches", title, text + _img(_png(patches.plot_top_patches, top),
                                         "top patches")


def _section_cam(run: _Run):
    title = "Class activation maps (Grad-CAM) across layers"
    from . import cam
    reason = _need(run, "model", "data")
    if reason:
        return "cam", title, _missing(reason)
    parts = ["<p>Where each layer's evidence for the predicted class sits (Grad-CAM, "
             "Selvaraju et al. 2017), layer by layer, so that you can see which layer "
             "localises it.</p>"]
    for i in range(min(run.images, len(run.x_test))):
        cams = cam.grad_cam_layers(run.model, run.x_test[i])
        parts.append(_img(_png(cam.plot_grad_cam_layers, cams, classes=list(run.classes)
                               or None, title=f"image {i}"),
                          f"Grad-CAM strip of image {i}", "wide"))
    return "cam", title, "".join(parts)


def _section_widget(run: _Run):
    text = ("<p>Move the sliders: the kernel slides over the padded input of the first "
            "layer; the table follows L identical layers. The numbers are "
            "<code>convscope.arith</code>'s (the browser tests check them).</p>")
    return "widget", "Convolution arithmetic, live", text + WIDGET_HTML


SECTIONS = {"run": _section_run, "accuracy": _section_accuracy,
            "confusion": _section_confusion, "summary": _section_summary,
            "filters": _section_filters, "maps": _section_maps, "rf": _section_rf,
            "patches": _section_patches, "cam": _section_cam, "widget": _section_widget}

_STYLE = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:0;color:#222;background:#fff}
header{background:#08306b;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0} header a{color:#c6dbef}
nav{padding:8px 24px;background:#eef3f8;font-size:14px}
nav a{margin-right:14px;color:#08519c}
main{padding:0 24px 40px;max-width:1200px}
h2{border-bottom:2px solid #9ecae1;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:10px 0;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left} td.num{text-align:right}
th{background:#eef3f8}
img{max-width:100%;display:block;margin:8px 0} img.small{max-width:min(100%,520px)}
img.medium{max-width:min(100%,760px)} img.wide{max-width:min(100%,1150px)}
.config{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:2px 16px;
font-size:14px}
.row{display:flex;flex-wrap:wrap;gap:16px} figure{margin:0}
.missing{color:#8a4b00;background:#fff4e0;padding:6px 10px;border-left:4px solid #e08a00}
.big{font-size:18px}
.widget{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.w-row{display:grid;grid-template-columns:120px 180px 30px;align-items:center;font-size:14px}
.w-error{color:#b00} .w-formula{font-family:monospace}
canvas{border:1px solid #ddd}
"""


def _explain_link(run_dir: str, page_dir: str | None) -> str:
    """A link to the run's explainer page (`viz.explain`, explain.html) when it exists."""
    from .explain import EXPLAIN_NAME
    path = os.path.join(run_dir, EXPLAIN_NAME)
    if not os.path.isfile(path):
        return ""
    href = os.path.relpath(path, page_dir if page_dir is not None else run_dir)
    return (f'<p class="explain-link"><a id="explain-link" href="{html.escape(href)}">Open '
            f'the explainer page</a>: click any unit of this network and see why it has its '
            f'value.</p>')


def build_report(run_dir, *, data: str | None = None, sections=None, images: int = 3,
                 erf_images: int = 64, patch_images: int = 2000, source=None,
                 page_dir: str | None = None) -> str:
    """The HTML of the report of the run in `run_dir` (see the module docstring), or of a
    model file.

    Args:
        run_dir: a folder written by `convscope train` (metrics.json, checkpoint.npz), or a
            model file (.onnx) when `source` is given.
        source: for a model file, its `convscope.sources.Source` (`sources.resolve(path,
            images=DIR)`): the model, its images, labels and class names.
        data: where the data set is, when not where the run found it.
        sections: the ids of the sections to include, in page order (default: all of
            `SECTIONS`: run, accuracy, confusion, summary, filters, maps, rf, patches, cam,
            widget).
        images: test images shown as feature maps and Grad-CAM strips (default 3).
        erf_images: test images averaged for the effective receptive fields (default 64).
        patch_images: test images searched for the top patches (default 2000).
        page_dir: the folder the page will be written to (default `run_dir`), for the
            relative link to the run's explain.html (shown when that file exists).

    Raises FileNotFoundError when the folder holds no metrics.json.
    """
    names = list(SECTIONS) if sections is None else list(sections)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"build_report: unknown section(s) {unknown}; choose from "
                         f"{', '.join(SECTIONS)}")
    for arg, value in (("images", images), ("erf_images", erf_images),
                       ("patch_images", patch_images)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"build_report: {arg} must be a positive int, got {arg}={value!r}")
    if source is not None and source.kind == "model":
        run = _load_source(source)
    else:
        run = _load_run(os.fspath(run_dir), data)
    run.images, run.erf_images, run.patch_images = images, erf_images, patch_images
    sections = [SECTIONS[name](run) for name in names]
    m = run.metrics
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(title)}</h2>{content}</section>'
                   for sid, title, content in sections)
    name = os.path.basename(run.directory.rstrip(os.sep))
    subtitle = (f"{m.get('model', {}).get('name', '')} on {m.get('dataset', {}).get('name', '')}"
                f": test accuracy {_pct(m.get('final_test_accuracy'))}; report written "
                f"{time.strftime('%Y-%m-%d %H:%M')}")
    what = "run"
    if run.kind == "model":
        what = "model"
        subtitle = (f"a model file on the {run.data if run.x_test is not None else 'no images'}; "
                    f"report written {time.strftime('%Y-%m-%d %H:%M')}")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>convscope report: {_e(name)}</title><style>{_STYLE}</style></head><body>"
            f"<header><h1>convscope {what} {_e(name)}</h1><p>{_e(subtitle)}</p>"
            f"{_explain_link(os.fspath(run_dir), page_dir)}</header>"
            f"<nav>{nav}</nav><main>{body}</main></body></html>\n")


def write_report(run_dir, out=None, **options) -> str:
    """Write the report of `run_dir` to `out` (default RUN_DIR/report.html; for a model
    file MODEL.html beside it), atomically; return its path. `options` go to
    `build_report` (data, sections, images, source, ...)."""
    if out is not None:
        path = os.fspath(out)
    elif options.get("source") is not None and options["source"].kind == "model":
        path = os.path.splitext(os.fspath(run_dir))[0] + ".html"
    else:
        path = os.path.join(os.fspath(run_dir), REPORT_NAME)
    options.setdefault("page_dir", os.path.dirname(os.path.abspath(path)))
    atomic_write_text(path, build_report(run_dir, **options))
    return path
