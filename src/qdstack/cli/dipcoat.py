"""``qdstack dipcoat``: film amount vs withdrawal speed (Faustini et al. 2010) and the speed for a target."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import FileFormatError, OptionError, QdstackError


def _fmt(v, spec=".4g"):
    return "—" if v is None else format(v, spec)


def command(
    table: Path = typer.Argument(
        ..., help="CSV with columns speed_mm_per_s and od (or coverage), optional od_err / coverage_err; "
        "with --x-column, that column instead of the speed.", show_default=False,
    ),
    target_od: float = typer.Option(None, "--target-od", help="OD wanted: the withdrawal speed(s) that give it."),
    target_coverage: float = typer.Option(None, "--target-coverage",
                                          help="Coverage wanted (table with a coverage column)."),
    x_column: str = typer.Option(
        None, "--x-column",
        help="Fit an empirical trend against this column (e.g. diglyme_fraction) instead of the speed law.",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Fit y = c/U + d U^(2/3) (Faustini et al., J. Phys. Chem. C 2010) to OD (or coverage) vs speed U.

    The capillary term c/U (evaporation at the meniscus: slower pulls deposit more)
    dominates below the minimum speed U_min = (3c/(2d))^(3/5); the draining term
    d U^(2/3) (Landau-Levich) above it. Each row is labelled with its regime. U_min is
    reported only when rows lie on both sides of it (otherwise null, with the
    extrapolated value marked as such). --target-od gives the speed on each branch
    where it exists, with a 95 % interval from the fit's confidence band.

    With --x-column (an additive series, e.g. the diglyme fraction) the amount is
    fitted with an empirical polynomial (degree by AICc) and inverted inside the
    measured range only.

    Example: qdstack dipcoat speeds.csv --target-od 0.02 --out dip/
    """
    from qdstack.io.columns import read_columns

    if target_od is not None and target_coverage is not None:
        raise OptionError("give either --target-od or --target-coverage", "--target-od")
    try:
        cols = read_columns(table, required=(), optional=("od", "coverage", "od_err", "coverage_err",
                                                          "speed_mm_per_s") + ((x_column,) if x_column else ()))
    except QdstackError:
        raise
    quantity = "od" if "od" in cols else "coverage" if "coverage" in cols else None
    if quantity is None:
        raise FileFormatError("missing column od (or coverage)", str(table))
    if "od" in cols and "coverage" in cols:
        raise FileFormatError("both od and coverage columns: keep one", str(table))
    target = target_od if target_od is not None else target_coverage
    if target_coverage is not None and quantity != "coverage":
        raise OptionError("the table has an od column; use --target-od", "--target-coverage")
    if target_od is not None and quantity != "od":
        raise OptionError("the table has a coverage column; use --target-coverage", "--target-od")
    err = cols.get(f"{quantity}_err")
    with captured_warnings() as warned:
        try:
            if x_column:
                from qdstack.analysis.dipcoat import fit_trend

                if x_column not in cols:
                    raise FileFormatError(f"missing column {x_column}", str(table))
                fit = fit_trend(cols[x_column], cols[quantity], err, x_column=x_column, quantity=quantity,
                                target=target)
            else:
                from qdstack.analysis.dipcoat import fit_dipcoat

                if "speed_mm_per_s" not in cols:
                    raise FileFormatError("missing column speed_mm_per_s", str(table))
                fit = fit_dipcoat(cols["speed_mm_per_s"], cols[quantity], err, quantity=quantity, target=target)
        except QdstackError as exc:
            if exc.source is None:
                raise exc.with_source(str(table)) from None
            raise
    result = fit.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned))

    def summary(console):
        from rich.table import Table

        if x_column:
            console.print(f"empirical trend of {quantity} vs {x_column}: polynomial degree {fit.degree} "
                          f"(AICc), r2 = {fit.r2:.3f}; maximum at {x_column} = {_fmt(fit.x_at_maximum)}")
            if target is not None:
                console.print(f"{x_column} for {quantity} = {target:g}: "
                              f"{', '.join(f'{v:.4g}' for v in fit.x_for_target or ()) or 'none in range'}")
            return
        t = Table(title="Dip coating: y = c/U + d U^(2/3)", title_justify="left")
        for c in ("speed (mm/s)", quantity, "fit", "regime"):
            t.add_column(c, justify="right" if c != "regime" else "left")
        for u, y, r in zip(fit.speed_mm_per_s, fit.amount, fit.regimes):
            t.add_row(f"{u:.4g}", f"{y:.4g}", f"{float(fit.predict(u)):.4g}", r)
        console.print(t)
        console.print(f"capillary_coef c = {fit.capillary_coef:.4g} ± {fit.capillary_coef_err:.2g}, draining_coef "
                      f"d = {fit.draining_coef:.4g} ± {fit.draining_coef_err:.2g}, r2 = {fit.r2:.4f}")
        if fit.minimum_speed_mm_per_s is not None:
            console.print(f"minimum at U = {fit.minimum_speed_mm_per_s:.4g} ± {fit.minimum_speed_mm_per_s_err:.2g} "
                          f"mm/s ({quantity} {fit.minimum_amount:.4g})")
        else:
            console.print(f"all rows on the {fit.branch} branch: minimum speed not determined")
        for s in fit.solutions:
            lo, hi = s["interval95_mm_per_s"]
            console.print(f"{quantity} = {target:g} on the {s['branch']} branch: U = {s['speed_mm_per_s']:.4g} "
                          f"± {s['speed_mm_per_s_err']:.2g} mm/s (95 %: {lo:.4g}-{hi:.4g})"
                          + ("" if s["within_measured_range"] else " [extrapolated]"))

    def figures():
        from qdstack.plotting.dipcoat import plot_dipcoat, plot_trend

        if x_column:
            return {"dipcoat_trend": lambda: plot_trend(fit).figure}
        return {"dipcoat": lambda: plot_dipcoat(fit).figure}

    emit(result, json_output=json_output, out_dir=out, figures=figures() if out else None, summary=summary)
