"""The explainer page: click any unit of your own network and see why it has its value.

`convscope explain RUN|MODEL` writes one self-contained HTML file (no network at all: the
styles, the script and the data are inside the page) that shows one image going through the
network, input to output, as columns of feature maps, with the class scores at the end.
Clicking a unit outlines its receptive field on the input and on every earlier layer and
opens the panel `#unit-detail`: for a convolution the input patch, the kernel of each input
channel, their element-wise products and partial sums, the bias and the final value; for a
pooling, normalisation or activation unit the operation on its inputs; for every unit its
effective receptive field (the gradient of the unit with respect to the input, as
`viz.rf.effective_receptive_field` computes it for one image); for a convolution or pooling
layer the window sliding over the layer's actual input and the layer's arithmetic
(H' = (H - K + 2P)/S + 1 with its numbers, `viz.animate.conv_animation`'s formula).

What is computed where:
- Python (this module) runs the engine once with a forward hook on every leaf module and
  embeds each layer's output, its input (a reference to the column that produced it) and
  its parameters as float32 base64 blobs, so that the page stays small (see docs/explain.md
  for the size budget); receptive fields come from `convscope.summary` (through `arith`):
  the field of each layer on the input, and for a `Sequential` model the field of each layer
  on every earlier layer (the summary of the model's tail from that layer on).
- The page's script (`explain_page`) recomputes a clicked unit's value from those arrays,
  in float64, and shows the engine's value beside it; the browser tests check that the two
  agree to 1e-5 for every layer kind, and that the gradient equals `viz.rf`'s.

Unit index scheme: every unit is an element with ``data-layer`` (the module's dotted name,
``input`` for the image) and ``data-unit``: ``"c,y,x"`` (channel, row, column, from 0) for a
feature map, ``"k"`` for a feature vector (a Linear layer's outputs).

Example:
    >>> path = write_explainer("runs/baseline", index=3)              # doctest: +SKIP
    >>> os.path.basename(path)                                         # doctest: +SKIP
    'explain.html'
"""

from __future__ import annotations

import base64
import html
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..io import atomic_write_text

__all__ = ["EXPLAIN_NAME", "ExplainInput", "Explainer", "build_explainer", "explainer_html",
           "load_explain_input", "write_explainer"]

EXPLAIN_NAME = "explain.html"
PAGE_CHANNELS = 8        # feature maps shown per layer at a time (the rest on later pages)
PAGE_FEATURES = 32       # units of a feature vector shown at a time


@dataclass
class ExplainInput:
    """What the page explains: a model, one input and how to name things.

    Attributes:
        model: a convscope `nn.Module` (evaluation mode is used).
        image: (C, H, W) float32, normalised as the model wants.
        classes: class names (may be empty: "class k").
        label: the true class index, or None (the user's own image).
        source: where the model came from (a run folder or a model file).
        what: a short description of the image ("test image 0", a file name).
        normalisation: how the image was normalised, in words.
    """

    model: object
    image: np.ndarray
    classes: tuple = ()
    label: int | None = None
    source: str = ""
    what: str = ""
    normalisation: str = ""


def _read_user_image(func: str, path, mean, std, shape) -> tuple[np.ndarray, str]:
    from ..scale.io import read_image
    if not os.path.isfile(os.fspath(path)):
        raise FileNotFoundError(f"{func}: image={os.fspath(path)!r}: no such file")
    x = read_image(path)
    if shape is not None and x.shape[0] != shape[0] and shape[0] == 1 and x.shape[0] in (3, 4):
        x = x[:3].mean(axis=0, keepdims=True)  # colour picture, grayscale model: the mean
    if shape is not None and x.shape[0] == 4 and shape[0] == 3:
        x = x[:3]  # RGBA: drop alpha
    if shape is not None and tuple(x.shape) != tuple(shape):
        raise ValueError(f"{func}: image {os.fspath(path)!r} has shape {tuple(x.shape)} "
                         f"(C, H, W), the model wants {tuple(shape)}; resize it first")
    if mean is None:
        return x.astype(np.float32), "pixels in [0, 1], not normalised (no data set known)"
    m = np.asarray(mean, np.float32).reshape(-1, 1, 1)
    s = np.asarray(std, np.float32).reshape(-1, 1, 1)
    return ((x - m) / s).astype(np.float32), f"(pixel - {tuple(mean)}) / {tuple(std)}"


