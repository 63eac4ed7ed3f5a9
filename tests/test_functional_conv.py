"""Convolution, transposed convolution and padding against PyTorch, forward and gradients.

Rank is a parameter, not a copy: the same cases run over 1D, 2D and 3D spatial shapes.
"""

import itertools

import numpy as np
import pytest

import convscope.functional as F
from convscope import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SPATIAL = {1: (11,), 2: (7, 6), 3: (5, 4, 5)}
KERNEL = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}
GENERAL = ["auto", "im2col", "direct"]  # every convolution
# each for its own shapes; the *_jit kernels are compiled (Numba); winograd*_jit 1D and 2D,
# or 3D with groups 1
FAST = ["pointwise", "depthwise", "depthwise_jit", "shifted", "winograd2", "winograd4",
        "winograd2_jit", "winograd4_jit"]
ALGORITHMS = GENERAL + FAST
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}

# (stride, padding, dilation, groups, C_in, C_out): PyTorch's own kinds of configurations
CONV_CASES = [
    (1, 0, 1, 1, 3, 4),          # plain 'valid'
    (1, 1, 1, 1, 3, 4),          # int padding
    (2, 1, 1, 1, 2, 3),          # strided downsampling
    (1, "same", 1, 1, 3, 2),     # 'same' (even kernels pad the far side)
    (1, "same", 2, 1, 2, 2),     # 'same' with dilation
    (1, "valid", 1, 1, 2, 2),
    (3, 2, 2, 2, 4, 6),          # stride > kernel, dilation, groups
    (1, 1, 1, 4, 4, 4),          # depthwise
    (1, 0, 1, 4, 4, 8),          # depthwise with channel multiplier
    (2, 1, 2, 3, 3, 6),          # depthwise, strided and dilated
    ("tuple", "tuple", "tuple", 1, 2, 3),
]


def _kernel_size(algorithm, n):
    """A kernel each algorithm applies to: 1x1 for pointwise, 3-tap for Winograd."""
    if algorithm.startswith("winograd"):
        return (3,) * n
    return {"pointwise": (1,) * n}.get(algorithm, KERNEL[n])


def _applies(algorithm, stride, dilation, groups, cin, n):
    """Each fast algorithm's domain, restated: where it must run, or refuse by name."""
    ones = all(v == 1 for v in np.atleast_1d(stride)) and all(
        v == 1 for v in np.atleast_1d(dilation))
    if algorithm.startswith("winograd") and algorithm.endswith("_jit"):
        if n == 1:  # any dilation: as the undilated convolution of the input's phases
            return all(v == 1 for v in np.atleast_1d(stride))
        return ones and (n == 2 or (n == 3 and groups == 1))
    if algorithm.startswith("winograd"):
        return ones
    if algorithm.startswith("depthwise"):
        return groups == cin
    return True


def _refused(algorithm, call):
    """The call names the algorithm and the rule it needs."""
    with pytest.raises(ValueError, match=f"algorithm='{algorithm}' needs"):
        call()


def _tuple(n, base):
    return tuple(base + i for i in range(n))


def _resolve(case, n):
    stride, padding, dilation, groups, cin, cout = case
    if stride == "tuple":
        stride, padding, dilation = _tuple(n, 1), _tuple(n, 0), (1,) * (n - 1) + (2,)
    return stride, padding, dilation, groups, cin, cout


def _run(fn_ours, fn_torch, arrays, grad_seed=0):
    """Forward and all gradients of ours and torch's, from the same arrays."""
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn_ours(*ours)
    ref = fn_torch(*theirs)
    g = np.random.default_rng(grad_seed).standard_normal(ref.shape).astype(arrays[0].dtype)
    y.backward(g)
    ref.backward(torch.tensor(g))
    return (y.data, [t.grad for t in ours]), (ref.detach().numpy(),
                                              [t.grad.numpy() for t in theirs])


def _check(ours, theirs, dtype):
    (y, grads), (ref, ref_grads) = ours, theirs
    assert y.shape == ref.shape
    assert y.dtype == dtype
    np.testing.assert_allclose(y, ref, **TOL[dtype])
    for g, rg in zip(grads, ref_grads):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, rg, **TOL[dtype])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_matches_torch(algorithm, n, case, dtype):
    stride, padding, dilation, groups, cin, cout = _resolve(case, n)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, cin, *SPATIAL[n])).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, *_kernel_size(algorithm, n))).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    ours_fn = getattr(F, f"conv{n}d")
    torch_fn = getattr(TF, f"conv{n}d")
    if not _applies(algorithm, stride, dilation, groups, cin, n):
        return _refused(algorithm, lambda: ours_fn(x, w, b, stride, padding, dilation, groups,
                                                   algorithm=algorithm))
    ours, theirs = _run(
        lambda x, w, b: ours_fn(x, w, b, stride, padding, dilation, groups, algorithm=algorithm),
        lambda x, w, b: torch_fn(x, w, b, stride, padding, dilation, groups), [x, w, b])
    _check(ours, theirs, dtype)


