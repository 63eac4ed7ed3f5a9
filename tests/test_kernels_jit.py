"""The compiled kernels (Numba) against the NumPy kernels they replace, the references.

Each compiled kernel is checked on a grid of geometries, in both memory layouts the engine
produces (NCHW and channel-major views), in float32 and float64, forward and backward.
PyTorch and finite differences check the functional layers on top of them
(test_functional_layers.py, test_kernels_pool.py, test_functional_conv.py).
"""

import numpy as np
import pytest

from convscope.arith.sizes import window_count
from convscope.kernels._windows import interior, offsets
from convscope.kernels import (depthwise, depthwise_jit, direct, im2col, im2col_jit, norm,
                               norm_jit, pool, pool_jit)

RNG = np.random.default_rng(17)


def _channel_major(x):
    """x with the same values, its memory (C, N, *S) as the convolutions return it."""
    axes = (1, 0, *range(2, x.ndim))
    return np.ascontiguousarray(x.transpose(axes)).transpose(axes)


def _tuple(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


POOL_GRID = [  # spatial shape, kernel, stride, padding, dilation, ceil_mode
    ((9,), 3, 2, 1, 1, True),
    ((10,), 2, 1, 0, 3, False),
    ((8, 8), 2, 2, 0, 1, False),  # the 2x2 fast path
    ((7, 9), 2, 2, 0, 1, False),  # the 2x2 fast path, a row and a column left out
    ((7, 9), 2, 2, 0, 1, True),  # 2x2 windows running past the input: the general loop
    ((7, 6), 3, 2, 1, 1, True),
    ((8, 9), (2, 3), (2, 1), (1, 0), (2, 1), False),
    ((5, 6, 5), 2, (1, 2, 2), (1, 0, 1), 1, True),
    ((6, 5, 7), 3, 2, 1, (1, 2, 1), False),
    ((4, 20), (3, 17), (1, 2), (1, 8), 1, False),  # more than 255 taps: uint16 offsets
    ((11, 13), (3, 4), (2, 3), (1, 2), 1, True),  # stride 3: the general phase split
    ((7, 8, 10), 3, 3, 1, (1, 1, 2), True),  # phases along all three axes
]


def _geometry(S, k, s, p, d, ceil):
    n = len(S)
    K, s, p, d = _tuple(k, n), _tuple(s, n), _tuple(p, n), _tuple(d, n)
    out = tuple(window_count(Si, ki, si, (pi, pi), di, ceil)
                for Si, ki, si, pi, di in zip(S, K, s, p, d))
    return K, s, p, d, out


@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", POOL_GRID, ids=lambda c: f"{c[0]}-k{c[1]}")
def test_max_pool_equals_the_numpy_kernel(config, dtype, layout):
    """Same maxima, same chosen taps (NaN, -inf and ties included), bit for bit."""
    S, *geo = config
    K, s, p, d, out = _geometry(S, *geo)
    x = RNG.integers(-2, 3, size=(2, 3) + S).astype(dtype)
    x[RNG.random(x.shape) < 0.1] = np.nan
    x[RNG.random(x.shape) < 0.05] = -np.inf
    x[0, 1] = -np.inf
    if layout == "channel-major":
        x = _channel_major(x)
    y0, saved0 = pool.max_pool_forward(x, K, s, p, d, out)
    y1, saved1 = pool_jit.max_pool_forward(x, K, s, p, d, out)
    np.testing.assert_array_equal(y1, y0)
    if layout == "channel-major":  # the layout is kept for the next convolution
        assert y1.transpose(1, 0, *range(2, y1.ndim)).flags.c_contiguous
    # the maxima alone: the same values (a tie of -0.0 and +0.0 may keep either sign)
    np.testing.assert_array_equal(pool_jit.max_pool_values(x, K, s, p, d, out), y0)
    g = RNG.permutation(y0.size).reshape(y0.shape).astype(dtype) + 1  # sums exact
    np.testing.assert_array_equal(pool_jit.max_pool_backward(g, saved1),
                                  pool.max_pool_backward(g, saved0, x.shape, K, s, p, d))


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", [c for c in POOL_GRID if c[4] == 1],
                         ids=lambda c: f"{c[0]}-k{c[1]}")
