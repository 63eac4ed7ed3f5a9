"""Convolution checked without PyTorch: finite differences, the adjoint identity, the
lecture's formulas as closed-form cases, and properties over random valid arguments."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convscope.functional as F
from convscope import Tensor
from gradcheck import numerical_grad

ALGORITHMS = ["im2col", "direct", "auto"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradients_match_finite_differences(algorithm, transposed, n):
    rng = np.random.default_rng(n)
    spatial = {1: (7,), 2: (5, 4), 3: (4, 3, 4)}[n]
    x = rng.standard_normal((2, 4, *spatial))
    if transposed:
        w = rng.standard_normal((4, 3, *([2] * n)))
        b = rng.standard_normal(6)
        kwargs = dict(stride=2, padding=1, output_padding=1, groups=2)
        fn = F.conv_transpose
    else:
        w = rng.standard_normal((6, 2, *([2] * n)))
        b = rng.standard_normal(6)
        kwargs = dict(stride=2, padding=((1, 0),) * n, dilation=1, groups=2)
        fn = F.conv
    target = rng.standard_normal(fn(x, w, b, **kwargs).shape)

    def loss():
        return float(np.sum(fn(x, w, b, **kwargs, algorithm=algorithm) * target))

    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    (fn(*tensors, **kwargs, algorithm=algorithm) * target).sum().backward()
    for t, a in zip(tensors, (x, w, b)):
        np.testing.assert_allclose(t.grad, numerical_grad(loss, a), rtol=1e-6, atol=1e-7)


# (algorithm, kernel size, stride, padding, groups, C_in, C_out): each in its own domain
FAST_CASES = [
    ("pointwise", 1, 2, 1, 1, 4, 6),
    ("pointwise", 1, 3, 0, 1, 2, 3),  # the last pixels unused (transposed: output_padding)
    ("pointwise", 1, 1, 0, 2, 4, 6),
    ("depthwise", 3, 2, 1, 4, 4, 8),
    ("depthwise", 2, 1, 0, 4, 4, 4),
    ("depthwise_jit", 3, 2, 1, 4, 4, 8),
    ("depthwise_jit", 2, 1, 0, 4, 4, 4),
    ("winograd2", 3, 1, 1, 2, 4, 6),
    ("winograd4", 3, 1, ((2, 0),), 1, 3, 4),
    ("winograd2_jit", 3, 1, 1, 2, 4, 6),
    ("winograd4_jit", 3, 1, ((2, 0),), 1, 3, 4),
    ("winograd4_jit", 3, 1, 3, 1, 5, 3),  # padding wider than the kernel (adjoint: im2col)
]


@pytest.mark.parametrize("case", FAST_CASES, ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}")
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_fast_algorithms_gradients_match_finite_differences(case, transposed, n):
    algorithm, k, stride, padding, groups, cin, cout = case
    if algorithm.startswith("winograd") and algorithm.endswith("_jit") and (
            n == 1 or (n == 3 and groups != 1)):
        pytest.skip("the compiled Winograd kernels are 2D, or 3D with groups 1")
    if n == 3 and transposed and padding == 3:
        pytest.skip("padding 3 of a 3x3x3 input leaves no transposed output")
    if isinstance(padding, tuple):
        padding = padding * n
    rng = np.random.default_rng(30 + n)
    x = rng.standard_normal((2, cin if not transposed else cout, *([{1: 6, 2: 5, 3: 3}[n]] * n)))
    if transposed:  # the adjoint of the convolution cin -> cout: weight (cout, cin/G, *K)
        w = rng.standard_normal((cout, cin // groups, *([k] * n)))
        b = rng.standard_normal(cin)
        kwargs = dict(stride=stride, padding=padding, groups=groups,
                      output_padding=stride - 1)
        fn = F.conv_transpose
    else:
        w = rng.standard_normal((cout, cin // groups, *([k] * n)))
        b = rng.standard_normal(cout)
        kwargs = dict(stride=stride, padding=padding, groups=groups)
        fn = F.conv
    target = rng.standard_normal(fn(x, w, b, **kwargs).shape)

    def loss():  # the reference's rounding: Winograd's is larger, and FD divides it by eps
        return float(np.sum(fn(x, w, b, **kwargs, algorithm="direct") * target))

    tensors = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    (fn(*tensors, **kwargs, algorithm=algorithm) * target).sum().backward()
    for t, a in zip(tensors, (x, w, b)):
        np.testing.assert_allclose(t.grad, numerical_grad(loss, a), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_adjoint_identity(algorithm, n):
    """<conv(x, w), y> = <x, conv_transpose(y, w)>: the transposed conv is the adjoint."""
    rng = np.random.default_rng(20 + n)
    x = rng.standard_normal((2, 4, *([7] * n)))
    w = rng.standard_normal((6, 2, *([3] * n)))
    kwargs = dict(stride=2, padding=1, dilation=1, groups=2)
    y_shape = F.conv(x, w, **kwargs).shape
    y = rng.standard_normal(y_shape)
    lhs = np.sum(F.conv(x, w, **kwargs, algorithm=algorithm) * y)
    # output_padding picks the input size 7 among those that the stride maps alike
    out = F.conv_transpose(y, w, stride=2, padding=1, output_padding=0, groups=2,
                           algorithm=algorithm)
    assert out.shape == x.shape
    np.testing.assert_allclose(lhs, np.sum(x * out), rtol=1e-10)


# -- the lecture's formulas ----------------------------------------------------------------

def test_lecture_5x5_filter_over_32x32_gives_28x28():
    """W' = W - K + 1 without padding: a 3x5x5 filter over a 3x32x32 image gives 28x28."""
    x = np.zeros((1, 3, 32, 32))
    w = np.zeros((6, 3, 5, 5))
    assert F.conv2d(x, w).shape == (1, 6, 28, 28)


