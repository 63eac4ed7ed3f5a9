"""Rich display in Jupyter: models, summaries, viz results, figures and animations show
themselves inline (`_repr_html_` / `_repr_png_`): valid PNG / HTML with the right content,
no pyplot and no backend switch, and a real kernel (nbclient) gets image/png or text/html."""

import base64
import html
import io
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import convscope
from convscope import nn, summary, viz
from convscope.viz.animate import conv_animation

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _model():
    convscope.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 3))


def _images(n=8, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 1, 12, 12)).astype(np.float32)


def _decode_png(data: bytes) -> np.ndarray:
    assert isinstance(data, bytes) and data[:8] == PNG_SIGNATURE
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert 100 <= image.shape[0] <= 4000 and 100 <= image.shape[1] <= 4000, image.shape
    assert image.std() > 10, "the picture is (nearly) blank"
    return image


def _results():
    """(name, result object, the plot function that draws it) of every viz result kind."""
    model, x = _model(), _images()
    model.eval()
    w = model[0].weight.data
    cams = viz.grad_cam_layers(model, x[0])
    return [
        ("FilterGrid", viz.filter_grid(w), viz.plot_filters),
        ("FeatureMaps", viz.feature_maps(model, x[0]), viz.plot_feature_maps),
        ("EffectiveReceptiveField", viz.effective_receptive_field(model, x, "4"),
         viz.plot_receptive_field),
        ("FieldSizes", viz.receptive_field_sizes(model, x), viz.plot_receptive_field_sizes),
        ("TopPatches", viz.top_patches(model, x, "4", channel=1, k=4), viz.plot_top_patches),
        ("GradCAM", viz.grad_cam(model, x[0]), viz.plot_grad_cam),
        ("GradCAMs", cams, viz.plot_grad_cam_layers),
        ("CamSanityCheck", viz.cam_sanity_check(model, x[0]), viz.plot_cam_sanity_check),
        ("FeatureVisualization", viz.visualize_channels(model, (1, 12, 12), "4", (0, 1),
                                                        steps=4),
         viz.plot_feature_visualization),
    ]


def test_every_viz_result_shows_its_plot_as_png(tmp_path):
    results = _results()
    assert len({name for name, _, _ in results}) == len(results)
    for name, result, plot in results:
        shown = _decode_png(result._repr_png_())
        path = tmp_path / f"{name}.png"
        assert plot(result, path) is None
        written = np.asarray(Image.open(path).convert("RGB"))
        assert shown.shape == written.shape and np.array_equal(shown, written), name


def test_lists_of_results_stay_lists():
    model, x = _model(), _images()
    sizes = viz.receptive_field_sizes(model, x)
    assert isinstance(sizes, list) and [r.layer for r in sizes] == ["0", "4"]
    cams = viz.grad_cam_layers(model, x[0])
    assert isinstance(cams, list) and all(isinstance(c, viz.GradCAM) for c in cams)
    assert viz.FieldSizes()._repr_png_() is None  # nothing to draw: IPython shows the repr


def test_plot_figures_show_themselves_as_png():
    w = np.random.default_rng(0).normal(size=(8, 3, 5, 5))
    fig = viz.plot_filters(w, rgb=True)
    image = _decode_png(fig._repr_png_())
    width, height = fig.get_size_inches() * fig.dpi
    assert abs(image.shape[0] - height) < 1 and abs(image.shape[1] - width) < 1
    curves = viz.plot_training_curves([{"epoch": 1, "train_loss": 1.0, "test_loss": 1.1,
                                        "train_accuracy": 0.5, "test_accuracy": 0.45},
                                       {"epoch": 2, "train_loss": 0.7, "test_loss": 0.8,
                                        "train_accuracy": 0.7, "test_accuracy": 0.66}])
    _decode_png(curves._repr_png_())


def _table_cells(markup: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", markup, flags=re.S)
    return [[html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, flags=re.S)]
            for r in rows]


