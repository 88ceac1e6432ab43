"""``qdstack explain``: which mechanisms explain measured first-peak shifts, with plausible parameters."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import FileFormatError, OptionError


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
    from qdstack.physics.explain import context_from_parameters, explain

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
        from qdstack.physics.explain import mechanism_curves
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.explain import plot_explain_mechanism

        figs = {}
        for m in res.mechanisms:

            def build(m=m):
                fig, ax = new_figure(figsize=(6.4, 4.6))
                cur = mechanism_curves(res, m.name)
                alt = None
                if m.verdict != "explains" and m.bounded["values"] != m.unbounded["values"]:
                    alt = mechanism_curves(res, m.name, which="bounded")
                plot_explain_mechanism(res, m.name, cur, ax=ax, alt_curves=alt)
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


# ----------------------------------------------------------------------------- input


def read_shift_table(
    path: Path,
    default_err: float = 2.0,
    *,
    linker: str | None = None,
    gap_nm: float | None = None,
    edge_nm: float = 6.8,
):
    """A ShiftTable from a CSV or from an absorption / study-run results.json (FileFormatError otherwise)."""
    from qdstack.errors import InputError, QdstackError

    src = str(path)
    p = Path(path)
    if p.suffix.lower() == ".json":
        return _from_json(p, default_err, linker, gap_nm)
    if linker is not None or gap_nm is not None:
        raise OptionError(
            "--linker/--gap-nm apply to an absorption results.json only; a CSV names its linker",
            "--linker" if linker is not None else "--gap-nm",
        )
    from qdstack.io.columns import read_columns

    cols = read_columns(
        path,
        required=("layers", "shift_meV"),
        optional=("linker", "gap_nm", "period_nm", "shift_meV_err", "temperature_K", "lifetime_ns"),
        text_columns=(
            "linker",
            "gap_nm",
            "period_nm",
            "shift_meV_err",
            "temperature_K",
            "lifetime_ns",
        ),
    )
    if "linker" not in cols and "gap_nm" not in cols and "period_nm" not in cols:
        raise FileFormatError(
            "missing column linker or gap_nm (one of them names the linker of each row)", src
        )
    n = len(cols["layers"])
    layers = list(cols["layers"])
    shifts = list(cols["shift_meV"])

    def numbers(name, allow_blank=True):
        if name not in cols:
            return None
        out = []
        for i, v in enumerate(cols[name]):
            v = v.strip()
            if v == "":
                if not allow_blank:
                    raise FileFormatError(f"row {i + 1}: blank value in column {name}", src)
                out.append(math.nan)
                continue
            try:
                x = float(v)
            except ValueError:
                raise FileFormatError(
                    f"row {i + 1}: {v!r} in column {name} is not a number", src
                ) from None
            if not math.isfinite(x):
                raise FileFormatError(f"row {i + 1}: {v!r} in column {name} is not finite", src)
            out.append(x)
        return out

    gaps = numbers("gap_nm")
    periods = numbers("period_nm")
    errs = numbers("shift_meV_err")
    temps = numbers("temperature_K")
    life = numbers("lifetime_ns")
    links = cols.get("linker")
    if errs is not None and any(math.isfinite(e) and e <= 0 for e in errs):
        raise FileFormatError("shift_meV_err must be positive", src)
    if temps is not None:
        from qdstack.physics.film_model import load_parameter_set

        t0 = load_parameter_set("enomoto2024").temperature_K
        temps = [t0 if math.isnan(t) else t for t in temps]
    for i, nl in enumerate(layers):
        if not (nl == int(nl) and nl >= 1):
            raise FileFormatError(
                f"row {i + 1}: layers must be a whole number >= 1, got {nl:g}", src
            )
    keep = [i for i in range(n) if layers[i] >= 2]
    dropped = n - len(keep)
    if dropped:
        import warnings

        warnings.warn(
            f"{dropped} row(s) with N = 1 left out (the shift of the monolayer is zero by definition)",
            stacklevel=2,
        )
    if not keep:
        raise FileFormatError("no rows with N >= 2 layers", src)

    def sel(x):
        return None if x is None else [x[i] for i in keep]

    from qdstack.physics.explain import make_table

    try:
        return make_table(
            sel(layers),
            sel(shifts),
            sel(errs),
            linker=sel(links),
            gap_nm=sel(gaps),
            temperature_K=sel(temps),
            default_err_meV=default_err,
            source=src,
            extra={"lifetime_ns": sel(life)} if life is not None else None,
            period_nm=sel(periods),
            edge_nm=edge_nm,
        )
    except InputError as exc:
        raise FileFormatError(
            _row_message(exc.message if hasattr(exc, "message") else str(exc), keep), src
        ) from None
    except QdstackError:
        raise


def _row_message(msg: str, keep) -> str:
    import re

    m = re.match(r"row (\d+): (.*)", msg)
    if m:
        return f"row {keep[int(m.group(1)) - 1] + 1}: {m.group(2)}"
    return msg


def _from_json(p: Path, default_err, linker, gap_nm):
    from qdstack.errors import InputError
    from qdstack.physics.explain import make_table

    src = str(p)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError("no such file", src) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"not a readable JSON file ({exc})", src) from None
    series = []
    if isinstance(data, dict) and isinstance(data.get("analyses"), dict):  # study run
        for name, a in data["analyses"].items():
            if (
                isinstance(a, dict)
                and "spectra" in a
                and "shift_meV" in a
                and (a.get("linker") or a.get("gap_nm"))
            ):
                series.append((a.get("linker"), a.get("gap_nm"), a))
        if not series:
            raise FileFormatError("a study results.json without absorption series of films", src)
        if linker is not None or gap_nm is not None:
            raise OptionError(
                "a study results.json names its linkers; leave out --linker/--gap-nm", "--linker"
            )
    elif isinstance(data, dict) and "spectra" in data and "shift_meV" in data:  # qdstack absorption
        if (linker is None) == (gap_nm is None):
            raise OptionError(
                "an absorption results.json has no linker: give --linker NAME or --gap-nm D",
                "--linker",
            )
        series.append((linker, gap_nm, data))
    else:
        raise FileFormatError("neither a qdstack absorption nor a study run results.json", src)
    layers, shifts, errs, links, gaps = [], [], [], [], []
    for lk, g, a in series:
        spectra = a["spectra"]
        sh = a["shift_meV"]
        er = a.get("shift_meV_err") or [None] * len(sh)
        if not (
            isinstance(spectra, list)
            and isinstance(sh, list)
            and len(spectra) == len(sh) == len(er)
        ):
            raise FileFormatError("spectra and shift_meV differ in length", src)
        for s, y, e in zip(spectra, sh, er):
            try:
                n = int(s["layers"])
                y = float(y)
            except (KeyError, TypeError, ValueError):
                raise FileFormatError(
                    "a spectrum without a numeric layers/shift_meV", src
                ) from None
            if n < 2:
                continue
            layers.append(n)
            shifts.append(y)
            errs.append(float(e) if isinstance(e, (int, float)) and e and e > 0 else math.nan)
            links.append(lk)
            gaps.append(float(g) if g is not None else math.nan)
    if not layers:
        raise FileFormatError("no films with N >= 2 layers", src)
    try:
        return make_table(
            layers, shifts, errs, linker=links, gap_nm=gaps, default_err_meV=default_err, source=src
        )
    except InputError as exc:
        raise FileFormatError(getattr(exc, "message", str(exc)), src) from None
