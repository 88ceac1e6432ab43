"""The self-contained HTML report of a study (jinja2, figures embedded as base64 PNG).

Every string that comes from the user (sample names, file names, descriptions,
the manifest itself) goes through jinja2's autoescaping; the only markup the
template emits is its own.
"""

from __future__ import annotations

import base64
import math
from datetime import datetime, timezone

from qdstack import __version__

__all__ = ["render_report"]

_TEXT_COLUMNS = {
    "sample",
    "file",
    "linker",
    "label",
    "direction",
    "name",
    "quantity",
    "unit",
    "method",
}


def _num(value):
    if isinstance(value, bool) or value is None:
        return "—" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == 0:
            return "0"
        mag = abs(value)
        if 1e-3 <= mag < 1e5:
            return f"{value:.4g}"
        return f"{value:.4e}"
    return str(value)


def _pm(value, err=None):
    """'value ± err' with the error to two significant digits and the value to the same decimal place."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return _num(value)
    if not isinstance(err, (int, float)) or not math.isfinite(err) or err <= 0:
        return _num(value)
    digits = min(max(0, 1 - int(math.floor(math.log10(err)))), 6)
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def _table(columns: dict) -> dict:
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    rows = [[(c, columns[c][i]) for c in names] for i in range(n)]
    text = {c for c in names if c in _TEXT_COLUMNS or any(isinstance(v, str) for v in columns[c])}
    return {"columns": names, "rows": rows, "text": text}


def _measurements(s) -> str:
    parts = []
    if s.absorption is not None:
        parts.append("absorption")
    if s.pl is not None:
        parts.append("PL")
    if s.tpl or s.tpl_table is not None:
        parts.append(f"PL vs T ({len(s.tpl)} spectra)" if s.tpl else "PL vs T (table)")
    if s.decays:
        parts.append(f"{len(s.decays)} decay(s)")
    if s.xrd:
        parts.append("XRD " + "/".join(x.direction for x in s.xrd))
    if s.angle:
        parts.append(f"angle PL ({len(s.angle)} angles)")
    if s.thickness_nm is not None:
        parts.append("thickness")
    if getattr(s, "plqy", None) is not None:
        parts.append("PLQY (sphere)")
    if getattr(s, "dipcoat", None) is not None:
        parts.append("dip coating")
    return ", ".join(parts) or "—"


def render_report(
    run,
    *,
    comparison=None,
    comparison_intro: str = "",
    discussion=(),
    intro: str = "",
    headline: str = "",
    sections=(),
) -> str:
    """HTML text of the report of a :class:`~qdstack.study.runner.StudyRun`.

    Parameters
    ----------
    comparison : list of dict, optional
        Rows of a paper comparison (``qdstack reproduce``).
    headline : str
        One line shown above everything (the comparison's summary).
    sections : sequence of dict
        Further sections after the comparison, each ``{"id", "title", "paragraphs": [str],
        "tables": [(name, {column: [values]})], "figures": [(caption, png bytes)]}``.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("qdstack.study", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["pm"] = _pm
    outputs = []
    for o in run.outputs.values():
        outputs.append(
            {
                "name": o.name,
                "title": o.title,
                "summary": o.summary,
                "summary_len": len(o.summary),
                "figures": [(k, base64.b64encode(v).decode("ascii")) for k, v in o.figures.items()],
                "tables": [(k, _table(v)) for k, v in o.tables.items()],
                "warnings": o.warnings,
                "fit_reports": list(o.fit_reports.items()),
            }
        )
    study = run.study
    samples = [
        {
            "name": s.name,
            "linker": s.linker,
            "gap_nm": s.gap_nm,
            "layers": s.layers,
            "edge_nm": study.sample_edge_nm(s),
            "measurements": _measurements(s),
        }
        for s in study.sample
    ]
    comparison = comparison if comparison is not None else run.results.get("comparison")
    extra = [
        {
            "id": sec["id"],
            "title": sec["title"],
            "paragraphs": list(sec.get("paragraphs", ())),
            "tables": [(k, _table(v)) for k, v in sec.get("tables", ())],
            "figures": [
                (k, base64.b64encode(v).decode("ascii")) for k, v in sec.get("figures", ())
            ],
        }
        for sec in sections
    ]
    return env.get_template("report.html.j2").render(
        study=study,
        samples=samples,
        outputs=outputs,
        errors=list(run.errors.items()),
        provenance=run.results["provenance"],
        manifest_text=run.manifest_text,
        version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        comparison=comparison,
        comparison_intro=comparison_intro,
        discussion=list(discussion),
        intro=intro,
        headline=headline,
        sections=extra,
    )
