"""The threaded per-channel paths: the same bits on 1 and 2 threads, forward and backward.

The kernels split unfold, fold and pooling over channel ranges only above
`kernels.PARALLEL_MIN_ELEMENTS` elements, so these inputs are above it; each test also checks
that a second thread did run.
"""

import threading
import time

import numpy as np
import pytest

import convscope.functional as F
from convscope import kernels, tensor
from convscope.kernels import im2col

MIN = kernels.PARALLEL_MIN_ELEMENTS


def _threads_named_convscope():
    return {t.name for t in threading.enumerate() if t.name.startswith("convscope")}


def _on(threads, fn):
    """fn() run with `threads` kernel threads, and whether a pool thread was started."""
    before = kernels.get_num_threads()
    kernels.set_num_threads(threads)  # a fresh pool: its threads start on first use
    try:
        assert not _threads_named_convscope()
        result = fn()
        return result, bool(_threads_named_convscope())
    finally:
        kernels.set_num_threads(before)


def _same_on_one_and_two_threads(fn):
    one, threaded_one = _on(1, fn)
    two, threaded_two = _on(2, fn)
    assert not threaded_one and threaded_two  # the split ran, and only with 2 threads
    for a, b in zip(one, two):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
        assert a.tobytes() == b.tobytes()  # the same bits (signed zeros, NaN payloads)
    return one


