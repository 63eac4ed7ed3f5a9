"""Bad arguments get an error that names the function, the argument, the value and the rule."""

import numpy as np
import pytest

import convscope.functional as F

x2 = np.zeros((2, 4, 8, 8), dtype=np.float32)
w2 = np.zeros((6, 4, 3, 3), dtype=np.float32)
x1 = np.zeros((2, 3, 5), dtype=np.float32)
x3 = np.zeros((1, 2, 4, 4, 4), dtype=np.float32)

ERRORS = [
    # (call, exception, message pattern)
    (lambda: F.conv3d(np.zeros((3, 32, 32), np.float32), np.zeros((4, 3, 3, 3, 3),
                                                                    np.float32)),
     ValueError, r"conv3d: expected input of shape \(N, C, D, H, W\) or \(C, D, H, W\), "
                 r"got shape \(3, 32, 32\)"),
    (lambda: F.conv2d(np.zeros(5, np.float32), w2), ValueError,
     r"conv2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(5,\)"),
    (lambda: F.conv2d(x2, np.zeros((6, 4, 3), np.float32)), ValueError,
     r"conv2d: expected weight with 4 dimensions"),
    (lambda: F.conv2d(x2, np.zeros((6, 3, 3, 3), np.float32)), ValueError,
     r"conv2d: input has 4 channels but weight.shape\[1\] x groups = 3 x 1 = 3"),
    (lambda: F.conv2d(x2, np.zeros((6, 1, 3, 3), np.float32), groups=3), ValueError,
     r"conv2d: groups=3 must divide in_channels=4"),
    (lambda: F.conv2d(x2, np.zeros((6, 1, 3, 3), np.float32), groups=2), ValueError,
     r"conv2d: input has 4 channels but weight.shape\[1\] x groups = 1 x 2 = 2"),
    (lambda: F.conv2d(x2, np.zeros((5, 2, 3, 3), np.float32), groups=2), ValueError,
     r"conv2d: groups=2 must divide out_channels=5"),
    (lambda: F.conv2d(x2, w2, groups=0), ValueError, r"conv2d: groups must be positive"),
    (lambda: F.conv2d(x2, w2, stride=0), ValueError,
     r"conv2d: stride must be positive, got stride=0"),
    (lambda: F.conv2d(x2, w2, stride=(1, -1)), ValueError,
     r"conv2d: stride must be positive, got stride=\(1, -1\)"),
    (lambda: F.conv2d(x2, w2, stride=(1, 1, 1)), ValueError,
     r"conv2d: stride needs 1 or 2 values"),
    (lambda: F.conv2d(x2, w2, stride=1.5), TypeError, r"conv2d: stride must be an int"),
    (lambda: F.conv2d(x2, w2, dilation=0), ValueError,
     r"conv2d: dilation must be positive, got dilation=0"),
    (lambda: F.conv2d(x2, w2, padding=-1), ValueError,
     r"conv2d: padding must be non-negative, got padding=-1"),
    (lambda: F.conv2d(x2, w2, padding=((0, -1), (0, 0))), ValueError,
     r"conv2d: padding must be non-negative"),
    (lambda: F.conv2d(x2, w2, stride=2, padding="same"), ValueError,
     r"conv2d: padding='same' needs stride 1, got stride=\(2, 2\)"),
    (lambda: F.conv2d(x2, w2, padding="full"), ValueError,
     r"conv2d: padding must be 'same', 'valid', an int or a tuple, got padding='full'"),
    (lambda: F.conv2d(x2, np.zeros((6, 4, 9, 3), np.float32)), ValueError,
     r"conv2d: kernel_size=\(9, 3\) with dilation=\(1, 1\) spans 9 along spatial "
     r"dimension 0, larger than the padded input 8"),
    (lambda: F.conv1d(x1, np.zeros((2, 3, 3), np.float32), dilation=3), ValueError,
     r"conv1d: kernel_size=\(3,\) with dilation=\(3,\) spans 7 .* larger than the padded "
     r"input 5"),
    (lambda: F.conv2d(x2, w2, np.zeros(5, np.float32)), ValueError,
     r"conv2d: bias must have shape \(6,\) \(one per filter\), got shape \(5,\)"),
    (lambda: F.conv2d(x2.astype(np.int64), w2), TypeError,
     r"conv2d: input must be float32 or float64, got dtype int64"),
    (lambda: F.conv2d(x2, w2.astype(np.float64)), TypeError,
     r"conv2d: weight has dtype float64 but input has dtype float32"),
    (lambda: F.conv2d(x2, w2, algorithm="fft"), ValueError,
     r"conv2d: algorithm must be 'auto' or one of \['depthwise', 'depthwise_jit', 'direct', "
     r"'im2col', 'pointwise', 'shifted', 'winograd2', 'winograd2_jit', 'winograd4', "
     r"'winograd4_jit'\], got algorithm='fft'"),
    (lambda: F.conv1d(x2[..., 0], w2[..., 0], stride=2, algorithm="winograd4_jit"),
     ValueError,
     r"conv1d: algorithm='winograd4_jit' needs stride 1, and a 1D convolution with "
     r"kernel_size 3 or 5, a 2D one with kernel_size 3 and dilation 1, or a 3D one with "
     r"kernel_size 3, dilation 1 and groups=1, got kernel_size=\(3,\), stride=\(2,\)"),
    (lambda: F.conv1d(x2[..., 0], np.zeros((3, 4, 5), np.float32), algorithm="winograd2_jit"),
     ValueError,
     r"conv1d: algorithm='winograd2_jit' needs stride 1, and a 1D convolution "
     r"with kernel_size 3, .*got kernel_size=\(5,\)"),
    (lambda: F.conv2d(x2, w2, dilation=2, algorithm="winograd4_jit"), ValueError,
     r"conv2d: algorithm='winograd4_jit' needs .*a 2D one with kernel_size 3 and dilation 1"
     r", .*got kernel_size=\(3, 3\), stride=\(1, 1\), dilation=\(2, 2\)"),
    (lambda: F.conv3d(np.zeros((1, 4, 5, 5, 5), np.float32),
                      np.zeros((4, 2, 3, 3, 3), np.float32), groups=2,
                      algorithm="winograd2_jit"), ValueError,
     r"conv3d: algorithm='winograd2_jit' needs .*a 3D one with kernel_size 3, dilation 1 "
     r"and groups=1, got kernel_size=\(3, 3, 3\), .*groups=2"),
    (lambda: F.conv2d(x2, w2, stride=2, algorithm="winograd4"), ValueError,
     r"conv2d: algorithm='winograd4' needs the same kernel_size along every axis, one of "
     r"\[3, 5\], stride 1 and dilation 1, got kernel_size=\(3, 3\), stride=\(2, 2\)"),
    (lambda: F.conv2d(x2, np.zeros((3, 4, 3, 5), np.float32), algorithm="winograd2"),
     ValueError,
     r"conv2d: algorithm='winograd2' needs the same kernel_size along every axis, one of "
     r"\[3\], .*got kernel_size=\(3, 5\)"),
    (lambda: F.conv2d(x2, w2, algorithm="pointwise"), ValueError,
     r"conv2d: algorithm='pointwise' needs a 1x1 kernel, got kernel_size=\(3, 3\)"),
    (lambda: F.conv2d(x2, w2, algorithm="depthwise"), ValueError,
     r"conv2d: algorithm='depthwise' needs groups == in_channels, got .*groups=1, "
     r"in_channels=4"),
    (lambda: F.conv_transpose2d(x2, np.zeros((4, 2, 3, 3), np.float32), stride=2,
                                output_padding=2), ValueError,
     r"conv_transpose2d: output_padding must be smaller than stride or dilation, got "
     r"output_padding=\(2, 2\), stride=\(2, 2\)"),
    (lambda: F.conv_transpose2d(x2, np.zeros((3, 2, 3, 3), np.float32)), ValueError,
     r"conv_transpose2d: input has 4 channels but weight.shape\[0\] = 3"),
    (lambda: F.conv_transpose2d(x2, np.zeros((4, 2, 3, 3), np.float32), padding="same"),
     ValueError, r"conv_transpose2d: padding must be an int or a tuple"),
    (lambda: F.conv_transpose1d(x1, np.zeros((3, 2, 1), np.float32), padding=3), ValueError,
     r"conv_transpose1d: output size \(-1,\) is not positive"),
    (lambda: F.pad(x2, (1, 2, 3)), ValueError, r"pad: pad needs an even number of values"),
    (lambda: F.pad(x2, (1, 1), mode="mirror"), ValueError,
     r"pad: mode must be one of .*, got mode='mirror'"),
    (lambda: F.pad(x2, (8, 1), mode="reflect"), ValueError,
     r"pad: reflect padding must be smaller than the input dimension, got padding \(8, 1\) "
     r"for dimension 3 of size 8"),
    (lambda: F.pad(x2, (9, 0), mode="circular"), ValueError,
     r"pad: circular padding must be at most the input dimension"),
    (lambda: F.pad(x2, (-1, 0), mode="replicate"), ValueError,
     r"pad: mode='replicate' needs non-negative pad"),
    (lambda: F.pad(x2, (1.5, 0)), TypeError, r"pad: pad must be a tuple of ints"),
    (lambda: F.pad(x2, (1, 1), mode=np.zeros(0)), ValueError, r"pad: mode must be one of"),
    (lambda: F.conv2d(None, w2), TypeError,
     r"conv2d: input must be an array or a Tensor, got None"),
    (lambda: F.conv2d(x2, None), TypeError, r"conv2d: weight must be an array or a Tensor"),
    (lambda: F.conv2d(np.full(x2.shape, "a"), w2), TypeError,
     r"conv2d: input must hold numbers \(bool, int or float\), got dtype <U1"),
    (lambda: F.conv2d(x2, w2, padding=2**63), ValueError,
     r"conv2d: the padded input would have shape \(2, 4, \d+, \d+\), too large to allocate"),
    (lambda: F.conv_transpose2d(x2, np.zeros((4, 2, 3, 3), np.float32), stride=2**62),
     ValueError, r"conv_transpose2d: the output would have shape .* too large to allocate"),
    (lambda: F.adaptive_avg_pool2d(x2, 2**62), ValueError,
     r"adaptive_avg_pool2d: the output would have shape .* too large"),
    (lambda: F.avg_pool2d(x2, 2, count_include_pad="no"), TypeError,
     r"avg_pool2d: count_include_pad must be a bool"),
    (lambda: F.relu(None), TypeError, r"relu: input must be an array or a Tensor, got None"),
    (lambda: F.linear(x2, None), TypeError, r"linear: weight must be an array or a Tensor"),
    (lambda: F.gelu(x2, approximate=np.zeros(0)), TypeError,
     r"gelu: approximate must be 'none' or 'tanh'"),
    (lambda: F.batch_norm(x2, [0.0] * 4, [1.0] * 4, training=True), TypeError,
     r"batch_norm: running_mean must be a float array, a Tensor or None"),
    (lambda: F.batch_norm(x2, None, None, training=True, momentum="a"), TypeError,
     r"batch_norm: momentum must be a real number"),
    (lambda: F.batch_norm(x2, None, None, training=np.zeros(0)), TypeError,
     r"batch_norm: training must be a bool"),
    (lambda: F.dropout(x2, training="yes"), TypeError, r"dropout: training must be a bool"),
    (lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), ignore_index=[]), TypeError,
     r"cross_entropy: ignore_index must be an int"),
    (lambda: F.mse_loss(x2, x2, reduction=np.zeros(0)), ValueError,
     r"mse_loss: reduction must be one of"),
]


