"""Activations, PyTorch's `relu`, `leaky_relu`, `gelu` (with `erf`), `sigmoid`, `tanh`,
`softmax` and `log_softmax`: elementwise (or per-`dim`) NumPy, each with its closed-form
gradient."""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as _cheb

from ._common import check_dim, float_input, log_softmax_array, unary
from ._graph import _array

__all__ = ["relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "erf"]


def relu(input):
    """max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch.

    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    x = float_input(input, "relu")
    y = np.maximum(x, 0)
    return unary(input, y, lambda g: g * (y > 0), "relu")


def leaky_relu(input, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise.

    >>> leaky_relu(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    x = float_input(input, "leaky_relu")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got "
                        f"negative_slope={negative_slope!r}")
    positive = x > 0
    y = np.where(positive, x, x * x.dtype.type(negative_slope))
    return unary(input, y, lambda g: np.where(positive, g, g * g.dtype.type(negative_slope)),
                  "leaky_relu")


def _erf_pieces(edges=(0.0, 1.0, 2.0, 3.0, 4.5, 6.0), degree=24):
    """Chebyshev interpolants of math.erf on [edges[i], edges[i+1]] (computed once).

    erf is entire, so degree-24 interpolation on these short pieces agrees with math.erf to
    a few ulps in float64 (checked in the tests), and the evaluation is a handful of
    vectorised Clenshaw steps instead of a Python call per element.
    """
    merf = np.vectorize(math.erf)
    return [(a, b, _cheb.Chebyshev.interpolate(merf, degree, domain=[a, b]))
            for a, b in zip(edges[:-1], edges[1:])]


_ERF_PIECES = _erf_pieces()


def erf(x):
    """The error function of a float array, accurate to ~1e-15 (no SciPy needed).

    Piecewise Chebyshev interpolation of `math.erf` on [0, 6], odd symmetry, and
    erf(|x| >= 6) = ±1 (1 - erf(6) is 2e-17). NaN stays NaN.

    >>> float(erf(np.array(0.5)))  # doctest: +ELLIPSIS
    0.5204998778...
    """
    x = _array(x, "erf", "x")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"erf: x must be a real array or number, got dtype {x.dtype}")
    a = np.abs(x).astype(np.float64)
    out = np.ones_like(a)
    out[np.isnan(a)] = np.nan
    for lo, hi, poly in _ERF_PIECES:
        sel = (a >= lo) & (a < hi)
        if sel.any():
            out[sel] = poly(a[sel])
    return (np.sign(x) * out).astype(x.dtype if x.dtype.kind == "f" else np.float64)


_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    Args:
        approximate: 'none' (exact, through `erf`) or 'tanh'
            (0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))), as PyTorch.

    >>> gelu(np.array([0.0, 1.0]))  # doctest: +ELLIPSIS
    array([0.        , 0.84134...])
    """
    func = "gelu"
    x = float_input(input, func)
    if not isinstance(approximate, str):
        raise TypeError(f"{func}: approximate must be 'none' or 'tanh', got "
                        f"approximate={approximate!r:.40}")
    if approximate == "none":
        cdf = 0.5 * (1.0 + erf(x / _SQRT_2))
        y = x * cdf

        def grad(g):  # d/dx x Phi(x) = Phi(x) + x phi(x)
            pdf = np.exp(-0.5 * x * x) * x.dtype.type(_INV_SQRT_2PI)
            return g * (cdf + x * pdf)
    elif approximate == "tanh":
        inner = x.dtype.type(_SQRT_2_OVER_PI) * (x + x.dtype.type(0.044715) * x ** 3)
        t = np.tanh(inner)
        y = 0.5 * x * (1.0 + t)

        def grad(g):
            dinner = x.dtype.type(_SQRT_2_OVER_PI) * (1.0 + x.dtype.type(3 * 0.044715) * x * x)
            return g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner)
    else:
        raise ValueError(f"{func}: approximate must be 'none' or 'tanh', got "
                         f"approximate={approximate!r}")
    return unary(input, y.astype(x.dtype, copy=False), grad, func)


def sigmoid(input):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 so that no exp overflows.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    x = float_input(input, "sigmoid")
    y = 0.5 * (1.0 + np.tanh(0.5 * x))
    return unary(input, y, lambda g: g * y * (1.0 - y), "sigmoid")


def tanh(input):
    """Hyperbolic tangent elementwise; the gradient is 1 - tanh(x)^2.

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    x = float_input(input, "tanh")
    y = np.tanh(x)
    return unary(input, y, lambda g: g * (1.0 - y * y), "tanh")


def softmax(input, dim):
    """exp(x) / sum(exp(x)) along `dim`, shifted by the maximum for stability.

    >>> softmax(np.array([0.0, 0.0]), dim=0)
    array([0.5, 0.5])
    """
    x = float_input(input, "softmax")
    dim = check_dim("softmax", dim, x.ndim)
    y = np.exp(log_softmax_array(x, dim))
    return unary(input, y, lambda g: y * (g - (g * y).sum(axis=dim, keepdims=True)),
                  "softmax")


def log_softmax(input, dim):
    """x - logsumexp(x) along `dim`, stable for large inputs.

    >>> log_softmax(np.array([0.0, 0.0]), dim=0)  # doctest: +ELLIPSIS
    array([-0.693..., -0.693...])
    """
    x = float_input(input, "log_softmax")
    dim = check_dim("log_softmax", dim, x.ndim)
    y = log_softmax_array(x, dim)
    return unary(input, y, lambda g: g - np.exp(y) * g.sum(axis=dim, keepdims=True),
                  "log_softmax")
