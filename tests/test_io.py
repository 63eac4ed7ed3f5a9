"""Tests for convscope.io: atomic writes and the pickle-free array container."""

import json
import os
import stat
import zipfile

import numpy as np
import pytest

from convscope import io as cio
from convscope.io import (META_KEY, atomic_open, atomic_write_bytes, atomic_write_text,
                          load_arrays, save_arrays)


def _leftovers(directory, keep):
    return sorted(set(os.listdir(directory)) - set(keep))


# ---------------------------------------------------------------- atomic writes

def test_atomic_write_bytes_and_text_create_parents(tmp_path):
    p = tmp_path / "a" / "b" / "f.bin"
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    t = tmp_path / "c" / "note.txt"
    atomic_write_text(t, "héllo\nworld\n")
    assert t.read_text(encoding="utf-8") == "héllo\nworld\n"
    assert _leftovers(tmp_path / "c", ["note.txt"]) == []


def test_atomic_write_replaces_and_keeps_permissions(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o640


def test_atomic_write_new_file_gets_umask_permissions(tmp_path):
    p = tmp_path / "f.txt"
    atomic_write_text(p, "x")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o666 & ~mask


def test_atomic_open_failure_leaves_old_file_and_no_temp(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_open(p, "wb") as f:
            f.write(b"half of the new")
            raise RuntimeError("boom")
    assert p.read_bytes() == b"old contents"
    assert _leftovers(tmp_path, ["f.bin"]) == []


def test_atomic_open_failure_without_old_file_creates_nothing(tmp_path):
    with pytest.raises(KeyError):
        with atomic_open(tmp_path / "new.txt", "w") as f:
            f.write("partial")
            raise KeyError("x")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda p: atomic_open(p, "ab").__enter__(), ValueError, r"atomic_open: mode='ab'"),
    (lambda p: atomic_write_bytes(p, "text"), TypeError, r"atomic_write_bytes: data must"),
    (lambda p: atomic_write_text(p, b"bytes"), TypeError, r"atomic_write_text: text must"),
    (lambda p: atomic_write_text(p.parent, "x"), IsADirectoryError, r"is a directory"),
])
def test_atomic_bad_arguments(tmp_path, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call(tmp_path / "f")


# ---------------------------------------------------------------- save_arrays / load_arrays

def _example_arrays():
    rng = np.random.default_rng(0)
    return {
        "model/conv1.weight": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "model/conv1.bias": rng.standard_normal(4),
        "optim/state.step": np.array(7, dtype=np.int64),
        "indices": np.arange(10, dtype=np.int64).reshape(2, 5),
        "empty": np.zeros((0, 3), np.float32),
        "file": np.ones(2, np.uint8),  # a name np.savez(**kwds) could not take
    }


def test_round_trip(tmp_path):
    arrays = _example_arrays()
    meta = {"epoch": 3, "lr": 0.01, "name": "cnn", "nested": {"a": [1, 2, {"b": None}]},
            "flag": True}
    p = tmp_path / "ckpt" / "model.npz"
    save_arrays(p, arrays, meta)
    loaded, loaded_meta = load_arrays(p)
    assert loaded_meta == meta
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        assert loaded[key].dtype == value.dtype, key
        assert loaded[key].shape == value.shape, key
        np.testing.assert_array_equal(loaded[key], value)
    assert _leftovers(tmp_path / "ckpt", ["model.npz"]) == []


def test_round_trip_compressed_and_readable_by_numpy(tmp_path):
    p = tmp_path / "c.npz"
    save_arrays(p, {"a/b.c": np.arange(1000.0)}, {"k": 1}, compress=True)
    with np.load(p, allow_pickle=False) as f:
        np.testing.assert_array_equal(f["a/b.c"], np.arange(1000.0))
        assert json.loads(f[META_KEY].tobytes()) == {"k": 1}
    arrays, meta = load_arrays(p)
    assert meta == {"k": 1}


def test_save_without_meta_gives_empty_meta(tmp_path):
    save_arrays(tmp_path / "a.npz", {"x": np.zeros(1)})
    assert load_arrays(tmp_path / "a.npz")[1] == {}


def test_truncated_file(tmp_path):
    p = tmp_path / "a.npz"
    save_arrays(p, _example_arrays(), {"epoch": 1})
    data = p.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        pattern = rf"load_arrays: .*cut{cut}\.npz: .*(truncated|corrupt)"
        with pytest.raises(ValueError, match=pattern):
            load_arrays(bad)


def test_corrupt_member(tmp_path):
    p = tmp_path / "a.npz"
    save_arrays(p, {"w": np.arange(4096, dtype=np.float64)}, {}, compress=True)
    data = bytearray(p.read_bytes())
    middle = len(data) // 3
    data[middle:middle + 64] = bytes(64)
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"load_arrays: .*a\.npz: .*(truncated|corrupt)"):
        load_arrays(p)


