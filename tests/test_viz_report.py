"""The run report: one self-contained page whose numbers are the run's and the library's, and
which says what is missing instead of crashing. (The browser tests are in
test_report_browser.py.)"""

import base64
import io
import json
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from convscope import summary
from convscope import train as T
from convscope.cli import main
from convscope.viz.report import SECTIONS, build_report, write_report
from tiny_run import LIGHT, tiny_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


@pytest.fixture(scope="module")
def page(run):
    return build_report(run[0], **LIGHT)


def _sections(page):
    return dict(re.findall(r'<section id="(\w+)">(.*?)</section>', page, flags=re.S))


def test_every_picture_is_an_inline_png_and_nothing_is_fetched(page):
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) >= 4  # curves, confusion matrix, two filter grids at least
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        with Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))) as image:
            assert image.format == "PNG" and image.width > 100 and image.height > 100
            assert len(np.unique(np.asarray(image.convert("L")))) > 4  # not blank
    assert not re.search(r"https?://", page)
    assert not re.search(r"<(link|iframe)\b|<script[^>]+src=|@import|url\(", page)


def test_numbers_are_the_runs(run, page):
    out, _, metrics = run
    sections = _sections(page)
    final = metrics["final_test_accuracy"]
    assert f"{100 * final:.2f}%" in sections["accuracy"]
    for row in metrics["epochs"]:
        assert f"{row['train_loss']:.4f}" in sections["accuracy"]
    # the confusion matrix section evaluates the checkpoint again: the same accuracy
    shown = float(re.search(r"<b>([\d.]+)%</b> correct", sections["confusion"]).group(1))
    assert shown == pytest.approx(100 * final, abs=0.005)
    rows = re.findall(r"<tr><td>[^<]+</td><td class=num>(\d+)</td><td class=num>", sections[
        "confusion"])
    assert sum(map(int, rows)) == metrics["dataset"]["test_images"]


def test_summary_table_is_the_librarys(run, page):
    out, _, metrics = run
    ckpt = T.load_checkpoint(out)
    model = T.build_model(ckpt.config)
    s = summary(model, (1, 28, 28)).to_dict()
    table = _sections(page)["summary"]
    body_rows = re.findall(r"<tr><td>(.*?)</tr>", table)
    assert len(body_rows) == len(s["layers"])
    for layer, row in zip(s["layers"], body_rows):
        cells = re.findall(r"(?:^|<td[^>]*>)([^<]*)</td>", "<td>" + row)
        assert cells[0] == layer["name"] and cells[3] == f"{layer['params']:,}"
        assert cells[4] == f"{layer['macs']:,}"
        rf = layer["receptive_field"]
        assert cells[5] == ("-" if rf is None else str(rf))
    assert f"{s['total_params']:,} parameters" in table


def test_filter_numbers_and_null_level_are_shown(run, tmp_path):
    out, _, _ = run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["filters"] = {"init": {"orientation_selectivity": 0.25},
                          "final": {"orientation_selectivity": 0.36},
                          "null": {"orientation_selectivity": {"mean": 0.245, "std": 0.024}}}
    (copy / "metrics.json").write_text(json.dumps(metrics))
    section = _sections(build_report(copy, sections=["filters"]))["filters"]
    assert "0.250" in section and "0.360" in section and "0.245 ± 0.024" in section
    assert f"{(0.36 - 0.245) / 0.024:+.1f}" in section  # +4.8 sd above the null level
    assert "colour opponency" not in section  # a grey model has no colour numbers


def test_filter_numbers_of_an_older_run_are_measured_from_its_checkpoint(run, tmp_path):
    from convscope import measure
    out, _, _ = run
    older = tmp_path / "older"
    shutil.copytree(out, older)
    metrics = json.loads((older / "metrics.json").read_text())
    recorded = metrics.pop("filters", None)  # as a run from before the filter numbers
    (older / "metrics.json").write_text(json.dumps(metrics))
    ckpt = T.load_checkpoint(older)
    trained, initial = T.build_model(ckpt.config), T.build_model(ckpt.config)
    trained.load_state_dict(ckpt.model_state)
    section = _sections(build_report(older, sections=["filters"]))["filters"]
    assert "computed here" in section
    init = measure.filter_stats(measure.first_conv_weight(initial))["orientation_selectivity"]
    final = measure.filter_stats(measure.first_conv_weight(trained))["orientation_selectivity"]
    assert init != final
    assert f"<td class=num>{init:.3f}</td><td class=num>{final:.3f}</td>" in section
    if recorded is not None:  # what convscope train recorded is what the report measures
        assert recorded["init"]["orientation_selectivity"] == pytest.approx(init)
        assert recorded["final"]["orientation_selectivity"] == pytest.approx(final)


def test_missing_pieces_are_named_not_fatal(run, tmp_path, monkeypatch):
    out, data, _ = run
    no_ckpt = tmp_path / "no_checkpoint"
    no_ckpt.mkdir()
    shutil.copy(os.path.join(out, "metrics.json"), no_ckpt)
    sections = _sections(build_report(no_ckpt))
    for name in ("confusion", "summary", "maps", "rf", "patches", "cam"):
        assert "Not shown: no checkpoint.npz in the run folder" in sections[name], name
    assert list(sections) == list(SECTIONS)
    assert "w-canvas" in sections["widget"] and "test accuracy" in sections["accuracy"]
    # the data set gone: the sections that need test images say so
    monkeypatch.setenv("CONVSCOPE_DATA", str(tmp_path / "nowhere"))
    copy = tmp_path / "no_data"
    shutil.copytree(out, copy)
    # as a run from before the filter numbers: the report measures them from the checkpoint
    metrics = json.loads((copy / "metrics.json").read_text())
    assert set(metrics.pop("filters")) == {"init", "final", "null"}
    (copy / "metrics.json").write_text(json.dumps(metrics))
    sections = _sections(build_report(copy, data=str(tmp_path / "nowhere"),
                                      sections=["confusion", "summary", "filters", "maps"]))
    assert "Not shown: the test set cannot be read" in sections["confusion"]
    assert "<table>" in sections["summary"]  # needs the model only
    assert "computed here" in sections["filters"] and "orientation energy selectivity" in sections[
        "filters"]
    assert "Not shown: the test set cannot be read" in sections["maps"]


def test_write_report_and_cli(run, tmp_path, capsys):
    out, _, _ = run
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(os.path.join(out, "metrics.json"), folder)  # quick: no model to run
    target = tmp_path / "r.html"
    assert main(["report", str(folder), "-o", str(target), "--sections", "run,widget"]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    assert list(_sections(target.read_text())) == ["run", "widget"]
    assert write_report(folder, sections=["accuracy"]) == str(folder / "report.html")
    assert list(_sections((folder / "report.html").read_text())) == ["accuracy"]
    for argv, pattern in ((["report", str(tmp_path / "nothing")], "holds no metrics.json"),
                          (["report", str(folder), "--sections", "run,nope"],
                           "unknown section\\(s\\) \\['nope'\\]"),
                          (["report", str(folder), "--images", "0"], "images must be a "
                                                                     "positive int")):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and re.search(pattern, err), err


def test_broken_metrics_json_is_named(tmp_path, capsys):
    (tmp_path / "metrics.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 1
    assert "is not valid JSON" in capsys.readouterr().err


def test_cli_lists_the_sections_the_report_has():
    from convscope.cli.report import SECTION_IDS
    assert list(SECTION_IDS) == list(SECTIONS)
