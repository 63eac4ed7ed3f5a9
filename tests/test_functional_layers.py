"""functional.layers against PyTorch (forward and backward), finite differences, errors."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope.functional as F
from convscope import Tensor
from gradcheck import numerical_grad

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}


def compare(ours, theirs, arrays, dtype=np.float64, seed=0, grad=True):
    """Run ours(*Tensors) and theirs(*torch tensors); compare outputs and input gradients."""
    rng = np.random.default_rng(seed)
    xs = [Tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    y, yt = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL[dtype])
    assert y.data.dtype == dtype
    if not grad:
        return
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.numpy(), **TOL[dtype])


def gradcheck(fn, x, seed=1):
    """Analytic gradient of sum(fn(x) * r) against finite differences, float64."""
    r = np.random.default_rng(seed).standard_normal(np.shape(fn(x.copy())))
    xt = Tensor(x, requires_grad=True)
    (fn(xt) * r).sum().backward()
    a = x.copy()
    numeric = numerical_grad(lambda: float(np.sum(np.asarray(fn(a)) * r)), a)
    np.testing.assert_allclose(xt.grad, numeric, rtol=1e-5, atol=1e-7)


RNG = np.random.default_rng(0)


# -- activations -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, ours, theirs", [
    ("relu", F.relu, torch.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    ("gelu", F.gelu, TF.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    ("sigmoid", F.sigmoid, torch.sigmoid),
    ("tanh", F.tanh, torch.tanh),
    ("softmax", lambda x: F.softmax(x, 1), lambda x: torch.softmax(x, 1)),
    ("log_softmax", lambda x: F.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1)),
])
def test_activations_match_torch(name, ours, theirs, dtype):
    x = RNG.standard_normal((3, 4, 5)) * 3
    compare(ours, theirs, [x], dtype)


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, 6.0, -6.0]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(F.erf(x), ref, rtol=0, atol=5e-15)
    assert np.isnan(F.erf(np.array([np.nan]))[0])
    assert F.erf(np.array([1.0], dtype=np.float32)).dtype == np.float32


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x, 1), [[0.5, 0.5, 0.0]])
    assert np.isfinite(F.log_softmax(x, 1)).all()
    assert np.isfinite(F.sigmoid(np.array([-1e4, 1e4]))).all()


def test_linear_matches_torch():
    x, w, b = RNG.standard_normal((2, 3, 5)), RNG.standard_normal((4, 5)), RNG.standard_normal(4)
    compare(F.linear, TF.linear, [x, w, b])
    compare(lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), [x, w], np.float32)


# -- pooling -----------------------------------------------------------------------------------
SHAPES = {1: (2, 3, 9), 2: (2, 3, 7, 8), 3: (1, 2, 5, 6, 7)}
POOL_GRID = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True), (2, 3, 1, 1, True),
    (3, 1, 0, 2, False), (3, 2, 1, 2, True), (2, 1, 0, 1, False), (4, 3, 2, 1, True),
]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("k, s, p, d, ceil", POOL_GRID)
def test_max_pool_matches_torch(n, k, s, p, d, ceil):
    ours = getattr(F, f"max_pool{n}d")
    theirs = getattr(TF, f"max_pool{n}d")
    x = RNG.standard_normal(SHAPES[n])
    compare(lambda t: ours(t, k, s, p, d, ceil), lambda t: theirs(t, k, s, p, d, ceil), [x])


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("k, s, p, ceil", [(2, None, 0, False), (3, 2, 1, False),
                                           (3, 2, 1, True), (2, 3, 1, True), (4, 3, 2, True),
                                           (3, 1, 1, False)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_torch(n, k, s, p, ceil, count_include_pad):
    ours = getattr(F, f"avg_pool{n}d")
    theirs = getattr(TF, f"avg_pool{n}d")
    x = RNG.standard_normal(SHAPES[n])
    compare(lambda t: ours(t, k, s, p, ceil, count_include_pad),
            lambda t: theirs(t, k, s, p, ceil, count_include_pad), [x])


@pytest.mark.parametrize("n, out", [(1, 4), (2, (3, 5)), (2, (None, 2)), (3, (2, 3, 4)),
                                    (2, 1)])
def test_adaptive_avg_pool_matches_torch(n, out):
    ours = getattr(F, f"adaptive_avg_pool{n}d")
    theirs = getattr(TF, f"adaptive_avg_pool{n}d")
    x = RNG.standard_normal(SHAPES[n])
    compare(lambda t: ours(t, out), lambda t: theirs(t, out), [x])


def test_max_pool_ties_route_to_first_max():
    x = np.ones((1, 1, 4, 4))
    compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), [x])
    compare(lambda t: F.max_pool2d(t, 3, 1), lambda t: TF.max_pool2d(t, 3, 1), [x])


def test_pooling_unbatched_and_float32():
    x = RNG.standard_normal((3, 6, 6))
    compare(lambda t: F.max_pool2d(t, 2), lambda t: TF.max_pool2d(t, 2), [x], np.float32)
    compare(lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: TF.avg_pool2d(t, 3, 2, 1), [x],
            np.float32)


def test_pooling_keeps_a_channel_major_view_fast_and_correct():
    base = RNG.standard_normal((3, 2, 8, 8))  # (C, N, H, W) as the conv engine returns it
    x = base.transpose(1, 0, 2, 3)
    y = F.max_pool2d(x, 2)
    ref = TF.max_pool2d(torch.tensor(np.ascontiguousarray(x)), 2).numpy()
    np.testing.assert_array_equal(y, ref)
    assert y.transpose(1, 0, 2, 3).flags.c_contiguous  # layout kept for the next conv


@pytest.mark.parametrize("fn, shape", [
    (lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True), (1, 2, 5, 5)),
    (lambda t: F.max_pool1d(t, 2, 1, 0, dilation=2), (1, 2, 7)),
    (lambda t: F.max_pool3d(t, 2), (1, 1, 4, 4, 4)),
    (lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 5, 5)),
    (lambda t: F.adaptive_avg_pool2d(t, (2, 3)), (1, 2, 5, 5)),
])
def test_pooling_finite_differences(fn, shape):
    gradcheck(fn, RNG.standard_normal(shape))


# -- batch norm --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm_matches_torch(shape, training, affine, dtype, relu):
    """batch_norm, and batch_norm_relu against torch's relu(batch_norm(...))."""
    C = shape[1]
    x = RNG.standard_normal(shape) * 2 + 1
    rm, rv = RNG.standard_normal(C).astype(dtype), RNG.uniform(0.5, 2, C).astype(dtype)
    rmt, rvt = torch.tensor(rm), torch.tensor(rv)
    arrays = [x] + ([RNG.standard_normal(C), RNG.standard_normal(C)] if affine else [])
    ours = F.batch_norm_relu if relu else F.batch_norm
    after = torch.relu if relu else (lambda t: t)
    compare(lambda x, *wb: ours(x, rm, rv, *wb, training=training, momentum=0.3),
            lambda x, *wb: after(TF.batch_norm(x, rmt, rvt, *wb, training=training,
                                               momentum=0.3)),
            arrays, dtype)
    np.testing.assert_allclose(rm, rmt.numpy(), **TOL[dtype])
    np.testing.assert_allclose(rv, rvt.numpy(), **TOL[dtype])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("fn", [F.batch_norm, F.batch_norm_relu])
