"""``qdstack dipcoat``: film amount vs withdrawal speed (Faustini et al. 2010) and the speed for a target."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import FileFormatError, OptionError, QdstackError


def command(
    table: Path = typer.Argument(
        ...,
        help="CSV with columns speed_mm_per_s and od (or coverage), optional od_err / coverage_err; "
        "with --x-column, that column instead of the speed.",
        show_default=False,
    ),
    target_od: float = typer.Option(
        None, "--target-od", help="OD wanted: the withdrawal speed(s) that give it."
    ),
    target_coverage: float = typer.Option(
        None, "--target-coverage", help="Coverage wanted (table with a coverage column)."
    ),
    x_column: str = typer.Option(
        None,
        "--x-column",
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
        cols = read_columns(
            table,
            required=(),
            optional=("od", "coverage", "od_err", "coverage_err", "speed_mm_per_s")
            + ((x_column,) if x_column else ()),
        )
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
                fit = fit_trend(
                    cols[x_column],
                    cols[quantity],
                    err,
                    x_column=x_column,
                    quantity=quantity,
                    target=target,
                )
            else:
                from qdstack.analysis.dipcoat import fit_dipcoat

                if "speed_mm_per_s" not in cols:
                    raise FileFormatError("missing column speed_mm_per_s", str(table))
                fit = fit_dipcoat(
                    cols["speed_mm_per_s"], cols[quantity], err, quantity=quantity, target=target
                )
        except QdstackError as exc:
            if exc.source is None:
                raise exc.with_source(str(table)) from None
            raise
    result = fit.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned))

    def figures():
        return {"dipcoat_trend" if x_column else "dipcoat": fit.plot}

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=fit.print_summary,
    )
