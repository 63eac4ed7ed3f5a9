"""The shape of the package, drawn from its imports and sizes: the training package knows no
pictures (viz may import training, never the reverse), and no module grows past 600 lines."""

import ast
import pathlib
import subprocess
import sys

import convscope

PACKAGE = pathlib.Path(convscope.__file__).parent


def _imported(path: pathlib.Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # the package holding the module (for __init__: itself)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_import_resolution_sees_relative_imports():
    """The checker itself: ``from .. import training as train`` (inside functions) in
    convscope/viz/report.py is seen as importing convscope.training."""
    assert "convscope.training" in _imported(PACKAGE / "viz" / "report.py")


def test_training_imports_no_viz():
    offenders = {}
    for path in sorted((PACKAGE / "training").rglob("*.py")):
        bad = sorted(n for n in _imported(path)
                     if n == "convscope.viz" or n.startswith("convscope.viz.")
                     or n.split(".")[0] == "matplotlib")
        if bad:
            offenders[path.name] = bad
    assert not offenders, f"convscope.training imports pictures: {offenders}"


def test_importing_training_loads_no_viz_nor_matplotlib():
    code = ("import sys, convscope.training, convscope.training.loop; "
            "print(sorted(m for m in sys.modules if m.startswith(('convscope.viz', "
            "'matplotlib'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout


MAX_LINES = 600


def test_no_module_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concern): {long}"


def test_autograd_split_keeps_its_import_paths():
    """autograd is a package now (graph machinery / operations); its public names stay."""
    from convscope import autograd
    from convscope.autograd import (Tensor, enable_grad, is_grad_enabled, no_grad,  # noqa
                                    reshape_like, tensor)
    from convscope.autograd.graph import GraphNode
    from convscope.nn import Parameter

    assert issubclass(Tensor, GraphNode) and issubclass(Parameter, Tensor)
    assert convscope.Tensor is Tensor and convscope.tensor is tensor
    assert set(autograd.__all__) <= set(dir(autograd))
