"""The explainer page's Python side (`viz.explain`, `convscope explain`): what it embeds is
the engine's forward pass, layer by layer; the receptive fields are arith's; inputs are
read and normalised as the run's; bad input gets a clear error. The page's script is tested
in a browser (tests/test_explain_browser.py)."""

import base64
import json
import os
import re
import sys

import numpy as np
import pytest
from PIL import Image

from convscope import arith, nn
from convscope import train as T
from convscope.cli import main
from convscope.data import dataset_info, load_dataset
from convscope.viz.explain import (EXPLAIN_NAME, build_explainer, load_explain_input,
                                   write_explainer)
from convscope.viz.report import write_report
from tiny_run import tiny_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out, data, metrics = tiny_run(tmp_path_factory)
    return out, data


def _page_data(text: str) -> dict:
    raw = re.search(r'<script type="application/json" id="explain-data">(.*?)</script>', text,
                    re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


def _blob(data, key):
    return np.frombuffer(base64.b64decode(data["blobs"][key]), np.float32).reshape(
        data["shapes"][key])


def test_page_embeds_every_layer_output_of_the_engine(run, tmp_path):
    out, data = run
    path = write_explainer(out, tmp_path / "e.html", index=3)
    page = _page_data(open(path).read())
    inp = load_explain_input(out, index=3)
    model = inp.model
    # the image: test image 3, normalised as the run's data set
    x, y = load_dataset("fashion-mnist", False, data)
    info = dataset_info("fashion-mnist")
    expected = (x[3].astype(np.float32) - info.mean[0]) / info.std[0]
    np.testing.assert_allclose(_blob(page, "input"), expected, rtol=1e-6, atol=1e-6)
    assert page["meta"]["label"] == int(y[3])
    # each leaf module's output, in order: the model run module by module here
    names = [n for n, m in model.named_modules() if n and not list(m.named_children())]
    assert [layer["name"] for layer in page["meta"]["layers"]] == names
    kinds = [layer["kind"] for layer in page["meta"]["layers"]]
    assert kinds == ["conv", "maxpool", "batchnorm", "relu"] * 3 + ["flatten", "linear"]
    h = expected[None]
    for name, module in model.named_children():
        h = np.asarray(module(h).data)
        np.testing.assert_allclose(_blob(page, f"{name}/output"), h[0], rtol=1e-5,
                                   atol=1e-6)
    # the scores: softmax of the output, class names of the run
    logits = np.asarray(model(expected[None]).data[0], np.float64)
    p = np.exp(logits - logits.max())
    np.testing.assert_allclose(page["meta"]["probs"], p / p.sum(), rtol=1e-5)
    assert page["meta"]["classes"] == list(info.classes)
    assert page["meta"]["predicted"] == int(np.argmax(logits))
    # weights: the checkpoint's
    conv = page["meta"]["layers"][0]["params"]
    np.testing.assert_array_equal(_blob(page, conv["weight"]), model[0].weight.data)


def _between(model, first: int, last: int):
    """(kernel, stride, padding_before, dilation) of the conv and pool layers first..last."""
    layers = []
    for m in list(model)[first:last + 1]:
        if isinstance(m, nn.Conv2d):
            layers.append((m.kernel_size, m.stride, [p[0] for p in m._pads], m.dilation))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            layers.append((m.kernel_size, m.stride, m.padding, 1))
    return layers


def test_receptive_fields_are_arith_s_on_the_input_and_every_earlier_layer(run):
    out, _ = run
    inp = load_explain_input(out)
    exp = build_explainer(inp.model, inp.image)
    layers = exp.meta["layers"]
    spatial = [k for k, layer in enumerate(layers) if layer["maps"]]
    assert len(spatial) == 12
    for k in spatial:
        fields = layers[k]["fields"]
        want = arith.rf_stack(_between(inp.model, 0, k), ndim=2)
        assert fields["input"] == {"size": list(want.size), "jump": list(want.jump),
                                   "padding": list(want.padding)}
        for m in spatial:
            if m >= k:
                assert layers[m]["name"] not in fields
                continue
            want = arith.rf_stack(_between(inp.model, m + 1, k), ndim=2)
            assert fields[layers[m]["name"]]["size"] == list(want.size), (k, m)
            assert fields[layers[m]["name"]]["jump"] == list(want.jump), (k, m)
            assert fields[layers[m]["name"]]["padding"] == list(want.padding), (k, m)
    # the size formula, as animate writes it
    assert layers[0]["arith"]["formulas"] == [
        "H' = W' = (H - K + 2P)/S + 1 = (28 - 3 + 2*1)/1 + 1 = 28"]


def test_nested_containers_get_fields_on_every_earlier_layer():
    """A chain of layers in nested containers: the fields on earlier layers come from the
    summary of the chain's tail, keyed by the dotted names."""
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=rng), nn.ReLU()),
                          nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(2, 2, 5, stride=2,
                                                                   dilation=2, rng=rng)))
    exp = build_explainer(model, np.zeros((1, 30, 30), np.float32))
    layers = {layer["name"]: layer for layer in exp.meta["layers"]}
    assert list(layers) == ["0.0", "0.1", "1.0", "1.1"] and exp.meta["chain"]
    field = layers["1.1"]["fields"]
    want = arith.rf_stack([(2, 2, 0, 1), (5, 2, 0, 2)], ndim=2)  # pool, dilated conv
    for on in ("0.0", "0.1"):
        assert field[on] == {"size": list(want.size), "jump": list(want.jump),
                             "padding": list(want.padding)}
    want = arith.rf_stack([(3, 1, 1, 1), (2, 2, 0, 1), (5, 2, 0, 2)], ndim=2)
    assert field["input"]["size"] == list(want.size)
    assert field["1.0"]["size"] == [9, 9]  # the dilated 5-tap kernel alone: 2 * 4 + 1


