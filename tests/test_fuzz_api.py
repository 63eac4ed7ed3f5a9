"""Random wrong arguments to the public API get a clear error, never a raw one.

Each target is a valid call (checked to run) of a public function, constructor, method or
module forward. Hypothesis replaces one or two of its arguments with values of the wrong
type or range: None, strings, bytes, bools, zero, negative and huge ints, NaN and infinite
floats, lists, dicts, arrays of the wrong shape or dtype. The call must then either succeed
(some replacements are valid) or raise ValueError or TypeError whose message starts with the
name of the function, module or argument checker (``conv2d: ...``, ``Conv2d: ...``), or one
of the exceptions a target documents: RuntimeError where PyTorch raises it, IndexError for
an index out of range, FileNotFoundError/OSError naming the file for a file that isn't.

Derandomized, with a bounded number of examples per target, so that CI runs the same calls
every time in a few seconds.
"""

import math
import re
import signal
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convscope
import convscope.functional as F
from convscope import arith, data, io, models, nn, optim, summary
from convscope.arith import grammar, zoo

# "conv2d: ...", "Conv2d.forward: ...", and the spec grammar's "layer 3 'fc:x': ...",
# "layer 'conv1' (conv:c64,k11) on input 1x1: ...", "spec 'name': ..."
NAMED = re.compile(r"^([A-Za-z_][\w.]*(\(\))?|layer \S+ .{0,80}?|spec '[^']*'): ")

# -- wrong values ------------------------------------------------------------------------------
ARRAY_SHAPES = [(), (0,), (3,), (2, 3), (1, 2, 3, 3), (2, 1, 4, 4), (1, 1, 1, 1, 1, 1)]
ARRAY_DTYPES = [np.float32, np.float64, np.int64, np.bool_, "<U1", np.complex128, object]


def _array(shape, dtype):
    if dtype == "<U1":
        return np.full(shape, "a")
    if dtype is object:
        return np.full(shape, None, dtype=object)
    return np.ones(shape, dtype=dtype)


BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2**63, 2**70, -(2**63)]),
    st.sampled_from([0.5, -1.5, math.nan, math.inf, -math.inf, 1e300]),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.lists(st.integers(-2, 4), max_size=4),
    st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
    st.just({}),
    st.just({"a": 1}),
    st.builds(object),
    st.builds(_array, st.sampled_from(ARRAY_SHAPES), st.sampled_from(ARRAY_DTYPES)),
)

# -- valid calls -------------------------------------------------------------------------------
X1 = np.linspace(-1, 1, 2 * 3 * 8, dtype=np.float32).reshape(2, 3, 8)
X2 = np.linspace(-1, 1, 2 * 3 * 8 * 8, dtype=np.float32).reshape(2, 3, 8, 8)
X3 = np.linspace(-1, 1, 1 * 2 * 4 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4, 4)
W2 = np.full((4, 3, 3, 3), 0.1, np.float32)
WT2 = np.full((3, 4, 3, 3), 0.1, np.float32)
SCORES = np.linspace(-1, 1, 4 * 5, dtype=np.float32).reshape(4, 5)
LABELS = np.array([0, 1, 4, 2])


class Target:
    """One valid call: `fn(**kwargs)`, and the exceptions besides ValueError/TypeError it may
    raise for a wrong argument."""

    def __init__(self, name, fn, kwargs, also=(), fixed=()):
        self.name, self.fn, self.kwargs, self.also = name, fn, kwargs, tuple(also)
        self.fuzzed = sorted(set(kwargs) - set(fixed))  # the others are the test's harness

    def __repr__(self):
        return self.name


def _model():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 5))


def _params():
    return _model().parameters()


def _stepped(opt_cls, **kw):
    model = _model()
    opt = opt_cls(model.parameters(), **kw)
    F.cross_entropy(model(convscope.tensor(X2)), LABELS[:2]).backward()
    opt.step()
    return opt


