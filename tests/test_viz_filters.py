"""Filter grids: a vertical edge looks vertical, zero stays grey, sorting and captions follow
the numbers, deeper layers per input channel, PNGs of the right size, clear errors."""

import numpy as np
import pytest

from convscope import viz
from convscope.viz.filters import filter_grid, plot_filters
from pictures import check_png, edge_pixels

EDGE = np.array([[[[-1.0, 0.0, 1.0]] * 3]])  # (1, 1, 3, 3): dark left, bright right


def test_vertical_edge_filter_shows_a_vertical_edge():
    fig = plot_filters(EDGE)
    ax = fig.axes[0]
    px = edge_pixels(fig, ax)
    w = px.shape[1]
    left, mid, right = px[:, : w // 4], px[:, 3 * w // 8: 5 * w // 8], px[:, -w // 4:]
    # each column band is one colour from top to bottom: the edge is vertical
    for band in (left, mid, right):
        assert np.ptp(band.reshape(-1, 3), axis=0).max() <= 2
    l, m, r = left[0, 0], mid[0, 0], right[0, 0]
    assert l[2] > l[0] + 60  # negative weights: blue
    assert r[0] > r[2] + 60  # positive weights: red
    assert m.min() > 230  # zero: white in the diverging map
    # -1 and +1 sit at the two ends of the map: the scale is centred at zero
    import matplotlib

    cmap = matplotlib.colormaps["RdBu_r"]
    assert np.abs(l - np.round(255 * np.array(cmap(0.0)[:3]))).max() <= 2
    assert np.abs(r - np.round(255 * np.array(cmap(1.0)[:3]))).max() <= 2


def test_rgb_filters_keep_zero_grey_and_scale_each_filter():
    w = np.zeros((2, 3, 2, 2))
    w[0, 0, 0, 0] = 4.0      # red +max
    w[0, 1, 0, 0] = -4.0     # green -max
    w[1, 2, 1, 1] = 0.5      # a weak filter still reaches full saturation
    grid = filter_grid(w)
    assert grid.mode == "rgb"
    assert np.allclose(grid.tiles[0, 0, 0], [1.0, 0.0, 0.5])
    assert np.allclose(grid.tiles[0, 1, 1], 0.5)          # zero weight -> grey
    assert np.allclose(grid.tiles[1, 1, 1], [0.5, 0.5, 1.0])


def test_sorting_and_captions_follow_the_numbers():
    w = np.random.default_rng(0).normal(size=(5, 1, 3, 3))
    score = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    grid = filter_grid(w, sort_by=score, captions=score)
    assert list(grid.order) == [1, 3, 2, 4, 0]
    assert grid.captions == ["0.90", "0.70", "0.50", "0.30", "0.10"]
    assert np.array_equal(grid.tiles[:, 0], w[[1, 3, 2, 4, 0], 0])
    fig = plot_filters(grid)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "0.90" in texts and "0.10" in texts


def test_single_channel_scale_is_shared():
    w = np.random.default_rng(1).normal(size=(6, 1, 3, 3))
    grid = filter_grid(w)
    assert grid.vmax == pytest.approx(np.abs(w).max())
    fig = plot_filters(grid)
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 6
    assert {im.get_clim() for im in images} == {(-grid.vmax, grid.vmax)}


def test_deeper_layer_per_input_channel(tmp_path):
    w = np.random.default_rng(2).normal(size=(20, 10, 3, 3))
    grid = filter_grid(w, max_filters=8, max_in_channels=4)
    assert grid.tiles.shape == (8, 4, 3, 3)
    assert np.array_equal(grid.tiles, w[:8, :4])
    fig = plot_filters(grid)
    path = tmp_path / "deep.png"
    assert plot_filters(grid, path) is None
    check_png(path, fig)


@pytest.mark.parametrize("shape", [(8, 1, 3, 3), (16, 3, 5, 5), (4, 2, 7)])
def test_png_written_with_the_figure_size(tmp_path, shape):
    w = np.random.default_rng(3).normal(size=shape)
    fig = plot_filters(w)
    path = tmp_path / "f.png"
    plot_filters(w, path)
    check_png(path, fig)


def test_training_keeps_its_entry_point(tmp_path):
    from convscope.viz import training

    assert training.plot_filters is viz.plot_filters
    rows = [{"epoch": e, "train_loss": 1 / e, "train_accuracy": 0.5 + e / 10,
             "test_loss": 1.2 / e, "test_accuracy": 0.4 + e / 10} for e in (1, 2, 3)]
    fig = viz.plot_training_curves(rows)
    viz.plot_training_curves(rows, tmp_path / "c.png")
    check_png(tmp_path / "c.png", fig)


def test_backend_is_not_switched():
    import matplotlib

    before = matplotlib.get_backend()
    plot_filters(EDGE)
    assert matplotlib.get_backend() == before


@pytest.mark.parametrize("call, exc, pattern", [
    (lambda: filter_grid(np.zeros((3, 3))), ValueError, r"filter_grid: weight must have"),
    (lambda: filter_grid(np.zeros((2, 1, 3, 3)), sort_by=[1.0]), ValueError,
     r"one number per filter \(2\), got 1"),
    (lambda: filter_grid(np.zeros((2, 1, 3, 3)), captions="shape"), ValueError,
     r"unknown measure 'shape'"),
    (lambda: filter_grid(np.zeros((2, 1, 3, 3)), rgb=True), ValueError, r"3 input channels"),
    (lambda: filter_grid(np.full((2, 1, 3, 3), np.nan)), ValueError, r"NaN"),
    (lambda: filter_grid(np.zeros((2, 1, 3, 3)), max_filters=0), ValueError, r"max_filters"),
])
def test_bad_arguments(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_captions_and_sorting_from_measure():
    from convscope import measure

    x = np.arange(5) - 2.0
    vertical = np.broadcast_to(np.sign(x), (5, 5)) * np.exp(-(x[:, None] ** 2 + x ** 2) / 4)
    noise = np.random.default_rng(7).normal(size=(5, 5)) * 0.3
    w = np.stack([noise, vertical.T, vertical])[:, None]  # noise, horizontal, vertical edges
    grid = filter_grid(w, captions="orientation", sort_by="orientation")
    os_ = measure.orientation_selectivity(w)
    assert np.allclose(grid.scores["orientation_selectivity"], os_)
    assert list(grid.order) == list(np.argsort(-os_, kind="stable"))
    assert grid.order[-1] == 0  # white noise is the least selective
    captions = dict(zip(grid.order, grid.captions))
    assert captions[2].endswith(" 90°") and captions[1].endswith(" 0°")
    assert captions[2].startswith(f"OES {os_[2]:.2f}")
    rgb = np.zeros((2, 3, 3, 3))
    rgb[0, 0], rgb[0, 1] = 1.0, -1.0  # red vs green: opponent
    rgb[1] = vertical[1:4, 1:4]        # a grey edge: not opponent
    colour = filter_grid(rgb, captions="colour", sort_by="colour")
    assert list(colour.order) == [0, 1] and colour.captions[0] == "CO 1.00"
    assert colour.to_dict()["colour_opponency_mean"] == pytest.approx(
        float(np.mean(measure.colour_opponency(rgb))), abs=1e-4)
    with pytest.raises(ValueError, match=r"colour opponency needs RGB filters"):
        filter_grid(w, captions="colour")
