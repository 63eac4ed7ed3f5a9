"""Winograd minimal filtering: the 1-D identity in closed form, and its float32 error."""

import importlib

import numpy as np
import pytest

import convscope.functional as F
from convscope.kernels import winograd


@pytest.mark.parametrize("m, r", sorted(winograd.POINTS))
def test_matrices_compute_a_correlation(m, r):
    """y = A^T [(G g) * (B^T d)] is the 'valid' correlation of a tile d with taps g."""
    AT, G, BT = winograd.matrices(m, r)
    a = m + r - 1
    assert AT.shape == (m, a) and G.shape == (a, r) and BT.shape == (a, a)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.standard_normal(a), rng.standard_normal(r)
        np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), np.correlate(d, g, "valid"),
                                   rtol=1e-12, atol=1e-12)


def test_f2_matches_lavin_and_gray():
    """F(2, 3) with the points 0, 1, -1 is the paper's, up to the sign of one row pair."""
    AT, G, BT = winograd.matrices(2)
    np.testing.assert_allclose(AT, [[1, 1, 1, 0], [0, 1, -1, 1]], atol=1e-12)
    signs = np.sign(G[:, 0] + G[:, 2])[:, None]  # rows may be negated in G and B^T together
    np.testing.assert_allclose(G * signs, [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
                               atol=1e-12)
    np.testing.assert_allclose(BT * signs, [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0],
                                            [0, -1, 0, 1]], atol=1e-12)


def test_points_that_give_no_algorithm_are_refused():
    with pytest.raises(ValueError, match=r"F\(4, 3\) needs 5 points"):
        winograd.matrices(4, points=(0.0, 1.0, -1.0))


def _rms(a):
    return float(np.sqrt(np.mean(np.square(a))))


# the bound on the RMS error ratio to im2col's, per rank: the transforms' rounding
# compounds over the axes (F(4, 3) has coefficients up to 4 per axis)
BOUNDS = {"winograd2": (2.0, 2.0, 2.0), "winograd4": (3.0, 6.0, 12.0)}


@pytest.mark.parametrize("algorithm", ["winograd2", "winograd4"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_float32_error_within_a_small_factor_of_im2col(algorithm, n):
    """float32 error against the float64 result, relative to im2col's own float32 error.

    Measured here (2D, 64 channels): F(2x2) 0.9x im2col's RMS error; F(4x4) 3.7x with the
    points 0, +-1, 1/2, -2, against 5.6x with the textbook 0, +-1, +-2; in 3D F(4x4x4)
    about 10x.
    """
    bound = BOUNDS[algorithm][n - 1]
    rng = np.random.default_rng(n)
    size = {1: (64,), 2: (16, 16), 3: (6, 8, 8)}[n]
    x = rng.standard_normal((2, 32, *size))
    w = rng.standard_normal((16, 32, *(3,) * n)) / np.sqrt(32 * 3 ** n)
    exact = F.conv(x, w, padding=1, algorithm="direct")
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    base = _rms(F.conv(x32, w32, padding=1, algorithm="im2col") - exact)
    err = _rms(F.conv(x32, w32, padding=1, algorithm=algorithm) - exact)
    assert 0 < err <= bound * base


def test_matrices_are_read_only_so_no_caller_corrupts_the_next():
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 6))
    w = np.random.default_rng(1).standard_normal((2, 4, 3, 3))
    before = F.conv(x, w, padding=1, algorithm="winograd4")
    for a in winograd.matrices(4):
        assert not a.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            a[0, 0] += 1.0
    np.testing.assert_array_equal(F.conv(x, w, padding=1, algorithm="winograd4"), before)


@pytest.mark.parametrize("points", [[0, 1, -1, 0.5, -2], np.array([0, 1, -1, 0.5, -2.0]),
                                    range(-2, 3), (0.0, 1.0, -1.0, 0.5, -2.0)])
def test_points_may_be_any_sequence_of_numbers(points):
    AT, G, BT = winograd.matrices(4, points=points)
    p = [float(v) for v in points]
    np.testing.assert_allclose(AT[1, :-1], p)  # A^T's second row: the points themselves
    d, g = np.arange(6.0), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(AT @ ((G @ g) * (BT @ d)), np.correlate(d, g, "valid"),
                               atol=1e-9)


