"""convscope.measure: orientation energy selectivity, Ringach's circular variance, colour
opponency, their null level.

References are independent of the code under test: gratings built by hand with a brute-force
maximum over phases, exact symmetries of the pixel grid (90-degree rotations), analytic Gabor
filters rotated by arbitrary angles, and closed forms (a pure red-vs-green filter scores 1;
i.i.d. weights score 2/(3K) on average, a Beta(1, (3K-2)/2) mean for Gaussian ones; a
windowed grating's amplitudes are products of Dirichlet kernels).
"""

import numpy as np
import pytest

import convscope
from convscope import measure, models


def gabor(k, theta, wavelength=4.0, sigma=2.0, phase=0.0):
    """A k x k Gabor whose stripes have orientation theta (degrees, counter-clockwise from
    horizontal as drawn, rows running down)."""
    r = (k - 1) / 2
    y = (r - np.arange(k))[:, None]
    x = (np.arange(k) - r)[None, :]
    t = np.deg2rad(theta)
    return (np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
            * np.cos(2 * np.pi * (y * np.cos(t) - x * np.sin(t)) / wavelength + phase))


def angle_gap(a, b):
    """Distance between two orientations in degrees (180-periodic)."""
    d = np.mod(np.asarray(a) - np.asarray(b), 180.0)
    return np.minimum(d, 180.0 - d)


# -- orientation ---------------------------------------------------------------------------------
def test_gabor_far_above_white_noise():
    g = gabor(9, 30.0)[None, None]
    noise = np.random.default_rng(0).normal(size=(200, 1, 9, 9))
    s_gabor = measure.orientation_selectivity(g)[0]
    s_noise = measure.orientation_selectivity(noise)
    assert s_gabor > 0.8
    assert s_noise.mean() < 0.3
    assert s_gabor > np.quantile(s_noise, 0.99)


def test_stripes_by_hand_give_their_orientation():
    horizontal = np.tile(np.array([1.0, -1.0, 1.0, -1.0, 1.0])[:, None], (1, 5))
    vertical = horizontal.T
    w = np.stack([horizontal, vertical])[:, None]
    np.testing.assert_allclose(angle_gap(measure.preferred_orientation(w), [0.0, 90.0]), 0,
                               atol=1e-9)
    # one frequency and orientation: the energy sits near one orientation (a 5-pixel window
    # leaks some into the others)
    assert np.all(measure.orientation_selectivity(w) > 0.75)


@pytest.mark.parametrize("theta", [0.0, 17.0, 45.0, 120.0])
def test_rot90_is_exact(theta):
    """The 16 sampled orientations are closed under 90-degree turns of the pixel grid."""
    w = gabor(7, theta, wavelength=3.0, sigma=1.5, phase=0.7)
    w = np.stack([w, np.rot90(w)])[:, None]  # np.rot90 turns counter-clockwise as drawn
    s = measure.orientation_selectivity(w)
    p = measure.preferred_orientation(w)
    assert s[0] == pytest.approx(s[1], abs=1e-12)
    assert angle_gap(p[1], p[0] + 90.0) == pytest.approx(0.0, abs=1e-9)
    assert angle_gap(p[0], theta) < 1.0


@pytest.mark.parametrize("theta, turn", [(10.0, 35.0), (0.0, 7.0), (60.0, 100.0)])
def test_rotation_consistent_at_any_angle(theta, turn):
    """A Gabor rotated by any angle keeps its selectivity; its preferred orientation turns
    by the same angle (the doubled-angle mean interpolates between sampled orientations)."""
    w = np.stack([gabor(11, theta, sigma=2.5), gabor(11, theta + turn, sigma=2.5)])[:, None]
    s = measure.orientation_selectivity(w)
    p = measure.preferred_orientation(w)
    assert s[0] == pytest.approx(s[1], abs=0.02)
    assert angle_gap(p[1] - p[0], turn) < 1.5


