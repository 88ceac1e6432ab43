"""``qdstack explain``: which mechanisms explain measured first-peak shifts, with plausible parameters."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import OptionError


def command(
    table: Path = typer.Argument(
        ...,
        show_default=False,
        help="CSV with columns linker (a library name) or gap_nm, layers, shift_meV, optional shift_meV_err "
        "(default 2 meV), temperature_K, period_nm (XRD period: gap = period - edge); or the results.json of 'qdstack absorption' (with --linker or "
        "--gap-nm) or of 'qdstack study run'.",
    ),
    mechanisms: str = typer.Option(
        None,
        "--mechanisms",
        help="Comma list of mechanisms to fit (default all: tunnelling, dielectric, surface, fusion).",
    ),
    no_pairs: bool = typer.Option(
        False, "--no-pairs", help="Fit single mechanisms only (no pairs)."
    ),
    linker: str = typer.Option(
        None, "--linker", help="Linker of an absorption results.json (it has none)."
    ),
    gap_nm: float = typer.Option(None, "--gap-nm", help="Gap of an absorption results.json [nm]."),
    default_err: float = typer.Option(
        2.0, "--shift-err-meV", help="Error of shifts given without one [meV]."
    ),
    parameters: str = typer.Option(
        "enomoto2024",
        "--parameters",
        help="Film-model parameter set for the dots, dielectric constants and line widths (its barrier is "
        "not used).",
    ),
    edge_nm: float = typer.Option(6.8, "--edge-nm", help="Mean dot edge [nm]."),
    edge_sd_nm: float = typer.Option(
        0.5, "--edge-sd-nm", help="Standard deviation of the edge [nm]."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Fit each mechanism (and each pair) to measured shifts inside its plausible ranges, and judge it.

    Mechanisms: tunnelling (electron and hole tunnel through the linker barrier,
    0.5-5 eV; ideal column from the effective-mass engine), dielectric (more
    polarisable surroundings as layers are added), surface (the hole leaks into
    the thiolate shell of each linker-bound face), fusion (a fraction of
    contacts are perovskite necks).  Each predicts S(N) = peak(N) - peak(1), read
    as the peak top, for every linker; pairs add their shifts.

    Each is fitted twice with lmfit: inside its plausible ranges, then inside
    what physics allows.  Verdict: explains (the bounded fit is acceptable,
    chi2 p-value >= 0.01), implausible (only with a parameter outside its
    plausible range), cannot (no acceptable fit).  AIC = chi2 + 2k and
    BIC = chi2 + k ln n rank them; a mechanism that also explains the table
    within Delta AIC < 2 of the best (or whose curve stays within two errors of
    the best one everywhere) cannot be told apart from it by the table, and the
    measurement that would separate them (more layers, another linker, 10 K) is
    printed.

    Example: qdstack explain examples/explain/enomoto2024_shifts.csv --out explain_out/
    """
    from qdstack.physics.explain import context_from_parameters, explain, read_shift_table

    if not default_err > 0:
        raise OptionError("must be a positive number of meV", "--shift-err-meV")
    names = None
    if mechanisms is not None:
        names = [m.strip() for m in mechanisms.split(",") if m.strip()]
        if not names:
            raise OptionError("give at least one mechanism name", "--mechanisms")
        from qdstack.physics.explain import get_mechanism

        for n in names:
            get_mechanism(n)
    with captured_warnings() as warned:
        shifts = read_shift_table(table, default_err, linker=linker, gap_nm=gap_nm, edge_nm=edge_nm)
        from qdstack.physics.film_model import load_parameter_set

        load_parameter_set(parameters)  # unknown set: an InputError naming it
        context = context_from_parameters(parameters, edge_nm=edge_nm, edge_sd_nm=edge_sd_nm)
        from rich.console import Console

        console = Console(stderr=True)
        with console.status("fitting mechanisms") as status:
            res = explain(
                shifts,
                names,
                pairs=not no_pairs,
                context=context,
                strict=True,
                progress=lambda i, n, name: status.update(f"fitting {name} ({i + 1}/{n})"),
            )
    result = res.to_dict()
    result["source"] = str(table)
    result["warnings"] = list(dict.fromkeys(list(result["warnings"]) + list(warned)))

    def figures():
        from qdstack.plotting._base import new_figure

        figs = {}
        for m in res.mechanisms:

            def build(m=m):
                fig, ax = new_figure(figsize=(6.4, 4.6))
                res.plot(ax=ax, mechanism=m.name)
                return fig

            figs[f"explain_{m.name.replace('+', '_')}"] = build
        return figs

    def write_table(folder: Path):
        from qdstack.io.writers import write_csv

        rows = table_rows(res)
        cols = list(rows[0])
        write_csv(folder / "explain_table.csv", {c: [r[c] for r in rows] for c in cols})

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=lambda c: print_summary(c, res),
        extra_files={"table": write_table} if out else None,
    )


def table_rows(res) -> list[dict]:
    """One row per fitted mechanism: verdict, chi2, dof, AIC, BIC and the parameters as text."""
    from qdstack.physics.explain.fit import _param_text

    rows = []
    for m in res.mechanisms:
        rows.append(
            {
                "mechanism": m.name,
                "verdict": m.verdict,
                "chi2": m.chi2,
                "dof": m.dof,
                "aic": m.aic,
                "bic": m.bic,
                "p_value": m.p_value,
                "parameters": "; ".join(_param_text(k, p) for k, p in m.parameters.items()),
                "prediction_meV": "; ".join(f"{v:.2f}" for v in m.prediction_meV),
            }
        )
    return rows


def print_summary(c, res) -> None:
    """The result's summary (tables and lines) on a rich console."""
    res.print_summary(c)
