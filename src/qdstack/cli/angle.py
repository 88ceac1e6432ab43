"""``qdstack angle``: angle-dependent PL -- peak, width and intensity vs angle, and what shifts the peak."""

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
    value_from_name,
)
from qdstack.errors import OptionError

_ANGLE_PATTERNS = (
    re.compile(
        r"(?<![0-9.])([-+]?\d+(?:\.\d+)?)\s*(?:deg(?:rees?)?|°)(?![a-z])", re.I
    ),  # 30deg, 30 deg, 30°
    re.compile(
        r"(?:angle|theta|ang)[-_ ]?([-+]?\d+(?:\.\d+)?)(?![0-9])", re.I
    ),  # angle30, theta_30
)


def angle_from_name(path: str) -> float | None:
    """Detection angle written in a file name (``30deg``, ``30°``, ``angle30``, ``theta_30``), else None.

    Raises
    ------
    OptionError
        If the name holds two different angles.
    """
    stem = Path(path).name
    stem = (
        stem[: -len(Path(path).suffix)]
        if Path(path).suffix.lower() in (".csv", ".txt", ".dat", ".asc", ".tsv")
        else stem
    )
    return value_from_name(path, _ANGLE_PATTERNS, "angles", "--angles", name=stem)


def command(
    files: list[Path] = typer.Argument(
        ...,
        help="PL spectra, one per detection angle (text: wavelength in nm or energy in eV, intensity; "
        "or Princeton Instruments .spe).",
        show_default=False,
    ),
    angles: str = typer.Option(
        None,
        "--angles",
        help="Detection angle of each spectrum from the film normal [deg], in order (e.g. 0,15,30,45,60). "
        "Default: read from each file name (30deg, 30°, angle30, theta_30).",
    ),
    n_film: float = typer.Option(
        1.8,
        "--n-film",
        help="Effective refractive index of the film (Snell and Fresnel at the film/air surface).",
    ),
    urbach_meV: float = typer.Option(
        20.0,
        "--urbach-meV",
        help="Urbach energy of the absorption tail in the re-absorption model [meV].",
    ),
    absorption: Path = typer.Option(
        None,
        "--absorption",
        help="Absorbance spectrum of the film: its shape replaces the Urbach tail in the re-absorption model.",
    ),
    column: str = typer.Option(
        None,
        "--column",
        help="Intensity column of multi-column spectra (0-based index or header name); default the "
        "second column. The same key in a study manifest is pl_column.",
    ),
    emin: float = typer.Option(None, "--emin-eV", help="Use energies above this [eV] only."),
    emax: float = typer.Option(None, "--emax-eV", help="Use energies below this [eV] only."),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Angle-dependent PL: peak energy, FWHM and intensity per angle, the shift vs angle, and its cause.

    Each spectrum is measured with the same peak fit as `qdstack tpl` (Gaussian on
    the top half of the band; FWHM from the half-maximum crossings; intensity
    integrated over the spectrum). shift_meV is relative to the angle closest to
    the normal. Then three models are fitted to all spectra at once, sharing one
    line shape (free per-angle amplitude and straight baseline):

    * isotropic: nothing changes with the angle;

    * (a) anisotropic-emission: a fraction f of out-of-plane dipoles emits Delta
    below the in-plane ones; dipole patterns (1 + cos^2)/2 and sin^2 inside the
    film, Snell + Fresnel at the surface. Fits f (fraction) and Delta (offset_meV);

    * (b) reabsorption: emitters through the depth, path z / cos(theta_inside),
    Urbach absorption tail (or --absorption). Fits tau = alpha*d at the PL peak.

    The model with the lowest BIC is "model"; "models" has all three with AIC and
    BIC, "selection" the differences and their strength. Both red-shift the band,
    but differently: in (a) its red side grows and the blue edge stays; in (b) its
    blue side is absorbed and the red edge stays -- which is what the fit of the
    whole spectra tells apart. Intensities vs angle are reported, not modelled
    (the excitation spot changes with the rotation).

    Example: qdstack angle pl_0deg.csv pl_15deg.csv pl_30deg.csv pl_45deg.csv pl_60deg.csv --out res/
    """
    from qdstack.analysis.angle import analyse_angle_series
    from qdstack.io.spectrum import read_spectrum

    if len(files) < 2:
        raise OptionError("an angle series needs at least two spectra", "SPECTRUM")
    if not (math.isfinite(n_film) and 1.0 < n_film < 5.0):
        raise OptionError(f"must be between 1 and 5, got {n_film}", "--n-film")
    if not (math.isfinite(urbach_meV) and urbach_meV > 0):
        raise OptionError(f"must be a positive energy in meV, got {urbach_meV}", "--urbach-meV")
    with captured_warnings() as warned:
        spectra = [read_spectrum(p, kind="emission", column=column) for p in files]
        angle_list = parse_float_list(angles, "--angles")
        if angle_list is None:
            angle_list = []
            for p in files:
                a = angle_from_name(str(p))
                if a is None:
                    raise OptionError(
                        "no angle in the file name (expected e.g. 30deg, 30°, angle30 or theta_30); give "
                        "them with --angles",
                        str(p),
                    )
                angle_list.append(a)
        if len(angle_list) != len(spectra):
            raise OptionError(f"{len(spectra)} spectra but {len(angle_list)} angles", "--angles")
        for a in angle_list:
            if not abs(a) < 90:
                raise OptionError(f"angle {a:g} deg is not between -90 and 90 deg", "--angles")
        absorbance = (
            read_spectrum(absorption, kind="absorption") if absorption is not None else None
        )
        series = analyse_angle_series(
            spectra,
            angle_list,
            n_film=n_film,
            urbach_meV=urbach_meV,
            absorption=absorbance,
            emin_eV=emin,
            emax_eV=emax,
            files=[str(p) for p in files],
        )
    result = series.to_dict()
    result["warnings"] = list(dict.fromkeys(list(series.warnings) + list(warned)))

    def figures():
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.angle import plot_angle_shift, plot_angle_spectra, plot_angle_width

        def shift_and_width():
            fig, axes = new_figure(1, 2, figsize=(11.5, 4.4))
            plot_angle_shift(series, ax=axes[0])
            plot_angle_width(series, ax=axes[1])
            return fig

        return {
            "angle_spectra": lambda: plot_angle_spectra(series).figure,
            "angle_shift": shift_and_width,
        }

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=series.print_summary,
    )
