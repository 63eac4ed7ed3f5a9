"""convscope.onnx.load on models built in PyTorch and exported by torch.onnx.export (the
classic TorchScript exporter, dynamo=False: the dynamo exporter needs onnxscript): the
loaded graph gives PyTorch's outputs, trains with PyTorch's gradients, and round-trips."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

pytest.importorskip("onnx")

from convscope import Tensor, nn, onnx as conv_onnx  # noqa: E402


def _randomize_batch_norm(model):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


class VGG(tnn.Module):
    def __init__(self):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(), tnn.MaxPool2d(2),
            tnn.Conv2d(8, 16, 3, padding=1, bias=False), tnn.BatchNorm2d(16), tnn.ReLU(),
            tnn.MaxPool2d(2, ceil_mode=True))
        self.classifier = tnn.Sequential(tnn.Dropout(0.5), tnn.Linear(16 * 3 * 3, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                             tnn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + identity)


class ResNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1, bias=False),
                                   tnn.BatchNorm2d(8), tnn.ReLU(),
                                   tnn.MaxPool2d(3, 2, 1))
        self.layer1 = BasicBlock(8, 8, 1)
        self.layer2 = BasicBlock(8, 16, 2)
        self.fc = tnn.Linear(16, 5)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(TF.adaptive_avg_pool2d(x, 1).view(x.size(0), -1))


class MobileBlock(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.expand = tnn.Sequential(tnn.Conv2d(c, 2 * c, 1, bias=False), tnn.BatchNorm2d(2 * c),
                                     tnn.ReLU6())
        self.depthwise = tnn.Sequential(
            tnn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2 * c, bias=False),
            tnn.BatchNorm2d(2 * c), tnn.Hardswish())
        self.se_reduce = tnn.Conv2d(2 * c, 4, 1)
        self.se_expand = tnn.Conv2d(4, 2 * c, 1)
        self.project = tnn.Sequential(tnn.Conv2d(2 * c, c, 1, bias=False), tnn.BatchNorm2d(c))

    def forward(self, x):
        y = self.depthwise(self.expand(x))
        s = TF.hardsigmoid(self.se_expand(torch.relu(self.se_reduce(TF.adaptive_avg_pool2d(y, 1)))))
        return x + self.project(y * s)


class MobileNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(3, 8, 3, 2, 1, bias=False), tnn.BatchNorm2d(8),
                                   tnn.Hardswish())
        self.block = MobileBlock(8)
        self.head = tnn.Linear(8, 4)
        self.scale = tnn.Parameter(torch.linspace(0.5, 1.5, 8).reshape(1, 8, 1, 1))

    def forward(self, x):
        y = self.block(self.stem(x)) * self.scale
        return torch.softmax(self.head(torch.flatten(TF.adaptive_avg_pool2d(y, 1), 1)), -1)


class Inception(tnn.Module):
    def __init__(self):
        super().__init__()
        self.stem = tnn.Conv2d(3, 8, 3, padding=1)
        self.b1 = tnn.Conv2d(8, 4, 1)
        self.b3 = tnn.Sequential(tnn.Conv2d(8, 4, 1), tnn.ReLU(), tnn.Conv2d(4, 6, 3, padding=1))
        self.b5 = tnn.Sequential(tnn.Conv2d(8, 2, 1), tnn.ReLU(),
                                 tnn.Conv2d(2, 3, 5, padding="same"))
        self.bp = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), tnn.Conv2d(8, 3, 1))
        self.fc = tnn.Linear(16, 3)

    def forward(self, x):
        x = TF.leaky_relu(self.stem(x), 0.1)
        y = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)
        y = TF.avg_pool2d(torch.relu(y), 3, 2, 1, count_include_pad=False)
        return self.fc(TF.adaptive_max_pool2d(y, 1).squeeze(3).squeeze(2))


class Signal1d(tnn.Module):
    def __init__(self):
        super().__init__()
        self.net = tnn.Sequential(
            tnn.Conv1d(2, 6, 5, padding=2), tnn.BatchNorm1d(6), tnn.LeakyReLU(0.2),
            tnn.AvgPool1d(3, 2, 1, ceil_mode=True), tnn.Conv1d(6, 8, 3, dilation=2, stride=2),
            tnn.Tanh(), tnn.MaxPool1d(2, dilation=2), tnn.AdaptiveAvgPool1d(1), tnn.Flatten(),
            tnn.Linear(8, 3), tnn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class Volume3d(tnn.Module):
    def __init__(self):
        super().__init__()
        self.enc = tnn.Sequential(tnn.Conv3d(1, 4, 3, padding=1), tnn.BatchNorm3d(4),
                                  tnn.ReLU(), tnn.MaxPool3d(2))
        self.dec = tnn.ConvTranspose3d(4, 2, 3, stride=2, padding=1, output_padding=1)
        self.pool = tnn.AvgPool3d(2, 2)

    def forward(self, x):
        return self.pool(torch.sigmoid(self.dec(self.enc(x))))


class Decoder2d(tnn.Module):
    """Transposed convolutions: stride, output_padding, dilation, groups; padding layers."""

    def __init__(self):
        super().__init__()
        self.up1 = tnn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1)
        self.up2 = tnn.ConvTranspose2d(6, 6, 4, stride=2, padding=2, groups=3, dilation=2)
        self.conv = tnn.Conv2d(6, 2, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        y = torch.clamp(self.up2(torch.relu(self.up1(x))), -0.5, 0.8)
        y = TF.pad(y, (1, 2, 0, 1), mode="replicate")
        y = TF.pad(y, (1, 1, 2, 2), value=0.5)
        return torch.tanh(self.conv(y)).unsqueeze(1)


MODELS = {
    "vgg": (VGG, (2, 3, 12, 12)),
    "resnet": (ResNet, (2, 3, 16, 16)),
    "mobilenet": (MobileNet, (2, 3, 16, 16)),
    "inception": (Inception, (2, 3, 10, 10)),
    "signal1d": (Signal1d, (2, 2, 40)),
    "volume3d": (Volume3d, (1, 1, 8, 8, 8)),
    "decoder2d": (Decoder2d, (2, 4, 5, 5)),
}


def export(model, x, path, opset, keep_bn):
    kw = dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE) \
        if keep_bn else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), opset_version=opset, dynamo=False,
                          input_names=["input"], output_names=["output"], **kw)


def close(actual, expected, rtol=1e-4):
    """Equal within rtol of the output's scale (float32)."""
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def build(name):
    cls, shape = MODELS[name]
    torch.manual_seed(0)
    model = _randomize_batch_norm(cls()).eval()
    x = torch.randn(*shape)
    return model, x


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("keep_bn", [False, True], ids=["bn_folded", "bn_kept"])
@pytest.mark.parametrize("name", list(MODELS))
def test_loaded_model_gives_pytorch_outputs(name, keep_bn, opset, tmp_path):
    model, x = build(name)
    path = tmp_path / f"{name}.onnx"
    export(model, x, path, opset, keep_bn)
    loaded = conv_onnx.load(path)
    assert isinstance(loaded, nn.Graph) and not loaded.training
    with torch.no_grad():
        expected = model(x).numpy()
    close(loaded(x.numpy()), expected)
    # another batch size than the exported one
    with torch.no_grad():
        close(loaded(x.numpy()[:1]), model(x[:1]).numpy())
    kinds = {type(n.module).__name__ for n in loaded.nodes}
    if keep_bn and name not in ("inception", "decoder2d"):
        assert any(k.startswith("BatchNorm") for k in kinds), kinds
    if not keep_bn and name in ("vgg", "resnet", "volume3d"):
        assert not any(k.startswith("BatchNorm") for k in kinds), kinds  # folded into conv