def test_batch_norm_finite_differences(training, fn):
    x = RNG.standard_normal((3, 2, 2, 2))
    w, b = RNG.standard_normal(2), RNG.standard_normal(2)
    rm, rv = np.zeros(2), np.ones(2) * 1.5
    gradcheck(lambda t: fn(t, rm.copy(), rv.copy(), w, b, training=training), x)
    for which in (0, 1):  # weight and bias
        def of_param(p, which=which):
            args = [w, b]
            args[which] = p
            return fn(x, None, None, *args, training=True)
        gradcheck(of_param, [w, b][which].copy())


# -- dropout, flatten --------------------------------------------------------------------------
def test_dropout():
    x = np.ones((100, 100))
    y = F.dropout(x, 0.3, rng=np.random.default_rng(0))
    assert set(np.unique(y)) == {0.0, 1 / 0.7}
    assert abs((y == 0).mean() - 0.3) < 0.02
    np.testing.assert_array_equal(y, F.dropout(x, 0.3, rng=np.random.default_rng(0)))
    assert F.dropout(x, 0.3, training=False) is x
    assert not F.dropout(x, 1.0).any()
    t = Tensor(x, requires_grad=True)
    out = F.dropout(t, 0.5, rng=np.random.default_rng(1))
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, out.data)


def test_flatten():
    x = Tensor(RNG.standard_normal((2, 3, 4, 5)), requires_grad=True)
    y = F.flatten(x, 1, 2)
    assert y.shape == (2, 12, 5)
    y.sum().backward()
    assert x.grad.shape == x.shape
    assert F.flatten(np.zeros((2, 3))).shape == (6,)


