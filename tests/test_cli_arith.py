"""`convscope shape`, `convscope rf` and `convscope summary`."""

import json
import re
import subprocess
import sys

import pytest

from convscope.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_shape_prints_each_layer(capsys):
    code, out, _ = run(capsys, "shape", "3x224x224", "conv:c64,k7,s2,p3", "maxpool:k3,s2,p1",
                       "conv:c128,k3,s2,p1")
    assert code == 0
    lines = out.splitlines()
    assert "64x112x112" in lines[3] and "64x56x56" in lines[4] and "128x28x28" in lines[5]


def test_shape_notes_dropped_rows(capsys):
    code, out, _ = run(capsys, "shape", "3x224x224", "conv:c64,k11,s4")
    assert code == 0 and "64x54x54" in out and "conv1 drops the last 1 input row" in out


def test_shape_json(capsys):
    code, out, _ = run(capsys, "shape", "1x28x28", "conv:c8,k5", "maxpool:k2", "--json")
    data = json.loads(out)
    assert [d["output_shape"] for d in data["layers"]] == [[8, 24, 24], [8, 12, 12]]


@pytest.mark.parametrize("argv,pattern", [
    (["shape", "3x8x8", "conv:c4,k5", "conv:c4,k5"], r"convscope shape: error: layer "
     r"'conv2' \(conv:c4,k5\) on input 4x4x4: .*larger than the padded input 4"),
    (["shape", "3x8x8", "conv:c4,k3,i1"], r"layer 'conv1' .* expects in_channels=1"),
    (["shape", "3xfoo", "conv:c4,k3"], r"input shape must look like 3x224x224"),
    (["rf", "resnet51"], r"convscope rf: error: 'resnet51' is neither a known network"),
    (["rf", "vgg16", "--endpoint", "conv9"], r"vgg16 has no layer named 'conv9'"),
    (["rf", "resnet18", "--endpoint", "fc"], r"layer 'fc' \(linear\) has no receptive field"),
])
def test_errors_name_the_layer(capsys, argv, pattern):
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert re.search(pattern, err), err


def test_rf_json_schema(capsys):
    code, out, _ = run(capsys, "rf", "vgg16", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["network"] == "vgg16" and data["input_shape"] == [3, 224, 224]
    assert (data["output_layer"], data["receptive_field"], data["jump"],
            data["effective_padding"], data["aligned"]) == ("pool5", 212, 32, 90, True)
    names = [d["name"] for d in data["layers"]]
    assert "conv5_3" in names and names[-1] == "fc8"
    for d in data["layers"]:
        assert set(d) >= {"name", "receptive_field", "jump", "effective_padding"}


@pytest.mark.parametrize("name,layer,expected", [
    ("alexnet", "pool5", (195, 32, 64)),
    ("resnet50", "block4", (483, 32, 239)),
    ("mobilenet_v1", "Conv2d_13_pointwise", (315, 32, 126)),
    ("inception_v3", "Mixed_7c", (1311, 32, 618)),
])
def test_rf_json_of_the_named_networks(capsys, name, layer, expected):
    data = json.loads(run(capsys, "rf", name, "--json")[1])
    assert data["output_layer"] == layer
    assert (data["receptive_field"], data["jump"], data["effective_padding"]) == expected
    by_name = {d["name"]: d for d in data["layers"]}
    assert layer in by_name and all(by_name[n]["aligned"] for n in by_name
                                    if by_name[n]["aligned"] is not None)


def test_rf_lists_every_block_output(capsys):
    data = json.loads(run(capsys, "rf", "inception_v3", "--json")[1])
    names = {d["name"] for d in data["layers"]}
    assert {"Mixed_5b", "Mixed_7b/Branch_1/concat", "Mixed_6e/Branch_2/Conv2d_0e_1x7"} <= names
    data = json.loads(run(capsys, "rf", "resnet50", "--json")[1])
    names = {d["name"] for d in data["layers"]}
    assert {"block1", "block1/unit_3", "block1/unit_3/shortcut"} <= names


def test_rf_per_axis_values_are_lists(capsys, tmp_path):
    spec = tmp_path / "wide.txt"
    spec.write_text("input 1x16x32\nconv:c4,k3x5,p1x2\n")
    data = json.loads(run(capsys, "rf", str(spec), "--json")[1])
    assert data["receptive_field"] == [3, 5] and data["jump"] == 1
    assert data["effective_padding"] == [1, 2] and data["network"] == "wide"


def test_rf_table_and_input_option(capsys):
    code, out, _ = run(capsys, "rf", "resnet50", "--input", "3x321x321")
    assert code == 0
    # The library's table at 321: block4 483 / 32 / 241.
    assert "block4: receptive field 483, jump 32, effective padding 241" in out


def test_rf_and_summary_list(capsys):
    code, out, _ = run(capsys, "rf", "--list")
    assert code == 0 and "resnet50_torchvision" in out and "inception_v3" in out
    assert run(capsys, "summary", "--list")[1] == out


def test_summary_text_and_json(capsys):
    code, out, _ = run(capsys, "summary", "resnet50")
    assert code == 0 and "Total params: 25,557,032" in out and "block4" in out
    data = json.loads(run(capsys, "summary", "mobilenet_v1", "--json")[1])
    assert data["total_params"] == 4_231_976 and data["output_shape"] == [1000, 1, 1]


def test_summary_of_a_spec_file(capsys, tmp_path):
    spec = tmp_path / "net.json"
    spec.write_text(json.dumps({"name": "tiny", "input_shape": [3, 32, 32], "layers": [
        {"type": "conv", "name": "conv1", "out_channels": 8, "kernel_size": 3, "padding": 1},
        {"type": "pool", "name": "pool1", "kernel_size": 2}]}))
    code, out, _ = run(capsys, "summary", str(spec))
    assert code == 0 and "8x16x16" in out and "Total params: 224" in out


def test_the_installed_command_runs():
    proc = subprocess.run([sys.executable, "-m", "convscope", "shape", "3x32x32", "conv:c8,k5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "8x28x28" in proc.stdout