def test_branches_are_kept_as_a_graph(tmp_path):
    model, x = build("resnet")
    export(model, x, tmp_path / "r.onnx", 17, keep_bn=True)
    loaded = conv_onnx.load(tmp_path / "r.onnx")
    adds = [n for n in loaded.nodes if isinstance(n.module, nn.Add)]
    assert len(adds) == 2 and all(len(n.inputs) == 2 for n in adds)
    # the output of block 1 is read by block 2's first conv and by its downsample branch
    block1 = loaded.consumers(adds[0].name)[0]
    assert sorted(loaded.consumers(block1)) == ["layer2_conv1", "layer2_downsample_0"] or \
        sorted(loaded.consumers(block1)) == ["layer2.conv1", "layer2.downsample.0"]
    assert "layer2_downsample_0.weight" in loaded.state_dict()


def test_inception_concat_has_four_branches(tmp_path):
    model, x = build("inception")
    export(model, x, tmp_path / "i.onnx", 13, keep_bn=False)
    loaded = conv_onnx.load(tmp_path / "i.onnx")
    cats = [n for n in loaded.nodes if isinstance(n.module, nn.Concat)]
    assert len(cats) == 1 and len(cats[0].inputs) == 4


@pytest.mark.parametrize("name", ["resnet", "mobilenet"])
def test_loaded_model_trains_with_pytorch_gradients(name, tmp_path):
    """Training mode: batch statistics and gradients equal PyTorch's, parameter by
    parameter (the file's initializer names map to state_dict keys, dots made '_')."""
    model, x = build(name)
    export(model, x, tmp_path / "m.onnx", 17, keep_bn=True)
    loaded = conv_onnx.load(tmp_path / "m.onnx").train()
    model.train()
    g = np.random.default_rng(0).standard_normal(tuple(model(x).shape)).astype(np.float32)
    y = loaded(Tensor(x.numpy()))
    (y * Tensor(g)).sum().backward()
    (model(x) * torch.tensor(g)).sum().backward()
    ours = dict(loaded.named_parameters())
    checked = 0
    for key, p in model.named_parameters():
        module, _, leaf = key.rpartition(".")
        mine = ours.get(module.replace(".", "_") + "." + leaf)
        if mine is None:
            continue
        checked += 1
        close(mine.grad, p.grad.numpy(), rtol=2e-4)
    assert checked >= 8


