"""The one interface every qdstack result offers (in the manner of lmfit's ``ModelResult``).

Every analysis and model result is a frozen dataclass that inherits :class:`Result`
and so has

``summary()``
    the text table the command line prints (plain text, for logs and ``print``);
``_repr_html_()``
    the same table as compact HTML, shown by Jupyter when the result is the last
    expression of a cell;
``plot(ax=None)``
    the result's standard figure, returned as a matplotlib ``Figure`` (which
    Jupyter displays inline);
``to_dict()`` / ``to_json()``
    exactly the JSON object of the command-line contract;
``covariance`` / ``correl``
    the covariance matrix and the correlations of the fitted parameters, where
    the result holds an lmfit fit (field ``fit``).

A result describes its table once, as plain data (:class:`Summary`: tables and
lines of text); the terminal (rich), plain text and HTML are three renderings of
it, so the CLI, the notebook and the report cannot drift apart.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Result", "Summary", "Table", "fmt", "pm", "pm_sig"]


# ----------------------------------------------------------------------------- formatting


def fmt(value, spec: str = ".4g", missing: str = "n/a") -> str:
    """``format(value, spec)``, or ``missing`` for None/NaN/inf."""
    if value is None:
        return missing
    try:
        if not math.isfinite(float(value)):
            return missing
    except (TypeError, ValueError):
        return str(value)
    return format(value, spec)


def pm(value, err, spec: str = ".2f") -> str:
    """``"v ± e"`` (just ``"v"`` when the error is missing or not finite)."""
    s = fmt(value, spec)
    try:
        ok = err is not None and math.isfinite(float(err))
    except (TypeError, ValueError):
        ok = False
    return s + (f" ± {format(err, spec)}" if ok else "")


def pm_sig(value, err) -> str:
    """``value ± err`` rounded to two significant digits of the error (``value`` alone without one)."""
    try:
        ok = err is not None and math.isfinite(float(err)) and float(err) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        return fmt(value, ".5g")
    dec = int(min(max(1 - math.floor(math.log10(err)), 0), 10))
    return f"{value:.{dec}f} ± {err:.{dec}f}"


# ----------------------------------------------------------------------------- summary model


@dataclass(frozen=True)
class Table:
    """One table of a summary: a title, column names, rows of strings.

    ``align`` holds ``"l"`` or ``"r"`` per column (default: first column left,
    the others right).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[str, ...] | None = None

    def _align(self) -> tuple[str, ...]:
        if self.align is not None:
            return self.align
        return ("l",) + ("r",) * (len(self.columns) - 1)