def _load_run(func: str, run_dir: str, image, index: int, data) -> ExplainInput:
    from .. import train
    from ..data import dataset_info, load_dataset
    ckpt = train.load_checkpoint(run_dir)
    model = train.model_from_checkpoint(ckpt)
    model.eval()
    config = ckpt.config
    info = dataset_info(config.dataset)
    norm = f"(pixel - {tuple(info.mean)}) / {tuple(info.std)} ({config.dataset})"
    if image is not None:
        x, norm = _read_user_image(func, image, info.mean, info.std, info.shape)
        return ExplainInput(model, x, tuple(info.classes), None, run_dir,
                            os.path.basename(os.fspath(image)), norm)
    try:
        xs, ys = load_dataset(config.dataset, False, data or config.data)
    except (FileNotFoundError, ValueError) as exc:
        raise ValueError(f"{func}: the run's test set cannot be read ({exc}); pass "
                         f"--data DIR or --image FILE") from None
    if config.limit_test is not None:
        xs, ys = xs[:config.limit_test], ys[:config.limit_test]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{func}: index must be an int, got index={index!r}")
    if not 0 <= index < len(xs):
        raise ValueError(f"{func}: index={index} is out of range: the run's test set has "
                         f"{len(xs)} images (0..{len(xs) - 1})")
    m = np.asarray(info.mean, np.float32).reshape(-1, 1, 1)
    s = np.asarray(info.std, np.float32).reshape(-1, 1, 1)
    x = ((np.asarray(xs[index], np.float32) - m) / s).astype(np.float32)
    return ExplainInput(model, x, tuple(info.classes), int(ys[index]), run_dir,
                        f"test image {index}", norm)


def _load_model_file(func: str, path: str, image) -> ExplainInput:
    if image is None:
        raise ValueError(f"{func}: a model file ({path}) has no test set: pass an image "
                         f"(--image FILE)")
    try:
        from .. import onnx as cs_onnx  # lazily: the onnx extra
    except ImportError as exc:
        raise ValueError(f"{func}: reading {path} needs convscope.onnx and the onnx package "
                         f"(`pip install 'convscope[onnx]'`), which this installation lacks "
                         f"({exc})") from None
    model = cs_onnx.load(path)
    model.eval()
    x, norm = _read_user_image(func, image, None, None, None)
    return ExplainInput(model, x, (), None, path, os.path.basename(os.fspath(image)), norm)


def load_explain_input(source, *, image=None, index: int = 0, data=None) -> ExplainInput:
    """The model and the input of `source`: a run folder written by `convscope train` (or
    its checkpoint.npz) with test image `index` or the picture file `image`; or a model file
    (.onnx, through `convscope.onnx.load`) with the picture file `image` (required).

    The picture is read by `convscope.scale.io.read_image` and normalised as the run's data
    set (a model file: left in [0, 1]); a colour picture for a grayscale model is averaged.
    """
    func = "explain"
    path = os.fspath(source)
    if os.path.isdir(path) or path.endswith(".npz"):
        return _load_run(func, path, image, index, data)
    if path.lower().endswith(".onnx"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{func}: no model file {path}")
        return _load_model_file(func, path, image)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{func}: {path} is neither a run folder nor a model file")
    raise ValueError(f"{func}: {path} is neither a run folder (written by `convscope "
                     f"train`) nor a model file (.onnx)")


# -- tracing the forward pass -------------------------------------------------------------------
@dataclass
class _Call:
    name: str
    module: object
    input: object    # Tensor
    output: object   # Tensor


def _trace(model, x: np.ndarray) -> tuple[list[_Call], np.ndarray]:
    """One forward pass with a hook on every leaf module; the calls in execution order
    (first call of each module) and the model's output."""
    from ..autograd import no_grad
    from ._common import inspecting
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.named_children())]
    calls: list[_Call] = []
    seen = set()

    def hook_for(name):
        def hook(module, inputs, output):
            if name not in seen:
                seen.add(name)
                calls.append(_Call(name, module, inputs[0] if inputs else None, output))
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in leaves]
    try:
        with inspecting(model), no_grad():
            out = model(x[None])
    finally:
        for h in handles:
            h.remove()
    return calls, _array(out)[0]


