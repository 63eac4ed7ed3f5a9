"""Library calls leave the user's random generators alone: neither the library's default
generator (`convscope.random.default_rng()`, which `convscope.manual_seed` resets) nor
NumPy's global one is reset or drawn from by training, the report, the pictures or the
measures. Each draws from a Generator of its own, derived from the run's or the call's seed."""

import numpy as np
import pytest

import convscope
from convscope import measure, models, viz
from convscope import random as crandom
from convscope import train as T
from convscope.data import Normalize, dataset_info, load_dataset
from convscope.viz.animate import conv_animation
from convscope.viz.animate_draw import to_svg
from convscope.viz.report import build_report
from tiny_run import LIGHT, tiny_run


class _Generators:
    """The state of both user-visible generators, taken now; `same()` says whether they
    are still the very same objects in the very same state."""

    def __init__(self):
        self.default = crandom.default_rng()
        self.default_state = self.default.bit_generator.state
        self.numpy_state = np.random.get_state(legacy=False)

    def same(self) -> bool:
        now = np.random.get_state(legacy=False)
        return (crandom.default_rng() is self.default
                and crandom.default_rng().bit_generator.state == self.default_state
                and np.array_equal(now["state"]["key"], self.numpy_state["state"]["key"])
                and now["state"]["pos"] == self.numpy_state["state"]["pos"]
                and now["has_gauss"] == self.numpy_state["has_gauss"]
                and now["gauss"] == self.numpy_state["gauss"])


def _user_seeds():
    convscope.manual_seed(1234)
    np.random.seed(4321)


def test_the_watch_sees_a_draw_and_a_reset():
    """The checker itself: one draw from either generator, or a reset, is seen."""
    _user_seeds()
    for disturb in (lambda: crandom.default_rng().random(),
                    lambda: np.random.random(),
                    lambda: convscope.manual_seed(1234)):
        watch = _Generators()
        disturb()
        assert not watch.same()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    _user_seeds()
    watch = _Generators()
    out, data, metrics = tiny_run(tmp_path_factory)
    return out, data, metrics, watch.same()


@pytest.fixture(scope="module")
def trained(run):
    out, data, _, _ = run
    model = T.model_from_checkpoint(T.load_checkpoint(out)).eval()
    x, y = load_dataset("fashion-mnist", False, data)
    info = dataset_info("fashion-mnist")
    return model, Normalize(info.mean, info.std)(x[:16]).astype(np.float32), y[:16]


def test_training_leaves_the_generators_alone(run):
    assert run[3], "training reset or drew from a user's generator"


def test_training_draws_the_weights_manual_seed_would(run):
    """The run's own generator is `default_rng(seed)`: the initial weights are the ones
    `convscope.manual_seed(seed)` followed by building the model gives (what `make train`
    printed before the run stopped touching the default generator)."""
    out = run[0]
    ckpt = T.load_checkpoint(out)
    convscope.manual_seed(ckpt.config.seed)
    name, kwargs = ckpt.config.model_spec()
    expected = models.build_model(name, **kwargs).state_dict()
    got = T.build_model(ckpt.config).state_dict()
    assert expected.keys() == got.keys()
    assert all(np.array_equal(expected[k], got[k]) for k in expected)


def _calls(run_dir, model, x, y, tmp):
    """name -> a call of the library, each computing and drawing (a PNG under `tmp`)."""
    image = x[0]
    weight = measure.first_conv_weight(model)
    return {
        "build_report": lambda: build_report(run_dir, data=None, **LIGHT),
        "measure.filter_stats": lambda: measure.filter_stats(weight),
        "measure.orientation_selectivity": lambda: measure.orientation_selectivity(weight),
        "measure.preferred_orientation": lambda: measure.preferred_orientation(weight),
        "measure.grating_energy": lambda: measure.grating_energy(weight),
        "measure.colour_opponency": lambda: measure.colour_opponency(
            np.repeat(weight, 3, axis=1)),
        "measure.null_level": lambda: measure.null_level(measure.init_factory(model), n=3),
        "measure.null_level(models)": lambda: measure.null_level(
            lambda rng: models.fashion_cnn(widths=(4, 8), rng=rng), n=2),
        "viz.filter_grid": lambda: viz.filter_grid(weight, captions="orientation",
                                                   sort_by="orientation"),
        "viz.plot_filters": lambda: viz.plot_filters(weight, tmp / "f.png"),
        "viz.feature_maps": lambda: viz.plot_feature_maps(viz.feature_maps(model, image),
                                                          tmp / "m.png"),
        "viz.effective_receptive_field": lambda: viz.plot_receptive_field(
            viz.effective_receptive_field(model, x[:4]), tmp / "e.png"),
        "viz.receptive_field_sizes": lambda: viz.plot_receptive_field_sizes(
            {"trained": viz.receptive_field_sizes(model, x[:4])}, tmp / "s.png"),
        "viz.top_patches": lambda: viz.plot_top_patches(
            viz.top_patches(model, x, k=4, labels=y), tmp / "p.png"),
        "viz.grad_cam": lambda: viz.plot_grad_cam(viz.grad_cam(model, image), tmp / "c.png"),
        "viz.grad_cam_layers": lambda: viz.plot_grad_cam_layers(
            viz.grad_cam_layers(model, image), tmp / "l.png"),
        "viz.cam_sanity_check": lambda: viz.plot_cam_sanity_check(
            viz.cam_sanity_check(model, image), tmp / "k.png"),
        "viz.randomized_copy": lambda: viz.randomized_copy(model),
        "viz.visualize_channels": lambda: viz.plot_feature_visualization(
            viz.visualize_channels(model, x.shape[1:], channels=[0], steps=3), tmp / "v.png"),
        "viz.spearman": lambda: viz.spearman(x[0], x[1]),
        "viz.conv_animation": lambda: to_svg(conv_animation(5, 3, padding=1, values=True)),
        "viz.cascade_copies": lambda: [layer for layer, _, _ in viz.cascade_copies(model)],
        "viz.confusion_matrix": lambda: viz.plot_confusion_matrix(
            viz.confusion_matrix(y, y, 10), [str(k) for k in range(10)], tmp / "cm.png"),
        "viz.plot_training_curves": lambda: viz.plot_training_curves(
            [{"epoch": 1, "train_loss": 1.0, "test_loss": 1.0, "train_accuracy": 0.5,
              "test_accuracy": 0.5}], tmp / "t.png"),
    }


@pytest.mark.parametrize("name", [
    "build_report", "measure.filter_stats", "measure.orientation_selectivity",
    "measure.preferred_orientation", "measure.grating_energy", "measure.colour_opponency",
    "measure.null_level", "measure.null_level(models)", "viz.filter_grid", "viz.plot_filters",
    "viz.feature_maps", "viz.effective_receptive_field", "viz.receptive_field_sizes",
    "viz.top_patches", "viz.grad_cam", "viz.grad_cam_layers", "viz.cam_sanity_check",
    "viz.randomized_copy", "viz.visualize_channels", "viz.spearman", "viz.conv_animation",
    "viz.cascade_copies", "viz.confusion_matrix",
    "viz.plot_training_curves"])
def test_library_calls_leave_the_generators_alone(name, run, trained, tmp_path):
    model, x, y = trained
    calls = _calls(run[0], model, x, y, tmp_path)
    _user_seeds()
    watch = _Generators()
    calls[name]()
    assert watch.same(), f"{name} reset or drew from a user's generator"