@dataclass(frozen=True)
class Summary:
    """A result's human-readable summary: tables and text lines, in order."""

    blocks: tuple[Table | str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """Plain text with aligned columns."""
        out: list[str] = []
        for b in self.blocks:
            if isinstance(b, str):
                out.append(b)
                continue
            cols = [list(b.columns)] + [list(r) for r in b.rows]
            widths = [max(len(str(c[i])) for c in cols) for i in range(len(b.columns))]
            al = b._align()

            def line(cells):
                return "  ".join(
                    str(c).ljust(w) if a == "l" else str(c).rjust(w)
                    for c, w, a in zip(cells, widths, al)
                ).rstrip()

            if b.title:
                out.append(b.title)
            out.append(line(b.columns))
            out.append("  ".join("-" * w for w in widths))
            out.extend(line(r) for r in b.rows)
        return "\n".join(out)

    def html(self) -> str:
        """Compact HTML (tables and paragraphs), every string escaped."""
        parts = ['<div class="qdstack-summary">']
        for b in self.blocks:
            if isinstance(b, str):
                parts.append(
                    f"<p style='margin:2px 0;font-family:monospace;white-space:pre-wrap'>{html.escape(b)}</p>"
                )
                continue
            al = b._align()
            style = {
                "l": "text-align:left;padding:1px 8px",
                "r": "text-align:right;padding:1px 8px",
            }
            parts.append("<table>")
            if b.title:
                parts.append(
                    f"<caption style='text-align:left'><b>{html.escape(b.title)}</b></caption>"
                )
            parts.append(
                "<tr>"
                + "".join(
                    f"<th style='{style[a]}'>{html.escape(str(c))}</th>"
                    for c, a in zip(b.columns, al)
                )
                + "</tr>"
            )
            for r in b.rows:
                parts.append(
                    "<tr>"
                    + "".join(
                        f"<td style='{style[a]}'>{html.escape(str(c))}</td>" for c, a in zip(r, al)
                    )
                    + "</tr>"
                )
            parts.append("</table>")
        parts.append("</div>")
        return "".join(parts)

    def rich(self, console) -> None:
        """Print on a rich Console (the command line's rendering)."""
        from rich.markup import escape
        from rich.table import Table as RichTable

        for b in self.blocks:
            if isinstance(b, str):
                console.print(b, markup=False, highlight=False)
                continue
            # cells are plain text: "[meV]" is a unit, not rich markup
            t = RichTable(title=escape(b.title) if b.title else None, title_justify="left")
            for c, a in zip(b.columns, b._align()):
                t.add_column(escape(str(c)), justify="left" if a == "l" else "right")
            for r in b.rows:
                t.add_row(*[escape(str(c)) for c in r])
            console.print(t)


def _generic_blocks(d: Mapping[str, Any], title: str) -> tuple[Table | str, ...]:
    """A key/value table of the scalar entries of a contract dict (``x`` with ``x_err``)."""
    rows = []
    for k, v in d.items():
        if k.endswith("_err") or k == "warnings":
            continue
        if isinstance(v, bool) or v is None or isinstance(v, str):
            rows.append((k, "n/a" if v is None else str(v)))
        elif isinstance(v, (int, float)):
            rows.append((k, pm(v, d.get(k + "_err"), ".6g")))
        elif (
            isinstance(v, Sequence)
            and v
            and all(isinstance(x, (int, float)) for x in v)
            and len(v) <= 12
        ):
            rows.append((k, ", ".join(fmt(x, ".6g") for x in v)))
    blocks: list[Table | str] = [Table(title, ("quantity", "value"), tuple(rows))]
    for w in d.get("warnings") or ():
        blocks.append(f"warning: {w}")
    return tuple(blocks)


# ----------------------------------------------------------------------------- the mixin


class Result:
    """Mixin giving every result the same notebook- and CLI-facing methods.

    Subclasses (frozen dataclasses) implement ``to_dict()`` and may override
    :meth:`summary_blocks` (the table the CLI prints) and :meth:`_plot` (their
    standard figure). Nothing here holds state.
    """

    #: Title of the generic summary table.
    _summary_title = ""

    # -- to be overridden --------------------------------------------------------------

    def to_dict(self) -> dict:  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def summary_blocks(self) -> tuple[Table | str, ...]:
        """The summary as plain data (tables and lines); default: a key/value table."""
        return _generic_blocks(self.to_dict(), self._summary_title or type(self).__name__)

    def _plot(self, ax):
        """Draw the standard figure on ``ax`` (None: a new figure) and return the Axes."""
        raise NotImplementedError(f"{type(self).__name__} has no standard figure")

    # -- the interface ---------------------------------------------------------------

    def summary_data(self) -> Summary:
        """:class:`Summary` of this result (render with ``.text()``, ``.html()``, ``.rich(console)``)."""
        return Summary(tuple(self.summary_blocks()))

    def summary(self) -> str:
        """The text table the command line prints for this result."""
        return self.summary_data().text()

    def _repr_html_(self) -> str:
        return self.summary_data().html()

    def print_summary(self, console=None) -> None:
        """Print the summary on a rich Console (the CLI's rendering)."""
        if console is None:
            from rich.console import Console

            console = Console()
        self.summary_data().rich(console)

    def plot(self, ax=None):
        """The standard figure of this result; returns the matplotlib ``Figure``.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw there instead of on a new figure.
        """
        out = self._plot(ax)
        return out.figure if hasattr(out, "figure") and not hasattr(out, "savefig") else out

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict()`` as JSON text (NaN and inf written as null, as in results.json)."""
        return json.dumps(_finite(self.to_dict()), indent=indent, ensure_ascii=False)

    # -- fitted-parameter correlations -----------------------------------------------

    def _lmfit_result(self):
        return getattr(self, "fit", None)

    @property
    def covariance(self) -> dict | None:
        """Covariance of the fitted parameters: ``{"names": [...], "matrix": [[...]]}`` or None.

        Taken from the lmfit fit this result keeps (``fit.covar``, in the order of
        ``fit.var_names``); None when there is no fit or it gave no covariance.
        """
        fit = self._lmfit_result()
        covar = getattr(fit, "covar", None)
        names = getattr(fit, "var_names", None)
        if covar is None or names is None:
            return None
        return {"names": list(names), "matrix": [[float(x) for x in row] for row in covar]}

    @property
    def correl(self) -> dict | None:
        """Correlation coefficients between fitted parameters, ``{a: {b: r}}``, or None."""
        cov = self.covariance
        if cov is None:
            return None
        names, m = cov["names"], cov["matrix"]
        out: dict[str, dict[str, float]] = {}
        for i, a in enumerate(names):
            out[a] = {}
            for j, b in enumerate(names):
                if i != j and m[i][i] > 0 and m[j][j] > 0:
                    out[a][b] = m[i][j] / math.sqrt(m[i][i] * m[j][j])
        return out


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return _finite(obj.item())
        if isinstance(obj, np.ndarray):
            return _finite(obj.tolist())
    except ImportError:  # pragma: no cover
        pass
    return obj
