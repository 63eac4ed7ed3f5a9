"""A missing optional package is the user's install, not a bug: the library raises a
`MissingDependency` naming the pip extra at the point of use, and the CLI prints that one
line and exits 1 (no "please report"). Each package is made unimportable by putting None
into sys.modules for it and its submodules."""

import sys

import numpy as np
import pytest

from convscope._optional import EXTRAS, MissingDependency, require
from convscope.cli import main


def _block(monkeypatch, name):
    for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, key, None)
    monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("name", sorted(EXTRAS))
def test_require_names_the_extra(monkeypatch, name):
    _block(monkeypatch, name)
    pip_name, extra = EXTRAS[name]
    with pytest.raises(MissingDependency) as info:
        require(name, "something")
    message = str(info.value)
    assert isinstance(info.value, ImportError)
    assert message.startswith(f"something needs the optional package {pip_name}, which is "
                              f"not installed")
    assert f"pip install 'convscope[{extra}]'" in message


def test_a_broken_install_is_told_apart(monkeypatch):
    # matplotlib is there, but a package it needs is not
    import importlib
    real = importlib.import_module

    def failing(name, *args):
        if name == "matplotlib.figure":
            raise ModuleNotFoundError("No module named 'kiwi_missing_part'",
                                      name="kiwi_missing_part")
        return real(name, *args)
    monkeypatch.setattr(importlib, "import_module", failing)
    with pytest.raises(MissingDependency, match=r"needs the optional package matplotlib, "
                                                r"which is installed but does not import"):
        require("matplotlib.figure", "pictures")


def _one_line_exit_1(capsys, argv, extra):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "please report" not in err and "Traceback" not in err
    assert f"pip install 'convscope[{extra}]'" in err
    return err


def test_cli_train_photo_patches_without_scikit_image(monkeypatch, capsys, tmp_path):
    _block(monkeypatch, "skimage")
    from convscope.data import photos
    monkeypatch.setattr(photos, "_CACHE", [])
    err = _one_line_exit_1(capsys, ["train", "--dataset", "photo-patches", "--epochs", "1",
                                    "--out", str(tmp_path / "run")], "photos")
    assert err.startswith("convscope train: error: the data set photo-patches")


@pytest.mark.parametrize("name", ["dask", "zarr", "PIL", "distributed"])
def test_cli_apply_without_a_scale_package(monkeypatch, capsys, tmp_path, name):
    from convscope import nn, onnx
    model = nn.Sequential(nn.Conv2d(1, 1, 3)).eval()
    onnx.save(model, tmp_path / "m.onnx", np.zeros((1, 1, 8, 8), np.float32))
    suffix = ".png" if name == "PIL" else ".npy"
    if name == "PIL":
        from PIL import Image
        Image.new("L", (8, 8)).save(tmp_path / "x.png")
    else:
        np.save(tmp_path / "x.npy", np.zeros((1, 8, 8), np.float32))
    out = tmp_path / ("y.zarr" if name == "zarr" else "y.npy")
    extra = ["--scheduler", "tcp://127.0.0.1:1"] if name == "distributed" else []
    _block(monkeypatch, name)
    err = _one_line_exit_1(capsys, ["apply", str(tmp_path / "m.onnx"),
                                    str(tmp_path / f"x{suffix}"),
                                    str(out), "--no-normalize", *extra], "scale")
    assert err.startswith("convscope apply: error: ")


def test_pictures_without_matplotlib_or_pillow(monkeypatch, tmp_path):
    from convscope.viz import _common
    from convscope.viz.animate import conv_animation
    from convscope.viz.animate_draw import save_animation
    _block(monkeypatch, "matplotlib")
    with pytest.raises(MissingDependency, match=r"pip install 'convscope\[viz\]'"):
        _common.new_figure(2, 2)
    monkeypatch.undo()
    anim = conv_animation((4, 4), 3, 1, 1)
    _block(monkeypatch, "PIL")
    with pytest.raises(MissingDependency, match=r"pillow.*pip install 'convscope\[viz\]'"):
        save_animation(anim, tmp_path / "a.gif")


def test_read_image_without_pillow_names_the_scale_extra(monkeypatch, tmp_path):
    from convscope.scale import io
    _block(monkeypatch, "PIL")
    with pytest.raises(MissingDependency, match=r"read_image needs the optional package "
                                                r"pillow.*convscope\[scale\]"):
        io.read_image(tmp_path / "x.png")
