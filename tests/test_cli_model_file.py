"""The command line on a model file: a small ResNet-like network built in PyTorch, exported by
`torch.onnx.export` into tmp_path, then `convscope summary|rf|viz|report|apply model.onnx`.

PyTorch is the reference (its predictions, its feature maps for `apply`) and makes the
file; the commands themselves run in a process where `import torch` fails, as for a user
with only `pip install convscope[onnx]`.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from convscope import arith, cli, onnx, summary  # noqa: E402

CLASSES = ("disc", "bars", "noise")


class _Net(torch.nn.Module):
    """stem -> residual unit -> strided unit (1x1 stride-2 shortcut) -> concat of a 1x1, a
    dilated 3x3 and a pooled path -> global average pool -> linear."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(6), nn.ReLU())
        self.c1 = nn.Conv2d(6, 6, 3, padding=1)
        self.c2 = nn.Conv2d(6, 6, 3, padding=1)
        self.d1 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.short = nn.Conv2d(6, 8, 1, stride=2)
        self.b1 = nn.Conv2d(8, 4, 1)
        self.b5 = nn.Conv2d(8, 4, 3, padding=2, dilation=2)
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.head = nn.Linear(16, len(CLASSES))

    def features(self, x):
        x = self.stem(x)
        x = torch.relu(self.c2(torch.relu(self.c1(x))) + x)
        x = torch.relu(self.d1(x) + self.short(x))
        return torch.relu(torch.cat([self.b1(x), self.b5(x), self.pool(x)], 1))

    def forward(self, x):
        pooled = torch.nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.head(torch.flatten(pooled, 1))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(folder, torch model, dynamic .onnx, fixed-size .onnx, images folder)."""
    folder = tmp_path_factory.mktemp("model_file")
    torch.manual_seed(0)
    net = _Net()
    with torch.no_grad():  # non-trivial batch norm statistics
        net.stem[1].running_mean.uniform_(-0.5, 0.5)
        net.stem[1].running_var.uniform_(0.5, 2.0)
    net.eval()
    x = torch.zeros(1, 3, 16, 16)
    dynamic = str(folder / "net.onnx")
    fixed = str(folder / "fixed.onnx")
    torch.onnx.export(net, x, dynamic, opset_version=17, dynamo=False,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n"}})
    torch.onnx.export(net, x, fixed, opset_version=13, dynamo=False)
    from PIL import Image
    rng = np.random.default_rng(0)
    images = folder / "images"
    yy, xx = np.mgrid[:16, :16]
    for k, name in enumerate(CLASSES):
        (images / name).mkdir(parents=True)
        for i in range(4):
            if name == "disc":
                a = ((yy - 8 - i % 3) ** 2 + (xx - 7) ** 2 < 20) * 220
            elif name == "bars":
                a = ((xx + i) % 4 < 2) * 200
            else:
                a = rng.integers(0, 256, (16, 16))
            rgb = np.stack([a, np.roll(a, i, 0), 255 - a], -1).astype(np.uint8)
            Image.fromarray(rgb).save(images / name / f"{i}.png")
    return folder, net, dynamic, fixed, str(images)


def _main(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _images(images):
    """The folder as the commands read it: (N, 3, 16, 16) in [0, 1], labels by subfolder."""
    from PIL import Image
    xs, ys = [], []
    for k, name in enumerate(CLASSES):
        for f in sorted(os.listdir(os.path.join(images, name))):
            a = np.asarray(Image.open(os.path.join(images, name, f)), np.float32) / 255
            xs.append(a.transpose(2, 0, 1))
            ys.append(k)
    return np.stack(xs), np.array(ys)


def test_summary_and_rf_of_a_model_file(exported, capsys):
    folder, net, dynamic, fixed, _ = exported
    code, out, err = _main(["summary", dynamic, "--input", "3x16x16", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["network"] == "net.onnx" and data["output_shape"] == [len(CLASSES)]
    # batch norm folded into the stem's convolution by the exporter: torch's count minus
    # BN's 2 x 6 learned values, plus the 6 biases the folding adds
    torch_params = sum(p.numel() for p in net.parameters())
    assert data["total_params"] == torch_params - 12 + 6
    layers = {d["kind"]: d for d in data["layers"]}
    assert layers["concat"]["output_shape"] == [16, 8, 8]
    # the concatenation's field: the widest path, stem 3 -> c1 5 -> c2 7 -> d1 (s2) 9 ->
    # dilated 3x3 (extent 5, jump 2) 17, from arith's rf_stack along that path
    want = arith.rf_stack([(3, 1, 1, 1)] * 3 + [(3, 2, 1, 1), (3, 1, 2, 2)], ndim=2)
    assert layers["concat"]["receptive_field"] == want.size[0] == 17
    assert layers["concat"]["effective_padding"] == want.padding[0]
    code, out, err = _main(["rf", dynamic, "--input", "3x16x16"], capsys)
    assert code == 0 and re.search(r"concat\s+16x8x8\s+17\s+2", out), out
    # a file that fixes its input needs no --input; a dynamic one says what to pass
    assert _main(["rf", fixed, "--json"], capsys)[0] == 0
    code, _, err = _main(["summary", dynamic], capsys)
    assert code == 1 and "pass --input CxHxW" in err and err.count("\n") == 1


@pytest.mark.parametrize("picture", ["filters", "maps", "rf", "patches", "cam", "optimize"])
def test_viz_on_a_model_file(exported, picture, capsys, tmp_path):
    folder, net, dynamic, _, images = exported
    out_png = tmp_path / f"{picture}.png"
    extra = {"rf": ["--samples", "6", "--layer", "Concat"], "optimize": ["--steps", "4"],
             "patches": ["-k", "3"]}.get(picture, [])
    if picture == "rf":  # the module name of the concatenation node
        model = onnx.load(dynamic)
        concat = [n for n, m in model.named_modules() if type(m).__name__ == "Concat"][0]
        extra[-1] = concat
    code, out, err = _main(["viz", picture, dynamic, "--images", images, "--input",
                            "3x16x16", "-o", str(out_png), "--json", *extra], capsys)
    assert code == 0, err
    numbers = json.loads(out)
    assert out_png.stat().st_size > 1000
    if picture == "rf":
        assert numbers["theoretical_size"] == 17 and numbers["mass_inside"] == 1.0
        assert list(numbers["sizes"]) == ["trained"]  # a model file has no initialisation
        assert any(r["layer"] == concat for r in numbers["sizes"]["trained"])
    if picture == "cam":
        x, _ = _images(images)
        with torch.no_grad():
            predicted = int(net(torch.from_numpy(x[:1])).argmax())
        assert numbers["predicted"] == predicted


def test_viz_without_images_says_what_to_pass(exported, capsys, tmp_path):
    _, _, dynamic, _, _ = exported
    code, _, err = _main(["viz", "maps", dynamic, "-o", str(tmp_path / "m.png")], capsys)
    assert code == 1 and err.count("\n") == 1
    assert "--images DIR" in err and "--dataset NAME" in err and "model file" in err
    # filters need no images
    assert _main(["viz", "filters", dynamic, "-o", str(tmp_path / "f.png")], capsys)[0] == 0


def test_report_on_a_model_file(exported, capsys, tmp_path):
    folder, net, dynamic, _, images = exported
    page = tmp_path / "page.html"
    code, out, err = _main(["report", dynamic, "--images", images, "--show", "1",
                            "--labels", ",".join(CLASSES), "-o", str(page)], capsys)
    assert code == 0, err
    text = page.read_text()
    x, y = _images(images)
    with torch.no_grad():
        predicted = net(torch.from_numpy(x)).argmax(1).numpy()
    accuracy = 100 * float(np.mean(predicted == y))
    assert f"<b>{accuracy:.2f}%</b> correct" in text
    for section in ("summary", "filters", "maps", "rf", "patches", "cam"):
        assert f'id="{section}"' in text
    assert "a model file has no training history" in text
    assert "Concat" in text and "12 images of" in text
    # without --images the sections that need images say what to pass
    code, _, err = _main(["report", dynamic, "-o", str(tmp_path / "bare.html")], capsys)
    assert code == 0, err
    assert "pass --images DIR" in (tmp_path / "bare.html").read_text()


def test_subfolders_follow_the_labels_by_name(exported, tmp_path):
    from convscope.sources import resolve
    _, _, dynamic, _, images = exported
    plain = resolve(dynamic, images=images)
    assert plain.classes == ("bars", "disc", "noise")  # sorted, as torchvision's ImageFolder
    named = resolve(dynamic, images=images, labels=",".join(CLASSES))
    _, y_plain = plain.test()
    _, y_named = named.test()
    assert named.classes == CLASSES
    np.testing.assert_array_equal(np.array(CLASSES)[y_named], np.array(plain.classes)[y_plain])
    with pytest.raises(ValueError, match="not among the --labels"):
        resolve(dynamic, images=images, labels="a,b,c")


def test_apply_on_a_branched_model_file_equals_pytorch(exported, capsys, tmp_path):
    folder, net, dynamic, _, _ = exported
    rng = np.random.default_rng(1)
    image = rng.standard_normal((3, 70, 53)).astype(np.float32)
    np.save(tmp_path / "in.npy", image)
    code, out, err = _main(["apply", dynamic, str(tmp_path / "in.npy"),
                            str(tmp_path / "out.npy"), "--chunk", "16", "--no-progress",
                            "--no-normalize"], capsys)
    assert code == 0, err
    blocks = re.search(r"\(1, (\d+), (\d+)\) blocks", err)
    assert blocks and int(blocks.group(1)) > 1 and int(blocks.group(2)) > 1, err
    got = np.load(tmp_path / "out.npy")
    with torch.no_grad():
        want = net.features(torch.from_numpy(image[None])).numpy()[0]
    assert got.shape == want.shape == (16, 35, 27)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    # and exactly the whole-image run of the same graph in convscope
    from convscope.scale import conv_part
    whole = conv_part(onnx.load(dynamic))(image[None]).data[0]
    np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-6)


def test_the_commands_never_import_torch(exported, tmp_path):
    """A user with `convscope[onnx]` and no PyTorch: every command on the model file."""
    folder, _, dynamic, _, images = exported
    np.save(tmp_path / "in.npy", np.zeros((3, 40, 40), np.float32))
    commands = [["summary", dynamic, "--input", "3x16x16"],
                ["rf", dynamic, "--input", "3x16x16"],
                ["viz", "maps", dynamic, "--images", images, "-o", str(tmp_path / "m.png")],
                ["viz", "rf", dynamic, "--images", images, "--samples", "2",
                 "-o", str(tmp_path / "r.png")],
                ["report", dynamic, "--images", images, "--show", "1", "--sections",
                 "run,summary,confusion,rf", "-o", str(tmp_path / "p.html")],
                ["apply", dynamic, str(tmp_path / "in.npy"), str(tmp_path / "o.npy"),
                 "--chunk", "16", "--no-progress"]]
    script = ("import sys; sys.modules['torch'] = None\n"  # `import torch` raises
              "from convscope import cli\n"
              f"for argv in {commands!r}:\n"
              "    code = cli.main(argv)\n"
              "    assert code == 0, argv\n"
              "assert sys.modules['torch'] is None\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(cli.__file__).rsplit(os.sep, 2)[0])
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
