"""On a `distributed.LocalCluster` (two worker processes, one cluster for the module):
the same numbers as the synchronous and threaded schedulers, for `apply_tiled`, `predict`
and the block-by-block writers (each worker writes its own region of the memmap)."""

import numpy as np
import pytest

from convscope import models, nn
from convscope.scale import apply_tiled, io, predict

D = np.float64


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, worker_dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


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
