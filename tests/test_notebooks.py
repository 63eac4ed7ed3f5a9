"""The lecture notebooks (docs/lecture/*.ipynb): stored without outputs, built from their
sources, and each runs top to bottom in a fresh "python3" kernel without an error (every
notebook checks the lecture's claims with asserts), showing its pictures inline.

Each notebook runs with a temporary folder as its working directory, so it writes nothing
into the repository. docs/lecture/rendered/ (what `make notebooks` writes, with outputs) is
not checked here.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LECTURE = ROOT / "docs" / "lecture"
NOTEBOOKS = sorted(LECTURE.glob("[0-9][0-9]_*.ipynb"))
STORED = [p for p in ROOT.joinpath("docs").rglob("*.ipynb")
          if LECTURE / "rendered" not in p.parents]
CELL_TIMEOUT = 600  # seconds per cell; the training cells of 06 take ~10 s on an idle machine
# The kernels run on one OpenBLAS thread (unless the environment says otherwise): the
# notebooks' matrix products are small, and with two threads on a machine whose other core is
# busy, each product waits for the other thread (a training step 10x slower).
KERNEL_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
# The Fashion-MNIST notebook needs the Debian package dataset-fashion-mnist (`make data`).
NEEDS_FASHION_MNIST = {"06_first_layer.ipynb"}


def test_there_is_a_notebook_per_part_of_the_lecture():
    names = [p.stem for p in NOTEBOOKS]
    assert len(names) >= 7, names
    for part in ("convolution", "padding", "receptive_field", "stride", "common_settings",
                 "first_layer", "conv1d_3d"):
        assert any(part in n for n in names), part


@pytest.mark.parametrize("path", STORED, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: a cell has outputs"
            assert cell["execution_count"] is None, f"{path.name}: an execution count"


def test_notebooks_are_built_from_their_sources():
    out = subprocess.run([sys.executable, str(LECTURE / "_build.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if path.name in NEEDS_FASHION_MNIST:
        from convscope.data import find_dataset_dir
        try:
            find_dataset_dir("fashion-mnist")
        except FileNotFoundError as error:
            pytest.skip(f"Fashion-MNIST is not installed (`make data`): {error}")
    nb = nbformat.read(path, as_version=4)
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "assert " in sources, "a notebook checks the lecture's claims"
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=KERNEL_ENV)  # raises CellExecutionError, with the cell and traceback
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o for o in outputs if o.output_type in ("display_data", "execute_result")
                and ("image/png" in o.data or "data:image/gif" in o.data.get("text/html", ""))]
    assert pictures, "the notebook shows its pictures inline"
    assert list(tmp_path.iterdir()) == [], "the notebook wrote files"


def _render_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("lecture_render", LECTURE / "_render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rendered_page_shows_text_code_and_outputs():
    """`make notebooks`' page of an executed notebook (made here without a kernel): the
    Markdown subset, the code escaped, every output kind, nothing fetched."""
    nbformat = pytest.importorskip("nbformat")
    render = _render_module()
    v4 = nbformat.v4
    code = v4.new_code_cell("x = 1 < 2\nfig")
    code.outputs = [
        v4.new_output("stream", name="stdout", text="a <b> & c\n"),
        v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                            "text/plain": "<Figure>"}),
        v4.new_output("execute_result", data={"text/html": "<table><tr><td>conv</td></tr></table>",
                                              "text/plain": "Summary"}, execution_count=1),
    ]
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell("# Title\n\nSome **bold** and `W' = W - K + 1` text,\n"
                             "two lines.\n\n- one *item*\n- two\n\n| K | P |\n|---|---|\n| 3 | 1 |"),
        code])
    page = render.page(nb, "Title")
    assert "<h1>Title</h1>" in page
    assert "<strong>bold</strong>" in page and "<code>W&#x27; = W - K + 1</code>" in page
    assert "<p>Some <strong>bold</strong> and" in page and "text, two lines.</p>" in page
    assert "<ul><li>one <em>item</em></li><li>two</li></ul>" in page
    assert "<th>K</th><th>P</th>" in page and "<td>3</td><td>1</td>" in page
    assert "x = 1 &lt; 2" in page and "a &lt;b&gt; &amp; c" in page
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in page and "&lt;Figure&gt;" not in page
    assert "<td>conv</td>" in page
    assert "<script" not in page and "http" not in page
