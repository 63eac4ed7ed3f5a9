"""Activations, linear, pooling, batch norm, dropout and losses: the public functions.

Each function validates its arguments once, calls a pure NumPy kernel (`kernels.pool`,
`kernels.norm`, or a few lines here for the elementwise ones), and, when given `Tensor`s
that require grad, records the closed-form backward. NumPy arrays in give NumPy arrays out;
Tensors in give a Tensor out. Signatures and semantics are PyTorch's (`torch.nn.functional`).

Pooling output size along each spatial dimension (PyTorch's rule)::

    out = floor_or_ceil((S + 2P - d*(K - 1) - 1) / s) + 1

where ceil_mode rounds up but drops a last window that would start in the right padding.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev as _cheb

from .. import _args
from ..autograd import Tensor, reshape_like
from ..kernels import norm as norm_kernel
from ..kernels import pool as pool_kernel
from ..random import default_rng
from ._graph import _array, _result, _wants

__all__ = ["relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "erf",
           "linear",
           "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "batch_norm", "dropout", "flatten",
           "cross_entropy", "nll_loss", "mse_loss"]


# -- plumbing ----------------------------------------------------------------------------------
def _float_input(value, func, arg="input"):
    x = _array(value, func, arg)
    _args.check_float(func, **{arg: x})
    return x


def _unary(input, out, grad_fn, op):
    """One-input elementwise op: grad_fn(g) -> dL/dinput."""
    return _result(out, (input,), lambda g: (grad_fn(g),), op)


def _dim(func, dim, ndim):
    if not _args.is_int(dim):
        raise TypeError(f"{func}: dim must be an int, got dim={dim!r}")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{func}: dim={dim} is out of range for an input with {ndim} "
                         f"dimensions")
    return dim % max(ndim, 1)


# -- activations -------------------------------------------------------------------------------
def relu(input):
    """max(x, 0) elementwise; the gradient at 0 is 0, as in PyTorch.

    >>> relu(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    x = _float_input(input, "relu")
    y = np.maximum(x, 0)
    return _unary(input, y, lambda g: g * (y > 0), "relu")


def leaky_relu(input, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise.

    >>> leaky_relu(np.array([-1.0, 2.0]), 0.1)
    array([-0.1,  2. ])
    """
    x = _float_input(input, "leaky_relu")
    if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
        raise TypeError(f"leaky_relu: negative_slope must be a number, got "
                        f"negative_slope={negative_slope!r}")
    positive = x > 0
    y = np.where(positive, x, x * x.dtype.type(negative_slope))
    return _unary(input, y, lambda g: np.where(positive, g, g * g.dtype.type(negative_slope)),
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
    x = np.asarray(x)
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
    x = _float_input(input, func)
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
    return _unary(input, y.astype(x.dtype, copy=False), grad, func)


def sigmoid(input):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x/2)) / 2 so that no exp overflows.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    x = _float_input(input, "sigmoid")
    y = 0.5 * (1.0 + np.tanh(0.5 * x))
    return _unary(input, y, lambda g: g * y * (1.0 - y), "sigmoid")


def tanh(input):
    """Hyperbolic tangent elementwise; the gradient is 1 - tanh(x)^2.

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    x = _float_input(input, "tanh")
    y = np.tanh(x)
    return _unary(input, y, lambda g: g * (1.0 - y * y), "tanh")


def _log_softmax(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)  # the max shift makes exp safe
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def softmax(input, dim):
    """exp(x) / sum(exp(x)) along `dim`, shifted by the maximum for stability.

    >>> softmax(np.array([0.0, 0.0]), dim=0)
    array([0.5, 0.5])
    """
    x = _float_input(input, "softmax")
    dim = _dim("softmax", dim, x.ndim)
    y = np.exp(_log_softmax(x, dim))
    return _unary(input, y, lambda g: y * (g - (g * y).sum(axis=dim, keepdims=True)),
                  "softmax")


def log_softmax(input, dim):
    """x - logsumexp(x) along `dim`, stable for large inputs.

    >>> log_softmax(np.array([0.0, 0.0]), dim=0)  # doctest: +ELLIPSIS
    array([-0.693..., -0.693...])
    """
    x = _float_input(input, "log_softmax")
    dim = _dim("log_softmax", dim, x.ndim)
    y = _log_softmax(x, dim)
    return _unary(input, y, lambda g: g - np.exp(y) * g.sum(axis=dim, keepdims=True),
                  "log_softmax")


# -- linear ------------------------------------------------------------------------------------
def linear(input, weight, bias=None):
    """x @ weight.T + bias, PyTorch's layout.

    Args:
        input: (*, in_features).
        weight: (out_features, in_features).
        bias: (out_features,) or None.

    Shape: (*, out_features).

    >>> linear(np.ones((2, 3)), np.ones((4, 3))).shape
    (2, 4)
    """
    func = "linear"
    x, w, b = (_array(v, func, a) for v, a in
               ((input, "input"), (weight, "weight"), (bias, "bias")))
    _args.check_float(func, input=x, weight=w, bias=b)
    if w.ndim != 2:
        raise ValueError(f"{func}: weight must have shape (out_features, in_features), got "
                         f"shape {tuple(w.shape)}")
    if x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"{func}: input of shape {tuple(x.shape)} has last dimension "
                         f"{x.shape[-1] if x.ndim else None} but weight of shape "
                         f"{tuple(w.shape)} expects in_features={w.shape[1]}")
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"{func}: bias must have shape ({w.shape[0]},), got shape "
                         f"{tuple(b.shape)}")
    y = x @ w.T
    if b is not None:
        y = y + b

    def backward(g):
        g2 = g.reshape(-1, w.shape[0])
        gx = g @ w if _wants(input) else None
        gw = g2.T @ x.reshape(-1, w.shape[1]) if _wants(weight) else None
        gb = g2.sum(axis=0) if _wants(bias) else None
        return gx, gw, gb

    return _result(y, (input, weight, bias), backward, func)