def _array(t) -> np.ndarray:
    """A Tensor's (or an array's) values."""
    from ..autograd import Tensor
    return np.asarray(t.data if isinstance(t, Tensor) else t)


def _tuple(value, n: int) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value] * n


def _kind_and_params(module, in_shape, blobs: dict, name: str) -> tuple[str, dict]:
    """The layer kind the page knows and the numbers it needs (blobs added to `blobs`)."""
    cls = type(module).__name__
    n = len(in_shape) - 1

    def blob(key, array):
        blobs[f"{name}/{key}"] = np.asarray(array, np.float32)
        return f"{name}/{key}"

    if cls == "Conv2d" and getattr(module, "padding_mode", "zeros") == "zeros":
        w = module.weight.data
        return "conv", {
            "weight": blob("weight", w), "wshape": list(w.shape),
            "bias": None if module.bias is None else blob("bias", module.bias.data),
            "stride": list(module.stride), "dilation": list(module.dilation),
            "pad": [int(p[0]) for p in module._pads], "groups": int(module.groups),
            "kernel": list(module.kernel_size)}
    if cls in ("MaxPool2d", "AvgPool2d"):
        k = _tuple(module.kernel_size, n)
        s = _tuple(module.stride if module.stride is not None else k, n)
        p = _tuple(module.padding, n)
        params = {"kernel": k, "stride": s, "pad": p,
                  "dilation": _tuple(getattr(module, "dilation", 1), n)}
        if cls == "AvgPool2d":
            params["count_include_pad"] = bool(module.count_include_pad)
            return "avgpool", params
        return "maxpool", params
    if cls == "AdaptiveAvgPool2d":
        return "adaptive_avgpool", {}
    if cls == "BatchNorm2d" and module.running_mean is not None:
        c = module.num_features
        gamma = module.weight.data if module.weight is not None else np.ones(c)
        beta = module.bias.data if getattr(module, "bias", None) is not None else np.zeros(c)
        return "batchnorm", {"mean": blob("mean", module.running_mean),
                             "var": blob("var", module.running_var),
                             "gamma": blob("gamma", gamma), "beta": blob("beta", beta),
                             "eps": float(module.eps)}
    if cls == "ReLU":
        return "relu", {}
    if cls == "LeakyReLU":
        return "leaky_relu", {"slope": float(module.negative_slope)}
    if cls in ("Sigmoid", "Tanh"):
        return cls.lower(), {}
    if cls.startswith("Dropout") or cls == "Identity":
        return "identity", {}
    if cls == "Flatten":
        return "flatten", {}
    if cls == "Linear":
        w = module.weight.data
        return "linear", {"weight": blob("weight", w), "wshape": list(w.shape),
                          "bias": None if module.bias is None else blob("bias",
                                                                        module.bias.data)}
    return "other", {"module": cls}


def _field(f) -> dict | None:
    if f is None or len(f.size) != 2:
        return None
    return {"size": list(f.size), "jump": list(f.jump), "padding": list(f.padding)}


def _relative_fields(model, calls, spatial: list[int], image_shape, chain: bool) -> dict:
    """{layer name: {earlier layer name or 'input': field}}: where a unit of a layer looks in
    each earlier feature map. On the input from `summary(model)`; when the layers form a
    chain (each one's input is the output of the one before), on an earlier layer M from
    the summary of the chain's tail after M run on M's output shape. Every field comes from
    `arith` through `summary`, none is restated here."""
    from .. import nn
    from ..summary import summary
    rows = {r.name: r for r in summary(model, tuple(image_shape)).rows}
    out = {c.name: {"input": _field(rows[c.name].field)} for c in calls if c.name in rows}
    if not chain:
        return out
    for k in spatial:
        rest = calls[k + 1:]
        if not rest:
            continue
        tail = nn.Sequential(*[c.module for c in rest])  # the same modules, named 0, 1, ...
        tail.eval()  # summary restores training mode only when it was on
        for r in summary(tail, tuple(_array(calls[k].output).shape[1:])).rows:
            name = rest[int(r.name)].name
            if name in out:
                out[name][calls[k].name] = _field(r.field)
    return out


