"""The arithmetic of branches on models: `summary` of an `nn.Graph` (residual additions,
a strided unit with a projection shortcut, an inception-like concatenation, pooling)
against two independent references:

1. the same network written as a shape-only `arith` spec with `Branches` (`analyze` walks
   the spec without running anything; the model summary runs the graph and reads its
   layers): shapes, parameters, MACs, receptive field, jump and effective padding agree
   row by row;
2. brute force: the input pixels that change an output unit when perturbed are exactly the
   unit's theoretical field (clipped to the image), through every path of the graph.

The effective field (`viz.effective_receptive_field`) runs gradients through the graph;
its support never leaves the theoretical field.
"""

import numpy as np
import pytest

from convscope import nn, summary, viz
from convscope.arith.network import (AdaptivePool, Branches, Conv, Flatten, Linear, Network,
                                     Pool)
from convscope.viz._common import run_to

N = nn.Node


def graph_model():
    """A small ResNet/Inception-like graph (LeakyReLU: no unit is dead, so perturbations
    always show)."""
    act = lambda: nn.LeakyReLU(0.1)  # noqa: E731
    return nn.Graph(["x"], [
        N("stem", nn.Conv2d(3, 6, 3, padding=1), ("x",)),
        N("stem_act", act(), ("stem",)),
        N("unit1_conv1", nn.Conv2d(6, 6, 3, padding=1), ("stem_act",)),
        N("unit1_act", act(), ("unit1_conv1",)),
        N("unit1_conv2", nn.Conv2d(6, 6, 3, padding=1), ("unit1_act",)),
        N("unit1", nn.Add(), ("unit1_conv2", "stem_act")),
        N("unit2_conv1", nn.Conv2d(6, 8, 3, stride=2, padding=1), ("unit1",)),
        N("unit2_conv2", nn.Conv2d(8, 8, 3, padding=1), ("unit2_conv1",)),
        N("unit2_down", nn.Conv2d(6, 8, 1, stride=2), ("unit1",)),
        N("unit2", nn.Add(), ("unit2_conv2", "unit2_down")),
        N("mix_b1", nn.Conv2d(8, 4, 1), ("unit2",)),
        N("mix_b3", nn.Conv2d(8, 4, 3, padding=1), ("unit2",)),
        N("mix_b5", nn.Conv2d(8, 4, 3, padding=2, dilation=2), ("unit2",)),
        N("mix_pool", nn.MaxPool2d(3, stride=1, padding=1), ("unit2",)),
        N("mix_bp", nn.Conv2d(8, 4, 1), ("mix_pool",)),
        N("mix", nn.Concat(1), ("mix_b1", "mix_b3", "mix_b5", "mix_bp")),
        N("pool2", nn.AvgPool2d(2), ("mix",)),
        N("gap", nn.AdaptiveAvgPool2d(1), ("pool2",)),
        N("flat", nn.Flatten(), ("gap",)),
        N("fc", nn.Linear(16, 10), ("flat",)),
    ], ["fc"]).eval()


def graph_spec():
    """The same network as an arith spec (names joined by '_', as the graph's)."""
    return Network("same", (
        Conv("stem", 6, 3, padding=1),
        Branches("unit1", ((Conv("conv1", 6, 3, padding=1), Conv("conv2", 6, 3, padding=1)),
                           ()), "add"),
        Branches("unit2", ((Conv("conv1", 8, 3, stride=2, padding=1),
                            Conv("conv2", 8, 3, padding=1)),
                           (Conv("down", 8, 1, stride=2),)), "add"),
        Branches("mix", ((Conv("b1", 4, 1),), (Conv("b3", 4, 3, padding=1),),
                         (Conv("b5", 4, 3, padding=2, dilation=2),),
                         (Pool("pool", 3, 1, 1), Conv("bp", 4, 1))), "concat"),
        Pool("pool2", 2, mode="avg"),
        AdaptivePool("gap", 1),
        Flatten("flat"),
        Linear("fc", 10),
    ), input_shape=(3, 24, 24), sep="_")


