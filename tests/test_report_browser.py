"""The report (and an animation page) in a real browser: Debian's chromium, headless, driven
by Selenium through chromium-driver. `make setup-test` installs both; without them these
tests FAIL with a message saying so (set CONVSCOPE_SKIP_BROWSER_TESTS=1 to skip them on a
machine without a browser).

Checked: the page loads with no console message and no network request (the browser's own
network log), every image decodes, a screenshot is not blank, and the arithmetic widget's
numbers equal `convscope.arith`'s over a grid of settings, both from its function and on
the page after moving its sliders.
"""

import io
import itertools
import json
import os
import shutil
import tempfile

import numpy as np
import pytest
from PIL import Image

from convscope import arith
from convscope.viz.animate import conv_animation
from convscope.viz.animate_draw import to_html, to_svg
from convscope.viz.report import write_report
from tiny_run import LIGHT, tiny_run

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SKIP_VAR = "CONVSCOPE_SKIP_BROWSER_TESTS"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1000")


@pytest.fixture(scope="module")
def browser():
    if os.environ.get(SKIP_VAR):
        pytest.skip(f"{SKIP_VAR} is set")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"the browser tests need Debian's chromium and chromium-driver "
                    f"({', '.join(missing)} missing): run `make setup-test` (it apt-installs "
                    f"them), or set "
                    f"{SKIP_VAR}=1 to skip these tests", pytrace=False)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="convscope-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open(driver, path):
    """Load a file; return (console messages, URLs the page requested)."""
    driver.get_log("browser"), driver.get_log("performance")  # drop earlier entries
    driver.get("file://" + os.path.abspath(path))
    driver.execute_async_script("setTimeout(arguments[0], 500)")  # let scripts and images run
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if not url.startswith(("chrome://", "chrome-untrusted://", "devtools://")):
                requests.append(url)  # (the browser's own pages are not the network)
    return driver.get_log("browser"), requests


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out, _, _ = tiny_run(tmp_path_factory)
    return write_report(out, **LIGHT)


@pytest.fixture(scope="module")
def loaded(browser, report):
    return _open(browser, report)


def test_loads_without_console_messages_or_network(browser, report, loaded):
    console, requests = loaded
    assert console == []
    page = "file://" + os.path.abspath(report)
    # the page itself (and data: images, which never touch the network) only
    assert all(url == page or url.startswith("data:") for url in requests), requests
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith("data:")] == []


def test_every_image_decodes(browser, loaded):
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
        "i.naturalHeight])")
    assert len(images) >= 4
    assert all(done and w > 0 and h > 0 for done, w, h in images), images


def test_screenshot_is_not_blank(browser, loaded):
    shot = np.asarray(Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB"))
    assert shot.shape[0] > 500 and shot.shape[1] > 800
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 50  # text, tables, pictures
    assert shot.std() > 20


def _arith(W, K, P, S, D, L):
    """What the widget must show, from convscope.arith: per layer (input, output, dropped,
    receptive field, jump); None where a layer has no output."""
    layers, size = [], W
    for l in range(1, L + 1):
        try:
            out = arith.conv_output_size(size, K, S, P, D)
        except ValueError:
            return layers, l
        field = arith.rf_stack([(K, S, P, D)] * l, ndim=1)
        layers.append([size, out, arith.unused_input(size, K, S, P, D), field.size[0],
                       field.jump[0]])
        size = out
    return layers, None


GRID = list(itertools.product([1, 4, 7, 10], [1, 2, 3, 5], [0, 1, 3], [1, 2, 3], [1, 2],
                              [1, 3]))


def test_widget_function_equals_arith(browser, loaded):
    got = browser.execute_script(
        "return arguments[0].map(a => window.convscopeArith.compute(...a))", GRID)
    for setting, result in zip(GRID, got):
        layers, error_layer = _arith(*setting)
        shown = [[x["input"], x["output"], x["dropped"], x["rf"], x["jump"]]
                 for x in result["layers"]]
        assert shown == layers, setting
        assert result["errorLayer"] == error_layer, setting


@pytest.mark.parametrize("setting", [(7, 3, 1, 2, 1, 1), (6, 3, 0, 2, 1, 1),
                                     (28, 3, 1, 2, 1, 3), (11, 5, 0, 3, 2, 2),
                                     (2, 5, 1, 1, 1, 1)])
def test_widget_page_shows_arith_after_moving_sliders(browser, loaded, setting):
    names = ["W", "K", "P", "S", "D", "L"]
    browser.execute_script(
        "arguments[0].forEach(function (kv) { var e = document.getElementById('w-' + kv[0]);"
        " e.value = kv[1]; e.dispatchEvent(new Event('input')); });",
        [[n, v] for n, v in zip(names, setting)])
    text = lambda i: browser.find_element("id", i).text
    layers, error_layer = _arith(*setting)
    if error_layer is None:
        assert text("w-out") == str(layers[-1][1])
        assert text("w-rf") == str(layers[-1][3]) and text("w-jump") == str(layers[-1][4])
        assert text("w-error") == ""
    else:
        assert text("w-out") == "none" and f"layer {error_layer}" in text("w-error")
    if layers:
        assert text("w-dropped") == str(layers[0][2])
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#w-layers tr')).map("
        "r => Array.from(r.cells).map(c => +c.textContent))")
    assert [r[1:] for r in rows] == layers
    assert browser.execute_script("return document.getElementById('w-canvas').getContext('2d')"
                                  ".getImageData(0, 0, 300, 300).data.some(v => v < 200)")


def test_animation_page_plays_in_the_browser(browser, tmp_path):
    anim = conv_animation((5, 5), 3, stride=2, padding=1, values=True)
    path = tmp_path / "conv.html"
    path.write_text(to_html(anim))
    console, requests = _open(browser, path)
    assert console == [] and all(u.startswith("file://") for u in requests)
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('g.frame')).map("
        "g => g.getAttribute('display'))")
    assert len(shown) == len(anim.frames) and shown.count("inline") == 1
    browser.find_element("id", "next").click()
    after = browser.execute_script(
        "return Array.from(document.querySelectorAll('g.frame')).findIndex("
        "g => g.getAttribute('display') === 'inline')")
    assert after == (shown.index("inline") + 1) % len(shown)


def test_animated_svg_plays_by_itself(browser, tmp_path):
    anim = conv_animation((4,), 2, stride=2)
    path = tmp_path / "conv.svg"
    path.write_text(to_svg(anim, frame_ms=300))
    console, requests = _open(browser, path)
    assert console == [] and all(u.startswith("file://") for u in requests)
    visible = ("return Array.from(document.querySelectorAll('g.frame')).map("
               "g => getComputedStyle(g).display !== 'none')")
    first = browser.execute_script(visible)
    assert len(first) == len(anim.frames) and first.count(True) == 1
    browser.execute_async_script("setTimeout(arguments[0], 1400)")  # past the held first frame
    later = browser.execute_script(visible)
    assert later.count(True) == 1 and later.index(True) != first.index(True)
