"""Max pooling over NaN, ties and -inf, forward and backward, against PyTorch.

PyTorch's rule (its CPU kernel: ``if (val > maxval || isnan(val))``): a window holding NaN
outputs NaN and its gradient goes to the window's last NaN; otherwise to its first maximum;
a window whose input values are all -inf sends its gradient to its first tap inside the
input, never to the padding.
"""

import numpy as np
import pytest

import convscope.functional as F
from convscope import tensor

torch = pytest.importorskip("torch")

NAN, INF = np.nan, np.inf
POOLS = {1: (F.max_pool1d, torch.nn.functional.max_pool1d),
         2: (F.max_pool2d, torch.nn.functional.max_pool2d),
         3: (F.max_pool3d, torch.nn.functional.max_pool3d)}


def _both(x, upstream=None, dtype=np.float64, **kwargs):
    """(ours, torch's) output and input gradient of max pooling x (N, C, *S)."""
    x = np.asarray(x, dtype=dtype)
    ours_f, torch_f = POOLS[x.ndim - 2]
    t = tensor(x, requires_grad=True)
    y = ours_f(t, **kwargs)
    if upstream is None:  # distinct values, so the test sees where each window's gradient went
        upstream = np.arange(1, y.data.size + 1, dtype=dtype).reshape(y.shape)
    y.backward(upstream)
    tt = torch.tensor(x, requires_grad=True)
    ty = torch_f(tt, **kwargs)
    ty.backward(torch.tensor(upstream))
    return (y.data, t.grad), (ty.detach().numpy(), tt.grad.numpy())


def _assert_same(x, **kwargs):
    (y, g), (ty, tg) = _both(x, **kwargs)
    np.testing.assert_array_equal(y, ty)  # NaN equals NaN here
    np.testing.assert_array_equal(g, tg)
    return y, g


