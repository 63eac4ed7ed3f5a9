"""Winograd minimal filtering: the 1-D identity in closed form, and its float32 error."""

import numpy as np
import pytest

import convscope.functional as F
from convscope.kernels import winograd


@pytest.mark.parametrize("m", [2, 4])
def test_matrices_compute_a_correlation(m):
    """y = A^T [(G g) * (B^T d)] is the 'valid' correlation of a tile d with taps g."""
    AT, G, BT = winograd.matrices(m)
    assert AT.shape == (m, m + 2) and G.shape == (m + 2, 3) and BT.shape == (m + 2, m + 2)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d, g = rng.standard_normal(m + 2), rng.standard_normal(3)
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
