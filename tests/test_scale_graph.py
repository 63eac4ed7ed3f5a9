"""Tiled equals whole on branched models: `apply_tiled` on an `nn.Graph` (residual additions,
concatenations, one tensor read by several layers, strided and pooled paths, padding)
against the graph run on the whole image at once.

Integer-valued float64 weights and inputs make every sum exact, so the comparison is `==`
(average pooling uses power-of-two windows). Each case also asserts that tiling happened
(more than one block along some axis), and the halo is checked against brute force: the
smallest halo that still works is the derived one (one pixel less fails).
"""

import numpy as np
import pytest

from convscope import nn
from convscope.autograd import Tensor
from convscope.scale import (LayerGraph, NotTileableError, apply_tiled, conv_part, model_layers,
                             plan_tiles, run_block, tile_geometry)

D = np.float64
N = nn.Node


def _integer_weights(model, rng):
    for p in model.parameters():
        p.data = rng.integers(-2, 3, p.data.shape).astype(p.data.dtype)
    for m in model.modules():
        if type(m).__name__.startswith("BatchNorm"):
            m.running_mean[...] = rng.integers(-2, 3, m.running_mean.shape)
            m.running_var[...] = 1.0
            m.eps = 0.0
    return model.eval()


def _whole(model, x):
    y = model(x)
    return y.data if isinstance(y, Tensor) else y


def _check_exact(model, shape, chunks, seed=0, blocks=True):
    rng = np.random.default_rng(seed)
    model = _integer_weights(model, rng)
    x = rng.integers(-3, 4, shape).astype(D)
    want = _whole(model, x)
    y = apply_tiled(model, x, chunks=chunks)
    got = y.compute(scheduler="sync")
    assert y.shape == got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if blocks:  # tiling really happened
        assert max(len(c) for c in y.chunks[2:]) > 1, y.chunks
    return y


def residual(c=3):
    """conv-relu-conv + identity, then a strided unit whose shortcut is a 1x1 stride-2 conv."""
    return nn.Graph(["x"], [
        N("c1", nn.Conv2d(c, c, 3, padding=1, dtype=D), ("x",)),
        N("r1", nn.ReLU(), ("c1",)),
        N("c2", nn.Conv2d(c, c, 3, padding=1, dtype=D), ("r1",)),
        N("add1", nn.Add(), ("c2", "x")),
        N("c3", nn.Conv2d(c, 4, 3, stride=2, padding=1, dtype=D), ("add1",)),
        N("c4", nn.Conv2d(4, 4, 3, padding=1, dtype=D), ("c3",)),
        N("down", nn.Conv2d(c, 4, 1, stride=2, dtype=D), ("add1",)),
        N("add2", nn.Add(), ("c4", "down")),
        N("r2", nn.ReLU(), ("add2",)),
    ], ["r2"])


def inception(c=2):
    """Four paths of different fields joined by Concat: 1x1, 3x3, 5x5 dilated, pool + 1x1."""
    return nn.Graph(["x"], [
        N("b1", nn.Conv2d(c, 2, 1, dtype=D), ("x",)),
        N("b2", nn.Conv2d(c, 3, 3, padding=1, dtype=D), ("x",)),
        N("b3", nn.Conv2d(c, 2, 3, padding=2, dilation=2, dtype=D), ("x",)),
        N("b4p", nn.MaxPool2d(3, stride=1, padding=1), ("x",)),
        N("b4", nn.Conv2d(c, 1, 1, dtype=D), ("b4p",)),
        N("cat", nn.Concat(1), ("b1", "b2", "b3", "b4")),
    ], ["cat"])


def pooled_paths(c=2):
    """One tensor read by three layers: max pooling, average pooling and a strided conv,
    joined; then a Pad (unpadded conv + explicit padding) and a Mul by a per-channel constant."""
    return nn.Graph(["x"], [
        N("stem", nn.Conv2d(c, 3, 3, padding=1, dtype=D), ("x",)),
        N("mp", nn.MaxPool2d(2), ("stem",)),
        N("ap", nn.AvgPool2d(2), ("stem",)),
        N("sc", nn.Conv2d(3, 3, 2, stride=2, dtype=D), ("stem",)),
        N("sum", nn.Add(), ("mp", "ap", "sc")),
        N("valid", nn.Conv2d(3, 3, 3, dtype=D), ("sum",)),
        N("pad", nn.Pad((1, 1, 1, 1)), ("valid",)),
        N("scale", nn.Mul(np.array([1.0, 2.0, -1.0]).reshape(3, 1, 1)), ("pad",)),
        N("cat", nn.Concat(1), ("scale", "sum")),
    ], ["cat"])