def test_points_that_are_not_numbers_are_refused_by_name():
    with pytest.raises(TypeError, match=r"winograd.matrices: points must be a sequence of "
                                        r"real numbers, got \['a'"):
        winograd.matrices(2, points=["a", 1, 2])


# -- the compiled kernels (winograd2_jit, winograd4_jit) ------------------------------------

@pytest.mark.parametrize("algorithm, reference", [("winograd2_jit", "winograd2"),
                                                  ("winograd4_jit", "winograd4")])
@pytest.mark.parametrize("shape, pads", [((3, 5, 9, 11), ((1, 1), (1, 1))),
                                         ((2, 4, 10, 7), ((2, 0), (0, 3))),
                                         ((1, 3, 3, 3), ((0, 0), (0, 0)))])
def test_compiled_kernels_equal_the_numpy_reference(algorithm, reference, shape, pads):
    """The same transforms as the NumPy reference: equal to float64 rounding, forward and
    both gradients (the weight gradient through the tiles too)."""
    from convscope.kernels import ALGORITHMS, winograd_jit
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((6, shape[1], 3, 3))
    out = tuple(s + b + a - 2 for s, (b, a) in zip(shape[2:], pads))
    gy = rng.standard_normal((shape[0], 6, *out))
    ours, ref = ALGORITHMS[algorithm], ALGORITHMS[reference]
    args = ((1, 1), pads, (1, 1), 1)
    np.testing.assert_allclose(ours.forward(x, w, (1, 1), pads, (1, 1), 1, out)[0],
                               ref.forward(x, w, (1, 1), pads, (1, 1), 1, out)[0],
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.backward_input(gy, w, x.shape, *args),
                               ref.backward_input(gy, w, x.shape, *args),
                               rtol=1e-11, atol=1e-11)
    m = int(algorithm[8])
    np.testing.assert_allclose(winograd_jit.backward_weight(x, gy, w.shape, pads, 1, m=m),
                               ref.backward_weight(x, None, gy, w.shape, *args),
                               rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("layout", ["channel-major", "sliced", "reversed rows"])
def test_compiled_kernels_read_any_memory_layout(layout):
    """A channel-major input (im2col's outputs and what follows them: read in place, plane
    by plane), a sliced one and one with negative strides give the same bits as the
    C-contiguous copy, forward and weight gradient."""
    from convscope.kernels import winograd_jit
    rng = np.random.default_rng(9)
    base = rng.standard_normal((6, 4, 9, 8)).astype(np.float32)
    x = {"channel-major": base.transpose(1, 0, 2, 3), "sliced": base[::2, :, 1:, :7],
         "reversed rows": base.transpose(1, 0, 2, 3)[:, :, ::-1]}[layout]
    w = rng.standard_normal((5, x.shape[1], 3, 3)).astype(np.float32)
    pads = ((1, 1), (1, 1))
    out = x.shape[2:]
    gy = rng.standard_normal((x.shape[0], 5, *out)).astype(np.float32)
    xc = np.ascontiguousarray(x)
    for m in (2, 4):
        np.testing.assert_array_equal(
            winograd_jit.forward(x, w, (1, 1), pads, (1, 1), 1, out, m=m),
            winograd_jit.forward(xc, w, (1, 1), pads, (1, 1), 1, out, m=m))
        np.testing.assert_array_equal(winograd_jit.backward_weight(x, gy, w.shape, pads, 1, m=m),
                                      winograd_jit.backward_weight(xc, gy, w.shape, pads, 1, m=m))


@pytest.mark.parametrize("algorithm", ["winograd2_jit", "winograd4_jit"])
@pytest.mark.parametrize("shape, pads", [((2, 3, 5, 9, 11), ((1, 1), (1, 1), (1, 1))),
                                         ((1, 4, 4, 7, 6), ((2, 0), (0, 2), (1, 0))),
                                         ((1, 2, 3, 3, 3), ((0, 0), (0, 0), (0, 0)))])
def test_compiled_kernels_3d_equal_the_numpy_reference(algorithm, shape, pads):
    """3x3x3 layers: Winograd over each depth slice with the depth taps summed in the
    products (zero slices for the depth padding) equals im2col's 3-D convolution, forward
    and both gradients."""
    from convscope.kernels import ALGORITHMS
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((5, shape[1], 3, 3, 3))
    out = tuple(s + b + a - 2 for s, (b, a) in zip(shape[2:], pads))
    gy = rng.standard_normal((shape[0], 5, *out))
    ours, ref = ALGORITHMS[algorithm], ALGORITHMS["im2col"]
    args = ((1, 1, 1), pads, (1, 1, 1), 1)
    y = ours.forward(x, w, (1, 1, 1), pads, (1, 1, 1), 1, out)[0]
    assert y.shape == (shape[0], 5, *out)
    np.testing.assert_allclose(y, ref.forward(x, w, (1, 1, 1), pads, (1, 1, 1), 1, out)[0],
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.backward_input(gy, w, x.shape, *args),
                               ref.backward_input(gy, w, x.shape, *args),
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.backward_weight(x, None, gy, w.shape, *args),
                               ref.backward_weight(x, None, gy, w.shape, *args),
                               rtol=1e-11, atol=1e-11)


def test_compiled_kernels_3d_split_over_threads_gives_the_same_bits(monkeypatch):
    """The 3-D kernels' (image, tile rows) units are split over the threads; the output and
    the weight gradient are the same bits as one thread's, and equal to im2col's in
    float32 to the products' rounding."""
    from convscope.kernels import _parallel, winograd_jit
    monkeypatch.setattr(winograd_jit, "CHUNK_BYTES_3D", 1 << 12)  # several units per image
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 16, 6, 20, 20)).astype(np.float32)
    w = (rng.standard_normal((8, 16, 3, 3, 3)) / np.sqrt(27 * 16)).astype(np.float32)
    pads = ((1, 1), (1, 1), (1, 1))
    gy = rng.standard_normal((2, 8, 6, 20, 20)).astype(np.float32)
    before = _parallel.get_num_threads()
    try:
        _parallel.set_num_threads(1)
        one = winograd_jit.forward3d(x, w, pads, (6, 20, 20))
        dw_one = winograd_jit.backward_weight3d(x, gy, w.shape, pads)
        _parallel.set_num_threads(2)
        two = winograd_jit.forward3d(x, w, pads, (6, 20, 20))
        dw_two = winograd_jit.backward_weight3d(x, gy, w.shape, pads)
    finally:
        _parallel.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(dw_one, dw_two)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    exact = F.conv3d(x64, w64, padding=1, algorithm="im2col")
    assert np.abs(one - exact).max() <= 1e-5 * np.abs(exact).max()
    from convscope.kernels import im2col
    dw = im2col.backward_weight(x64, None, gy.astype(np.float64), w.shape, (1, 1, 1), pads,
                                (1, 1, 1), 1)
    assert np.abs(dw_one - dw).max() <= 1e-5 * np.abs(dw).max()


