"""Feature visualisation: its ground truth (a first-layer unit's optimum is its filter,
scaled), the objective climbs, determinism, pictures, errors."""

import numpy as np
import pytest

from convscope import nn, random
from convscope.viz import plot_feature_visualization, visualize_channels
from pictures import check_png


def _cosine(a, b):
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.parametrize("shape, k", [((1, 28, 28), 3), ((3, 12, 12), 5)])
def test_first_layer_optimum_is_the_filter(shape, k):
    """max w . patch(x) + b subject to ||x|| <= R is x = R w / ||w|| on the unit's field."""
    random.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(shape[0], 4, k, padding=1), nn.ReLU(), nn.Conv2d(4, 2, 3))
    unit = (5, 6)
    vis = visualize_channels(model, shape, layer="0", channels=[0, 1, 2, 3], unit=unit,
                             steps=60, jitter=0, frequency_penalty=0.0, norm=2.0)
    w = model[0].weight.data
    top, left = unit[0] - 1, unit[1] - 1  # the field starts at i * 1 - padding
    for c in range(4):
        patch = vis.images[c][:, top:top + k, left:left + k]
        assert _cosine(patch, w[c]) >= 0.99
        assert _cosine(vis.images[c], np.pad(w[c], [(0, 0)] + [
            (top, shape[1] - top - k), (left, shape[2] - left - k)])) >= 0.99
        assert np.linalg.norm(vis.images[c]) == pytest.approx(2.0, rel=1e-4)
        # the optimum value: R ||w|| + b
        best = 2.0 * np.linalg.norm(w[c]) + model[0].bias.data[c]
        assert vis.objective[c] == pytest.approx(best, rel=1e-3)


def test_channel_objective_climbs_with_regularisers():
    random.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 4, 3, padding=1))
    short = visualize_channels(model, (1, 16, 16), channels=[0, 1, 2, 3], steps=1)
    long = visualize_channels(model, (1, 16, 16), channels=[0, 1, 2, 3], steps=40)
    assert np.all(long.objective > short.objective)
    again = visualize_channels(model, (1, 16, 16), channels=[0, 1, 2, 3], steps=40)
    assert np.array_equal(again.images, long.images)  # the seed fixes jitter and start
    other = visualize_channels(model, (1, 16, 16), channels=[0, 1, 2, 3], steps=40, seed=1)
    assert not np.array_equal(other.images, long.images)
    assert np.all(np.sqrt((long.images.astype(np.float64) ** 2).sum(axis=(1, 2, 3)))
                  <= 16 * 1.0001)  # the default norm bound sqrt(C H W)


def test_frequency_penalty_smooths():
    random.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 3))

    def roughness(img):
        return float(np.abs(np.diff(img, axis=-1)).mean() + np.abs(np.diff(img, axis=-2)).mean())

    rough = visualize_channels(model, (1, 14, 14), channels=[0], steps=60, jitter=0,
                               frequency_penalty=0.0)
    smooth = visualize_channels(model, (1, 14, 14), channels=[0], steps=60, jitter=0,
                                frequency_penalty=1.0)
    assert roughness(smooth.images) < roughness(rough.images)


def test_picture(tmp_path):
    random.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    vis = visualize_channels(model, (3, 10, 10), channels=[0, 1, 2], steps=5)
    fig = plot_feature_visualization(vis)
    plot_feature_visualization(vis, tmp_path / "o.png")
    check_png(tmp_path / "o.png", fig)
    assert vis.to_dict()["channels"] == [0, 1, 2]


@pytest.mark.parametrize("kwargs, exc, pattern", [
    (dict(channels=[4]), ValueError, r"channel=4 is out of range: layer '0' has 4 channels"),
    (dict(channels=[]), ValueError, r"channels must not be empty"),
    (dict(layer="x"), ValueError, r"unknown layer='x'"),
    (dict(steps=0), ValueError, r"steps must be an int >= 1"),
    (dict(norm=-1.0), ValueError, r"norm must be positive"),
    (dict(unit=(8, 8)), ValueError, r"unit=\(8, 8\) must index"),
])
def test_bad_arguments(kwargs, exc, pattern):
    model = nn.Sequential(nn.Conv2d(1, 4, 3))
    with pytest.raises(exc, match=pattern):
        visualize_channels(model, (1, 8, 8), **kwargs)
