"""The shifted-view convolution: both input-gradient paths, chunk boundaries, and the
padded-grid bookkeeping (crops, output_padding), against PyTorch in float64."""

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor
from convscope.kernels import _chunks, shifted

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SPATIAL = {1: (13,), 2: (6, 7), 3: (5, 6, 5)}


def _both(n, x, w, **kw):
    """Forward and both gradients from convscope's 'shifted' and from PyTorch."""
    g = np.random.default_rng(1).standard_normal(
        getattr(TF, f"conv{n}d")(torch.tensor(x), torch.tensor(w), **kw).shape)
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    y = F.conv(xt, wt, None, algorithm="shifted", **kw)
    y.backward(g)
    xr, wr = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ref = getattr(TF, f"conv{n}d")(xr, wr, **kw)
    ref.backward(torch.tensor(g))
    return (y.data, xt.grad, wt.grad), (ref.detach().numpy(), xr.grad.numpy(), wr.grad.numpy())


def _close(ours, theirs):
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("cin,groups", [(4, 1), (64, 1), (128, 2), (8, 2), (6, 6), (3, 3)])
@pytest.mark.parametrize("padding,dilation", [(1, 1), (0, 2), ("same", 1), (3, 1)])
def test_matches_torch_both_input_gradient_paths(n, cin, groups, padding, dilation):
    """cin/groups >= ADJOINT_FROM takes the adjoint convolution, fewer the folded product;
    padding 3 is wider than a 3-tap kernel (the adjoint then crops dL/dy)."""
    rng = np.random.default_rng(n * 100 + cin + groups)
    x = rng.standard_normal((2, cin, *SPATIAL[n]))
    w = rng.standard_normal((6, cin // groups, *(3,) * n))
    ours, theirs = _both(n, x, w, padding=padding, dilation=dilation, groups=groups)
    _close(ours, theirs)


def test_the_two_input_gradient_paths_are_the_same_function(monkeypatch):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    g = rng.standard_normal((2, 4, 9, 8))
    args = (g, w, x.shape, (1, 1), ((1, 1), (0, 1)), (1, 1), 2)
    monkeypatch.setattr(shifted, "ADJOINT_FROM", 1)
    adjoint = shifted.backward_input(*args)
    monkeypatch.setattr(shifted, "ADJOINT_FROM", 10 ** 6)
    folded = shifted.backward_input(*args)
    np.testing.assert_allclose(adjoint, folded, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_many_small_chunks_give_the_same_result(monkeypatch, n):
    """Chunk boundaries fall everywhere: 7 positions per chunk over a grid of hundreds."""
    rng = np.random.default_rng(7 + n)
    x = rng.standard_normal((3, 5, *SPATIAL[n]))
    w = rng.standard_normal((4, 5, *(3,) * n))
    whole = _both(n, x, w, padding=1)[0]
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 1)
    monkeypatch.setattr(_chunks, "MIN_CHUNK", 7)
    for adjoint_from in (1, 10 ** 6):
        monkeypatch.setattr(shifted, "ADJOINT_FROM", adjoint_from)
        ours, theirs = _both(n, x, w, padding=1)
        _close(ours, theirs)
        _close(ours, whole)


@pytest.mark.parametrize("output_padding,dilation", [(0, 1), (1, 2), (0, 3)])
def test_transposed_convolution_with_output_padding(output_padding, dilation):
    """A stride-1 transposed convolution asks the input gradient for more rows than the
    forward convolution gives back (output_padding < dilation)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 6, 7))
    w = rng.standard_normal((5, 3, 3, 3))
    kw = dict(padding=1, output_padding=output_padding, dilation=dilation)
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    y = F.conv_transpose2d(xt, wt, algorithm="shifted", **kw)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    xr, wr = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ref = TF.conv_transpose2d(xr, wr, **kw)
    ref.backward(torch.tensor(g))
    _close((y.data, xt.grad, wt.grad), (ref.detach().numpy(), xr.grad.numpy(),
                                        wr.grad.numpy()))


def test_output_is_a_view_of_the_grid_and_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = np.ones((4, 3, 3, 3), np.float32)
    y = F.conv2d(x, w, padding=1, algorithm="shifted")
    assert y.dtype == np.float32 and y.shape == (2, 4, 8, 8)
    # computed on a 9x9 grid per image: one shared gap of padding between rows and images
    assert y.base is not None and y.base.size == 4 * 2 * 9 * 9
    ref = F.conv2d(x, w, padding=1, algorithm="direct")
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size,K,pads,expected", [
    ((7, 7), (3, 3), ((1, 1), (1, 1)), (8, 8)),      # 'same' 3x3: one shared zero gap
    ((14, 14), (3, 3), ((1, 1), (1, 1)), (15, 15)),
    ((6, 5), (5, 3), ((2, 2), (0, 2)), (8, 7)),      # the gap is the larger padding
    ((5,), (3,), ((0, 0),), (5,)),                   # 'valid': no gap at all
    ((4,), (3,), ((3, 3),), (8,)),                   # padding wider than the kernel: the
])                                                   # outputs (8) need the room
def test_grid_shares_the_padding_between_rows(size, K, pads, expected):
    out = tuple(s + b + a - k + 1 for s, (b, a), k in zip(size, pads, K))
    grid = shifted.Grid(size, pads, K, (1,) * len(K), out, 3)
    assert grid.G == expected
    assert grid.waste() == np.prod(expected) / np.prod(out)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("K,stride,dilation,padding", [
    (3, 2, 1, 1), (7, 2, 1, 3), (3, 3, 1, 0), (3, 2, 2, 2), (4, 2, 3, 1), (2, 3, 1, 1),
    (5, 4, 2, 0), (1, 2, 1, 0)])
@pytest.mark.parametrize("cin,groups", [(4, 1), (6, 3), (4, 4)])
def test_strided_as_stride_phase_convolutions_matches_torch(n, K, stride, dilation, padding,
                                                            cin, groups):
    """Every tap in exactly one phase: strides that divide the kernel and strides that do
    not, dilations sharing a factor with the stride (phases without taps), groups."""
    rng = np.random.default_rng(n * 1000 + K * 100 + stride * 10 + dilation)
    size = {1: (17,), 2: (13, 12), 3: (9, 10, 9)}[n]
    x = rng.standard_normal((2, cin, *size))
    w = rng.standard_normal((2 * groups, cin // groups, *(K,) * n))
    ours, theirs = _both(n, x, w, stride=stride, padding=padding, dilation=dilation,
                         groups=groups)
    _close(ours, theirs)


def test_phase_plan_holds_every_tap_once():
    from convscope.kernels import phase
    plan = phase.Plan((3, 7), (2, 2), (1, 1), (5, 5), 3)
    assert plan.CK == 3 * 3 * 7
    w = np.arange(2 * 3 * 3 * 7, dtype=float).reshape(2, 3, 3, 7)
    assert sorted(plan.weight(w).ravel()) == sorted(w.ravel())
    np.testing.assert_array_equal(plan.unweight(plan.weight(w), w.shape), w)


@pytest.mark.parametrize("stride,groups", [(1, 1), (1, 2), (2, 1), (2, 2), (1, 4)])
def test_bias_and_its_gradient_match_torch_over_many_chunks(monkeypatch, stride, groups):
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 1)
    monkeypatch.setattr(_chunks, "MIN_CHUNK", 11)
    rng = np.random.default_rng(stride * 10 + groups)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((8, 4 // groups, 3, 3))
    b = rng.standard_normal(8)
    ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*ts, stride=stride, padding=1, groups=groups, algorithm="shifted")
    g = rng.standard_normal(y.shape)
    y.backward(g)
    rs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ref = TF.conv2d(*rs, stride=stride, padding=1, groups=groups)
    ref.backward(torch.tensor(g))
    _close((y.data, *(t.grad for t in ts)),
           (ref.detach().numpy(), *(r.grad.numpy() for r in rs)))
