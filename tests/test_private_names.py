"""Code shape, read from the source with `ast`: a private name (`_x`) is used only inside
its own module (or comes from an internal helper module whose own name starts with '_',
like `_args`), and the kernels import each other without a loop."""

import ast
import os

import convscope

ROOT = os.path.dirname(os.path.dirname(convscope.__file__))  # the folder holding convscope/


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _internal(module: str) -> bool:
    """A module inside convscope whose own name (or a package above it) starts with '_'."""
    return any(_private(part) for part in module.split(".")[1:])


def _modules() -> dict:
    found = {}
    for folder, _, files in os.walk(os.path.join(ROOT, "convscope")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(module: str):
    """(line, source module, imported name or None, bound name, node) of every import of a
    convscope module in `module` (function-level imports included)."""
    path = MODULES[module]
    package = module.split(".") if path.endswith("__init__.py") else module.split(".")[:-1]
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if source.split(".")[0] == "convscope":
                    yield node.lineno, source, alias.name, alias.asname or alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "convscope":
                    yield node.lineno, alias.name, None, alias.asname or alias.name


def private_crossings() -> list[str]:
    """Every private name one convscope module takes from another: imported by name, or
    read as an attribute of an imported module (`shifted._chunk`)."""
    found = []
    for module, path in sorted(MODULES.items()):
        bound = {}  # local name -> the convscope module it is
        for line, source, name, local in _imports(module):
            target = f"{source}.{name}" if name else source
            if target in MODULES:  # a module
                bound[local] = target
                if name and _private(name) and not _internal(target):
                    found.append(f"{module}:{line}: imports the private module {target}")
            elif name and _private(name) and not _internal(source):
                found.append(f"{module}:{line}: from {source} import {name}")
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound and _private(node.attr)):
                target = bound[node.value.id]
                if target != module and not _internal(target):
                    found.append(f"{module}:{node.lineno}: uses {target}.{node.attr}")
    return found


def test_no_private_name_crosses_modules():
    assert private_crossings() == []


def test_the_checker_sees_a_crossing(tmp_path, monkeypatch):
    # the rule's own test: a module taking `_chunk` from a sibling is reported, one taking
    # it from an internal `_chunks` module is not
    package = tmp_path / "convscope" / "kernels"
    package.mkdir(parents=True)
    (tmp_path / "convscope" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "shifted.py").write_text("def _chunk():\n    pass\n")
    (package / "_chunks.py").write_text("def _size():\n    pass\n")
    (package / "phase.py").write_text(
        "from . import shifted\nfrom ._chunks import _size\n\n\ndef f():\n"
        "    from .shifted import _chunk\n    return shifted._chunk, _size\n")
    monkeypatch.setitem(globals(), "ROOT", str(tmp_path))
    monkeypatch.setitem(globals(), "MODULES", _modules())
    assert private_crossings() == [
        "convscope.kernels.phase:6: from convscope.kernels.shifted import _chunk",
        "convscope.kernels.phase:7: uses convscope.kernels.shifted._chunk"]


def _cycle(graph: dict):
    """One import loop of `graph` (module -> modules it imports) as a list, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                loop = visit(nxt, path + [nxt])
                if loop:
                    return loop
        state[node] = "done"
        return None
    for start in sorted(graph):
        if start not in state:
            loop = visit(start, [start])
            if loop:
                return loop
    return None


def test_the_kernels_import_each_other_without_a_loop():
    kernels = {m for m in MODULES if m.startswith("convscope.kernels.")}
    graph = {}
    for module in kernels:
        for _, source, name, _ in _imports(module):
            target = f"{source}.{name}" if name and f"{source}.{name}" in MODULES else source
            if target in kernels and target != module:
                graph.setdefault(module, set()).add(target)
    assert "convscope.kernels.shifted" not in graph.get("convscope.kernels.phase", set())
    assert _cycle(graph) is None, _cycle(graph)
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