@pytest.mark.parametrize("algorithm", ["winograd4", "winograd4_jit"])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv1d_five_taps_winograd_matches_torch(algorithm, case, dtype):
    """F(4, 5): 1-D layers of 5 taps (the NumPy reference and the compiled kernel), on
    PyTorch's kinds of configurations (the compiled one dilated too); the others are
    refused by name."""
    stride, padding, dilation, groups, cin, cout = _resolve(case, 1)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, cin, 23)).astype(dtype)
    w = rng.standard_normal((cout, cin // groups, 5)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    if not _applies(algorithm, stride, dilation, groups, cin, 1):
        return _refused(algorithm, lambda: F.conv1d(x, w, b, stride, padding, dilation, groups,
                                                    algorithm=algorithm))
    ours, theirs = _run(
        lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups,
                                 algorithm=algorithm),
        lambda x, w, b: TF.conv1d(x, w, b, stride, padding, dilation, groups), [x, w, b])
    _check(ours, theirs, dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_unbatched_and_no_bias(algorithm, n):
    if not _applies(algorithm, 1, 1, 1, 3, n):
        pytest.skip("2D only: the refusal is checked in test_conv_matches_torch")
    rng = np.random.default_rng(2)
    groups = 3 if algorithm.startswith("depthwise") else 1
    x = rng.standard_normal((3, *SPATIAL[n]))
    w = rng.standard_normal((6, 3 // groups, *_kernel_size(algorithm, n)))
    ours, theirs = _run(
        lambda x, w: getattr(F, f"conv{n}d")(x, w, None, 1, 1, 1, groups, algorithm=algorithm),
        lambda x, w: getattr(TF, f"conv{n}d")(x, w, None, 1, 1, 1, groups), [x, w])
    assert ours[0].ndim == n + 1
    _check(ours, theirs, np.float64)


# (stride, padding, output_padding, dilation, groups)
TRANSPOSE_CASES = [
    (1, 0, 0, 1, 1),
    (2, 0, 1, 1, 1),
    (2, 1, 1, 1, 2),
    (3, 2, 2, 1, 1),
    (1, 1, 1, 2, 1),   # output_padding < dilation with stride 1
    (1, 0, 1, 2, 1),   # the same without padding: the output grows past the input's pixels
    (2, 1, 0, 2, 4),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batched", [True, False])
def test_conv_transpose_matches_torch(algorithm, n, case, dtype, batched):
    stride, padding, output_padding, dilation, groups = case
    rng = np.random.default_rng(3)
    cin, cout = 4, 8
    if algorithm.startswith("depthwise"):  # the adjoint of a depthwise conv: 8 -> 4, groups 4
        cin, cout, groups = 8, 4, 4
    x = rng.standard_normal(((2,) if batched else ()) + (cin, *SPATIAL[n])).astype(dtype)
    w = rng.standard_normal((cin, cout // groups, *_kernel_size(algorithm, n))).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    args = (stride, padding, output_padding, groups, dilation)
    # a transposed convolution runs the adjoint of the convolution from cout channels
    if not _applies(algorithm, stride, dilation, groups, cout, n):
        return _refused(algorithm, lambda: getattr(F, f"conv_transpose{n}d")(
            x, w, b, *args, algorithm=algorithm))
    ours, theirs = _run(
        lambda x, w, b: getattr(F, f"conv_transpose{n}d")(x, w, b, *args, algorithm=algorithm),
        lambda x, w, b: getattr(TF, f"conv_transpose{n}d")(x, w, b, *args), [x, w, b])
    _check(ours, theirs, dtype)


@pytest.mark.parametrize("algorithm", GENERAL)
def test_asymmetric_padding_equals_explicit_pad_then_conv(algorithm):
    """(before, after) padding = zero-pad explicitly (torch's F.pad) then a 'valid' conv."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 8, 7))
    w = rng.standard_normal((5, 3, 3, 3))
    pads = ((0, 1), (2, 0))  # TensorFlow's SAME with stride 2 on an even size pads (0, 1)
    ours, theirs = _run(
        lambda x, w: F.conv2d(x, w, None, 2, pads, algorithm=algorithm),
        lambda x, w: TF.conv2d(TF.pad(x, (2, 0, 0, 1)), w, None, 2), [x, w])
    _check(ours, theirs, np.float64)


@pytest.mark.parametrize("algorithm", GENERAL)
def test_asymmetric_padding_transposed(algorithm):
    """A transposed conv with (before, after) padding crops its full output asymmetrically."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 4, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    pads = ((1, 0), (0, 2))
    ours, theirs = _run(
        lambda x, w: F.conv_transpose2d(x, w, None, 2, pads, algorithm=algorithm),
        lambda x, w: TF.conv_transpose2d(x, w, None, 2)[:, :, 1:, :-2], [x, w])
    _check(ours, theirs, np.float64)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pad", [(1, 2), (2, 1, 0, 3), (1, 1, 2, 0, 1, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pad_matches_torch(mode, pad, dtype):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 4, 5, 6)[:2 + len(pad) // 2]).astype(dtype)
    ours, theirs = _run(lambda x: F.pad(x, pad, mode=mode),
                        lambda x: TF.pad(x, pad, mode=mode), [x])
    _check(ours, theirs, dtype)


@pytest.mark.parametrize("mode, pad", [("circular", (4, 4, 3, 1)), ("replicate", (5, 4, 0, 6)),
                                       ("reflect", (3, 3, 2, 1))])
def test_pad_as_wide_as_allowed_matches_torch(mode, pad):
    """Padding up to the input's size (circular), beyond it (replicate), and size - 1
    (reflect): every padded row's gradient lands on the row it copies."""
    x = np.random.default_rng(11).standard_normal((2, 3, 3, 4))
    ours, theirs = _run(lambda x: F.pad(x, pad, mode=mode),
                        lambda x: TF.pad(x, pad, mode=mode), [x])
    _check(ours, theirs, np.float64)


def test_pad_constant_value_and_negative_crop():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6))
    ours, theirs = _run(lambda x: F.pad(x, (2, -1), value=1.5),
                        lambda x: TF.pad(x, (2, -1), value=1.5), [x])
    _check(ours, theirs, np.float64)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_mode_then_conv_matches_torch_module(mode):
    """Padding modes feed a 'valid' convolution exactly as torch's Conv2d(padding_mode=...)."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 6, 7))
    conv = torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode=mode).double()
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    if mode == "zeros":
        y = F.conv2d(x, w, b, padding=(1, 2))
    else:
        y = F.conv2d(F.pad(x, (2, 2, 1, 1), mode=mode), w, b)
    np.testing.assert_allclose(y, conv(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("algorithm", GENERAL)
def test_numpy_in_numpy_out_and_noncontiguous(algorithm):
    rng = np.random.default_rng(9)
    base = rng.standard_normal((6, 3, 9, 2 * 8))
    x = base[::2, :, :, ::2].transpose(0, 1, 3, 2)  # sliced and transposed: (3, 3, 8, 9)
    assert not x.flags.c_contiguous
    w = np.asfortranarray(rng.standard_normal((4, 3, 3, 3)))
    y = F.conv2d(x, w, padding=1, algorithm=algorithm)
    assert isinstance(y, np.ndarray)
    ref = TF.conv2d(torch.tensor(np.ascontiguousarray(x)), torch.tensor(np.ascontiguousarray(w)),
                    padding=1)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("algorithm", GENERAL)
def test_empty_batch(algorithm):
    x = np.zeros((0, 3, 8, 8), dtype=np.float32)
    w = np.ones((4, 3, 3, 3), dtype=np.float32)
    y = F.conv2d(x, w, np.zeros(4, np.float32), stride=2, padding=1, algorithm=algorithm)
    assert y.shape == (0, 4, 4, 4) and y.dtype == np.float32
    xt = Tensor(x, requires_grad=True)
    wt = Tensor(w, requires_grad=True)
    F.conv2d(xt, wt, algorithm=algorithm).sum().backward()
    assert xt.grad.shape == x.shape and np.all(wt.grad == 0)
    yt = F.conv_transpose2d(x, w.transpose(1, 0, 2, 3), stride=2, algorithm=algorithm)
    assert yt.shape == (0, 4, 17, 17)


def test_tensor_in_tensor_out_without_grad():
    x = Tensor(np.ones((1, 1, 4, 4)))
    y = F.conv2d(x, np.ones((1, 1, 2, 2)))
    assert isinstance(y, Tensor) and not y.requires_grad
    np.testing.assert_array_equal(y.data, np.full((1, 1, 3, 3), 4.0))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_all_configurations_grid_every_algorithm_equals_direct(n):
    """Every combination of stride x padding x dilation x groups: each algorithm that
    applies agrees with the direct reference, forward and both gradients."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 4, *{1: (9,), 2: (7, 8), 3: (5, 6, 5)}[n]))
    for stride, padding, dilation, groups in itertools.product(
            [1, 2], [0, 1, "same"], [1, 2], [1, 2, 4]):
        if padding == "same" and stride != 1:
            continue
        for algorithm in ALGORITHMS:
            if algorithm == "direct" or not _applies(algorithm, stride, dilation, groups, 4, n):
                continue
            w = rng.standard_normal((4, 4 // groups, *_kernel_size(algorithm, n)))
            results = []
            for alg in (algorithm, "direct"):
                xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
                y = F.conv(xt, wt, None, stride, padding, dilation, groups, algorithm=alg)
                (y * y).sum().backward()
                results.append((y.data, xt.grad, wt.grad))
            for a, b in zip(*results):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_fast_algorithms_asymmetric_padding_noncontiguous_input(algorithm, n):
    """(before, after) padding on a sliced, transposed input = torch's F.pad then conv."""
    if not _applies(algorithm, 1, 1, 1, 4, n):
        pytest.skip("2D only: the refusal is checked in test_conv_matches_torch")
    rng = np.random.default_rng(12)
    base = rng.standard_normal((4, 4, *(2 * s for s in SPATIAL[n])))
    x = base[::2, :, *(slice(None, None, 2),) * n]
    assert not x.flags.c_contiguous
    groups = 4 if algorithm.startswith("depthwise") else 1
    w = rng.standard_normal((8, 4 // groups, *_kernel_size(algorithm, n)))
    pads = ((0, 1), (2, 0), (1, 2))[:n]
    torch_pad = tuple(v for p in reversed(pads) for v in p)
    ours, theirs = _run(
        lambda x, w: F.conv(x, w, None, 1, pads, 1, groups, algorithm=algorithm),
        lambda x, w: getattr(TF, f"conv{n}d")(TF.pad(x, torch_pad), w, None, 1, 0, 1, groups),
        [np.ascontiguousarray(x), w])
    _check(ours, theirs, np.float64)
    y = F.conv(x, w, None, 1, pads, 1, groups, algorithm=algorithm)
    np.testing.assert_allclose(y, ours[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("algorithm", FAST)
def test_fast_algorithms_empty_batch(algorithm):
    groups = 3 if algorithm.startswith("depthwise") else 1
    x = np.zeros((0, 3, 8, 8), dtype=np.float32)
    w = np.ones((6, 3 // groups, *_kernel_size(algorithm, 2)), dtype=np.float32)
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    y = F.conv2d(xt, wt, None, 1, 1, 1, groups, algorithm=algorithm)
    assert y.shape[:2] == (0, 6)
    y.sum().backward()
    assert xt.grad.shape == x.shape and np.all(wt.grad == 0)


# -- conv2d_max_pool2d: the convolution and a 2x2 max pooling, fused where Winograd runs -----
POOL_CASES = [  # (x shape, C_out, padding, groups, bias)
    ((3, 4, 7, 7), 5, 1, 1, True),          # 7x7 -> 3x3: the last row and column dropped
    ((2, 6, 10, 9), 4, ((2, 0), (0, 3)), 2, False),
    ((1, 3, 6, 6), 2, 0, 1, True),           # 'valid': 4x4 -> 2x2
    ((4, 4, 9, 11), 3, "same", 1, True),
]


@pytest.mark.parametrize("algorithm", ["winograd2_jit", "winograd4_jit", "im2col"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_conv2d_max_pool2d_matches_torch(algorithm, case):
    shape, C_out, padding, groups, bias = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((C_out, shape[1] // groups, 3, 3))
    b = rng.standard_normal(C_out) if bias else None
    if isinstance(padding, tuple):  # asymmetric: PyTorch pads explicitly first
        (t, bo), (le, r) = padding
        xt = TF.pad(torch.tensor(x), (le, r, t, bo))
        pt = 0
    else:
        xt, pt = torch.tensor(x), padding
    xt.requires_grad_(True)
    wt, bt = torch.tensor(w, requires_grad=True), None if b is None else torch.tensor(
        b, requires_grad=True)
    ref = TF.max_pool2d(TF.conv2d(xt, wt, bt, 1, pt, 1, groups), 2)
    xs, ws = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    bs = None if b is None else Tensor(b, requires_grad=True)
    y = F.conv2d_max_pool2d(xs, ws, bs, 1, padding, 1, groups, algorithm=algorithm)
    np.testing.assert_allclose(y.data, ref.detach().numpy(), **TOL[np.float64])
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ref.backward(torch.tensor(g))
    gx = xt.grad.numpy()
    if isinstance(padding, tuple):
        gx = gx[:, :, t:gx.shape[2] - bo, le:gx.shape[3] - r]
    np.testing.assert_allclose(xs.grad, gx, **TOL[np.float64])
    np.testing.assert_allclose(ws.grad, wt.grad.numpy(), **TOL[np.float64])
    if bias:
        np.testing.assert_allclose(bs.grad, bt.grad.numpy(), **TOL[np.float64])


@pytest.mark.parametrize("algorithm", ["winograd2_jit", "winograd4_jit"])
def test_conv2d_max_pool2d_fused_is_the_same_bits_as_the_two_functions(algorithm):
    """float32, NaNs and ties included: the fused pass picks the same tap as `max_pool2d`
    (the first maximum in kernel order, or the last NaN), so the same values and the same
    gradients, and an unbatched input is the batch of one."""
    from convscope.kernels import winograd_jit
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 8, 9, 10)).astype(np.float32)
    x[1, :, 2:4, 2:4] = np.nan
    x[2] = 0.0  # ties everywhere (the outputs are the bias)
    w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    calls = []
    real = winograd_jit.forward_max_pool
    winograd_jit.forward_max_pool = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
    try:
        for xb in (x, x[0]):
            outs = []
            for fused in (True, False):
                xs, ws, bs = (Tensor(a, requires_grad=True) for a in (xb, w, b))
                if fused:
                    y = F.conv2d_max_pool2d(xs, ws, bs, padding=1, algorithm=algorithm)
                else:
                    y = F.max_pool2d(F.conv2d(xs, ws, bs, padding=1, algorithm=algorithm), 2)
                g = np.random.default_rng(7).standard_normal(y.shape).astype(np.float32)
                y.backward(g)
                outs.append([y.data, xs.grad, ws.grad, bs.grad])
            for a, c in zip(*outs):
                np.testing.assert_array_equal(a, c)
    finally:
        winograd_jit.forward_max_pool = real
    assert len(calls) == 2  # both went through the fused pass


def test_conv2d_max_pool2d_refuses_as_its_parts_do():
    x = np.zeros((2, 4, 1, 6), np.float32)  # the convolution's output has one row
    w = np.zeros((3, 4, 1, 1), np.float32)
    with pytest.raises(ValueError, match="max_pool2d"):
        F.conv2d_max_pool2d(x, w)
    with pytest.raises(ValueError, match="conv2d: input has 4 channels"):
        F.conv2d_max_pool2d(x, np.zeros((3, 5, 1, 1), np.float32))
    with pytest.raises(ValueError, match=r"needs a 2D weight .* got shape \(3, 4, 1\)"):
        F.conv2d_max_pool2d(np.zeros((2, 4, 6), np.float32), np.zeros((3, 4, 1), np.float32))


@pytest.mark.parametrize("m", [2, 4])
def test_conv2d_max_pool2d_fused_kernel_equals_the_numpy_references(m):
    """The compiled fused pass (`winograd_jit.forward_max_pool`) against the NumPy kernels
    it replaces: the NumPy Winograd convolution, the bias, then `pool`'s max pooling; the
    same maxima (float64, to rounding) and the same taps."""
    from convscope.kernels import ALGORITHMS, pool, winograd_jit
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 5, 9, 11))
    w = rng.standard_normal((4, 5, 3, 3))
    b = rng.standard_normal(4)
    pads = ((1, 1), (1, 1))
    y, arg = winograd_jit.forward_max_pool(x, w, b, pads, 1, (9, 11), m=m)
    conv = ALGORITHMS[f"winograd{m}"].forward(x, w, (1, 1), pads, (1, 1), 1, (9, 11))[0]
    conv = conv + b.reshape(1, -1, 1, 1)
    ref, saved = pool.max_pool_forward(conv, (2, 2), (2, 2), (0, 0), (1, 1), (4, 5))
    np.testing.assert_allclose(y, ref, rtol=1e-11, atol=1e-11)
    g = rng.standard_normal(y.shape)
    from convscope.kernels import pool_jit
    gx = pool_jit.max_pool_backward(g, pool_jit.pool_saved_2x2(arg, conv.shape))
    np.testing.assert_array_equal(
        gx, pool.max_pool_backward(g, saved, conv.shape, (2, 2), (2, 2), (0, 0), (1, 1)))
