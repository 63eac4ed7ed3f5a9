"""convscope.arith: the lecture's formulas, TensorFlow's 'SAME', the inverse questions, and
agreement with actually running convolution and pooling (convscope.functional, PyTorch)."""

import ast
import math
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convscope.functional as F
from convscope import arith

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# -- the lecture's worked examples -----------------------------------------------------------

def test_five_by_five_filter_over_32x32_gives_28x28():
    assert arith.conv_output_size(32, 5) == 28
    assert arith.conv_output_shape((32, 32), 5) == (28, 28)


@pytest.mark.parametrize("kernel_size", [1, 3, 5, 7])
@pytest.mark.parametrize("num_layers", [1, 2, 3, 10])
def test_stacked_stride_one_layers_see_one_plus_L_times_K_minus_1(num_layers, kernel_size):
    pad = (kernel_size - 1) // 2
    field = arith.rf_stack([(kernel_size, 1, pad, 1)] * num_layers, ndim=2)
    assert field.size == (1 + num_layers * (kernel_size - 1),) * 2
    assert field.jump == (1, 1)


@pytest.mark.parametrize("size", [8, 32, 64, 224, 256])
def test_k3_p1_s2_halves_the_size(size):
    assert arith.conv_output_size(size, 3, stride=2, padding=1) == size // 2


@pytest.mark.parametrize("kernel_size,padding", [(3, 1), (5, 2), (1, 0)])
def test_standard_configurations_keep_the_size(kernel_size, padding):
    # The lecture's table: K3 P1, K5 P2, K1 P0 at stride 1 keep W (P = (K-1)/2).
    for size in (7, 28, 224):
        assert arith.conv_output_size(size, kernel_size, 1, padding) == size
    assert arith.symmetric_same_padding(kernel_size) == padding


def test_strided_formula_of_the_lecture():
    # W' = (W - K + 2P)/S + 1 when S divides W - K + 2P.
    for w, k, p, s in [(7, 3, 0, 2), (224, 7, 3, 2), (227, 11, 0, 4), (32, 5, 2, 1)]:
        assert arith.conv_output_size(w, k, s, p) == (w - k + 2 * p) // s + 1


def test_dilation_and_asymmetric_padding():
    # d(K-1)+1 = 5 inputs per window; padding (0, 1).
    assert arith.conv_output_size(10, 3, 1, (0, 1), dilation=2) == 7
    assert arith.conv_output_size(8, 3, 2, (0, 1)) == 4


def test_pool_ceil_mode_follows_pytorch():
    assert arith.pool_output_size(6, 3, 2) == 2
    assert arith.pool_output_size(6, 3, 2, ceil_mode=True) == 3
    # The last window would start in the right padding only: dropped.
    assert arith.pool_output_size(5, 2, 2, padding=1, ceil_mode=True) == 3
    assert arith.pool_output_size(4, 2) == 2          # stride defaults to kernel_size
    # ...per axis in the _shape variant, and ceil_mode may differ per axis.
    assert arith.pool_output_shape((7, 4), (3, 2)) == (2, 2)
    assert arith.pool_output_shape((7, 7), 3, ceil_mode=(True, False)) == (3, 2)


def test_transposed_output_size():
    assert arith.conv_transpose_output_size(112, 3, 2, 1, output_padding=1) == 224
    assert arith.conv_transpose_output_shape((7, 7), 4, 2, 1) == (14, 14)


# -- 'same' padding ----------------------------------------------------------------------------

def test_same_padding_puts_the_odd_pixel_at_the_end():
    assert arith.same_padding(224, 7, stride=2) == (2, 3)
    assert arith.same_padding(225, 7, stride=2) == (3, 3)
    assert arith.same_padding(112, 3, stride=2) == (0, 1)
    assert arith.same_padding(10, 4) == (1, 2)
    assert arith.same_padding(10, 3, dilation=2) == (2, 2)
    assert arith.same_padding(5, 1, stride=2) == (0, 0)


@FAST
@given(size=st.integers(1, 80), k=st.integers(1, 9), s=st.integers(1, 5), d=st.integers(1, 3))
def test_same_padding_gives_ceil_size_over_stride(size, k, s, d):
    before, after = arith.same_padding(size, k, s, d)
    assert 0 <= after - before <= 1
    assert arith.conv_output_size(size, k, s, (before, after), d) == math.ceil(size / s)
    assert arith.resolve_padding("SAME", size, k, s, d) == (before, after)
    assert arith.resolve_padding("valid", size, k, s, d) == (0, 0)


@FAST
@given(size=st.integers(1, 60), out=st.integers(1, 60), k=st.integers(1, 7),
       s=st.integers(1, 4), d=st.integers(1, 3))