def test_energy_equals_best_phase_by_brute_force():
    """R(theta) is the squared response at the best phase, summed over wavelengths; and the
    selectivity is 1 - circular variance of R on doubled angles, computed here by hand."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2, 5, 4))
    n, lams = 12, [2.0, 3.0, 5.5]
    energy, angles = measure.grating_energy(w, orientations=n, wavelengths=lams)
    assert energy.shape == (3, n)
    np.testing.assert_allclose(angles, np.arange(n) * 15.0)
    f = w.sum(axis=1)
    phases = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    rows, cols = np.mgrid[0:5, 0:4]
    y, x = 2.0 - rows, cols - 1.5
    brute = np.zeros((3, n))
    for a, theta in enumerate(np.deg2rad(angles)):
        for lam in lams:
            best = np.zeros(3)
            for ph in phases:
                grating = np.cos(2 * np.pi * (y * np.cos(theta) - x * np.sin(theta)) / lam + ph)
                best = np.maximum(best, np.einsum("fhw,hw->f", f, grating) ** 2)
            brute[:, a] += best
    np.testing.assert_allclose(energy, brute, rtol=1e-4)
    doubled = np.exp(2j * np.deg2rad(angles))
    circular_variance = 1 - np.abs((brute * doubled).sum(1)) / brute.sum(1)
    np.testing.assert_allclose(measure.orientation_selectivity(w, n, lams),
                               1 - circular_variance, rtol=1e-4)


def test_isotropic_filters_score_zero_and_luminance_is_channel_sum():
    i = np.arange(9) - 4.0
    blob = np.exp(-(i[:, None] ** 2 + i ** 2) / 4.5)
    assert measure.orientation_selectivity(blob[None, None])[0] == pytest.approx(0, abs=1e-9)
    assert measure.orientation_selectivity(np.zeros((1, 1, 3, 3)))[0] == 0.0
    assert np.isnan(measure.preferred_orientation(np.zeros((1, 1, 3, 3)))[0])
    g = gabor(7, 40.0)
    rgb = np.stack([0.5 * g, 0.2 * g, 0.3 * g])[None]       # the same edge in every channel
    np.testing.assert_allclose(measure.orientation_selectivity(rgb),
                               measure.orientation_selectivity(g[None, None]), rtol=1e-12)
    chromatic = np.stack([g, -g, np.zeros_like(g)])[None]   # sums to zero over channels
    assert measure.orientation_selectivity(chromatic)[0] == 0.0
    # scale does not matter
    np.testing.assert_allclose(measure.orientation_selectivity(7.0 * g[None, None]),
                               measure.orientation_selectivity(g[None, None]), rtol=1e-12)


# -- colour --------------------------------------------------------------------------------------
def test_pure_red_vs_green_scores_one_and_grey_zero():
    k = 5
    red_green = np.stack([np.ones((k, k)), -np.ones((k, k)), np.zeros((k, k))])
    blue_yellow = np.stack([-np.ones((k, k)), -np.ones((k, k)), 2 * np.ones((k, k))])
    grey = np.stack([gabor(k, 30.0)] * 3)
    red = np.stack([np.ones((k, k)), np.zeros((k, k)), np.zeros((k, k))])
    index = measure.colour_opponency(np.stack([red_green, blue_yellow, grey, red]))
    np.testing.assert_allclose(index, [1.0, 1.0, 0.0, 2 / 3], atol=1e-12)


def test_red_green_edge_above_grey_edge():
    """Filters drawn as images around grey: red on the left and green on the right, versus a
    bright-left dark-right grey edge."""
    k = 6
    left = np.zeros((k, k))
    left[:, : k // 2] = 1.0
    red_green_image = np.stack([left, 1 - left, np.zeros((k, k))])
    grey_image = np.stack([left, left, left])
    w = np.stack([red_green_image, grey_image])
    w = w - w.mean(axis=(1, 2, 3), keepdims=True)  # zero is grey
    index = measure.colour_opponency(w)
    assert index[0] > 0.1
    assert index[1] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [3, 5])
def test_random_weights_score_two_over_three_k_squared(k):
    """For i.i.d. symmetric weights the mean is exactly trace(P)/n = 2/(3 k^2); for Gaussian
    ones the index is Beta(1, (3 k^2 - 2)/2), which gives the standard error."""
    n_filters = 4000
    rng = np.random.default_rng(k)
    pixels = k * k
    expected = 2 / (3 * pixels)
    a, b = 1.0, (3 * pixels - 2) / 2
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    gauss = measure.colour_opponency(rng.normal(size=(n_filters, 3, k, k)))
    assert abs(gauss.mean() - expected) < 4 * sd / np.sqrt(n_filters)
    assert gauss.std() == pytest.approx(sd, rel=0.1)
    uniform = measure.colour_opponency(rng.uniform(-1, 1, size=(n_filters, 3, k, k)))
    assert abs(uniform.mean() - expected) < 4 * uniform.std() / np.sqrt(n_filters)


# -- Ringach's circular variance ------------------------------------------------------------
def _grating(n: int, lam: float, degrees: float) -> np.ndarray:
    """A pure n x n grating filter of wavelength lam and stripe orientation `degrees`, in
    the measure's coordinates (x right, y up, centred): cos(k . (x, y))."""
    x = np.arange(n) - (n - 1) / 2
    y = ((n - 1) / 2 - np.arange(n))[:, None]
    t = np.deg2rad(degrees)
    return np.cos(2 * np.pi * (y * np.cos(t) - x * np.sin(t)) / lam)[None, None]


