"""``qdstack tpl``: PL peak energy and width vs temperature, eqns (2) and (3)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer

from qdstack.cli._common import (
    JSON_OPTION,
    OUT_OPTION,
    captured_warnings,
    emit,
    parse_float_list,
    progress,
    value_from_name,
)
from qdstack.errors import FileFormatError, OptionError

_T_PATTERN = re.compile(r"(?<![a-z0-9.])(\d+(?:[.p]\d+)?)\s*K(?![a-z])", re.I)
_TABLE_COLUMNS = ("temperature_K", "peak_eV", "fwhm_meV")
_FIXABLE = (
    "E0_eV",
    "A_TE_meV_per_K",
    "A_EP_meV",
    "hbar_omega_meV",
    "Gamma0_meV",
    "gamma_LO_meV",
    "E_LO_meV",
)


def temperature_from_name(path: str) -> float | None:
    """Temperature written in a file name (``PL_010K.csv`` -> 10, ``T=80.5K`` -> 80.5), else None.

    Raises
    ------
    OptionError
        If the name holds two different temperatures.
    """
    return value_from_name(
        path,
        (_T_PATTERN,),
        "temperatures",
        "--temperatures",
        convert=lambda text: float(text.replace("p", ".")),
    )


def _is_table(path: Path) -> bool:
    """A CSV table with a temperature_K column (rather than a spectrum)."""
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    from qdstack.io.table import decode_text

    try:
        text = decode_text(head, str(path))
    except FileFormatError:
        return False
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return "temperature_k" in line.lower()
    return False


def _parse_fix(items: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        for part in [p for p in re.split(r"[,\s]+", item.strip()) if p]:
            if "=" not in part:
                raise OptionError(f"{part!r} is not NAME=VALUE", "--fix")
            name, value = part.split("=", 1)
            name = name.strip()
            if name not in _FIXABLE:
                raise OptionError(
                    f"unknown parameter {name!r}; fixable: {', '.join(_FIXABLE)}", "--fix"
                )
            try:
                v = float(value)
            except ValueError:
                raise OptionError(f"{value!r} is not a number", "--fix") from None
            if not math.isfinite(v):
                raise OptionError(f"{name} must be finite", "--fix")
            out[name] = v
    return out


def command(
    files: list[Path] = typer.Argument(
        ...,
        show_default=False,
        help="Either one CSV table with columns temperature_K, peak_eV, fwhm_meV (optional "
        "peak_eV_err, fwhm_meV_err), or several PL spectra (text: wavelength in nm or energy in eV, "
        "and intensity; or Princeton Instruments .spe), one per temperature.",
    ),
    temperatures: str = typer.Option(
        None,
        "--temperatures",
        help="Temperature [K] of each spectrum, in order (e.g. 10,20,40,80). Default: read from each "
        "file name (PL_010K.csv, T=80K, 300K_film.txt).",
    ),
    fix_elo: str = typer.Option(
        None,
        "--fix-elo",
        help="Refit the width with E_LO fixed at each of these values [meV] (Table S1 of the paper "
        "uses 10,20,30). The free-E_LO fit is always the first row.",
    ),
    fix: list[str] = typer.Option(
        None,
        "--fix",
        help="Hold a parameter of eqn (2) or (3) fixed, NAME=VALUE (repeatable or comma-separated): "
        "E0_eV, A_TE_meV_per_K, A_EP_meV, hbar_omega_meV, Gamma0_meV, gamma_LO_meV, E_LO_meV.",
    ),
    profile: str = typer.Option(
        "gaussian",
        "--profile",
        help="Line shape fitted to the top of each PL band: gaussian, voigt or pseudovoigt.",
    ),
    column: str = typer.Option(
        None,
        "--column",
        help="Intensity column of multi-column spectra (0-based index or header name); default the "
        "second column. The same key in a study manifest is pl_column.",
    ),
    emin: float = typer.Option(
        None, "--emin-eV", help="Ignore spectrum points below this energy [eV]."
    ),
    emax: float = typer.Option(
        None, "--emax-eV", help="Ignore spectrum points above this energy [eV]."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Exciton-phonon coupling from PL vs temperature: fit eqns (2) and (3) of Enomoto et al. 2024.

    Peak energy, eqn (2): E(T) = E0 + A_TE*T + A_EP*(2/(exp(hbar_omega/kT) - 1) + 1).
    Width (FWHM), eqn (3): Gamma(T) = Gamma0 + gamma_LO/(exp(E_LO/kT) - 1), k = 8.617333e-5 eV/K.

    From spectra, each PL band is measured first (peak from a line-shape fit to its top,
    FWHM from its half-maximum crossings; spectra in nm are converted to energy with the
    Jacobian). Starting values need no guess: the phonon energy is scanned and the rest
    solved linearly. gamma_LO and E_LO are usually strongly correlated (|corr| > 0.99 over
    80-300 K): the output shows the correlation, warns above 0.95, and --fix-elo adds the
    fixed-E_LO rows (Gamma0, gamma_LO, r2, AIC) so you can see how much gamma_LO depends on
    the assumed E_LO.

    Examples:

      qdstack tpl series.csv --fix-elo 10,20,30

      qdstack tpl PL_010K.csv PL_080K.csv PL_150K.csv PL_300K.csv --out tpl/
    """
    import numpy as np

    from qdstack.analysis.tpl import analyse_tpl

    fixed = _parse_fix(fix)
    elos = parse_float_list(fix_elo, "--fix-elo") or []
    if any(not (v > 0) for v in elos):
        raise OptionError("E_LO values must be positive meV", "--fix-elo")
    spectra = []
    with captured_warnings() as warned:
        if len(files) == 1 and _is_table(files[0]):
            if temperatures is not None:
                raise OptionError(
                    "a table has its own temperature_K column; drop --temperatures",
                    "--temperatures",
                )
            if column is not None:
                raise OptionError(
                    "--column picks the intensity column of spectra, not of a table", "--column"
                )
            from qdstack.io.columns import read_columns

            cols = read_columns(files[0], _TABLE_COLUMNS, optional=("peak_eV_err", "fwhm_meV_err"))
            T, E, G = cols["temperature_K"], cols["peak_eV"], cols["fwhm_meV"]
            Ee, Ge = cols.get("peak_eV_err"), cols.get("fwhm_meV_err")
            if np.any(T <= 0):
                raise FileFormatError("temperature_K must be positive", str(files[0]))
            analysis = analyse_tpl(
                T, E, G, peak_eV_err=Ee, fwhm_meV_err=Ge, fix_elo_meV=elos, fixed=fixed
            )
        else:
            from qdstack.analysis.tpl.spectra import fit_tpl_spectra
            from qdstack.io.spectrum import read_spectrum

            T_list = parse_float_list(temperatures, "--temperatures")
            if T_list is None:
                T_list = []
                for path in files:
                    t = temperature_from_name(str(path))
                    if t is None:
                        raise OptionError(
                            "no temperature in the file name (expected e.g. PL_010K.csv); give them with "
                            "--temperatures",
                            str(path),
                        )
                    T_list.append(t)
            if len(T_list) != len(files):
                raise OptionError(
                    f"{len(files)} spectra but {len(T_list)} temperatures", "--temperatures"
                )
            if any(not (t > 0) for t in T_list):
                raise OptionError("temperatures must be positive kelvin", "--temperatures")
            spectra = [read_spectrum(path, kind="emission", column=column) for path in files]
            analysis = fit_tpl_spectra(
                spectra,
                T_list,
                profile=profile,
                emin_eV=emin,
                emax_eV=emax,
                fix_elo_meV=elos,
                fixed=fixed,
                files=[str(p) for p in files],
                progress=progress if len(files) > 4 else None,
            )
    result = analysis.to_dict()
    result["warnings"] = list(dict.fromkeys(list(result["warnings"]) + list(warned)))

    def figures():
        from qdstack.plotting.tpl import plot_linewidth, plot_peak_energy

        figs = {
            "tpl_peak_energy": lambda: plot_peak_energy(analysis).figure,
            "tpl_linewidth": lambda: plot_linewidth(analysis).figure,
        }
        if spectra:
            figs["tpl_spectra"] = analysis.plot_spectra
        return figs

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=analysis.print_summary,
    )
