"""`convscope bench --explain`: the algorithm 'auto' runs for a layer, and why."""

import json

import numpy as np
import pytest

import convscope.functional as F
from convscope.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("layer, shape, expected", [
    ("conv:c128,k3,p1", "64x56x56", "winograd4_jit"),
    ("conv:c128,k3,p1", "16x56x56", "shifted"),
    ("conv:c128,k3,p1", "64x6x6", "im2col"),
    ("conv:c512,k1,s2", "256x14x14", "pointwise"),
    ("conv:c128,k3,p1,g128", "128x56x56", "depthwise_jit"),
    ("convT:c8,k1,s2", "4x5x5", "pointwise"),
    ("conv:c32,k3,p1", "16x16x64x64", "winograd4_jit"),  # 3x3x3: 48 channels in each product
    ("conv:c32,k3,p1", "8x16x64x64", "shifted"),  # 24 channels
    ("conv:c32,k3,p1,s2", "16x16x64x64", "im2col"),
])
def test_explain_names_the_algorithm_and_the_reason(capsys, layer, shape, expected):
    code, out, err = run(capsys, "bench", "--explain", layer, "--input", shape, "--batch", "2")
    assert code == 0 and not err
    assert f"algorithm='auto' runs '{expected}'" in out
    assert "why: " in out


def test_explain_json_and_timings_of_the_algorithms_that_apply(capsys):
    code, out, _ = run(capsys, "bench", "--explain", "conv:c4,k3,p1", "--input", "3x8x8",
                       "--time", "--repeat", "1", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["algorithm"] == "im2col" and result["weight"] == [4, 3, 3, 3]
    # 3x3 stride 1: im2col, shifted and the four Winograd kernels apply; 1x1, depthwise not
    assert set(result["forward_ms"]) == {"auto", "im2col", "shifted", "winograd2",
                                         "winograd4", "winograd2_jit", "winograd4_jit"}
    assert all(v > 0 for v in result["forward_ms"].values())
    assert "backward_ms" not in result


def test_time_with_backward_shows_every_candidate_and_marks_the_pick(capsys):
    code, out, _ = run(capsys, "bench", "--explain", "conv:c8,k3,p1,s2", "--input", "64x8x8",
                       "--backward", "--repeat", "2")
    assert code == 0
    lines = out.splitlines()
    assert "algorithm='auto' runs 'im2col'" in lines[0]  # stride 2: not Winograd
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:]}
    assert set(rows) == {"auto", "im2col", "shifted"}  # the Winograd kernels need stride 1
    assert rows["im2col"][-2:] == ["<-", "auto"] and "<-" not in rows["shifted"]
    assert all(float(v[0]) > 0 and float(v[1]) > 0 for v in rows.values())


def test_explain_agrees_with_conv_algorithm(capsys):
    code, out, _ = run(capsys, "bench", "--explain", "conv:c64,k7,s2,p3", "--input",
                       "3x224x224", "--json")
    expected = F.conv_algorithm((1, 3, 224, 224), (64, 3, 7, 7), stride=2, padding=3)
    assert code == 0 and (json.loads(out)["algorithm"], json.loads(out)["reason"]) == expected


