"""``qdstack plqy``: photoluminescence quantum yield from three integrating-sphere spectra."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit, parse_float_list
from qdstack.errors import OptionError


def _window(text: str | None, option: str):
    values = parse_float_list(text, option)
    if values is None:
        return None
    if len(values) != 2 or values[0] == values[1] or min(values) <= 0:
        raise OptionError("give two different positive wavelengths, e.g. 400,410", option)
    return (min(values), max(values))


def command(
    empty: Path = typer.Option(
        ..., "--empty", help="Spectrum A: the empty sphere (laser only).", show_default=False
    ),
    out_of_beam: Path = typer.Option(
        ...,
        "--out-of-beam",
        help="Spectrum B: sample in the sphere, out of the beam.",
        show_default=False,
    ),
    in_beam: Path = typer.Option(
        ..., "--in-beam", help="Spectrum C: sample in the beam.", show_default=False
    ),
    response: Path = typer.Option(
        None,
        "--response",
        help="Spectral-response correction: two columns, wavelength (nm) and the factor that multiplies "
        "the measured signal (interpolated linearly onto the spectra's grid).",
    ),
    laser_window_nm: str = typer.Option(
        None, "--laser-window-nm", help="Laser window 'a,b' in nm (default: found automatically)."
    ),
    emission_window_nm: str = typer.Option(
        None,
        "--emission-window-nm",
        help="Emission window 'a,b' in nm (default: found automatically).",
    ),
    noise: str = typer.Option(
        "counts",
        "--noise",
        help="'counts': the files hold raw detector counts (Poisson + dark/read noise from the baseline); "
        "'baseline': scaled values, only the baseline scatter (errors are then lower bounds).",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """PLQY by the three-measurement integrating-sphere method of de Mello et al. (1997).

    A: empty sphere; B: sample in the sphere out of the beam; C: sample in the beam.
    L = laser-line integral, P = emission integral (dark level subtracted, response
    corrected). Absorptance A = 1 - L_C/L_B and

        PLQY = (P_C - (1 - A) P_B) / (L_A A).

    The two-measurement shortcut (P_C - P_A)/(L_A - L_C) is reported beside it. The
    three spectra must share one wavelength grid. Errors: Poisson + baseline noise
    per point, propagated through both formulas (see docs/guide/plqy.md).

    Example: qdstack plqy --empty A.csv --out-of-beam B.csv --in-beam C.csv --response resp.csv
    """
    from qdstack.analysis.plqy import plqy_from_files

    if noise not in ("counts", "baseline"):
        raise OptionError(f"unknown noise model {noise!r}; use counts or baseline", "--noise")
    lw = _window(laser_window_nm, "--laser-window-nm")
    ew = _window(emission_window_nm, "--emission-window-nm")
    with captured_warnings() as warned:
        res = plqy_from_files(
            empty,
            out_of_beam,
            in_beam,
            response=response,
            laser_window_nm=lw,
            emission_window_nm=ew,
            noise=noise,
        )
    result = res.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned))

    def figures():
        return {"plqy": res.plot}

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=res.print_summary,
    )