def test_padding_for_output_size_is_the_smallest_that_works(size, out, k, s, d):
    span = d * (k - 1) + 1
    try:
        before, after = arith.padding_for_output_size(size, out, k, s, d)
    except ValueError:
        assert size >= span and arith.conv_output_size(size, k, s, 0, d) > out
        return
    assert arith.conv_output_size(size, k, s, (before, after), d) == out
    total = before + after
    if total > 0:  # one less padding gives fewer outputs (or none)
        assert size + total - 1 < span or arith.conv_output_size(
            size, k, s, (before, after - 1) if after else (before - 1, 0), d) < out


def test_symmetric_same_padding_refuses_even_kernels():
    with pytest.raises(ValueError, match=r"symmetric_same_padding: kernel_size=4 .* \(1, 2\)"):
        arith.symmetric_same_padding(4)


# -- dropped rows (Dumoulin & Visin's non-divisible cases) ------------------------------------

def _covered(size, k, s, pad, d):
    """Input indices some window reads, by sliding the window as the lecture does."""
    before, after = pad
    out = arith.conv_output_size(size, k, s, pad, d)
    return {o * s - before + t * d for o in range(out) for t in range(k)} & set(range(size))


@FAST
@given(size=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 6), pb=st.integers(0, 3),
       pa=st.integers(0, 3))
def test_unused_input_counts_the_rows_no_window_reads(size, k, s, pb, pa):
    # Without dilation, with S <= K and p_b < K the windows leave no gap, so the rows no
    # window reads are exactly the last `unused` ones.
    assume(s <= k and pb < k and size + pb + pa >= k)
    unused = arith.unused_input(size, k, s, (pb, pa))
    assert _covered(size, k, s, (pb, pa), 1) == set(range(size - unused))


def test_alexnet_conv1_drops_a_row_at_224_not_at_227():
    assert arith.unused_input(224, 11, 4) == 1
    assert arith.unused_input(227, 11, 4) == 0


def test_exact_input_sizes_of_a_stack():
    sizes = arith.exact_input_sizes([(3, 2, 0, 1), (3, 2, 0, 1)], 1, 40)
    assert sizes == [7, 11, 15, 19, 23, 27, 31, 35, 39]   # a progression of step 2 * 2
    # 7x7/2 pad 3 then 3x3/2 pad 1 (ResNet's stem) never drops a row.
    assert arith.exact_input_sizes([(7, 2, 3, 1), (3, 2, 1, 1)], 1, 50) == list(range(1, 50))


# -- receptive fields ------------------------------------------------------------------------

def test_rf_layer_recurrences():
    f = arith.rf_layer(arith.rf_identity(2), 7, 2, 3)
    assert f == arith.ReceptiveField((7, 7), (2, 2), (3, 3), True)
    f = arith.rf_layer(f, 3, 2, 1)                       # ResNet's max pool
    assert (f.size, f.jump, f.padding) == ((11, 11), (4, 4), (5, 5))
    f = arith.rf_layer(f, (1, 3), 1, (0, 1), dilation=(1, 2))
    assert (f.size, f.padding) == ((11, 27), (5, 9))
    assert f.center(0, axis=0) == -5 + 5


def test_rf_merge_alignment():
    x = arith.rf_identity(1)
    conv3 = arith.rf_layer(x, 3, 1, 1)
    assert arith.rf_merge([conv3, x]).aligned                 # residual with identity
    shifted = arith.rf_layer(x, 3, 1, 0)                     # centre moved by one input
    merged = arith.rf_merge([shifted, x])
    assert not merged.aligned and merged.size == (3,)
    strided = arith.rf_layer(x, 1, 2, 0)
    assert not arith.rf_merge([strided, x]).aligned          # different jumps
    # A 1x3 next to a 3x1: the widest per axis, still aligned.
    a = arith.rf_layer(arith.rf_identity(2), (1, 3), 1, (0, 1))
    b = arith.rf_layer(arith.rf_identity(2), (3, 1), 1, (1, 0))
    assert arith.rf_merge([a, b]) == arith.ReceptiveField((3, 3), (1, 1), (1, 1), True)


layer_strategy = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2),
                           st.integers(1, 2))


