"""`convscope viz`: every picture from a (tiny) run folder, the numbers as JSON, the user's
own image, and one clear error line with exit status 1 for bad input."""

import json

import numpy as np
import pytest
from PIL import Image

from convscope import cli
from convscope import train as T
from convscope.data import write_idx


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A one-epoch run of a small fashion_cnn on a synthetic Fashion-MNIST-like folder."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for stem, n in (("train", 128), ("t10k", 64)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            images[i, 2 + 2 * k: 4 + 2 * k, 4:24] = 220
        write_idx(d / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(d / f"{stem}-labels-idx1-ubyte.gz", labels)
    out = tmp_path_factory.mktemp("run") / "run"
    T.train(T.TrainConfig(data=str(d), out=str(out), widths=(4, 8), epochs=1, batch_size=64,
                          limit_train=128, limit_test=64), progress=False, log=None)
    return str(out)


def _png_ok(path):
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[0] > 150 and image.shape[1] > 250
    assert image.std() > 10


@pytest.mark.parametrize("picture, extra", [
    ("filters", []), ("maps", ["--index", "3"]), ("rf", ["--samples", "8"]),
    ("patches", ["--channel", "1", "-k", "4"]), ("cam", []),
    ("optimize", ["--steps", "3", "--channel", "2"])])
def test_every_picture(run_dir, tmp_path, capsys, picture, extra):
    out = tmp_path / f"{picture}.png"
    assert cli.main(["viz", picture, run_dir, "-o", str(out), *extra]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text
    _png_ok(out)
    if picture == "cam":
        _png_ok(tmp_path / "cam-layers.png")
        _png_ok(tmp_path / "cam-sanity.png")


def test_rf_json(run_dir, tmp_path, capsys):
    out = tmp_path / "rf.png"
    assert cli.main(["viz", "rf", run_dir, "-o", str(out), "--json", "--samples", "4",
                     "--unit", "1,1"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    # the last convolution of fashion_cnn(widths=(4, 8)): r = 3 + 1 (pool) + 2*2 = 8
    assert numbers["layer"] == "4" and numbers["unit"] == [1, 1]
    assert numbers["theoretical_size"] == 8
    assert numbers["mass_inside"] == 1.0
    assert 0 < numbers["effective_halfwidth_50"] <= numbers["effective_halfwidth_90"] \
        <= numbers["effective_halfwidth_99"] <= 4
    assert numbers["picture"] == str(out)


def test_filters_json_and_layer(run_dir, tmp_path, capsys):
    assert cli.main(["viz", "filters", run_dir, "--layer", "4", "--json",
                     "-o", str(tmp_path / "f.png")]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["layer"] == "4" and numbers["mode"] == "diverging"
    assert numbers["filters"] == list(range(8))


def test_own_image(run_dir, tmp_path, capsys):
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[10:20, 5:45] = (250, 200, 100)
    Image.fromarray(rgb).save(tmp_path / "mine.jpg")
    out = tmp_path / "cam.png"
    assert cli.main(["viz", "cam", run_dir, "--image", str(tmp_path / "mine.jpg"), "--json",
                     "-o", str(out)]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["image"] == "mine.jpg" and numbers["label"] is None
    _png_ok(out)


@pytest.mark.parametrize("args, pattern", [
    (["maps", "{run}", "--image", "{bad}"], r"not an image Pillow can read"),
    (["maps", "{run}", "--image", "{tmp}/none.png"], r"no such file"),
    # a big-endian 16-bit TIFF used to be clipped to 255 (white) without a word
    (["maps", "{run}", "--image", "{tmp}/b16.tif"], r"I;16B images \(16-bit or float\) "
                                                    r"are not supported"),
    (["rf", "{run}", "--layer", "nope"], r"unknown layer='nope'; the model's convolution "
                                         r"layers are 0, 4"),
    (["patches", "{run}", "--channel", "8"], r"channel=8 is out of range: layer '4' has 8"),
    (["optimize", "{run}", "--channel", "-1"], r"channel=-1 is out of range"),
    (["maps", "{run}", "--index", "64"], r"--index=64 is out of range: the test set has 64"),
    (["filters", "{run}", "--layer", "1"], r"--layer='1' is a MaxPool2d, not a convolution"),
    (["rf", "{run}", "--unit", "20,20"], r"unit=\(20, 20\) must index"),
    (["rf", "{tmp}"], r"without a checkpoint.npz"),
])
def test_errors_are_one_line(run_dir, tmp_path, capsys, args, pattern):
    import re

    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    Image.frombytes("I;16B", (4, 1), np.array([0, 1000, 40000, 65535], ">u2").tobytes()).save(
        tmp_path / "b16.tif")
    args = [a.format(run=run_dir, bad=bad, tmp=tmp_path) for a in args]
    assert cli.main(["viz", *args, "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("convscope viz: error: ")
    assert re.search(pattern, err), err


@pytest.mark.parametrize("picture", ["filters", "maps", "rf", "patches", "cam", "optimize"])
def test_help(picture, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["viz", picture, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "RUN_OR_MODEL" in text and "--json" in text and ".onnx" in text
    # every option states its default
    options = [line for line in text.split("\n  -")[1:] if not line.startswith("h, --help")]
    for option in options:
        assert "default" in option, option


def test_filters_with_measures(run_dir, tmp_path, capsys):
    from convscope import measure
    from convscope.training import load_checkpoint, model_from_checkpoint

    assert cli.main(["viz", "filters", run_dir, "--captions", "orientation", "--sort",
                     "orientation", "--json", "-o", str(tmp_path / "f.png")]) == 0
    numbers = json.loads(capsys.readouterr().out)
    weight = model_from_checkpoint(load_checkpoint(run_dir))[0].weight.data
    selectivity = measure.orientation_selectivity(weight)
    assert numbers["orientation_selectivity_mean"] == pytest.approx(selectivity.mean(),
                                                                     abs=1e-4)
    assert numbers["filters"] == list(np.argsort(-selectivity, kind="stable"))
    null = numbers["null"]["orientation_selectivity"]
    assert 0 < null["std"] < null["mean"] < 1


def test_filters_null_level_is_the_runs(run_dir, tmp_path, capsys):
    """One null level per run: ``convscope viz filters`` shows the one training recorded in
    metrics.json and the report shows (seeds seed + 1 .. seed + 100, never the run's own
    initialisation), also when the report computes it for a run without the record."""
    import re
    import shutil

    from convscope import measure
    from convscope.viz.report import build_report

    assert cli.main(["viz", "filters", run_dir, "--captions", "orientation", "--json", "-o",
                     str(tmp_path / "f.png")]) == 0
    cli_null = json.loads(capsys.readouterr().out)["null"]
    with open(f"{run_dir}/metrics.json", encoding="utf-8") as f:
        metrics = json.load(f)
    assert cli_null == metrics["filters"]["null"]
    model = T.model_from_checkpoint(T.load_checkpoint(run_dir))
    seed = metrics["config"]["seed"]
    assert cli_null == measure.null_level(measure.init_factory(model), n=100, seed=seed + 1)
    level = cli_null["orientation_selectivity"]
    shown = f"{level['mean']:.3f} ± {level['std']:.3f}"
    # the report, from metrics.json and computed afresh for a run folder without the record
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare)
    del metrics["filters"]
    (bare / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    for folder in (run_dir, bare):
        page = build_report(folder, sections=["filters"])
        assert re.search(r"null level.*" + re.escape(shown), page, flags=re.S), folder
    assert "computed here" in build_report(bare, sections=["filters"])
