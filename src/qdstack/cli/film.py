"""``qdstack film``: stacking period and thickness of a layer-by-layer film, against a measurement."""

from __future__ import annotations

import math

import typer

from qdstack.cli._common import JSON_OPTION, captured_warnings, emit
from qdstack.errors import OptionError


def command(
    layers: int = typer.Option(..., "--layers", help="Number of dot layers N.", show_default=False),
    edge_nm: float = typer.Option(
        ..., "--edge-nm", help="Mean dot edge L [nm] (e.g. from TEM).", show_default=False
    ),
    linker: str = typer.Option(
        None,
        "--linker",
        help="Linker name or SMILES (C3DT, C10DT, ...): the gap D is its S-S distance.",
    ),
    gap_nm: float = typer.Option(
        None, "--gap-nm", help="Gap D between neighbouring dots [nm], instead of --linker."
    ),
    gap_err_nm: float = typer.Option(
        0.0, "--gap-err-nm", help="Uncertainty of the gap [nm] (the same in every layer)."
    ),
    linker_method: str = typer.Option(
        "mmff", "--linker-method", help="Linker geometry level: mmff, gfn2 or b3lyp."
    ),
    linker_offset_nm: float = typer.Option(
        0.0,
        "--linker-offset-nm",
        help="Added to the S-S distance to give the gap [nm] (e.g. S-surface bonds).",
    ),
    edge_sd_nm: float = typer.Option(
        0.0,
        "--edge-sd-nm",
        help="Standard deviation of the dot-edge distribution [nm] (width of the size histogram).",
    ),
    propagation: str = typer.Option(
        "column",
        "--propagation",
        help="How --edge-sd-nm enters the thickness: column (sqrt(N/M) S: N independent dots in a column, "
        "averaged over M columns) or systematic (N S: every layer off by the same amount).",
    ),
    columns: int = typer.Option(
        1,
        "--columns",
        help="M: independent dot columns the measured thickness averages over (column propagation).",
    ),
    measured_nm: float = typer.Option(
        None, "--measured-nm", help="Measured film thickness [nm] (e.g. cross-section SEM)."
    ),
    measured_err_nm: float = typer.Option(
        None, "--measured-err-nm", help="Standard error of the measured thickness [nm]."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Period and thickness of an N-layer quantum-dot film, and a z-score against a measured thickness.

    period = L + D (dot edge + linker gap), thickness = N * period. The size
    distribution (--edge-sd-nm S) enters as sqrt(N/M) S for a column of N
    independent dots averaged over M columns (--propagation column, the default:
    right for a local cross-section reading and its scatter), or N S
    (--propagation systematic: S is the uncertainty of the mean edge). The gap
    uncertainty adds N dD. period_nm_err = thickness_nm_err / N.
    z_score = (thickness - measured) / sqrt(err^2 + measured_err^2); |z| < 2 agrees.

    Example (the paper's check, Fig. S4: 147 nm predicted vs 130 +- 10 nm by SEM):

      qdstack film --layers 20 --edge-nm 6.8 --gap-nm 0.55 --measured-nm 130 --measured-err-nm 10
    """
    from qdstack.analysis.thickness import film_thickness
    from qdstack.linkers import linker_gap_nm

    if linker is not None and gap_nm is not None:
        raise OptionError("give either --linker or --gap-nm, not both", "--linker")
    if linker is None and gap_nm is None:
        raise OptionError("give the gap between the dots: --linker NAME or --gap-nm D", "--gap-nm")
    if propagation not in ("column", "systematic"):
        raise OptionError(
            f"unknown propagation {propagation!r}; use column or systematic", "--propagation"
        )
    if gap_nm is not None and not (math.isfinite(gap_nm) and gap_nm >= 0):
        raise OptionError(f"must be a non-negative number of nm, got {gap_nm}", "--gap-nm")
    with captured_warnings() as warned:
        if linker is not None:
            gap = linker_gap_nm(linker, method=linker_method, offset_nm=linker_offset_nm)
            source = (
                f"linker {linker} ({linker_method}"
                + (f", +{linker_offset_nm:g} nm" if linker_offset_nm else "")
                + ")"
            )
        else:
            gap, source = gap_nm, "--gap-nm"
        result_obj = film_thickness(
            layers,
            edge_nm,
            gap,
            edge_sd_nm=edge_sd_nm,
            gap_err_nm=gap_err_nm,
            propagation=propagation,
            columns=columns,
            measured_nm=measured_nm,
            measured_err_nm=measured_err_nm,
            gap_source=source,
        )
    result = result_obj.to_dict()
    result["warnings"] = list(dict.fromkeys(list(result_obj.warnings) + list(warned)))

    emit(result, json_output=json_output, summary=result_obj.print_summary)