@FAST
@given(layers=st.lists(layer_strategy, min_size=1, max_size=4))
def test_receptive_field_matches_the_gradient_of_a_real_stack(layers):
    """The inputs one output unit depends on (nonzero gradient of an all-ones stack) span
    exactly [i*j - P, i*j - P + r - 1]."""
    layers = [(k, s, min(p, (d * (k - 1) + 1) // 2), d) for k, s, p, d in layers]
    field = arith.rf_stack(layers, ndim=1)
    size = 2 * field.size[0] + 4 * field.jump[0] + 8
    x = torch.ones(1, 1, size, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, p, d in layers:
        y = torch.nn.functional.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64),
                                       stride=s, padding=p, dilation=d)
    (r,), (j,), (pad,) = field.size, field.jump, field.padding
    inside = [i for i in range(y.shape[-1]) if i * j - pad >= 0 and i * j - pad + r <= size]
    assume(inside)
    i = inside[len(inside) // 2]
    (grad,) = torch.autograd.grad(y[0, 0, i], x)
    nonzero = torch.nonzero(grad[0, 0]).flatten().tolist()
    assert (min(nonzero), max(nonzero)) == (i * j - pad, i * j - pad + r - 1)


# -- agreement with running convolution and pooling -------------------------------------------

@FAST
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]))
def test_conv_output_shape_matches_convscope_functional(data, ndim):
    spatial = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    k = tuple(data.draw(st.integers(1, 4)) for _ in range(ndim))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(ndim))
    pads = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
                 for _ in range(ndim))
    assume(all(n + b + a >= dd * (kk - 1) + 1
               for n, kk, dd, (b, a) in zip(spatial, k, d, pads)))
    x = np.zeros((1, 2) + spatial, dtype=np.float32)
    w = np.zeros((3, 2) + k, dtype=np.float32)
    out = F.conv(x, w, stride=s, padding=pads, dilation=d)
    out_shape = np.shape(getattr(out, "data", out))
    assert out_shape[2:] == arith.conv_output_shape(spatial, k, s, pads, d)


@FAST
@given(size=st.integers(1, 12), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2),
       d=st.integers(1, 2), op=st.integers(0, 2))
def test_conv_transpose_output_size_matches_running_it(size, k, s, p, d, op):
    assume(op < max(s, d))
    expected = (size - 1) * s - 2 * p + d * (k - 1) + op + 1
    assume(expected >= 1)
    x = np.zeros((1, 2, size, size), dtype=np.float32)
    w = np.zeros((2, 3, k, k), dtype=np.float32)
    out = F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    got = np.shape(getattr(out, "data", out))[2:]
    assert got == (arith.conv_transpose_output_size(size, k, s, p, op, d),) * 2
    t = torch.nn.functional.conv_transpose1d(torch.zeros(1, 2, size), torch.zeros(2, 3, k),
                                             stride=s, padding=p, output_padding=op,
                                             dilation=d)
    assert t.shape[-1] == got[0]


@FAST
@given(size=st.integers(1, 20), k=st.integers(1, 5), s=st.integers(1, 4), p=st.integers(0, 2),
       d=st.integers(1, 2), ceil=st.booleans())
def test_pool_output_size_matches_pytorch(size, k, s, p, d, ceil):
    assume(p <= k // 2 and size + 2 * p >= d * (k - 1) + 1)
    t = torch.nn.functional.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil_mode=ceil)
    assert arith.pool_output_size(size, k, s, p, d, ceil) == t.shape[-1]


def test_params_and_macs():
    assert arith.conv_params(3, 64, (7, 7), bias=False) == 9408
    assert arith.conv_params(32, 32, (3, 3), groups=32, bias=False) == 288   # depthwise
    assert arith.conv_macs(3, 64, (7, 7), (112, 112)) == 64 * 112 * 112 * 3 * 49
    assert arith.linear_params(2048, 1000) == 2049000
    conv = torch.nn.Conv2d(32, 64, 3, groups=4)
    assert arith.conv_params(32, 64, (3, 3), 4) == sum(p.numel() for p in conv.parameters())


# -- bad arguments ---------------------------------------------------------------------------