def test_avg_pool_equals_the_numpy_kernel(config, dtype, layout, count_include_pad):
    S, *geo = config
    K, s, p, _, out = _geometry(S, *geo)
    x = RNG.standard_normal((2, 3) + S).astype(dtype)
    if layout == "channel-major":
        x = _channel_major(x)
    ceil = geo[-1]
    y0, saved0 = pool.avg_pool_forward(x, K, s, p, out, ceil, count_include_pad)
    y1, saved1 = pool_jit.avg_pool_forward(x, K, s, p, out, count_include_pad)
    # the same additions in the same order (the taps in kernel order): the same bits
    np.testing.assert_array_equal(y1, y0)
    g = RNG.standard_normal(y0.shape).astype(dtype)
    np.testing.assert_array_equal(pool_jit.avg_pool_backward(g, saved1),
                                  pool.avg_pool_backward(g, saved0, x.shape, K, s, p))


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 3, 7, 9)])
def test_max_pool_2x2_reads_a_strided_input_in_place(shape):
    """A strided view (as `shifted` returns its outputs) is read without a copy first."""
    base = RNG.standard_normal((shape[0], shape[1], shape[2] + 2, shape[3] + 3))
    x = base[:, :, 1:-1, 2:-1]
    assert not x.flags.c_contiguous and x.shape == shape
    out = (shape[2] // 2, shape[3] // 2)
    y0, saved0 = pool.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), out)
    y1, saved1 = pool_jit.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), out)
    np.testing.assert_array_equal(y1, y0)
    g = RNG.standard_normal(y0.shape)
    gx = pool_jit.max_pool_backward(g, saved1)
    np.testing.assert_array_equal(gx, pool.max_pool_backward(g, saved0, shape, (2, 2),
                                                             (2, 2), (0, 0), (1, 1)))
    assert (gx != 0).sum() == g.size  # one tap per window, zeros elsewhere


def test_pooling_an_upstream_gradient_in_another_layout():
    """The backward loops take a gradient in whatever layout it comes."""
    x = _channel_major(RNG.standard_normal((2, 3, 6, 6)))
    y, saved = pool_jit.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), (3, 3))
    g = np.asfortranarray(RNG.standard_normal(y.shape))
    _, ref = pool.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), (3, 3))
    np.testing.assert_array_equal(pool_jit.max_pool_backward(g, saved),
                                  pool.max_pool_backward(g, ref, x.shape, (2, 2), (2, 2),
                                                         (0, 0), (1, 1)))


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
def test_batch_norm_equals_the_numpy_kernel(shape, dtype, layout, training, relu):
    """y, the batch statistics and the three gradients, to rounding (sums in another
    order; float64: 1e-11)."""
    x = (RNG.standard_normal(shape) * 3 + 1).astype(dtype)
    if layout == "channel-major":
        x = _channel_major(x)
    C = shape[1]
    w, b = RNG.standard_normal(C).astype(dtype), RNG.standard_normal(C).astype(dtype)
    rm, rv = RNG.standard_normal(C).astype(dtype), RNG.random(C).astype(dtype) + 0.5
    b[0] = -1000  # channel 0 below zero before the ReLU, whatever the draw (else a draw
    # with every value positive, which the test order can give, leaves ReLU untested)
    y0, s0, stats0 = norm.batch_norm_forward(x, rm, rv, w, b, 1e-5, training, relu)
    y1, s1, stats1 = norm_jit.batch_norm_forward(x, rm, rv, w, b, 1e-5, training, relu)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    assert y1.dtype == dtype and stats1[0].dtype == dtype
    np.testing.assert_allclose(y1, y0, **tol)
    for a, b_ in zip(stats1, stats0):
        np.testing.assert_allclose(a, b_, **tol)
    assert (y1 == 0).any() == relu
    g = RNG.standard_normal(shape).astype(dtype)
    for ours, ref in zip(norm_jit.batch_norm_backward(g, s1, w),
                         norm.batch_norm_backward(g, s0, w)):
        assert ours.dtype == dtype
        np.testing.assert_allclose(ours, ref, **tol)
    gx, gw, gb = norm_jit.batch_norm_backward(g, s1, None, need_input=False, need_bias=False)
    assert gx is None and gb is None and gw.shape == (C,)