# -- pooling -----------------------------------------------------------------------------------
def _pool_geometry(func, shape, n, kernel_size, stride, padding, dilation, ceil_mode):
    """Explicit (K, s, p, d, out_size) for a pooling over spatial `shape`, checked."""
    K = _args.ntuple(kernel_size, n, func=func, arg="kernel_size")
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        s = K  # PyTorch's default: non-overlapping windows
    else:
        s = _args.ntuple(stride, n, func=func, arg="stride")
    p = _args.ntuple(padding, n, func=func, arg="padding", minimum=0)
    d = _args.ntuple(dilation, n, func=func, arg="dilation")
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{func}: ceil_mode must be a bool, got ceil_mode={ceil_mode!r}")
    if any(pi > k // 2 for pi, k in zip(p, K)):
        raise ValueError(f"{func}: padding={p} must be at most half of kernel_size={K}")
    out = []
    for S, k, si, pi, di in zip(shape, K, s, p, d):
        span = di * (k - 1) + 1
        if span > S + 2 * pi:
            raise ValueError(f"{func}: kernel_size={K} with dilation={d} spans {span}, "
                             f"larger than the padded input {S + 2 * pi} (input {S} + "
                             f"padding 2 x {pi})")
        num = S + 2 * pi - span
        o = (-(-num // si) if ceil_mode else num // si) + 1
        if ceil_mode and (o - 1) * si >= S + pi:
            o -= 1  # the last window would start in the right padding
        out.append(o)
    return K, s, p, d, tuple(out)


def _batched(func, input, n):
    x = _float_input(input, func)
    batched = _args.check_input_rank(func, x.shape, n)
    return x, (x if batched else x[None]), batched


def max_pool(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
             ndim, _func="max_pool"):
    """N-d max pooling; see `max_pool2d` for the arguments."""
    x, xb, batched = _batched(_func, input, ndim)
    K, s, p, d, out_size = _pool_geometry(_func, xb.shape[2:], ndim, kernel_size, stride,
                                          padding, dilation, ceil_mode)
    y, saved = pool_kernel.max_pool_forward(xb, K, s, p, d, out_size)

    def backward(g):
        gb = g if batched else g[None]
        gx = pool_kernel.max_pool_backward(gb, saved, xb.shape, K, s, p, d)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"max_pool{ndim}d")


def avg_pool(input, kernel_size, stride=None, padding=0, ceil_mode=False,
             count_include_pad=True, *, ndim, _func="avg_pool"):
    """N-d average pooling; see `avg_pool2d` for the arguments."""
    x, xb, batched = _batched(_func, input, ndim)
    K, s, p, _, out_size = _pool_geometry(_func, xb.shape[2:], ndim, kernel_size, stride,
                                          padding, 1, ceil_mode)
    y, saved = pool_kernel.avg_pool_forward(xb, K, s, p, out_size, ceil_mode,
                                            bool(count_include_pad))

    def backward(g):
        gb = g if batched else g[None]
        gx = pool_kernel.avg_pool_backward(gb, saved, xb.shape, K, s, p)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"avg_pool{ndim}d")


def adaptive_avg_pool(input, output_size, *, ndim, _func="adaptive_avg_pool"):
    """N-d adaptive average pooling; see `adaptive_avg_pool2d`."""
    x, xb, batched = _batched(_func, input, ndim)
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * ndim
    if len(sizes) != ndim:
        raise ValueError(f"{_func}: output_size needs 1 or {ndim} values, got "
                         f"output_size={output_size!r}")
    # None keeps the input's size along that dimension, as in PyTorch
    sizes = tuple(S if o is None else o for o, S in zip(sizes, xb.shape[2:]))
    out_size = _args.ntuple(sizes, ndim, func=_func, arg="output_size")
    if any(S == 0 for S in xb.shape[2:]):
        raise ValueError(f"{_func}: input spatial size {tuple(xb.shape[2:])} must be "
                         f"non-empty")
    y, mats = pool_kernel.adaptive_avg_pool_forward(xb, out_size)

    def backward(g):
        gx = pool_kernel.adaptive_avg_pool_backward(g if batched else g[None], mats)
        return (gx if batched else gx[0],)

    return _result(y if batched else y[0], (input,), backward, f"adaptive_avg_pool{ndim}d")


_POOL_SHAPES = {1: ("L", "K"), 2: ("H, W", "K_h, K_w"), 3: ("D, H, W", "K_d, K_h, K_w")}

_MAX_DOC = """{n}-D max pooling, PyTorch's `max_pool{n}d`: the maximum of each window.

    Args:
        input: (N, C, {S}) or (C, {S}).
        kernel_size: int or {n} ints ({K}).
        stride: int or {n} ints; default kernel_size.
        padding: implicit -inf padding on both sides, at most kernel_size // 2.
        dilation: spacing of the window's taps.
        ceil_mode: round the output size up (a last partial window, if it starts inside
            the input or the left padding).

    Shape: out = floor_or_ceil((S + 2P - dilation*(K-1) - 1) / stride) + 1.

    The gradient goes to the first maximum of each window (ties: the earliest in the
    window), as in PyTorch.
    """

_AVG_DOC = """{n}-D average pooling, PyTorch's `avg_pool{n}d`: the mean of each window.

    Args:
        input: (N, C, {S}) or (C, {S}).
        kernel_size: int or {n} ints ({K}).
        stride: int or {n} ints; default kernel_size.
        padding: implicit zero padding on both sides, at most kernel_size // 2.
        ceil_mode: round the output size up (see `max_pool{n}d`).
        count_include_pad: divide by the window size including the zero padding (True) or
            by the number of input positions in the window (False). A window that ceil_mode
            lets run past the padded input is divided by its clipped size.

    Shape: out = floor_or_ceil((S + 2P - K) / stride) + 1.
    """

_ADAPTIVE_DOC = """{n}-D adaptive average pooling, PyTorch's `adaptive_avg_pool{n}d`.

    Output position o averages the input over [floor(o*S/O), ceil((o+1)*S/O)) along each
    dimension, so any input size maps to `output_size`.

    Args:
        input: (N, C, {S}) or (C, {S}).
        output_size: int or {n} values (None keeps that input size).
    """


def _make_pools(n):
    S, K = _POOL_SHAPES[n]

    def max_pool_nd(input, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode=False):
        return max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                        ndim=n, _func=f"max_pool{n}d")

    def avg_pool_nd(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                    count_include_pad=True):
        return avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                        ndim=n, _func=f"avg_pool{n}d")

    def adaptive_avg_pool_nd(input, output_size):
        return adaptive_avg_pool(input, output_size, ndim=n, _func=f"adaptive_avg_pool{n}d")

    made = []
    for f, name, doc in ((max_pool_nd, f"max_pool{n}d", _MAX_DOC),
                         (avg_pool_nd, f"avg_pool{n}d", _AVG_DOC),
                         (adaptive_avg_pool_nd, f"adaptive_avg_pool{n}d", _ADAPTIVE_DOC)):
        f.__name__ = f.__qualname__ = name
        f.__doc__ = doc.format(n=n, S=S, K=K)
        made.append(f)
    return made