def _dirichlet(q: np.ndarray, n: int) -> np.ndarray:
    """sum over the n centred positions x of exp(i q x) = sin(n q / 2) / sin(q / 2)."""
    q = np.asarray(q, dtype=np.float64)
    small = np.isclose(np.sin(q / 2), 0.0, atol=1e-12)
    safe = np.where(small, 1.0, np.sin(q / 2))
    return np.where(small, n * np.cos(n * q / 2) / np.cos(q / 2), np.sin(n * q / 2) / safe)


def _grating_cv_closed_form(n: int, lam: float, degrees: float, at: float | None = None,
                            orientations: int = 16):
    """Ringach's CV of `_grating` with gratings of wavelength `at` (default: its own), from
    Dirichlet kernels alone: the
    filter is (e^{i k0.p} + e^{-i k0.p}) / 2, so its answer to the grating e^{i k.p} is
    (D(k + k0) + D(k - k0)) / 2 with D the product of one Dirichlet kernel per axis (real:
    the window is centred)."""
    k, t0 = 2 * np.pi / (lam if at is None else at), np.deg2rad(degrees)
    k0 = 2 * np.pi / lam * np.array([-np.sin(t0), np.cos(t0)])  # (kx, ky)
    theta = np.deg2rad(np.arange(orientations) * 180.0 / orientations)
    kk = k * np.stack([-np.sin(theta), np.cos(theta)], axis=1)
    r = np.abs(0.5 * (_dirichlet(kk[:, 0] + k0[0], n) * _dirichlet(kk[:, 1] + k0[1], n)
                      + _dirichlet(kk[:, 0] - k0[0], n) * _dirichlet(kk[:, 1] - k0[1], n)))
    return 1 - abs((r * np.exp(2j * theta)).sum()) / r.sum()


@pytest.mark.parametrize("n, lam, degrees", [(7, 3, 0), (15, 4, 0), (15, 5, 22.5),
                                             (31, 4, 90), (31, 3, 45), (63, 4, 0)])