def nested():
    """A graph whose node is a Sequential, and a chain before and after it."""
    body = nn.Sequential(nn.Conv1d(2, 2, 5, padding=2, dtype=D), nn.LeakyReLU(0.5),
                         nn.Conv1d(2, 2, 3, padding=1, dtype=D))
    return nn.Graph(["x"], [
        N("pool", nn.MaxPool1d(3, stride=2, padding=1), ("x",)),
        N("body", body, ("pool",)),
        N("add", nn.Add(), ("pool", "body")),
        N("head", nn.Conv1d(2, 3, 3, stride=3, dtype=D), ("add",)),
    ], ["head"])


def unet():
    """An encoder-decoder with a skip connection: down (stride 2), up (transposed, stride
    2), concatenated with the full-resolution path: jumps 1, 2, 1."""
    return nn.Graph(["x"], [
        N("c0", nn.Conv2d(2, 3, 3, padding=1, dtype=D), ("x",)),
        N("down", nn.Conv2d(3, 4, 3, stride=2, padding=1, dtype=D), ("c0",)),
        N("mid", nn.Conv2d(4, 4, 3, padding=1, dtype=D), ("down",)),
        N("up", nn.ConvTranspose2d(4, 3, 2, stride=2, dtype=D), ("mid",)),
        N("cat", nn.Concat(1), ("up", "c0")),
        N("out", nn.Conv2d(6, 2, 3, padding=1, dtype=D), ("cat",)),
    ], ["out"])


CASES = {
    "residual": (residual, (2, 3, 53, 47), 8),
    "inception": (inception, (1, 2, 41, 37), 8),
    "pooled-paths": (pooled_paths, (1, 2, 45, 38), 10),
    "nested-1d": (nested, (2, 2, 151), 12),
    "unet": (unet, (1, 2, 64, 50), 16),
}


@pytest.mark.parametrize("name", CASES)
def test_tiled_equals_whole(name):
    build, shape, chunks = CASES[name]
    _check_exact(build(), shape, chunks)


def test_layer_graph_of_a_branched_model():
    layers = model_layers(residual())
    assert isinstance(layers, LayerGraph) and not layers.is_chain
    names = ["input"] + [layer.name for layer in layers]
    reads = {layer.name: [names[i] for i in r] for layer, r in zip(layers, layers.reads)}
    assert reads["add1"] == ["c2", "input"] and reads["down"] == ["add1"]
    assert reads["add2"] == ["c4", "down"]
    # a Sequential is still a plain chain (a list)
    assert isinstance(model_layers(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU())), list)


