""".npy / Zarr / image round trips, `predict`, and `convscope apply` end to end."""

import os

import numpy as np
import pytest

from convscope import cli, models, nn
from convscope import train as T
from convscope.autograd import Tensor
from convscope.data import write_idx
from convscope.scale import apply_tiled, conv_part, io, predict


def test_npy_round_trip_and_memmap_opened_in_each_task(tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 50, 40)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    dx = io.read_array(tmp_path / "x.npy", chunks=(1, 16, 16))
    assert dx.chunks == ((1, 1, 1), (16, 16, 16, 2), (16, 16, 8))
    # the graph holds the small file handle, never the data (da.from_array on a memmap
    # would put the whole array into it)
    graph = dict(dx.__dask_graph__())
    assert not any(isinstance(v, np.ndarray) and v.size > 100 for v in graph.values())
    assert any(isinstance(getattr(v, "value", v), io.NpyFile) for v in graph.values())
    np.testing.assert_array_equal(dx.compute(), x)
    out = tmp_path / "y.npy"
    io.write_array(dx * 2, out, progress=False)
    np.testing.assert_array_equal(np.load(out), x * 2)
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_zarr_chunks_are_the_dask_chunks(tmp_path):
    import zarr
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
    x = np.random.default_rng(0).standard_normal((1, 1, 67, 45)).astype(np.float32)
    y = apply_tiled(model, x, chunks=16)  # 67 -> blocks 16, 16, 16, 19: output 8, 8, 8, 9
    assert y.chunks[2] == (8, 8, 8, 9)
    io.write_array(y, tmp_path / "y.zarr", progress=False)
    stored = zarr.open_array(str(tmp_path / "y.zarr"), mode="r")
    assert stored.chunks == tuple(c[0] for c in y.chunks)
    np.testing.assert_array_equal(stored[...], y.compute())
    back = io.read_array(tmp_path / "y.zarr")
    np.testing.assert_array_equal(back.compute(), stored[...])
    io.write_array(y + 1, tmp_path / "y.zarr", progress=False)  # replaces the old one
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "y.zarr"))[...],
                                  y.compute() + 1)


def test_image_file_and_folder(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 12, 10), dtype=np.uint8)
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(tmp_path / f"{i:02d}.png")
    one = io.read_array(tmp_path / "03.png").compute()
    np.testing.assert_allclose(one, pixels[3][None] / 255, atol=1e-7)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()).eval()
    scores = predict(model, tmp_path, batch_size=2)
    assert scores.chunks[0] == (2, 2, 1)
    want = model(pixels[:, None].astype(np.float32) / 255).data
    np.testing.assert_allclose(scores.compute(), want, rtol=1e-6, atol=1e-6)


def test_predict_batches_equal_one_run(tmp_path):
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).standard_normal((11, 1, 28, 28)).astype(np.float32)
    scores = predict(model, x, batch_size=4)
    assert scores.shape == (11, 10) and scores.chunks == ((4, 4, 3), (10,))
    want = model(x).data
    np.testing.assert_allclose(scores.compute(), want, rtol=1e-5, atol=1e-5)
    path = predict(model, x, batch_size=4, out=tmp_path / "scores.npy")
    np.testing.assert_allclose(np.load(path), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda m, t: predict(m.train(), np.zeros((2, 1, 28, 28), np.float32)), ValueError,
     "layer '2' of the model is in training mode"),
    (lambda m, t: predict(m, np.zeros((2, 1, 28, 28)), batch_size=0), ValueError,
     "batch_size must be a positive int"),
    (lambda m, t: predict(m, t / "missing"), FileNotFoundError, "no folder"),
    (lambda m, t: io.read_array(t / "missing.npy"), FileNotFoundError, "no such file"),
    (lambda m, t: io.read_array(__file__), ValueError, "not a .npy file, a Zarr array"),
    (lambda m, t: io.write_array(None, t / "out.txt"), ValueError, "must end in .npy or .zarr"),
])
def test_bad_io_arguments(call, error, pattern, tmp_path):
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0)).eval()
    with pytest.raises(error, match=pattern):
        call(model, tmp_path)