# -- losses ------------------------------------------------------------------------------------
CE_GRID = [  # input shape, weight?, reduction, label_smoothing, ignore some
    ((5, 4), False, "mean", 0.0, False), ((5, 4), True, "mean", 0.0, False),
    ((5, 4), True, "mean", 0.1, True), ((5, 4), False, "sum", 0.2, True),
    ((5, 4), True, "none", 0.3, True), ((2, 3, 4, 2), True, "mean", 0.1, True),
    ((2, 3, 4), False, "none", 0.0, False), ((4,), True, "mean", 0.1, False),
]


@pytest.mark.parametrize("shape, weighted, reduction, smoothing, ignore", CE_GRID)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_matches_torch(shape, weighted, reduction, smoothing, ignore, dtype):
    C = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = RNG.integers(0, C, tshape)
    if ignore and target.size > 1:
        target.reshape(-1)[1] = 2 if C > 2 else 0
        target = np.where(RNG.random(tshape) < 0.3, 2, target)
    weight = RNG.uniform(0.5, 2, C).astype(dtype) if weighted else None
    kwargs = dict(reduction=reduction, label_smoothing=smoothing,
                  ignore_index=2 if ignore else -100)
    compare(lambda x: F.cross_entropy(x, target, weight, **kwargs),
            lambda x: TF.cross_entropy(x, torch.tensor(target),
                                       None if weight is None else torch.tensor(weight),
                                       **kwargs), [RNG.standard_normal(shape) * 3], dtype)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets(smoothing):
    x = RNG.standard_normal((4, 3, 2))
    p = RNG.dirichlet(np.ones(3), (4, 2)).transpose(0, 2, 1).copy()
    w = RNG.uniform(0.5, 2, 3)
    compare(lambda t: F.cross_entropy(t, p, w, label_smoothing=smoothing),
            lambda t: TF.cross_entropy(t, torch.tensor(p), torch.tensor(w),
                                       label_smoothing=smoothing), [x])


