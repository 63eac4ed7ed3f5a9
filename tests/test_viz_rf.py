"""Receptive fields: the effective field lives exactly inside the theoretical one (through
strides, dilations and pooling), the half-widths match closed forms, the lecture's
1 + L(K-1), pictures of the right size, clear errors."""

import numpy as np
import pytest

from convscope import arith, nn
from convscope.viz import (effective_receptive_field, plot_receptive_field,
                           plot_receptive_field_sizes, receptive_field_sizes)
from pictures import check_png

STACKS = {
    "3x3 pad 1, stride 2, dilation 2": lambda: nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, stride=2),
        nn.Tanh(), nn.Conv2d(4, 2, 3, dilation=2, padding=2)),
    "pooling and batch norm": lambda: nn.Sequential(
        nn.Conv2d(2, 4, 5, padding=2), nn.MaxPool2d(2), nn.BatchNorm2d(4), nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1), nn.AvgPool2d(3, stride=2), nn.Conv2d(4, 3, 1)),
}


def _support(mask):
    """Per axis the [start, stop) of the True entries."""
    return tuple((int(np.flatnonzero(mask.any(axis=1 - a))[0]),
                  int(np.flatnonzero(mask.any(axis=1 - a))[-1]) + 1) for a in range(2))


@pytest.mark.parametrize("name", list(STACKS))
@pytest.mark.parametrize("unit", [None, (0, 0), (1, 2)])
def test_effective_field_is_zero_outside_the_theoretical_field(name, unit):
    from convscope import random

    random.manual_seed(0)
    model = STACKS[name]()
    c_in = model[0].in_channels
    x = np.random.default_rng(1).normal(size=(16, c_in, 20, 20)).astype(np.float32)
    erf = effective_receptive_field(model, x, unit=unit)
    (y0, y1), (x0, x1) = erf.box
    inside = np.zeros(erf.gradient.shape, bool)
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    assert np.all(erf.gradient[~inside] == 0.0)            # exactly zero outside
    assert erf.mass_inside == 1.0
    cy, cx = (int(np.clip(round(c), 0, 19)) for c in erf.centre)
    assert erf.gradient[cy, cx] > 0                         # the centre matters
    assert erf.theoretical_size == (y1 - y0, x1 - x0)


def test_the_field_is_tight_for_a_linear_stack():
    """Without ReLU, max pooling or dilation (whose taps skip pixels), every pixel of the
    theoretical field within the image reaches the unit: the gradient's support IS the
    field."""
    from convscope import random

    random.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.AvgPool2d(2),
                          nn.Conv2d(3, 2, 3, padding=1))
    x = np.random.default_rng(0).normal(size=(4, 1, 32, 32)).astype(np.float32)
    for unit in [(0, 0), (2, 3), (3, 3)]:
        erf = effective_receptive_field(model, x, unit=unit)
        box = tuple((max(a, 0), min(b, 32)) for a, b in erf.box)
        assert _support(erf.gradient > 0) == box
    # r = 1 + 2*1 (conv) + 1*2 (pool) + 2*4 (conv) = 13 (arith's formula)
    assert erf.theoretical_size == arith.rf_stack(
        [(3, 2, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)]).size == (13, 13)


def test_halfwidths_of_a_uniform_field():
    """A 9x9 all-ones linear filter: the gradient is uniform over 9x9. Centred windows of
    width 7 hold 49/81 = 60% (>= 50%), width 9 all of it."""
    conv = nn.Conv2d(1, 1, 9, bias=False)
    conv.weight.data = np.ones((1, 1, 9, 9), np.float32)
    erf = effective_receptive_field(nn.Sequential(conv), np.zeros((1, 1, 9, 9), np.float32))
    assert erf.halfwidths == {50: 3.5, 90: 4.5, 99: 4.5}
    assert erf.to_dict()["theoretical_size"] == 9


def test_halfwidths_of_a_peaked_field():
    """A 5x5 filter with 60% of its |weight| in the centre, the rest spread evenly."""
    conv = nn.Conv2d(1, 1, 5, bias=False)
    w = np.full((5, 5), 0.4 / 24)
    w[2, 2] = 0.6
    conv.weight.data = w[None, None].astype(np.float32)
    erf = effective_receptive_field(nn.Sequential(conv), np.zeros((1, 1, 5, 5), np.float32))
    # 50%: the centre pixel alone (0.6); 90%: the 3x3 window holds 0.6 + 8*0.4/24 = 0.733,
    # so the whole 5x5 is needed
    assert erf.halfwidths == {50: 0.5, 90: 2.5, 99: 2.5}


def test_sizes_per_layer_follow_the_lecture():
    from convscope import random

    random.manual_seed(0)
    model = nn.Sequential(*[m for _ in range(4) for m in (nn.Conv2d(2, 2, 3, padding=1),
                                                          nn.ReLU())])
    x = np.random.default_rng(0).normal(size=(8, 2, 24, 24)).astype(np.float32)
    rows = receptive_field_sizes(model, x)
    assert [r.theoretical_size for r in rows] == [1 + L * 2 for L in (1, 2, 3, 4)]
    for r in rows:
        assert r.effective[50] <= r.effective[90] <= r.effective[99] <= r.theoretical_size