def _arithmetic(kind: str, params: dict, in_shape) -> dict | None:
    """The layer's size formula and dropped rows, from `viz.animate.conv_animation`."""
    if kind not in ("conv", "maxpool", "avgpool"):
        return None
    from .animate import conv_animation
    pads = params["pad"]
    try:
        anim = conv_animation(tuple(in_shape[1:]), tuple(params["kernel"]),
                              stride=tuple(params["stride"]), padding=tuple(pads),
                              dilation=tuple(params["dilation"]))
    except (ValueError, TypeError):
        return None  # e.g. ceil_mode pooling: the page shows the sizes only
    return {"formulas": list(anim.formulas), "output": list(anim.output_size),
            "dropped": list(anim.dropped)}


@dataclass
class Explainer:
    """Everything the page shows (see the module docstring); `html()` lays it out.

    Attributes:
        meta: JSON-ready description of the image, the layers and the scores.
        blobs: {key: float32 array} embedded as base64.
        outputs: {layer name: the engine's output (without the batch axis)}, for tests.
    """

    meta: dict
    blobs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)

    def html(self) -> str:
        return explainer_html(self)

    def _repr_html_(self) -> str:
        """In Jupyter: the page in an iframe (its script runs there, apart from the
        notebook's)."""
        return (f'<iframe title="convscope explainer" srcdoc="{html.escape(self.html())}" '
                f'style="width:100%;height:900px;border:1px solid #ccc"></iframe>')


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def build_explainer(model, image, *, classes=(), label=None, title: str = "",
                    what: str = "", normalisation: str = "") -> Explainer:
    """The data of the explainer page for `model` on one `image` (C, H, W), normalised as
    the model wants: every leaf module's output in execution order (topological order for a
    branched graph), its parameters, its receptive fields and arithmetic, and the class
    scores (softmax of the output)."""
    from ._common import check_images
    func = "build_explainer"
    x = check_images(func, image, "image", ndim=2)
    if x.ndim != 4 or len(x) != 1:
        raise ValueError(f"{func}: image must be one 2-D input (C, H, W), got shape "
                         f"{np.shape(image)}")
    x = x[0]
    calls, out = _trace(model, x)
    if not calls:
        raise ValueError(f"{func}: the model has no leaf module to show")
    blobs = {"input": x}
    producer: dict = {}
    tensors = []  # keep every tensor alive while ids are compared
    layers, outputs, spatial = [], {}, []
    for k, c in enumerate(calls):
        tensors.append((c.input, c.output))
        y = _array(c.output)[0]
        x_in = _array(c.input)[0] if c.input is not None else None
        kind, params = _kind_and_params(c.module, () if x_in is None else x_in.shape,
                                        blobs, c.name)
        source = producer.get(id(c.input))
        if source is None and x_in is not None:
            if np.array_equal(x_in, x) and x_in.shape == x.shape:
                source = "input"
            else:  # made outside modules (a sum, a concatenation): embed it
                blobs[f"{c.name}/input"] = x_in
                source = f"{c.name}/input"
        producer[id(c.output)] = c.name
        blobs[f"{c.name}/output"] = y
        outputs[c.name] = y
        maps = y.ndim == 3
        if maps:
            spatial.append(k)
        layers.append({"name": c.name, "kind": kind, "module": type(c.module).__name__,
                       "repr": _module_text(c.module),
                       "label": _short_text(kind, c.module, params), "input": source,
                       "in_shape": [] if x_in is None else list(x_in.shape),
                       "shape": list(y.shape), "maps": maps, "params": params,
                       "arith": _arithmetic(kind, params, () if x_in is None else x_in.shape)})
    chain = all(layer["input"] == (layers[i - 1]["name"] if i else "input")
                for i, layer in enumerate(layers))
    fields = _relative_fields(model, calls, spatial, x.shape, chain)
    for layer in layers:
        layer["fields"] = fields.get(layer["name"], {}) if layer["maps"] else {}
    logits = np.asarray(out, np.float64).reshape(-1)
    probs = _softmax(logits) if logits.size > 1 else None
    classes = list(classes) if classes and len(classes) == logits.size else \
        [f"class {k}" for k in range(logits.size)]
    meta = {"title": title, "what": what, "normalisation": normalisation,
            "input_shape": list(x.shape), "layers": layers, "classes": classes,
            "label": label, "logits": logits.tolist(),
            "probs": None if probs is None else probs.tolist(),
            "predicted": int(np.argmax(logits)), "chain": chain,
            "page_channels": PAGE_CHANNELS, "page_features": PAGE_FEATURES,
            "written": time.strftime("%Y-%m-%d %H:%M")}
    return Explainer(meta, blobs, outputs)


