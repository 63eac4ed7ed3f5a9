"""The lecture's claim about first-layer filters, measured: oriented edges and opposing colours.

"The filters in the front layers will often learn patterns like oriented edges, opposing
colors." Numbers per filter of a convolution weight ``(C_out, C_in, kh, kw)`` say how much
of that a layer shows, and a null level says what its random initialisation scores already:

- `orientation_energy_selectivity` (also under its earlier name `orientation_selectivity`;
  the ``orientation_selectivity`` of `filter_stats` and metrics.json): the *energy* form,
  1 minus the circular variance of the filter's response energy to sinusoidal gratings
  summed over several wavelengths. For each grating orientation theta (stripe direction)
  the response energy is

      R(theta) = sum over wavelengths lam of  (f . cos_{theta,lam})^2 + (f . sin_{theta,lam})^2

  where cos/sin are the grating at phase 0 and 90 degrees, centred on the kernel: the
  quadrature energy, which equals the squared response at the best phase, so the phase of the
  grating does not matter. Orientation is an axis (0 and 180 degrees are the same), so the
  angles are doubled:

      selectivity = |sum_theta R(theta) exp(2i theta)| / sum_theta R(theta)     in [0, 1]

  1 for a filter that answers a single orientation, 0 for one that answers all alike.
  `preferred_orientation` is half the angle of that sum, in degrees. The formula is Ringach,
  Shapley & Hawken's (2002, "Orientation selectivity in macaque V1"), but they weigh each
  orientation by the response *amplitude at the preferred spatial frequency*, not by the
  energy summed over frequencies: the two are different numbers (squaring sharpens the
  tuning, summing over wavelengths mixes tunings), so this one is named for what it is.
  Its z-scores against the null level compare like with like and stay valid.
- `circular_variance`: Ringach's own circular variance, 1 minus that ratio with the response
  amplitude at the filter's preferred spatial frequency (`preferred_wavelength`, the peak
  of its amplitude spectrum): 0 for a filter that answers one orientation only (a grating
  filter, in the limit of a large kernel), 1 for an isotropic one.
  For C_in > 1 the grating is a grey (luminance) image, the same on every input channel, so
  the filter seen is the sum of its channels ``f = weight.sum(axis=1)``. A purely chromatic
  edge (red minus green, zero sum over channels) therefore scores 0 here; `colour_opponency`
  is the measure that sees colour.
- `colour_opponency` (RGB, C_in == 3): the chromatic part of the filter's per-channel sums
  relative to its norm,

      s_c = sum_{i,j} w[c, i, j]          (the response to a uniform field of colour c)
      opponency = |s - mean(s)|^2 / (K |w|^2)     with K = kh * kw the number of pixels,

  in [0, 1] (Cauchy-Schwarz: s_c^2 <= K |w_c|^2). A pure red-versus-green uniform filter
  (w_R = a, w_G = -a, w_B = 0) scores exactly 1, any grey (luminance-only) filter 0, a pure
  red uniform filter 2/3. It is the share of the filter's energy in the two-dimensional
  subspace of uniform, zero-sum colour patterns, so isotropic random weights score on average
  exactly (C - 1) / (C K) = 2 / (3K): 0.074 for 3x3, 0.027 for 5x5. (The plain share of the
  energy in the colour-contrast part, without the uniform-field restriction, would not do:
  random weights already score 2/3 on it.) Limit: a double-opponent filter whose every
  channel sums to zero (a red|green edge drawn as +edge in R and -edge in G) scores 0, as a
  grey edge does; the index measures answers to uniform (low-frequency) colour fields.
- `null_level`: the same layer means on n draws of the model's own random initialisation,
  as mean and standard deviation; how far above it a trained layer sits is the measurement.

Pure NumPy; `filter_stats` gives the layer means that `convscope train` records.

Example:
    >>> import numpy as np
    >>> x = np.arange(7) - 3.0
    >>> edge = np.broadcast_to(np.sign(x), (7, 7))          # dark left, bright right
    >>> w = edge[None, None] * np.exp(-(x[:, None] ** 2 + x ** 2) / 8)
    >>> float(preferred_orientation(w)[0])                   # a vertical edge
    90.0
    >>> red_green = np.stack([np.ones((5, 5)), -np.ones((5, 5)), np.zeros((5, 5))])
    >>> float(colour_opponency(red_green[None])[0])
    1.0
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np

from ._args import check_int

__all__ = [
    "circular_variance", "colour_opponency", "filter_stats", "first_conv_weight",
    "grating_energy", "init_factory", "NULL_DRAWS", "null_level",
    "orientation_energy_selectivity", "orientation_selectivity", "preferred_orientation",
    "preferred_wavelength", "run_null_level",
]

#: Default number of grating orientations, evenly spaced over [0, 180) degrees.
ORIENTATIONS = 16


def _check_weight(func: str, weight) -> np.ndarray:
    """A finite real 4-D array (C_out, C_in, kh, kw), as float64."""
    if hasattr(weight, "data") and not isinstance(weight, np.ndarray):  # Parameter / Tensor
        weight = weight.data
    if not isinstance(weight, np.ndarray):
        raise TypeError(f"{func}: weight must be a NumPy array (C_out, C_in, kh, kw), got "
                        f"{type(weight).__name__}")
    if weight.ndim != 4:
        raise ValueError(f"{func}: weight must have shape (C_out, C_in, kh, kw) (a 2-D "
                         f"convolution's), got shape {weight.shape}")
    if 0 in weight.shape:
        raise ValueError(f"{func}: weight must not be empty, got shape {weight.shape}")
    if not (np.issubdtype(weight.dtype, np.floating) or np.issubdtype(weight.dtype, np.integer)):
        raise TypeError(f"{func}: weight must hold real numbers, got dtype {weight.dtype}")
    weight = weight.astype(np.float64)
    if not np.all(np.isfinite(weight)):
        raise ValueError(f"{func}: weight holds NaN or infinite values")
    return weight


def _default_wavelengths(kh: int, kw: int) -> np.ndarray:
    """Five wavelengths, geometrically spaced from 2 pixels (the finest grating a grid holds)
    to twice the kernel's larger side (about one light and one dark band across it)."""
    return np.geomspace(2.0, 2.0 * max(kh, kw, 2), 5)