def test_batch_norm_keeps_nan_and_the_layout():
    x = _channel_major(RNG.standard_normal((4, 3, 5, 5)))
    x[1, 2, 3, 3] = np.nan
    y, _, (mean, var) = norm_jit.batch_norm_forward(x, None, None, None, None, 1e-5, True,
                                                    relu=True)
    assert np.isnan(y[:, 2]).all() and not np.isnan(y[:, :2]).any()
    assert np.isnan(mean[2]) and np.isnan(var[2])
    assert y.transpose(1, 0, 2, 3).flags.c_contiguous


DEPTHWISE_GRID = [  # input shape, multiplier, kernel, stride, (before, after) pads, dilation
    ((2, 4, 9, 8), 2, 3, 1, ((1, 1), (1, 1)), 1),
    ((2, 3, 10, 9), 1, 3, 2, ((1, 0), (2, 1)), (1, 2)),
    ((2, 3, 11), 2, 3, 2, ((1, 1),), 2),
    ((3, 2, 13), 1, 4, 3, ((0, 2),), 1),
    ((1, 2, 5, 6, 7), 1, 3, (1, 2, 1), ((1, 1), (0, 1), (1, 1)), 1),
    ((2, 4, 8, 8), 3, 5, 1, ((2, 2), (2, 2)), 1),
    ((2, 2, 9, 9), 1, 2, 3, ((0, 0), (0, 0)), 1),  # stride > kernel: unused pixels
]


@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", DEPTHWISE_GRID, ids=lambda c: f"{c[0]}-m{c[1]}-k{c[2]}")
def test_depthwise_equals_the_numpy_kernel(config, dtype, layout):
    """Forward, input gradient and weight gradient of `depthwise_jit` = `depthwise`."""
    shape, M, k, s, pads, d = config
    n = len(shape) - 2
    s, d, K, C = _tuple(s, n), _tuple(d, n), (k,) * n, shape[1]
    out = tuple(window_count(S, ki, si, p, di)
                for S, ki, si, p, di in zip(shape[2:], K, s, pads, d))
    x = RNG.standard_normal(shape).astype(dtype)
    w = RNG.standard_normal((C * M, 1, *K)).astype(dtype)
    g = RNG.standard_normal((shape[0], C * M, *out)).astype(dtype)
    if layout == "channel-major":
        x, g = _channel_major(x), _channel_major(g)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    args = (s, pads, d, C)
    y1, _ = depthwise_jit.forward(x, w, *args, out)
    np.testing.assert_allclose(y1, depthwise.forward(x, w, *args, out)[0], **tol)
    assert y1.dtype == dtype
    if layout == "channel-major":
        assert y1.transpose(1, 0, *range(2, y1.ndim)).flags.c_contiguous
    np.testing.assert_allclose(depthwise_jit.backward_input(g, w, x.shape, *args),
                               depthwise.backward_input(g, w, x.shape, *args), **tol)
    np.testing.assert_allclose(depthwise_jit.backward_weight(x, None, g, w.shape, *args),
                               depthwise.backward_weight(x, None, g, w.shape, *args), **tol)


@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_gradients_keep_nan_and_inf_where_the_numpy_kernel_does(stride):
    """The grid's extra positions (dy = 0) must not turn 0 * inf into a NaN that the
    reference does not have: an infinite weight, an infinite and a NaN input pixel."""
    x = RNG.standard_normal((2, 3, 9, 9)).astype(np.float32)
    w = RNG.standard_normal((3, 1, 3, 3)).astype(np.float32)
    out = (window_count(9, 3, stride, (1, 1), 1),) * 2
    g = RNG.standard_normal((2, 3, *out)).astype(np.float32)
    x[0, 1, 4, 8] = np.inf  # the last column: the grid's extra columns read it
    x[1, 2, 0, 0] = np.nan
    w[1, 0, 2, 2] = np.inf
    args = ((stride, stride), ((1, 1), (1, 1)), (1, 1), 3)
    np.testing.assert_array_equal(depthwise_jit.backward_input(g, w, x.shape, *args),
                                  depthwise.backward_input(g, w, x.shape, *args))
    gw = depthwise_jit.backward_weight(x, None, g, w.shape, *args)
    np.testing.assert_allclose(gw, depthwise.backward_weight(x, None, g, w.shape, *args),
                               rtol=1e-5, atol=1e-5)
    assert np.isnan(gw[2]).any() and not np.isnan(gw[0]).any()


