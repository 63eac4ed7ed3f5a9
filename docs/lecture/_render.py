"""Execute the lecture notebooks and write them with their outputs into the docs:

    docs/lecture/rendered/NN_name.ipynb   the notebook with every output (opens in Jupyter,
                                          renders on GitHub)
    docs/lecture/rendered/NN_name.html    one self-contained page per notebook (pictures as
                                          data URIs, no script, no network), for a browser

`make notebooks` runs it (python docs/lecture/_render.py [NAME ...]: only the notebooks whose
file name contains NAME). Each notebook runs in a fresh "python3" kernel (nbclient; one
OpenBLAS thread unless OPENBLAS_NUM_THREADS says otherwise) with a temporary folder as its
working directory, so it writes nothing into the repository; an error
in any cell stops with that cell's message and exit status 1. The stored notebooks
(docs/lecture/*.ipynb) stay without outputs.

The page is a plain rendering of the executed notebook: code cells as code, their outputs as
the notebook shows them (PNG and GIF pictures, HTML tables, text), and the text cells through
a small Markdown subset (headings, paragraphs, lists, tables, `code`, **bold**, *italic* and
links: what these notebooks use).
"""

from __future__ import annotations

import argparse
import html
import os
import pathlib
import re
import resource
import sys
import tempfile
import time

import nbclient
import nbformat

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "rendered"
CELL_TIMEOUT = 300


def execute(path: pathlib.Path, timeout: int = CELL_TIMEOUT):
    """The notebook at `path`, executed top to bottom in a fresh kernel in a temporary
    working directory."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="convscope-lecture-") as cwd:
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": cwd}})
        # one OpenBLAS thread unless the environment says otherwise: the products are
        # small, and two threads on a busy machine wait for each other (10x slower steps)
        env = {**os.environ,
               "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        client.execute(env=env)
    return nb


# -- a small Markdown subset --------------------------------------------------------------
def _inline(text: str) -> str:
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                   lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def markdown(text: str) -> str:
    """HTML of the Markdown subset described in the module docstring."""
    out, para, items, table = [], [], [], []

    def flush():
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            rows = [r for r in table if not re.fullmatch(r"\|?[\s:|-]+\|?", r)]
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows]
            head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>"
                           for r in cells[1:])
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            table.clear()

    for line in text.splitlines():
        heading = re.match(r"(#{1,6})\s+(.*)", line)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif line.startswith("|"):
            if para or items:
                flush()
            table.append(line)
        elif re.match(r"\s*[-*]\s+", line):
            if para or table:
                flush()
            items.append(re.sub(r"^\s*[-*]\s+", "", line))
        elif not line.strip():
            flush()
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()
        else:
            if table:
                flush()
            para.append(line.strip())
    flush()
    return "\n".join(out)


# -- the page -----------------------------------------------------------------------------
_STYLE = """body{font-family:sans-serif;max-width:980px;margin:24px auto;padding:0 16px;
line-height:1.45;color:#222}
pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;font-size:13px;border-radius:4px}
pre.out{background:#fff;border-left:3px solid #ddd}
pre.err{background:#fff0f0}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
pre code{background:none;padding:0}
.output img{max-width:100%}
table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:2px 8px}
.output table td,.output table th{border:none}
"""


def _output_html(output) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        cls = "out err" if output.get("name") == "stderr" else "out"
        return f'<pre class="{cls}">{html.escape(output.get("text", ""))}</pre>'
    if kind == "error":
        text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
        return f'<pre class="out err">{html.escape(text)}</pre>'
    data = output.get("data", {})
    if "text/html" in data:
        return f'<div class="output">{data["text/html"]}</div>'
    if "image/png" in data:
        return (f'<div class="output"><img src="data:image/png;base64,'
                f'{data["image/png"].strip()}" alt="figure"></div>')
    if "text/plain" in data:
        return f'<pre class="out">{html.escape(data["text/plain"])}</pre>'
    return ""


def page(nb, title: str) -> str:
    """A self-contained HTML page of an executed notebook."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(markdown(cell.source))
        elif cell.cell_type == "code":
            parts.append(f"<pre><code>{html.escape(cell.source)}</code></pre>")
            parts += [_output_html(o) for o in cell.get("outputs", [])]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes: the kernels. On a busy
    machine this, more than the wall time, says how long a notebook takes on an idle one."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _write(path: pathlib.Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only notebooks whose file name contains one")
    parser.add_argument("--out", default=str(OUT), help="folder to write into (default: %(default)s)")
    args = parser.parse_args(argv)
    paths = [p for p in sorted(HERE.glob("[0-9][0-9]_*.ipynb"))
             if not args.names or any(n in p.name for n in args.names)]
    if not paths:
        print(f"_render.py: no notebook matches {args.names}", file=sys.stderr)
        return 1
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total = total_cpu = 0.0
    for path in paths:
        start, cpu = time.perf_counter(), _children_cpu()
        try:
            nb = execute(path)
        except nbclient.exceptions.CellExecutionError as error:
            print(f"{path.name}: a cell failed:\n{error}", file=sys.stderr)
            return 1
        seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
        total += seconds
        total_cpu += cpu
        title = nb.cells[0].source.splitlines()[0].lstrip("# ") if nb.cells else path.stem
        _write(out / path.name, nbformat.writes(nb) + "\n")
        _write(out / f"{path.stem}.html", page(nb, title))
        print(f"{path.name}: {seconds:.1f} s ({cpu:.1f} s of kernel CPU time) -> "
              f"{out / path.stem}.html, .ipynb")
    print(f"{len(paths)} notebooks in {total:.1f} s ({total_cpu:.1f} s of kernel CPU time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
