"""Grad-CAM against a hand computation, the strip against single layers, the bilinear
resize and Spearman's rho against references, the cascading randomisation on a trained
model, pictures, errors."""

import math

import numpy as np
import pytest

from convscope import nn, random
from convscope.viz import (cam_sanity_check, cascade_copies, grad_cam, grad_cam_layers,
                           parametrised_layers, plot_cam_sanity_check, plot_grad_cam,
                           plot_grad_cam_layers, randomized_copy, reinitialise, spearman)
from convscope.viz.cam import resize_bilinear
from pictures import check_png


def _cam_model(seed=0):
    random.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


def test_grad_cam_equals_a_hand_computation():
    """Global average pooling then a linear layer: dy_c/dA_k[i, j] = W[c, k] / (u v), so
    alpha_k = W[c, k] / (u v) and the map is ReLU(sum_k W[c, k] A_k / (u v)) (the CAM of
    Zhou et al. 2016)."""
    model = _cam_model()
    x = np.random.default_rng(0).normal(size=(1, 6, 5)).astype(np.float32)
    w = model[0].weight.data.astype(np.float64)
    b = model[0].bias.data.astype(np.float64)
    padded = np.pad(x[0].astype(np.float64), 1)
    a = np.zeros((4, 6, 5))
    for k in range(4):  # the convolution by hand, as the lecture slides the filter
        for i in range(6):
            for j in range(5):
                a[k, i, j] = (padded[i:i + 3, j:j + 3] * w[k, 0]).sum() + b[k]
    a = np.maximum(a, 0)
    for target in range(3):
        alpha = model[4].weight.data[target].astype(np.float64) / 30
        expected = np.maximum(np.tensordot(alpha, a, axes=1), 0)
        cam = grad_cam(model, x, layer="1", target=target)
        assert np.allclose(cam.weights, alpha, rtol=1e-5, atol=1e-7)
        assert np.allclose(cam.cam, expected, rtol=1e-4, atol=1e-6)
        scores = a.mean(axis=(1, 2)) @ model[4].weight.data.T.astype(np.float64) + \
            model[4].bias.data
        assert cam.score == pytest.approx(scores[target], rel=1e-5)
        assert cam.predicted == int(np.argmax(scores))
        if expected.max() > 0:
            assert cam.heatmap.max() == pytest.approx(1.0)


def test_grad_cam_matches_pytorch_autograd():
    torch = pytest.importorskip("torch")
    random.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 5))
    x = np.random.default_rng(2).normal(size=(2, 8, 8)).astype(np.float32)
    tm = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.ReLU(),
                             torch.nn.MaxPool2d(2), torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
                             torch.nn.Flatten(), torch.nn.Linear(16, 5)).double()
    tm.load_state_dict({k: torch.tensor(v, dtype=torch.float64)
                        for k, v in model.state_dict().items()})
    h = tm[:5](torch.tensor(x[None], dtype=torch.float64))
    h.retain_grad()
    tm[5:](h)[0, 2].backward()
    alpha = h.grad[0].mean(dim=(1, 2))
    expected = torch.relu((alpha[:, None, None] * h[0]).sum(0)).detach().numpy()
    cam = grad_cam(model, x, layer="4", target=2)
    assert np.allclose(cam.cam, expected, rtol=1e-4, atol=1e-6)


def test_strip_equals_single_layers():
    random.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x = np.random.default_rng(3).normal(size=(1, 8, 8)).astype(np.float32)
    strip = grad_cam_layers(model, x)
    assert [c.layer for c in strip] == ["1", "3"]  # the end of each convolution's block
    for c in strip:
        single = grad_cam(model, x, layer=c.layer, target=c.target)
        assert np.allclose(c.cam, single.cam)
    assert grad_cam(model, x).layer == "3"