@pytest.mark.parametrize("W,K,P,S", [(32, 5, 2, 1), (32, 3, 1, 2), (7, 3, 0, 2), (224, 7, 3, 2),
                                     (227, 11, 0, 4), (10, 1, 0, 1), (9, 3, 1, 3)])
def test_lecture_output_size_formula(W, K, P, S):
    """W' = (W - K + 2P)/S + 1 (floored when the stride does not divide)."""
    y = F.conv2d(np.zeros((1, 1, W, W)), np.zeros((1, 1, K, K)), stride=S, padding=P)
    assert y.shape[-2:] == ((W - K + 2 * P) // S + 1,) * 2


@pytest.mark.parametrize("K", [1, 3, 5, 7])
def test_lecture_same_padding_keeps_size(K):
    """P = (K-1)/2 keeps the size; padding='same' computes the same P."""
    x = np.random.default_rng(K).standard_normal((1, 2, 12, 9))
    w = np.random.default_rng(K + 1).standard_normal((3, 2, K, K))
    y = F.conv2d(x, w, padding=(K - 1) // 2)
    assert y.shape[-2:] == x.shape[-2:]
    np.testing.assert_array_equal(y, F.conv2d(x, w, padding="same"))


@pytest.mark.parametrize("W", [8, 16, 28, 224])
def test_lecture_k3_p1_s2_halves_even_size(W):
    y = F.conv2d(np.zeros((1, 1, W, W)), np.zeros((1, 1, 3, 3)), stride=2, padding=1)
    assert y.shape[-2:] == (W // 2, W // 2)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_lecture_1x1_conv_is_per_pixel_matrix_product(algorithm):
    """A 1x1 convolution mixes channels at each pixel: a matrix product over channels."""
    rng = np.random.default_rng(30)
    x = rng.standard_normal((2, 3, 5, 4))  # e.g. (R, G, B) per pixel
    w = rng.standard_normal((4, 3, 1, 1))
    expected = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x)
    np.testing.assert_allclose(F.conv2d(x, w, algorithm=algorithm), expected, rtol=1e-12)
    # the lecture's worked example: 0.3R + 0.5G + 0.2B at a pixel (0.2, 0.8, 0.1) is 0.48
    pixel = np.array([0.2, 0.8, 0.1]).reshape(1, 3, 1, 1)
    mix = np.array([0.3, 0.5, 0.2]).reshape(1, 3, 1, 1)
    assert F.conv2d(pixel, mix, algorithm=algorithm).item() == pytest.approx(0.48)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_lecture_one_bias_per_filter(algorithm):
    """All-ones 3x3 filters over 3 all-ones channels give 27 plus the filter's bias."""
    x = np.ones((1, 3, 6, 6))
    w = np.ones((2, 3, 3, 3))
    b = np.array([0.5, -2.0])
    y = F.conv2d(x, w, b, algorithm=algorithm)
    np.testing.assert_array_equal(y[0, 0], np.full((4, 4), 27.5))
    np.testing.assert_array_equal(y[0, 1], np.full((4, 4), 25.0))
    # with zero padding, the corners see only 2x2 of the 3x3 window: 12 + bias
    assert F.conv2d(x, w, b, padding=1, algorithm=algorithm)[0, 0, 0, 0] == 12.5


# -- properties over random valid arguments --------------------------------------------------

@st.composite
def conv_args(draw):
    n = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    K = [draw(st.integers(1, 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 2)) for _ in range(n)]
    pads = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(n)]
    size = [max(1, d * (k - 1) + 1 - sum(p)) + draw(st.integers(0, 4))
            for k, d, p in zip(K, dilation, pads)]
    batch = draw(st.integers(1, 2))
    return n, groups, cin, cout, K, stride, dilation, pads, size, batch


@settings(max_examples=60, deadline=None)
@given(conv_args(), st.integers(0, 2 ** 31))
def test_output_shape_formula_and_direct_equals_im2col(args, seed):
    n, groups, cin, cout, K, stride, dilation, pads, size, batch = args
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, cin, *size))
    w = rng.standard_normal((cout, cin // groups, *K))
    outs = [F.conv(x, w, None, stride, tuple(pads), dilation, groups, algorithm=a)
            for a in ALGORITHMS]
    expected = tuple(math.floor((s + p[0] + p[1] - d * (k - 1) - 1) / st_) + 1
                     for s, p, d, k, st_ in zip(size, pads, dilation, K, stride))
    assert outs[0].shape == (batch, cout) + expected
    for other in outs[1:]:
        np.testing.assert_allclose(outs[0], other, rtol=1e-10, atol=1e-10)
    # the transposed convolution maps the output size back (up to the dropped remainder)
    if any((o - 1) * st_ - sum(p) + d * (k - 1) + 1 <= 0
           for o, st_, p, d, k in zip(expected, stride, pads, dilation, K)):
        return  # padding larger than what the transposed conv produces: nothing to map back
    wt = rng.standard_normal((cout, cin // groups, *K))
    back = [F.conv_transpose(outs[0], wt, None, stride, tuple(pads), 0, groups, dilation,
                             algorithm=a) for a in ALGORITHMS]
    assert all(0 <= s - b < st_ for s, b, st_ in zip(size, back[0].shape[2:], stride))
    for other in back[1:]:
        np.testing.assert_allclose(back[0], other, rtol=1e-10, atol=1e-10)
