"""convscope.nn against torch.nn with copied weights; Module state, hooks, repr, errors."""

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as tnn

import convscope
from convscope import Tensor, nn
from convscope import functional as F

TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-5)}
TDTYPE = {np.float64: torch.float64, np.float32: torch.float32}
RNG = np.random.default_rng(0)


def copy_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def run_both(ours, theirs, x, dtype=np.float64, **kw):
    """Forward and backward through both modules; compare outputs, input and param grads."""
    xs = Tensor(x.astype(dtype), requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    y, yt = ours(xs, **kw), theirs(xt, **kw)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), **TOL[dtype])
    g = RNG.standard_normal(y.shape).astype(dtype)
    y.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xs.grad, xt.grad.numpy(), **TOL[dtype])
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, tparams[name].grad.numpy(), **TOL[dtype],
                                   err_msg=name)
    tstate = theirs.state_dict()
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b, tstate[name].numpy(), **TOL[dtype], err_msg=name)


def pair(cls, *args, dtype=np.float64, **kwargs):
    """(ours, torch's) with torch's weights copied into ours."""
    ours = getattr(nn, cls)(*args, **kwargs)
    theirs = getattr(tnn, cls)(*args, **kwargs).to(TDTYPE[dtype])
    if dtype == np.float64:
        ours.double()
    copy_from_torch(ours, theirs)
    return ours, theirs


SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 4, 5)}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [
    dict(stride=1, padding=0), dict(stride=2, padding=1, dilation=1),
    dict(padding="same", dilation=2), dict(padding="valid", bias=False),
    dict(stride=2, padding=1, groups=2), dict(padding=1, padding_mode="reflect"),
    dict(padding="same", padding_mode="replicate"), dict(padding=2, padding_mode="circular"),
])
def test_conv_matches_torch(n, kwargs):
    ours, theirs = pair(f"Conv{n}d", 4, 6, 3, **kwargs)
    run_both(ours, theirs, RNG.standard_normal((2, 4) + SPATIAL[n]))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [
    dict(stride=2, output_padding=1), dict(stride=3, padding=1, output_padding=2, groups=2),
    dict(stride=2, dilation=2, output_padding=1, bias=False),
])
def test_conv_transpose_matches_torch(n, kwargs):
    ours, theirs = pair(f"ConvTranspose{n}d", 4, 6, 3, **kwargs)
    run_both(ours, theirs, RNG.standard_normal((2, 4) + SPATIAL[n]))


def test_conv_transpose_output_size_and_float32():
    ours, theirs = pair("ConvTranspose2d", 3, 2, 3, stride=2, padding=1, dtype=np.float32)
    x = RNG.standard_normal((1, 3, 4, 5))
    run_both(ours, theirs, x, np.float32, output_size=(8, 10))
    assert ours(x.astype(np.float32), output_size=(7, 9)).shape == (1, 2, 7, 9)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested output_size=\(9, 9\)"):
        ours(x.astype(np.float32), output_size=(9, 9))


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_stats_over_steps(n, affine, momentum):
    ours, theirs = pair(f"BatchNorm{n}d", 3, affine=affine, momentum=momentum)
    shape = (4, 3) + SPATIAL[n][:n - 1 if n == 1 else n]
    for _ in range(3):
        run_both(ours, theirs, RNG.standard_normal(shape) * 2 + 1)
    assert int(ours.num_batches_tracked) == 3
    ours.eval(), theirs.eval()
    run_both(ours, theirs, RNG.standard_normal(shape))
    assert int(ours.num_batches_tracked) == 3


def test_batch_norm_without_running_stats_and_float32():
    ours, theirs = pair("BatchNorm2d", 3, track_running_stats=False, dtype=np.float32)
    ours.eval(), theirs.eval()
    run_both(ours, theirs, RNG.standard_normal((2, 3, 4, 4)), np.float32)
    assert list(ours.state_dict()) == ["weight", "bias"]


@pytest.mark.parametrize("cls, args, shape", [
    ("MaxPool2d", (3, 2, 1), (2, 3, 7, 7)), ("MaxPool1d", (2,), (2, 3, 8)),
    ("AvgPool3d", (2,), (1, 2, 4, 4, 4)), ("AdaptiveAvgPool2d", ((2, 3),), (2, 3, 7, 5)),
    ("Linear", (5, 4), (3, 5)), ("LeakyReLU", (0.3,), (3, 4)), ("GELU", ("tanh",), (3, 4)),
    ("GELU", (), (3, 4)), ("Sigmoid", (), (3, 4)), ("Tanh", (), (3, 4)),
    ("Flatten", (), (2, 3, 4)), ("Identity", (), (2, 3)),
])
def test_layers_match_torch(cls, args, shape):
    ours, theirs = pair(cls, *args)
    run_both(ours, theirs, RNG.standard_normal(shape))


