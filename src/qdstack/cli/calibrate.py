"""``qdstack calibrate``: fit the film model's barrier(s) to measured first-peak shifts."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit
from qdstack.errors import OptionError


def command(
    table: Path = typer.Argument(
        None,
        show_default=False,
        help="CSV with columns linker, layers, shift_meV and optionally shift_meV_err "
        "(shift = peak(N) - peak(1), negative for a red shift).",
    ),
    shift: list[str] = typer.Option(
        None,
        "--shift",
        help="A measured shift LINKER:N:SHIFT_MEV[:ERR_MEV] (repeat the option), e.g. --shift C3DT:8:-44.0 "
        "--shift C10DT:8:-14.2.",
    ),
    fit: str = typer.Option(
        "barrier",
        "--fit",
        help="barrier: one barrier for electrons and holes; barriers: one each. The exponential coupling "
        "law also fits its zero-gap amplitude A.",
    ),
    parameters: str = typer.Option(
        "enomoto2024",
        "--parameters",
        help="Parameter set to start from (everything not fitted is kept): enomoto2024, "
        "enomoto2024-tunnelling, or a JSON file.",
    ),
    coupling: str = typer.Option(
        None,
        "--coupling",
        help="engine (beta from the effective-mass tunnelling engine: the barrier is the only free number) "
        "or exponential (beta = A exp(-kappa d), kappa = sqrt(2 m_B V)/hbar); default the parameter set's.",
    ),
    barrier_mass: float = typer.Option(
        None,
        "--barrier-mass",
        help="Carrier mass in the barrier [m_e], fixed in the fit (default the set's, 1.0).",
    ),
    default_err: float = typer.Option(
        2.0,
        "--shift-err-meV",
        help="Error of shifts given without one [meV] (default 2: the paper's spread of the monolayer peak).",
    ),
    edge_nm: float = typer.Option(6.8, "--edge-nm", help="Mean dot edge [nm]."),
    edge_sd_nm: float = typer.Option(
        0.5, "--edge-sd-nm", help="Standard deviation of the edge [nm]."
    ),
    realisations: int = typer.Option(
        3000, "--realisations", help="Disorder realisations per simulated film."
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed of the size disorder (common to every evaluation)."
    ),
    save_parameters: Path = typer.Option(
        None,
        "--save-parameters",
        help="Write the calibrated parameter set to this JSON file (use it with qdstack simulate --parameters).",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Fit the barrier(s) of the film model to measured first-peak shifts, and judge them.

    Each evaluation simulates the films the data are about (the same disordered
    ensemble, first peak read like a measured one) - the simulated ensemble is fitted,
    not the ideal chain formula E1 - 2 beta cos(pi/(N+1)), which overestimates beta when
    the dots differ in size. The fit is an lmfit model weighted by the shift errors;
    parameter errors are those the measurement errors imply.

    Printed: the fitted barrier(s) (and amplitude) with errors, the model's shift for
    every measurement, the implied beta_e/beta_h for each linker, and a plausibility
    flag per barrier: alkane linkers offer 1-4 eV (molecular junctions); a barrier
    outside 0.5-5 eV means the shifts need more than single-carrier tunnelling through
    an organic linker. With the engine coupling, the shift at zero barrier - the most
    tunnelling can give - is reported too, and a measured shift beyond it is flagged as
    out of reach instead of fitted badly in silence.

    Example: qdstack calibrate --shift C3DT:8:-44.0 --shift C10DT:8:-14.2
    """
    from qdstack.physics.film_model.calibration import calibrate
    from qdstack.physics.film_model import load_parameter_set

    if fit not in ("barrier", "barriers"):
        raise OptionError(f"unknown fit {fit!r}; use barrier or barriers", "--fit")
    if not default_err > 0:
        raise OptionError("must be a positive number of meV", "--shift-err-meV")
    if realisations < 100:
        raise OptionError("use at least 100 realisations per film", "--realisations")
    measurements = []
    if table is not None:
        measurements.extend(_read_table(table, default_err))
    for text in shift or []:
        measurements.append(_parse_shift(text, default_err))
    if not measurements:
        raise OptionError(
            "give a TABLE.csv or at least one --shift LINKER:N:SHIFT_MEV", "calibrate"
        )
    params = load_parameter_set(parameters)
    changes = {}
    if coupling is not None:
        if coupling not in ("engine", "exponential"):
            raise OptionError(
                f"unknown coupling {coupling!r}; use engine or exponential", "--coupling"
            )
        changes["coupling"] = coupling
    if barrier_mass is not None:
        if not barrier_mass > 0:
            raise OptionError("must be a positive mass", "--barrier-mass")
        changes["barrier_mass"] = barrier_mass
    if changes:
        params = params.with_(**changes)
    if params.coupling == "exponential" and params.coupling_amplitude_meV <= 0:
        params = params.with_(coupling_amplitude_meV=20.0)
    with captured_warnings() as warned:
        _check_linkers(measurements)
        from rich.console import Console

        console = Console(stderr=True)
        with console.status("calibrating (each evaluation simulates the films)") as status:
            res = calibrate(
                measurements,
                params,
                fit=fit,
                realisations=realisations,
                seed=seed,
                edge_nm=edge_nm,
                edge_sd_nm=edge_sd_nm,
                progress=lambda n: status.update(f"calibrating: model evaluation {n}"),
            )
    result = res.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned), key=str)
    if save_parameters is not None:
        from qdstack.io.writers import write_json

        d = res.parameters.to_dict()
        prov = d.pop("provenance", {})
        write_json(save_parameters, {"parameters": d, "provenance": prov})

    def figures():
        from qdstack.plotting.film_model import plot_calibration

        return {"calibration": lambda: plot_calibration(res).figure}

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=res.print_summary,
    )


