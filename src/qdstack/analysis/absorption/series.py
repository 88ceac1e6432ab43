"""The layer series: shifts, the OD line, the tight-binding chain fit and saturation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qdstack.analysis._fitting import param_error, param_value, r_squared
from qdstack._parallel import fork_map
from qdstack.analysis.absorption.peak import Profile, _FitPickler, first_excitonic_peak
from qdstack.analysis.absorption.results import (
    AbsorptionSeries,
    ChainFit,
    FilmPeak,
    LinearFit,
)
from qdstack.errors import FitError, InputError

__all__ = [
    "chain_energy_eV",
    "fit_chain",
    "fit_od_vs_layers",
    "saturation_layers",
    "analyse_absorption_series",
    "fit_absorption_series",
    "first_excitonic_peaks",
]

#: the fewest spectra worth a forked process of ``workers=None``: a second process costs
#: ~20 ms (the fork, its start) plus ~1 ms a spectrum (pickling the fit, reading it back)
#: against ~9 ms of work a spectrum; measured on 2 cores, 1 vs 2 processes: 4 spectra 0.80x,
#: 6 1.03x, 8 1.17x, 16 1.41x, 100 1.90x (docs/guide/performance.md, "Third round")
MIN_SPECTRA_PER_PROCESS = 4


def _peak_job(item):
    """One spectrum's peak (a top-level function: what a forked worker runs)."""
    spec, name, kws = item
    return first_excitonic_peak(spec.energy_eV, spec.intensity, source=name, **kws)


def first_excitonic_peaks(
    spectra: Sequence,
    *,
    profile: Profile = "gaussian",
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    files: Sequence[str] | None = None,
    workers: int | None = None,
    progress=None,
) -> list:
    """:func:`first_excitonic_peak` of every spectrum, on several CPUs where that pays.

    Parameters
    ----------
    spectra : sequence of Spectrum
    profile, emin_eV, emax_eV
        Passed to :func:`first_excitonic_peak`.
    files : sequence of str, optional
        Names for messages (default: each spectrum's source).
    workers : int, optional
        Processes, this one included. None (default): one per usable CPU when there are at
        least :data:`MIN_SPECTRA_PER_PROCESS` spectra for each; 1: one after the other here.
        Extra processes are forked copies of this one (Linux only, and only while this
        process runs no other thread; else one process): :func:`qdstack._parallel.fork_map`.
        The results are the same either way, lmfit ``ModelResult`` included.
    progress : callable, optional
        Wraps the list of spectra (a progress bar).

    Returns
    -------
    list of ExcitonicPeak
        In the order of ``spectra``.

    Raises
    ------
    FitError
        The first spectrum (in order) without a fittable peak.
    """
    spectra = list(spectra)
    names = (
        list(files)
        if files is not None
        else [s.source or f"spectrum {i + 1}" for i, s in enumerate(spectra)]
    )
    kws = {"profile": profile, "emin_eV": emin_eV, "emax_eV": emax_eV}
    return fork_map(
        _peak_job,
        [(spec, name, kws) for spec, name in zip(spectra, names, strict=True)],
        workers=workers,
        min_per_process=MIN_SPECTRA_PER_PROCESS,
        progress=progress,
        pickler=_FitPickler,
    )


def chain_energy_eV(layers, e1_eV, beta_meV):
    """Lowest state of a tight-binding chain of N identical sites.

    ``E(N) = E1 - 2 beta cos(pi / (N + 1))``: the bottom of the band of an open
    chain of N sites with on-site energy ``E1 + 0`` shifted so that E(1) = E1
    and nearest-neighbour coupling ``beta`` (positive beta lowers the energy).

    Parameters
    ----------
    layers : array_like of int
        Number of layers N >= 1.
    e1_eV : float
        Monolayer energy [eV].
    beta_meV : float
        Nearest-neighbour coupling [meV].

    Returns
    -------
    ndarray
        Energy [eV].

    References
    ----------
    Any tight-binding text (e.g. Ashcroft & Mermin ch. 10); used for quantum-dot
    multilayers in Enomoto et al., Chem. Sci. 2024, 15, 13049 (Fig. 3d).
    """
    n = np.asarray(layers, dtype=float)
    return e1_eV - 2e-3 * beta_meV * np.cos(np.pi / (n + 1.0))


def _weights(errors) -> np.ndarray | None:
    err = np.asarray(errors, dtype=float)
    if err.size and np.all(np.isfinite(err)) and np.all(err > 0):
        return 1.0 / err
    return None


