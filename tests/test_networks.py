"""convscope.networks: the classic architectures' receptive fields against the published
figures, their parameter counts against the published ones, and every spec's shapes and
parameters against actually running it (PyTorch as the reference)."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import convscope.functional as F
from convscope import networks as N
from convscope.networks import analyze, get_network

# Receptive field, effective stride (jump) and effective padding at 224x224, copied from
# google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md (the library
# behind Araujo, Norris & Sim, Distill 2019), computed on the TF-slim definitions. The
# library's end-point names are mapped to ours (alexnet_v2/conv1 -> conv1,
# vgg_16/conv1/conv1_1 -> conv1_1, resnet_v1_50/block1 -> block1).
PUBLISHED = {
    "alexnet": {
        "conv1": (11, 4, 0), "pool1": (19, 8, 0), "conv2": (51, 8, 16), "conv3": (99, 16, 32),
        "conv4": (131, 16, 48), "conv5": (163, 16, 64), "pool5": (195, 32, 64),
    },
    "vgg16": {
        "conv1_1": (3, 1, 1), "pool1": (6, 2, 2), "conv2_1": (10, 2, 4), "pool2": (16, 4, 6),
        "conv3_1": (24, 4, 10), "conv3_2": (32, 4, 14), "pool3": (44, 8, 18),
        "conv4_1": (60, 8, 26), "conv4_2": (76, 8, 34), "pool4": (100, 16, 42),
        "conv5_1": (132, 16, 58), "conv5_2": (164, 16, 74), "pool5": (212, 32, 90),
    },
    "resnet50": {
        "block1": (35, 8, 15), "block2": (99, 16, 47), "block3": (291, 32, 143),
        "block4": (483, 32, 239),
    },
    "mobilenet_v1": {
        "Conv2d_0": (3, 2, 0), "Conv2d_1_pointwise": (7, 2, 2),
        "Conv2d_2_pointwise": (11, 4, 2), "Conv2d_3_pointwise": (19, 4, 6),
        "Conv2d_4_pointwise": (27, 8, 6), "Conv2d_5_pointwise": (43, 8, 14),
        "Conv2d_6_pointwise": (59, 16, 14), "Conv2d_7_pointwise": (91, 16, 30),
        "Conv2d_8_pointwise": (123, 16, 46), "Conv2d_9_pointwise": (155, 16, 62),
        "Conv2d_10_pointwise": (187, 16, 78), "Conv2d_11_pointwise": (219, 16, 94),
        "Conv2d_12_pointwise": (251, 32, 94), "Conv2d_13_pointwise": (315, 32, 126),
    },
    "inception_v3": {
        "Conv2d_1a_3x3": (3, 2, 0), "Conv2d_2a_3x3": (7, 2, 0), "Conv2d_2b_3x3": (11, 2, 2),
        "MaxPool_3a_3x3": (15, 4, 2), "Conv2d_3b_1x1": (15, 4, 2), "Conv2d_4a_3x3": (23, 4, 2),
        "MaxPool_5a_3x3": (31, 8, 2), "Mixed_5b": (63, 8, 18), "Mixed_5c": (95, 8, 34),
        "Mixed_5d": (127, 8, 50), "Mixed_6a": (159, 16, 58), "Mixed_6b": (351, 16, 154),
        "Mixed_6c": (543, 16, 250), "Mixed_6d": (735, 16, 346), "Mixed_6e": (927, 16, 442),
        "Mixed_7a": (1055, 32, 490), "Mixed_7b": (1183, 32, 554), "Mixed_7c": (1311, 32, 618),
    },
}

# Parameter counts that torchvision documents for its models (num_params). TF-slim's
# resnet_v1_50 and vgg_16 have the same parameters as torchvision's (only strides and the
# fc-as-convolution differ). Inception-v3 here omits the auxiliary classifier: torchvision's
# 27,161,264 minus AuxLogits (1x1 768->128 + BN, 5x5 128->768 + BN, fc 768->1000:
# 98,304 + 256 + 2,457,600 + 1,536 + 769,000 = 3,326,696).
PUBLISHED_PARAMS = {
    "alexnet_torchvision": 61_100_840, "vgg16": 138_357_544, "vgg16_torchvision": 138_357_544,
    "resnet18": 11_689_512, "resnet50": 25_557_032, "resnet50_torchvision": 25_557_032,
    "inception_v3": 27_161_264 - 3_326_696,
}


@pytest.fixture(scope="module")
def analyses():
    return {name: analyze(get_network(name)) for name in N.NETWORKS}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_receptive_fields_match_the_published_figures(analyses, name):
    rows = {r.name: r for r in analyses[name]}
    for endpoint, (rf, jump, padding) in PUBLISHED[name].items():
        f = rows[endpoint].field
        assert (f.size, f.jump, f.padding) == ((rf, rf), (jump, jump), (padding, padding)), \
            endpoint
        assert f.aligned


# The same table at 321x321, where TF's 'SAME' pads differently (MobileNet's and ResNet's
# strided layers): the effective padding changes, the field and jump do not.
PUBLISHED_321 = {
    "mobilenet_v1": {"Conv2d_0": (3, 2, 1), "Conv2d_2_pointwise": (11, 4, 5),
                     "Conv2d_6_pointwise": (59, 16, 29), "Conv2d_13_pointwise": (315, 32, 157)},
    "resnet50": {"block1": (35, 8, 17), "block2": (99, 16, 49), "block3": (291, 32, 145),
                 "block4": (483, 32, 241)},
    "alexnet": {"pool5": (195, 32, 64)},
    "inception_v3": {"Mixed_7c": (1311, 32, 618)},
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_321))
def test_receptive_fields_at_321_match_the_published_figures(name):
    rows = {r.name: r for r in analyze(get_network(name), (3, 321, 321))}
    for endpoint, (rf, jump, padding) in PUBLISHED_321[name].items():
        f = rows[endpoint].field
        assert (f.size, f.jump, f.padding) == ((rf, rf), (jump, jump), (padding, padding)), \
            endpoint


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_parameter_counts_match_the_published_ones(analyses, name):
    assert sum(r.params for r in analyses[name]) == PUBLISHED_PARAMS[name]


def test_torchvision_variants_differ_where_the_definitions_do(analyses):
    rows = {r.name: r for r in analyses["resnet50_torchvision"]}
    assert rows["layer4"].field.size == (427, 427)       # stride in the first unit
    assert rows["layer1"].output_shape == (256, 56, 56)
    slim = {r.name: r for r in analyses["resnet50"]}
    assert slim["block1"].output_shape == (256, 28, 28)  # stride in the last unit
    alex = {r.name: r for r in analyses["alexnet_torchvision"]}
    assert alex["pool5"].output_shape == (256, 6, 6)
    assert (alex["pool5"].field.size, alex["pool5"].field.padding) == ((195, 195), (66, 66))
    r18 = {r.name: r for r in analyses["resnet18"]}
    assert r18["layer4"].field.size == (435, 435) and r18["fc"].output_shape == (1000,)


def test_tf_same_padding_depends_on_the_input_size():
    rows = {r.name: r for r in analyze(get_network("resnet50"))}
    assert rows["pool1"].padding == ((0, 1), (0, 1))     # 3x3/2 SAME on 112
    rows = {r.name: r for r in analyze(get_network("resnet50"), (3, 225, 225))}
    assert rows["pool1"].padding == ((1, 1), (1, 1))     # on 113


def test_published_macs():
    # Multiply-adds that the papers report: MobileNetV1 569 M, ResNet-50 (torchvision) 4.1 G.
    assert round(sum(r.macs for r in analyze(get_network("mobilenet_v1"))) / 1e6) == 569
    total = sum(r.macs for r in analyze(get_network("resnet50_torchvision")))
    assert round(total / 1e8) == 41


# -- shapes and parameters against actually running each spec ----------------------------------

def _tf_same(size, k, s, d):
    """TensorFlow's documented 'SAME' rule, written out independently of arith."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def _pads(padding, spatial, ks, ss, ds):
    pads = padding if isinstance(padding, tuple) else (padding,) * len(spatial)
    out = []
    for p, n, k, s, d in zip(pads, spatial, ks, ss, ds):
        if p == "SAME":
            out.append(_tf_same(n, k, s, d))
        elif p == "VALID":
            out.append((0, 0))
        else:
            out.append(p if isinstance(p, tuple) else (p, p))
    return out