def test_compiled_kernels_split_work_counted_with_its_channels(monkeypatch):
    """A batch with few tiles but many channels is split over the threads: the work weighed
    against `_parallel.MIN_ELEMENTS` is tiles x alpha^2 x (C_in + C_out), not the tiles alone
    (8 x 32 x 14 x 14 -> 32: 4,608 transformed values per channel, 294,912 in all), and the
    split gives the same bits as one thread."""
    from convscope.kernels import _parallel, winograd_jit
    monkeypatch.setattr(winograd_jit, "CHUNK_BYTES", 1 << 10)  # two chunks of 16 tile rows
    calls = []
    real = _parallel.over_parts
    monkeypatch.setattr(_parallel, "over_parts",
                        lambda fn, bounds: (calls.append(list(bounds)), real(fn, bounds)))
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 32, 14, 14)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1, (14, 14))
    before = _parallel.get_num_threads()
    try:
        _parallel.set_num_threads(1)
        one = winograd_jit.forward(x, w, *args)
        _parallel.set_num_threads(2)
        two = winograd_jit.forward(x, w, *args)
    finally:
        _parallel.set_num_threads(before)
    assert calls == [[0, 1, 2]]
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("shape, seed", [((2, 64, 28, 28), 3), ((2, 256, 14, 14), 3),
                                         ((1, 16, 5, 16, 16), 8), ((1, 32, 5, 16, 16), 8),
                                         ((1, 64, 5, 16, 16), 8)])