def fit_chain(layers, peak_eV, peak_eV_err=None) -> ChainFit:
    """Fit the tight-binding chain E(N) = E1 - 2 beta cos(pi/(N+1)) (an lmfit Model).

    With more points than parameters, the peak errors weight the fit and the
    covariance is scaled by the reduced chi-square (film-to-film scatter counts);
    with exactly two layer counts the solution is exact and its errors are the
    peak errors propagated.

    Raises
    ------
    FitError
        Fewer than two distinct layer counts.
    """
    from lmfit import Model

    n = np.asarray(layers, dtype=float)
    y = np.asarray(peak_eV, dtype=float)
    if np.unique(n).size < 2:
        raise FitError("the chain fit needs at least two different layer counts", "chain fit")
    model = Model(chain_energy_eV, independent_vars=["layers"])
    e1_guess = float(np.mean(y[n == n.min()]))
    slope = np.polyfit(-2e-3 * np.cos(np.pi / (n + 1)), y, 1)[0] if n.size > 1 else 0.0
    params = model.make_params(e1_eV=e1_guess, beta_meV=float(slope))
    w = _weights(peak_eV_err) if peak_eV_err is not None else None
    exact = n.size <= 2
    result = model.fit(y, params, layers=n, weights=w, scale_covar=not exact or w is None)
    r2 = r_squared(y, result.best_fit) if n.size > 2 else float("nan")
    return ChainFit(
        e1_eV=param_value(result, "e1_eV"),
        e1_eV_err=param_error(result, "e1_eV"),
        beta_meV=param_value(result, "beta_meV"),
        beta_meV_err=param_error(result, "beta_meV"),
        r2=r2,
        fit=result,
        layers=tuple(float(v) for v in n),
        peak_eV=tuple(float(v) for v in y),
        peak_eV_err=tuple(
            float(v)
            for v in np.broadcast_to(
                np.nan if peak_eV_err is None else np.asarray(peak_eV_err, dtype=float), n.shape
            )
        ),
    )


def fit_od_vs_layers(layers, od) -> LinearFit:
    """Straight line OD = slope * N + intercept (lmfit LinearModel): constant packing density."""
    from lmfit.models import LinearModel

    n = np.asarray(layers, dtype=float)
    y = np.asarray(od, dtype=float)
    if np.unique(n).size < 2:
        raise FitError("the OD line needs at least two different layer counts", "OD vs layers")
    model = LinearModel()
    params = model.guess(y, x=n)
    result = model.fit(y, params, x=n, scale_covar=n.size > 2)
    return LinearFit(
        slope=param_value(result, "slope"),
        slope_err=param_error(result, "slope") if n.size > 2 else float("nan"),
        intercept=param_value(result, "intercept"),
        intercept_err=param_error(result, "intercept") if n.size > 2 else float("nan"),
        r2=r_squared(y, result.best_fit) if n.size > 2 else float("nan"),
        fit=result,
        x=tuple(float(v) for v in n),
        y=tuple(float(v) for v in y),
    )


def saturation_layers(layers, shift_meV, fraction: float = 0.9) -> int | None:
    """Smallest N whose (mean) shift magnitude reaches ``fraction`` of the largest in the series.

    Returns None when the series has fewer than two layer counts.
    """
    n = np.asarray(layers, dtype=int)
    s = np.abs(np.asarray(shift_meV, dtype=float))
    uniq = np.unique(n)
    if uniq.size < 2:
        return None
    mean = np.array([s[n == k].mean() for k in uniq])
    target = fraction * mean.max()
    return int(uniq[np.nonzero(mean >= target)[0][0]])


def _checked_layers(n_spectra: int, layers: Sequence[int], reference_layers: int) -> list[int]:
    """The layer counts as ints, after the checks of :func:`analyse_absorption_series`."""
    layers = [int(n) for n in layers]
    if not n_spectra:
        raise InputError("no spectra given", "absorption")
    if len(layers) != n_spectra:
        raise InputError(f"{n_spectra} spectra but {len(layers)} layer counts", "--layers")
    if any(n < 1 for n in layers):
        raise InputError("layer counts must be >= 1", "--layers")
    if reference_layers not in layers:
        raise InputError(
            f"no spectrum with N = {reference_layers} to use as the reference; "
            f"layer counts are {sorted(set(layers))} (set --reference-layers)",
            "--reference-layers",
        )
    return layers