CASES = {
    "one NaN": ([[[1, NAN, 3, 2]]], dict(kernel_size=4)),
    "the last of two NaNs": ([[[NAN, 1, NAN, 2]]], dict(kernel_size=4)),
    "NaN after the maximum": ([[[5, NAN, NAN, 2]]], dict(kernel_size=4)),
    "ties: the first": ([[[5, 5, 1, 5]]], dict(kernel_size=4)),
    "overlapping windows": ([[[5, 5, 1, NAN, 2]]], dict(kernel_size=2, stride=1)),
    "padding": ([[[NAN, 5, 1, NAN, 3]]], dict(kernel_size=3, stride=1, padding=1)),
    "ceil_mode": ([[[NAN, 5, 1, NAN, 3]]], dict(kernel_size=2, stride=2, ceil_mode=True)),
    "dilation": ([[[NAN, 5, 1, NAN, 3, 1, 2]]], dict(kernel_size=2, stride=1, dilation=2)),
    "inf and NaN": ([[[INF, NAN, -INF]]], dict(kernel_size=3)),
    "all -inf beside padding": ([[[-INF, -INF, -INF]]],
                                dict(kernel_size=3, stride=1, padding=1)),
    "all -inf, dilated padding": ([[[-INF, -INF, -INF, -INF, 2]]],
                                  dict(kernel_size=3, stride=1, padding=1, dilation=2)),
    "2-D NaN diagonal": ([[[[1, NAN], [NAN, 2]]]], dict(kernel_size=2)),
    "2-D NaN row": ([[[[1, 2], [NAN, NAN]]]], dict(kernel_size=2)),
    "2-D -inf with padding": ([[[[-INF, -INF], [-INF, 3]]]],
                              dict(kernel_size=3, stride=1, padding=1)),
    "3-D": ([[[[[1, 2], [NAN, NAN]], [[NAN, 3], [4, 5]]]]], dict(kernel_size=2)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_max_pool_nan_ties_and_inf_like_torch(name):
    x, kwargs = CASES[name]
    _assert_same(x, **kwargs)


def test_a_window_holding_nan_outputs_nan_and_its_last_nan_takes_the_gradient():
    """The rule stated without PyTorch: a closed-form check of one window."""
    (y, g), _ = _both([[[2.0, NAN, 7.0, NAN, 1.0]]], upstream=np.array([[[3.0]]]),
                      kernel_size=5)
    assert np.isnan(y).all()
    np.testing.assert_array_equal(g, [[[0, 0, 0, 3.0, 0]]])


CONFIGS = [
    # (spatial shape, kernel_size, stride, padding, dilation, ceil_mode)
    ((9,), 3, 2, 1, 1, True),
    ((10,), 2, 1, 0, 3, False),
    ((7, 6), 3, 2, 1, 1, True),
    ((8, 9), (2, 3), (2, 1), (1, 0), (2, 1), False),
    ((6, 7), 2, 2, 0, 1, False),
    ((5, 6, 5), 2, (1, 2, 2), (1, 0, 1), 1, True),
    ((6, 5, 7), 3, 2, 1, (1, 2, 1), False),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{len(c[0])}d-{c[0]}")
def test_random_nan_ties_and_infs_like_torch(config, dtype):
    """Small integers (so windows tie), NaN and +-inf sprinkled over (N, C, *S)."""
    S, kernel_size, stride, padding, dilation, ceil_mode = config
    rng = np.random.default_rng(len(S) * 100 + sum(S))
    x = rng.integers(-2, 3, size=(2, 3) + S).astype(dtype)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[rng.random(x.shape) < 0.05] = -np.inf
    x[rng.random(x.shape) < 0.02] = np.inf
    x[0, 0] = -np.inf  # a whole channel of -inf: windows that tie with their padding
    assert np.isnan(x).sum() > 5
    kwargs = dict(kernel_size=kernel_size, stride=stride, padding=padding,
                  dilation=dilation, ceil_mode=ceil_mode)
    out_shape = POOLS[len(S)][0](x, **kwargs).shape
    # distinct small integers: each window's gradient is recognisable, and the sums where
    # windows overlap are exact in any order
    upstream = rng.permutation(np.prod(out_shape)).reshape(out_shape).astype(dtype) + 1
    (y, g), (ty, tg) = _both(x, upstream, dtype=dtype, **kwargs)
    assert np.isnan(y).any() and not np.isnan(y).all()
    np.testing.assert_array_equal(y, ty)
    np.testing.assert_array_equal(g, tg)


@pytest.mark.parametrize("name,args,where", [
    ("max_pool2d", (2,), "channels"), ("avg_pool2d", (2,), "channels"),
    ("max_pool1d", (2,), "channels"), ("avg_pool3d", (2,), "channels"),
    ("max_pool2d", (2,), "spatial"), ("avg_pool2d", (2,), "spatial"),
    ("max_pool1d", (2,), "spatial"), ("avg_pool3d", (2,), "spatial"),
    ("adaptive_avg_pool2d", (2,), "spatial")])
def test_pooling_refuses_empty_channels_and_sizes_like_torch(name, args, where):
    n = int(name[-2])
    shape = [2, 3] + [4] * n
    shape[1 if where == "channels" else 2] = 0
    x = np.zeros(shape)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, name)(torch.from_numpy(x), *args)
    with pytest.raises(ValueError, match=rf"{name}: input of shape \({', '.join(map(str, shape))}"
                                         rf"\) has an empty channel or spatial dimension"):
        getattr(F, name)(x, *args)


@pytest.mark.parametrize("name,shape", [("max_pool2d", (0, 3, 4, 4)),
                                        ("avg_pool2d", (0, 3, 4, 4)),
                                        ("adaptive_avg_pool2d", (0, 3, 4, 4)),
                                        ("adaptive_avg_pool2d", (2, 0, 4, 4))])
def test_pooling_an_empty_batch_like_torch(name, shape):
    """An empty batch works, and adaptive pooling also takes empty channels, as in PyTorch."""
    x = np.zeros(shape)
    ours = getattr(F, name)(tensor(x, requires_grad=True), 2)
    theirs = getattr(torch.nn.functional, name)(torch.from_numpy(x), 2)
    assert ours.shape == tuple(theirs.shape) == shape[:2] + (2, 2)
    ours.sum().backward()


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil", [
    (2, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False), (2, 3, 1, 1, True)])
def test_max_pool_without_grad_gives_the_same_values(ndim, kernel, stride, padding,
                                                     dilation, ceil):
    """Under no_grad (or on arrays) only the maxima are computed: the same values, NaN and
    -inf windows included, as the forward pass that also records where they are."""
    from convscope import Tensor, no_grad
    import convscope.functional as F
    rng = np.random.default_rng(ndim + kernel)
    x = rng.standard_normal((2, 3, *(9,) * ndim)).astype(np.float32)
    x[0, 0, ..., 2] = np.nan
    x[1, 1] = -np.inf
    pool = getattr(F, f"max_pool{ndim}d")
    kw = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
              ceil_mode=ceil)
    with_grad = pool(Tensor(x, requires_grad=True), **kw).data
    with no_grad():
        without = pool(Tensor(x, requires_grad=True), **kw).data
    np.testing.assert_array_equal(pool(x, **kw), with_grad)
    np.testing.assert_array_equal(without, with_grad)
    ref = getattr(torch.nn.functional, f"max_pool{ndim}d")(torch.tensor(x), **kw).numpy()
    np.testing.assert_array_equal(without, ref)