def small_cnn(lib, dtype=np.float64):
    return lib.Sequential(
        lib.Conv2d(1, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(4, 8, 3, padding=1, bias=False), lib.BatchNorm2d(8), lib.ReLU(),
        lib.MaxPool2d(2), lib.Flatten(), lib.Linear(8 * 2 * 2, 5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_cnn_with_loss_matches_torch(dtype):
    theirs = small_cnn(tnn).to(TDTYPE[dtype])
    ours = small_cnn(nn)
    ours._cast(dtype)
    copy_from_torch(ours, theirs)
    x = RNG.standard_normal((6, 1, 8, 8)).astype(dtype)
    target = RNG.integers(0, 5, 6)
    for _ in range(2):  # two training steps move the running statistics
        xs = Tensor(x)
        loss = convscope.functional.cross_entropy(ours(xs), target, label_smoothing=0.1)
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)),
                                                  torch.tensor(target), label_smoothing=0.1)
        np.testing.assert_allclose(loss.data, tloss.item(), **TOL[dtype])
        ours.zero_grad(), theirs.zero_grad()
        loss.backward(), tloss.backward()
        tp = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad, tp[name].grad.numpy(), rtol=TOL[dtype]["rtol"],
                                       atol=10 * TOL[dtype]["atol"], err_msg=name)
    ours.eval(), theirs.eval()
    y = ours(x)
    np.testing.assert_allclose(y.data if isinstance(y, Tensor) else y,
                               theirs(torch.tensor(x)).detach().numpy(), **TOL[dtype])


# -- Module ------------------------------------------------------------------------------------
def test_state_dict_names_round_trip_and_strict_errors():
    model = small_cnn(nn)
    state = model.state_dict()
    torch_names = list(small_cnn(tnn).state_dict())
    assert list(state) == torch_names
    assert state["1.running_mean"].dtype == np.float32
    other = small_cnn(nn)
    other.load_state_dict(state)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, state[k])
    state["0.weight"][...] = 7  # a copy: the model is untouched
    assert not (model[0].weight.data == 7).any()
    bad = dict(state)
    del bad["0.bias"]
    bad["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys \['0.bias'\]; unexpected keys "
                                         r"\['extra'\]"):
        other.load_state_dict(bad)
    missing, unexpected = other.load_state_dict(bad, strict=False)
    assert missing == ["0.bias"] and unexpected == ["extra"]
    bad = dict(state, **{"0.weight": np.zeros((4, 1, 5, 5))})
    with pytest.raises(ValueError, match=r"0.weight has shape \(4, 1, 5, 5\) in the "
                                         r"state_dict but \(4, 1, 3, 3\)"):
        other.load_state_dict(bad)


def test_module_registry_modes_hooks_and_apply():
    model = small_cnn(nn)
    assert [n for n, _ in model.named_children()][:3] == ["0", "1", "2"]
    assert len(list(model.modules())) == 11
    assert [n for n, _ in model.named_buffers()][:3] == ["1.running_mean", "1.running_var",
                                                         "1.num_batches_tracked"]
    assert sum(p.size for p in model.parameters()) == sum(
        p.numel() for p in small_cnn(tnn).parameters())
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    seen = []
    handle = model[0].register_forward_hook(lambda m, i, o: seen.append((type(m).__name__,
                                                                          i[0].shape, o.shape)))
    model(np.zeros((2, 1, 8, 8), dtype=np.float32))
    handle.remove()
    model(np.zeros((2, 1, 8, 8), dtype=np.float32))
    assert seen == [("Conv2d", (2, 1, 8, 8), (2, 4, 8, 8))]
    names = []
    model.apply(lambda m: names.append(type(m).__name__))
    assert names[-1] == "Sequential" and names[0] == "Conv2d"
    model.append(nn.ReLU())
    assert len(model) == 11 and isinstance(model[-1], nn.ReLU)
    assert isinstance(model[1:3], nn.Sequential) and len(model[1:3]) == 2