max_pool1d, avg_pool1d, adaptive_avg_pool1d = _make_pools(1)
max_pool2d, avg_pool2d, adaptive_avg_pool2d = _make_pools(2)
max_pool3d, avg_pool3d, adaptive_avg_pool3d = _make_pools(3)


# -- batch norm --------------------------------------------------------------------------------
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation per channel, PyTorch's `F.batch_norm`.

    y = (x - mean) / sqrt(var + eps) * weight + bias, per channel c over the batch and the
    spatial positions.

    Args:
        input: (N, C) or (N, C, *spatial).
        running_mean, running_var: (C,) NumPy arrays (or Tensors) or None. In training they
            are updated in place: r = (1 - momentum) r + momentum * batch_stat, with the
            unbiased batch variance for running_var. In evaluation they are the statistics.
        weight, bias: (C,) or None (no affine transform).
        training: use the batch's statistics (mean, biased variance) to normalise.
        momentum: weight of the new batch statistics in the running estimates.
        eps: added to the variance.

    >>> x = np.array([[1.0], [3.0]])
    >>> batch_norm(x, None, None, training=True).round(3)
    array([[-1.],
           [ 1.]])
    """
    func = "batch_norm"
    x, w, b = (_array(v, func, a) for v, a in
               ((input, "input"), (weight, "weight"), (bias, "bias")))
    rm = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    rv = running_var.data if isinstance(running_var, Tensor) else running_var
    _args.check_float(func, input=x, weight=w, bias=b)
    if x.ndim < 2:
        raise ValueError(f"{func}: expected input of shape (N, C) or (N, C, *spatial), got "
                         f"shape {tuple(x.shape)}")
    C = x.shape[1]
    for name, v in (("running_mean", rm), ("running_var", rv), ("weight", w), ("bias", b)):
        if v is not None and tuple(v.shape) != (C,):
            raise ValueError(f"{func}: {name} must have shape ({C},) (one per channel of "
                             f"input {tuple(x.shape)}), got shape {tuple(v.shape)}")
    if not isinstance(eps, (int, float)) or eps < 0:
        raise ValueError(f"{func}: eps must be a non-negative number, got eps={eps!r}")
    M = x.size // C if C else 0  # values per channel
    if training and M <= 1:
        raise ValueError(f"{func}: expected more than 1 value per channel when "
                         f"training, got input of shape {tuple(x.shape)}")
    if not training and (rm is None or rv is None):
        raise ValueError(f"{func}: running_mean and running_var are needed when "
                         f"training=False")
    y, saved, (mean, var) = norm_kernel.batch_norm_forward(x, rm, rv, w, b, eps, training)
    if training and momentum is not None:
        if rm is not None:
            rm *= 1.0 - momentum
            rm += momentum * mean
        if rv is not None:
            rv *= 1.0 - momentum
            rv += momentum * var * (M / (M - 1))

    def backward(g):
        return norm_kernel.batch_norm_backward(g, saved, w, _wants(input), _wants(weight),
                                               _wants(bias))

    return _result(y, (input, weight, bias), backward, func)


# -- dropout, flatten --------------------------------------------------------------------------
def dropout(input, p=0.5, training=True, rng=None):
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    Args:
        p: probability of zeroing, in [0, 1].
        training: when False (or p == 0) the input is returned unchanged.
        rng: a `numpy.random.Generator` for the mask; default `convscope.random.
            default_rng()`, so results are reproducible after `convscope.manual_seed`
            (the masks differ from PyTorch's).

    >>> dropout(np.ones(4), p=0.5, rng=np.random.default_rng(0))
    array([2., 2., 2., 0.])
    """
    func = "dropout"
    x = _float_input(input, func)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{func}: p must be a probability in [0, 1], got p={p!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"{func}: rng must be a numpy.random.Generator, got "
                        f"{type(rng).__name__}")
    if not training or p == 0.0:
        return input
    rng = default_rng() if rng is None else rng
    if p == 1.0:
        scale = np.zeros(x.shape, dtype=x.dtype)
    else:
        keep = rng.random(x.shape, dtype=np.float32) >= p
        scale = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return _unary(input, x * scale, lambda g: g * scale, func)


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one, as `torch.flatten`.

    >>> flatten(np.zeros((2, 3, 4)), 1).shape
    (2, 12)
    """
    func = "flatten"
    x = _array(input, func, "input")
    nd = max(x.ndim, 1)
    start = _dim(func, start_dim, nd)
    end = _dim(func, end_dim, nd)
    if start > end:
        raise ValueError(f"{func}: start_dim={start_dim} comes after end_dim={end_dim} for "
                         f"an input with {x.ndim} dimensions")
    shape = x.shape if x.ndim else (1,)
    new = shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:]
    y = x.reshape(new)
    return _unary(input, y, lambda g: reshape_like(g, x), func)


# -- losses ------------------------------------------------------------------------------------
_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(func, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{func}: reduction must be one of {_REDUCTIONS}, got "
                         f"reduction={reduction!r}")


def _classes_last(func, x, t):
    """Scores (N, C, *d) or (C,) as (M, C); the target's shape checked; (z, t, out_shape)."""
    if x.ndim == 0:
        raise ValueError(f"{func}: input must have shape (N, C), (N, C, d1, ...) or (C,), "
                         f"got a scalar")
    if x.ndim == 1:
        z, expected = x[None], ()
    else:
        z = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
        expected = (x.shape[0],) + x.shape[2:]
    probs = t.dtype.kind == "f"
    want = x.shape if probs else expected
    if t.shape != want:
        kind = "class probabilities" if probs else "class indices"
        raise ValueError(f"{func}: target of {kind} must have shape {want} for input of shape "
                         f"{tuple(x.shape)}, got shape {tuple(t.shape)}")
    if not probs and t.dtype.kind not in "iu":
        raise TypeError(f"{func}: target must hold integer class indices or float class "
                        f"probabilities, got dtype {t.dtype}")
    tf = (np.moveaxis(t, 1, -1).reshape(z.shape) if x.ndim > 1 else t[None]) if probs \
        else t.reshape(-1)
    return z, tf, expected