def test_circular_variance_of_a_grating_is_its_closed_form(n, lam, degrees):
    w = _grating(n, lam, degrees)
    expected = _grating_cv_closed_form(n, lam, degrees)
    assert measure.circular_variance(w, wavelengths=[lam])[0] == pytest.approx(expected,
                                                                               abs=1e-9)
    # the preferred wavelength found from the spectrum is the grating's own
    # (to 0.2%; a 7x7 window shifts the peak of a 3-pixel grating's spectrum by 2%), and
    # the default CV is the closed form at that wavelength
    found = measure.preferred_wavelength(w)[0]
    assert found == pytest.approx(lam, rel=2e-3 if n > 7 else 3e-2)
    assert measure.circular_variance(w)[0] == pytest.approx(
        _grating_cv_closed_form(n, lam, degrees, at=found), abs=1e-9)


def test_circular_variance_of_a_grating_goes_to_zero():
    """A pure grating answers one orientation only in the limit of a large kernel."""
    cv = [measure.circular_variance(_grating(n, 4, 0))[0] for n in (7, 15, 31, 63, 127)]
    assert all(a > b for a, b in zip(cv, cv[1:]))
    assert cv[-1] < 0.01


def test_circular_variance_of_isotropic_filters_is_one():
    """A filter that looks the same after a 90 degree turn answers theta and theta + 90
    alike; the 16 orientations pair up 90 degrees apart and exp(2i theta) cancels: CV = 1."""
    r = np.hypot(*np.meshgrid(np.arange(15) - 7.0, np.arange(15) - 7.0))
    blob = np.exp(-r ** 2 / 4)
    dog = blob / blob.sum() - np.exp(-r ** 2 / 16) / np.exp(-r ** 2 / 16).sum()
    dot = np.zeros((5, 5))
    dot[2, 2] = 1.0
    noise = np.random.default_rng(0).normal(size=(9, 9))
    turned = noise + np.rot90(noise) + np.rot90(noise, 2) + np.rot90(noise, 3)
    w = np.stack([np.pad(f, (15 - len(f)) // 2) for f in (blob, dog, dot, turned)])[:, None]
    assert np.isfinite(measure.preferred_wavelength(w[1:2]))[0]  # the ring's radius
    assert np.isinf(measure.preferred_wavelength(w[:1]))[0]      # a blob: zero frequency
    assert np.allclose(measure.circular_variance(w), 1.0, atol=1e-9)
    assert measure.circular_variance(np.zeros((2, 1, 3, 3))).tolist() == [1.0, 1.0]


def test_circular_variance_is_not_the_energy_form():
    """Ringach's form (amplitude at the preferred frequency) and the energy form (squared,
    summed over wavelengths) are different numbers; both order a grating above noise."""
    noise = np.random.default_rng(1).normal(size=(64, 1, 7, 7))
    cv = measure.circular_variance(noise)
    energy = 1 - measure.orientation_energy_selectivity(noise)
    assert np.abs(cv - energy).max() > 0.05
    assert measure.orientation_selectivity is measure.orientation_energy_selectivity
    grating = _grating(7, 3, 0)
    assert measure.circular_variance(grating)[0] < cv.min()


def test_filter_stats_keys():
    w1 = np.random.default_rng(0).normal(size=(4, 1, 3, 3))
    w3 = np.random.default_rng(0).normal(size=(4, 3, 3, 3))
    assert set(measure.filter_stats(w1)) == {"orientation_selectivity"}
    stats = measure.filter_stats(w3)
    assert set(stats) == {"orientation_selectivity", "colour_opponency"}
    assert stats["colour_opponency"] == pytest.approx(measure.colour_opponency(w3).mean())
    assert stats["orientation_selectivity"] == pytest.approx(
        measure.orientation_selectivity(w3).mean())


# -- null level ----------------------------------------------------------------------------------
def test_null_level_draws_are_the_seeded_initialisations():
    """Draw i is the model `convscope.manual_seed(seed + i)` would build; the global generator
    is left alone."""
    seed, n = 3, 4
    means = []
    for i in range(n):
        convscope.manual_seed(seed + i)
        model = models.cifar_cnn(widths=(8, 16))
        means.append(measure.filter_stats(measure.first_conv_weight(model)))
    convscope.manual_seed(99)
    before = convscope.random.default_rng().bit_generator.state
    null = measure.null_level(lambda rng: models.cifar_cnn(widths=(8, 16), rng=rng), n=n,
                              seed=seed)
    assert convscope.random.default_rng().bit_generator.state == before
    for key in ("orientation_selectivity", "colour_opponency"):
        values = [m[key] for m in means]
        assert null[key]["mean"] == pytest.approx(np.mean(values), rel=1e-12)
        assert null[key]["std"] == pytest.approx(np.std(values, ddof=1), rel=1e-12)


def test_init_factory_matches_whole_model_and_leaves_model_alone():
    model = models.fashion_cnn(widths=(6, 8), rng=np.random.default_rng(5))
    weight_before = measure.first_conv_weight(model).copy()
    cheap = measure.null_level(measure.init_factory(model), n=6, seed=11)
    whole = measure.null_level(lambda rng: models.fashion_cnn(widths=(6, 8), rng=rng), n=6,
                               seed=11)
    assert cheap == whole
    np.testing.assert_array_equal(measure.first_conv_weight(model), weight_before)


def test_null_level_of_rgb_init_near_closed_form():
    """The model's own U(-b, b) init: colour opponency 2/(3*9) for 3x3 filters on average."""
    null = measure.null_level(measure.init_factory(models.cifar_cnn()), n=100)
    col = null["colour_opponency"]
    assert abs(col["mean"] - 2 / 27) < 4 * col["std"] / np.sqrt(100)
    ori = null["orientation_selectivity"]
    assert 0 < ori["std"] < ori["mean"] < 0.5


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: measure.orientation_energy_selectivity(np.zeros((2, 3, 3))), ValueError,
     r"orientation_energy_selectivity: weight must have shape \(C_out, C_in, kh, kw\)"),
    (lambda: measure.orientation_energy_selectivity([[1.0]]), TypeError,
     "orientation_energy_selectivity: weight must be a NumPy array"),
    (lambda: measure.circular_variance(np.zeros((2, 3, 3))), ValueError,
     r"circular_variance: weight must have shape \(C_out, C_in, kh, kw\)"),
    (lambda: measure.circular_variance(np.ones((1, 1, 3, 3)), wavelengths=[1.0]), ValueError,
     r"circular_variance: wavelengths must be a non-empty sequence of numbers >= 2"),
    (lambda: measure.circular_variance(np.ones((1, 1, 3, 3)), orientations=8), ValueError,
     "circular_variance: orientations must be >= 12"),
    (lambda: measure.preferred_wavelength(np.full((1, 1, 3, 3), np.nan)), ValueError,
     "preferred_wavelength: weight holds NaN"),
    (lambda: measure.orientation_selectivity(np.ones((1, 1, 3, 3)), orientations=8),
     ValueError, "orientations must be >= 12, got orientations=8"),
    (lambda: measure.preferred_orientation(np.ones((1, 1, 3, 3)), wavelengths=[1.0]),
     ValueError, "preferred_orientation: wavelengths must be"),
    (lambda: measure.colour_opponency(np.ones((1, 1, 3, 3))), ValueError,
     r"colour_opponency: needs RGB filters \(C_in = 3\)"),
    (lambda: measure.filter_stats(np.full((1, 1, 3, 3), np.nan)), ValueError,
     "filter_stats: weight holds NaN"),
    (lambda: measure.colour_opponency(np.zeros((0, 3, 3, 3))), ValueError, "must not be empty"),
    (lambda: measure.null_level(lambda rng: None, n=3), ValueError,
     "null_level: model_factory returned NoneType"),
    (lambda: measure.null_level(lambda rng: np.ones((1, 1, 3, 3)), n=1), ValueError,
     "null_level: n must be >= 2, got n=1"),
    (lambda: measure.null_level("model"), TypeError, "null_level: model_factory must be"),
    (lambda: measure.init_factory(models.signal_cnn()), ValueError,
     "init_factory: Sequential has no 2-D convolution"),
])
def test_bad_input(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
