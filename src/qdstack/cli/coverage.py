"""``qdstack coverage``: dots per µm² and the close-packed fraction of a monolayer from its OD."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import FileFormatError, OptionError


def _from_absorption_json(path: Path, layers: int | None):
    """(od, od_err, spectrum file or None) of the monolayer in an absorption results.json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError("no such file", str(path)) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"not a readable JSON file ({exc})", str(path)) from None
    spectra = data.get("spectra") if isinstance(data, dict) else None
    if not isinstance(spectra, list) or not spectra:
        raise FileFormatError("not an absorption results.json (no 'spectra' list)", str(path))
    want = 1 if layers is None else layers
    rows = [s for s in spectra if isinstance(s, dict) and s.get("layers") == want]
    if not rows:
        have = sorted({s.get("layers") for s in spectra if isinstance(s, dict)}, key=str)
        raise FileFormatError(
            f"no spectrum with layers = {want} (layers present: {have})", str(path)
        )
    row = rows[0]
    od = row.get("od")
    if not isinstance(od, (int, float)):
        raise FileFormatError(f"the layers = {want} spectrum has no numeric 'od'", str(path))
    err = row.get("od_err") if isinstance(row.get("od_err"), (int, float)) else 0.0
    spec = row.get("file")
    if isinstance(spec, str):
        p = Path(spec)
        if not p.is_absolute():
            p = (path.parent / p) if (path.parent / p).is_file() else p
        spec = p if p.is_file() else None
    else:
        spec = None
    return float(od), float(err), spec


def command(
    od: float = typer.Option(None, "--od", help="OD of the monolayer at its first excitonic peak."),
    edge_nm: float = typer.Option(
        ..., "--edge-nm", help="Cube edge L [nm] (e.g. the TEM mean).", show_default=False
    ),
    shell_nm: float = typer.Option(
        0.0, "--shell-nm", help="Ligand shell per face [nm]; pitch = L + 2 s."
    ),
    od_err: float = typer.Option(0.0, "--od-err", help="Standard error of the OD."),
    edge_err_nm: float = typer.Option(
        0.0, "--edge-err-nm", help="Standard error of the mean edge [nm]."
    ),
    od_ratio: float = typer.Option(
        None, "--od-ratio", help="OD(first peak) / OD(3.1 eV = 400 nm) of the same sample."
    ),
    od_3p1ev: float = typer.Option(
        None, "--od-3p1ev", help="OD of the same layer at 3.1 eV (400 nm)."
    ),
    spectrum: Path = typer.Option(
        None,
        "--spectrum",
        help="The layer's absorption spectrum: the first-peak OD (unless --od is given) and the OD at 400 nm (3.1 eV) are read from it.",
    ),
    absorption_json: Path = typer.Option(
        None,
        "--absorption-json",
        help="results.json of 'qdstack absorption': the monolayer's OD (and its spectrum file).",
    ),
    layers: int = typer.Option(
        None, "--layers", help="Which layer count of --absorption-json to use (default 1)."
    ),
    cross_section_cm2: float = typer.Option(
        None, "--cross-section-cm2", help="Your own per-dot cross section at the first peak [cm^2]."
    ),
    sides: int = typer.Option(
        1, "--sides", help="Coated faces the beam crosses (dip coating coats 2)."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Dots per µm² and the fraction of a close-packed square monolayer, from the layer's OD.

    n = OD ln(10) / sigma, with the per-dot cross section sigma of a CsPbBr3 cube of
    edge L: sigma(3.1 eV) = mu_i L^3 (mu_i = 1.25e5 cm^-1, size-independent at 3.1 eV,
    Maes et al., J. Phys. Chem. Lett. 2018; valid 4-11 nm; +-30 %). At the first
    excitonic peak sigma is scaled by the sample's own OD ratio first peak / 3.1 eV
    (--od-ratio, --od-3p1ev, or read from --spectrum). Coverage = n (L + 2 s)^2.

    Example: qdstack coverage --spectrum monolayer.csv --edge-nm 6.8 --shell-nm 0.5
    """
    from qdstack.analysis.coverage import coverage_from_spectrum, monolayer_coverage

    if absorption_json is not None:
        if od is not None:
            raise OptionError("give either --od or --absorption-json, not both", "--od")
        od_j, err_j, spec = _from_absorption_json(absorption_json, layers)
        od = od_j
        od_err = od_err or err_j
        if spectrum is None and spec is not None and od_ratio is None and od_3p1ev is None:
            spectrum = spec
    if spectrum is not None and (od_ratio is not None or od_3p1ev is not None):
        raise OptionError("give one of --spectrum, --od-ratio, --od-3p1ev", "--spectrum")
    if od is None and spectrum is None:
        raise OptionError(
            "give the monolayer's OD (--od), its spectrum (--spectrum) or an absorption "
            "results.json (--absorption-json)",
            "--od",
        )
    with captured_warnings() as warned:
        if spectrum is not None:
            res = coverage_from_spectrum(
                spectrum,
                edge_nm,
                od=od,
                od_err=od_err,
                edge_err_nm=edge_err_nm,
                shell_nm=shell_nm,
                cross_section_cm2=cross_section_cm2,
                sides=sides,
            )
        else:
            res = monolayer_coverage(
                od,
                edge_nm,
                od_err=od_err,
                edge_err_nm=edge_err_nm,
                shell_nm=shell_nm,
                od_ratio=od_ratio,
                od_3p1eV=od_3p1ev,
                cross_section_cm2=cross_section_cm2,
                sides=sides,
            )
    result = res.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned))

    emit(result, json_output=json_output, out_dir=out, summary=res.print_summary)