@pytest.mark.parametrize("argv, pattern", [
    (["--explain", "maxpool:k2", "--input", "3x8x8"], "needs a conv or convT layer"),
    (["--explain", "conv:c4,k3", "--input", "3xax8"], "input shape must look like"),
    (["--explain", "conv:c4,k3", "--input", "3x8x8", "--batch", "0"], "--batch must be"),
])
def test_errors_are_one_line_on_stderr(capsys, argv, pattern):
    code, out, err = run(capsys, "bench", *argv)
    assert code == 1 and not out
    assert pattern in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("x_shape, w_shape, padding, expected", [
    # (fewer than 32 input channels, or too few tiles per channel: not Winograd, rule 2a)
    ((8, 16, 56, 56), (64, 16, 3, 3), 1, "shifted"),     # grid 57^2 / 56^2 = 1.04
    ((8, 16, 7, 7), (64, 16, 3, 3), 1, "shifted"),       # 8^2 / 7^2 = 1.31 <= 1.35
    ((8, 16, 6, 6), (64, 16, 3, 3), 1, "im2col"),        # 7^2 / 6^2 = 1.36 > 1.35
    ((8, 64, 4), (64, 64, 7), 3, "im2col"),              # 1-D (7 taps: no Winograd) 7 / 4
    ((8, 7, 56, 56), (64, 7, 3, 3), 1, "im2col"),        # 63 rows of columns < 64
    ((8, 8, 56, 56), (64, 8, 3, 3), 1, "shifted"),       # 72 rows >= 64
    ((8, 1, 56, 56), (64, 1, 3, 3), 1, "depthwise_jit"),  # one input channel, stride 1
    ((8, 512, 7, 7), (512, 512, 3, 3), 1, "im2col"),     # 2,359,296 weights > 2^20
    ((1, 256, 14, 14), (256, 256, 3, 3), 1, "shifted"),  # 589,824 weights <= 2^20
    ((4, 64, 4096), (64, 64, 7), 3, "shifted"),          # 1-D: 4102 / 4096
    ((2, 8, 16, 64, 64), (32, 8, 3, 3, 3), 1, "shifted"),  # 3-D: 1.20 (24 channels < 32)
])
def test_auto_picks_shifted_by_the_rules_written_in_choose(x_shape, w_shape, padding,
                                                           expected):
    assert F.conv_algorithm(x_shape, w_shape, padding=padding)[0] == expected


@pytest.mark.parametrize("x_shape, w_shape, stride, padding, expected", [
    ((8, 3, 224, 224), (64, 3, 7, 7), 2, 3, "shifted"),   # 147 rows, grid 115^2 / 112^2
    ((8, 64, 56, 56), (128, 64, 3, 3), 2, 1, "im2col"),   # 576 rows > 192
    ((8, 16, 56, 56), (32, 16, 3, 3), 2, 1, "shifted"),   # 144 rows, grid 29^2 / 28^2
    ((8, 16, 12, 12), (32, 16, 3, 3), 2, 1, "im2col"),    # grid 7^2 / 6^2 = 1.36
])
def test_auto_picks_stride_phases_for_few_channel_strided_layers(x_shape, w_shape, stride,
                                                                  padding, expected):
    assert F.conv_algorithm(x_shape, w_shape, stride=stride, padding=padding)[0] == expected


def test_conv_algorithm_choices_and_errors():
    assert F.conv_algorithm((8, 256, 14, 14), (512, 256, 1, 1), stride=2)[0] == "pointwise"
    # one input channel: the depthwise loop at stride 1 (1-3 dimensions), not strided
    assert F.conv_algorithm((128, 1, 28, 28), (32, 1, 3, 3), padding=1)[0] == "depthwise_jit"
    assert F.conv_algorithm((32, 1, 4096), (64, 1, 5), padding=2)[0] == "depthwise_jit"
    assert F.conv_algorithm((8, 1, 224, 224), (64, 1, 7, 7), stride=2,
                            padding=3)[0] != "depthwise_jit"
    assert F.conv_algorithm((128, 56, 56), (128, 1, 3, 3), padding=1,
                            groups=128)[0] == "depthwise_jit"  # unbatched shape
    assert F.conv_algorithm((2, 16, 8, 8, 8), (32, 16, 3, 3, 3), padding=1)[0] == "winograd4_jit"
    # 3-D with few tiles per channel: 4 x 2 slices x 16 F(2x2) tiles < (768 + 256) / 4
    assert F.conv_algorithm((4, 256, 2, 7, 7), (256, 256, 3, 3, 3), padding=1)[0] == "im2col"
    assert F.conv_algorithm((8, 256, 2, 7, 7), (256, 256, 3, 3, 3),
                            padding=1)[0] == "winograd2_jit"  # 256 tiles
    # what conv runs is what conv_algorithm says: the same result as the named algorithm
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 5))
    w = np.random.default_rng(1).standard_normal((6, 1, 3, 3))
    name, _ = F.conv_algorithm(x.shape, w.shape, padding=1, groups=6)
    np.testing.assert_array_equal(F.conv2d(x, w, padding=1, groups=6),
                                  F.conv2d(x, w, padding=1, groups=6, algorithm=name))
    with pytest.raises(ValueError, match="conv_algorithm: weight_shape needs at least 3"):
        F.conv_algorithm((1, 3, 8), (4, 3))
    with pytest.raises(ValueError, match="conv_algorithm: input_shape .* does not match"):
        F.conv_algorithm((3, 8), (4, 3, 3, 3))