def test_users_image_is_read_and_normalised_as_the_run(run, tmp_path):
    out, _ = run
    pixels = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "mine.png")
    inp = load_explain_input(out, image=tmp_path / "mine.png")
    info = dataset_info("fashion-mnist")
    np.testing.assert_allclose(inp.image[0], (pixels / 255 - info.mean[0]) / info.std[0],
                               rtol=1e-5, atol=1e-6)
    assert inp.label is None and inp.what == "mine.png"
    rgb = np.stack([pixels, pixels // 2, pixels // 3], axis=-1)
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    grey = load_explain_input(out, image=tmp_path / "colour.png").image
    np.testing.assert_allclose(grey[0], (rgb.mean(-1) / 255 - info.mean[0]) / info.std[0],
                               rtol=1e-5, atol=1e-5)
    Image.fromarray(pixels[:20]).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match=r"explain: image .*small.png.* has shape \(1, 20, 28\)"
                                         r".*wants \(1, 28, 28\)"):
        load_explain_input(out, image=tmp_path / "small.png")


def test_bad_input_gets_a_clear_error(run, tmp_path):
    out, _ = run
    with pytest.raises(ValueError, match=r"explain: index=64 is out of range.*64 images"):
        load_explain_input(out, index=64)
    with pytest.raises(ValueError, match=r"explain: index=-1 is out of range"):
        load_explain_input(out, index=-1)
    with pytest.raises(FileNotFoundError, match="neither a run folder nor a model file"):
        load_explain_input(tmp_path / "nothing")
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"explain: a model file .*m.onnx.* pass an image"):
        load_explain_input(tmp_path / "m.onnx")
    with pytest.raises(FileNotFoundError, match=r"explain: image=.*nope.png.*no such file"):
        load_explain_input(out, image=tmp_path / "nope.png")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither a run folder .* nor a model file"):
        load_explain_input(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"build_explainer: image must be one 2-D input"):
        build_explainer(nn.Sequential(nn.ReLU()), np.zeros((2, 1, 4, 4)))


