"""convscope.summary: for shape-only specs and for nn models; the shapes and parameter counts
agree with actually running the model, and a model and its spec give the same rows."""

import numpy as np
import pytest
import torch

import convscope
from convscope import networks as N
from convscope import nn
from convscope.summary import summary


def test_summary_is_importable_from_the_top_level():
    assert convscope.summary is summary


def test_summary_of_a_named_spec():
    s = summary("resnet18")
    assert s.total_params == 11_689_512
    assert s.input_shape == (3, 224, 224) and s.output_shape == (1000,)
    rows = {r.name: r for r in s.rows}
    assert rows["layer4"].field.size == (435, 435) and rows["layer4"].field.jump == (32, 32)
    assert rows["fc"].field is None
    text = str(s)
    assert "Total params: 11,689,512" in text and "layer4.1.conv2" in text
    data = s.to_dict()
    assert data["total_params"] == 11_689_512
    fc = next(d for d in data["layers"] if d["name"] == "fc")
    assert fc["receptive_field"] is None and fc["output_shape"] == [1000]


def test_summary_of_a_spec_at_another_input():
    s = summary(N.get_network("vgg16_torchvision"), "3x64x64")
    rows = {r.name: r for r in s.rows}
    assert rows["pool5"].output_shape == (512, 2, 2)
    assert s.total_params == 138_357_544          # adaptive pooling keeps the fc sizes


def test_summary_rejects_bad_arguments():
    with pytest.raises(TypeError, match="summary: model_or_spec must be"):
        summary(42)
    with pytest.raises(ValueError, match="unknown network 'nope'"):
        summary("nope")
    with pytest.raises(ValueError, match="input shape must look like 3x224x224"):
        summary("resnet18", "3 by 224")


# -- nn models -------------------------------------------------------------------------------

def _lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def test_summary_of_a_sequential_model_agrees_with_running_it():
    model = _lenet()
    s = summary(model, (1, 32, 32))
    out = model(convscope.Tensor(np.zeros((1, 1, 32, 32), dtype=np.float32)))
    assert s.output_shape == tuple(out.shape[1:]) == (10,)
    assert s.total_params == sum(p.data.size for p in model.parameters()) == 61706
    shapes = [r.output_shape for r in s.rows if r.kind in ("conv", "maxpool")]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5)]
    fields = [r.field.size[0] for r in s.rows if r.kind in ("conv", "maxpool")]
    assert fields == [5, 6, 14, 16]
    assert s.total_macs == 28 * 28 * 6 * 25 + 10 * 10 * 16 * 6 * 25 + 400 * 120 + 120 * 84 + 840
    # The same stack as a spec gives the same shapes, parameters and fields.
    spec = N.parse_spec("input 1x32x32\nconv:c6,k5 maxpool:k2 conv:c16,k5 maxpool:k2 "
                        "flatten fc:o120 fc:o84 fc:o10")
    rows = summary(spec).rows
    assert [r.output_shape for r in rows] == [r.output_shape for r in s.rows
                                              if r.kind != "relu"]
    assert sum(r.params for r in rows) == s.total_params


def test_summary_leaves_the_model_as_it_was():
    model = _lenet()
    model.train()
    summary(model, (1, 32, 32))
    assert model.training
    assert all(not m._forward_hooks for _, m in model.named_modules())


class _Residual(nn.Module):
    """conv-bn-relu-conv-bn plus a 1x1/2 shortcut, joined by `+` outside any module."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.down = nn.Conv2d(4, 8, 1, stride=2, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.pool(self.relu(y + self.down(x)))


def test_summary_follows_branches_joined_outside_modules():
    model = _Residual()
    s = summary(model, (4, 16, 16))
    rows = {r.name: r for r in s.rows}
    assert rows["conv2"].field.size == (7, 7) and rows["down"].field.size == (1, 1)
    # The relu after the addition sees the widest path (conv1 -> conv2), aligned.
    after_add = [r for r in s.rows if r.name == "relu"][-1]
    assert after_add.field.size == (7, 7) and after_add.field.aligned
    assert rows["pool"].output_shape == (8, 1, 1)
    # Parameters against PyTorch's equivalent layers.
    reference = [torch.nn.Conv2d(4, 8, 3, bias=False), torch.nn.BatchNorm2d(8),
                 torch.nn.Conv2d(8, 8, 3, bias=False), torch.nn.BatchNorm2d(8),
                 torch.nn.Conv2d(4, 8, 1, bias=False)]
    assert s.total_params == sum(p.numel() for m in reference for p in m.parameters())
    # ...and the spec of the same unit gives the same fields.
    spec = N.Network("unit", (N.Branches("unit", (
        (N.Conv("conv1", 8, 3, 2, 1, bias=False, batch_norm=True),
         N.Conv("conv2", 8, 3, 1, 1, bias=False, batch_norm=True)),
        (N.Conv("down", 8, 1, 2, bias=False),))),), (4, 16, 16))
    joined = N.analyze(spec)[-1]
    assert joined.field == after_add.field
    assert sum(r.params for r in N.analyze(spec)) == s.total_params