def _scheduler(cls, **kw):
    return cls(optim.SGD(_params(), lr=0.1, momentum=0.9), **kw)


def _state_with(state, key, value):
    state = dict(state)
    state[key] = value
    return state


def _opt_load(state=None, group_key=None, group_value=None):
    """load_state_dict of a stepped SGD's state, with `state` or one group entry replaced."""
    opt = _stepped(optim.SGD, lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    if state is not None:
        sd = _state_with(sd, "state", state)
    if group_key is not None:
        sd = _state_with(sd, "param_groups", [_state_with(sd["param_groups"][0], group_key,
                                                          group_value)])
    opt.load_state_dict(sd)
    opt.step()


def _adam_load(state_key="state", value=None):
    opt = _stepped(optim.Adam, lr=0.01)
    sd = opt.state_dict()
    if value is not None:
        inner = dict(sd["state"])
        first = next(iter(inner))
        inner[first] = _state_with(inner[first], state_key, value)
        sd = _state_with(sd, "state", inner)
    opt.load_state_dict(sd)
    opt.step()


def _sched_load(cls, key, value, **kw):
    sched = _scheduler(cls, **kw)
    sched.load_state_dict(_state_with(sched.state_dict(), key, value))
    sched.step()


def _tensor_method(method, data=None, **kwargs):
    t = convscope.tensor(np.arange(6.0).reshape(2, 3) if data is None else data,
                         requires_grad=True)
    if method == "getitem":
        out = t[kwargs["index"]]
    elif method in ("reshape", "transpose"):  # positional, as t.reshape(3, 2)
        out = getattr(t, method)(kwargs["shape"])
    else:
        out = getattr(t, method)(**kwargs)
    if isinstance(out, convscope.Tensor) and out.requires_grad:
        out.sum().backward()


def _binary(op, other):
    t = convscope.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = op(t, other)
    if isinstance(out, convscope.Tensor):
        out.sum().backward()


def _forward(module_fn, input):
    module = module_fn()
    out = module(input)
    if isinstance(out, convscope.Tensor) and out.requires_grad:
        out.sum().backward()


def _path_target(tmp_name):
    return f"/nonexistent-convscope-dir/{tmp_name}"


FILE_ERRORS = (FileNotFoundError, OSError)
TARGETS = [
    # arith
    Target("arith.conv_output_size", arith.conv_output_size,
           dict(size=32, kernel_size=3, stride=1, padding=1, dilation=1)),
    Target("arith.conv_transpose_output_size", arith.conv_transpose_output_size,
           dict(size=8, kernel_size=3, stride=2, padding=1, output_padding=1, dilation=1)),
    Target("arith.pool_output_size", arith.pool_output_size,
           dict(size=9, kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)),
    Target("arith.conv_output_shape", arith.conv_output_shape,
           dict(shape=(32, 32), kernel_size=3, stride=(1, 2), padding=1, dilation=1)),
    Target("arith.pool_output_shape", arith.pool_output_shape,
           dict(shape=(9, 9), kernel_size=2, stride=None, padding=0, ceil_mode=False)),
    Target("arith.same_padding", arith.same_padding,
           dict(size=224, kernel_size=3, stride=2, dilation=1)),
    Target("arith.padding_for_output_size", arith.padding_for_output_size,
           dict(size=10, out_size=5, kernel_size=3, stride=2, dilation=1)),
    Target("arith.unused_input", arith.unused_input,
           dict(size=10, kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)),
    Target("arith.exact_input_sizes", arith.exact_input_sizes,
           dict(layers=[(3, 2, 1, 1)], start=1, stop=64)),
    Target("arith.rf_stack", arith.rf_stack, dict(layers=[(3, 1, 1, 1), (2, 2, 0, 1)], ndim=1)),
    Target("arith.rf_identity", arith.rf_identity, dict(ndim=2)),
    Target("arith.conv_params", arith.conv_params,
           dict(in_channels=3, out_channels=64, kernel_size=(7, 7), groups=1, bias=True)),
    Target("arith.conv_macs", arith.conv_macs,
           dict(in_channels=3, out_channels=64, kernel_size=(7, 7), out_shape=(112, 112),
                groups=1)),
    Target("arith.linear_params", arith.linear_params,
           dict(in_features=5, out_features=10, bias=True)),
    Target("grammar.parse_layer", grammar.parse_layer, dict(text="conv:c8,k3,s2,p1", index=1)),
    Target("grammar.parse_spec", grammar.parse_spec,
           dict(text="conv:c8,k3,p1 pool:k2 fc:o10", name="spec")),
    Target("grammar.network_from_dict", grammar.network_from_dict,
           dict(data={"input_shape": [1, 28, 28],
                      "layers": [{"type": "conv", "out_channels": 4, "kernel_size": 3}]},
                name="spec")),
    Target("grammar.load_spec", grammar.load_spec, dict(path=_path_target("spec.json")),
           also=FILE_ERRORS),
    Target("zoo.get_network", zoo.get_network, dict(name="vgg16")),
    Target("arith.network.parse_shape", arith.network.parse_shape, dict(text="3x32x32")),
    Target("summary", summary, dict(model_or_spec="alexnet", input_shape=(3, 224, 224))),
    Target("summary(model)", lambda model_or_spec, input_shape: summary(
        model_or_spec() if callable(model_or_spec) else model_or_spec, input_shape),
        dict(model_or_spec=_model, input_shape=(3, 8, 8))),
    # functional
    Target("F.conv2d", F.conv2d, dict(input=X2, weight=W2, bias=None, stride=1, padding=1,
                                      dilation=1, groups=1)),
    Target("F.conv1d", F.conv1d, dict(input=X1, weight=W2[..., 0], stride=2, padding=1)),
    Target("F.conv3d", F.conv3d, dict(input=X3, weight=np.full((2, 2, 2, 2, 2), 0.1,
                                                               np.float32), padding=0)),
    Target("F.conv_transpose2d", F.conv_transpose2d,
           dict(input=X2, weight=WT2, bias=None, stride=2, padding=1, output_padding=1,
                groups=1, dilation=1)),
    Target("F.pad", F.pad, dict(input=X2, pad=(1, 1, 2, 0), mode="reflect", value=0.0)),
    Target("F.max_pool2d", F.max_pool2d, dict(input=X2, kernel_size=3, stride=2, padding=1,
                                              dilation=1, ceil_mode=True)),
    Target("F.avg_pool1d", F.avg_pool1d, dict(input=X1, kernel_size=2, stride=None, padding=1,
                                              ceil_mode=False, count_include_pad=False)),
    Target("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, dict(input=X2, output_size=(3, 2))),
    Target("F.batch_norm", F.batch_norm,
           dict(input=X2, running_mean=np.zeros(3, np.float32),
                running_var=np.ones(3, np.float32), weight=None, bias=None, training=True,
                momentum=0.1, eps=1e-5)),
    Target("F.linear", F.linear, dict(input=SCORES, weight=np.ones((3, 5), np.float32),
                                      bias=None)),
    Target("F.relu", F.relu, dict(input=X2)),
    Target("F.leaky_relu", F.leaky_relu, dict(input=X2, negative_slope=0.1)),
    Target("F.gelu", F.gelu, dict(input=X2, approximate="tanh")),
    Target("F.softmax", F.softmax, dict(input=SCORES, dim=1)),
    Target("F.log_softmax", F.log_softmax, dict(input=SCORES, dim=-1)),
    Target("F.flatten", F.flatten, dict(input=X2, start_dim=1, end_dim=-1)),
    Target("F.dropout", F.dropout, dict(input=X2, p=0.5, training=True,
                                        rng=np.random.default_rng(0))),
    Target("F.cross_entropy", F.cross_entropy,
           dict(input=SCORES, target=LABELS, weight=None, reduction="mean",
                label_smoothing=0.1, ignore_index=-100)),
    Target("F.nll_loss", F.nll_loss, dict(input=SCORES, target=LABELS, weight=None,
                                          ignore_index=-100, reduction="sum")),
    Target("F.mse_loss", F.mse_loss, dict(input=SCORES, target=SCORES, reduction="mean")),
    # nn constructors and forwards
    Target("nn.Conv2d", nn.Conv2d, dict(in_channels=3, out_channels=4, kernel_size=3,
                                        stride=1, padding=1, dilation=1, groups=1, bias=True,
                                        padding_mode="zeros", dtype=np.float32, rng=None)),
    Target("nn.ConvTranspose1d", nn.ConvTranspose1d,
           dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1,
                output_padding=1, groups=1, bias=True, dilation=1)),
    Target("nn.MaxPool2d", nn.MaxPool2d, dict(kernel_size=2, stride=None, padding=0,
                                              dilation=1, ceil_mode=False)),
    Target("nn.AvgPool3d", nn.AvgPool3d, dict(kernel_size=2, stride=1, padding=1,
                                              ceil_mode=False, count_include_pad=True)),
    Target("nn.AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d, dict(output_size=1)),
    Target("nn.BatchNorm2d", nn.BatchNorm2d, dict(num_features=3, eps=1e-5, momentum=0.1,
                                                  affine=True, track_running_stats=True)),
    Target("nn.Linear", nn.Linear, dict(in_features=5, out_features=3, bias=True)),
    Target("nn.Dropout", nn.Dropout, dict(p=0.5, inplace=False, rng=None)),
    Target("nn.Flatten", nn.Flatten, dict(start_dim=1, end_dim=-1)),
    Target("nn.LeakyReLU", nn.LeakyReLU, dict(negative_slope=0.01, inplace=False)),
    Target("nn.GELU", nn.GELU, dict(approximate="none")),
    Target("nn.Sequential", lambda first, second: nn.Sequential(first, second),
           dict(first=nn.ReLU(), second=nn.Identity())),
    Target("Conv2d.forward", _forward, dict(module_fn=lambda: nn.Conv2d(3, 4, 3), input=X2), fixed=("module_fn",)),
    Target("BatchNorm2d.forward", _forward, dict(module_fn=lambda: nn.BatchNorm2d(3),
                                                 input=X2), fixed=("module_fn",)),
    Target("Linear.forward", _forward, dict(module_fn=lambda: nn.Linear(5, 2), input=SCORES), fixed=("module_fn",)),
    Target("model.forward", _forward, dict(module_fn=_model, input=X2), fixed=("module_fn",)),
    Target("Module.load_state_dict", lambda key, value: _model().load_state_dict(
        _state_with(_model().state_dict(), key, value)),
        dict(key="0.weight", value=np.zeros((4, 3, 3, 3), np.float32)), fixed=("key",)),
    # optim
    Target("optim.SGD", lambda params, **kw: optim.SGD(params() if callable(params) else
                                                       params, **kw),
           dict(params=_params, lr=0.1, momentum=0.9, dampening=0, weight_decay=1e-4,
                nesterov=True, maximize=False)),
    Target("optim.Adam", lambda params, **kw: optim.Adam(params() if callable(params) else
                                                         params, **kw),
           dict(params=_params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                amsgrad=True, maximize=False)),
    Target("optim.AdamW", lambda params, **kw: optim.AdamW(params() if callable(params) else
                                                           params, **kw),
           dict(params=_params, lr=1e-3, weight_decay=0.01)),
    Target("optim.StepLR", lambda **kw: _scheduler(optim.StepLR, **kw),
           dict(step_size=2, gamma=0.5, last_epoch=-1)),
    Target("optim.CosineAnnealingLR", lambda **kw: _scheduler(optim.CosineAnnealingLR, **kw),
           dict(T_max=10, eta_min=0.0)),
    Target("optim.OneCycleLR", lambda **kw: _scheduler(optim.OneCycleLR, **kw),
           dict(max_lr=0.1, total_steps=None, epochs=2, steps_per_epoch=5, pct_start=0.3,
                anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False)),
    Target("SGD.load_state_dict(group)", _opt_load, dict(group_key="lr", group_value=0.1),
           fixed=("group_key",)),
    Target("SGD.load_state_dict(state)", _opt_load, dict(state={})),
    Target("Adam.load_state_dict(state)", _adam_load, dict(state_key="step", value=None),
           fixed=("state_key",)),
    Target("Adam.load_state_dict(exp_avg)", _adam_load,
           dict(state_key="exp_avg", value=np.zeros((4, 3, 3, 3), np.float32)),
           fixed=("state_key",)),
    Target("StepLR.load_state_dict", lambda key, value: _sched_load(optim.StepLR, key, value,
                                                                    step_size=2),
           dict(key="last_epoch", value=3), fixed=("key",)),
    Target("OneCycleLR.load_state_dict", lambda key, value: _sched_load(
        optim.OneCycleLR, key, value, max_lr=0.1, total_steps=10),
        dict(key="last_epoch", value=3), fixed=("key",)),
    # Tensor
    Target("tensor", convscope.tensor, dict(data=[1.0, 2.0], requires_grad=True, dtype=None)),
    Target("Tensor", convscope.Tensor, dict(data=[1.0, 2.0], requires_grad=False,
                                            dtype=np.float32)),
    Target("Tensor.sum", lambda **kw: _tensor_method("sum", **kw), dict(axis=1,
                                                                         keepdims=False)),
    Target("Tensor.mean", lambda **kw: _tensor_method("mean", **kw), dict(axis=(0, 1),
                                                                           keepdims=True)),
    Target("Tensor.max", lambda **kw: _tensor_method("max", **kw), dict(axis=-1)),
    Target("Tensor.flatten", lambda **kw: _tensor_method("flatten", **kw),
           dict(start_dim=0, end_dim=-1)),
    Target("Tensor.reshape", lambda shape: _tensor_method("reshape", shape=shape),
           dict(shape=(3, 2))),
    Target("Tensor.transpose", lambda axes: _tensor_method("transpose", shape=axes),
           dict(axes=(1, 0))),
    Target("Tensor.getitem", lambda index: _tensor_method("getitem", index=index),
           dict(index=(0, slice(None, 2))), also=(IndexError,)),
    Target("Tensor.add", lambda other: _binary(lambda a, b: a + b, other), dict(other=1.0)),
    Target("Tensor.mul", lambda other: _binary(lambda a, b: b * a, other),
           dict(other=np.ones(3))),
    Target("Tensor.matmul", lambda other: _binary(lambda a, b: a @ b, other),
           dict(other=np.ones((3, 2)))),
    Target("Tensor.pow", lambda other: _binary(lambda a, b: a ** b, other), dict(other=2)),
    Target("Tensor.lt", lambda other: _binary(lambda a, b: a < b, other), dict(other=2.0)),
    Target("Tensor.backward", lambda grad, retain_graph: (convscope.tensor(
        np.ones((2, 3)), requires_grad=True) * 2).backward(grad, retain_graph=retain_graph),
        dict(grad=np.ones((2, 3)), retain_graph=False), also=(RuntimeError,)),
    Target("manual_seed", convscope.manual_seed, dict(seed=0)),
    # data
    Target("data.DataLoader", lambda **kw: list(data.DataLoader(**kw)),
           dict(x=X2, y=np.array([0, 1]), batch_size=1, shuffle=True, drop_last=False,
                seed=0, transform=data.RandomHorizontalFlip())),
    Target("data.Normalize", lambda mean, std, x: data.Normalize(mean, std)(x),
           dict(mean=(0.5, 0.5, 0.5), std=0.25, x=X2)),
    Target("data.RandomCrop", lambda size, padding, x, rng: data.RandomCrop(size, padding)(
        x, rng), dict(size=6, padding=1, x=X2, rng=np.random.default_rng(0))),
    Target("data.RandomHorizontalFlip", lambda p, x: data.RandomHorizontalFlip(p)(
        x, np.random.default_rng(0)), dict(p=0.5, x=X2)),
    Target("data.Compose", lambda transforms, x: data.Compose(transforms)(
        x, np.random.default_rng(0)), dict(transforms=[data.RandomHorizontalFlip()], x=X2)),
    Target("data.read_idx", data.read_idx, dict(path=_path_target("x-idx1-ubyte")),
           also=FILE_ERRORS),
    Target("data.load_mnist_like", data.load_mnist_like,
           dict(root=_path_target(""), train=True, kind="mnist"), also=FILE_ERRORS),
    Target("data.load_cifar10", data.load_cifar10, dict(path=_path_target("c"), train=False),
           also=FILE_ERRORS),
    Target("data.parse_cifar_records", data.parse_cifar_records,
           dict(data=bytes(3074), label_bytes=2, label_index=1, source="x")),
    Target("data.dataset_info", data.dataset_info, dict(name="cifar10")),
    Target("data.load_dataset", data.load_dataset,
           dict(name="mnist", train=True, data=_path_target("")), also=FILE_ERRORS),
    # io and models
    Target("io.load_arrays", io.load_arrays, dict(path=_path_target("a.npz")),
           also=FILE_ERRORS),
    Target("models.build_model", models.build_model, dict(name="fashion_cnn")),
    Target("models.fashion_cnn", models.fashion_cnn,
           dict(in_channels=1, num_classes=10, widths=(4, 8, 8), image_size=28, rng=None)),
    Target("models.signal_cnn_parameters", models.signal_cnn_parameters,
           dict(in_channels=1, num_classes=10, length=128, widths=(4, 8))),
    Target("models.count_parameters", models.count_parameters,
           dict(model=nn.Linear(2, 3))),
]

FUZZED = list(TARGETS)

VALID_ONLY_FAILS = {  # valid calls that are meant to fail (files that do not exist)
    "grammar.load_spec", "data.read_idx", "data.load_mnist_like", "data.load_cifar10",
    "data.load_dataset", "io.load_arrays"}


@pytest.mark.parametrize("target", TARGETS, ids=repr)
def test_the_valid_call_runs(target):
    """Each target's unchanged call works, so that a wrong argument is what fails below."""
    if target.name in VALID_ONLY_FAILS:
        with pytest.raises(FILE_ERRORS):
            target.fn(**target.kwargs)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target.fn(**target.kwargs)


class TookTooLong(Exception):
    pass


def _alarm(signum, frame):
    raise TookTooLong("a call with a wrong argument ran for more than 10 s")


def _check(target, kwargs):
    """Call the target; a wrong argument must fail fast with a named error (or succeed)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(10)  # a hang (a loop up to 2**63) fails the test instead of the CI job
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            target.fn(**kwargs)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, FILE_ERRORS) or type(exc) in target.also:
            return
        assert NAMED.match(str(exc)), (
            f"{target.name}({_show(kwargs)}) raised {type(exc).__name__} without naming the "
            f"function: {str(exc)[:300]}")
    except target.also:
        pass
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _show(kwargs):
    return ", ".join(f"{k}={v!r:.40}" for k, v in kwargs.items())


@pytest.mark.parametrize("target", FUZZED)
@settings(derandomize=True, max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_wrong_arguments_get_clear_errors(target, data):
    kwargs = dict(target.kwargs)
    names = target.fuzzed
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=2,
                                   unique=True), label="arguments"):
        kwargs[name] = data.draw(BAD_VALUES, label=name)
    _check(target, kwargs)