def test_pictures(tmp_path):
    from convscope import random

    random.manual_seed(0)
    model = STACKS["pooling and batch norm"]()
    x = np.random.default_rng(0).normal(size=(8, 2, 16, 16)).astype(np.float32)
    for unit in [None, (0, 0)]:  # (0, 0) reaches into the padding
        erf = effective_receptive_field(model, x, unit=unit)
        fig = plot_receptive_field(erf)
        assert plot_receptive_field(erf, tmp_path / "rf.png") is None
        check_png(tmp_path / "rf.png", fig)
    sizes = receptive_field_sizes(model, x)
    fig = plot_receptive_field_sizes({"a": sizes, "b": sizes})
    plot_receptive_field_sizes({"a": sizes, "b": sizes}, tmp_path / "sizes.png")
    check_png(tmp_path / "sizes.png", fig)


def test_weights_and_modes_are_left_alone():
    model = STACKS["pooling and batch norm"]()
    model.train()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    effective_receptive_field(model, np.ones((2, 2, 12, 12), np.float32))
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(layer="9"), ValueError, r"unknown layer='9'; the model's convolution layers are 0, 2"),
    (dict(layer=3), TypeError, r"layer must be a module name"),
    (dict(channel=5), ValueError, r"channel=5 is out of range: layer '2' has 4 channels"),
    (dict(unit=(9, 0)), ValueError, r"unit=\(9, 0\) must index the layer's output of spatial "
                                    r"size 8x8"),
    (dict(unit=(1,)), ValueError, r"unit=\(1,\)"),
])
def test_bad_arguments(kwargs, exc, pattern):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 4, 3))
    with pytest.raises(exc, match=pattern):
        effective_receptive_field(model, np.zeros((1, 1, 10, 10)), **kwargs)


def test_bad_inputs():
    model = nn.Sequential(nn.Conv2d(1, 2, 3))
    with pytest.raises(ValueError, match=r"inputs must have shape \(N, C, H, W\)"):
        effective_receptive_field(model, np.zeros((10, 10)))
    with pytest.raises(TypeError, match=r"inputs must be a numeric array"):
        effective_receptive_field(model, np.array([["a"]]))


def _reflect(i: int, n: int) -> int:
    """Index i of a reflect-padded axis of n pixels (no edge repeat), as NumPy's 'reflect'."""
    period = 2 * (n - 1)
    i = abs(i) % period
    return i if i < n else period - i


@pytest.mark.parametrize("mode, padding", [("circular", 1), ("reflect", 2), ("reflect", 1),
                                           ("zeros", 1)])
def test_mass_inside_is_a_measurement_where_padding_copies_pixels(mode, padding):
    """One linear 3x3 convolution, corner unit (0, 0): d out / d x[r, c] is the sum of the
    weights whose padded position maps to pixel (r, c), the same for every input, so the
    share of |gradient| inside the theoretical box [-P, 3 - P) has a closed form. Circular
    padding wraps the rows and columns -1 to the far side (outside the box): 1 minus the
    share of |w| outside w[1:, 1:]. Reflect padding wider than (K - 1) / 2 folds the padding
    back inside the image but beyond the box: only w[2, 2] lands inside. With reflect
    padding 1 or zeros the padding maps into the box or nowhere: 1 by construction."""
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=padding, padding_mode=mode, bias=False,
                                    rng=rng))
    w = model[0].weight.data[0, 0].astype(np.float64)
    n = 9
    x = rng.normal(size=(4, 1, n, n)).astype(np.float32)
    erf = effective_receptive_field(model, x, unit=(0, 0))
    where = {"circular": lambda i: i % n, "reflect": lambda i: _reflect(i, n),
             "zeros": lambda i: i if i >= 0 else None}[mode]  # input pixel of a padded index
    expected = np.zeros((n, n))
    for a in range(3):
        for b in range(3):
            r, c = where(a - padding), where(b - padding)  # the pixel weight (a, b) reads
            if r is not None and c is not None:
                expected[r, c] += w[a, b]
    expected = np.abs(expected)  # the mean |gradient| over the inputs: the same for each
    assert np.allclose(erf.gradient, expected, rtol=1e-5, atol=1e-7)
    inside = expected[:3 - padding, :3 - padding].sum() / expected.sum()
    assert erf.mass_inside == pytest.approx(inside, rel=1e-6)
    if mode == "circular":
        assert inside == pytest.approx(np.abs(w[1:, 1:]).sum() / np.abs(w).sum())
        assert erf.mass_inside < 0.9
    elif padding == 2:
        assert inside == pytest.approx(abs(w[2, 2]) / np.abs(w).sum())
        assert erf.mass_inside < 0.5
    else:
        assert erf.mass_inside == 1.0