def test_summary_of_a_graph_equals_the_branches_spec():
    got = summary(graph_model(), (3, 24, 24))
    want = summary(graph_spec())
    rows = {r.name: r for r in got.rows}
    assert len(want.rows) == 18
    for r in want.rows:
        g = rows[r.name]
        assert g.output_shape == r.output_shape, r.name
        assert g.field == r.field, r.name
        if r.is_layer:
            assert (g.params, g.macs) == (r.params, r.macs), r.name
    assert (got.total_params, got.total_macs) == (want.total_params, want.total_macs)
    # the joins take the widest path: unit1 sees the 5 of its convs, not the identity's 1
    assert rows["unit1"].field.size == (7, 7) and rows["unit1"].kind == "add"
    assert rows["mix"].field.size == rows["mix_b5"].field.size == (21, 21)
    assert rows["mix"].field.aligned


def _support(model, x, layers, delta=1e12):
    """Per layer, the input positions whose perturbation changes the layer's centre unit
    (every channel at it): the measured receptive field."""
    base = run_to(model, x, layers)
    units = {n: tuple(s // 2 for s in base[n].shape[2:]) for n in layers}
    seen = {n: np.zeros(x.shape[2:], bool) for n in layers}
    H, W = x.shape[2:]
    for i in range(H):
        for j in range(W):
            for d in (delta, -delta):
                y = x.copy()
                y[:, :, i, j] += d
                out = run_to(model, y, layers)
                for n in layers:
                    index = (slice(None), slice(None)) + units[n]
                    if not np.array_equal(out[n].data[index], base[n].data[index]):
                        seen[n][i, j] = True
    return seen, units


def test_receptive_fields_through_branches_equal_the_measured_support():
    model = graph_model()
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data = rng.uniform(0.2, 1.0, p.data.shape).astype(np.float64)  # no cancelling
    x = rng.normal(size=(1, 3, 24, 24))
    rows = {r.name: r for r in summary(model, (3, 24, 24)).rows}
    layers = ["stem", "unit1", "unit2_down", "unit2", "mix_b1", "mix_bp", "mix", "pool2"]
    seen, units = _support(model, x, layers)
    for name in layers:
        f = rows[name].field
        box = np.zeros((24, 24), bool)
        (y0, y1), (x0, x1) = [(i * j - p, i * j - p + r) for i, j, p, r in
                              zip(units[name], f.jump, f.padding, f.size)]
        box[max(y0, 0):y1, max(x0, 0):x1] = True
        assert np.array_equal(seen[name], box), (name, f, np.argwhere(seen[name]).min(0),
                                                 np.argwhere(seen[name]).max(0))


def test_unaligned_join_is_reported():
    # an unpadded 3x3 conv padded back after (its centre moves by one) next to a padded one
    model = nn.Graph(["x"], [
        N("a", nn.Conv2d(1, 1, 3), ("x",)),
        N("pad", nn.Pad((0, 2, 0, 2)), ("a",)),
        N("b", nn.Conv2d(1, 1, 3, padding=1), ("x",)),
        N("add", nn.Add(), ("pad", "b"))], ["add"])
    rows = {r.name: r for r in summary(model, (1, 10, 10)).rows}
    assert rows["pad"].field.padding == (0, 0) and rows["b"].field.padding == (1, 1)
    assert rows["add"].field.aligned is False and rows["b"].field.aligned


def test_effective_field_runs_through_every_path():
    model = graph_model()
    x = np.random.default_rng(1).normal(size=(6, 3, 24, 24)).astype(np.float32)
    erf = viz.effective_receptive_field(model, x, "unit2")
    assert erf.theoretical_size == (13, 13) and erf.mass_inside == 1.0
    # the strided shortcut alone would see 7; the gradient reaches beyond it
    (y0, y1), _ = erf.box
    ys = np.flatnonzero(erf.gradient.sum(axis=1) > 0)
    assert ys.min() == max(y0, 0) and ys.max() == min(y1, 24) - 1
    sizes = viz.receptive_field_sizes(model, x)
    names = [s.layer for s in sizes]
    assert "unit1" in names and "mix" in names and "unit2_down" in names  # joins included
    assert names.index("unit1") < names.index("unit2_conv1")
    by = {s.layer: s.theoretical_size for s in sizes}
    assert by["unit1"] == 7 and by["mix"] == 21


def test_pad_and_softmax_rows():
    model = nn.Graph(["x"], [
        N("pad", nn.Pad((2, 1, 1, 0)), ("x",)),
        N("c", nn.Conv2d(1, 2, 3), ("pad",)),
        N("sm", nn.Softmax(1), ("c",)),
        N("smw", nn.Softmax(-1), ("c",))], ["sm", "smw"])
    rows = {r.name: r for r in summary(model, (1, 8, 8)).rows}
    assert rows["pad"].output_shape == (1, 9, 11)
    assert rows["pad"].field.padding == (1, 2)       # height before 1, width before 2
    assert rows["c"].field.size == (3, 3) and rows["c"].field.padding == (1, 2)
    assert rows["sm"].field == rows["c"].field       # over channels: positionwise
    assert rows["smw"].field is None                 # over the width: every unit sees all


@pytest.mark.parametrize("ndim", [1, 3])
def test_summary_of_graphs_in_1d_and_3d(ndim):
    conv = {1: nn.Conv1d, 3: nn.Conv3d}[ndim]
    model = nn.Graph(["x"], [
        N("a", conv(2, 2, 3, padding=1), ("x",)),
        N("b", conv(2, 2, 5, padding=2, stride=2), ("a",)),
        N("s", conv(2, 2, 1, stride=2), ("x",)),
        N("add", nn.Add(), ("b", "s"))], ["add"])
    spec = Network("n", (Branches("", ((Conv("a", 2, 3, padding=1),
                                        Conv("b", 2, 5, padding=2, stride=2)),
                                       (Conv("s", 2, 1, stride=2),)), "add"),),
                   input_shape=(2,) + (12,) * ndim, sep="_")
    want = {r.name or "add": r for r in summary(spec).rows}
    got = {r.name: r for r in summary(model, (2,) + (12,) * ndim).rows}
    for name in ("a", "b", "s", "add"):
        assert got[name].field == want[name].field and \
            got[name].output_shape == want[name].output_shape


def test_permute_rows():
    # a channels-last input (tf2onnx's NHWC) turned to NCHW, then a swap of H and W: the
    # field follows its axes; c2's 3x1 kernel runs along the original width
    model = nn.Graph(["x"], [
        N("p", nn.Permute((0, 3, 1, 2)), ("x",)),
        N("c", nn.Conv2d(3, 4, 3, padding=1), ("p",)),
        N("q", nn.Permute((0, 1, 3, 2)), ("c",)),
        N("c2", nn.Conv2d(4, 4, (3, 1)), ("q",)),
        N("mix", nn.Permute((0, 2, 1, 3)), ("c2",))], ["mix"])
    rows = {r.name: r for r in summary(model, (16, 12, 3)).rows}
    assert rows["p"].output_shape == (3, 16, 12) and rows["p"].field.size == (1, 1)
    assert rows["c2"].output_shape == (4, 10, 16)
    assert rows["c2"].field.size == (5, 3) and rows["c2"].field.padding == (1, 1)
    assert rows["mix"].field is None  # positions moved into the channels


def test_rf_json_of_a_graph_equals_the_branches_spec():
    from convscope.cli.arith import rf_dict
    got = rf_dict(graph_model(), (3, 24, 24), name="graph")
    want = rf_dict(graph_spec())
    assert got["output_layer"] == want["output_layer"] == "gap"
    for key in ("receptive_field", "jump", "effective_padding", "aligned", "output_shape"):
        assert got[key] == want[key], key
    by_name = {d["name"]: d for d in got["layers"]}
    for d in want["layers"]:
        assert by_name[d["name"]] == d, d["name"]