# -- the command -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A one-epoch run of the default model (widths 4, 8) on 64 synthetic images."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for stem in ("train", "t10k"):
        write_idx(d / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 255, (64, 28, 28),
                                                                     dtype=np.uint8))
        write_idx(d / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, 64, dtype=np.uint8))
    out = tmp_path_factory.mktemp("run") / "run"
    T.train(T.TrainConfig(data=str(d), out=str(out), widths=(4, 8), epochs=1, batch_size=32,
                          limit_train=64, limit_test=64), progress=False, log=None)
    return out


def _part(run):
    ckpt = T.load_checkpoint(run)
    model = models.build_model(ckpt.model_name, **ckpt.model_kwargs)
    model.load_state_dict(ckpt.model_state)
    return conv_part(model.eval())


@pytest.mark.parametrize("suffix", [".npy", ".zarr"])
def test_cli_apply_equals_the_whole_image(checkpoint, tmp_path, suffix, capsys):
    import zarr
    image = np.random.default_rng(3).integers(0, 256, (77, 61), dtype=np.uint8)
    np.save(tmp_path / "in.npy", image)
    out = tmp_path / f"out{suffix}"
    code = cli.main(["apply", str(checkpoint), str(tmp_path / "in.npy"), str(out),
                     "--chunk", "24", "--no-progress"])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    got = np.load(out) if suffix == ".npy" else zarr.open_array(str(out), mode="r")[...]
    # the same preprocessing as training: [0, 1], then the data set's mean and std
    from convscope.data import dataset_info
    info = dataset_info("fashion-mnist")
    x = ((image / 255 - info.mean[0]) / info.std[0]).astype(np.float32)[None, None]
    want = _part(checkpoint)(x).data[0]
    assert got.shape == want.shape == (8, 19, 15)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("args, pattern", [
    (["missing_run", "in.npy", "o.npy"], "missing_run"),
    (["RUN", "in.npy", "o.txt"], "must end in .npy or .zarr"),
    (["RUN", "in.npy", "o.npy", "--chunk", "0"], "--chunk must be a positive int"),
    (["RUN", "in.npy", "in.npy"], "OUTPUT must differ from INPUT"),
    (["RUN", "in.npy", "o.npy", "--workers", "2", "--scheduler", "tcp://x:1"],
     "not both"),
])
def test_cli_apply_errors(checkpoint, tmp_path, args, pattern, capsys):
    np.save(tmp_path / "in.npy", np.zeros((30, 30), np.uint8))
    os.chdir(tmp_path)
    args = [str(checkpoint) if a == "RUN" else a for a in args]
    assert cli.main(["apply", *args, "--no-progress"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("convscope apply: error:")
    assert pattern in err[0]


def test_cli_apply_help_lists_every_option_with_a_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["apply", "--help"])
    text = capsys.readouterr().out
    for option in ("--chunk", "--scheduler", "--workers", "--no-normalize", "--no-progress"):
        assert option in text
    assert text.count("default") >= 5


def test_tensor_free_outputs():
    """Blocks come back as plain arrays (no autograd graph kept per block)."""
    model = nn.Sequential(nn.Conv1d(1, 1, 3))
    y = apply_tiled(model, np.zeros((1, 1, 9), np.float32)).compute(scheduler="sync")
    assert type(y) is np.ndarray and not isinstance(y, Tensor)


def test_predict_and_writers_print_nothing_unless_asked(tmp_path, capfd):
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0)).eval()
    x = np.zeros((6, 1, 28, 28), np.float32)
    predict(model, x, batch_size=2, out=tmp_path / "a.npy")
    io.write_array(apply_tiled(nn.Conv2d(1, 1, 3), x[:1]), tmp_path / "b.npy")
    assert capfd.readouterr().err == ""
    predict(model, x, batch_size=2, out=tmp_path / "c.npy", progress=True)
    assert "100%" in capfd.readouterr().err  # the bar, when asked for
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "c.npy"))


def test_compute_respects_the_configured_scheduler():
    import threading

    import dask
    import dask.array as da

    def where(block):
        return np.full(block.shape, threading.get_ident() == main, dtype=bool)
    main = threading.get_ident()
    x = da.zeros(8, chunks=2).map_blocks(where, dtype=bool)
    assert dask.config.get("scheduler", None) is None
    assert not io.compute(x).any()  # Dask's threads by default: no block in this thread
    with dask.config.set(scheduler="sync"):  # the user's choice wins
        assert io.compute(x).all()
