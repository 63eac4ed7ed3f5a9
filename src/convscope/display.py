"""Rich display in Jupyter: how convscope's objects show themselves inline.

IPython asks the last value of a cell for `_repr_html_` / `_repr_png_`. convscope answers:

- a model (`nn.Module`): an HTML table of its layers (`module_html`);
- `summary(...)`'s `Summary`: its table as HTML (`summary_html`);
- the Figures of `viz.plot_*`: a PNG (`figure_class`: a matplotlib Figure subclass on its own
  Agg canvas; pyplot and the process-wide backend are never touched, so nothing opens a
  window and a notebook's `%matplotlib` setting stays as it is);
- the result objects of `viz.*` (`EffectiveReceptiveField`, `FeatureMaps`, `FilterGrid`,
  ...): their picture, as a PNG (`png_bytes` of their `plot_*` function's Figure);
- `animate.conv_animation(...)`: the animation as an inline GIF with its formula
  (`animation_html`).

Everything is computed when the notebook asks, nothing is cached, and matplotlib / Pillow
are imported only then.
"""

from __future__ import annotations

import base64
import html
import io as _io

__all__ = ["animation_html", "figure", "figure_class", "html_table", "module_html",
           "png_bytes", "summary_html"]

_FIGURE_CLASS = None

_TABLE_STYLE = ("border-collapse:collapse;font-family:monospace;font-size:12px;"
                "margin:2px 0")
_CELL = "padding:1px 8px;border-bottom:1px solid #ddd;white-space:pre"


def figure_class():
    """The Figure class convscope draws on: matplotlib's `Figure` plus `_repr_png_`, so a
    notebook shows it inline without pyplot. Created on first use (matplotlib is imported
    lazily); where IPython's inline backend is active, its own Figure formatter wins and the
    figure is still shown once."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class InlineFigure(Figure):
            """A matplotlib Figure that Jupyter shows as a PNG (`png_bytes`)."""

            def _repr_png_(self) -> bytes:
                return png_bytes(self)

        InlineFigure.__module__ = __name__
        InlineFigure.__qualname__ = "InlineFigure"
        _FIGURE_CLASS = InlineFigure
    return _FIGURE_CLASS


def figure(width: float, height: float, dpi: int = 100):
    """A new Figure of `width` x `height` inches on its own Agg canvas, laid out with
    matplotlib's constrained layout, that a notebook shows inline when a cell ends with it
    (no pyplot, no backend switch; draw on ``fig.subplots()``).

    Example:
        >>> fig = figure(2, 1)
        >>> ax = fig.subplots()
        >>> png_bytes(fig)[:4]
        b'\\x89PNG'
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError:
        raise ImportError("convscope.display: drawing pictures needs matplotlib; install it "
                          "with `pip install 'convscope[viz]'` (or `pip install matplotlib`)"
                          ) from None
    fig = figure_class()(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    """The PNG of a matplotlib Figure at its own dpi (drawn on its Agg canvas)."""
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


def html_table(header, rows, *, right=(), caption: str | None = None, footer=()) -> str:
    """A small HTML table: `header` and `rows` are sequences of cell texts (escaped here),
    `right` the column indices aligned right, `caption` a title line above, `footer` lines
    of text below."""
    def cells(tag, line):
        return "".join(
            f'<{tag} style="{_CELL};text-align:{"right" if i in right else "left"}">'
            f"{html.escape(str(c))}</{tag}>" for i, c in enumerate(line))
    parts = [f'<table style="{_TABLE_STYLE}">']
    if caption:
        parts.append(f'<caption style="text-align:left;font-weight:bold;padding:2px 0">'
                     f"{html.escape(caption)}</caption>")
    parts.append(f"<thead><tr>{cells('th', header)}</tr></thead><tbody>")
    parts += [f"<tr>{cells('td', line)}</tr>" for line in rows]
    parts.append("</tbody></table>")
    parts += [f'<div style="font-family:monospace;font-size:12px">{html.escape(t)}</div>'
              for t in footer]
    return "<div>" + "".join(parts) + "</div>"


def module_html(model) -> str:
    """A model as an HTML table: one row per module (indented by depth) with its type, its
    settings (`extra_repr`) and the parameters it holds itself; then the totals, and the
    text `repr` (PyTorch's layout) folded away below."""
    rows = []
    for name, module in model.named_modules():
        depth = name.count(".") + 1 if name else 0
        own = sum(p.data.size for p in module.parameters(recurse=False))
        leaf = not module._modules
        rows.append(("  " * depth + (name or "(model)"), type(module).__name__,
                     module.extra_repr().replace("\n", " "),
                     f"{own:,}" if leaf or own else ""))
    params = list(model.parameters())
    total = sum(p.data.size for p in params)
    trainable = sum(p.data.size for p in params if p.requires_grad)
    mode = "training" if getattr(model, "training", True) else "eval"
    table = html_table(("Module", "Type", "Settings", "Params"), rows, right={3},
                       caption=f"{type(model).__name__} ({mode} mode)",
                       footer=(f"Total params: {total:,} ({trainable:,} trainable)",))
    text = html.escape(repr(model))
    return (f'{table}<details><summary style="font-size:12px">repr</summary>'
            f'<pre style="font-size:12px">{text}</pre></details>')


def summary_html(s) -> str:
    """A `Summary` as an HTML table: the columns of its text table, then the totals."""
    header, lines = s.table()
    return html_table(header, lines, right={3, 4, 5, 6},
                      caption=f"{s.name} on input {'x'.join(map(str, s.input_shape))}",
                      footer=s.totals())


def animation_html(anim, frame_ms: int = 700) -> str:
    """A convolution animation for a notebook: the GIF inline (a data URI, no files, no
    script) above its output-size formula."""
    from .viz.animate_gif import to_gif
    data = base64.b64encode(to_gif(anim, frame_ms)).decode("ascii")
    lines = "".join(f"<div>{html.escape(f)}</div>" for f in anim.formulas)
    return (f'<div><img src="data:image/gif;base64,{data}" alt="{html.escape(anim.func)} '
            f'animation"><div style="font-family:monospace;font-size:12px">{lines}</div>'
            f"</div>")
