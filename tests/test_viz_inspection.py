"""The pictures look inside a copy of the model: while and after a viz call runs, the
user's model keeps its training flags, its parameters' requires_grad, its forward hooks and
no gradients (it may serve predictions in other threads meanwhile)."""

import threading

import numpy as np
import pytest

from convscope import nn, summary, viz
from convscope.autograd import Tensor
from convscope.nn.inspection import inspection_copy


class _Spy(nn.Module):
    """Identity that records the *user's* model's state each time the forward passes it."""

    def __init__(self, watched: list, seen: list):
        super().__init__()
        object.__setattr__(self, "watched", watched)  # a plain list: not a submodule
        object.__setattr__(self, "seen", seen)

    def forward(self, x):
        if self.watched:
            self.seen.append(_state(self.watched[0]))
        return x


def _state(model):
    return ([m.training for m in model.modules()],
            [p.requires_grad for p in model.parameters()],
            [p.grad is None for p in model.parameters()],
            [sorted(m._forward_hooks) for m in model.modules()])


@pytest.fixture
def watched():
    seen, holder = [], []
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4), nn.ReLU(),
                          _Spy(holder, seen), nn.Conv2d(4, 4, 3, padding=1, rng=rng),
                          nn.ReLU(), nn.Dropout(0.5, rng=rng), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3, rng=rng))
    model.train()
    model[1].eval()  # a mixed state: must come back exactly, not as model.train()
    model[0].weight.requires_grad = False  # a frozen layer stays frozen, the rest trainable
    calls = []
    model[4].register_forward_hook(lambda m, i, o: calls.append(1))
    holder.append(model)
    x = np.random.default_rng(1).normal(size=(6, 1, 8, 8)).astype(np.float32)
    return model, x, seen, _state(model)


CALLS = {
    "feature_maps": lambda m, x: viz.feature_maps(m, x[0]),
    "grad_cam_layers": lambda m, x: viz.grad_cam_layers(m, x[0]),
    "cam_sanity_check": lambda m, x: viz.cam_sanity_check(m, x[0]),
    "effective_receptive_field": lambda m, x: viz.effective_receptive_field(m, x[:3],
                                                                            layer="4"),
    "receptive_field_sizes": lambda m, x: viz.receptive_field_sizes(m, x[:3]),
    "top_patches": lambda m, x: viz.top_patches(m, x, layer="4", k=2),
    "visualize_channels": lambda m, x: viz.visualize_channels(m, x.shape[1:], layer="4",
                                                              channels=[0], steps=2),
    "summary": lambda m, x: summary(m, x.shape[1:]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_the_users_model_is_untouched_during_and_after(name, watched):
    model, x, seen, before = watched
    CALLS[name](model, x)
    assert seen, "the spy saw no forward pass"
    assert all(state == before for state in seen), f"{name} changed the model while running"
    assert _state(model) == before


def test_predictions_in_another_thread_see_the_model_as_it_is(watched):
    """A thread predicting in training mode all the while a viz call runs: every one of its
    forward passes finds the model as the user left it."""
    model, x, seen, before = watched
    stop, states = threading.Event(), []

    def serve():
        while not stop.is_set():
            states.append(_state(model))
            model(Tensor(x[:2]))

    worker = threading.Thread(target=serve)
    worker.start()
    try:
        for _ in range(3):
            viz.grad_cam_layers(model, x[0])
            viz.effective_receptive_field(model, x[:2], layer="4")
    finally:
        stop.set()
        worker.join()
    assert states and all(s == before for s in states)


def test_inspection_copy_shares_arrays_not_flags():
    rng = np.random.default_rng(2)
    conv = nn.Conv2d(1, 2, 3, rng=rng)
    model = nn.Sequential(conv, nn.BatchNorm2d(2), conv)  # a module used twice
    view = inspection_copy(model)
    assert view[0] is view[2] and view[0] is not conv
    assert view[0].weight.data is conv.weight.data  # the same array, no copy
    assert view[1].running_mean is model[1].running_mean
    assert not view.training and model.training
    assert not view[0].weight.requires_grad and conv.weight.requires_grad
    view[0].register_forward_hook(lambda *a: None)
    assert not conv._forward_hooks