def test_parameter_data_assignment_and_zero_grad():
    conv = nn.Conv2d(2, 3, 3)
    assert conv.weight.dtype == np.float32 and conv.weight.requires_grad
    w = np.ones((3, 2, 3, 3), dtype=np.float32)
    conv.weight.data = w
    assert conv(np.ones((1, 2, 3, 3), dtype=np.float32)).shape == (1, 3, 1, 1)
    y = conv(Tensor(np.ones((1, 2, 3, 3), dtype=np.float32)))
    np.testing.assert_allclose(y.data.ravel(), 18 + conv.bias.data)  # 2 x 3 x 3 ones
    y.sum().backward()
    assert conv.weight.grad is not None
    conv.zero_grad()
    assert conv.weight.grad is None
    with pytest.raises(TypeError, match="cannot assign ndarray to parameter 'weight'"):
        conv.weight = w


def test_manual_seed_makes_init_and_dropout_reproducible():
    def build():
        convscope.manual_seed(3)
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5))

    a, b = build(), build()
    np.testing.assert_array_equal(a[0].weight.data, b[0].weight.data)
    x = np.ones((1, 1, 5, 5), dtype=np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    a.eval()
    np.testing.assert_array_equal(a(x), a[0](x))
    fan_in = 9
    assert np.abs(a[0].weight.data).max() <= 1 / np.sqrt(fan_in)


def test_repr_matches_torch():
    cases = [
        ("Conv2d", (3, 16, 3), dict(stride=2, padding=1, dilation=2, groups=1, bias=False,
                                    padding_mode="reflect")),
        ("Conv2d", (4, 8, (3, 5)), dict(padding="same", groups=4)),
        ("Conv1d", (2, 4, 3), {}),
        ("ConvTranspose3d", (2, 4, 3), dict(stride=2, output_padding=1)),
        ("BatchNorm2d", (16,), {}), ("Linear", (3, 4), dict(bias=False)),
        ("MaxPool2d", (2,), {}), ("AvgPool2d", (3, 2, 1), {}), ("Dropout", (0.2,), {}),
        ("AdaptiveAvgPool2d", ((1, 1),), {}), ("GELU", (), {}), ("LeakyReLU", (), {}),
        ("Flatten", (), {}), ("ReLU", (), {}),
    ]
    for cls, args, kwargs in cases:
        assert repr(getattr(nn, cls)(*args, **kwargs)) == repr(getattr(tnn, cls)(*args,
                                                                                **kwargs))
    assert repr(small_cnn(nn)) == repr(small_cnn(tnn))
    assert (repr(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)) ==
            "Conv2d(3, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)")


def test_sequential_with_names_and_nesting():
    inner = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), act=nn.ReLU()))
    model = nn.Sequential(OrderedDict(features=inner, head=nn.Flatten()))
    assert list(model.state_dict()) == ["features.conv.weight", "features.conv.bias"]
    assert [n for n, _ in model.named_modules()] == ["", "features", "features.conv",
                                                     "features.act", "head"]


