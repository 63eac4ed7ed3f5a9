"""Feature maps are the layers' outputs; top patches are the true top activations, cropped
to the unit's field with the padding marked; pictures of the right size."""

import numpy as np
import pytest

from convscope import nn, random
from convscope.autograd import Tensor
from convscope.viz import feature_maps, plot_feature_maps, plot_top_patches, top_patches
from pictures import check_png


def _model():
    random.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2), nn.BatchNorm2d(4),
                         nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(6 * 5 * 5, 3))


def test_feature_maps_are_the_layer_outputs(tmp_path):
    model = _model()
    x = np.random.default_rng(0).normal(size=(1, 10, 10)).astype(np.float32)
    maps = feature_maps(model, x)
    assert [n for n, _ in maps.layers] == ["0", "4"]
    model.eval()
    assert np.allclose(maps.layers[0][1], model[0](Tensor(x[None])).data[0])
    # the hooks run the modules one by one; the model fuses its thin first layer with the
    # pooling (`kernels.conv_pool_jit`): the same values to float32 rounding
    np.testing.assert_allclose(maps.layers[1][1], model[:5](Tensor(x[None])).data[0],
                               rtol=1e-5, atol=1e-6)
    assert maps.to_dict()["layers"][1]["shape"] == [6, 5, 5]
    fig = plot_feature_maps(maps)
    plot_feature_maps(maps, tmp_path / "maps.png")
    check_png(tmp_path / "maps.png", fig)
    titles = [t.get_text() for sub in fig.subfigs for t in [sub._suptitle] if t]
    assert "layer 4: 6x5x5" in titles


def test_top_patches_are_the_strongest(tmp_path):
    model = _model()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 1, 10, 10)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    top = top_patches(model, x, layer="4", channel=2, k=5, labels=y, classes=["a", "b", "c"],
                      batch_size=7)
    model.eval()
    a = model[:5](Tensor(x)).data[:, 2]  # (40, 5, 5)
    best = a.reshape(40, -1).max(axis=1)
    assert list(top.indices) == list(np.argsort(-best)[:5])
    assert np.allclose(top.values, np.sort(best)[::-1][:5])
    assert list(top.labels) == list(y[top.indices])
    # field of layer 4: r = 3 + 2*1 + 2*2 = 8, jump 2, P = 1 + 2 = 3
    assert top.field_size == (8, 8)
    for n, (i, unit) in enumerate(zip(top.indices, top.units)):
        assert a[i][tuple(unit)] == pytest.approx(top.values[n])
        y0, x0 = 2 * unit[0] - 3, 2 * unit[1] - 3
        for dy in range(8):
            for dx in range(8):
                v = top.patches[n, 0, dy, dx]
                yy, xx = y0 + dy, x0 + dx
                if 0 <= yy < 10 and 0 <= xx < 10:
                    assert v == x[i, 0, yy, xx]
                else:
                    assert np.isnan(v)  # the padding
    fig = plot_top_patches(top)
    plot_top_patches(top, tmp_path / "p.png")
    check_png(tmp_path / "p.png", fig)


def test_a_bright_corner_is_found_with_its_padding():
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    conv.weight.data = np.ones((1, 1, 3, 3), np.float32)
    x = np.zeros((5, 1, 6, 6), np.float32)
    x[3, 0, 0, 0] = 10.0  # a bright pixel in the corner of image 3
    top = top_patches(nn.Sequential(conv), x, channel=0, k=1)
    assert top.indices[0] == 3 and top.values[0] == 10.0
    patch = top.patches[0, 0]
    assert np.isnan(patch[0]).all() and np.isnan(patch[:, 0]).all()  # row/col above, left
    assert (patch[1:, 1:] >= 0).all() and 10.0 in patch


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(layer="4", channel=6), r"channel=6 is out of range: layer '4' has 6 channels"),
    (dict(layer="6"), r"layer '6' has no receptive field"),
    (dict(layer="4", k=0), r"k must be a positive int"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        top_patches(_model(), np.zeros((3, 1, 10, 10), np.float32), **kwargs)


def test_any_rank_and_one_image_only():
    random.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv1d(3, 2, 3))
    x = np.random.default_rng(2).normal(size=(2, 12)).astype(np.float32)  # one 1-D input
    maps = feature_maps(model, x)
    assert [a.shape for _, a in maps.layers] == [(3, 12), (2, 10)]
    assert np.allclose(maps.layers[1][1], model.eval()(Tensor(x[None])).data[0])
    top = top_patches(model, np.stack([x, -x]), channel=0, k=2)
    assert top.patches.shape == (2, 2, 5) and top.field_size == (5,)
    with pytest.raises(ValueError, match=r"feature_maps: image must be one input \(C, "
                                         r"\*spatial\) with 1 spatial axes, or a batch of "
                                         r"one, got shape \(2, 2, 12\)"):
        feature_maps(model, np.stack([x, x]))
    with pytest.raises(ValueError, match=r"draws 2-D maps"):
        plot_feature_maps(maps)


def test_mosaic_places_each_map_with_gaps_and_room_for_its_label():
    from convscope.viz.maps import mosaic
    maps = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    m = mosaic(maps, cols=2, gap=1, top=2)
    assert m.shape == (3 * (2 + 2) + 2 * 1, 2 * 3 + 1)  # 3 rows of tiles, 2 per row
    for c in range(5):
        r, q = divmod(c, 2)
        y0, x0 = r * (2 + 2 + 1) + 2, q * (3 + 1)
        np.testing.assert_array_equal(m[y0:y0 + 2, x0:x0 + 3], maps[c])
    assert np.isnan(m).sum() == m.size - maps.size  # everything else is background
