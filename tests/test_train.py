"""The main job: a short deterministic run learns, resumes exactly, survives Ctrl-C, and fails
clearly on missing data and damaged checkpoints; the CLI around it.

The data: the first 512 training and 512 test images of the real Fashion-MNIST when the
Debian package `dataset-fashion-mnist` is installed, else a synthetic, learnable data set
(one bright horizontal bar per class, plus noise), written as IDX files by the test.
"""

import json
import os

import numpy as np
import pytest

from convscope import cli
from convscope import train as T
from convscope.training import loop
from convscope.data import DEBIAN_FASHION_MNIST_DIR, ENV_VAR, load_dataset, write_idx
from convscope.io import load_arrays, save_arrays

N = 512
PNG = b"\x89PNG\r\n\x1a\n"
TIMING = ("seconds", "eval_seconds", "images_per_second")


def _synthetic(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 + 2 * k: 4 + 2 * k, 4:24] = 220
    return images, labels


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A folder with 512 + 512 Fashion-MNIST-layout IDX images (real when installed)."""
    d = tmp_path_factory.mktemp("fashion")
    real = os.path.isdir(DEBIAN_FASHION_MNIST_DIR)
    for train, stem in ((True, "train"), (False, "t10k")):
        if real:
            x, y = load_dataset("fashion-mnist", train, DEBIAN_FASHION_MNIST_DIR)
            images = np.round(x[:N, 0] * 255).astype(np.uint8)
            labels = y[:N].astype(np.uint8)
        else:
            images, labels = _synthetic(N, seed=int(train))
        write_idx(d / f"{stem}-images-idx3-ubyte.gz", images)
        write_idx(d / f"{stem}-labels-idx1-ubyte.gz", labels)
    return str(d)


def _config(data_dir, out, **changes):
    settings = dict(data=data_dir, out=str(out), widths=(4, 8), epochs=3, batch_size=64,
                    lr=0.05, limit_train=N, limit_test=N, eval_batch_size=256)
    settings.update(changes)
    return T.TrainConfig(**settings)


def _numbers(metrics):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in metrics["epochs"]]


@pytest.fixture(scope="module")
def full_run(data_dir, tmp_path_factory):
    """An uninterrupted 3-epoch run: (its folder, its metrics)."""
    out = tmp_path_factory.mktemp("full") / "run"
    metrics = T.train(_config(data_dir, out), progress=False, log=None)
    return out, metrics


# -- learning ----------------------------------------------------------------------------------
def test_loss_falls_and_accuracy_beats_chance(full_run):
    _, metrics = full_run
    rows = metrics["epochs"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[-1]["train_loss"] < 0.8 * rows[0]["train_loss"]
    assert rows[-1]["test_accuracy"] > 0.5  # chance is 0.1
    assert metrics["finished"] is True
    assert metrics["best_test_accuracy"] == max(r["test_accuracy"] for r in rows)


def test_same_seed_same_numbers_other_seed_other_numbers(data_dir, full_run, tmp_path):
    _, metrics = full_run
    again = T.train(_config(data_dir, tmp_path / "a", epochs=3), progress=False, log=None,
                    pictures=False)
    assert _numbers(again) == _numbers(metrics)
    other = T.train(_config(data_dir, tmp_path / "b", epochs=1, seed=1), progress=False,
                    pictures=False, log=None)
    assert _numbers(other)[0] != _numbers(metrics)[0]


def test_output_files(full_run):
    out, metrics = full_run
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "explain.html", "filters.png",
                                       "metrics.json", "report.html", "training_curves.png"]
    for name in ("filters.png", "training_curves.png"):
        assert (out / name).read_bytes()[:8] == PNG
    page = (out / "report.html").read_text()  # the run's page (tests/test_viz_report.py)
    assert page.startswith("<!DOCTYPE html>")
    assert f"{100 * metrics['final_test_accuracy']:.2f}%" in page
    assert 'href="explain.html"' in page  # the explainer page beside it (test_explain.py)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert set(on_disk) >= {"config", "model", "dataset", "epochs", "best_test_accuracy",
                            "best_epoch", "final_test_accuracy", "total_seconds", "finished"}
    assert set(on_disk["epochs"][0]) == {"epoch", "train_loss", "train_accuracy", "test_loss",
                                         "test_accuracy", "seconds", "eval_seconds",
                                         "images_per_second", "lr"}
    assert on_disk["model"]["parameters"] > 0
    assert on_disk["dataset"]["classes"][0] == "T-shirt/top"


def test_grey_run_records_orientation_only(full_run):
    """One input channel: metrics["filters"] holds orientation selectivity, no colour."""
    _, metrics = full_run
    record = metrics["filters"]
    assert set(record) == {"init", "final", "null"}
    assert set(record["final"]) == set(record["null"]) == {"orientation_selectivity"}
    assert set(record["null"]["orientation_selectivity"]) == {"mean", "std"}


def test_checkpoint_is_pickle_free_npz_with_everything(full_run):
    out, _ = full_run
    with np.load(out / "checkpoint.npz", allow_pickle=False) as z:
        assert any(k.startswith("model/") for k in z.files)
        assert any(k.startswith("optim/") for k in z.files)
    _, meta = load_arrays(out / "checkpoint.npz")
    assert meta["format"] == T.CHECKPOINT_FORMAT and meta["epoch"] == 3
    assert {"config", "model", "optimizer", "scheduler", "loader", "metrics"} <= set(meta)


# -- interruption and resuming ------------------------------------------------------------------
class _Interrupting:
    """A loader stand-in that yields one batch of the real loader, then 'presses Ctrl-C'."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        batches = iter(self.loader)
        yield next(batches)
        raise KeyboardInterrupt