def _t(v, n):
    return v if isinstance(v, tuple) else (v,) * n


def _run(nodes, x, prefix, sep, seen):
    """Run spec nodes with PyTorch on zeros, recording every named output shape and the
    number of parameters created."""
    for node in nodes:
        name = sep.join(p for p in (prefix, node.name) if p)
        if isinstance(node, N.Block):
            x = _run(node.layers, x, name, sep, seen)
        elif isinstance(node, N.Branches):
            outs = [_run(p.layers, x, sep.join((name, p.name)), sep, seen)
                    if isinstance(p, N.Block) else _run(p, x, name, sep, seen)
                    for p in node.paths]
            x = sum(outs) if node.merge == "add" else torch.cat(outs, dim=1)
        elif isinstance(node, N.Conv):
            n = x.dim() - 2
            ks, ss, ds = _t(node.kernel_size, n), _t(node.stride, n), _t(node.dilation, n)
            pads = _pads(node.padding, x.shape[2:], ks, ss, ds)
            flat = [v for pair in reversed(pads) for v in pair]
            w = torch.zeros((node.out_channels, x.shape[1] // node.groups) + ks)
            x = TF.conv2d(TF.pad(x, flat), w, None, ss, 0, ds, node.groups)
            seen["params"] += w.numel() + node.out_channels * (node.bias + 2 * node.batch_norm)
        elif isinstance(node, N.Pool):
            n = x.dim() - 2
            ks = _t(node.kernel_size, n)
            ss = ks if node.stride is None else _t(node.stride, n)
            pads = _pads(node.padding, x.shape[2:], ks, ss, _t(node.dilation, n))
            x = TF.max_pool2d(TF.pad(x, [v for pair in reversed(pads) for v in pair]), ks, ss)
        elif isinstance(node, N.AdaptivePool):
            x = TF.adaptive_avg_pool2d(x, node.output_size)
        elif isinstance(node, N.Flatten):
            x = x.flatten(1)
        elif isinstance(node, N.Linear):
            w = torch.zeros(node.out_features, x.shape[1])
            x = TF.linear(x, w)
            seen["params"] += w.numel() + node.out_features * node.bias
        seen[name] = tuple(x.shape[1:])
    return x


RUN_AT = {  # small inputs where the network allows one, to keep the test fast
    "alexnet": (3, 224, 224), "alexnet_torchvision": (3, 67, 67), "vgg16": (3, 224, 224),
    "vgg16_torchvision": (3, 32, 32), "resnet18": (3, 33, 33), "resnet50": (3, 33, 33),
    "resnet50_torchvision": (3, 35, 35), "mobilenet_v1": (3, 35, 35),
    "inception_v3": (3, 75, 75),
}


@pytest.mark.parametrize("name", sorted(N.NETWORKS))
def test_spec_shapes_and_params_agree_with_running_it(name):
    net = get_network(name)
    shape = RUN_AT[name]
    if name == "vgg16":  # 15 GMACs at 224: run the features only, on a cheaper input
        net = N.Network("vgg16", net.layers[:-3], sep=net.sep)
        shape = (3, 35, 35)
    rows = analyze(net, shape)
    seen = {"params": 0}
    with torch.no_grad():
        _run(net.layers, torch.zeros((1,) + shape), "", net.sep, seen)
    for r in rows:
        assert r.output_shape == seen[r.name], r.name
    assert sum(r.params for r in rows) == seen["params"]


# -- spec files, the layer syntax and errors ---------------------------------------------------

def test_parse_layer_syntax():
    conv = N.parse_layer("conv:c64,k7,s2,p3,bn,nobias,name=stem")
    assert conv == N.Conv("stem", 64, 7, 2, 3, bias=False, batch_norm=True)
    assert N.parse_layer("conv:c8,k3x1,p1-0x0-1,d2", 4) == N.Conv(
        "conv4", 8, (3, 1), 1, ((1, 0), (0, 1)), 2)
    assert N.parse_layer("maxpool:k3,s2,pSAME,ceil", 2) == N.Pool("pool2", 3, 2, "SAME",
                                                                  ceil_mode=True)
    assert N.parse_layer("fc:o10", 5) == N.Linear("fc5", 10)
    assert N.parse_layer("gap", 3) == N.AdaptivePool("gap3", 1)
    assert N.parse_layer("convT:c3,k4,s2,p1,op1").transposed


def test_text_and_json_spec_files(tmp_path):
    text = tmp_path / "lenet.txt"
    text.write_text("# LeNet-5\ninput 1x32x32\nconv:c6,k5 maxpool:k2\nconv:c16,k5\n"
                    "maxpool:k2\nflatten\nfc:o120\nfc:o84\nfc:o10\n")
    net = N.load_spec(str(text))
    rows = analyze(net)
    assert net.name == "lenet" and rows[-1].output_shape == (10,)
    assert [r.output_shape for r in rows[:4]] == [(6, 28, 28), (6, 14, 14), (16, 10, 10),
                                                   (16, 5, 5)]
    assert sum(r.params for r in rows) == 61706               # LeNet-5's published count
    spec = {"name": "res", "input_shape": [8, 16, 16], "layers": [
        {"type": "branches", "name": "unit", "merge": "add", "paths": [
            [{"type": "conv", "name": "a", "out_channels": 8, "kernel_size": 3,
              "padding": "SAME"},
             {"type": "conv", "name": "b", "out_channels": 8, "kernel_size": 3,
              "padding": [[1, 1], [1, 1]]}],
            []]},
        {"type": "block", "name": "down", "layers": [
            {"type": "pool", "name": "pool", "kernel_size": 2}]}]}
    path = tmp_path / "res.json"
    path.write_text(json.dumps(spec))
    rows = {r.name: r for r in analyze(N.load_spec(str(path)))}
    assert rows["unit/b"].field.size == (5, 5) and rows["unit"].field.aligned
    assert rows["down"].output_shape == (8, 8, 8)


ERRORS = [
    ("input 3x8x8\nconv:c4,k5\nconv:c4,k5\n", r"layer 'conv2' \(conv:c4,k5\) on input 4x4x4: "
     r".*spans 5, larger than the padded input 4"),
    ("input 3x8x8\nconv:c4,k3,i1\n", r"layer 'conv1' .* expects in_channels=1, got an input "
     r"with 3 channels"),
    ("input 3x8x8\nconv:c4,k3,g2\n", r"layer 'conv1' .*groups=2 must divide in_channels=3"),
    ("input 3x8x8\nfc:o10\n", r"layer 'fc1' .* needs flat features; got 3x8x8"),
    ("input 3x8x8\nflatten\nconv:c4,k3\n", r"layer 'conv2' .* needs an input \(C, \*spatial\)"),
    ("input 3x8x8\nconv:c4,k3,q1\n", r"unknown option 'q1'"),
    ("input 3x8x8\nblob:c4\n", r"unknown kind 'blob'"),
    ("input 3x8x8\nconv:k3\n", r"conv needs c"),
    ("input 3x8x8\nmaxpool:k2,c3\n", r"option\(s\) channels do not apply to maxpool"),
    ("input 3x8\n", r"no layers"),
]


@pytest.mark.parametrize("text,pattern", ERRORS)
def test_invalid_stacks_name_the_layer(text, pattern):
    with pytest.raises(ValueError, match=pattern):
        analyze(N.parse_spec(text))


def test_branch_shape_mismatches_name_the_join():
    add = N.Network("x", (N.Branches("res", ((N.Conv("c", 4, 1),), ())),), (3, 8, 8))
    with pytest.raises(ValueError, match=r"layer 'res': 'add' needs .* 4x8x8, 3x8x8"):
        analyze(add)
    cat = N.Network("x", (N.Branches("mix", ((N.Conv("c", 4, 3),), ()), "concat"),), (3, 8, 8))
    with pytest.raises(ValueError, match=r"layer 'mix': 'concat' needs .* 4x6x6, 3x8x8"):
        analyze(cat)


def test_unaligned_branches_are_reported():
    shifted = N.Conv("c", 3, (1, 3), padding=(0, (0, 2)))     # centre moved by one column
    net = N.Network("x", (N.Branches("res", ((shifted,), ())),), (3, 1, 8))
    assert analyze(net)[-1].field.aligned is False


def test_unknown_network_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown network 'resnet51'; known: alexnet"):
        get_network("resnet51")


def test_docstring_examples_run():
    import doctest
    assert doctest.testmod(N).failed == 0


# -- the layer grammar, every documented form, in 1D, 2D and 3D ------------------------------

def _tf_same(size, k, s, d):
    """TensorFlow's 'SAME' written out here from its definition (output ceil(W / S))."""
    total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


# (layer text, per-axis (kernel, stride, dilation, (before, after)) from the docs' grammar:
# a value for all axes, 3x5-style values per axis, 'same'/'valid', a before-after pair on
# all axes (0-1) or one per axis (0-1x1-2)), written for rank n.
def _grammar_cases(n):
    per_axis = lambda values: "x".join(str(v) for v in values)  # noqa: E731
    ks, ss, ds = (2, 3, 2)[:n], (1, 2, 1)[:n], (1, 1, 2)[:n]
    pairs = ((0, 1), (1, 2), (2, 0))[:n]
    return [
        ("conv:c2,k2,p0-1", [(2, 1, 1, (0, 1))] * n),
        (f"conv:c2,k{per_axis(ks)},s{per_axis(ss)},d{per_axis(ds)},p1",
         [(k, s, d, (1, 1)) for k, s, d in zip(ks, ss, ds)]),
        ("conv:c2,k3,s2,pvalid", [(3, 2, 1, (0, 0))] * n),
        ("conv:c2,k3,s2,psame", "same"),
        ("conv:c2,k3,d2,psame", "same"),
        ("conv:c2,k3,p" + "x".join(f"{a}-{b}" for a, b in pairs),
         [(3, 1, 1, pair) for pair in pairs]),
        ("conv:c2,k2,p1-0,s2", [(2, 2, 1, (1, 0))] * n),
    ]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_layer_grammar_matches_running_convscope_functional(n):
    sizes = (7, 6, 5)[:n]
    rng = np.random.default_rng(n)
    x = rng.standard_normal((1, 3, *sizes))
    for text, axes in _grammar_cases(n):
        layer = N.parse_layer(text)
        if axes == "same":
            k, s, d = layer.kernel_size, layer.stride, layer.dilation
            axes = [(k, s, d, _tf_same(size, k, s, d)) for size in sizes]
        w = rng.standard_normal((2, 3, *(a[0] for a in axes)))
        y = F.conv(x, w, stride=tuple(a[1] for a in axes), dilation=tuple(a[2] for a in axes),
                   padding=tuple(a[3] for a in axes))
        row = analyze(N.Network("g", (layer,), (3, *sizes)))[-1]
        assert row.output_shape == y.shape[1:], text
        assert row.padding == tuple(a[3] for a in axes), text


def test_p0_1_is_one_pair_on_every_axis():
    # the example: a 2x2 kernel with one row/column of padding after keeps 4x4
    for shape in ("1x4", "1x4x4", "1x4x4x4"):
        net = N.parse_spec(f"input {shape}\nconv:c1,k2,p0-1\n")
        assert analyze(net)[-1].output_shape == tuple(int(v) for v in shape.split("x"))
    assert N.parse_layer("conv:c1,k2,p0-1").padding == ((0, 1),)
    assert N.describe(N.parse_layer("conv:c1,k2,p0-1")) == "conv:c1,k2,p0-1"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_pool_grammar_matches_running_convscope_functional(n):
    sizes = (9, 8, 7)[:n]
    x = np.random.default_rng(0).standard_normal((1, 2, *sizes))
    for text, kwargs in [("maxpool:k3,s2,p1", dict(kernel_size=3, stride=2, padding=1)),
                         ("maxpool:k2", dict(kernel_size=2)),
                         ("maxpool:k3,s2,ceil", dict(kernel_size=3, stride=2, ceil_mode=True)),
                         ("avgpool:k2,s1", dict(kernel_size=2, stride=1))]:
        pool = F.max_pool if text.startswith("max") else F.avg_pool
        y = pool(x, ndim=n, **kwargs)
        row = analyze(N.Network("g", (N.parse_layer(text),), (2, *sizes)))[-1]
        assert row.output_shape == y.shape[1:], text


# -- bad specs -------------------------------------------------------------------------------

SPEC_ERRORS = [
    (lambda: N.parse_layer("conv:c2,k3,p0-1-2"), ValueError,
     r"a before-after pair has two values, like 0-1, got padding='0-1-2'"),
    (lambda: N.parse_layer("conv:c2,k2-3"), ValueError,
     r"only padding takes before-after pairs, got kernel_size='2-3'"),
    (lambda: N.parse_layer(3), TypeError, r"parse_layer: a layer must be a string"),
    (lambda: N.parse_spec(None), TypeError, r"parse_spec: text must be a string"),
    (lambda: N.parse_spec('{"layers": [{"type": "conv", "out_channels": 0, '
                          '"kernel_size": 3}]}'), ValueError,
     r"spec: layers\[0\] \(conv\): Conv\(name='layers\[0\]'\): out_channels must be positive"),
    (lambda: N.parse_spec('{"layers": [{"type": "conv"'), ValueError,
     r"spec 'spec': invalid JSON"),
    (lambda: N.load_spec(3), TypeError, r"load_spec: path must be a file name, got path=3"),
    (lambda: N.load_spec("/nonexistent/net.json"), FileNotFoundError,
     r"load_spec: no such spec file: /nonexistent/net.json"),
    (lambda: N.Conv("c", 0, 3), ValueError,
     r"Conv\(name='c'\): out_channels must be positive, got out_channels=0"),
    (lambda: N.Conv("c", 8, (3, "x")), TypeError,
     r"Conv\(name='c'\): kernel_size must be an int, got kernel_size='x'"),
    (lambda: N.Conv("c", 8, 3, padding="full"), ValueError,
     r"Conv\(name='c'\): padding must be an int, a \(before, after\) pair, 'SAME' or 'VALID'"),
    (lambda: N.Conv("c", 8, 3, bias=1), TypeError, r"Conv\(name='c'\): bias must be a bool"),
    (lambda: N.Pool("p", 2, mode="min"), ValueError,
     r"Pool\(name='p'\): mode must be one of 'max', 'avg', got mode='min'"),
    (lambda: N.Block("b", (N.Conv("c", 8, 3), "relu")), TypeError,
     r"Block\(name='b'\): layers\[1\] must be a node"),
    (lambda: N.Branches("r", ((), ()), merge="mul"), ValueError,
     r"Branches\(name='r'\): merge must be one of 'add', 'concat'"),
    (lambda: N.Network("n", (N.Flatten("f"),), input_shape="3xA"), ValueError,
     r"Network\(name='n'\): input shape must look like 3x224x224"),
    (lambda: N.Conv(7, 8, 3), TypeError, r"Conv: name must be a string, got name=7"),
    (lambda: N.get_network(["vgg16"]), TypeError, r"get_network: name must be a string"),
]


@pytest.mark.parametrize("call,exc,pattern", SPEC_ERRORS)
def test_bad_specs_get_clear_errors(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