def test_resize_bilinear_matches_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).normal(size=(3, 5))
    ours = resize_bilinear(a, (7, 11))
    ref = torch.nn.functional.interpolate(torch.tensor(a)[None, None], size=(7, 11),
                                          mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.allclose(ours, ref)


def test_spearman():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(a, a ** 3) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    # ties get mean ranks: ranks (1.5, 1.5, 3) vs (1, 2, 3): rho = 1.5 / sqrt(1.5 * 2)
    assert spearman([0, 0, 1], [1, 2, 3]) == pytest.approx(1.5 / math.sqrt(3.0))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(5)
    u, v = rng.integers(0, 4, 50), rng.normal(size=50)
    assert spearman(u, v) == pytest.approx(stats.spearmanr(u, v).statistic)


def test_randomized_copy_reinitialises_every_parameter_and_buffer():
    random.manual_seed(7)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    model[1].weight.data = np.full(4, 2.0, np.float32)  # "trained" normalisation
    model[1].bias.data = np.full(4, 0.5, np.float32)
    model[1].running_mean[...] = 0.3
    model[1].running_var[...] = 4.0
    model[1].num_batches_tracked[...] = 12
    before = {k: v.copy() for k, v in model.state_dict().items()}
    clone = randomized_copy(model, seed=1)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, before[k])  # the original is untouched
    state = clone.state_dict()
    for k in before:
        assert not np.array_equal(state[k], before[k]), k  # biases and buffers too
    assert np.abs(state["0.weight"]).max() <= 1 / 3  # U(-1/sqrt(9), 1/sqrt(9))
    assert np.abs(state["0.bias"]).max() <= 1 / 3
    assert np.array_equal(state["1.weight"], np.ones(4)) and not state["1.bias"].any()
    assert not state["1.running_mean"].any() and np.array_equal(state["1.running_var"],
                                                                np.ones(4))
    assert state["1.num_batches_tracked"] == 0
    again = randomized_copy(model, seed=1).state_dict()
    assert all(np.array_equal(again[k], state[k]) for k in state)


def test_reinitialise_an_unknown_layer():
    """A module without reset_parameters or running statistics: its parameters drawn with
    the fan-in bound, its buffers zeroed."""
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(np.full((2, 8), 5.0, np.float32))
            self.register_buffer("count", np.array([3, 4]))

        def forward(self, x):
            return x

    layer = Scale()
    reinitialise(layer, np.random.default_rng(0))
    assert np.abs(layer.gain.data).max() <= 1 / np.sqrt(8) and layer.gain.data.std() > 0
    assert not layer.count.any()


# The cascade on a trained model: tests/tiny_run.py (2 epochs of fashion_cnn, widths 4, 8, 8,
# on learnable synthetic bars), Grad-CAM at the end of the first block (layer '3', 14 x 14 =
# 196 positions: rank correlations there have a meaning; at 3 x 3 they have 9 values).
CASCADE_LAYER = "3"
CASCADE_IMAGES = 8


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from convscope import train as T
    from convscope.data import Normalize, dataset_info, load_dataset
    from tiny_run import tiny_run

    out, data, metrics = tiny_run(tmp_path_factory)
    assert metrics["final_test_accuracy"] > 0.5  # it learned (chance: 0.1)
    model = T.model_from_checkpoint(T.load_checkpoint(out)).eval()
    x, _ = load_dataset("fashion-mnist", False, data)
    info = dataset_info("fashion-mnist")
    return model, Normalize(info.mean, info.std)(x[:CASCADE_IMAGES]).astype(np.float32)