def test_cross_entropy_finite_differences():
    target = np.array([0, 2, 1, 2])
    w = np.array([1.0, 2.0, 0.5])
    gradcheck(lambda t: F.cross_entropy(t, target, w, label_smoothing=0.1, ignore_index=1),
              RNG.standard_normal((4, 3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_mse_match_torch(reduction):
    logp = np.log(RNG.dirichlet(np.ones(4), 6))
    target = RNG.integers(0, 4, 6)
    w = RNG.uniform(0.5, 2, 4)
    compare(lambda x: F.nll_loss(x, target, w, reduction=reduction),
            lambda x: TF.nll_loss(x, torch.tensor(target), torch.tensor(w),
                                  reduction=reduction), [logp])
    compare(lambda x, y: F.mse_loss(x, y, reduction),
            lambda x, y: TF.mse_loss(x, y, reduction=reduction),
            [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))])


def test_outputs_are_arrays_for_arrays():
    x = RNG.standard_normal((2, 3, 4, 4))
    for y in (F.relu(x), F.max_pool2d(x, 2), F.batch_norm(x, None, None, training=True),
              F.cross_entropy(x[:, :, 0, 0], np.array([0, 1]))):
        assert isinstance(y, np.ndarray)


# -- errors ------------------------------------------------------------------------------------
X4 = np.zeros((2, 3, 4, 4))
BAD = [
    # the example and its relatives: running statistics are arrays updated in place
    (lambda: F.batch_norm(np.zeros((2, 2, 3, 3)), [0., 0.], [1., 1.], training=True),
     TypeError, r"batch_norm: running_mean must be a float array, a Tensor or None \(it is "
                r"updated in place\), got list"),
    (lambda: F.batch_norm(X4, np.zeros(1, int), np.ones(1), training=True), TypeError,
     r"batch_norm: running_mean must be a float array, a Tensor or None .*got ndarray int"),
    (lambda: F.batch_norm(X4, None, None, training="yes"), TypeError,
     r"batch_norm: training must be a bool, got training='yes'"),
    (lambda: F.batch_norm(X4, None, None, training=True, momentum="a"), TypeError,
     r"batch_norm: momentum must be a real number, got momentum='a'"),
    (lambda: F.batch_norm(X4, None, None, training=True, eps=-1), ValueError,
     r"batch_norm: eps must be a non-negative number, got eps=-1"),
    (lambda: F.batch_norm(None, None, None, training=True), TypeError,
     r"batch_norm: input must be an array or a Tensor, got None"),
    (lambda: F.relu(None), TypeError, r"relu: input must be an array or a Tensor, got None"),
    (lambda: F.linear(np.zeros((2, 3)), None), TypeError,
     r"linear: weight must be an array or a Tensor, got None"),
    (lambda: F.leaky_relu(X4, "0.1"), TypeError, r"leaky_relu: negative_slope must be a number"),
    (lambda: F.gelu(X4, approximate=None), TypeError,
     r"gelu: approximate must be 'none' or 'tanh', got approximate=None"),
    (lambda: F.flatten(X4, start_dim=2.0), TypeError,
     r"flatten: dim must be an int, got dim=2.0"),
    (lambda: F.erf("a"), TypeError, r"erf: x must hold numbers .* got dtype <U1"),
    (lambda: F.erf(np.array([True])), TypeError, r"erf: x must be a real array or number, "
                                                 r"got dtype bool"),
    (lambda: F.dropout(X4, 0.5, training="no"), TypeError, r"dropout: training must be a bool"),
    (lambda: F.dropout(X4, "0.5"), TypeError, r"dropout: p must be a probability"),
    (lambda: F.avg_pool2d(X4, 2, count_include_pad=None), TypeError,
     r"avg_pool2d: count_include_pad must be a bool"),
    (lambda: F.max_pool(X4, 2, ndim=2.0), TypeError, r"max_pool: ndim must be an int"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), None), TypeError,
     r"cross_entropy: target must be an array or a Tensor, got None"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=[1]), TypeError,
     r"cross_entropy: ignore_index must be an int"),
    (lambda: F.mse_loss(np.zeros(2), np.zeros(2), reduction=None), ValueError,
     r"mse_loss: reduction must be one of \('mean', 'sum', 'none'\), got reduction=None"),
    (lambda: F.max_pool2d(X4[0, 0], 2), ValueError,
     r"max_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(4, 4\)"),
    (lambda: F.max_pool2d(X4, 3, padding=2), ValueError,
     r"max_pool2d: padding=\(2, 2\) must be at most half of kernel_size=\(3, 3\)"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 3, dilation=2), ValueError,
     r"max_pool2d: kernel_size=\(3, 3\) with dilation=\(2, 2\) spans 5, larger than the "
     r"padded input 4"),
    (lambda: F.avg_pool1d(np.zeros((1, 1, 4)), 0), ValueError, r"avg_pool1d: kernel_size"),
    (lambda: F.max_pool2d(X4, (2, 2, 2)), ValueError, r"max_pool2d: kernel_size needs 1 or 2"),
    (lambda: F.max_pool2d(X4.astype(int), 2), TypeError, r"max_pool2d: input must be float"),
    (lambda: F.dropout(X4, 1.5), ValueError, r"dropout: p must be a probability"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), ValueError,
     r"cross_entropy: target 3 is out of range for 3 classes"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2])), ValueError,
     r"cross_entropy: target of class indices must have shape \(2,\)"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), reduction="avg"),
     ValueError, r"cross_entropy: reduction must be one of"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=2),
     ValueError, r"label_smoothing must be in \[0, 1\]"),
    (lambda: F.batch_norm(np.zeros((1, 3)), None, None, training=True), ValueError,
     r"batch_norm: expected more than 1 value per channel when training"),
    (lambda: F.batch_norm(X4, np.zeros(2), np.ones(2)), ValueError,
     r"batch_norm: running_mean must have shape \(3,\)"),
    (lambda: F.batch_norm(X4, None, None), ValueError, r"running_mean and running_var"),
    (lambda: F.linear(np.zeros((2, 3)), np.zeros((4, 5))), ValueError,
     r"linear: input of shape \(2, 3\) has last dimension 3"),
    (lambda: F.softmax(np.zeros((2, 3)), 2), ValueError, r"softmax: dim=2 is out of range"),
    (lambda: F.gelu(np.zeros(2), "fast"), ValueError, r"gelu: approximate must be"),
    (lambda: F.mse_loss(np.zeros(2), np.zeros(3)), ValueError, r"mse_loss: input of shape"),
    (lambda: F.adaptive_avg_pool2d(X4, (1, 2, 3)), ValueError,
     r"adaptive_avg_pool2d: output_size needs 1 or 2 values"),
]


@pytest.mark.parametrize("call, exc, pattern", BAD)
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