BAD = [
    (lambda: arith.conv_output_size(4, 5), ValueError,
     r"conv_output_size: kernel_size=5 with dilation=1 spans 5, larger than the padded "
     r"input 4"),
    (lambda: arith.conv_output_size(4, 0), ValueError, r"kernel_size must be positive"),
    (lambda: arith.conv_output_size(4, 3, stride=0), ValueError, r"stride must be positive"),
    (lambda: arith.conv_output_size(4.0, 3), TypeError, r"size must be an int, got size=4.0"),
    (lambda: arith.conv_output_size(4, 3, padding=-1), ValueError, r"padding must be >= 0"),
    (lambda: arith.conv_output_size(4, 3, padding="full"), ValueError,
     r"padding must be .* 'same' or 'valid', got padding='full'"),
    (lambda: arith.conv_output_size(4, 3, padding=(1, 2, 3)), TypeError, r"before, after"),
    (lambda: arith.conv_output_size(True, 3), TypeError, r"size must be an int"),
    (lambda: arith.conv_transpose_output_size(4, 3, stride=2, output_padding=2), ValueError,
     r"output_padding must be smaller than stride or dilation"),
    (lambda: arith.pool_output_size(4, 2, ceil_mode=1), TypeError, r"ceil_mode must be a bool"),
    (lambda: arith.conv_output_shape((8, 8), (3, 3, 3)), ValueError,
     r"kernel_size needs 1 or 2 values"),
    (lambda: arith.padding_for_output_size(10, 2, 3), ValueError,
     r"no padding gives out_size=2 from size=10"),
    (lambda: arith.rf_merge([]), ValueError, r"rf_merge: needs at least one field"),
    (lambda: arith.rf_layer(arith.rf_identity(2), 3, stride=(1, 2, 3)), ValueError,
     r"rf_layer: stride needs 1 or 2 values"),
    # the examples, and the same kind of mistake elsewhere
    (lambda: arith.conv_macs(3, 64, (7, 7), (112, 112), groups=0), ValueError,
     r"conv_macs: groups must be positive, got groups=0"),
    (lambda: arith.conv_macs(3, 64, (7, 7), (112, 0)), ValueError,
     r"conv_macs: out_shape must be positive, got out_shape=0"),
    (lambda: arith.conv_macs("3", 64, (7, 7), (8, 8)), TypeError,
     r"conv_macs: in_channels must be an int, got in_channels='3'"),
    (lambda: arith.linear_params(-5, 10), ValueError,
     r"linear_params: in_features must be positive, got in_features=-5"),
    (lambda: arith.linear_params(5, 10, bias=None), TypeError,
     r"linear_params: bias must be a bool, got bias=None"),
    (lambda: arith.conv_params(3, 8, (3, -1)), ValueError,
     r"conv_params: kernel_size must be positive, got kernel_size=-1"),
    (lambda: arith.conv_params(3, 8, "3x3"), TypeError,
     r"conv_params: kernel_size must be an int or a non-empty tuple of ints, got "
     r"kernel_size='3x3'"),
    (lambda: arith.rf_stack([(3, 1)]), TypeError,
     r"rf_stack: layers\[0\] must be a \(kernel_size, stride, padding_before, dilation\) "
     r"tuple, got \(3, 1\)"),
    (lambda: arith.rf_stack([(3, 0, 1, 1)]), ValueError,
     r"rf_stack: layers\[0\]: rf_layer: stride must be positive, got stride=0"),
    (lambda: arith.rf_stack(3), TypeError, r"rf_stack: layers must be a sequence"),
    (lambda: arith.rf_stack([], ndim=0), ValueError, r"rf_stack: ndim must be positive"),
    (lambda: arith.rf_layer((1, 1), 3), TypeError,
     r"rf_layer: field must be a ReceptiveField \(see rf_identity\), got field=\(1, 1\)"),
    (lambda: arith.rf_merge([arith.rf_identity(1), 3]), TypeError,
     r"rf_merge: fields\[1\] must be a ReceptiveField"),
    (lambda: arith.exact_input_sizes([(3, 2)]), TypeError,
     r"exact_input_sizes: layers\[0\] must be a \(kernel_size, stride, padding, dilation\)"),
    (lambda: arith.exact_input_sizes([(3, 0, 0, 1)]), ValueError,
     r"stride must be positive, got stride=0"),
    (lambda: arith.unused_input(8, 3, ceil_mode="no"), TypeError,
     r"unused_input: ceil_mode must be a bool, got ceil_mode='no'"),
    (lambda: arith.window_count(8, 3, 0, (0, 0), 1), ValueError,
     r"window_count: stride must be positive, got stride=0"),
    (lambda: arith.window_count(8, 3, 1, 1, 1), TypeError,
     r"window_count: padding must be a \(before, after\) pair of ints, got padding=1"),
    (lambda: arith.transposed_window_count(8, 3, 1, (0, 0), -1, 1), ValueError,
     r"transposed_window_count: output_padding must be >= 0, got output_padding=-1"),
    (lambda: arith.kernel_extent(3, dilation=0), ValueError,
     r"kernel_extent: dilation must be positive"),
    (lambda: arith.conv_output_size(np.zeros((3, 3)), 3), TypeError,
     r"conv_output_size: size must be an int, got size=ndarray\(shape=\(3, 3\), "
     r"dtype=float64\)$"),   # one line, whatever the value
]


@pytest.mark.parametrize("call,exc,pattern", BAD)
def test_bad_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_arith_is_pure_python():
    # the arith package and the argument helpers it uses import no NumPy (the helpers
    # for modules with parameters import it inside the function that needs it)
    package = pathlib.Path(arith.__file__).parent
    for path in [*package.glob("*.py"), package.parent / "_args.py"]:
        tree = ast.parse(path.read_text())
        top = tree.body if path.name == "_args.py" else list(ast.walk(tree))
        imported = {(node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
                    for node in top if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names}
        assert not any(name.split(".")[0] == "numpy" for name in imported), path


def test_docstring_examples_run():
    import doctest
    for module in (arith, arith.sizes, arith.receptive, arith.counts):
        assert doctest.testmod(module).failed == 0
