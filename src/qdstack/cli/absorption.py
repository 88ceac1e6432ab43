"""``qdstack absorption``: first excitonic peak of each film and the layer series."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import typer

from qdstack.cli._common import (
    JSON_OPTION,
    OUT_OPTION,
    captured_warnings,
    emit,
    parse_int_list,
    progress,
    value_from_name,
)
from qdstack.errors import OptionError, QdstackError

_LAYER_PATTERNS = (
    re.compile(r"(?:^|[^a-z0-9])n[-_ ]?(\d+)(?![0-9])", re.I),  # N3, n_3
    re.compile(
        r"(?:^|[^a-z0-9.])(\d+)[-_ ]?l(?:ayers?)?(?![a-z])", re.I
    ),  # 3L, 3layer(s), 3_layers
    re.compile(r"layers?[-_ ]?(\d+)(?![0-9])", re.I),  # layer3, layers_3
)


def layers_from_name(path: str) -> int | None:
    """Number of layers written in a file name (``N3``, ``3L``, ``layer3``, ``3layers``), else None.

    Raises
    ------
    OptionError
        If the name holds two different layer counts.
    """
    return value_from_name(path, _LAYER_PATTERNS, "layer counts", "--layers", convert=int)


def _read_and_locate(paths, column, emin_eV, emax_eV):
    """Read every file and locate its first peak (no lmfit): the first stage of :func:`command`.

    Returns ``[(spectrum, located peak or its QdstackError)]``; a read error is raised (the
    first in file order), a location error is kept for after the layer counts are checked.
    """
    from qdstack.analysis.absorption.locate import _locate_peak
    from qdstack.io.spectrum import read_spectrum

    out = []
    for path in paths:
        spec = read_spectrum(path, kind="absorption", column=column)
        try:
            found = _locate_peak(
                spec.energy_eV, spec.intensity, emin_eV=emin_eV, emax_eV=emax_eV, source=str(path)
            )
        except QdstackError as exc:  # raised after every file is read and the layers are checked
            found = exc
        out.append((spec, found))
    return out


def _fit_located(item):
    """The fits of one located peak, or its error (one job of a forked worker: :func:`command`).

    Without ``keep_fit`` the peak comes back without its lmfit ``ModelResult``: only the
    figures (``--out``) draw it, and a forked worker's fit costs ~1 ms to pickle and read back.
    """
    from dataclasses import replace

    from qdstack.analysis.absorption.peak import _refine_peak

    found, profile, keep_fit = item
    if isinstance(found, QdstackError):
        return found
    try:
        peak = _refine_peak(found, profile)
    except QdstackError as exc:
        return exc
    return peak if keep_fit else replace(peak, fit=None)


def command(
    files: list[Path] = typer.Argument(
        ...,
        help="Absorption spectra (text: wavelength in nm or energy in eV, and absorbance; or a "
        "calibrated Princeton Instruments .spe).",
        show_default=False,
    ),
    layers: str = typer.Option(
        None,
        "--layers",
        help="Number of layers N of each spectrum, in order (e.g. 1,2,3,4). Default: read from "
        "each file name (N3, 3L, layer3, 3layers).",
    ),
    reference_layers: int = typer.Option(
        1,
        "--reference-layers",
        help="Shifts are relative to the mean peak of the films with this N.",
    ),
    column: str = typer.Option(
        None,
        "--column",
        help="Intensity column of multi-column files (0-based index or header name); default the "
        "second column.",
    ),
    all_columns: bool = typer.Option(
        False,
        "--all-columns",
        help="Treat every intensity column of each file as its own spectrum (then give --layers).",
    ),
    profile: str = typer.Option(
        "gaussian", "--profile", help="Peak shape of the refinement fit: gaussian or voigt."
    ),
    emin: float = typer.Option(
        None, "--emin-eV", help="Search for the first peak above this energy [eV]."
    ),
    emax: float = typer.Option(
        None, "--emax-eV", help="Search for the first peak below this energy [eV]."
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        min=1,
        help="Processes that read and fit the spectra (this one included). Default: one per "
        "CPU when there are at least 4 spectra for each (Linux; elsewhere 1). 1: one process. "
        "The results do not depend on it.",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """First excitonic absorption peak of each film, and how it moves with the number of layers.

    For each spectrum the first (lowest-energy) excitonic peak is located as the
    lowest persistent minimum of the Savitzky-Golay second derivative (it works on
    shoulders without a maximum, on a rising continuum and a scattering tail) and
    refined by an lmfit Gaussian (or Voigt) + local quadratic background fit.
    peak_eV is the fitted transition energy with its standard error; od is the
    absorbance there; peak_top_eV the raw maximum when there is one.

    The series gives: shift_meV = peak(N) - peak(reference) for every film; the OD
    vs N line (constant packing density); the tight-binding chain fit
    E(N) = E1 - 2 beta cos(pi/(N+1)); and saturation_layers, the smallest N whose
    shift reaches 90 % of the largest. A density series (all --layers 1) reports
    peak_spread instead of the fits.

    Example: qdstack absorption N1.csv N2.csv N3.csv N4.csv --out results/
    """
    if "numpy" not in sys.modules:
        # the linear algebra here is on 6 x 6 matrices: one BLAS thread.  OpenBLAS's own
        # worker thread would spin on the CPU the forked workers need (~0.1 s of CPU); a
        # user's OPENBLAS_NUM_THREADS is kept
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from qdstack.analysis.absorption import analyse_absorption_series
    from qdstack.analysis.absorption.series import _checked_layers
    from qdstack.io.spectrum import read_spectra, read_spectrum

    if profile not in ("gaussian", "voigt"):
        raise OptionError(f"unknown profile {profile!r}; use gaussian or voigt", "--profile")
    if column is not None and all_columns:
        raise OptionError("give either --column or --all-columns, not both", "--column")
    with captured_warnings() as warned:
        n_list = parse_int_list(layers, "--layers")
        layer_error = None
        if n_list is None and not all_columns:
            try:
                n_list = [layers_from_name(str(path)) for path in files]
                missing = next((p for p, n in zip(files, n_list) if n is None), None)
                if missing is not None:
                    raise OptionError(
                        "no layer count in the file name (expected N3, 3L, layer3 or 3layers); "
                        "give them with --layers",
                        str(missing),
                    )
            except OptionError as exc:  # reported after the files are read, as before
                layer_error = exc
        peaks = None
        if all_columns or layer_error is not None or len(n_list) != len(files):
            spectra, names, labels = [], [], []
            for path in files:
                if all_columns:
                    for spec in read_spectra(path, kind="absorption"):
                        spectra.append(spec)
                        names.append(str(path))
                        labels.append(spec.label)
                else:
                    spec = read_spectrum(path, kind="absorption", column=column)
                    spectra.append(spec)
                    names.append(str(path))
                    labels.append(spec.label if column is not None else None)
        else:  # one spectrum per file: read and located in one process, fitted in several
            from qdstack._parallel import fork_call, fork_map, fork_workers
            from qdstack.analysis.absorption.peak import _FitPickler, _peak_model
            from qdstack.analysis.absorption.series import MIN_SPECTRA_PER_PROCESS

            # a forked child reads the files and locates the peaks (numpy) while this process
            # imports lmfit and SciPy (0.6 s) and builds the fit model; then both fit
            n = fork_workers(workers, len(files), MIN_SPECTRA_PER_PROCESS)
            stage = fork_call(_read_and_locate, files, column, emin, emax, workers=min(n, 2))
            _peak_model(profile)  # imports lmfit
            located = stage.result()
            done = fork_map(
                _fit_located,
                [(found, profile, out is not None) for _, found in located],
                workers=workers,
                min_per_process=MIN_SPECTRA_PER_PROCESS,
                progress=(lambda items: progress(items, "fitting peaks"))
                if len(files) > 3
                else None,
                pickler=_FitPickler,
            )
            spectra = [spec for spec, _ in located]
            peaks = done
            names = [str(path) for path in files]
            labels = [spec.label if column is not None else None for spec in spectra]
        if layer_error is not None:
            raise layer_error
        if n_list is None:
            raise OptionError("with --all-columns give the layer counts with --layers", "--layers")
        if len(n_list) != len(spectra):
            raise OptionError(f"{len(spectra)} spectra but {len(n_list)} layer counts", "--layers")
        if peaks is not None:  # the errors in the order of the one-process path
            _checked_layers(len(spectra), n_list, reference_layers)
            failed = next((p for p in peaks if isinstance(p, QdstackError)), None)
            if failed is not None:
                raise failed
        series = analyse_absorption_series(
            spectra,
            n_list,
            reference_layers=reference_layers,
            profile=profile,
            emin_eV=emin,
            emax_eV=emax,
            files=names,
            labels=labels,
            progress=(lambda items: progress(items, "fitting peaks")) if len(spectra) > 3 else None,
            workers=workers,
            peaks=peaks,
        )
    result = series.to_dict()
    result["warnings"] = sorted(set(result["warnings"]) | set(warned), key=str)

    def figures():
        from qdstack.plotting.absorption import (
            plot_absorption_spectra,
            plot_od_vs_layers,
            plot_shift_vs_layers,
        )

        figs = {"absorption_spectra": lambda: plot_absorption_spectra(series, spectra).figure}
        if series.chain_fit is not None:
            figs["shift_vs_layers"] = lambda: plot_shift_vs_layers(series).figure
            figs["od_vs_layers"] = lambda: plot_od_vs_layers(series).figure
        return figs

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures() if out else None,
        summary=series.print_summary,
    )
