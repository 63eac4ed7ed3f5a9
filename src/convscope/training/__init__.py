"""The main job's numbers: train a CNN on an image data set, with progress, metrics and
checkpoints, and resume it after an interruption with the very same numbers.

`TrainConfig` holds every hyper-parameter and its default, in one place; `train(config)`
runs the job and writes into ``config.out`` (default ``runs/<timestamp>``):

- ``metrics.json``: the configuration, the model, and one row per epoch (train loss and
  accuracy, test loss and accuracy, seconds); rewritten atomically after every epoch.
- ``checkpoint.npz``: model, optimizer, scheduler, data-loader and random states, the
  configuration and the metrics, in a pickle-free `.npz` (`io.save_arrays`); written
  atomically at the start and after every epoch, so Ctrl-C always leaves the last complete
  epoch on disk and ``train(config, resume=out_dir)`` goes on from there.

This package draws no picture and imports no `convscope.viz`: `convscope.train.train` (what
`convscope train` calls) runs `train` and then writes the pictures and report.html of the
run (`convscope.train.write_run_pages`).

Reproducibility: ``config.seed`` seeds two private generators and nothing else: the initial
weights come from ``numpy.random.default_rng(seed)`` (`build.model_rng`: the generator
`convscope.manual_seed(seed)` would install, so the weights are those of earlier versions),
the data order and augmentation from the training loader's own ``default_rng([seed, 1])``,
and the null level of the first-layer filters from ``default_rng(seed + 1)`` ... (see
`training.filters`). Neither `convscope.random.default_rng()` nor NumPy's global generator is
reset or drawn from. A resumed run restores the loader's generator, so 2 epochs + resume +
1 epoch gives the same metrics as 3 epochs.

Example (a tiny run on whatever Fashion-MNIST is installed):
    >>> config = TrainConfig(epochs=1, limit_train=256, limit_test=256,
    ...                      widths=(8, 16), out="/tmp/convscope-doc-run")  # doctest: +SKIP
    >>> metrics = train(config, progress=False)                             # doctest: +SKIP
    >>> round(metrics["epochs"][-1]["test_accuracy"], 2)                    # doctest: +SKIP
    0.61

The rooms: `training.config` (`TrainConfig`), `training.build` (model, data, loaders and
optimizer from a config), `training.loop` (`train`), `training.checkpoint` (format, save,
load, resume) and `training.evaluate`.
"""

from .build import build_model, load_data, load_split, make_loaders, make_optimizer, test_loader
from .checkpoint import (CHECKPOINT_FORMAT, CHECKPOINT_NAME, Checkpoint, load_checkpoint,
                         model_from_checkpoint, restore_checkpoint, save_checkpoint)
from .config import TrainConfig
from .evaluate import confusion_matrix, evaluate, evaluate_checkpoint
from .loop import METRICS_NAME, TrainingInterrupted, train

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "METRICS_NAME", "Checkpoint",
           "TrainConfig", "TrainingInterrupted", "build_model", "confusion_matrix", "evaluate",
           "evaluate_checkpoint", "load_checkpoint", "load_data", "load_split", "make_loaders",
           "make_optimizer", "model_from_checkpoint", "restore_checkpoint", "save_checkpoint",
           "test_loader", "train"]
