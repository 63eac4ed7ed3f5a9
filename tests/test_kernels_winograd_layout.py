"""The compiled Winograd transforms that stage tiles with the channels innermost
(`winograd_kernels.input_tiles_cl*`, `output_grad_tiles_cl*`) give the same values as the
ones that copy each tile out of its rows, and `winograd_jit` takes them where its rule
says, with the same convolution either way."""

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor
from convscope.kernels import winograd_jit

SHAPES = [  # (N, C, H, W, pads): odd sizes, a map cut at the edge, no and uneven padding
    (3, 5, 14, 14, ((1, 1), (1, 1))),
    (2, 8, 7, 9, ((1, 1), (1, 1))),
    (4, 3, 6, 5, ((0, 0), (0, 0))),
    (2, 4, 9, 7, ((2, 0), (0, 1))),
    (2, 21, 10, 11, ((1, 1), (1, 1))),  # channels staged eight at a time plus 5 more
]


def _planes(rng, N, C, H, W, channel_major, dtype):
    """(N, C, H, W) values, or with channel_major their (C, N, H, W) memory."""
    return rng.standard_normal((C, N, H, W) if channel_major else (N, C, H, W)).astype(dtype)


@pytest.mark.parametrize("m", [2, 4])
@pytest.mark.parametrize("channel_major", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_channels_inner_transforms_are_the_same_values(shape, m, channel_major, dtype):
    from convscope.kernels import winograd_kernels as K
    N, C, H, W, pads = shape
    (pt, pb), (pl, pr) = pads
    out = (H + pt + pb - 2, W + pl + pr - 2)
    plan = winograd_jit._Plan((N, C, H, W), 6, out, m, dtype)
    rng = np.random.default_rng(11)
    x = _planes(rng, N, C, H, W, channel_major, dtype)
    gy = _planes(rng, N, 6, *out, channel_major, dtype)
    a2, c = plan.alpha ** 2, plan.chunks
    for g0, g1 in zip(c[:-1], c[1:]):
        T = (g1 - g0) * plan.TW
        V = np.full((a2, C, T), np.nan, dtype)
        Vt = np.full((a2, T, C), np.nan, dtype)
        K.kernels(m)[0](x, channel_major, plan.BT, pt, pl, plan.TH, plan.TW, g0, g1, V, 0)
        K.input_kernel_cl(m)(x, channel_major, plan.BT, pt, pl, plan.TH, plan.TW, g0, g1, Vt)
        np.testing.assert_array_equal(Vt.transpose(0, 2, 1), V)
        dM = np.full((a2, 6, T), np.nan, dtype)
        dMt = np.full((a2, T, 6), np.nan, dtype)
        K.kernels(m)[2](gy, channel_major, plan.A, plan.TH, plan.TW, g0, g1, dM)
        K.output_grad_kernel_cl(m)(gy, channel_major, plan.A, plan.TH, plan.TW, g0, g1, dMt)
        np.testing.assert_array_equal(dMt.transpose(0, 2, 1), dM)


@pytest.mark.parametrize("algorithm, size", [("winograd2_jit", 8), ("winograd4_jit", 14)])
def test_either_staging_gives_the_same_convolution_and_gradients(monkeypatch, algorithm,
                                                                 size):
    """The rule picks the channels-inner passes for a map 4 tiles wide of 16 channels; with
    them turned off (`CHANNELS_INNER_MAX_TW` = 0) the results agree to rounding (the
    products read the transformed tiles through another layout)."""
    from convscope.kernels import winograd_kernels as K
    rng = np.random.default_rng(12)
    x = rng.standard_normal((6, 16, size, size))
    w = rng.standard_normal((12, 16, 3, 3))
    g = rng.standard_normal((6, 12, size, size))
    m = int(algorithm[8])
    spy = []
    real = K.input_kernel_cl
    monkeypatch.setattr(K, "input_kernel_cl", lambda m: (spy.append(m), real(m))[1])
    res = []
    for tw in (winograd_jit.CHANNELS_INNER_MAX_TW, 0):
        monkeypatch.setattr(winograd_jit, "CHANNELS_INNER_MAX_TW", tw)
        xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1, algorithm=algorithm)
        y.backward(g)
        res.append((y.data, xt.grad, wt.grad))
        if tw:
            assert spy and set(spy) == {m}  # forward, input and weight gradients took it
            spy.clear()
    assert not spy  # turned off
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
