"""convscope.onnx.save: convscope models (Sequential, branched Graph, every layer it
writes, opsets 11 to 21) written as ONNX files run in onnxruntime with convscope's outputs
and load back to the same model."""

import os

import numpy as np
import pytest

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from convscope import models, nn, onnx as conv_onnx  # noqa: E402

RNG = np.random.default_rng(0)


def run_ort(path, feeds):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def close(actual, expected, rtol=1e-4):
    scale = max(float(np.abs(expected).max()), 1e-6)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def randomize(model):
    """Non-trivial batch-norm statistics, so that inference form is tested."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            c = m.num_features
            m.running_mean = RNG.standard_normal(c).astype(np.float32) * 0.3
            m.running_var = RNG.uniform(0.5, 2, c).astype(np.float32)
            m.weight.data = RNG.uniform(0.5, 2, c).astype(np.float32)
    return model.eval()


@pytest.mark.parametrize("name,shape", [
    ("fashion_cnn", (2, 1, 28, 28)), ("cifar_cnn", (2, 3, 32, 32)),
    ("photo_cnn", (2, 3, 32, 32)), ("signal_cnn", (2, 1, 128))])
def test_builtin_models_round_trip_and_run_in_onnxruntime(tmp_path, name, shape):
    model = randomize(models.build_model(name))
    x = RNG.standard_normal(shape).astype(np.float32)
    expected = model(x)
    path = tmp_path / f"{name}.onnx"
    conv_onnx.save(model, path, x)
    close(run_ort(path, {"input": x})[0], expected)
    back = conv_onnx.load(path)
    close(back(x), expected, rtol=1e-6)
    assert list(back.state_dict()) == list(model.state_dict())
    close(back(x[:1]), expected[:1], rtol=1e-6)  # the batch is dynamic in the file


def every_layer_graph():
    """A branched graph that uses every layer convscope writes."""
    r = np.random.default_rng(3)
    return randomize(nn.Graph(["image"], [
        nn.Node("conv", nn.Conv2d(3, 8, 3, padding=((1, 2), (0, 1)), rng=r), ("image",)),
        nn.Node("bn", nn.BatchNorm2d(8), ("conv",)),
        nn.Node("relu", nn.ReLU(), ("bn",)),
        nn.Node("dw", nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8, dilation=1,
                                padding_mode="replicate", rng=r), ("relu",)),
        nn.Node("hs", nn.Hardswish(), ("dw",)),
        nn.Node("gate", nn.Hardsigmoid(), ("hs",)),
        nn.Node("gated", nn.Mul(), ("hs", "gate")),
        nn.Node("scale", nn.Mul(r.uniform(0.5, 1.5, (8, 1, 1)).astype(np.float32)),
                ("gated",)),
        nn.Node("shift", nn.Add(np.float32(0.25)), ("scale",)),
        nn.Node("pool", nn.MaxPool2d(3, 2, 1), ("relu",)),
        nn.Node("avg", nn.AvgPool2d(3, 1, 1, count_include_pad=False), ("pool",)),
        nn.Node("leaky", nn.LeakyReLU(0.2), ("avg",)),
        nn.Node("cat", nn.Concat(1), ("shift", "leaky")),
        nn.Node("clip", nn.Clip(-1.0, 2.0), ("cat",)),
        nn.Node("six", nn.ReLU6(), ("clip",)),
        nn.Node("pad", nn.Pad((1, 1, 2, 0), "reflect"), ("six",)),
        nn.Node("padc", nn.Pad((0, 1, 1, 0), "constant", 0.5), ("pad",)),
        nn.Node("up", nn.ConvTranspose2d(16, 4, 3, stride=2, padding=1, output_padding=1,
                                         rng=r), ("padc",)),
        nn.Node("sig", nn.Sigmoid(), ("up",)),
        nn.Node("gmax", nn.GlobalMaxPool(), ("sig",)),
        nn.Node("gap", nn.AdaptiveAvgPool2d(1), ("six",)),
        nn.Node("sq", nn.Squeeze((2, 3)), ("gap",)),
        nn.Node("unsq", nn.Unsqueeze((1,)), ("sq",)),
        nn.Node("lin3", nn.Linear(16, 6, rng=r), ("unsq",)),
        nn.Node("tanh", nn.Tanh(), ("lin3",)),
        nn.Node("flat3", nn.Reshape((0, -1)), ("tanh",)),
        nn.Node("flat", nn.Flatten(), ("gmax",)),
        nn.Node("both", nn.Concat(1), ("flat3", "flat")),
        nn.Node("drop", nn.Dropout(0.3), ("both",)),
        nn.Node("id", nn.Identity(), ("drop",)),
        nn.Node("fc", nn.Linear(10, 5, rng=r), ("id",)),
        nn.Node("soft", nn.Softmax(-1), ("fc",)),
    ], ["soft", "sig"]))


@pytest.mark.parametrize("opset", [11, 13, 17, 21])
def test_every_layer_in_a_branched_graph(tmp_path, opset):
    model = every_layer_graph()
    x = RNG.standard_normal((2, 3, 9, 10)).astype(np.float32)
    soft, sig = model(x)
    path = tmp_path / "g.onnx"
    conv_onnx.save(model, path, x, opset=opset)
    ort_soft, ort_sig = run_ort(path, {"image": x})
    close(ort_soft, soft)
    close(ort_sig, sig)
    back = conv_onnx.load(path)
    assert back.inputs == ("image",) and back.outputs == ("soft", "sig")
    b_soft, b_sig = back(x)
    close(b_soft, soft, rtol=1e-6)
    close(b_sig, sig, rtol=1e-6)
    assert set(back.state_dict()) == set(model.state_dict())
    back.load_state_dict(model.state_dict())  # same keys, same shapes


@pytest.mark.parametrize("ndim", [1, 3])
def test_1d_and_3d_layers(tmp_path, ndim):
    conv = {1: nn.Conv1d, 3: nn.Conv3d}[ndim]
    up = {1: nn.ConvTranspose1d, 3: nn.ConvTranspose3d}[ndim]
    bn = {1: nn.BatchNorm1d, 3: nn.BatchNorm3d}[ndim]
    mp = {1: nn.MaxPool1d, 3: nn.MaxPool3d}[ndim]
    ap = {1: nn.AvgPool1d, 3: nn.AvgPool3d}[ndim]
    gap = {1: nn.AdaptiveAvgPool1d, 3: nn.AdaptiveAvgPool3d}[ndim]
    r = np.random.default_rng(ndim)
    model = randomize(nn.Sequential(
        conv(2, 4, 3, padding=1, dilation=1, rng=r), bn(4), nn.ReLU(), mp(3, 2, 1, ceil_mode=True),
        up(4, 4, 3, stride=2, padding=1, output_padding=1, rng=r),
        conv(4, 4, 3, stride=2, padding=1, padding_mode="reflect", rng=r), ap(2),
        gap(1), nn.Flatten(), nn.Linear(4, 3, rng=r)))
    x = RNG.standard_normal((2, 2) + (8,) * ndim).astype(np.float32)
    path = tmp_path / "m.onnx"
    conv_onnx.save(model, path, x, opset=13)
    close(run_ort(path, {"input": x})[0], model(x))
    close(conv_onnx.load(path)(x), model(x), rtol=1e-6)


def test_adaptive_pooling_to_a_divisor_and_float64(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3, dtype=np.float64), nn.AdaptiveAvgPool2d((2, 3)))
    x = RNG.standard_normal((1, 1, 10, 14))
    conv_onnx.save(model, tmp_path / "m.onnx", x)
    back = conv_onnx.load(tmp_path / "m.onnx")
    assert back.state_dict()["0.weight"].dtype == np.float64
    np.testing.assert_allclose(back(x), model(x), rtol=1e-12)


def test_hardswish_below_opset_14_and_linear_on_3d_input(tmp_path):
    model = nn.Sequential(nn.Hardswish(), nn.Linear(5, 3), nn.Softmax(-1))
    x = RNG.standard_normal((2, 4, 5)).astype(np.float32)
    conv_onnx.save(model, tmp_path / "m.onnx", x, opset=11)
    close(run_ort(tmp_path / "m.onnx", {"input": x})[0], model(x))
    back = conv_onnx.load(tmp_path / "m.onnx")
    assert [type(n.module).__name__ for n in back.nodes] == ["Hardswish", "Linear", "Softmax"]
    close(back(x), model(x), rtol=1e-6)


def test_several_inputs(tmp_path):
    model = nn.Graph(["a", "b"], [nn.Node("sum", nn.Add(), ("a", "b")),
                                  nn.Node("conv", nn.Conv2d(2, 3, 1), ("sum",))], ["conv"])
    a, b = (RNG.standard_normal((1, 2, 4, 4)).astype(np.float32) for _ in range(2))
    conv_onnx.save(model, tmp_path / "m.onnx", (a, b))
    close(run_ort(tmp_path / "m.onnx", {"a": a, "b": b})[0], model(a, b))
    close(conv_onnx.load(tmp_path / "m.onnx")(a, b), model(a, b), rtol=1e-6)


def test_write_is_atomic(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"previous content")

    class Custom(nn.Module):
        def forward(self, x):
            return x

    x = np.zeros((1, 2, 4, 4), np.float32)
    with pytest.raises(conv_onnx.OnnxUnsupportedError):
        conv_onnx.save(nn.Sequential(nn.Conv2d(2, 2, 1), Custom()), path, x)
    assert path.read_bytes() == b"previous content"
    conv_onnx.save(nn.Sequential(nn.Conv2d(2, 2, 1)), path, x)
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left
    conv_onnx.load(path)


def test_weights_in_an_external_file(tmp_path):
    import onnx
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    x = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)
    conv_onnx.save(model, tmp_path / "m.onnx", x)
    proto = onnx.load(str(tmp_path / "m.onnx"))
    (tmp_path / "sub").mkdir()
    onnx.save(proto, str(tmp_path / "sub" / "big.onnx"), save_as_external_data=True,
              all_tensors_to_one_file=True, location="big.weights", size_threshold=0)
    assert (tmp_path / "sub" / "big.weights").exists()
    close(conv_onnx.load(tmp_path / "sub" / "big.onnx")(x), model(x), rtol=1e-6)
    (tmp_path / "sub" / "big.weights").write_bytes(b"short")
    with pytest.raises(conv_onnx.OnnxFormatError, match="external files cannot be read"):
        conv_onnx.load(tmp_path / "sub" / "big.onnx")