def _class_coefficients(func, z, t, weight, ignore_index, label_smoothing):
    """q (M, C) such that loss_m = -sum_c q[m, c] * logp[m, c], and the 'mean' divisor.

    Class indices: q = (1 - e) w[t] onehot(t) + (e / C) w, zero for ignored targets, divided
    by sum(w[t]) for 'mean' (PyTorch's formula for label smoothing with weights).
    Probabilities: q = w * ((1 - e) t + e / C), divided by M for 'mean'.
    """
    M, C = z.shape
    wvec = np.ones(C, dtype=z.dtype) if weight is None else weight.astype(z.dtype, copy=False)
    if t.dtype.kind == "f":
        q = wvec * ((1.0 - label_smoothing) * t.astype(z.dtype, copy=False)
                    + label_smoothing / C)
        return q, z.dtype.type(M)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= C))
    if bad.any():
        raise ValueError(f"{func}: target {int(t[bad][0])} is out of range for {C} classes "
                         f"(expected 0 <= target < {C}, or ignore_index={ignore_index})")
    tc = np.where(valid, t, 0)
    wt = wvec[tc] * valid
    q = np.zeros((M, C), dtype=z.dtype)
    q[np.arange(M), tc] = (1.0 - label_smoothing) * wt
    if label_smoothing:
        q += (label_smoothing / C) * valid[:, None] * wvec
    return q, wt.sum(dtype=z.dtype)


