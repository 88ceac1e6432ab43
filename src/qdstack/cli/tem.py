"""``qdstack tem``: particle sizes (cube edge or sphere diameter) from an electron micrograph."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, progress, run_on_image


def command(
    image: Path = typer.Argument(
        ...,
        help="Micrograph: Gatan .dm3/.dm4, Velox or Berkeley .emd, FEI TIA .ser, HyperSpy .hspy, "
        ".tif/.tiff (FEI/TFS or ImageJ calibration), or .png/.jpg with --pixel-nm or --scale-bar-nm.",
        show_default=False,
    ),
    pixel_nm: float = typer.Option(
        None, "--pixel-nm", help="Pixel size [nm]; overrides the file's calibration."
    ),
    scale_bar_nm: float = typer.Option(
        None,
        "--scale-bar-nm",
        help="Length [nm] of the burned-in scale bar: the bar (a thin uniform bright or dark horizontal "
        "line) is found and gives the pixel size; the bar and its label are left out of the analysis.",
    ),
    crop: str = typer.Option(
        None,
        "--crop",
        help="Analyse only x0,y0,x1,y1 (pixels of the file, end exclusive), e.g. the image inside a "
        "screenshot; the scale bar is searched inside the crop.",
    ),
    shape: str = typer.Option(
        "auto",
        "--shape",
        help="cube (edge, face to face along the minimum-Feret direction), sphere (equivalent-circle "
        "diameter) or auto (cube when the median rectangularity exceeds 0.88).",
    ),
    contrast: str = typer.Option(
        "auto",
        "--contrast",
        help="dark (bright-field TEM: dark particles), bright (HAADF STEM: bright particles) or auto.",
    ),
    threshold: str = typer.Option(
        "otsu",
        "--threshold",
        help="otsu (global, moved to the mid level between background and particles) or local "
        "(block threshold: dense arrays whose gaps never reach the background level).",
    ),
    smooth_px: float = typer.Option(
        None, "--smooth-px", help="Gaussian smoothing before the threshold [px]."
    ),
    min_size_nm: float = typer.Option(
        None, "--min-size-nm", help="Ignore objects smaller than this [nm]."
    ),
    no_split: bool = typer.Option(
        False, "--no-split", help="Do not split touching particles (no watershed)."
    ),
    bins: int = typer.Option(
        None, "--bins", help="Histogram bins of the fits (default: Freedman-Diaconis)."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Count and size the nanocrystals of a TEM/STEM micrograph: edge of cubes or diameter of spheres.

    The image is flattened (a quadratic background fitted to the background
    phase is removed), smoothed and thresholded at the mid level between the
    background and the particle interiors (the half-height edge of a blurred
    particle); touching particles are split by a watershed on the distance to
    the background plus the intensity. Particles cut by the border (or by the
    masked scale bar) and clusters that cannot be split (solidity < 0.85,
    elongation > 1.6, or over 3x the median area and solidity < 0.93) are left out and
    counted.

    Cubes: edge = face-to-face distance along the minimum-Feret direction of
    the sub-pixel outline (also reported: the minimum Feret diameter itself and
    sqrt(area)); orientation mod 90 deg. Spheres: diameter = sqrt(4 A / pi).
    Statistics: mean +- sd/sqrt(n), sd, median; normal and log-normal fits of
    the histogram (lmfit) with errors. `qdstack simulate --sizes results.json`
    draws the film model's dot edges from the sizes measured here.

    Examples:

      qdstack tem particles.dm4 --out tem/

      qdstack tem screenshot.png --crop 198,192,574,568 --scale-bar-nm 100 --shape cube --threshold local
    """
    from qdstack.analysis.tem import measure_particles
    from qdstack.io.image import parse_crop

    def analyse(micro):
        return measure_particles(
            micro,
            shape=shape,
            contrast=contrast,
            threshold=threshold,
            smooth_px=smooth_px,
            min_size_nm=min_size_nm,
            split=not no_split,
            bins=bins,
            progress=lambda items, desc, total: progress(items, desc, total=total),
        )

    def figures(result):
        from qdstack.plotting.tem import plot_tem_histogram, plot_tem_overlay

        return {
            "tem_overlay": lambda: plot_tem_overlay(result).figure,
            "tem_histogram": lambda: plot_tem_histogram(result).figure,
        }

    run_on_image(
        image,
        analyse,
        json_output=json_output,
        out_dir=out,
        figures=figures,
        pixel_nm=pixel_nm,
        scale_bar_nm=scale_bar_nm,
        crop=parse_crop(crop),
    )