BAD = [
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, r"Conv2d: groups=2 must divide "
                                                       r"in_channels=3"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError,
     r"Conv2d: padding='same' needs stride 1"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError,
     r"Conv2d: padding_mode must be one of"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"), ValueError,
     r"ConvTranspose2d: only padding_mode='zeros'"),
    (lambda: nn.Conv2d(0, 4, 3), ValueError, r"Conv2d: in_channels must be positive"),
    (lambda: nn.Conv2d(3, 4, 3)(np.zeros((3, 8, 8, 1, 1), np.float32)), ValueError,
     r"Conv2d: expected input of shape \(N, C, H, W\) or \(C, H, W\)"),
    (lambda: nn.BatchNorm2d(3)(np.zeros((2, 3, 4), np.float32)), ValueError,
     r"BatchNorm2d: expected 4D input, got 3D input"),
    (lambda: nn.Dropout(2), ValueError, r"Dropout: p must be a probability"),
    (lambda: nn.Linear(3, 4)(np.zeros((2, 5), np.float32)), ValueError,
     r"Linear: expected input with last dimension in_features=3, got input of shape \(2, 5\)"),
    (lambda: nn.MaxPool2d(2)(np.zeros((1, 1, 1, 1), np.float32)), ValueError,
     r"MaxPool2d: kernel_size=\(2, 2\) with dilation=\(1, 1\) spans 2"),
    (lambda: nn.Sequential(nn.ReLU())[3], IndexError, r"Sequential: index 3 is out of range"),
    (lambda: convscope.manual_seed(-1), ValueError, r"manual_seed: seed must be non-negative"),
    # construction: every argument, named with its module
    (lambda: nn.BatchNorm2d(3, momentum="a"), TypeError,
     r"BatchNorm2d: momentum must be a real number, got momentum='a'"),
    (lambda: nn.BatchNorm2d(3, momentum=1.5), ValueError,
     r"BatchNorm2d: momentum must be in \[0, 1\] or None, got momentum=1.5"),
    (lambda: nn.BatchNorm1d(3, eps=-1e-5), ValueError, r"BatchNorm1d: eps=-1e-05 must be >= 0"),
    (lambda: nn.BatchNorm3d(3, affine="yes"), TypeError, r"BatchNorm3d: affine must be a bool"),
    (lambda: nn.BatchNorm2d(3, dtype=np.int32), TypeError,
     r"BatchNorm2d: dtype must be float32 or float64"),
    (lambda: nn.Conv1d(3, 4, 3, bias="no"), TypeError, r"Conv1d: bias must be a bool"),
    (lambda: nn.Conv3d(3, 4, 3, rng=0), TypeError, r"Conv3d: rng must be a numpy.random"),
    (lambda: nn.Linear(3, 4, dtype="int8"), TypeError, r"Linear: dtype must be float32"),
    (lambda: nn.Linear(3.0, 4), TypeError, r"Linear: in_features must be an int, got "
                                           r"in_features=3.0"),
    (lambda: nn.MaxPool2d(0), ValueError, r"MaxPool2d: kernel_size must be positive"),
    (lambda: nn.MaxPool1d(2, padding=2), ValueError,
     r"MaxPool1d: padding=\(2,\) must be at most half of kernel_size=\(2,\)"),
    (lambda: nn.AvgPool2d(2, ceil_mode="x"), TypeError, r"AvgPool2d: ceil_mode must be a bool"),
    (lambda: nn.AvgPool3d(2, count_include_pad=None), TypeError,
     r"AvgPool3d: count_include_pad must be a bool"),
    (lambda: nn.AdaptiveAvgPool2d((2, 0)), ValueError,
     r"AdaptiveAvgPool2d: output_size must be positive, got output_size=0"),
    (lambda: nn.LeakyReLU("0.1"), TypeError, r"LeakyReLU: negative_slope must be a real"),
    (lambda: nn.GELU("exact"), ValueError, r"GELU: approximate must be 'none' or 'tanh'"),
    (lambda: nn.ReLU(inplace=1), TypeError, r"ReLU: inplace must be a bool"),
    (lambda: nn.Flatten(start_dim=1.5), TypeError, r"Flatten: start_dim must be an int"),
    (lambda: nn.Dropout("0.5"), TypeError, r"Dropout: p must be a probability"),
    # forward: the wrong number of channels names the module and the expected count
    (lambda: nn.Conv2d(3, 4, 3)(np.zeros((2, 4, 8, 8), np.float32)), ValueError,
     r"Conv2d: expected input with 3 channels \(in_channels=3\), got 4 channels in input "
     r"of shape \(2, 4, 8, 8\)"),
    (lambda: nn.Conv1d(3, 4, 3, padding_mode="reflect", padding=1)(np.zeros((5, 8),
                                                                           np.float32)),
     ValueError, r"Conv1d: expected input with 3 channels \(in_channels=3\), got 5"),
    (lambda: nn.ConvTranspose2d(3, 4, 3)(np.zeros((2, 6, 5, 5), np.float32)), ValueError,
     r"ConvTranspose2d: expected input with 3 channels \(in_channels=3\), got 6"),
    (lambda: nn.BatchNorm2d(16)(np.zeros((2, 8, 4, 4), np.float32)), ValueError,
     r"BatchNorm2d: expected input with 16 channels \(num_features=16\), got 8 channels"),
    (lambda: nn.BatchNorm1d(4)(np.zeros((2, 3), np.float32)), ValueError,
     r"BatchNorm1d: expected input with 4 channels \(num_features=4\), got 3"),
]


@pytest.mark.parametrize("call, exc, pattern", BAD)
def test_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# -- Sequential fuses BatchNorm + ReLU -------------------------------------------------------
def _bn_relu_model(seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.BatchNorm2d(4),
                          nn.ReLU(), nn.Conv2d(4, 3, 3, rng=rng), nn.BatchNorm2d(3), nn.ReLU())
    model.double()
    return model