def test_model_file_goes_through_convscope_onnx(tmp_path, monkeypatch):
    """A model file is read by `convscope.onnx.load`: the page explains the loaded graph,
    whose outputs are the saved model's; without the onnx package the error says what to
    install."""
    from convscope import no_grad, onnx as cs_onnx
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(3, 2, 3, rng=rng), nn.ReLU(), nn.Flatten(),
                          nn.Linear(2 * 6 * 6, 3, rng=rng)).eval()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)).save(tmp_path / "i.png")
    cs_onnx.save(model, tmp_path / "m.onnx", np.zeros((1, 3, 8, 8), np.float32))
    inp = load_explain_input(tmp_path / "m.onnx", image=tmp_path / "i.png")
    assert isinstance(inp.model, nn.Graph)
    with no_grad():
        ours = np.asarray(inp.model(inp.image[None]).data)
        theirs = np.asarray(model(inp.image[None]).data)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    path = write_explainer(tmp_path / "m.onnx", image=tmp_path / "i.png")
    assert path == os.fspath(tmp_path / "m.explain.html")
    page = open(path, encoding="utf-8").read()
    assert page.count("data-layer=") > 0 and "m.onnx" in page
    monkeypatch.setitem(sys.modules, "onnx", None)  # as without the onnx package
    with pytest.raises(ImportError, match=r"pip install 'convscope\[onnx\]'"):
        load_explain_input(tmp_path / "m.onnx", image=tmp_path / "i.png")

def test_branched_model_columns_in_execution_order():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            rng = np.random.default_rng(1)
            self.conv = nn.Conv2d(2, 2, 3, padding=1, rng=rng)
            self.act = nn.ReLU()
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            return self.pool(self.act(self.conv(x)) + x)

    model = Residual()
    x = np.random.default_rng(2).normal(size=(2, 6, 6)).astype(np.float32)
    exp = build_explainer(model, x)
    layers = exp.meta["layers"]
    assert [layer["name"] for layer in layers] == ["conv", "act", "pool"]
    assert not exp.meta["chain"]  # the sum is made outside modules: embedded as pool's input
    assert layers[2]["input"] == "pool/input"
    s = np.asarray(model.act(model.conv(x[None])).data)[0] + x
    np.testing.assert_allclose(exp.blobs["pool/input"], s, rtol=1e-6)
    assert layers[2]["fields"]["input"]["size"] == [4, 4]  # conv 3 then pool 2 (arith)


def test_cli_writes_the_page_and_the_report_links_it(run, tmp_path, capsys):
    out, _ = run
    page = tmp_path / "p.html"
    assert main(["explain", out, "--index", "2", "-o", str(page)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {page}"
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>")
    # nothing to fetch: no external URL, every script inline
    assert not re.search(r"(src|href)=\"(?!data:|#)", text)
    assert "http://" not in text and "https://" not in text
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "mine.png")
    assert main(["explain", out, "--image", str(tmp_path / "mine.png"), "-o",
                 str(tmp_path / "mine.html")]) == 0
    assert "mine.png" in (tmp_path / "mine.html").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:  # one image: a test image or a file
        main(["explain", out, "--image", "a.png", "--index", "1"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err
    assert main(["explain", out, "--index", "99"]) == 1
    assert "convscope explain: error: explain: index=99 is out of range" in \
        capsys.readouterr().err
    report = write_report(out, tmp_path / "r.html", sections=["run"])
    assert "explain.html" not in open(report).read()  # none in the run folder yet
    assert main(["explain", out]) == 0
    assert os.path.isfile(os.path.join(out, EXPLAIN_NAME))
    report = write_report(out, sections=["run"])
    assert 'href="explain.html"' in open(report).read()
    other = write_report(out, tmp_path / "r.html", sections=["run"])
    rel = os.path.relpath(os.path.join(out, EXPLAIN_NAME), tmp_path)
    assert f'href="{rel}"' in open(other).read()


def test_default_model_page_fits_the_size_budget():
    """The page of the default model (fashion_cnn 32-64-128, 104,426 parameters) stays under
    docs/explain.md's budget of 10 MB (weights and activations as float32 base64)."""
    model = T.build_model(T.TrainConfig())
    x = np.random.default_rng(0).normal(size=(1, 28, 28)).astype(np.float32)
    size = len(build_explainer(model, x).html().encode())
    assert 500_000 < size < 10_000_000, size


def test_shows_itself_in_jupyter():
    import html
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=np.random.default_rng(0)), nn.ReLU())
    exp = build_explainer(model, np.ones((1, 5, 5), np.float32))
    shown = exp._repr_html_()
    assert shown.startswith("<iframe") and 'srcdoc="' in shown
    inner = html.unescape(re.search(r'srcdoc="(.*?)"', shown, re.S).group(1))
    assert inner == exp.html()
