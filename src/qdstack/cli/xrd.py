"""``qdstack xrd``: scattering peaks (q, d = 2 pi/q, FWHM) and in-plane vs out-of-plane periods."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit, parse_float_list
from qdstack.errors import OptionError


def _resolve_gap(linker, gap_nm, linker_method, linker_offset_nm, edge_nm):
    """(gap_nm, source) from --linker or --gap-nm; None when neither is given."""
    if linker is not None and gap_nm is not None:
        raise OptionError("give either --linker or --gap-nm, not both", "--linker")
    if linker is None and gap_nm is None:
        return None, None
    if edge_nm is None:
        raise OptionError("comparing with edge + gap needs --edge-nm", "--edge-nm")
    if gap_nm is not None:
        if not (math.isfinite(gap_nm) and gap_nm >= 0):
            raise OptionError(f"must be a non-negative number of nm, got {gap_nm}", "--gap-nm")
        return float(gap_nm), "--gap-nm"
    from qdstack.linkers import linker_gap_nm

    gap = linker_gap_nm(linker, method=linker_method, offset_nm=linker_offset_nm)
    return gap, f"linker {linker} ({linker_method})"


def _profile_info(profile) -> dict:
    return {
        "file": profile.source,
        "format": profile.format,
        "scan": profile.scan,
        "n_scans": profile.n_scans,
        "x_unit": profile.x_unit,
        "wavelength_nm": profile.wavelength_nm,
        "wavelength_source": profile.wavelength_source,
        "intensity_unit": profile.intensity_unit,
    }


def command(
    file: Path = typer.Argument(
        None,
        help="Profile: text (.xy/.xye/.csv/...: x in q [nm^-1 or A^-1] or 2theta [deg], named in the "
        "header) or a diffractometer file (.xrdml, .ras, .brml, Bruker .raw). Omit it and give "
        "--in-plane and --out-of-plane to compare the two directions of a film.",
        show_default=False,
    ),
    in_plane: Path = typer.Option(
        None, "--in-plane", help="Profile measured along the film plane (e.g. a GISAXS q_y cut)."
    ),
    out_of_plane: Path = typer.Option(
        None,
        "--out-of-plane",
        help="Profile measured along the film normal (e.g. a specular scan, a q_z cut).",
    ),
    qmin: float = typer.Option(
        None, "--qmin", help="Fit from this q [nm^-1] (default: the whole profile)."
    ),
    qmax: float = typer.Option(None, "--qmax", help="Fit up to this q [nm^-1]."),
    peaks: int = typer.Option(
        1, "--peaks", help="Number of Gaussian peaks K (1-6); reported sorted by q."
    ),
    method: str = typer.Option(
        "joint",
        "--method",
        help="joint: fit the profile and its Savitzky-Golay 1st and 2nd derivatives together (the "
        "paper's method); raw: fit the profile alone.",
    ),
    background: str = typer.Option(
        "auto",
        "--background",
        help="auto (lowest BIC of a power law and polynomials of degree 1-4), poly (degree from "
        "--degree) or powerlaw (a q^-n + c).",
    ),
    degree: int = typer.Option(2, "--degree", help="Polynomial degree 0-5 for --background poly."),
    sg_window: int = typer.Option(
        None,
        "--sg-window",
        help="Savitzky-Golay window [points, odd] of the joint fit (default: half the narrowest FWHM).",
    ),
    guess: str = typer.Option(
        None, "--guess", help="Starting peak centres [nm^-1], e.g. 0.63,0.82 (one per peak)."
    ),
    scan: int = typer.Option(
        None, "--scan", help="Scan number (1-based) in a multi-scan file; default the first."
    ),
    x_unit: str = typer.Option(
        None,
        "--x-unit",
        help="x unit of a text file whose header names none: nm^-1, A^-1 or 2theta.",
    ),
    wavelength_nm: float = typer.Option(
        None,
        "--wavelength-nm",
        help="X-ray wavelength [nm] for 2theta data. Default: the one the file states, else Cu K-alpha 0.15406.",
    ),
    edge_nm: float = typer.Option(
        None, "--edge-nm", help="Mean dot edge L [nm]: compare the period with L + gap."
    ),
    edge_err_nm: float = typer.Option(
        0.0, "--edge-err-nm", help="Uncertainty of the mean edge [nm]."
    ),
    linker: str = typer.Option(
        None, "--linker", help="Linker name or SMILES: gap = its S-S distance (linker library)."
    ),
    linker_method: str = typer.Option(
        "mmff", "--linker-method", help="Geometry level of the linker: mmff, gfn2, b3lyp."
    ),
    linker_offset_nm: float = typer.Option(
        0.0, "--linker-offset-nm", help="Added to the S-S distance to give the gap [nm]."
    ),
    gap_nm: float = typer.Option(
        None, "--gap-nm", help="Gap between dots D [nm] instead of --linker."
    ),
    gap_err_nm: float = typer.Option(0.0, "--gap-err-nm", help="Uncertainty of the gap [nm]."),
    period_peak: int = typer.Option(
        None,
        "--period-peak",
        help="Which peak (1-based, in q order) gives the period; default the strongest.",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Scattering peaks of a quantum-dot film: q, d = 2 pi / q and FWHM, with standard errors.

    Each peak is a Gaussian in q on a smooth background (power law or polynomial,
    chosen by BIC unless --background says). With --method joint (default) the
    profile and its Savitzky-Golay first and second derivatives are fitted
    together, the model going through the same filters as the data, with one
    composite residual in units of each data set's propagated noise; the errors
    are the sandwich covariance of that estimator (the derivative data are not
    independent of the profile). The plain fit of the profile is run too and
    reported as raw_fit_q_per_nm; a warning says when the two disagree.
    d = 2 pi / q, d_err = 2 pi q_err / q^2. Counts get Poisson weights.

    Two directions: --in-plane A --out-of-plane B report both periods, the ratio
    out-of-plane / in-plane and, with --edge-nm and --linker or --gap-nm, the
    out-of-plane period against edge + gap (z-score).

    Examples:

      qdstack xrd film_oop.xy --qmin 0.45 --qmax 1.2

      qdstack xrd --in-plane ip.xy --out-of-plane oop.xy --qmin 0.45 --qmax 1.2 --edge-nm 6.8 --gap-nm 0.55 --out res/
    """
    from qdstack.analysis.xrd import compare_directions, compare_period, fit_profile
    from qdstack.io.profile import parse_x_unit, read_profile

    pair = in_plane is not None or out_of_plane is not None
    if pair and file is not None:
        raise OptionError(
            "give either FILE or --in-plane and --out-of-plane, not both", "--in-plane"
        )
    if pair and (in_plane is None or out_of_plane is None):
        raise OptionError(
            "give both --in-plane and --out-of-plane",
            "--in-plane" if in_plane is None else "--out-of-plane",
        )
    if not pair and file is None:
        raise OptionError("give a profile FILE, or --in-plane and --out-of-plane", "FILE")
    if method not in ("joint", "raw"):
        raise OptionError(f"unknown method {method!r}; use joint or raw", "--method")
    if background not in ("auto", "poly", "powerlaw"):
        raise OptionError(
            f"unknown background {background!r}; use auto, poly or powerlaw", "--background"
        )
    if not 1 <= peaks <= 6:
        raise OptionError(f"the number of peaks must be 1-6, got {peaks}", "--peaks")
    if edge_nm is not None and not (math.isfinite(edge_nm) and edge_nm > 0):
        raise OptionError(f"must be a positive number of nm, got {edge_nm}", "--edge-nm")
    for name, value in (("--edge-err-nm", edge_err_nm), ("--gap-err-nm", gap_err_nm)):
        if not (math.isfinite(value) and value >= 0):
            raise OptionError(f"must be a non-negative number of nm, got {value}", name)
    unit = parse_x_unit(x_unit)
    guesses = parse_float_list(guess, "--guess")
    fit_kw = dict(
        peaks=peaks,
        method=method,
        background=background,
        degree=degree,
        qmin_per_nm=qmin,
        qmax_per_nm=qmax,
        sg_window=sg_window,
        guess_q_per_nm=guesses,
    )

    with captured_warnings() as warned:
        gap, gap_source = _resolve_gap(linker, gap_nm, linker_method, linker_offset_nm, edge_nm)
        if edge_nm is not None and gap is None:
            raise OptionError("--edge-nm needs the gap: give --linker or --gap-nm", "--edge-nm")
        if not pair:
            profile = read_profile(file, scan=scan, x_unit=unit, wavelength_nm=wavelength_nm)
            fit = fit_profile(profile, **fit_kw)
            result = fit.to_dict()
            result.update(_profile_info(profile))
            comparison = None
            if gap is not None:
                comparison = compare_period(
                    fit,
                    edge_nm,
                    gap,
                    edge_err_nm=edge_err_nm,
                    gap_err_nm=gap_err_nm,
                    gap_source=gap_source,
                    peak=period_peak,
                )
                result["comparison"] = comparison.to_dict()
            fits = {"": fit}
        else:
            fits, infos = {}, {}
            for key, path in (("in_plane", in_plane), ("out_of_plane", out_of_plane)):
                profile = read_profile(path, scan=scan, x_unit=unit, wavelength_nm=wavelength_nm)
                fits[key] = fit_profile(profile, **fit_kw)
                infos[key] = _profile_info(profile)
            expected = None
            if gap is not None:
                expected = compare_period(
                    fits["out_of_plane"],
                    edge_nm,
                    gap,
                    edge_err_nm=edge_err_nm,
                    gap_err_nm=gap_err_nm,
                    gap_source=gap_source,
                    peak=period_peak,
                )
            comparison = compare_directions(
                fits["in_plane"],
                fits["out_of_plane"],
                out_of_plane_peak=period_peak,
                expected=expected,
            )
            all_peaks = []
            for key in ("in_plane", "out_of_plane"):
                for p in fits[key].peaks:
                    all_peaks.append({**p.to_dict(), "direction": key.replace("_", "-")})
            all_peaks.sort(key=lambda p: p["q_per_nm"])
            result = {
                "peaks": all_peaks,
                "in_plane": {**fits["in_plane"].to_dict(), **infos["in_plane"]},
                "out_of_plane": {**fits["out_of_plane"].to_dict(), **infos["out_of_plane"]},
                "directions": comparison.to_dict(),
                "method": method,
            }
    own = []
    for f in fits.values():
        own += list(f.warnings)
    result["warnings"] = list(dict.fromkeys(own + list(warned)))

    def figures():
        from qdstack.plotting.xrd import plot_xrd_derivatives, plot_xrd_directions, plot_xrd_fit

        figs = {}
        for key, f in fits.items():
            stem = f"xrd_{key}_" if key else "xrd_"
            figs[stem + "fit"] = lambda f=f: plot_xrd_fit(f).figure
            if f.d1_data is not None:
                figs[stem + "derivatives"] = lambda f=f: plot_xrd_derivatives(f)[0].figure
        if pair:
            figs["xrd_directions"] = lambda: (
                plot_xrd_directions(comparison, fits["in_plane"], fits["out_of_plane"]).figure
            )
        return figs

    def summary(console):
        from qdstack._result import Summary

        blocks: list = []
        for key, f in fits.items():
            blocks.extend(f.summary_blocks(label=key.replace("_", "-") if key else None))
        if comparison is not None:
            blocks.extend(comparison.summary_blocks())
        Summary(tuple(blocks)).rich(console)

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=summary,
    )
