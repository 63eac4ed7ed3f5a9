"""`convscope` (cli/__init__.py): every error is one line on stderr and exit status 1, never a
traceback, whether it comes from an argument, a spec or a damaged file."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from convscope.cli import error_line, main
from convscope.io import save_arrays


def _files(tmp_path):
    (tmp_path / "bad.json").write_text('{"layers": [{"type": "conv", "out_channels": 4')
    (tmp_path / "zero.json").write_text(json.dumps(
        {"layers": [{"type": "conv", "out_channels": 0, "kernel_size": 3}]}))
    (tmp_path / "binary.spec").write_bytes(b"\xff\xfe\x00conv")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip archive at all")
    save_arrays(tmp_path / "other.npz", {"w": np.zeros(2)}, {"format": "something else"})
    (tmp_path / "run").mkdir()
    return tmp_path


CASES = [
    (["shape", "1x4x4", "conv:c1,k2,p0-1-2"], r"convscope shape: error: layer 'conv:c1,k2,p0-1-2'"
                                              r": a before-after pair has two values"),
    (["shape", "3xAx4", "conv:c1,k2"], r"convscope shape: error: .*input shape must look like"),
    (["shape", "1x4x4", "conv:c0,k2"], r"convscope shape: error: .*out_channels must be positive"),
    (["shape", "1x4x4", "conv:c1,k9"], r"convscope shape: error: layer 'conv1' .*spans 9"),
    (["rf", "{tmp}/bad.json"], r"convscope rf: error: spec 'bad': invalid JSON"),
    (["rf", "{tmp}/zero.json"], r"convscope rf: error: spec: layers\[0\] \(conv\): "
                                r"Conv\(name='layers\[0\]'\): out_channels must be positive"),
    (["summary", "{tmp}/binary.spec"], r"convscope summary: error: load_spec: .* is not a text "
                                       r"file"),
    (["summary", "resnet51"], r"convscope summary: error: 'resnet51' is neither a known "
                                r"network nor a spec file"),
    (["evaluate", "{tmp}/garbage.npz"], r"convscope evaluate: error: load_arrays: .*garbage.npz"),
    (["evaluate", "{tmp}/other.npz"], r"convscope evaluate: error: load_checkpoint: .* not a "
                                      r"convscope training checkpoint"),
    (["evaluate", "{tmp}/run"], r"convscope evaluate: error: load_checkpoint: .* is a folder "
                                r"without a checkpoint.npz"),
    (["evaluate", "{tmp}/missing.npz"], r"convscope evaluate: error: .*missing.npz"),
    (["train", "--epochs", "0", "--out", "{tmp}/t"], r"convscope train: error: TrainConfig: "
                                                     r"epochs must be positive, got epochs=0"),
]


@pytest.mark.parametrize("argv,pattern", CASES)
def test_errors_are_one_line_and_exit_1(tmp_path, capsys, argv, pattern):
    tmp = _files(tmp_path)
    code = main([a.format(tmp=tmp) for a in argv])
    out, err = capsys.readouterr()
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert re.match(pattern, err.strip()), err


def test_an_unexpected_exception_is_one_line_too():
    line = error_line("viz", KeyError("weight"), internal=True)
    assert line == ("convscope viz: error: KeyError: 'weight' (an internal error; please "
                    "report it)")
    assert error_line("rf", ValueError("two\nlines")) == "convscope rf: error: two lines"


def test_the_installed_command_prints_no_traceback(tmp_path):
    # the real process: python -m convscope, as a user runs it
    (tmp_path / "bad.json").write_text("{")
    proc = subprocess.run([sys.executable, "-m", "convscope", "rf", str(tmp_path / "bad.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith("convscope rf: error: spec 'bad': invalid JSON")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_apply_with_reflect_padding_wider_than_a_map_exits_1(tmp_path, capsys, monkeypatch):
    # a model whose reflect padding is as wide as the map after pooling: one line, exit 1
    # (it used to hang in plan_tiles)
    from convscope import nn, onnx
    model = nn.Sequential(nn.MaxPool2d(4), nn.Conv2d(1, 1, 5, padding=2,
                                                     padding_mode="reflect")).eval()
    onnx.save(model, tmp_path / "m.onnx", np.zeros((1, 1, 32, 32), np.float32))
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8), np.float32))
    code = main(["apply", str(tmp_path / "m.onnx"), str(tmp_path / "x.npy"),
                 str(tmp_path / "y.npy"), "--no-normalize", "--chunk", "4"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("convscope apply: error: apply_tiled: layer "), err
    assert "pads by reflect padding (2, 2)" in err and "map of 2" in err, err


def test_running_out_of_memory_is_the_users_error(monkeypatch, capsys):
    # a size too large for this machine is no bug: one line, exit 1, no "please report"
    from convscope.cli import arith as arith_cli

    def huge(args):
        raise MemoryError("Unable to allocate 74.5 GiB for an array with shape "
                          "(1, 100000, 100000) and data type int64")
    monkeypatch.setattr(arith_cli, "_shape", huge)
    code = main(["shape", "1x4x4", "conv:c1,k3"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("convscope shape: error: not enough memory (Unable to allocate "
                          "74.5 GiB"), err
    assert "please report" not in err and "try a smaller input" in err