def _halo_by_brute_force(model, shape, axis):
    """The union over paths, measured: which inputs change output unit 0..A-1 of the
    output when perturbed (far from the borders)."""
    layers = model_layers(model)
    g = tile_geometry(layers, len(shape) - 2)[axis]
    rng = np.random.default_rng(1)
    model = _integer_weights(model, rng)
    x = rng.integers(-3, 4, shape).astype(D)
    base = _whole(model, x)
    centre = [s // 2 for s in base.shape[2:]]
    J = int(g.jump)
    # a block of outputs [o, o + A/J) whose anchor o*J is a multiple of A, near the centre
    o = (centre[axis] * J // g.alignment) * g.alignment // J
    outs = range(o, o + g.alignment // J)
    seen = []
    for i in range(shape[2 + axis]):
        for delta in (5.0, -7.0):
            y = x.copy()
            y[(slice(None), slice(None)) + (slice(None),) * axis + (i,)] += delta
            diff = np.abs(_whole(model, y) - base)
            index = (slice(None), slice(None)) + (slice(None),) * axis + (list(outs),)
            if diff[index].max() > 0:
                seen.append(i)
                break
    start = o * J
    return g, (start - min(seen), max(seen) + 1 - (start + g.alignment))


@pytest.mark.parametrize("name", ["residual", "inception", "nested-1d"])
def test_halo_is_the_union_over_paths(name):
    build, shape, _ = CASES[name]
    g, measured = _halo_by_brute_force(build(), shape, 0)
    assert g.halo == measured


def test_inception_halo_is_the_widest_path():
    # b3 (3x3, dilation 2, padding 2) sees 5 inputs: halo 2 each side, not b2's 1 (r - J - P)
    (g, _) = tile_geometry(model_layers(inception()), 2)
    assert g.halo == (2, 2) and g.receptive_field == 5 and g.alignment == 1


def test_smaller_halo_fails():
    model = _integer_weights(residual(), np.random.default_rng(0))
    layers = model_layers(model)
    plan = plan_tiles(layers, (53, 47), 8)
    (left, right), _ = plan.halo
    with pytest.raises(ValueError, match="too small"):
        plan_tiles(layers, (53, 47), 8, halo=((left - 1, right), plan.halo[1]))
    with pytest.raises(ValueError, match="too small"):
        plan_tiles(layers, (53, 47), 8, halo=((left, right - 1), plan.halo[1]))


def test_run_block_crops_the_operands_of_a_join():
    # the identity path holds the whole block, the conv path two fewer: the join keeps the
    # positions both hold
    model = _integer_weights(nn.Graph(["x"], [
        N("c", nn.Conv1d(1, 1, 3, dtype=D), ("x",)),
        N("pad", nn.Pad((1, 1)), ("c",)),
        N("add", nn.Add(), ("pad", "x"))], ["add"]), np.random.default_rng(2))
    layers = model_layers(model)
    x = np.random.default_rng(3).integers(-3, 4, (1, 1, 30)).astype(D)
    y, ranges = run_block(layers, x[..., 5:20], [(5, 20)], (30,))
    assert ranges == [(6, 19)]
    np.testing.assert_array_equal(y, _whole(model, x)[..., 6:19])


def _random_graph(rng):
    """A random branched 2-D graph of residual, concat and pooled units (float64)."""
    nodes, c, last, k = [], 2, "x", 0

    def add(module, *inputs):
        nonlocal k
        k += 1
        name = f"n{k}"
        nodes.append(N(name, module, tuple(inputs)))
        return name

    for _ in range(rng.integers(2, 5)):
        kind = rng.choice(["residual", "concat", "down", "pool"])
        if kind == "residual":
            ks = int(rng.choice([1, 3, 5]))
            a = add(nn.Conv2d(c, c, ks, padding=ks // 2, dtype=D), last)
            a = add(nn.ReLU(), a)
            last = add(nn.Add(), a, last)
        elif kind == "concat":
            d = int(rng.integers(1, 3))
            a = add(nn.Conv2d(c, 2, 3, padding=d, dilation=d, dtype=D), last)
            b = add(nn.MaxPool2d(3, stride=1, padding=1), last)
            last, c = add(nn.Concat(1), a, b, last), 2 + 2 * c
        elif kind == "down":
            s = int(rng.choice([2, 3]))
            a = add(nn.Conv2d(c, 3, 3, stride=s, padding=1, dtype=D), last)
            b = add(nn.Conv2d(c, 3, 1, stride=s, dtype=D), last)
            last, c = add(nn.Add(), a, b), 3
        else:
            a = add(nn.MaxPool2d(2), last)
            b = add(nn.AvgPool2d(2), last)
            last = add(nn.Add(), a, b)
    return nn.Graph(["x"], nodes, [last])


@pytest.mark.parametrize("seed", range(8))
def test_random_branched_graphs(seed):
    rng = np.random.default_rng(seed)
    model = _random_graph(rng)
    shape = (1, 2, int(rng.integers(40, 70)), int(rng.integers(40, 70)))
    layers = model_layers(model)
    g = tile_geometry(layers, 2)
    chunks = max(8, max(max(a.halo) for a in g), max(a.alignment for a in g))
    y = _check_exact(model, shape, chunks, seed=seed, blocks=False)
    plan = plan_tiles(layers, shape[2:], chunks)
    assert y.chunks[2:] == plan.out_chunks
    if max(a.alignment for a in g) * 2 < min(shape[2:]) // 2:
        assert max(len(c) for c in y.chunks[2:]) > 1


def test_conv_part_of_a_graph_with_a_head():
    body = residual()
    nodes = list(body.nodes) + [N("gap", nn.AdaptiveAvgPool2d(1), ("r2",)),
                                N("flat", nn.Flatten(), ("gap",)),
                                N("fc", nn.Linear(4, 2, dtype=D), ("flat",))]
    model = nn.Graph(["x"], nodes, ["fc"])
    part = conv_part(model)
    assert isinstance(part, nn.Graph) and part.outputs == ("r2",)
    assert [n.name for n in part.nodes] == [n.name for n in body.nodes]
    _check_exact(part, (1, 3, 40, 33), 8)
    with pytest.raises(NotTileableError, match="fc|gap|flat"):
        apply_tiled(model, np.zeros((1, 3, 16, 16)), chunks=8)


def test_joins_that_cannot_be_tiled():
    spatial_cat = nn.Graph(["x"], [N("a", nn.Conv2d(1, 1, 1, dtype=D), ("x",)),
                                   N("cat", nn.Concat(3), ("a", "x"))], ["cat"])
    with pytest.raises(NotTileableError, match="dim=3"):
        model_layers(spatial_cat)
    per_pixel = nn.Graph(["x"], [N("m", nn.Mul(np.ones((1, 1, 8, 8))), ("x",))], ["m"])
    with pytest.raises(NotTileableError, match="position to position"):
        model_layers(per_pixel)
    # paths at different strides that happen to meet in size: no common block layout
    odd = nn.Graph(["x"], [N("s", nn.Conv1d(1, 1, 1, stride=2, dtype=D), ("x",)),
                           N("v", nn.Conv1d(1, 1, 9, dtype=D), ("x",)),
                           N("add", nn.Add(), ("s", "v"))], ["add"])
    with pytest.raises(ValueError, match="different strides"):
        apply_tiled(odd, np.zeros((1, 1, 16)), chunks=4)