def test_model_html_lists_every_layer_and_the_totals():
    model = _model()
    markup = model._repr_html_()
    rows = _table_cells(markup)
    assert rows[0] == ["Module", "Type", "Settings", "Params"]
    body = rows[1:]
    names = [name for name, _ in model.named_modules()]
    assert [r[0].strip() for r in body] == ["(model)"] + names[1:]
    assert [r[1] for r in body] == [type(m).__name__ for _, m in model.named_modules()]
    # each layer's settings and own parameters
    assert body[1][2] == model[0].extra_repr() and body[1][3] == "40"      # 4*1*3*3 + 4
    assert body[5][3] == f"{6 * 4 * 9 + 6:,}"
    total = sum(p.data.size for p in model.parameters())
    assert f"Total params: {total:,}" in markup
    # names are escaped
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module("a<b>", nn.ReLU())
    assert "a&lt;b&gt;" in Odd()._repr_html_() and "<b>" not in Odd()._repr_html_()
    # the text repr is there too, for copying
    for _, module in model.named_modules():
        assert html.escape(repr(module)).splitlines()[0] in markup


@pytest.mark.parametrize("which", ["model", "resnet18"])
def test_summary_html_has_the_rows_of_the_text_table(which):
    s = summary(_model(), (1, 12, 12)) if which == "model" else summary("resnet18")
    markup = s._repr_html_()
    rows = _table_cells(markup)
    header, lines = s.table()
    assert rows[0] == list(header)
    assert rows[1:] == [list(line) for line in lines]
    assert len(rows) - 1 == len(s.rows)
    for line in s.totals():
        assert html.escape(line) in markup
    # the text table shows the same cells
    text = str(s)
    for line in lines:
        assert line[0].strip() in text


def test_animation_html_is_the_gif_and_its_formula():
    anim = conv_animation((5, 5), 3, stride=2, padding=1, values=True)
    markup = anim._repr_html_()
    data = re.search(r'src="data:image/gif;base64,([^"]+)"', markup).group(1)
    gif = Image.open(io.BytesIO(base64.b64decode(data)))
    assert gif.format == "GIF" and gif.n_frames == len(anim.frames) == 3 * 3 + 2
    assert html.escape(anim.formulas[0]) in markup
    assert "<script" not in markup


def test_no_pyplot_and_no_backend_switch():
    """Every repr in a fresh process: pyplot is never imported, the backend never set."""
    code = textwrap.dedent(f"""
        import sys
        import matplotlib
        before = dict.__getitem__(matplotlib.rcParams, "backend")
        sys.path.insert(0, {str(pathlib.Path(__file__).resolve().parent)!r})
        import test_display as t
        for name, result, plot in t._results():
            result._repr_png_()
        t._model()._repr_html_()
        t.summary(t._model(), (1, 12, 12))._repr_html_()
        t.conv_animation((4, 4), 3)._repr_html_()
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        assert dict.__getitem__(matplotlib.rcParams, "backend") == before
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_notebook_kernel_displays_them_inline():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import numpy as np\nimport convscope\nfrom convscope import nn, summary, viz\n"
        "from convscope.viz.animate import conv_animation\nconvscope.manual_seed(0)\n"
        "model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),\n"
        "                      nn.Linear(4 * 8 * 8, 2))\n"
        "x = np.random.default_rng(0).normal(size=(4, 1, 8, 8)).astype(np.float32)",
        "model",
        "summary(model, (1, 8, 8))",
        "viz.plot_filters(model[0].weight.data)",
        "viz.effective_receptive_field(model, x, '0')",
        "conv_animation((4, 4), 3)",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    expected = [None, "text/html", "text/html", "image/png", "image/png", "text/html"]
    for cell, mime in zip(nb.cells, expected):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
        if mime is None:
            continue
        shown = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
        assert len(shown) == 1 and mime in shown[0].data, (cell.source, cell.outputs)
        if mime == "image/png":
            _decode_png(base64.b64decode(shown[0].data["image/png"]))
    assert "Conv2d" in nb.cells[1].outputs[0].data["text/html"]
    assert "Total params: 554" in nb.cells[2].outputs[0].data["text/html"]


def test_summary_of_a_float64_model():
    """summary runs the model on zeros of the model's own float type."""
    model = _model().double()
    s = summary(model, (1, 12, 12))
    assert s.total_params == sum(p.data.size for p in model.parameters())
    assert s.output_shape == (3,)