def test_compiled_kernels_float32_error_is_bounded(shape, seed):
    """float32 error relative to the output's max, against float64: F(2x2) within 2x
    im2col's, F(4x4) within 15x im2col's and within the bound `auto` assumes (measured on
    the layer table: F(2x2) 0.3-0.7e-6 like im2col's 0.4-0.8e-6; F(4x4) 0.9-4.0e-6). A
    3x3x3 layer sums 3 C_in channels in the Winograd domain: `winograd_error(m, C, 3)`.
    im2col's own error depends on the order BLAS sums in: on 2026-12-07's machine (OpenBLAS
    SkylakeX on a faster EPYC) it was 4.0e-7 at 256 channels, F(4x4)'s 4.4e-6, 10.8x."""
    choose = importlib.import_module("convscope.kernels.choose")  # the module, not the function
    rng = np.random.default_rng(seed)
    n, C = len(shape) - 2, shape[1]
    x = rng.standard_normal(shape)
    w = rng.standard_normal((C, C, *(3,) * n)) / np.sqrt(3 ** n * C)
    exact = F.conv(x, w, padding=1, algorithm="im2col")
    if n == 2:
        np.testing.assert_allclose(exact, F.conv(x, w, padding=1, algorithm="direct"),
                                   rtol=0, atol=1e-12 * np.abs(exact).max())
    x32, w32 = x.astype(np.float32), w.astype(np.float32)

    def err(algorithm):
        y = F.conv(x32, w32, padding=1, algorithm=algorithm)
        return float(np.abs(y - exact).max() / np.abs(exact).max())

    base = err("im2col")
    e2, e4 = err("winograd2_jit"), err("winograd4_jit")
    assert 0 < e2 <= 2 * base and e2 <= choose.winograd_error(2, C, n)
    assert 0 < e4 <= 15 * base and e4 <= choose.winograd_error(4, C, n)
    if n == 2:
        assert choose.winograd_error(4, C) <= choose.WINOGRAD_MAX_ERROR  # auto may pick it


@pytest.mark.parametrize("x_shape, w_shape, stride, groups, expected", [
    ((8, 64, 56, 56), (64, 64, 3, 3), 1, 1, "winograd4_jit"),
    ((128, 64, 7, 7), (128, 64, 3, 3), 1, 1, "winograd4_jit"),  # 8^2 / 7^2 = 1.31 waste
    ((8, 64, 5, 5), (64, 64, 3, 3), 1, 1, "im2col"),   # waste: F(4x4) 1.64, F(2x2) 1.44
    ((8, 64, 6, 6), (64, 64, 3, 3), 1, 1, "winograd2_jit"),  # F(4x4) 1.78, F(2x2) 1.0
    ((8, 512, 7, 7), (512, 512, 3, 3), 1, 1, "im2col"),  # 32 or 128 tiles < 256
    ((8, 256, 14, 14), (256, 256, 3, 3), 1, 1, "winograd4_jit"),  # 128 tiles >= 512 / 4
    ((4, 256, 14, 14), (256, 256, 3, 3), 1, 1, "winograd2_jit"),  # F(4x4) 64, F(2x2) 196
    ((64, 512, 14, 14), (512, 512, 3, 3), 1, 1, "winograd2_jit"),  # F(4x4): error > 5e-6
    ((8, 16, 56, 56), (64, 16, 3, 3), 1, 1, "shifted"),  # fewer than 32 input channels
    ((128, 32, 14, 14), (64, 32, 3, 3), 1, 1, "winograd4_jit"),  # the default model's
    ((8, 3, 224, 224), (64, 3, 3, 3), 1, 1, "im2col"),  # 3-channel input
    ((8, 64, 56, 56), (128, 64, 3, 3), 2, 1, "im2col"),  # stride 2
    ((8, 64, 56, 56), (64, 32, 3, 3), 1, 2, "shifted"),  # groups
    ((8, 256, 14, 14), (512, 256, 1, 1), 1, 1, "pointwise"),  # 1x1
    ((2, 16, 16, 64, 64), (32, 16, 3, 3, 3), 1, 1, "winograd4_jit"),  # 3D: 48 channels
    ((2, 8, 16, 64, 64), (32, 8, 3, 3, 3), 1, 1, "shifted"),  # 3D: 24 channels < 32
    ((2, 16, 16, 64, 64), (32, 8, 3, 3, 3), 1, 2, "shifted"),  # 3D groups
    ((32, 64, 4096), (64, 64, 5), 1, 1, "winograd4_jit"),  # 1D (rule 2b): F(4, 5)
    ((8, 512, 32), (512, 512, 3), 1, 1, "winograd4_jit"),  # 1D: F(4, 3), no tile minimum
    ((8, 8, 100), (16, 8, 3), 1, 1, "winograd4_jit"),  # 1D: 8 input channels
    ((8, 7, 100), (16, 7, 3), 1, 1, "im2col"),  # 1D: 7 input channels < 8
    ((8, 64, 5), (64, 64, 3), 1, 1, "winograd2_jit"),  # 1D: waste F(4, 3) 8/5, F(2, 3) 6/5
    ((8, 64, 100), (64, 64, 3), 2, 1, "shifted"),  # 1D: stride 2 (stride phases, rule 3)
    ((8, 64, 100), (64, 32, 3), 1, 2, "shifted"),  # 1D: groups
])
def test_auto_picks_winograd_by_the_rules_written_in_choose(x_shape, w_shape, stride, groups,
                                                            expected):
    assert F.conv_algorithm(x_shape, w_shape, stride=stride, padding=1,
                            groups=groups)[0] == expected