def _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape, reduction,
                 grad_of_scores):
    """Reduce per-sample losses; the backward scales `grad_of_scores(scale)` back."""
    if reduction == "none":
        out = per_sample.reshape(out_shape)
    elif reduction == "sum":
        out = per_sample.sum()
    else:
        with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as torch
            out = per_sample.sum() / divisor
    out = np.asarray(out, dtype=q.dtype)
    x_shape = _array(input, func, "input").shape

    def backward(g):
        if reduction == "none":
            scale = g.reshape(-1, 1)
        elif reduction == "sum":
            scale = g
        else:
            scale = g / divisor
        gz = grad_of_scores(scale)  # (M, C)
        if len(x_shape) == 1:
            gx = gz[0]
        else:
            moved = (x_shape[0],) + x_shape[2:] + (x_shape[1],)
            gx = np.moveaxis(gz.reshape(moved), -1, 1)
        return gx, None, None

    return _result(out, (input, target, weight), backward, func)


def _loss_inputs(func, input, target, weight, reduction, label_smoothing=0.0):
    _check_reduction(func, reduction)
    x = _float_input(input, func)
    t = _array(target, func, "target")
    w = _array(weight, func, "weight")
    if isinstance(target, Tensor) and target.requires_grad:
        raise ValueError(f"{func}: gradients with respect to target are not supported")
    if w is not None:
        _args.check_float(func, input=x, weight=w)
        C = x.shape[0] if x.ndim == 1 else x.shape[1]
        if w.shape != (C,):
            raise ValueError(f"{func}: weight must have shape ({C},) (one per class), got "
                             f"shape {tuple(w.shape)}")
    if not isinstance(label_smoothing, (int, float)) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{func}: label_smoothing must be in [0, 1], got "
                         f"label_smoothing={label_smoothing!r}")
    if t.dtype.kind == "f":
        _args.check_float(func, input=x, target=t)
    return x, t, w


