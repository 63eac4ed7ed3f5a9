"""The ready-made models: output shapes, parameter counts against closed forms, errors."""

import numpy as np
import pytest

from convscope import models, nn


def _rng():
    return np.random.default_rng(0)


def _conv_bn(c_in, c_out, k):
    """Parameters of conv(k, bias=False) + BatchNorm: written out from the lecture."""
    return c_in * c_out * k + 2 * c_out


# Expected counts written out by hand, not taken from the code under test.
@pytest.mark.parametrize("kwargs, expected", [
    ({}, _conv_bn(1, 32, 9) + _conv_bn(32, 64, 9) + _conv_bn(64, 128, 9) + (128 * 9 + 1) * 10),
    ({"widths": (8, 16)}, _conv_bn(1, 8, 9) + _conv_bn(8, 16, 9) + (16 * 7 * 7 + 1) * 10),
    ({"in_channels": 3, "num_classes": 5, "widths": (4,), "image_size": 32},
     _conv_bn(3, 4, 9) + (4 * 16 * 16 + 1) * 5),
])
def test_fashion_cnn_parameter_count(kwargs, expected):
    model = models.fashion_cnn(rng=_rng(), **kwargs)
    assert models.count_parameters(model) == expected
    assert models.fashion_cnn_parameters(**kwargs) == expected


def test_fashion_cnn_default_count_is_documented():
    assert models.count_parameters(models.fashion_cnn(rng=_rng())) == 104_426


def test_cifar_cnn_parameter_count():
    widths = (32, 64, 128, 256)
    chans = [3, 32, 32, 64, 64, 128, 128, 256, 256]
    expected = sum(_conv_bn(a, b, 9) for a, b in zip(chans, chans[1:])) + (256 + 1) * 10
    model = models.cifar_cnn(rng=_rng())
    assert models.count_parameters(model) == expected == 1_175_786
    assert models.cifar_cnn_parameters(widths=widths) == expected


def test_cifar_cnn_with_a_larger_first_kernel():
    model = models.cifar_cnn(widths=(8, 16), blocks_per_stage=1, first_kernel_size=5,
                             num_classes=8, rng=_rng())
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (3, 3)]
    assert [c.padding for c in convs] == [(2, 2), (1, 1)]
    expected = _conv_bn(3, 8, 25) + _conv_bn(8, 16, 9) + (16 + 1) * 8
    assert models.count_parameters(model) == expected
    assert models.cifar_cnn_parameters(num_classes=8, widths=(8, 16), blocks_per_stage=1,
                                       first_kernel_size=5) == expected
    assert model(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 8)  # 'same' first layer
    with pytest.raises(ValueError, match="cifar_cnn: first_kernel_size=4 must be odd"):
        models.cifar_cnn(first_kernel_size=4)


def test_photo_cnn_is_the_light_cifar_cnn():
    expected = (_conv_bn(3, 32, 25) + _conv_bn(32, 64, 9) + _conv_bn(64, 128, 9)
                + (128 + 1) * 8)
    model = models.photo_cnn(rng=_rng())
    assert models.count_parameters(model) == models.photo_cnn_parameters() == expected
    twin = models.cifar_cnn(num_classes=8, widths=(32, 64, 128), blocks_per_stage=1,
                            first_kernel_size=5, rng=_rng())
    for (name, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_signal_cnn_parameter_count():
    # L = 100 -> 100 (stride 1) -> 50 -> 25 (K3 P1 S2)
    expected = _conv_bn(2, 16, 3) + _conv_bn(16, 32, 3) + _conv_bn(32, 64, 3) + (64 * 25 + 1) * 4
    model = models.signal_cnn(in_channels=2, num_classes=4, length=100, rng=_rng())
    assert models.count_parameters(model) == expected
    assert models.signal_cnn_parameters(2, 4, 100) == expected


@pytest.mark.parametrize("factory, shape, out", [
    (lambda: models.fashion_cnn(widths=(4, 8, 8), rng=_rng()), (3, 1, 28, 28), (3, 10)),
    (lambda: models.fashion_cnn(in_channels=3, widths=(4,), image_size=32, rng=_rng()),
     (2, 3, 32, 32), (2, 10)),
    (lambda: models.cifar_cnn(widths=(4, 8), blocks_per_stage=1, rng=_rng()),
     (2, 3, 32, 32), (2, 10)),
    (lambda: models.signal_cnn(num_classes=3, length=37, widths=(4, 8), rng=_rng()),
     (5, 1, 37), (5, 3)),
])
def test_output_shapes(factory, shape, out):
    model = factory()
    model.eval()
    y = model(np.zeros(shape, np.float32))
    assert np.asarray(getattr(y, "data", y)).shape == out


def test_layer_structure_of_default_model():
    kinds = [type(m).__name__ for m in models.fashion_cnn(rng=_rng())]
    assert kinds == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"] * 3 + ["Flatten", "Linear"]


def test_cifar_cnn_downsamples_with_stride_two_convolutions():
    convs = [m for m in models.cifar_cnn(rng=_rng()) if isinstance(m, nn.Conv2d)]
    strides = [tuple(c.stride) for c in convs]
    assert strides == [(1, 1), (1, 1), (2, 2), (1, 1), (2, 2), (1, 1), (2, 2), (1, 1)]


def test_same_rng_same_weights():
    a = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(3)).state_dict()
    b = models.fashion_cnn(widths=(4, 8), rng=np.random.default_rng(3)).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_registry_and_dataset_choice():
    assert set(models.MODELS) == {"fashion_cnn", "cifar_cnn", "photo_cnn", "signal_cnn"}
    assert models.model_for_dataset("fashion-mnist") == "fashion_cnn"
    assert models.model_for_dataset("mnist") == "fashion_cnn"
    assert models.model_for_dataset("cifar10") == "cifar_cnn"
    assert models.model_for_dataset("photo-patches") == "photo_cnn"
    model = models.build_model("fashion_cnn", widths=[4, 8], rng=_rng())
    assert models.count_parameters(model) == models.fashion_cnn_parameters(widths=(4, 8))


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: models.fashion_cnn(widths=()), TypeError, "widths must be a non-empty"),
    (lambda: models.fashion_cnn(widths=(4, 0)), ValueError,
     r"widths\[1\] must be positive, got widths\[1\]=0"),
    (lambda: models.fashion_cnn(widths=(4, 4, 4, 4, 4, 4)), ValueError, "too small"),
    (lambda: models.fashion_cnn(in_channels=1.5), TypeError, "in_channels must be an int"),
    (lambda: models.fashion_cnn(rng=0), TypeError, "rng must be a numpy.random.Generator"),
    (lambda: models.signal_cnn(length=0), ValueError, "length must be positive, got length=0"),
    (lambda: models.build_model("resnet"), ValueError, "unknown model name='resnet'"),
    (lambda: models.model_for_dataset("imagenet"), ValueError, "no default model"),
])
def test_bad_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