@pytest.mark.parametrize("x_shape, w_shape, expected", [
    ((16, 128, 1024), (128, 128, 3), "winograd4_jit"),  # 3 taps: from 128 channels
    ((16, 64, 4096), (64, 64, 3), "shifted"),
    ((16, 64, 4096), (64, 64, 5), "winograd4_jit"),  # 5 taps: from 64 channels
    ((16, 32, 4096), (32, 32, 5), "shifted"),
])
def test_auto_picks_winograd_for_dilated_1d_layers_by_their_channels(x_shape, w_shape,
                                                                     expected):
    """Rule 2b for dilation 2: the phases' copies cost more than thin layers save."""
    assert F.conv_algorithm(x_shape, w_shape, padding=2 * (w_shape[2] // 2),
                            dilation=2)[0] == expected


def test_im2col_is_not_changed_by_auto_rules():
    """algorithm='im2col' still runs im2col: the same bits as its own kernel."""
    from convscope.kernels import im2col
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 64, 12, 12)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    y = F.conv2d(x, w, padding=1, algorithm="im2col")
    ref, _ = im2col.forward(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1, (12, 12))
    assert y.tobytes() == np.ascontiguousarray(ref).tobytes()
    assert F.conv_algorithm(x.shape, w.shape, padding=1)[0].startswith("winograd")  # auto


_COLD = """
import sys, numpy as np
import convscope, convscope.functional as F
assert "numba" not in sys.modules, "import convscope loaded numba"
x = np.ones((1, 4, 6, 6), np.float32)
F.conv2d(x, np.ones((2, 4, 3, 3), np.float32), padding=1, algorithm="winograd4_jit")
from convscope.kernels import winograd_kernels as K
stats = [K.input_tiles_cl4.stats, K.output_tiles4.stats]  # a 6x6 map: channels inner
print(sum(len(s.cache_misses) for s in stats), sum(len(s.cache_hits) for s in stats))
"""


