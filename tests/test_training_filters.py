"""metrics["filters"]: first-layer measures at init and after training, the null level, the line.

Runs on the built-in photo-patches (RGB, so both measures), tiny: 128 training patches.
"""

import json

import numpy as np
import pytest

from convscope import measure, models
from convscope import train as T
from convscope.training import filters as filters_module
from convscope.training import loop


def _config(out, **changes):
    settings = dict(dataset="photo-patches", out=str(out), widths=(4, 8), epochs=2,
                    batch_size=32, lr=0.05, limit_train=128, limit_test=64, seed=3)
    settings.update(changes)
    return T.TrainConfig(**settings)


@pytest.fixture(scope="module")
def rgb_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("photos") / "run"
    lines = []
    metrics = T.train(_config(out), progress=False, pictures=False, log=lines.append)
    return out, metrics, lines


def test_filters_record(rgb_run):
    out, metrics, _ = rgb_run
    record = metrics["filters"]
    keys = {"orientation_selectivity", "colour_opponency"}
    assert set(record) == {"init", "final", "null"}
    assert set(record["init"]) == set(record["final"]) == set(record["null"]) == keys
    config = _config(out)
    # init: the first layer of the model the seed builds; final: the checkpoint's weights
    initial = measure.first_conv_weight(T.build_model(config))
    assert record["init"] == measure.filter_stats(initial)
    ckpt = T.load_checkpoint(out)
    trained = T.model_from_checkpoint(ckpt)
    assert record["final"] == measure.filter_stats(measure.first_conv_weight(trained))
    assert record["final"] != record["init"]
    # null: 100 whole models built from seeds seed+1 ... seed+100, computed independently
    name, kwargs = config.model_spec()
    null = measure.null_level(lambda rng: models.build_model(name, rng=rng, **kwargs), n=100,
                              seed=config.seed + 1)
    for key in keys:
        assert record["null"][key]["mean"] == pytest.approx(null[key]["mean"], rel=1e-12)
        assert record["null"][key]["std"] == pytest.approx(null[key]["std"], rel=1e-12)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["filters"] == json.loads(json.dumps(record))
    assert ckpt.metrics["filters"] == on_disk["filters"]


def test_the_printed_line_gives_standard_deviations_above_null(rgb_run):
    _, metrics, lines = rgb_run
    record = metrics["filters"]
    line = [s for s in lines if s.startswith("first-layer filters")]
    assert len(line) == 1
    for key, words in (("orientation_selectivity", "orientation energy selectivity"),
                       ("colour_opponency", "colour opponency")):
        null = record["null"][key]
        sd = (record["final"][key] - null["mean"]) / null["std"]
        assert f"{words} {record['final'][key]:.3f}" in line[0]
        assert f"{sd:+.1f} sd" in line[0]


def test_resumed_run_has_the_same_filters(rgb_run, tmp_path, monkeypatch):
    _, metrics, _ = rgb_run
    real_epoch = loop.train_epoch
    calls = []

    def interrupt_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args)

    monkeypatch.setattr(loop, "train_epoch", interrupt_second)
    out = tmp_path / "run"
    with pytest.raises(T.TrainingInterrupted):
        T.train(_config(out), progress=False, pictures=False, log=None)
    assert "final" not in T.load_checkpoint(out).metrics["filters"]
    monkeypatch.setattr(loop, "train_epoch", real_epoch)
    resumed = T.train(T.TrainConfig(), resume=str(out), progress=False, pictures=False,
                      log=None)
    assert resumed["filters"] == metrics["filters"]


def test_filters_line_without_final_or_spread():
    assert filters_module.filters_line(None) is None
    record = {"init": {"orientation_selectivity": 0.3}, "null": {}}
    assert filters_module.filters_line(record) is None
    record = {"init": {"orientation_selectivity": 0.3},
              "final": {"orientation_selectivity": 0.5},
              "null": {"orientation_selectivity": {"mean": 0.3, "std": 0.0}}}
    assert "nan sd" in filters_module.filters_line(record)
    assert filters_module.initial_filters(models.signal_cnn(), seed=0) is None
