"""Build the lecture notebooks, docs/lecture/NN_name.ipynb, from their plain Python sources,
docs/lecture/src/NN_name.py (the `# %%` cell format of Jupytext, VS Code and Spyder).

A source is a sequence of cells, each opened by a marker line:

    # %% [markdown]       a text cell: the lines below, each with its leading '# ' removed
    # %%                  a code cell: the lines below, as they are

The notebooks are written without outputs or execution counts and with fixed cell ids, so
building twice gives the same bytes and `git diff` shows only real changes. Edit the
sources, never the .ipynb files, then run

    python docs/lecture/_build.py            # rewrite the notebooks
    python docs/lecture/_build.py --check    # exit 1 if a notebook differs from its source

(tests/test_notebooks.py runs the check, then executes every notebook.)
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
SOURCES = HERE / "src"
MARKDOWN, CODE = "# %% [markdown]", "# %%"


def parse(text: str) -> list[tuple[str, str]]:
    """(kind, source) per cell of a `# %%` file: kind 'markdown' or 'code'."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped == MARKDOWN:
            cells.append(("markdown", []))
        elif stripped == CODE:
            cells.append(("code", []))
        elif not cells:
            if stripped:
                raise ValueError(f"text before the first '# %%' marker: {line!r}")
        elif cells[-1][0] == "markdown":
            if stripped and not (stripped == "#" or line.startswith("# ")):
                raise ValueError(f"a markdown line must start with '# ': {line!r}")
            cells[-1][1].append(line[2:] if line.startswith("# ") else "")
        else:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines:
            out.append((kind, "\n".join(lines)))
    return out


def notebook(source: pathlib.Path):
    """The notebook (nbformat v4, no outputs, fixed ids) of one source file."""
    cells = []
    for i, (kind, text) in enumerate(parse(source.read_text(encoding="utf-8"))):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cells.append(make(text, id=f"{source.stem[:2]}-{i:02d}"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb


def target(source: pathlib.Path) -> pathlib.Path:
    return HERE / f"{source.stem}.ipynb"


def render(source: pathlib.Path) -> str:
    return nbformat.writes(notebook(source)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook differs from its source")
    args = parser.parse_args(argv)
    sources = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    stale = []
    for source in sources:
        text, path = render(source), target(source)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.check:
            stale.append(path.name)
        else:
            tmp = path.with_suffix(".ipynb.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
    built = {target(s).name for s in sources}
    orphans = sorted(p.name for p in HERE.glob("*.ipynb") if p.name not in built)
    if stale or orphans:
        for name in stale:
            print(f"{name} differs from src/{name[:-6]}.py: run python docs/lecture/_build.py",
                  file=sys.stderr)
        for name in orphans:
            print(f"{name} has no source in docs/lecture/src/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