@pytest.mark.parametrize("training", [True, False])
def test_sequential_fused_batch_norm_relu_equals_the_modules_one_by_one(training):
    x = np.random.default_rng(1).standard_normal((3, 2, 7, 7))
    results = []
    for fused in (True, False):
        model = _bn_relu_model()
        model.train(training)
        xt = Tensor(x, requires_grad=True)
        y = model(xt) if fused else _one_by_one(model, xt)
        (y * y).sum().backward()
        results.append([y.data, xt.grad] + [p.grad for p in model.parameters()]
                       + [model[1].running_mean, model[1].running_var, model[4].running_var])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def _one_by_one(model, x):
    for m in model:
        x = m(x)
    return x


def test_a_forward_hook_sees_the_batch_norm_output_before_the_relu():
    """Fusion would hide the batch norm's own output: a hook on it turns fusion off."""
    model = _bn_relu_model()
    seen = []
    model[1].register_forward_hook(lambda m, args, out: seen.append(out.data.copy()))
    y = model(np.random.default_rng(2).standard_normal((3, 2, 7, 7)))
    assert len(seen) == 1 and (seen[0] < 0).any()  # the batch norm's output, not relu'd
    np.testing.assert_array_equal(model[2](seen[0]), np.maximum(seen[0], 0))
    assert y.shape == (3, 3, 5, 5)


def test_fusion_respects_a_subclass_that_overrides_forward():
    class Shifted(nn.BatchNorm2d):
        def forward(self, input):
            return super().forward(input) + 10.0  # positive everywhere: ReLU keeps it all

    model = nn.Sequential(Shifted(2), nn.ReLU())
    y = model(np.random.default_rng(3).standard_normal((4, 2, 3, 3)).astype(np.float32))
    assert np.all(y.data >= 10.0 - 3.0)  # the +10 ran: fusion did not bypass the override


# -- Sequential fuses Conv2d + MaxPool2d(2) --------------------------------------------------
def _conv_pool_model(pool, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    return nn.Sequential(nn.Conv2d(32, 8, 3, padding=1, bias=bias, rng=rng), pool,
                         nn.BatchNorm2d(8), nn.ReLU())


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("size", [(7, 7), (10, 9)])
def test_sequential_fused_conv_max_pool_equals_the_modules_one_by_one(bias, size):
    """A Conv2d whose convolution runs Winograd (auto: 32 channels, 3x3) followed by a
    MaxPool2d(2) runs as one pass: the same bits forward and backward as the two modules."""
    x = np.random.default_rng(1).standard_normal((16, 32, *size)).astype(np.float32)
    assert F.conv_algorithm(x.shape, (8, 32, 3, 3), padding=1)[0].startswith("winograd")
    results = []
    for fused in (True, False):
        model = _conv_pool_model(nn.MaxPool2d(2), bias=bias)
        xt = Tensor(x, requires_grad=True)
        y = model(xt) if fused else _one_by_one(model, xt)
        (y * y).sum().backward()
        results.append([y.data, xt.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_sequential_conv_max_pool_is_fused_only_where_it_may_be(monkeypatch):
    """The fused function runs for MaxPool2d(2) and MaxPool2d((2, 2), 2) only; hooks on
    either module, or any other pooling, keep the modules one by one."""
    calls = []
    real = F.conv2d_max_pool2d
    monkeypatch.setattr(F, "conv2d_max_pool2d", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    x = np.random.default_rng(2).standard_normal((2, 32, 8, 8)).astype(np.float32)
    for pool, fused in [(nn.MaxPool2d(2), True), (nn.MaxPool2d((2, 2), 2), True),
                        (nn.MaxPool2d(2, stride=1), False), (nn.MaxPool2d(3), False),
                        (nn.MaxPool2d(2, ceil_mode=True), False),
                        (nn.MaxPool2d(2, padding=1), False), (nn.AvgPool2d(2), False)]:
        calls.clear()
        model = _conv_pool_model(pool)
        expected = _one_by_one(model, x).data
        np.testing.assert_array_equal(model(x).data, expected)
        assert bool(calls) == fused, pool
    for hooked in (0, 1):
        calls.clear()
        model = _conv_pool_model(nn.MaxPool2d(2))
        seen = []
        model[hooked].register_forward_hook(lambda m, args, out: seen.append(out.shape))
        model(x)
        assert not calls and seen == [(2, 8, 8, 8) if hooked == 0 else (2, 8, 4, 4)]


def test_a_fused_conv_max_pool_checks_its_input_as_the_conv_does():
    model = _conv_pool_model(nn.MaxPool2d(2))
    with pytest.raises(ValueError, match="Conv2d"):
        model(np.zeros((2, 3, 8, 8), np.float32))