@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("shape, k", [((5, 1, 9, 8), 3), ((5, 1, 40), 5), ((3, 1, 4, 5, 6), 3)])
def test_depthwise_of_one_channel_splits_images_and_filters_over_the_threads(
        monkeypatch, shape, k, layout):
    """One input channel (a grayscale first layer, 'auto's pick at stride 1): the threads
    take blocks of images (forward, input gradient) and of filters (weight gradient), so the
    results are the same bits on one thread and on two, and equal the NumPy kernel's."""
    from convscope.kernels import _parallel

    monkeypatch.setattr(_parallel, "MIN_ELEMENTS", 0)  # split even these small arrays
    monkeypatch.setattr(depthwise_jit, "CHANNEL_BLOCK", 2)  # blocks of 2 images / filters
    splits, ranges = [], []
    real = depthwise_jit.over_channels

    def spy(fn, n, elements, block):
        splits.append(n)
        return real(lambda r0, r1: ranges.append((r0, r1)) or fn(r0, r1), n, elements, block)

    monkeypatch.setattr(depthwise_jit, "over_channels", spy)
    n, M = len(shape) - 2, 6
    K, pads = (k,) * n, ((k // 2, k // 2),) * n
    args = ((1,) * n, pads, (1,) * n, 1)
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((M, 1, *K))
    g = RNG.standard_normal((shape[0], M, *shape[2:]))
    if layout == "channel-major":
        x, g = _channel_major(x), _channel_major(g)
    runs = []
    old = _parallel.get_num_threads()
    try:
        for threads in (1, 2):
            _parallel.set_num_threads(threads)
            runs.append((depthwise_jit.forward(x, w, *args, shape[2:])[0],
                         depthwise_jit.backward_input(g, w, x.shape, *args),
                         depthwise_jit.backward_weight(x, None, g, w.shape, *args)))
    finally:
        _parallel.set_num_threads(old)
    reference = (depthwise.forward(x, w, *args, shape[2:])[0],
                 depthwise.backward_input(g, w, x.shape, *args),
                 depthwise.backward_weight(x, None, g, w.shape, *args))
    N = shape[0]  # the images split twice (forward, input gradient), then the filters
    assert splits == [1, 1, 1, N, N, M]  # one thread: the one channel; two: the others

    def parts(n):  # blocks of 2 taken one at a time, or one range per thread if that is all
        if 2 * 2 >= n:
            b = _parallel.split(n, 2)
            return [(b[0], b[1]), (b[1], b[2])]
        return [(r, min(r + 2, n)) for r in range(0, n, 2)]

    assert ranges[:3] == [(0, 1)] * 3
    assert sorted(ranges[3:]) == sorted(parts(N) * 2 + parts(M))
    for one, two, ref in zip(*runs, reference):
        np.testing.assert_array_equal(two, one)
        np.testing.assert_allclose(one, ref, rtol=1e-11, atol=1e-12)


def test_depthwise_refuses_what_it_does_not_run():
    assert depthwise_jit.supports((2, 4, 5, 5), (4, 1, 3, 3), (1, 1), ((1, 1),) * 2, (1, 1),
                                  4) is None
    assert "groups == in_channels" in depthwise_jit.supports((2, 4, 5, 5), (4, 2, 3, 3),
                                                             (1, 1), ((1, 1),) * 2, (1, 1), 2)


UNFOLD_GRID = [  # input shape, kernel, stride, (before, after) pads, dilation
    ((2, 4, 9, 8), 3, 1, ((1, 1), (1, 1)), 1),
    ((2, 3, 10, 9), 3, 2, ((1, 0), (2, 1)), (1, 2)),
    ((2, 3, 11), 3, 2, ((1, 1),), 2),
    ((1, 2, 5, 6, 7), 3, (1, 2, 1), ((1, 1), (0, 1), (1, 1)), 1),
    ((2, 2, 9, 9), 2, 3, ((0, 0), (0, 0)), 1),
    ((1, 2, 7, 7), 7, 2, ((3, 3), (3, 3)), 1),
]


@pytest.mark.parametrize("layout", ["nchw", "channel-major"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", UNFOLD_GRID, ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}")
def test_unfold_and_fold_equal_the_numpy_loops_bit_for_bit(config, dtype, layout):
    shape, k, s, pads, d = config
    n = len(shape) - 2
    K, s, d = (k,) * n, _tuple(s, n), _tuple(d, n)
    out = tuple(window_count(S, ki, si, p, di)
                for S, ki, si, p, di in zip(shape[2:], K, s, pads, d))
    x = RNG.standard_normal(shape).astype(dtype)
    if layout == "channel-major":
        x = _channel_major(x)
    cols = im2col_jit.unfold(x, K, s, d, pads, out)
    np.testing.assert_array_equal(cols, _numpy_unfold(x, K, s, d, pads, out))
    g = RNG.standard_normal(cols.shape).astype(dtype)
    np.testing.assert_array_equal(im2col_jit.fold(g, shape, K, s, d, pads, out),
                                  _numpy_fold(g, shape, K, s, d, pads, out))


def _numpy_unfold(x, K, s, d, pads, out):
    """`im2col.unfold`'s NumPy loop (the module routes strided layers to the compiled one)."""
    N, C = x.shape[:2]
    xp = im2col.pad_channel_major(x, pads)
    cols = np.empty((C, *K, N, *out), dtype=x.dtype)
    for k, win in offsets(K, s, d, out):
        cols[(slice(None),) + k] = xp[(slice(None), slice(None)) + win]
    return cols


def _numpy_fold(cols, in_shape, K, s, d, pads, out):
    N, C, *S = in_shape
    xp = np.zeros((C, N, *[si + b + a for si, (b, a) in zip(S, pads)]), dtype=cols.dtype)
    for k, win in offsets(K, s, d, out):
        xp[(slice(None), slice(None)) + win] += cols[(slice(None),) + k]
    inner = interior(S, [b for b, _ in pads])
    return xp[(slice(None), slice(None)) + inner].transpose(1, 0, *range(2, len(in_shape)))


@pytest.mark.parametrize("chunk_bytes", [200, 1 << 30], ids=["rows", "images"])
@pytest.mark.parametrize("config", [c for c in UNFOLD_GRID if c[2] != 1],
                         ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}")
def test_strided_im2col_in_chunks_equals_direct(config, chunk_bytes, monkeypatch):
    """Chunks of images or of rows of one image unfold and fold through the compiled
    loops at their offsets: the same convolution and gradients as `direct`."""
    monkeypatch.setattr(im2col, "CHUNKED_ABOVE", 0)
    monkeypatch.setattr(im2col, "CHUNK_BYTES", chunk_bytes)
    shape, k, s, pads, d = config
    n = len(shape) - 2
    K, s, d = (k,) * n, _tuple(s, n), _tuple(d, n)
    assert im2col.compiled(s, K)
    out = tuple(window_count(S, ki, si, p, di)
                for S, ki, si, p, di in zip(shape[2:], K, s, pads, d))
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((3, shape[1], *K))
    g = RNG.standard_normal((shape[0], 3, *out))
    y, saved = im2col.forward(x, w, s, pads, d, 1, out)
    assert saved is None  # the chunked path ran
    np.testing.assert_allclose(y, direct.forward(x, w, s, pads, d, 1, out)[0], rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(im2col.backward_input(g, w, shape, s, pads, d, 1),
                               direct.backward_input(g, w, shape, s, pads, d, 1),
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(im2col.backward_weight(x, None, g, w.shape, s, pads, d, 1),
                               direct.backward_weight(x, None, g, w.shape, s, pads, d, 1),
                               rtol=1e-10, atol=1e-10)


def test_compiled_kernels_start_no_threads_of_their_own():
    """The kernels are serial: the only threads that run them are `_parallel`'s pool, and
    Numba's own threading layer (OpenMP / TBB workers, which would spin against
    OpenBLAS's) is never started."""
    import os
    import threading

    import numba.np.ufunc.parallel as numba_parallel

    from convscope.kernels import get_num_threads

    def os_threads():  # Linux: every OS thread of the process (None elsewhere)
        return set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None

    import numba
    numba.njit(lambda a: a.sum())(np.zeros(1))  # LLVM's own helper thread starts here
    before = os_threads()
    x = RNG.standard_normal((4, 64, 32, 32)).astype(np.float32)  # large enough to split
    y, saved = pool_jit.max_pool_forward(x, (2, 2), (2, 2), (0, 0), (1, 1), (16, 16))
    pool_jit.max_pool_backward(y, saved)
    y, saved, _ = norm_jit.batch_norm_forward(x, None, None, None, None, 1e-5, True, True)
    norm_jit.batch_norm_backward(y, saved, None)
    w = RNG.standard_normal((64, 1, 3, 3)).astype(np.float32)
    depthwise_jit.forward(x, w, (2, 2), ((1, 1), (1, 1)), (1, 1), 64, (16, 16))
    im2col_jit.unfold(x, (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), (16, 16))
    assert not numba_parallel._is_initialized
    pool = [t for t in threading.enumerate() if t.name.startswith("convscope")]
    assert len(pool) <= get_num_threads() - 1  # the calling thread takes one share
    if before is not None:
        # every OS thread the kernels added is a Python thread (the pool's): no native
        # threading layer started underneath (whatever other libraries the process loaded
        # before, e.g. PyTorch's OpenMP workers in a test run)
        python = {str(t.native_id) for t in threading.enumerate()}
        assert os_threads() - before <= python


def test_the_functional_layer_runs_the_compiled_pooling_for_1_to_3_dimensions(monkeypatch):
    """Max and average pooling of 1-3 spatial dimensions: compiled (measured faster at
    every stride); 4-D pooling: the NumPy loops."""
    import convscope.functional as F
    from convscope import Tensor

    calls = []
    for name in ("max_pool_forward", "max_pool_values", "avg_pool_forward"):
        real = getattr(pool_jit, name)
        def spy(*args, _real=real, _name=name):
            calls.append(_name)
            return _real(*args)

        monkeypatch.setattr(pool_jit, name, spy)
    x = RNG.standard_normal((2, 3, 8, 8))
    F.max_pool2d(Tensor(x, requires_grad=True), 3, 1, 1)
    F.max_pool2d(x, 3, 2, 1)
    F.max_pool2d(x, 3, 1, 1)
    F.avg_pool2d(x, 3, 2, 1)
    F.avg_pool2d(x, 3, 1, 1)
    F.avg_pool3d(x, 2, 1)
    # (without a gradient the maxima alone: no chosen taps kept)
    assert calls == ["max_pool_forward", "max_pool_values", "max_pool_values",
                     "avg_pool_forward", "avg_pool_forward", "avg_pool_forward"]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_reads_a_strided_input_in_place(training, relu):
    base = RNG.standard_normal((3, 4, 7, 9))
    x = base[:, :, 1:-1, 2:-1]  # rows with gaps, as `shifted` returns its outputs
    assert not x.flags.c_contiguous
    C = x.shape[1]
    w, b = RNG.standard_normal(C), RNG.standard_normal(C)
    rm, rv = RNG.standard_normal(C), RNG.random(C) + 0.5
    y0, s0, stats0 = norm.batch_norm_forward(x, rm, rv, w, b, 1e-5, training, relu)
    y1, s1, stats1 = norm_jit.batch_norm_forward(x, rm, rv, w, b, 1e-5, training, relu)
    assert np.shares_memory(s1[0], base)  # kept for the backward pass: x itself, no copy
    np.testing.assert_allclose(y1, y0, rtol=1e-11, atol=1e-12)
    g = RNG.standard_normal(x.shape)
    for ours, ref in zip(norm_jit.batch_norm_backward(g, s1, w),
                         norm.batch_norm_backward(g, s0, w)):
        np.testing.assert_allclose(ours, ref, rtol=1e-11, atol=1e-12)
