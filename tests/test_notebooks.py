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
