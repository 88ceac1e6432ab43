"""Study analysis: dip-coating series (Faustini et al. 2010 law, or an additive-fraction trend), per sample."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if s.dipcoat is None:
            continue
        d = s.dipcoat
        tasks.append(
            Task(
                "dipcoat",
                f"dipcoat_{safe_name(s.name)}",
                f"Dip coating: {s.name}",
                {
                    "sample": s.name,
                    "table": str(study.path(d.table)),
                    "target_od": d.target_od,
                    "target_coverage": d.target_coverage,
                    "x_column": d.x_column,
                },
            )
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.dipcoat import fit_dipcoat, fit_trend
    from qdstack.errors import FileFormatError, QdstackError
    from qdstack.io.columns import read_columns
    from qdstack.plotting.dipcoat import plot_dipcoat, plot_trend

    p = task.payload
    xcol = p["x_column"]
    cols = read_columns(
        p["table"],
        required=(),
        optional=("speed_mm_per_s", "od", "coverage", "od_err", "coverage_err")
        + ((xcol,) if xcol else ()),
    )
    quantity = "od" if "od" in cols else "coverage" if "coverage" in cols else None
    if quantity is None:
        raise FileFormatError("missing column od (or coverage)", p["table"])
    target = p["target_od"] if quantity == "od" else p["target_coverage"]
    if (quantity == "od" and p["target_coverage"] is not None) or (
        quantity == "coverage" and p["target_od"] is not None
    ):
        raise FileFormatError(
            f"the table has a {quantity} column; give target_{quantity}", p["table"]
        )
    xname = xcol or "speed_mm_per_s"
    if xname not in cols:
        raise FileFormatError(f"missing column {xname}", p["table"])
    try:
        if xcol:
            fit = fit_trend(
                cols[xcol],
                cols[quantity],
                cols.get(f"{quantity}_err"),
                x_column=xcol,
                quantity=quantity,
                target=target,
            )
        else:
            fit = fit_dipcoat(
                cols["speed_mm_per_s"],
                cols[quantity],
                cols.get(f"{quantity}_err"),
                quantity=quantity,
                target=target,
            )
    except QdstackError as exc:
        raise (exc if exc.source else exc.with_source(p["table"])) from None
    out = TaskOutput(
        task.name, task.kind, task.title, result={"sample": p["sample"], **fit.to_dict()}
    )
    out.warnings.extend(fit.warnings)
    out.fit_reports["dip coating"] = fit.fit.fit_report()
    if xcol:
        out.figures["dipcoat_trend"] = png(plot_trend(fit))
        out.summary = [
            (f"trend vs {xcol}", f"polynomial degree {fit.degree}, r2 = {fmt(fit.r2, '.3f')}"),
            (f"{xcol} at maximum", fmt(fit.x_at_maximum)),
        ]
        out.tables["dipcoat_trend"] = {xcol: list(fit.x), quantity: list(fit.amount)}
        return out
    out.figures["dipcoat"] = png(plot_dipcoat(fit))
    out.tables["dipcoat"] = {
        "speed_mm_per_s": list(fit.speed_mm_per_s),
        quantity: list(fit.amount),
        "fit": [float(v) for v in fit.predict(fit.speed_mm_per_s)],
        "regime": list(fit.regimes),
    }
    mini = (
        f"{fmt(fit.minimum_speed_mm_per_s, '.3g')} ± {fmt(fit.minimum_speed_mm_per_s_err, '.2g')} mm/s"
        if fit.minimum_speed_mm_per_s is not None
        else f"not determined (all rows on the {fit.branch} branch)"
    )
    out.summary = [
        (
            "capillary / draining coef",
            f"{fmt(fit.capillary_coef, '.3g')} ± {fmt(fit.capillary_coef_err, '.2g')} / "
            f"{fmt(fit.draining_coef, '.3g')} ± {fmt(fit.draining_coef_err, '.2g')}",
        ),
        ("minimum speed", mini),
    ]
    for s in fit.solutions:
        lo, hi = s["interval95_mm_per_s"]
        out.summary.append(
            (
                f"speed for {quantity} {target:g} ({s['branch']})",
                f"{fmt(s['speed_mm_per_s'], '.3g')} mm/s (95 %: {fmt(lo, '.3g')}-{fmt(hi, '.3g')})",
            )
        )
    return out
