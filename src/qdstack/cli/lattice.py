"""``qdstack lattice``: lattice spacings of an HRTEM/HAADF image and a check of its calibration."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, run_on_image


def command(
    image: Path = typer.Argument(
        ...,
        help="Atomic-resolution image: .dm3/.dm4, .emd, .ser, .hspy, .tif (calibrated), or .png/.jpg with --pixel-nm.",
        show_default=False,
    ),
    pixel_nm: float = typer.Option(
        None, "--pixel-nm", help="Pixel size [nm]; overrides the file's calibration."
    ),
    crystal: str = typer.Option(
        None,
        "--crystal",
        help="Match the spacings to a crystal's planes and report the calibration factor: CsPbBr3 "
        "(cubic, a = 0.5874 nm), CsPbBr3-ortho (Pnma), SrTiO3 (a = 0.3905 nm), or a cell a=0.59[,b=..,c=..] (nm).",
    ),
    crop: str = typer.Option(
        None, "--crop", help="Analyse only x0,y0,x1,y1 (pixels, end exclusive)."
    ),
    max_spacings: int = typer.Option(
        8, "--max-spacings", help="Report at most this many spacings (strongest)."
    ),
    d_min_nm: float = typer.Option(
        None, "--d-min-nm", help="Ignore spacings below this [nm] (default: max(2.5 px, 0.06 nm))."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Lattice spacings d (with errors) from the Fourier transform of an HRTEM/HAADF image.

    The central square of the image is multiplied by a 2-D Hann window and
    Fourier transformed; spots standing out of the power spectrum are located
    to sub-bin precision and grouped by |k| = 1/d (Friedel mates counted once;
    the spread of a group's spots shows scan distortion and enters the error);
    rings of the radial average are added for polycrystalline images. With
    --crystal the spacings are matched to the crystal's planes with one common
    factor: scale_factor is the factor the pixel size would need (true pixel =
    scale_factor x the file's), a check of the microscope's calibration.

    Examples:

      qdstack lattice sto.emd --crystal SrTiO3

      qdstack lattice hrtem.dm4 --crystal CsPbBr3 --out lattice/
    """
    from qdstack.analysis.lattice import measure_lattice, parse_crystal
    from qdstack.errors import OptionError
    from qdstack.io.image import parse_crop

    cell = parse_crystal(crystal)
    box = parse_crop(crop)
    if max_spacings < 1:
        raise OptionError(f"must be at least 1, got {max_spacings}", "--max-spacings")
    if d_min_nm is not None and not d_min_nm > 0:
        raise OptionError(f"must be a positive length in nm, got {d_min_nm}", "--d-min-nm")

    def figures(result):
        from qdstack.plotting.tem import plot_lattice_fft, plot_lattice_profile

        return {
            "lattice_fft": lambda: plot_lattice_fft(result).figure,
            "lattice_profile": lambda: plot_lattice_profile(result).figure,
        }

    run_on_image(
        image,
        lambda micro: measure_lattice(
            micro, crystal=cell, max_spacings=max_spacings, d_min_nm=d_min_nm
        ),
        json_output=json_output,
        out_dir=out,
        figures=figures,
        pixel_nm=pixel_nm,
        crop=box,
    )