def test_cascade_changes_every_parameter_and_buffer_of_the_layers_reached_only(trained):
    model, _ = trained
    original = {k: v.copy() for k, v in model.state_dict().items()}
    layers = parametrised_layers(model)
    assert layers == ["0", "2", "4", "6", "8", "10", "13"]  # convs, batch norms, linear
    steps = 0
    for name, reached, clone in cascade_copies(model, seed=0):
        steps += 1
        assert reached == tuple(reversed(layers))[:steps] and reached[-1] == name
        state = clone.state_dict()
        for key, trained_value in original.items():
            owner = key.rsplit(".", 1)[0]
            if owner in reached:  # every parameter and buffer of a layer reached changed
                assert not np.array_equal(state[key], trained_value), (name, key)
                if state[key].size > 1 and key.endswith("weight") and state[key].ndim > 1:
                    assert np.mean(state[key] != trained_value) > 0.99, (name, key)
            else:  # and none below it
                assert np.array_equal(state[key], trained_value), (name, key)
    assert steps == len(layers)
    for k, v in model.state_dict().items():  # the user's model is untouched
        assert np.array_equal(v, original[k])


def test_randomised_maps_differ_from_the_trained_one(trained):
    """The bound: Spearman's rho of two unrelated maps over 196 positions has a standard
    deviation of about 1/sqrt(195) = 0.07 around 0, and the trained map against itself (what
    a check that compared the trained map with itself would see) is exactly 1. A map that
    only shows the image (edges of the bars), as Adebayo et al. found for guided
    backpropagation, stays near 1 through the cascade. With every layer re-initialised the
    mean rho over the test images must lie below 0.5, halfway, seven noise standard
    deviations above 0 (measured: -0.18); after each step the mean stays below 0.8
    (measured at most 0.62), and every step's map differs from the trained one."""
    model, x = trained
    rhos = []
    for image in x:
        check = cam_sanity_check(model, image, layer=CASCADE_LAYER, seed=0)
        assert check.trained.layer == CASCADE_LAYER and check.trained.cam.shape == (14, 14)
        assert [s.layer for s in check.steps] == ["13", "10", "8", "6", "4", "2", "0"]
        assert check.randomized is check.steps[-1].cam
        assert check.spearman == check.steps[-1].spearman or math.isnan(check.spearman)
        for step in check.steps:
            assert step.cam.target == check.trained.target
            assert not np.allclose(step.cam.cam, check.trained.cam)
            rho = spearman(check.trained.cam, step.cam.cam)
            assert rho == step.spearman or (math.isnan(rho) and math.isnan(step.spearman))
        rhos.append([s.spearman for s in check.steps])
    rhos = np.array(rhos)
    full = rhos[:, -1][~np.isnan(rhos[:, -1])]
    assert len(full) >= CASCADE_IMAGES // 2
    assert full.mean() < 0.5
    assert np.all(np.nanmean(rhos, axis=0) < 0.8)


def test_sanity_check_pictures(tmp_path):
    model = _cam_model(3)
    x = np.random.default_rng(6).normal(size=(1, 10, 10)).astype(np.float32)
    check = cam_sanity_check(model, x, layer="1", target=0)
    assert check.randomized.target == check.trained.target == 0
    assert [s.layer for s in check.steps] == ["4", "0"]
    assert check.to_dict()["cascade"][0]["reached"] == ["4"]
    for draw, arg, name in ((plot_grad_cam, check.trained, "cam.png"),
                            (plot_grad_cam_layers, [check.trained, check.randomized], "s.png"),
                            (plot_cam_sanity_check, check, "sanity.png")):
        fig = draw(arg, classes=["a", "b", "c"])
        assert draw(arg, tmp_path / name, classes=["a", "b", "c"]) is None
        check_png(tmp_path / name, fig)
    fig = plot_cam_sanity_check(check)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("trained") and "down to\n4 Linear (1/2)" in titles[1]
    assert "down to\n0 Conv2d (2/2)" in titles[2]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts[0] == "rank corr. 1" and len(texts) == 3


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(layer="7"), r"unknown layer='7'"),
    (dict(layer="1", target=3), r"target=3 must be a class index in \[0, 3\)"),
    (dict(layer="3"), r"Grad-CAM needs 2-D maps"),
])
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        grad_cam(_cam_model(), np.zeros((1, 4, 4), np.float32), **kwargs)