def _parse_shift(text: str, default_err: float):
    from qdstack.physics.film_model.calibration import ShiftMeasurement

    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise OptionError(
            f"{text!r}: expected LINKER:N:SHIFT_MEV[:ERR_MEV], e.g. C3DT:8:-44.0", "--shift"
        )
    linker, n, s = parts[0].strip(), parts[1].strip(), parts[2].strip()
    if not re.fullmatch(r"\d+", n):
        raise OptionError(f"{text!r}: the layer count {n!r} is not a whole number", "--shift")
    try:
        value = float(s)
        err = float(parts[3]) if len(parts) == 4 else default_err
    except ValueError:
        raise OptionError(
            f"{text!r}: the shift and its error must be numbers of meV", "--shift"
        ) from None
    try:
        return ShiftMeasurement(linker, int(n), value, err)
    except Exception as exc:  # InputError with the reason
        raise OptionError(f"{text!r}: {getattr(exc, 'message', exc)}", "--shift") from None


def _read_table(path: Path, default_err: float):
    import math

    from qdstack.errors import FileFormatError
    from qdstack.io.columns import read_columns
    from qdstack.physics.film_model.calibration import ShiftMeasurement

    cols = read_columns(
        path,
        required=("linker", "layers", "shift_meV"),
        optional=("shift_meV_err",),
        text_columns=("linker",),
    )
    out = []
    errs = cols.get("shift_meV_err")
    for i, (linker, n, s) in enumerate(zip(cols["linker"], cols["layers"], cols["shift_meV"])):
        if not (float(n) == int(n) and int(n) >= 2):
            raise FileFormatError(f"row {i + 1}: layers must be a whole number >= 2, got {n}", path)
        e = default_err if errs is None or not math.isfinite(errs[i]) else float(errs[i])
        try:
            out.append(ShiftMeasurement(str(linker).strip(), int(n), float(s), e))
        except Exception as exc:
            raise FileFormatError(f"row {i + 1}: {getattr(exc, 'message', exc)}", path) from None
    if not out:
        raise FileFormatError("no shifts in the table", path)
    return out


def _check_linkers(measurements):
    from qdstack.linkers import get_linker

    for m in measurements:
        get_linker(m.linker)  # unknown linker: InputError naming it
