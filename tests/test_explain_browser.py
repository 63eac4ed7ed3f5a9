"""The explainer page in a real browser (headless chromium driven by Selenium, as
tests/test_report_browser.py; CONVSCOPE_SKIP_BROWSER_TESTS=1 skips them).

Checked: the page loads and is clicked through with no console message and no network
request; clicking units of every layer kind shows a value, computed by the page's script
from the layer's input and parameters, equal to the engine's forward pass to 1e-5; the
receptive field outlined on the input and on every earlier layer is arith's; the gradient
behind the effective receptive field is `viz.rf`'s; large layers are paged; a screenshot of
an opened unit is not blank.
"""

import io
import os

import numpy as np
import pytest
from PIL import Image

from convscope import arith, nn
from convscope import train as T
from convscope.viz.explain import build_explainer, load_explain_input, write_explainer
from convscope.viz.rf import effective_receptive_field
from test_report_browser import _open, browser  # noqa: F401 (the browser fixture)
from tiny_run import tiny_run

TOL = 1e-5


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny run's page (conv, maxpool, batchnorm, relu, flatten, linear) on test
    image 1, and what the engine computed."""
    out, _, _ = tiny_run(tmp_path_factory)
    inp = load_explain_input(out, index=1)
    exp = build_explainer(inp.model, inp.image, classes=inp.classes)
    path = write_explainer(out, index=1)
    return path, inp, exp


def _kinds_model():
    """Every other layer kind the page explains: a strided conv with bias, a dilated
    grouped conv, batch norm with non-trivial statistics, leaky relu, average pooling with
    and without the padding counted, tanh, dropout, sigmoid, an adaptive pooling with
    overlapping windows, identity and a linear head."""
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm2d(4)
    bn.running_mean[...] = rng.normal(size=4)
    bn.running_var[...] = rng.uniform(0.5, 2, size=4)
    bn.weight.data[...] = rng.normal(size=4)
    bn.bias.data[...] = rng.normal(size=4)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1, rng=rng), bn, nn.LeakyReLU(0.1),
        nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2, rng=rng),
        nn.AvgPool2d(3, stride=2, padding=1), nn.Tanh(), nn.Dropout(0.5),
        nn.AvgPool2d(2, padding=1, count_include_pad=False), nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(2), nn.Identity(), nn.Flatten(), nn.Linear(16, 5, rng=rng))


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    model = _kinds_model().eval()
    x = np.random.default_rng(4).normal(size=(3, 13, 13)).astype(np.float32)
    exp = build_explainer(model, x, classes=list("abcde"), title="kinds")
    path = tmp_path_factory.mktemp("kinds") / "kinds.html"
    path.write_text(exp.html())
    return str(path), model, x, exp


def _click(driver, layer, unit):
    element = driver.find_element("css selector", f'[data-layer="{layer}"][data-unit="{unit}"]')
    element.click()
    detail = driver.find_element("id", "unit-detail")
    assert detail.get_attribute("data-layer") == layer
    assert detail.get_attribute("data-unit") == unit
    final = detail.find_elements("css selector", ".final")
    engine = float(detail.find_element("css selector", ".engine").get_attribute("data-value"))
    return (float(final[0].get_attribute("data-value")) if final else None), engine


def _units(shape):
    """Units to click: the corners (touching the padding) and one inside."""
    if len(shape) == 1:
        return [(0,), (shape[0] - 1,), (shape[0] // 2,)]
    C, H, W = shape
    return [(0, 0, 0), (C - 1, H - 1, W - 1), (min(C - 1, 1), H // 2, (W - 1) // 2)]


def _check_every_layer(driver, exp, expect_kinds):
    seen = set()
    for layer in exp.meta["layers"]:
        if layer["kind"] == "flatten":
            continue
        seen.add(layer["kind"])
        want = exp.outputs[layer["name"]]
        for unit in _units(want.shape):
            got, engine = _click(driver, layer["name"], ",".join(map(str, unit)))
            assert got is not None, (layer["name"], layer["kind"])
            assert abs(got - float(want[unit])) <= TOL * max(1.0, abs(float(want[unit]))), \
                (layer["name"], layer["kind"], unit, got, float(want[unit]))
            assert engine == pytest.approx(float(want[unit]), rel=1e-6, abs=1e-7)
    assert seen == expect_kinds


def test_trained_page_loads_and_every_unit_kind_equals_the_forward_pass(browser, trained):
    path, _, exp = trained
    console, requests = _open(browser, path)
    assert console == []
    page = "file://" + os.path.abspath(path)
    assert all(url == page or url.startswith("data:") for url in requests), requests
    _check_every_layer(browser, exp, {"conv", "maxpool", "batchnorm", "relu", "linear"})
    assert browser.get_log("browser") == []  # clicking logged nothing either
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith("data:")] == []


def test_other_layer_kinds_equal_the_forward_pass(browser, kinds):
    path, _, _, exp = kinds
    console, requests = _open(browser, path)
    assert console == [] and all(u.startswith(("file://", "data:")) for u in requests)
    _check_every_layer(browser, exp, {"conv", "batchnorm", "leaky_relu", "avgpool", "tanh",
                                      "identity", "sigmoid", "adaptive_avgpool", "linear"})
    assert browser.get_log("browser") == []


def _between(model, first, last):
    layers = []
    for m in list(model)[first:last + 1]:
        if isinstance(m, nn.Conv2d):
            layers.append((m.kernel_size, m.stride, [p[0] for p in m._pads], m.dilation))
        elif isinstance(m, nn.MaxPool2d):
            layers.append((m.kernel_size, m.stride, m.padding, 1))
    return layers


def test_outlined_receptive_fields_are_arith_s(browser, trained):
    path, inp, exp = trained
    _open(browser, path)
    layers = exp.meta["layers"]
    for k in (4, 8, 11):  # conv of the 2nd block, conv and relu of the 3rd
        C, H, W = layers[k]["shape"]
        unit = (C - 1, H - 1, 0)
        _click(browser, layers[k]["name"], ",".join(map(str, unit)))
        boxes = browser.execute_script(
            "return Array.from(document.querySelectorAll('.rf-box')).map("
            "b => [b.dataset.layer, b.dataset.box])")
        shown = {}
        for name, box in boxes:
            shown.setdefault(name, set()).add(box)
        earlier = ["input"] + [layer["name"] for layer in layers[:k] if layer["maps"]]
        assert sorted(shown) == sorted(earlier)
        for m, name in enumerate(earlier):
            first = 0 if name == "input" else int(name) + 1
            f = arith.rf_stack(_between(inp.model, first, k), ndim=2)
            want = [unit[1] * f.jump[0] - f.padding[0], unit[1] * f.jump[0] - f.padding[0]
                    + f.size[0], unit[2] * f.jump[1] - f.padding[1],
                    unit[2] * f.jump[1] - f.padding[1] + f.size[1]]
            assert shown[name] == {",".join(map(str, want))}, (k, name)
        # one outline per visible map of each earlier layer
        maps = browser.execute_script(
            "return document.querySelectorAll('.map[data-layer=\"input\"]').length")
        assert len([b for b in boxes if b[0] == "input"]) == maps


def test_gradient_is_the_effective_receptive_field_of_viz_rf(browser, trained, kinds):
    for page, model, x, names in (
            (trained[0], trained[1].model, trained[1].image, ["0", "5", "11"]),
            (kinds[0], kinds[1], kinds[2], ["0", "2", "4", "8"])):
        _open(browser, page)
        exp = trained[2] if page == trained[0] else kinds[3]
        for name in names:
            C, H, W = exp.outputs[name].shape
            for c, y, xx in ((0, H // 2, W // 2), (C - 1, 0, W - 1)):
                g = browser.execute_script("return window.convscopeExplain.gradient("
                                           "arguments[0], arguments[1])", name, f"{c},{y},{xx}")
                got = np.abs(np.asarray(g).reshape(x.shape)).sum(axis=0)
                want = effective_receptive_field(model, x[None], name, (y, xx), c).gradient
                scale = max(np.abs(want).max(), 1e-12)
                np.testing.assert_allclose(got / scale, want / scale, atol=TOL,
                                           err_msg=f"{name} unit {(c, y, xx)}")
        assert browser.get_log("browser") == []


def test_sliding_window_and_formula_are_animate_s(browser, trained, kinds):
    """The window the page slides over a layer's input covers the grid cells that
    `viz.animate.conv_animation` lists for that output position, and the page prints its
    formula."""
    from convscope.viz.animate import conv_animation
    for page, exp in ((trained[0], trained[2]), (kinds[0], kinds[3])):
        _open(browser, page)
        for layer in exp.meta["layers"]:
            if layer["kind"] not in ("conv", "maxpool", "avgpool"):
                continue
            p = layer["params"]
            anim = conv_animation(tuple(layer["in_shape"][1:]), tuple(p["kernel"]),
                                  tuple(p["stride"]), tuple(p["pad"]), tuple(p["dilation"]))
            Ho, Wo = anim.output_size
            assert [Ho, Wo] == layer["shape"][1:]
            for y, x in ((0, 0), (Ho - 1, Wo - 1), (Ho // 2, 0)):
                taps = browser.execute_script(
                    "return window.convscopeExplain.windowTaps(arguments[0], arguments[1], "
                    "arguments[2])", layer["name"], y, x)
                assert [tuple(t) for t in taps] == list(anim.frames[1 + y * Wo + x].taps)
            _click(browser, layer["name"], "0,0,0")
            text = browser.find_element("id", "unit-detail").text
            assert all(f in text for f in anim.formulas), (layer["name"], anim.formulas)


@pytest.mark.parametrize("name", ["cifar_cnn", "photo_cnn"])
def test_colour_models_of_the_project(browser, tmp_path, name):
    """The project's RGB models (strided convolutions, global average pooling): every layer
    kind's value, and the gradient of the last convolution's unit."""
    from convscope import models
    model = models.build_model(name, widths=(4, 8, 8), rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).normal(size=(3, 32, 32)).astype(np.float32)
    exp = build_explainer(model, x)
    path = tmp_path / f"{name}.html"
    path.write_text(exp.html())
    console, _ = _open(browser, path)
    assert console == []
    assert browser.execute_script("return document.querySelectorAll('canvas.rgb').length") == 1
    kinds = {layer["kind"] for layer in exp.meta["layers"]} - {"flatten"}
    assert kinds == {"conv", "batchnorm", "relu", "adaptive_avgpool", "linear"}
    _check_every_layer(browser, exp, kinds)
    last = [layer["name"] for layer in exp.meta["layers"] if layer["kind"] == "conv"][-1]
    C, H, W = exp.outputs[last].shape
    g = browser.execute_script("return window.convscopeExplain.gradient(arguments[0], "
                               "arguments[1])", last, f"{C - 1},{H // 2},{W // 2}")
    want = effective_receptive_field(model, x[None], last, (H // 2, W // 2), C - 1).gradient
    got = np.abs(np.asarray(g).reshape(x.shape)).sum(axis=0)
    np.testing.assert_allclose(got / want.max(), want / want.max(), atol=TOL)
    assert browser.get_log("browser") == []


def test_a_layer_kind_the_page_does_not_explain_shows_the_engines_value(browser, tmp_path):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=rng), nn.GELU(), nn.MaxPool2d(2))
    x = rng.normal(size=(1, 8, 8)).astype(np.float32)
    exp = build_explainer(model, x)
    assert [layer["kind"] for layer in exp.meta["layers"]] == ["conv", "other", "maxpool"]
    path = tmp_path / "gelu.html"
    path.write_text(exp.html())
    console, _ = _open(browser, path)
    assert console == []
    got, engine = _click(browser, "1", "1,2,3")
    assert got is None and engine == pytest.approx(float(exp.outputs["1"][1, 2, 3]), rel=1e-6)
    assert "not explained step by step" in browser.find_element("id", "unit-detail").text
    got, engine = _click(browser, "2", "0,1,1")  # the pooling after it still is
    assert abs(got - float(exp.outputs["2"][0, 1, 1])) <= TOL
    assert "not computed" in browser.find_element("id", "unit-detail").text  # no gradient
    assert browser.get_log("browser") == []


def test_large_layers_are_paged_visibly(browser, tmp_path):
    model = T.build_model(T.TrainConfig())  # the default model: 32, 64, 128 channels
    x = np.random.default_rng(0).normal(size=(1, 28, 28)).astype(np.float32)
    exp = build_explainer(model, x)
    path = tmp_path / "default.html"
    path.write_text(exp.html())
    console, _ = _open(browser, path)
    assert console == []
    maps = "return document.querySelectorAll('.map[data-layer=\"{}\"]').length"
    assert browser.execute_script(maps.format("0")) == 8
    column = browser.find_element("id", "col-0")
    assert "channels 1\u20138 of 32" in column.text and "paged" in column.text
    column.find_element("css selector", "button.next").click()
    column = browser.find_element("id", "col-0")
    assert "channels 9\u201316 of 32" in column.text
    got, engine = _click(browser, "0", "9,27,0")  # on page 2
    assert abs(got - float(exp.outputs["0"][9, 27, 0])) <= TOL
    # the last conv's 128 maps of 7x7 (8 a page) and the class scores
    assert "of 128" in browser.find_element("id", "col-8").text
    assert browser.execute_script(maps.format("8")) == 8
    assert len(browser.find_elements("css selector", '[data-layer="13"][data-unit]')) == 10


def test_opened_unit_shows_its_parts(browser, trained, tmp_path):
    path, _, exp = trained
    _open(browser, path)
    _click(browser, "4", "2,3,4")
    detail = browser.find_element("id", "unit-detail")
    text = detail.text
    for piece in ("input patch", "kernel w[2, ci]", "products", "partial sum",
                  "Effective receptive field", "H' = W' = (H - K + 2P)/S + 1 = (14 - 3 + 2*1)/1"
                  " + 1 = 14", "Receptive field on the input"):
        assert piece in text, piece
    # the partial sums add up to the value (no bias: the batch norm after it has one)
    partials = [float(e.get_attribute("data-value"))
                for e in detail.find_elements("css selector", "td.partial")]
    assert len(partials) == 4
    assert sum(partials) == pytest.approx(float(exp.outputs["4"][2, 3, 4]), abs=TOL)
    browser.find_element("css selector", "#unit-detail button").click()  # play/step works
    shot = np.asarray(Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB"))
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 50 and shot.std() > 20
    assert browser.get_log("browser") == []
