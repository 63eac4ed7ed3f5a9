"""`conv2d_max_pool2d` of thin layers (few values per window) as one compiled pass
(`kernels.conv_pool_jit`): against PyTorch, against the unfused functions, NaNs and
infinities, threads, and where it runs."""

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor
from convscope.kernels import conv_pool_jit, get_num_threads, set_num_threads

torch = pytest.importorskip("torch")
TF = torch.nn.functional

CASES = [  # (x shape, C_out, kernel, padding, bias): all within conv_pool_jit.MAX_ROWS
    ((3, 1, 28, 28), 8, 3, 1, False),        # the default model's first layer
    ((2, 3, 9, 11), 5, 3, 0, True),          # RGB, 'valid', odd conv output (last col dropped)
    ((2, 1, 10, 7), 4, 5, 2, True),          # 5x5 (25 values per window)
    ((1, 2, 8, 9), 3, 2, "same", True),      # an even kernel: asymmetric 'same' padding
    ((2, 3, 6, 6), 4, 1, 0, True),           # 1x1 (3 values)
    ((2, 1, 5, 8), 2, (3, 1), (1, 0), False),  # a non-square kernel
]


def _torch_ref(x, w, b, padding):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    return xt, wt, bt, TF.max_pool2d(TF.conv2d(xt, wt, bt, 1, padding), 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_thin_conv_max_pool_matches_torch(case, dtype):
    shape, C_out, k, padding, bias = case
    k = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((C_out, shape[1], *k)).astype(dtype)
    b = rng.standard_normal(C_out).astype(dtype) if bias else None
    assert conv_pool_jit.supports(shape, w.shape, (1, 1), _pads(shape, w.shape, padding),
                                  (1, 1), 1)
    xt, wt, bt, ref = _torch_ref(x, w, b, padding)
    xs, ws = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    bs = None if b is None else Tensor(b, requires_grad=True)
    y = F.conv2d_max_pool2d(xs, ws, bs, padding=padding)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y.data, ref.detach().numpy(), **tol)
    g = rng.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    ref.backward(torch.tensor(g))
    gtol = tol if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), **gtol)
    np.testing.assert_allclose(ws.grad, wt.grad.numpy(), **gtol)
    if bias:
        np.testing.assert_allclose(bs.grad, bt.grad.numpy(), **gtol)


def _pads(shape, w_shape, padding):
    if padding == "same":
        tot = [k - 1 for k in w_shape[2:]]
        return tuple((t // 2, t - t // 2) for t in tot)
    p = (padding, padding) if isinstance(padding, int) else padding
    return tuple((q, q) for q in p)


def test_the_fused_pass_runs_for_auto_only_and_agrees_with_the_two_functions(monkeypatch):
    """auto takes the fused pass; an explicit algorithm keeps the convolution then the
    pooling, bit for bit as the two functions. The two agree to rounding, and pick the
    same taps."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 1, 12, 12)).astype(np.float32)
    w = rng.standard_normal((7, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    calls = []
    real = conv_pool_jit.forward
    monkeypatch.setattr(conv_pool_jit, "forward", lambda *a: (calls.append(1), real(*a))[1])
    outs = {}
    for algorithm in ("auto", "im2col"):
        ws, bs = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
        y = F.conv2d_max_pool2d(x, ws, bs, padding=1, algorithm=algorithm)
        y.backward(np.ones(y.shape, np.float32))
        outs[algorithm] = (y.data, ws.grad, bs.grad)
    assert len(calls) == 1  # auto only
    ws, bs = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, ws, bs, padding=1, algorithm="im2col"), 2)
    y.backward(np.ones(y.shape, np.float32))
    for a, c in zip(outs["im2col"], (y.data, ws.grad, bs.grad)):
        np.testing.assert_array_equal(a, c)
    for a, c in zip(outs["auto"], outs["im2col"]):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_nans_ties_and_infinities_as_the_unfused_functions():
    """A NaN wins its window (the last NaN, `max_pool2d`'s rule), ties go to the first tap,
    and a weight gradient that comes out not finite is the unfused one (NaN where it is)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 1, 9, 10)).astype(np.float32)
    x[1, :, 2:4, 2:4] = np.nan
    x[2] = 0.0  # every output the bias: ties everywhere
    x[3, 0, 5, 5] = np.inf
    w = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    res = []
    for algorithm in ("auto", "im2col"):
        ws, bs = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
        y = F.conv2d_max_pool2d(x, ws, bs, padding=1, algorithm=algorithm)
        y.backward(np.ones(y.shape, np.float32))
        res.append((y.data, ws.grad))
    (ya, ga), (yb, gb) = res
    np.testing.assert_array_equal(np.isnan(ya), np.isnan(yb))
    np.testing.assert_allclose(ya[2], yb[2], rtol=0, atol=0)  # the ties: the bias exactly
    ok = np.isfinite(yb)
    np.testing.assert_allclose(ya[ok], yb[ok], rtol=1e-5, atol=1e-5)
    assert not np.isfinite(gb).all()
    np.testing.assert_array_equal(ga, gb)  # recomputed unfused


def test_the_same_bits_for_any_number_of_threads_and_unbatched_is_a_batch_of_one():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 3, 20, 20)).astype(np.float32)
    w = rng.standard_normal((24, 3, 3, 3)).astype(np.float32)
    before = get_num_threads()
    outs = []
    try:
        for n in (1, 2, 3):
            set_num_threads(n)
            ws = Tensor(w, requires_grad=True)
            y = F.conv2d_max_pool2d(x, ws, padding=1)
            y.backward(np.ones(y.shape, np.float32))
            outs.append((y.data, ws.grad))
    finally:
        set_num_threads(before)
    for other in outs[1:]:
        for a, c in zip(outs[0], other):
            np.testing.assert_array_equal(a, c)
    y1 = F.conv2d_max_pool2d(x[0], w, padding=1)
    np.testing.assert_array_equal(y1.data, outs[0][0][0])