def test_interrupt_then_resume_equals_uninterrupted(data_dir, full_run, tmp_path, monkeypatch,
                                                     capsys):
    _, metrics = full_run
    real_epoch = loop.train_epoch
    calls = []

    def epoch_then_interrupt(model, loader, *args):
        calls.append(1)
        if len(calls) == 3:  # in the middle of epoch 3
            loader = _Interrupting(loader)
        return real_epoch(model, loader, *args)

    monkeypatch.setattr(loop, "train_epoch", epoch_then_interrupt)
    out = tmp_path / "run"
    with pytest.raises(T.TrainingInterrupted) as info:
        T.train(_config(data_dir, out), progress=False, log=None)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.epoch == 2
    printed = capsys.readouterr()
    assert printed.out == printed.err == ""  # log=None: the library prints nothing
    assert "--resume " + str(out) in info.value.advice()  # what the command line prints
    ckpt = T.load_checkpoint(out)
    assert ckpt.epoch == 2 and len(ckpt.metrics["epochs"]) == 2
    monkeypatch.setattr(loop, "train_epoch", real_epoch)

    resumed = T.train(T.TrainConfig(), resume=str(out), progress=False, log=None,
                      pictures=False)
    assert _numbers(resumed) == _numbers(metrics)
    assert T.load_checkpoint(out / "checkpoint.npz").epoch == 3


def test_interrupt_in_first_epoch_leaves_epoch_zero_checkpoint(data_dir, tmp_path,
                                                                monkeypatch):
    real_epoch = loop.train_epoch
    monkeypatch.setattr(loop, "train_epoch",
                        lambda model, loader, *a: real_epoch(model, _Interrupting(loader), *a))
    assert cli.main(["train", "--data", data_dir, "--out", str(tmp_path / "r"),
                     "--widths", "4", "--limit-train", "128", "--limit-test", "128",
                     "--epochs", "1", "--no-progress"]) == 130
    assert T.load_checkpoint(tmp_path / "r").epoch == 0


# -- evaluate ----------------------------------------------------------------------------------
def test_evaluate_cli(data_dir, full_run, tmp_path, capsys):
    out, metrics = full_run
    code = cli.main(["evaluate", str(out / "checkpoint.npz"), "--data", data_dir,
                     "--out", str(tmp_path)])
    assert code == 0
    text = capsys.readouterr().out
    accuracy = metrics["epochs"][-1]["test_accuracy"]
    assert f"test accuracy {100 * accuracy:.2f}%" in text
    assert "Ankle boot" in text and "recall" in text
    assert (tmp_path / "confusion_matrix.png").read_bytes()[:8] == PNG


def test_evaluate_confusion_matrix_counts(data_dir, full_run):
    out, _ = full_run
    result = T.evaluate_checkpoint(out, data=data_dir, limit=100, pictures=False)
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 100
    assert np.trace(matrix) / 100 == pytest.approx(result["accuracy"])