def _check_design(func: str, orientations, wavelengths, kh: int, kw: int):
    # Ringach et al. sample orientation at 12 or more angles
    orientations = check_int(orientations, func=func, arg="orientations", minimum=12)
    if wavelengths is None:
        return int(orientations), _default_wavelengths(kh, kw)
    lam = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
    if lam.size == 0 or not np.all(np.isfinite(lam)) or np.any(lam < 2):
        raise ValueError(f"{func}: wavelengths must be a non-empty sequence of numbers >= 2 "
                         f"(pixels; 2 is the finest grating), got wavelengths={wavelengths!r}")
    return int(orientations), lam


def grating_energy(weight, orientations: int = ORIENTATIONS,
                   wavelengths: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The response energy R(theta) of every filter to grey sinusoidal gratings.

    A grating of stripe orientation theta (degrees, counter-clockwise from horizontal as the
    filter is drawn, rows running down) and wavelength lam, centred on the kernel, at pixel
    (row i, column j) with x = j - (kw - 1) / 2 and y = (kh - 1) / 2 - i is
    ``cos(2 pi (y cos(theta) - x sin(theta)) / lam + phase)``; its wave vector is
    perpendicular to the stripes. The energy sums, over the wavelengths, the squared
    responses to phases 0 and 90 degrees (the quadrature energy: the squared response at the
    best phase).

    Args:
        weight: (C_out, C_in, kh, kw); the channels are summed (a grey grating).
        orientations: how many orientations, evenly spaced over [0, 180); >= 12.
        wavelengths: in pixels, each >= 2 (default: 5 from 2 to twice the larger side).

    Returns:
        ``(energy, angles)``: energy (C_out, orientations), angles in degrees (orientations,).
    """
    func = "grating_energy"
    w = _check_weight(func, weight).sum(axis=1)  # (C_out, kh, kw): the luminance filter
    squared, angles, _ = _grating_responses(func, weight, orientations, wavelengths)
    return squared.sum(axis=2), angles  # (C_out, orientations)


def _grating_responses(func: str, weight, orientations, wavelengths):
    """(squared quadrature response (C_out, orientations, wavelengths), angles in degrees,
    wavelengths) of the luminance filters to the grey gratings of `grating_energy`."""
    w = _check_weight(func, weight).sum(axis=1)  # (C_out, kh, kw): the luminance filter
    _, kh, kw = w.shape
    n, lam = _check_design(func, orientations, wavelengths, kh, kw)
    angles = np.arange(n) * (180.0 / n)
    theta = np.deg2rad(angles)
    y = ((kh - 1) / 2 - np.arange(kh))[:, None]
    x = (np.arange(kw) - (kw - 1) / 2)[None, :]
    # phase of every grating at every pixel: (orientations, wavelengths, kh, kw)
    along = (y[None] * np.cos(theta)[:, None, None] - x[None] * np.sin(theta)[:, None, None])
    phase = 2 * np.pi * along[:, None] / lam[None, :, None, None]
    cos_part = np.einsum("fhw,olhw->fol", w, np.cos(phase))
    sin_part = np.einsum("fhw,olhw->fol", w, np.sin(phase))
    return cos_part ** 2 + sin_part ** 2, angles, lam


def _amplitude(w: np.ndarray, fy: np.ndarray, fx: np.ndarray) -> np.ndarray:
    """|sum_p w[p] exp(-2 pi i (fy y + fx x))| of each filter w (C, kh, kw) at per-filter
    frequency points (C, m) in cycles per pixel, with the kernel's centred coordinates."""
    _, kh, kw = w.shape
    y = (kh - 1) / 2 - np.arange(kh)
    x = np.arange(kw) - (kw - 1) / 2
    ey = np.exp(-2j * np.pi * fy[..., None] * y)  # (C, m, kh)
    ex = np.exp(-2j * np.pi * fx[..., None] * x)  # (C, m, kw)
    return np.abs(np.einsum("chw,cmh,cmw->cm", w, ey, ex))


def preferred_wavelength(weight) -> np.ndarray:
    """Per filter, the wavelength (pixels) of the grey grating it answers most, at any
    orientation: the peak of the amplitude of its (luminance) filter's Fourier transform,
    found on a zero-padded FFT and refined twice on a finer grid around it. inf when the
    peak is at zero frequency (a filter that answers a uniform field most, e.g. a blob).

    Example:
        >>> x = np.arange(31) - 15.0
        >>> stripes = np.cos(2 * np.pi * x / 4) * np.ones((31, 1))
        >>> float(preferred_wavelength(stripes[None, None])[0].round(3))
        4.0
    """
    w = _check_weight("preferred_wavelength", weight).sum(axis=1)
    c, kh, kw = w.shape
    size = max(128, 16 * max(kh, kw))
    spectrum = np.abs(np.fft.fft2(w, s=(size, size))).reshape(c, -1)
    peak = spectrum.argmax(axis=1)
    freq = np.fft.fftfreq(size)
    # rows of the FFT run down (y = -i), the gratings' y runs up: flip the sign of fy
    fy, fx = -freq[peak // size], freq[peak % size]
    step = 1.0 / size
    for _ in range(2):  # refine: 21 x 21 points within one step around the best so far
        offsets = np.linspace(-step, step, 21)
        grid = np.zeros((c, len(offsets), len(offsets)))
        gy = (fy[:, None, None] + offsets[None, :, None] + grid).reshape(c, -1)
        gx = (fx[:, None, None] + offsets[None, None, :] + grid).reshape(c, -1)
        best = _amplitude(w, gy, gx).argmax(axis=1)
        fy, fx = gy[np.arange(c), best], gx[np.arange(c), best]
        step /= 10
    radius = np.hypot(fy, fx)
    with np.errstate(divide="ignore"):
        return np.where(radius > step, 1.0 / radius, np.inf)


def circular_variance(weight, orientations: int = ORIENTATIONS,
                      wavelengths: Sequence[float] | None = None) -> np.ndarray:
    """Per filter, Ringach's circular variance of its orientation tuning, in [0, 1].

    Ringach, Shapley & Hawken (2002): with r(theta) the response *amplitude* to a grey
    grating of orientation theta at the filter's preferred spatial frequency,

        CV = 1 - |sum_theta r(theta) exp(2i theta)| / sum_theta r(theta)

    0 for a filter that answers one orientation only, 1 for one that answers all alike
    (a single pixel, a blob, an all-zero filter). The amplitude is the quadrature amplitude
    (the response at the grating's best phase, so the phase does not matter). The preferred
    spatial frequency is `preferred_wavelength` (the peak of the filter's amplitude
    spectrum; a grating of infinite wavelength is a uniform field), or, when `wavelengths`
    are given, the one of them at which the best orientation answers most (as an
    experimenter's set of gratings would find it). Not the same number as
    ``1 - orientation_energy_selectivity``, which sums squared responses over several
    wavelengths.

    A grating filter of finite size still answers nearby orientations (its tuning is about
    one wavelength over the kernel's side wide), so its CV tends to 0 as the kernel grows:
    0.14 for a 15x15 kernel of 4-pixel stripes, 0.06 at 31x31, 0.016 at 63x63.

    Args:
        weight: (C_out, C_in, kh, kw); for C_in > 1 the grating is grey (channels summed).
        orientations: how many orientations, evenly spaced over [0, 180); >= 12.
        wavelengths: candidate wavelengths in pixels, each >= 2 (default: the spectrum's
            peak, any wavelength).

    Returns:
        float64 array (C_out,), values in [0, 1].

    Example:
        >>> x = np.arange(31) - 15.0
        >>> stripes = np.cos(2 * np.pi * x / 4) * np.ones((31, 1))      # vertical stripes
        >>> float(circular_variance(stripes[None, None]).round(2)[0])
        0.06
        >>> dot = np.zeros((1, 1, 5, 5)); dot[0, 0, 2, 2] = 1.0          # one pixel: isotropic
        >>> float(circular_variance(dot)[0])
        1.0
    """
    func = "circular_variance"
    if wavelengths is not None:
        squared, angles, _ = _grating_responses(func, weight, orientations, wavelengths)
        amplitude = np.sqrt(squared)  # (C_out, orientations, wavelengths)
        best = amplitude.max(axis=1).argmax(axis=1)
        r = np.take_along_axis(amplitude, best[:, None, None], axis=2)[:, :, 0]
    else:
        w = _check_weight(func, weight).sum(axis=1)
        n, _ = _check_design(func, orientations, None, *w.shape[1:])
        angles = np.arange(n) * (180.0 / n)
        theta = np.deg2rad(angles)
        with np.errstate(divide="ignore"):
            f = 1.0 / preferred_wavelength(weight)  # cycles per pixel, 0 for inf
        # the grating of orientation theta has wave vector f (-sin theta, cos theta)
        r = _amplitude(w, f[:, None] * np.cos(theta)[None], -f[:, None] * np.sin(theta)[None])
    total = r.sum(axis=1)
    vector = r @ np.exp(2j * np.deg2rad(angles))
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = 1.0 - np.abs(vector) / total
    return np.where(total > 0, np.clip(variance, 0.0, 1.0), 1.0)


def _orientation_vector(weight, orientations, wavelengths, func: str):
    """sum_theta R(theta) exp(2i theta) and sum_theta R(theta), per filter."""
    try:
        energy, angles = grating_energy(weight, orientations, wavelengths)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("grating_energy:", f"{func}:", 1)) from None
    doubled = np.exp(2j * np.deg2rad(angles))
    return energy @ doubled, energy.sum(axis=1)


def orientation_energy_selectivity(weight, orientations: int = ORIENTATIONS,
                                   wavelengths: Sequence[float] | None = None) -> np.ndarray:
    """Per filter, 1 minus the circular variance of its grating response *energy* summed
    over the wavelengths (also available as `orientation_selectivity`, its earlier name).

    ``|sum_theta R(theta) exp(2i theta)| / sum_theta R(theta)`` with R from `grating_energy`:
    1 for a filter that answers one orientation only, 0 for one that answers every
    orientation alike (and for an all-zero filter). Ringach et al.'s (2002) formula on the
    energy over several wavelengths, not on the amplitude at the preferred spatial frequency
    as they define the circular variance (that is `circular_variance`).

    Args:
        weight: (C_out, C_in, kh, kw); for C_in > 1 the grating is grey (channels summed).
        orientations, wavelengths: the gratings (see `grating_energy`).

    Returns:
        float64 array (C_out,), values in [0, 1].

    Example:
        >>> noise = np.random.default_rng(0).normal(size=(64, 1, 9, 9))
        >>> 0.1 < float(orientation_energy_selectivity(noise).mean()) < 0.4
        True
    """
    vector, total = _orientation_vector(weight, orientations, wavelengths,
                                        "orientation_energy_selectivity")
    with np.errstate(invalid="ignore", divide="ignore"):
        selectivity = np.abs(vector) / total
    return np.where(total > 0, np.clip(selectivity, 0.0, 1.0), 0.0)


#: The earlier name of `orientation_energy_selectivity` (the same function).
orientation_selectivity = orientation_energy_selectivity


def preferred_orientation(weight, orientations: int = ORIENTATIONS,
                          wavelengths: Sequence[float] | None = None) -> np.ndarray:
    """Per filter, the orientation of the stripes it answers most, in degrees in [0, 180).

    Half the angle of ``sum_theta R(theta) exp(2i theta)`` (the circular mean of the doubled
    angles), so it lies between the sampled orientations when the peak does. 0 is a
    horizontal edge, 90 a vertical one, 45 an edge rising to the right as the filter is drawn
    (rows running down). NaN for a filter that answers no grating (all zero).

    Returns:
        float64 array (C_out,).
    """
    vector, total = _orientation_vector(weight, orientations, wavelengths,
                                        "preferred_orientation")
    degrees = np.mod(np.rad2deg(np.angle(vector)) / 2, 180.0)
    degrees = np.where(np.isclose(degrees, 180.0), 0.0, degrees)
    return np.where(total > 0, degrees, np.nan)


def colour_opponency(weight) -> np.ndarray:
    """Per RGB filter, the chromatic part of its channel sums relative to its norm.

    ``|s - mean(s)|^2 / (K |w|^2)`` with ``s_c = sum_{i,j} w[c, i, j]`` (the answer to a
    uniform field of colour c) and K = kh * kw: 1 for a pure red-versus-green (or any
    zero-sum colour) uniform filter, 0 for any grey filter and for an all-zero one, 2/(3K) on
    average for isotropic random weights (see the module docstring).

    Args:
        weight: (C_out, 3, kh, kw), the channels in RGB order.

    Returns:
        float64 array (C_out,), values in [0, 1].
    """
    func = "colour_opponency"
    w = _check_weight(func, weight)
    if w.shape[1] != 3:
        raise ValueError(f"colour_opponency: needs RGB filters (C_in = 3), got weight of "
                         f"shape {w.shape} (C_in = {w.shape[1]})")
    pixels = w.shape[2] * w.shape[3]
    sums = w.sum(axis=(2, 3))  # (C_out, 3)
    chromatic = ((sums - sums.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    norm = pixels * (w ** 2).sum(axis=(1, 2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        index = chromatic / norm
    return np.where(norm > 0, np.clip(index, 0.0, 1.0), 0.0)


def filter_stats(weight) -> dict[str, float]:
    """The layer means: ``orientation_selectivity`` (the energy form,
    `orientation_energy_selectivity`; the key keeps its name so that earlier runs'
    metrics.json read the same), and ``colour_opponency`` when C_in == 3.

    Example:
        >>> w = np.zeros((2, 3, 3, 3)); w[:, 0] = 1; w[:, 1] = -1   # red minus green
        >>> filter_stats(w)
        {'orientation_selectivity': 0.0, 'colour_opponency': 1.0}
    """
    w = _check_weight("filter_stats", weight)
    stats = {"orientation_selectivity": float(orientation_energy_selectivity(w).mean())}
    if w.shape[1] == 3:
        stats["colour_opponency"] = float(colour_opponency(w).mean())
    return stats


# -- the null level: the model's own random initialisation ----------------------------------
def first_conv_weight(model) -> np.ndarray | None:
    """The weight array of the first 2-D convolution of `model` (a Module), or None.

    An array of rank 4 is returned as it is; a Module's parameters are searched in
    registration order for the first ``...weight`` of rank 4.
    """
    if isinstance(model, np.ndarray):
        return model if model.ndim == 4 else None
    named = getattr(model, "named_parameters", None)
    if named is None:
        return None
    for name, p in named():
        if name.endswith("weight") and p.data.ndim == 4:
            return p.data
    return None


def _first_conv_module(model):
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if (hasattr(module, "reset_parameters") and weight is not None
                and weight.data.ndim == 4):
            return module
    return None


def init_factory(model) -> Callable[[np.random.Generator], np.ndarray]:
    """A cheap factory for `null_level`: only the first convolution of `model`, re-drawn.

    ``init_factory(model)(rng)`` re-initialises a private copy of the model's first 2-D
    convolution with ``reset_parameters(rng)`` and returns its weight. The model itself is not
    touched. When the model is built with a fresh generator its first convolution's weight is
    the first thing drawn from it (the `models` factories build layers in order), so this gives
    the very weights that ``factory(rng=rng)`` of the whole model would, at a fraction of the
    cost.
    """
    layer = _first_conv_module(model)
    if layer is None:
        raise ValueError(f"init_factory: {type(model).__name__} has no 2-D convolution with "
                         f"reset_parameters")
    layer = copy.deepcopy(layer)

    def factory(rng: np.random.Generator) -> np.ndarray:
        layer.reset_parameters(rng)
        return layer.weight.data.copy()

    return factory


#: Draws of the null level of a training run (`run_null_level`).
NULL_DRAWS = 100


def run_null_level(model, seed: int, n: int = NULL_DRAWS) -> dict[str, dict[str, float]]:
    """The null level of a training run: the one definition `convscope train`, its report
    and ``convscope viz filters`` share.

    `null_level` of `init_factory(model)` (the first 2-D convolution of `model`, which may
    be that convolution itself, re-drawn on its own) over n initialisations from seeds
    ``seed + 1`` to ``seed + n``, where `seed` is the run's seed: the run's own
    initialisation (seed `seed`) is not among them.

    Example:
        >>> from convscope import nn
        >>> layer = nn.Conv2d(1, 4, 5, rng=np.random.default_rng(0))
        >>> run_null_level(layer, seed=0, n=5) == null_level(init_factory(layer), n=5, seed=1)
        True
    """
    seed = check_int(seed, func="run_null_level", arg="seed", minimum=0)
    return null_level(init_factory(model), n=n, seed=seed + 1)


def null_level(model_factory: Callable[[np.random.Generator], object], n: int = 100,
               seed: int = 0) -> dict[str, dict[str, float]]:
    """`filter_stats` of the first convolution over n random initialisations: mean and std.

    Draw i calls ``model_factory(numpy.random.default_rng(seed + i))``: the generator that
    ``convscope.manual_seed(seed + i)`` installs, so with a `models` factory draw i is the
    initialisation that ``convscope train --seed <seed + i>`` starts from. The global
    generator is not touched.

    Args:
        model_factory: called with a `numpy.random.Generator`; returns a Module (its first
            2-D convolution is measured) or the weight array itself, e.g.
            ``lambda rng: models.fashion_cnn(rng=rng)`` or ``init_factory(model)``.
        n: number of draws (>= 2, for a standard deviation).
        seed: the first draw's seed (>= 0).

    Returns:
        ``{measure: {"mean": ..., "std": ...}}`` for each key of `filter_stats`; std is the
        sample standard deviation (ddof=1) of the n layer means.

    Example:
        >>> from convscope import models
        >>> null = null_level(lambda rng: models.fashion_cnn(widths=(8, 16), rng=rng), n=5)
        >>> sorted(null), sorted(null["orientation_selectivity"])
        (['orientation_selectivity'], ['mean', 'std'])
    """
    func = "null_level"
    if not callable(model_factory):
        raise TypeError(f"{func}: model_factory must be callable (rng -> model or weight), "
                        f"got {type(model_factory).__name__}")
    n = check_int(n, func=func, arg="n", minimum=2)
    seed = check_int(seed, func=func, arg="seed", minimum=0)
    rows: list[dict[str, float]] = []
    for i in range(n):
        made = model_factory(np.random.default_rng(seed + i))
        weight = first_conv_weight(made)
        if weight is None:
            raise ValueError(f"{func}: model_factory returned {type(made).__name__}, which "
                             f"has no 2-D convolution weight")
        rows.append(filter_stats(weight))
    return {key: {"mean": float(np.mean([r[key] for r in rows])),
                  "std": float(np.std([r[key] for r in rows], ddof=1))}
            for key in rows[0]}