def analyse_absorption_series(
    spectra: Sequence,
    layers: Sequence[int],
    *,
    reference_layers: int = 1,
    profile: Profile = "gaussian",
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    files: Sequence[str] | None = None,
    labels: Sequence[str | None] | None = None,
    progress=None,
    workers: int | None = None,
    peaks: Sequence | None = None,
) -> AbsorptionSeries:
    """Analyse a series of absorption spectra of films with N layers.

    Parameters
    ----------
    spectra : sequence of Spectrum
        One absorption spectrum per film (:class:`qdstack.io.Spectrum`).
    layers : sequence of int
        Number of quantum-dot layers of each film.
    reference_layers : int
        Shifts are relative to the mean peak of the films with this N (default 1).
    profile, emin_eV, emax_eV
        Passed to :func:`first_excitonic_peak`.
    files : sequence of str, optional
        Names for the films (default: each spectrum's source).
    labels : sequence of str, optional
        Column labels (for spectra taken from multi-column files).
    progress : callable, optional
        Wraps the iteration over spectra (e.g. a progress bar).
    workers : int, optional
        Processes for the peak fits (:func:`first_excitonic_peaks`; default: one per usable
        CPU when the series is long enough, 1: one process). The results do not depend on it.
    peaks : sequence of ExcitonicPeak, optional
        The peaks of ``spectra`` already found with :func:`first_excitonic_peak` and the same
        ``profile``, ``emin_eV`` and ``emax_eV`` (the command line reads and fits each file
        in one step); then nothing is fitted again.

    Returns
    -------
    AbsorptionSeries

    Raises
    ------
    InputError
        Mismatched lengths, N < 1, or no film with the reference N.
    FitError
        A spectrum without a fittable peak (the message names its file).
    """
    spectra = list(spectra)
    layers = _checked_layers(len(spectra), layers, reference_layers)
    names = (
        list(files)
        if files is not None
        else [s.source or f"spectrum {i + 1}" for i, s in enumerate(spectra)]
    )
    labels = list(labels) if labels is not None else [None] * len(spectra)
    if peaks is None:
        peaks = first_excitonic_peaks(
            spectra,
            profile=profile,
            emin_eV=emin_eV,
            emax_eV=emax_eV,
            files=names,
            workers=workers,
            progress=progress,
        )
    elif len(peaks) != len(spectra):
        raise InputError(f"{len(spectra)} spectra but {len(peaks)} peaks", "peaks")
    films = []
    msgs: list[str] = []
    for peak, n, name, label in zip(peaks, layers, names, labels):
        msgs.extend(peak.warnings)
        films.append(FilmPeak(file=name, layers=n, peak=peak, label=label))

    n_arr = np.array(layers)
    peaks = np.array([f.peak.peak_eV for f in films])
    errs = np.array([f.peak.peak_eV_err for f in films])
    tops = np.array([f.peak.peak_top_eV for f in films])
    ref = n_arr == reference_layers
    ref_eV = float(peaks[ref].mean())
    ref_err = float(np.sqrt(np.sum(errs[ref] ** 2)) / ref.sum())
    shift = (peaks - ref_eV) * 1e3
    # var(p_i - mean_ref) = var(p_i) + var(mean_ref) - 2 cov; cov = var(p_i)/n_ref for reference films
    cov = np.where(ref, errs**2 / ref.sum(), 0.0)
    shift_err = np.sqrt(np.clip(errs**2 + ref_err**2 - 2 * cov, 0.0, None)) * 1e3
    top_shift = (
        (tops - np.nanmean(tops[ref])) * 1e3 if np.any(np.isfinite(tops[ref])) else tops * np.nan
    )

    od_fit = chain = None
    sat = None
    if np.unique(n_arr).size >= 2:
        od_fit = fit_od_vs_layers(n_arr, [f.peak.od for f in films])
        chain = fit_chain(n_arr, peaks, errs)
        sat = saturation_layers(n_arr, shift)
        if chain.beta_meV < 0:
            msgs.append(
                f"the chain fit gives a negative coupling (beta = {chain.beta_meV:.2f} meV): "
                "the peak moves to higher energy with N, not what coupling predicts"
            )
    else:
        msgs.append(
            f"all films have N = {layers[0]}: no OD line, chain fit or saturation "
            "(a density series: compare peak_spread with the peak errors)"
        )
    return AbsorptionSeries(
        films=tuple(films),
        reference_layers=reference_layers,
        reference_eV=ref_eV,
        shift_meV=tuple(float(v) for v in shift),
        shift_meV_err=tuple(float(v) for v in shift_err),
        peak_top_shift_meV=tuple(float(v) for v in top_shift),
        od_vs_layers=od_fit,
        chain_fit=chain,
        saturation_layers=sat,
        warnings=tuple(msgs),
        spectra=tuple(spectra),
    )


#: The public name of :func:`analyse_absorption_series` (``from qdstack.analysis import ...``).
fit_absorption_series = analyse_absorption_series