def test_loaded_model_learns(tmp_path):
    from convscope import optim
    from convscope import functional as F
    model, x = build("vgg")
    export(model, x, tmp_path / "v.onnx", 17, keep_bn=True)
    loaded = conv_onnx.load(tmp_path / "v.onnx").train()
    loaded.node(next(n.name for n in loaded.nodes if isinstance(n.module, nn.Linear)))
    target = np.array([1, 2])
    opt = optim.SGD(loaded.parameters(), lr=0.05)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = F.cross_entropy(loaded(Tensor(x.numpy())), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_state_dict_round_trip_and_summary_of_a_chain(tmp_path):
    model, x = build("vgg")
    export(model, x, tmp_path / "v.onnx", 13, keep_bn=True)
    a, b = conv_onnx.load(tmp_path / "v.onnx"), conv_onnx.load(tmp_path / "v.onnx")
    for p in b.parameters():
        p.data = p.data * 0
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a(x.numpy()), b(x.numpy()))
    assert a.input_shapes == ((2, 3, 12, 12),)
    assert "features_0.weight" in a.state_dict()


@pytest.mark.parametrize("name", ["resnet", "mobilenet", "signal1d", "volume3d", "decoder2d"])
def test_pytorch_file_loaded_and_saved_again_runs_in_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model, x = build(name)
    export(model, x, tmp_path / "a.onnx", 17, keep_bn=True)
    loaded = conv_onnx.load(tmp_path / "a.onnx")
    conv_onnx.save(loaded, tmp_path / "b.onnx", x.numpy())
    session = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(x).numpy()
    close(session.run(None, {"input": x.numpy()})[0], expected)
    again = conv_onnx.load(tmp_path / "b.onnx")
    close(again(x.numpy()), expected)
    assert list(again.state_dict()) == list(loaded.state_dict())


@pytest.mark.parametrize("opset", [11, 21])
@pytest.mark.parametrize("name", ["mobilenet", "decoder2d"])
def test_oldest_and_newest_opsets(name, opset, tmp_path):
    """Opset 11 writes Squeeze/Unsqueeze axes and Pad's value as attributes or inputs of
    their older forms, Softmax over flattened axes; 21 the newest forms."""
    model, x = build(name)
    export(model, x, tmp_path / "m.onnx", opset, keep_bn=True)
    with torch.no_grad():
        close(conv_onnx.load(tmp_path / "m.onnx")(x.numpy()), model(x).numpy())