def _module_text(module) -> str:
    extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
    return f"{type(module).__name__}({extra})"


def _short_text(kind: str, module, params: dict) -> str:
    """A column's one-line label: the kind and its sizes (the full text is the tooltip)."""
    cls = type(module).__name__
    x = "\u00d7"
    if kind == "conv":
        w = params["wshape"]
        text = f"{cls} {module.in_channels}\u2192{w[0]}, {x.join(map(str, params['kernel']))}"
        extras = [f"{k}{x.join(map(str, v))}" for k, v, one in (
            ("s", params["stride"], 1), ("p", params["pad"], 0), ("d", params["dilation"], 1))
            if any(i != one for i in v)]
        return ", ".join([text] + extras)
    if kind in ("maxpool", "avgpool"):
        return f"{cls} {x.join(map(str, params['kernel']))}, s{x.join(map(str, params['stride']))}"
    if kind == "batchnorm":
        return f"{cls}({module.num_features})"
    if kind == "linear":
        return f"{cls} {params['wshape'][1]}\u2192{params['wshape'][0]}"
    return cls


def explainer_html(explainer: Explainer) -> str:
    """The self-contained page of `explainer` (styles, script and data inline)."""
    from .explain_page import SCRIPT, STYLE
    blobs = {k: base64.b64encode(np.ascontiguousarray(v, np.float32).tobytes()).decode("ascii")
             for k, v in explainer.blobs.items()}
    shapes = {k: list(np.shape(v)) for k, v in explainer.blobs.items()}
    data = json.dumps({"meta": explainer.meta, "blobs": blobs, "shapes": shapes},
                      separators=(",", ":")).replace("</", "<\\/")
    m = explainer.meta
    title = m.get("title") or "convscope explainer"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f'<header><h1>{html.escape(title)}</h1><p id="subtitle"></p></header>'
            f'<main><p class="help">Click any unit (a small square of a feature map, or a '
            f'class score) to see how the engine computed it. Its receptive field is '
            f'outlined in red on the input and on every earlier layer.</p>'
            f'<div id="network"></div><section id="unit-detail"><p class="help">No unit '
            f'selected yet.</p></section></main>'
            f'<script type="application/json" id="explain-data">{data}</script>'
            f"<script>{SCRIPT}</script></body></html>\n")


def write_explainer(source, out=None, *, image=None, index: int = 0, data=None) -> str:
    """Write the explainer page of `source` (a run folder or a model file, see
    `load_explain_input`) to `out` (default: RUN_DIR/explain.html for a run,
    MODEL.explain.html beside a model file, whose MODEL.html is its report) atomically;
    return its path."""
    inp = load_explain_input(source, image=image, index=index, data=data)
    name = os.path.basename(os.path.abspath(os.fspath(source)).rstrip(os.sep))
    exp = build_explainer(inp.model, inp.image, classes=inp.classes, label=inp.label,
                          title=f"convscope explainer: {name}", what=inp.what,
                          normalisation=inp.normalisation)
    if out is None:
        src = os.fspath(source)
        out = (os.path.join(src, EXPLAIN_NAME) if os.path.isdir(src)
               else os.path.join(os.path.dirname(src), EXPLAIN_NAME) if src.endswith(".npz")
               else os.path.splitext(src)[0] + ".explain.html")  # MODEL.html: the report
    atomic_write_text(os.fspath(out), exp.html())
    return os.fspath(out)