def test_compiled_kernels_compile_once_then_load_from_the_cache(tmp_path):
    """`import convscope` loads no Numba; the first process compiles the kernels into
    CONVSCOPE_CACHE_DIR, a second one loads them (no compile)."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, CONVSCOPE_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_CACHE_DIR", None)

    def run():
        out = subprocess.run([sys.executable, "-c", _COLD], env=env, capture_output=True,
                             text=True, check=True).stdout
        return tuple(int(v) for v in out.split())

    misses, _ = run()
    assert misses == 2  # compiled: one signature each, written to the cache
    assert any(p.suffix == ".nbi" for p in (tmp_path / "numba").rglob("*"))
    misses, hits = run()
    assert (misses, hits) == (0, 2)


def test_generated_formulas_are_the_committed_module():
    """`winograd_formulas` is what `winograd_gen` writes from `winograd.matrices` (rerun
    ``python -m convscope.kernels.winograd_gen`` after changing the points)."""
    from convscope.kernels import winograd_gen
    with open(winograd_gen.path(), encoding="utf-8") as f:
        assert f.read() == winograd_gen.source()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["bt2", "at2", "a2", "bt4", "at4", "a4", "bt4k5", "at4k5",
                                  "a4k5"])
def test_generated_formulas_apply_their_matrix(name, dtype):
    """Each sparse formula computes d = M s for its matrix (B^T, A^T or A) on random rows,
    to the data's rounding (no float64 promotion of float32 data)."""
    from convscope.kernels import winograd_formulas, winograd_gen
    M = winograd_gen.transforms()[name]
    rng = np.random.default_rng(0)
    s = rng.standard_normal((M.shape[1], 37)).astype(dtype)
    d = np.full((M.shape[0], 37), np.nan, dtype=dtype)
    getattr(winograd_formulas, name)(winograd_gen.coefficients(M, dtype), *s, *d)
    assert d.dtype == dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13  # bt4k5's entries reach 5.25
    np.testing.assert_allclose(d, M @ s.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("pads", [((1, 1), (1, 1)), ((2, 0), (0, 3)), ((0, 0), (0, 0))])
def test_compiled_kernels_chunks_that_split_images(monkeypatch, pads):
    """Chunks of a few tile rows that start and end inside an image (tiny CHUNK_BYTES and
    MIN_TILES): each chunk copies only its rows of each plane into its padded buffer; the
    forward pass and the weight gradient equal im2col's in float64."""
    from convscope.kernels import im2col, winograd_jit
    monkeypatch.setattr(winograd_jit, "CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd_jit, "MIN_TILES", 3)  # 1 or 2 tile rows a chunk
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 13, 7))
    w = rng.standard_normal((5, 4, 3, 3))
    out = tuple(s + b + a - 2 for s, (b, a) in zip(x.shape[2:], pads))
    gy = rng.standard_normal((3, 5, *out))
    for m in (2, 4):
        plan = winograd_jit._Plan(x.shape, 5, out, m, x.dtype)
        assert any(g % plan.TH for g in plan.chunks[1:-1])  # a chunk boundary inside an image
        np.testing.assert_allclose(
            winograd_jit.forward(x, w, (1, 1), pads, (1, 1), 1, out, m=m),
            im2col.forward(x, w, (1, 1), pads, (1, 1), 1, out)[0], rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(
            winograd_jit.backward_weight(x, gy, w.shape, pads, 1, m=m),
            im2col.backward_weight(x, None, gy, w.shape, (1, 1), pads, (1, 1), 1),
            rtol=1e-11, atol=1e-11)


# -- 1-D layers: F(2, 3), F(4, 3), F(4, 5) --------------------------------------------------

def _conv1d_case(rng, N, C, C_out, L, r, pads, groups):
    x = rng.standard_normal((N, C, L))
    w = rng.standard_normal((C_out, C // groups, r))
    out = (L + sum(pads) - r + 1,)
    gy = rng.standard_normal((N, C_out, *out))
    return x, w, ((pads[0], pads[1]),), out, gy


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (4, 5)])
@pytest.mark.parametrize("N, C, C_out, L, pads, groups", [
    (3, 5, 6, 37, (2, 2), 1), (2, 4, 6, 16, (0, 3), 2), (1, 3, 2, 4, (4, 4), 1),
    (2, 6, 6, 29, (1, 0), 3), (2, 2, 3, 9, (0, 0), 1)])
def test_compiled_1d_kernels_equal_the_numpy_reference(m, r, N, C, C_out, L, pads, groups):
    """The 1-D transforms, chunk by chunk, equal the NumPy reference (the same matrices) in
    float64: forward, the input gradient (the adjoint through the same forward) and the
    weight gradient through the tiles; the output has its exact length (the last tile cut)."""
    from convscope.kernels import ALGORITHMS, winograd1d_jit
    if r > L + sum(pads):
        pytest.skip("no output")
    x, w, pd, out, gy = _conv1d_case(np.random.default_rng(r * 10 + m), N, C, C_out, L, r,
                                     pads, groups)
    ref = ALGORITHMS[f"winograd{m}"]
    ours = ALGORITHMS[f"winograd{m}_jit"]
    args = ((1,), pd, (1,), groups)
    y = ours.forward(x, w, (1,), pd, (1,), groups, out)[0]
    assert y.shape == (N, C_out, *out) and y.flags.c_contiguous
    np.testing.assert_allclose(y, ref.forward(x, w, (1,), pd, (1,), groups, out)[0],
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.backward_input(gy, w, x.shape, *args),
                               ref.backward_input(gy, w, x.shape, *args), rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(winograd1d_jit.backward_weight(x, gy, w.shape, pd, groups, m=m),
                               ref.backward_weight(x, None, gy, w.shape, *args),
                               rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (4, 5)])
@pytest.mark.parametrize("L, pads, dilation, groups", [
    (40, (4, 4), 2, 1), (33, (2, 2), 2, 3), (50, (0, 0), 4, 1), (17, (8, 0), 3, 1),
    (9, (1, 3), 5, 1), (60, (3, 1), 7, 2)])
def test_compiled_1d_dilated_equals_im2col(m, r, L, pads, dilation, groups):
    """A dilated 1-D layer as the undilated convolution of its input's phases: forward, the
    input gradient and the weight gradient equal im2col's in float64 (phases of unequal
    length, padding wider than the kernel, groups)."""
    from convscope.kernels import ALGORITHMS, im2col, winograd1d_jit
    rng = np.random.default_rng(L + r)
    N, C, C_out = 2, 6, 6
    x = rng.standard_normal((N, C, L))
    w = rng.standard_normal((C_out, C // groups, r))
    out = (L + sum(pads) - dilation * (r - 1),)
    if out[0] < 1:
        pytest.skip("no output")
    gy = rng.standard_normal((N, C_out, *out))
    pd, d = (pads,), (dilation,)
    ours = ALGORITHMS[f"winograd{m}_jit"]
    if ours.supports(x.shape, w.shape, (1,), pd, d, groups) is not None:
        pytest.skip("F(2, 5) is not compiled")
    np.testing.assert_allclose(ours.forward(x, w, (1,), pd, d, groups, out)[0],
                               im2col.forward(x, w, (1,), pd, d, groups, out)[0],
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ours.backward_input(gy, w, x.shape, (1,), pd, d, groups),
                               im2col.backward_input(gy, w, x.shape, (1,), pd, d, groups),
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(
        winograd1d_jit.backward_weight(x, gy, w.shape, pd, groups, m, dilation),
        im2col.backward_weight(x, None, gy, w.shape, (1,), pd, d, groups),
        rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 5)])
def test_compiled_1d_chunks_that_split_and_span_samples(monkeypatch, m, r):
    """Chunks of a few tiles (tiny CHUNK_BYTES and MIN_TILES) that start inside one sample
    and end in the next: forward and weight gradient equal im2col's in float64, and the
    same bits on one thread as on two."""
    from convscope.kernels import _parallel, im2col, winograd1d_jit
    monkeypatch.setattr(winograd1d_jit, "CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd1d_jit, "WEIGHT_GRAD_CHUNK_BYTES", 1)
    monkeypatch.setattr(winograd1d_jit, "MIN_TILES", 3)
    x, w, pd, out, gy = _conv1d_case(np.random.default_rng(5), 4, 3, 5, 21, r, (2, 1), 1)
    plan = winograd1d_jit._Plan(4, 3, 5, out[0], m, r, x.dtype)
    assert any(g % plan.T for g in plan.chunks[1:-1])  # a boundary inside a sample
    assert any(a // plan.T != (b - 1) // plan.T  # and a chunk across two samples
               for a, b in zip(plan.chunks, plan.chunks[1:]))
    before = _parallel.get_num_threads()
    try:
        got = []
        for threads in (1, 2):
            _parallel.set_num_threads(threads)
            got.append((winograd1d_jit.forward(x, w, pd, 1, out, m),
                        winograd1d_jit.backward_weight(x, gy, w.shape, pd, 1, m)))
    finally:
        _parallel.set_num_threads(before)
    for a, b in zip(*got):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(got[0][0], im2col.forward(x, w, (1,), pd, (1,), 1, out)[0],
                               rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(got[0][1], im2col.backward_weight(x, None, gy, w.shape, (1,),
                                                                 pd, (1,), 1),
                               rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("layout", ["channel-major", "sliced"])
def test_compiled_1d_kernels_read_any_memory_layout(layout):
    """A channel-major input and dL/dy (read in place, line by line) and a sliced one give
    the same bits as their C-contiguous copies."""
    from convscope.kernels import winograd1d_jit
    rng = np.random.default_rng(6)
    base = rng.standard_normal((6, 8, 40)).astype(np.float32)
    gbase = rng.standard_normal((6, 4, 40)).astype(np.float32)
    pick = {"channel-major": lambda a: np.ascontiguousarray(a.transpose(1, 0, 2)).transpose(
        1, 0, 2), "sliced": lambda a: a[::2, :, 1:37]}[layout]
    x, gy = pick(base), pick(gbase)
    w = rng.standard_normal((4, 8, 5)).astype(np.float32)
    pd, out = ((2, 2),), (x.shape[2],)
    xc, gyc = np.ascontiguousarray(x), np.ascontiguousarray(gy)
    np.testing.assert_array_equal(winograd1d_jit.forward(x, w, pd, 1, out),
                                  winograd1d_jit.forward(xc, w, pd, 1, out))
    np.testing.assert_array_equal(winograd1d_jit.backward_weight(x, gy, w.shape, pd, 1),
                                  winograd1d_jit.backward_weight(xc, gyc, w.shape, pd, 1))


@pytest.mark.parametrize("r, C", [(3, 8), (3, 256), (5, 8), (5, 64), (5, 1024)])
def test_compiled_1d_float32_error_is_bounded(r, C):
    """float32 error relative to the output's max, against float64: F(4, r) within the
    bound `auto` assumes (`choose.winograd_error(4, C, 1, r)`, under WINOGRAD_MAX_ERROR) and
    within 8x im2col's; F(2, 3) within 2x im2col's. (Measured: F(4, 3) 0.5-2.0e-6, F(4, 5)
    0.7-2.8e-6, im2col 0.2-0.95e-6, over 8 to 1024 channels.)"""
    choose = importlib.import_module("convscope.kernels.choose")
    rng = np.random.default_rng(C + r)
    L = max(64, 32768 // C)
    x = rng.standard_normal((2, C, L))
    w = rng.standard_normal((C, C, r)) / np.sqrt(C * r)
    exact = F.conv1d(x, w, padding=r // 2, algorithm="im2col")
    x32, w32 = x.astype(np.float32), w.astype(np.float32)

    def err(algorithm):
        y = F.conv1d(x32, w32, padding=r // 2, algorithm=algorithm)
        return float(np.abs(y - exact).max() / np.abs(exact).max())

    base, e4 = err("im2col"), err("winograd4_jit")
    bound = choose.winograd_error(4, C, 1, r)
    assert 0 < e4 <= bound <= choose.WINOGRAD_MAX_ERROR and e4 <= 8 * base
    if r == 3:
        assert 0 < err("winograd2_jit") <= 2 * base


@pytest.mark.parametrize("x_shape, tiles", [((8, 256, 64), False), ((16, 128, 256), True)])
def test_compiled_1d_weight_gradient_through_tiles_or_im2col(x_shape, tiles):
    """Below `winograd1d_jit.WEIGHT_GRAD_TILES_PER_CHANNEL` tiles per channel the weight gradient is
    im2col's (the same bits), from it on through the tiles; both equal float64 im2col."""
    from convscope.kernels import im2col, winograd_jit
    rng = np.random.default_rng(2)
    N, C, L = x_shape
    x = rng.standard_normal(x_shape).astype(np.float32)
    gy = rng.standard_normal(x_shape).astype(np.float32)
    w_shape, pd = (C, C, 3), ((1, 1),)
    assert winograd_jit.F4.weight_grad_tiles(x_shape, w_shape, (L,)) is tiles
    dw = winograd_jit.F4.backward_weight(x, None, gy, w_shape, (1,), pd, (1,), 1)
    ref32 = im2col.backward_weight(x, None, gy, w_shape, (1,), pd, (1,), 1)
    if not tiles:
        np.testing.assert_array_equal(dw, ref32)
    exact = im2col.backward_weight(x.astype(np.float64), None, gy.astype(np.float64), w_shape,
                                   (1,), pd, (1,), 1)
    assert np.abs(dw - exact).max() <= 1e-5 * np.abs(exact).max()