# -- errors ------------------------------------------------------------------------------------
def _damaged(full_run, tmp_path):
    out, _ = full_run
    good = (out / "checkpoint.npz").read_bytes()
    files = {"garbage.npz": b"this is not a zip archive",
             "truncated.npz": good[: len(good) // 2]}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    save_arrays(tmp_path / "foreign.npz", {"w": np.zeros(3)}, {"hello": 1})
    arrays, meta = load_arrays(out / "checkpoint.npz")
    arrays["model/0.weight"] = np.zeros((1, 1, 1, 1), np.float32)
    save_arrays(tmp_path / "misfit.npz", arrays, meta)
    return {"garbage.npz": "not a readable .npz", "truncated.npz": "not a readable .npz",
            "foreign.npz": "not a convscope training checkpoint",
            "misfit.npz": "0.weight has shape"}


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_damaged_checkpoints_give_clear_errors(command, data_dir, full_run, tmp_path, capsys):
    for name, pattern in _damaged(full_run, tmp_path).items():
        path = str(tmp_path / name)
        argv = (["train", "--resume", path] if command == "train"
                else ["evaluate", path, "--data", data_dir])
        assert cli.main(argv) == 1, name
        err = capsys.readouterr().err
        assert err.startswith(f"convscope {command}: error:"), err
        assert pattern in err and name in err, err


def test_missing_checkpoint(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "nope.npz")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(ENV_VAR, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = cli.main(["train", "--data", str(empty), "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("convscope train: error:")
    assert "looked in" in err and str(empty) in err and "To get it" in err
    assert not (tmp_path / "o").exists()


def test_malformed_data_file(tmp_path, capsys):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x00")
    code = cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("convscope train: error:") and "train-images-idx3-ubyte" in err


def test_resume_refuses_changed_settings(full_run, capsys):
    out, _ = full_run
    assert cli.main(["train", "--resume", str(out), "--lr", "0.5"]) == 1
    assert "--lr cannot be changed" in capsys.readouterr().err


def test_fresh_run_refuses_folder_with_checkpoint(data_dir, full_run):
    out, _ = full_run
    with pytest.raises(ValueError, match="already holds a checkpoint.npz"):
        T.train(_config(data_dir, out), progress=False, log=None)


@pytest.mark.parametrize("changes, pattern", [
    ({"epochs": 0}, "epochs must be positive, got epochs=0"),
    ({"lr": -1.0}, "lr=-1.0 must be finite and >= 0"),
    ({"optimizer": "rmsprop"}, "optimizer='rmsprop' must be one of"),
    ({"dataset": "imagenet"}, "unknown data set name='imagenet'"),
    ({"widths": (4, 0)}, r"widths\[1\] must be positive, got widths\[1\]=0"),
    ({"model": "signal_cnn"}, "takes 1-D signals"),
])
def test_bad_config(changes, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        T.TrainConfig(**changes)


# -- the CLI -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command, words", [
    ("train", ["--epochs", "--batch-size", "--lr", "--seed", "--out", "--resume", "--dataset",
               "--data", "fashion-mnist", "cifar10",
               f"default: {T.TrainConfig().epochs}"]),
    ("evaluate", ["CKPT", "--data", "--out"]),
])
def test_help(command, words, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for word in words:
        assert word in text


def test_train_cli_end_to_end(data_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    code = cli.main(["train", "--data", data_dir, "--out", str(out), "--widths", "4",
                     "--epochs", "1", "--limit-train", "128", "--limit-test", "128",
                     "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "epoch 1/1:" in text and "test" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("best test accuracy") and str(out) in last
    assert (out / "metrics.json").is_file()


def test_train_cli_says_how_to_resume_after_ctrl_c(data_dir, tmp_path, capsys, monkeypatch):
    """The library's `train` is silent on Ctrl-C; the command line prints where the
    checkpoint is and how to go on, on stderr, and exits 130."""
    def interrupted(model, loader, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "train_epoch", interrupted)
    out = tmp_path / "cli"
    code = cli.main(["train", "--data", data_dir, "--out", str(out), "--widths", "4",
                     "--epochs", "2", "--limit-train", "64", "--limit-test", "64",
                     "--no-progress"])
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted during epoch 1; the checkpoint of epoch 0" in err
    assert f"go on with: convscope train --resume {out}" in err
