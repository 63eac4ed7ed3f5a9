"""On a `distributed.LocalCluster` (two worker processes, one cluster for the module, made
by `scale.local_cluster`): the same numbers as the synchronous and threaded schedulers, for
`apply_tiled`, `predict` and the block-by-block writers (each worker writes its own region
of the memmap); each worker runs one kernel thread and one BLAS thread."""

import numpy as np
import pytest

from convscope import models, nn
from convscope.scale import apply_tiled, io, predict

D = np.float64


@pytest.fixture(scope="module")
def client():
    from convscope.scale import local_cluster
    c = local_cluster(2, worker_dashboard_address=":0")
    with c, c.cluster:
        yield c


def _blas_threads():
    """The threads of every BLAS / OpenMP library loaded in this process (threadpoolctl)."""
    import numpy  # noqa: F401 - loads the BLAS
    from threadpoolctl import threadpool_info
    return sorted({info["num_threads"] for info in threadpool_info()})


def _check_one_thread_each(client):
    from convscope.scale.cluster import worker_threads
    settings = client.run(worker_threads)
    assert len(settings) >= 1
    for got in settings.values():
        assert got == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "CONVSCOPE_NUM_THREADS": "1", "kernels": 1}
    for got in client.run(_blas_threads).values():
        assert got == [1]


def test_workers_run_one_kernel_thread_and_one_blas_thread(client):
    _check_one_thread_each(client)


def _model():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect", dtype=D),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 2, 2, dtype=D)).eval()
    for p in model.parameters():
        p.data = rng.integers(-2, 3, p.data.shape).astype(D)
    return model


def test_three_schedulers_give_the_same_result(client):
    model = _model()
    x = np.random.default_rng(1).integers(-3, 4, (2, 2, 45, 38)).astype(D)
    y = apply_tiled(model, x, chunks=8, client=client)
    on_cluster = y.compute()  # the client is the default scheduler while it is open
    assert len(client.scheduler_info()["workers"]) == 2
    plain = apply_tiled(model, x, chunks=8)
    np.testing.assert_array_equal(on_cluster, plain.compute(scheduler="sync"))
    np.testing.assert_array_equal(on_cluster, plain.compute(scheduler="threads"))
    np.testing.assert_array_equal(on_cluster, model(x).data)


def test_predict_and_writers_on_the_cluster(client, tmp_path):
    model = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(1).standard_normal((9, 1, 28, 28)).astype(np.float32)
    path = predict(model, x, batch_size=4, client=client, out=tmp_path / "scores.npy")
    np.testing.assert_allclose(np.load(path), model(x).data, rtol=1e-5, atol=1e-5)
    np.save(tmp_path / "big.npy", x[:, 0])
    image = io.read_array(tmp_path / "big.npy", chunks=(3, 28, 28))
    io.write_array(image * 3, tmp_path / "three.zarr", client, progress=False)
    import zarr
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "three.zarr"))[...],
                                  x[:, 0] * 3)


def test_cli_apply_on_a_running_scheduler(client, tmp_path):
    """`convscope apply --scheduler ADDRESS` (the module's cluster) equals the local run."""
    from convscope import cli
    from convscope import train as T
    from convscope.data import write_idx
    rng = np.random.default_rng(0)
    for stem in ("train", "t10k"):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz",
                  rng.integers(0, 255, (32, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz",
                  rng.integers(0, 10, 32, dtype=np.uint8))
    run = tmp_path / "run"
    T.train(T.TrainConfig(data=str(tmp_path), out=str(run), widths=(4, 8), epochs=1,
                          batch_size=32, limit_train=32, limit_test=32), progress=False,
            log=None)
    np.save(tmp_path / "in.npy", rng.integers(0, 256, (2, 1, 70, 50), dtype=np.uint8))
    args = [str(run), str(tmp_path / "in.npy"), "--chunk", "16", "--no-progress"]
    assert cli.main(["apply", *args[:2], str(tmp_path / "a.npy"), *args[2:],
                     "--scheduler", client.scheduler.address]) == 0
    assert cli.main(["apply", *args[:2], str(tmp_path / "b.npy"), *args[2:]]) == 0
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (2, 8, 17, 12)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_cli_apply_workers_run_one_thread_each(tmp_path, monkeypatch):
    """`convscope apply --workers N` starts its cluster with `local_cluster`: no worker
    splits its kernels over all cores or starts a BLAS thread per core."""
    from convscope import cli, onnx
    from convscope.scale import cluster
    seen = []
    real = cluster.local_cluster

    def checking(workers, **kwargs):
        client = real(workers, **kwargs)
        _check_one_thread_each(client)
        seen.append(workers)
        return client
    monkeypatch.setattr(cluster, "local_cluster", checking)
    onnx.save(_model(), tmp_path / "m.onnx", np.zeros((1, 2, 30, 20), D))
    x = np.random.default_rng(1).integers(-3, 4, (1, 2, 30, 20)).astype(D)
    np.save(tmp_path / "x.npy", x)
    assert cli.main(["apply", str(tmp_path / "m.onnx"), str(tmp_path / "x.npy"),
                     str(tmp_path / "y.npy"),
                     "--workers", "1", "--no-normalize", "--no-progress", "--chunk",
                     "8"]) == 0
    assert seen == [1]
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), _model()(x).data)
