"""A tiny finished training run on synthetic Fashion-MNIST-shaped data, for the report tests
(no data set package needed: the images are drawn here, seeded)."""

import numpy as np

from convscope import train as T
from convscope.data import write_idx

N_TRAIN, N_TEST = 192, 64
LIGHT = dict(images=1, erf_images=4, patch_images=32)  # every section, on few images


def synthetic_fashion(folder, seed: int = 0) -> str:
    """Write learnable 28x28 IDX train/test files into `folder`; return it."""
    rng = np.random.default_rng(seed)
    for stem, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):  # a bright bar whose row is the class
            images[i, 2 + 2 * k: 4 + 2 * k, 4:24] = 220
        write_idx(f"{folder}/{stem}-images-idx3-ubyte.gz", images)
        write_idx(f"{folder}/{stem}-labels-idx1-ubyte.gz", labels)
    return str(folder)


def tiny_run(tmp_path_factory, **changes):
    """Train 2 epochs of a narrow model (without pictures and report: the tests build the
    report themselves); return (run folder, data folder, metrics)."""
    data = synthetic_fashion(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("run") / "run"
    settings = dict(data=data, out=str(out), widths=(4, 8, 8), epochs=2, batch_size=32,
                    lr=0.05, eval_batch_size=64)
    settings.update(changes)
    metrics = T.train(T.TrainConfig(**settings), progress=False, pictures=False, log=None)
    return str(out), data, metrics