def _data(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_over_channels_splits_into_disjoint_ranges_on_two_threads():
    calls = []

    def record(c0, c1):
        calls.append((c0, c1, threading.get_ident()))

    _on(2, lambda: kernels._parallel.over_channels(record, 7, MIN))
    assert sorted(c[:2] for c in calls) == [(0, 3), (3, 7)]
    assert len({c[2] for c in calls}) == 2
    calls.clear()
    _on(2, lambda: kernels._parallel.over_channels(record, 7, MIN - 1))  # below: one call
    assert [c[:2] for c in calls] == [(0, 7)]


@pytest.mark.parametrize("padding", [0, 1])
def test_unfold_and_fold_are_the_same_bits_on_one_and_two_threads(padding):
    x = _data((4, 6, 20, 20), 0)  # columns: 6*9*4*18*18 elements, above the threshold
    K, s, d, pads = (3, 3), (1, 1), (1, 1), ((padding, padding),) * 2
    out = tuple(20 + 2 * padding - 2 for _ in range(2))
    assert 6 * 9 * 4 * out[0] * out[1] >= MIN

    def run():
        cols = im2col.unfold(x, K, s, d, pads, out)
        back = im2col.fold(cols, x.shape, K, s, d, pads, out)
        return cols, np.ascontiguousarray(back)

    cols, back = _same_on_one_and_two_threads(run)
    # the fold of the unfold counts how many windows cover each pixel
    cover = im2col.fold(im2col.unfold(np.ones_like(x), K, s, d, pads, out), x.shape, K, s, d,
                        pads, out)
    np.testing.assert_allclose(back, x * cover, rtol=1e-6)


@pytest.mark.parametrize("groups,padding,stride,algorithm", [
    (1, 1, 1, "shifted"),  # chunks of columns on the threads
    (2, 0, 2, "im2col"),
    (1, 1, 2, "shifted"),  # the stride phases' chunks on the threads
])
def test_conv_forward_and_backward_are_the_same_bits_on_one_and_two_threads(
        groups, padding, stride, algorithm):
    xa, wa = _data((4, 8, 48, 48), 1), _data((6, 8 // groups, 3, 3), 2)
    assert xa.size >= MIN
    assert F.conv_algorithm(xa.shape, wa.shape, stride, padding,
                            groups=groups)[0] == algorithm

    def run():
        x, w = tensor(xa, requires_grad=True), tensor(wa, requires_grad=True)
        y = F.conv2d(x, w, padding=padding, stride=stride, groups=groups)
        y.backward(np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
        return y.data, x.grad, w.grad

    _same_on_one_and_two_threads(run)


@pytest.mark.parametrize("algorithm", ["im2col", "shifted"])
def test_strided_forward_without_a_gradient_is_the_same_bits_on_one_and_two_threads(
        algorithm):
    """im2col's chunks of images (`forward_values`) and the stride phases' chunks."""
    xa, wa = _data((5, 16, 40, 40), 3), _data((12, 16, 3, 3), 4)
    _same_on_one_and_two_threads(
        lambda: (np.asarray(F.conv2d(xa, wa, padding=1, stride=2, algorithm=algorithm)),))


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_forward_and_backward_are_the_same_bits_on_one_and_two_threads(kind, ndim):
    shape = {1: (4, 6, 4096), 2: (4, 6, 64, 64), 3: (2, 6, 16, 24, 24)}[ndim]
    xa = _data(shape, 3)
    xa[0, 0, ..., 5] = np.nan  # max pooling's NaN path runs threaded too
    assert xa.size >= MIN
    pool = getattr(F, f"{kind}_pool{ndim}d")

    def run():
        x = tensor(xa, requires_grad=True)
        y = pool(x, kernel_size=3, stride=2, padding=1)
        y.backward(np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
        return y.data, x.grad

    _same_on_one_and_two_threads(run)


def test_set_num_threads_checks_its_argument():
    with pytest.raises(TypeError, match=r"set_num_threads: n must be an int, got 1.5"):
        kernels.set_num_threads(1.5)
    with pytest.raises(ValueError, match=r"set_num_threads: n must be a positive int, got n=0"):
        kernels.set_num_threads(0)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_forward_and_backward_are_the_same_bits_on_one_and_two_threads(relu,
                                                                                   training):
    xa = _data((8, 6, 48, 48), 4)
    assert xa.size >= MIN
    rng = np.random.default_rng(0)
    wa, ba = rng.standard_normal(6).astype(np.float32), rng.standard_normal(6).astype(np.float32)
    fn = F.batch_norm_relu if relu else F.batch_norm

    def run():
        x, w, b = (tensor(a, requires_grad=True) for a in (xa, wa, ba))
        rm, rv = np.zeros(6, np.float32), np.ones(6, np.float32)
        y = fn(x, rm, rv, w, b, training=training)
        y.backward(np.sin(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
        return y.data, x.grad, w.grad, b.grad, rm, rv

    _same_on_one_and_two_threads(run)


def test_set_num_threads_while_other_threads_split_work():
    """Threads that split work while others change the number of threads: every split
    runs all of its ranges, none finds its pool shut down under it."""
    before = kernels.get_num_threads()
    errors, stop = [], threading.Event()

    def splitter():
        try:
            while not stop.is_set():
                seen = []
                kernels._parallel.over_channels(lambda c0, c1: seen.append((c0, c1)), 4, MIN)
                assert sorted(seen)[0][0] == 0 and sorted(seen)[-1][1] == 4
                assert sum(c1 - c0 for c0, c1 in seen) == 4
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            stop.set()

    def setter(seed):
        rng = np.random.default_rng(seed)
        try:
            end = time.monotonic() + 2.0
            while time.monotonic() < end and not stop.is_set():
                kernels.set_num_threads(int(rng.integers(1, 4)))
        except BaseException as e:
            errors.append(e)
        finally:
            stop.set()

    threads = [threading.Thread(target=splitter) for _ in range(4)]
    threads += [threading.Thread(target=setter, args=(s,)) for s in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors
    finally:
        kernels.set_num_threads(before)
    assert not _threads_named_convscope()  # the last set_num_threads ended every pool


class _Boom(Exception):
    pass


def test_every_threads_error_is_raised_after_all_threads_end():
    """The caller's own range raises, and so do the others: the first (range order) is
    raised once every range has ended, and it names the others."""
    finished = []

    def work(c0, c1):
        if c0 == 1:  # a pool thread, slower than the caller's range
            threading.Event().wait(0.3)
            finished.append(c0)
            raise _Boom(f"range {c0}-{c1}")
        if c0 == 2:
            finished.append(c0)
            return
        raise ValueError(f"range {c0}-{c1}")

    def run():
        with pytest.raises(ValueError, match="range 0-1") as info:
            kernels._parallel.over_channels(work, 3, MIN)
        return info.value

    err, _ = _on(3, run)
    assert sorted(finished) == [1, 2]  # raised only after the slow range ended
    assert any("_Boom: range 1-2" in note for note in err.__notes__)
    assert [type(e) for e in err.convscope_other_errors] == [_Boom]


@pytest.mark.parametrize("algorithm", ["winograd2_jit", "winograd4_jit"])
def test_compiled_winograd_is_the_same_bits_on_one_and_two_threads(algorithm):
    """The chunks of tiles (and the weight gradient's groups of chunks) depend on the shape
    only, so the threads change nothing but who computes them."""
    xa, wa = _data((8, 16, 64, 64), 5), _data((16, 16, 3, 3), 6)
    assert 8 * 16 * 16 * 36 >= MIN  # tile rows x tiles per row x alpha^2 (F(4x4))

    def run():
        x, w = tensor(xa, requires_grad=True), tensor(wa, requires_grad=True)
        y = F.conv2d(x, w, padding=1, algorithm=algorithm)
        y.backward(np.cos(np.arange(y.size, dtype=np.float32)).reshape(y.shape))
        return y.data, x.grad, w.grad

    _same_on_one_and_two_threads(run)


@pytest.mark.parametrize("preset", [None, "12"])
def test_import_before_numpy_shortens_openblas_spinning(preset):
    """Imported before NumPy, convscope sets OPENBLAS_THREAD_TIMEOUT=4 (OpenBLAS's idle
    threads would otherwise spin for ~0.1 s after each product, on the kernel threads'
    cores); a value the user set is kept."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    code = ("import sys, os, convscope; assert 'numpy' in sys.modules; "
            "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == (preset or "4")


_SPIN = """
import warnings
{first}
import convscope
import numpy as np
import convscope.functional as F
x, w = np.ones((16, 32, 14, 14), np.float32), np.ones((32, 32, 3, 3), np.float32)
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    F.conv2d(x, w, padding=1)  # the compiled Winograd kernel on two threads
    F.conv2d(x, w, padding=1)
print(sum("Import convscope before NumPy" in str(m.message) for m in seen))
"""


@pytest.mark.parametrize("numpy_first, preset, warnings_expected", [
    (True, None, 1), (False, None, 0), (True, "4", 0)])
def test_warns_once_when_numpy_loaded_openblas_before_convscope(numpy_first, preset,
                                                                warnings_expected):
    """Imported after NumPy with OPENBLAS_THREAD_TIMEOUT unset, convscope cannot shorten
    OpenBLAS's spinning (its kernels then run up to 2x slower): the first call that runs its
    threads beside OpenBLAS's threads says so once, with the two ways out; imported first,
    or with the variable set by the user, nothing is said."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    env.update(CONVSCOPE_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    code = _SPIN.format(first="import numpy" if numpy_first else "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert int(out) == warnings_expected


def test_the_suite_imports_convscope_before_numpy():
    """tests/conftest.py imports convscope first, so this suite's kernels run beside
    OpenBLAS threads with the short timeout (and no warning)."""
    from convscope import _blas
    assert not _blas.LOADED_BEFORE


def test_compiled_winograd_splits_a_one_chunk_batch_for_the_threads():
    """A batch whose tiles fit one chunk (8 x 256 x 14 x 14 -> 256: 32 tile rows) is still
    cut into `MIN_CHUNKS` chunks, so that two threads share it."""
    from convscope.kernels import winograd_jit
    plan = winograd_jit._Plan((8, 256, 14, 14), 256, (14, 14), 4, np.float32)
    assert len(plan.chunks) - 1 >= winograd_jit.MIN_CHUNKS >= 2
    assert plan.chunks[0] == 0 and plan.chunks[-1] == plan.rows


def test_over_channels_in_blocks_covers_every_channel_once_on_both_threads():
    """With `block`, the threads take blocks of channels from a shared counter: every block
    once (the last one short), run on both threads."""
    over_channels = kernels._parallel.over_channels
    seen, threads, lock = [], set(), threading.Lock()

    def fn(c0, c1):
        with lock:
            seen.append((c0, c1))
            threads.add(threading.current_thread().name)
        time.sleep(0.002)  # long enough for the other thread to take blocks too

    def run():
        over_channels(fn, 10, MIN, block=3)
        return ()

    _on(2, run)
    assert sorted(seen) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert len(threads) == 2
    seen.clear()
    over_channels(fn, 10, MIN - 1, block=3)  # too little work: one call, this thread
    assert seen == [(0, 10)]