def cross_entropy(input, target, weight=None, reduction="mean", label_smoothing=0.0,
                  ignore_index=-100):
    """Softmax cross-entropy from raw scores, PyTorch's `F.cross_entropy`.

    loss_m = -sum_c q[m, c] log softmax(input)[m, c], with q the (smoothed, weighted) target.
    Forward and backward are fused: d loss_m / d input_m = softmax_m * sum(q_m) - q_m.

    Args:
        input: scores (N, C), (N, C, d1, ...) or unbatched (C,).
        target: class indices (N,), (N, d1, ...) or () (an integer array), or class
            probabilities of the input's shape (a float array).
        weight: (C,) per-class weights or None.
        reduction: 'mean' (divided by the summed weights of the non-ignored targets),
            'sum' or 'none'.
        label_smoothing: e in [0, 1]; the target becomes (1 - e) onehot + e / C.
        ignore_index: a class index whose targets contribute nothing (indices only).

    >>> float(cross_entropy(np.zeros((1, 4)), np.array([2])))  # doctest: +ELLIPSIS
    1.386...
    """
    func = "cross_entropy"
    x, t, w = _loss_inputs(func, input, target, weight, reduction, label_smoothing)
    z, tf, out_shape = _classes_last(func, x, t)
    q, divisor = _class_coefficients(func, z, tf, w, ignore_index, label_smoothing)
    logp = _log_softmax(z, 1)
    per_sample = -(q * logp).sum(axis=1)

    def grad_of_scores(scale):
        return (np.exp(logp) * q.sum(axis=1, keepdims=True) - q) * scale

    return _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape,
                        reduction, grad_of_scores)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities, `F.nll_loss`.

    loss_m = -weight[t_m] * input[m, t_m]; 'mean' divides by the summed weights of the
    non-ignored targets. Shapes as `cross_entropy` (class-index targets only).

    >>> float(nll_loss(np.log(np.full((1, 4), 0.25)), np.array([0])))  # doctest: +ELLIPSIS
    1.386...
    """
    func = "nll_loss"
    x, t, w = _loss_inputs(func, input, target, weight, reduction)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{func}: target must hold integer class indices, got dtype {t.dtype}")
    z, tf, out_shape = _classes_last(func, x, t)
    q, divisor = _class_coefficients(func, z, tf, w, ignore_index, 0.0)
    per_sample = -(q * z).sum(axis=1)
    return _loss_from_q(func, input, target, weight, q, divisor, per_sample, out_shape,
                        reduction, lambda scale: -q * scale)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (x - y)^2, reduced by 'mean', 'sum' or 'none'.

    Both input and target may require grad; their shapes must match.

    >>> float(mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    func = "mse_loss"
    _check_reduction(func, reduction)
    x, t = _array(input, func, "input"), _array(target, func, "target")
    _args.check_float(func, input=x, target=t)
    if x.shape != t.shape:
        raise ValueError(f"{func}: input of shape {tuple(x.shape)} and target of shape "
                         f"{tuple(t.shape)} must have the same shape")
    diff = x - t
    sq = diff * diff
    n = max(diff.size, 1)
    out = sq if reduction == "none" else (sq.sum() if reduction == "sum" else sq.sum() / n)
    out = np.asarray(out, dtype=x.dtype)

    def backward(g):
        gd = 2.0 * diff * (g if reduction == "none" else (g if reduction == "sum" else g / n))
        return gd, -gd

    return _result(out, (input, target), backward, func)