@pytest.mark.parametrize("name", ["conv2d", "max_pool2d", "avg_pool2d"])
def test_a_stride_too_large_to_slice_gives_the_one_window_like_torch(name):
    """A stride past the input (here 2**63 - 1, which NumPy cannot slice with) gives one
    window per axis: the same as any stride past it (PyTorch's pooling stops at int32)."""
    torch = pytest.importorskip("torch")
    args = (w2,) if name == "conv2d" else (3,)
    ours = getattr(F, name)(x2, *args, stride=2**63 - 1)
    theirs = getattr(torch.nn.functional, name)(
        torch.from_numpy(x2), *(torch.from_numpy(a) if isinstance(a, np.ndarray) else a
                                for a in args), stride=1000)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)
    assert ours.shape[2:] == (1, 1)


@pytest.mark.parametrize("call,exc,pattern", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_error_messages(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


@pytest.mark.parametrize("value", ["x", "0", "-2"])
def test_bad_thread_count_in_the_environment_is_named(value):
    import os
    import subprocess
    import sys
    env = dict(os.environ, CONVSCOPE_NUM_THREADS=value)
    out = subprocess.run([sys.executable, "-c", "import convscope"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert (f"CONVSCOPE_NUM_THREADS must be a positive integer, got {value!r}"
            in out.stderr)


# -- zero-size weights and inputs: refused where PyTorch refuses them ---------------------------
ZERO_SIZE = [
    # (function name, input shape, weight shape, kwargs, message pattern)
    ("conv2d", (1, 3, 5, 5), (0, 3, 3, 3), {}, r"conv2d: weight .* has C_out = 0"),
    ("conv2d", (1, 4, 5, 5), (0, 2, 3, 3), {"groups": 2}, r"has C_out = 0"),
    ("conv2d", (3, 5, 5), (0, 3, 3, 3), {}, r"has C_out = 0"),
    ("conv1d", (1, 3, 5), (0, 3, 3), {}, r"conv1d: weight .* has C_out = 0"),
    ("conv3d", (1, 3, 5, 5, 5), (0, 3, 3, 3, 3), {}, r"conv3d: weight .* has C_out = 0"),
    ("conv2d", (1, 3, 5, 5), (4, 3, 0, 3), {},
     r"conv2d: kernel size must be positive, got weight of shape \(4, 3, 0, 3\)"),
    ("conv2d", (1, 3, 0, 5), (4, 3, 3, 3), {},
     r"conv2d: input spatial size \(0, 5\) must be non-empty \(only the batch may be empty\)"),
    ("conv2d", (1, 3, 0, 5), (4, 3, 3, 3), {"padding": 2}, r"must be non-empty"),
    ("conv_transpose2d", (1, 3, 5, 5), (3, 0, 3, 3), {},
     r"conv_transpose2d: weight \(C_in, C_out/groups, \*K\) has C_out/groups = 0"),
    ("conv_transpose1d", (1, 3, 5), (3, 0, 3), {}, r"conv_transpose1d: .* C_out/groups = 0"),
    ("conv_transpose3d", (1, 3, 5, 5, 5), (3, 0, 3, 3, 3), {}, r"C_out/groups = 0"),
    ("conv_transpose2d", (1, 0, 5, 5), (0, 4, 3, 3), {}, r"conv_transpose2d: .* C_in = 0"),
    ("conv_transpose2d", (1, 3, 5, 5), (3, 4, 0, 3), {}, r"kernel size must be positive"),
    ("conv_transpose2d", (1, 3, 0, 5), (3, 4, 3, 3), {}, r"must be non-empty"),
]


@pytest.mark.parametrize("name,x_shape,w_shape,kwargs,pattern", ZERO_SIZE,
                         ids=[f"{c[0]}-{c[2]}-{c[1]}" for c in ZERO_SIZE])
def test_zero_size_weights_and_inputs_are_refused_as_torch_refuses_them(
        name, x_shape, w_shape, kwargs, pattern):
    torch = pytest.importorskip("torch")
    x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, name)(torch.from_numpy(x), torch.from_numpy(w),
                                           **kwargs)
    with pytest.raises(ValueError, match=pattern):
        getattr(F, name)(x, w, **kwargs)


def test_zero_input_channels_are_refused():
    """PyTorch returns an (N, 0, ...) output here, whose 0 channels contradict the weight's
    4 filters; convscope refuses a weight with no input channels instead."""
    with pytest.raises(ValueError, match=r"conv2d: weight .* has C_in/groups = 0"):
        F.conv2d(np.zeros((1, 0, 5, 5)), np.zeros((4, 0, 3, 3)))


@pytest.mark.parametrize("name,w_shape", [("conv2d", (4, 3, 3, 3)),
                                          ("conv_transpose2d", (3, 4, 3, 3)),
                                          ("conv1d", (4, 3, 2))])
def test_an_empty_batch_works_like_torch(name, w_shape):
    torch = pytest.importorskip("torch")
    from convscope import tensor

    x_shape = (0, 3) + (5,) * (len(w_shape) - 2)
    rng = np.random.default_rng(0)
    wa, ba = rng.standard_normal(w_shape), rng.standard_normal(4)
    x, w, b = (tensor(a, requires_grad=True) for a in (np.zeros(x_shape), wa, ba))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (np.zeros(x_shape), wa, ba))
    y = getattr(F, name)(x, w, b, padding=1)
    ty = getattr(torch.nn.functional, name)(tx, tw, tb, padding=1)
    assert y.shape == tuple(ty.shape) and y.shape[0] == 0
    y.sum().backward()
    ty.sum().backward()
    assert x.grad.shape == x_shape
    np.testing.assert_array_equal(w.grad, tw.grad.numpy())  # zeros: no sample
    np.testing.assert_array_equal(b.grad, tb.grad.numpy())
