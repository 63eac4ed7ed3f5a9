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
     r"conv2d: algorithm must be one of \['direct', 'im2col'\], got algorithm='fft'"),
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
]


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
