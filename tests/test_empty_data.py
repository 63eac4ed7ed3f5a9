"""An empty data set is refused with a clear ValueError, from the loader to the CLI."""

import numpy as np
import pytest

from convscope import cli, nn
from convscope.data import DataLoader, write_idx
from convscope.training import evaluate, loop


def test_the_loader_refuses_an_empty_data_set():
    with pytest.raises(ValueError, match=r"DataLoader: the data set is empty \(x has shape "
                                         r"\(0, 1, 4, 4\)\)"):
        DataLoader(np.zeros((0, 1, 4, 4)), np.zeros(0, np.int64), batch_size=2)


def _model():
    return nn.Sequential(nn.Flatten(), nn.Linear(4, 3))


def test_an_epoch_without_batches_is_a_clear_error_not_a_division_by_zero():
    x, y = np.zeros((3, 1, 2, 2), np.float32), np.arange(3)
    no_batch = DataLoader(x, y, batch_size=4, drop_last=True)  # allowed, as in PyTorch
    assert len(no_batch) == 0
    model = _model()
    with pytest.raises(ValueError, match=r"evaluate: the loader gave no sample"):
        evaluate(model, no_batch)
    with pytest.raises(ValueError, match=r"train_epoch: the loader gave no sample"):
        loop.train_epoch(model, [], None, None, None, loop.NoBar())


def test_training_on_empty_idx_files_is_one_line_on_stderr(tmp_path, capsys):
    for stem in ("train", "t10k"):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    code = cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                     "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert "the data set is empty" in err and "Traceback" not in err