@pytest.mark.parametrize("w_shape, stride, dilation, groups, x_shape, ok", [
    ((32, 1, 3, 3), (1, 1), (1, 1), 1, (2, 1, 28, 28), True),
    ((32, 3, 3, 3), (1, 1), (1, 1), 1, (2, 3, 28, 28), True),     # 27 values
    ((32, 4, 3, 3), (1, 1), (1, 1), 1, (2, 4, 28, 28), False),    # 36: im2col's products
    ((32, 1, 3, 3), (2, 2), (1, 1), 1, (2, 1, 28, 28), False),    # strided
    ((32, 1, 3, 3), (1, 1), (2, 2), 1, (2, 1, 28, 28), False),    # dilated
    ((4, 1, 3, 3), (1, 1), (1, 1), 2, (2, 2, 28, 28), False),     # groups
    ((4, 1, 3, 3), (1, 1), (1, 1), 1, (2, 1, 2, 2), False),       # a 0x0 conv output
])
def test_which_layers_the_fused_pass_takes(w_shape, stride, dilation, groups, x_shape, ok):
    pads = ((0, 0), (0, 0)) if x_shape[2] == 2 else ((1, 1), (1, 1))
    assert conv_pool_jit.supports(x_shape, w_shape, stride, pads, dilation, groups) == ok


def test_the_fused_pass_equals_the_readable_references():
    """float64, against the `direct` convolution (position by position) and the NumPy
    pooling kernel: values, and the weight gradient through the unpooled dL/dy."""
    from convscope.kernels import direct, pool
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 2, 9, 8))
    w = rng.standard_normal((4, 2, 3, 3))
    b = rng.standard_normal(4)
    pads = ((1, 1), (1, 1))
    y, arg, saved = conv_pool_jit.forward(x, w, b, pads)
    conv, _ = direct.forward(x, w, (1, 1), pads, (1, 1), 1, (9, 8))
    conv = conv + b[:, None, None]
    ref, ref_saved = pool.max_pool_forward(conv, (2, 2), (2, 2), (0, 0), (1, 1), (4, 4))
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    gy = pool.max_pool_backward(g, ref_saved, conv.shape, (2, 2), (2, 2), (0, 0), (1, 1))
    gw_ref = direct.backward_weight(x, None, gy, w.shape, (1, 1), pads, (1, 1), 1)
    gw = conv_pool_jit.backward_weight(g, arg, saved, x, w.shape, pads)
    np.testing.assert_allclose(gw, gw_ref, rtol=1e-11, atol=1e-11)