def test_garbage_file(tmp_path):
    p = tmp_path / "garbage.npz"
    p.write_bytes(b"this is not a zip archive at all\n" * 10)
    with pytest.raises(ValueError, match=r"load_arrays: .*garbage\.npz: not a readable \.npz"):
        load_arrays(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.npz"
    p.write_bytes(b"")
    with pytest.raises(ValueError, match=r"load_arrays: .*empty\.npz"):
        load_arrays(p)


def test_single_npy_is_refused(tmp_path):
    p = tmp_path / "one.npy"
    np.save(p, np.arange(3))
    with pytest.raises(ValueError, match=r"one\.npy: is a single \.npy array"):
        load_arrays(p)


def test_object_array_is_refused_on_load(tmp_path):
    p = tmp_path / "evil.npz"
    meta = np.frombuffer(b"{}", dtype=np.uint8)
    # np.savez's default lets object arrays through; this file is what an attacker could ship.
    np.savez(p, w=np.array([{"a": 1}, None], dtype=object), **{META_KEY: meta})
    with pytest.raises(ValueError, match=r"evil\.npz: member 'w' is an object array"):
        load_arrays(p)


def test_object_array_is_refused_on_save(tmp_path):
    with pytest.raises(ValueError, match=r"save_arrays: array 'w' has dtype object"):
        save_arrays(tmp_path / "a.npz", {"w": np.array([1, "a", None], dtype=object)}, {})
    assert os.listdir(tmp_path) == []


def test_missing_meta(tmp_path):
    p = tmp_path / "plain.npz"
    np.savez(p, w=np.arange(3))
    with pytest.raises(ValueError, match=r"plain\.npz: no metadata member"):
        load_arrays(p)


def test_bad_meta_content(tmp_path):
    p = tmp_path / "m.npz"
    np.savez(p, **{META_KEY: np.frombuffer(b"[1, 2]", dtype=np.uint8)})
    with pytest.raises(ValueError, match=r"m\.npz: metadata must be a JSON object"):
        load_arrays(p)
    np.savez(p, **{META_KEY: np.frombuffer(b"{not json", dtype=np.uint8)})
    with pytest.raises(ValueError, match=r"m\.npz: metadata is not valid UTF-8 JSON"):
        load_arrays(p)
    np.savez(p, **{META_KEY: np.zeros(3, np.float32)})
    with pytest.raises(ValueError, match=r"m\.npz: metadata member .* must be a 1-d uint8"):
        load_arrays(p)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"load_arrays: .*nope\.npz: no such file"):
        load_arrays(tmp_path / "nope.npz")


@pytest.mark.parametrize("arrays, meta, exc, pattern", [
    ([np.zeros(1)], {}, TypeError, r"save_arrays: arrays must be a dict"),
    ({1: np.zeros(1)}, {}, TypeError, r"save_arrays: array names must be str, got 1"),
    ({"": np.zeros(1)}, {}, ValueError, r"save_arrays: array name '' must be non-empty"),
    ({META_KEY: np.zeros(1)}, {}, ValueError, r"is reserved for the metadata"),
    ({"a": np.zeros(1)}, [1], TypeError, r"save_arrays: meta must be a dict, got list"),
    ({"a": np.zeros(1)}, {"f": object()}, TypeError, r"save_arrays: meta must be JSON-serial"),
])
def test_save_bad_arguments(tmp_path, arrays, meta, exc, pattern):
    with pytest.raises(exc, match=pattern):
        save_arrays(tmp_path / "a.npz", arrays, meta)
    assert os.listdir(tmp_path) == []


def test_failure_while_saving_keeps_old_checkpoint(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.npz"
    save_arrays(p, {"w": np.zeros(3)}, {"epoch": 1})
    before = p.read_bytes()
    calls = []
    real_write_array = np.lib.format.write_array

    def failing_write_array(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first member is written, then the disk "fills up"
            raise OSError(28, "No space left on device")
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError, match="No space left"):
        save_arrays(p, {"w": np.ones(3), "v": np.ones(5), "u": np.ones(2)}, {"epoch": 2})
    assert p.read_bytes() == before
    assert _leftovers(tmp_path, ["ckpt.npz"]) == []
    monkeypatch.undo()
    arrays, meta = load_arrays(p)
    assert meta == {"epoch": 1}
    np.testing.assert_array_equal(arrays["w"], np.zeros(3))


def test_written_file_is_a_plain_zip_of_npy_members(tmp_path):
    p = tmp_path / "a.npz"
    save_arrays(p, {"model/conv1.weight": np.zeros(2)}, {})
    with zipfile.ZipFile(p) as zf:
        assert sorted(zf.namelist()) == sorted(["model/conv1.weight.npy", META_KEY + ".npy"])


def test_module_never_mentions_unsafe_loading():
    source = open(cio.__file__, encoding="utf-8").read()
    assert "import pickle" not in source
    assert "allow_pickle=True" not in source
