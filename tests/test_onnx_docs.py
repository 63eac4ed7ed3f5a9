"""The worked examples of docs/onnx.md and of the Graph section of docs/nn.md run as written
and print what the pages show."""

import contextlib
import io
import pathlib
import re
import warnings

import numpy as np
import pytest

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"


def blocks(page, lang="python"):
    return re.findall(rf"```{lang}\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


def test_onnx_worked_example(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    source = blocks("onnx.md")[0]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(source, "docs/onnx.md", "exec"), {})
    printed = out.getvalue()
    shown_graph = re.findall(r"```\n(Graph\(.*?)```", (DOCS / "onnx.md").read_text(),
                             flags=re.S)[0]
    assert printed.startswith(shown_graph)
    rest = printed[len(shown_graph):].splitlines()
    assert rest == ["(2, 10)", "True",
                    "['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias']", "True"]


def test_nn_graph_example():
    source = next(b for b in blocks("nn.md") if "nn.Graph" in b)
    namespace = {}
    exec(compile(source, "docs/nn.md", "exec"), namespace)
    assert namespace["y"].shape == (2, 12, 16, 16)
    np.testing.assert_array_equal(np.asarray(namespace["y"])[:, 8:], np.asarray(
        namespace["block"].node("side").module(np.zeros((2, 8, 16, 16), np.float32))))
