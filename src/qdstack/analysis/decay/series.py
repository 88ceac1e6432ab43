"""Many decays at once: lifetime-vs-temperature series and large stacks, through dask.

* :func:`fit_decay_series` fits a set of decay files (each with its own time
  axis and the same IRF settings), one task per decay, and returns a
  :class:`LifetimeSeries` (the lifetime-vs-temperature table of Fig. 6d of
  Enomoto et al., Chem. Sci. 2024).
* :func:`fit_decay_stack` fits a stack of decays that share one time axis and
  one IRF (a FLIM image, a benchmark), in chunks that each worker fits with
  :meth:`~qdstack.analysis.decay.ReconvolutionFitter.fit_many`.

Both run through :mod:`qdstack._parallel` (the one dask set-up of qdstack): a local
cluster of single-threaded worker processes by default (so numpy's BLAS does not
oversubscribe the cores), an existing one with ``scheduler="tcp://host:8786"``, or in
this process with ``scheduler="serial"`` (no dask; handy for a handful of decays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qdstack.analysis.decay.fitter import ReconvolutionFitter
from qdstack.analysis.decay.results import DecayFit
from qdstack._result import Result, Table
from qdstack.errors import FitError, InputError, OptionError

__all__ = ["LifetimeSeries", "fit_decay_series", "fit_decay_stack"]


@dataclass(frozen=True)
class LifetimeSeries(Result):
    """Decay fits of a temperature series (Fig. 6d).

    Attributes
    ----------
    temperature_K : ndarray
        Sorted ascending.
    fits : tuple of DecayFit
        In the same order.
    files : tuple of str
    warnings : tuple of str
    """

    temperature_K: np.ndarray
    fits: tuple[DecayFit, ...]
    files: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(f, name) for f in self.fits], dtype=float)

    def table(self) -> dict:
        """Columns of the lifetime-vs-temperature CSV (one row per decay)."""
        K = max(len(f.components) for f in self.fits)
        cols = {
            "temperature_K": self.temperature_K,
            "file": list(self.files),
            "tau_amplitude_weighted_ns": self.column("tau_amplitude_weighted_ns"),
            "tau_amplitude_weighted_ns_err": self.column("tau_amplitude_weighted_ns_err"),
            "tau_intensity_weighted_ns": self.column("tau_intensity_weighted_ns"),
            "tau_intensity_weighted_ns_err": self.column("tau_intensity_weighted_ns_err"),
        }
        for k in range(K):
            cols[f"tau{k + 1}_ns"] = [
                f.components[k].tau_ns if k < len(f.components) else None for f in self.fits
            ]
            cols[f"tau{k + 1}_ns_err"] = [
                f.components[k].tau_ns_err if k < len(f.components) else None for f in self.fits
            ]
            cols[f"amplitude{k + 1}"] = [
                f.components[k].amplitude if k < len(f.components) else None for f in self.fits
            ]
        cols["shift_ns"] = self.column("shift_ns")
        cols["background"] = self.column("background")
        cols["chi2_reduced"] = self.column("chi2_reduced")
        cols["signal_counts"] = self.column("signal_counts")
        return cols

    def to_dict(self) -> dict:
        decays = []
        for T, f, fit in zip(self.temperature_K, self.files, self.fits):
            d = fit.to_dict(curves=False)
            d["file"] = f
            d["temperature_K"] = float(T)
            decays.append(d)
        return {
            "temperature_K": self.temperature_K,
            "tau_amplitude_weighted_ns": self.column("tau_amplitude_weighted_ns"),
            "tau_amplitude_weighted_ns_err": self.column("tau_amplitude_weighted_ns_err"),
            "tau_intensity_weighted_ns": self.column("tau_intensity_weighted_ns"),
            "tau_intensity_weighted_ns_err": self.column("tau_intensity_weighted_ns_err"),
            "decays": decays,
            "warnings": list(self.warnings),
        }

    # ----------------------------------------------------------------------------- parallel

    def summary_blocks(self):
        def pm_(v, e):
            return f"{v:.4g}" + (f" ± {e:.2g}" if np.isfinite(e) else "")

        k = len(self.fits[0].components) if self.fits else 0
        rows = tuple(
            (
                f"{t:g}",
                Path(f).name,
                pm_(fit.tau_amplitude_weighted_ns, fit.tau_amplitude_weighted_ns_err),
                pm_(fit.tau_intensity_weighted_ns, fit.tau_intensity_weighted_ns_err),
                f"{fit.chi2_reduced:.3f}",
                ", ".join(f"{c.tau_ns:.3g}" for c in fit.components),
            )
            for t, f, fit in zip(self.temperature_K, self.files, self.fits)
        )
        return (
            Table(
                f"Lifetime vs temperature ({k}-exponential fits)",
                ("T (K)", "file", "<tau>_amp (ns)", "<tau>_int (ns)", "chi2_red", "taus (ns)"),
                rows,
                align=("r", "l", "r", "r", "r", "r"),
            ),
        )

    def _plot(self, ax):
        from qdstack.plotting.decay import plot_lifetime_series

        return plot_lifetime_series(self, ax=ax)


def _run(tasks: Sequence[tuple[Callable, tuple]], scheduler, n_workers, progress):
    """``func(*args)`` for every task through :func:`qdstack._parallel.run_tasks`, in order.

    Local work runs in single-threaded worker processes (lmfit's bookkeeping holds the GIL);
    ``progress(k)`` is called as each task finishes, with the number finished before it.
    """
    from qdstack._parallel import run_tasks

    wrap = None
    if progress is not None:

        def wrap(ticks):
            for k, tick in enumerate(ticks):
                progress(k)
                yield tick

    return run_tasks(tasks, scheduler=scheduler, workers=n_workers, processes=True, progress=wrap)


# ----------------------------------------------------------------------------- series


def _fit_one(time_ns, counts, fitter_kwargs: dict, source: str, irf_source):
    fitter = ReconvolutionFitter(time_ns, source=irf_source, **fitter_kwargs)
    return fitter.fit(counts, source=source)


def fit_decay_series(
    decays: Sequence,
    temperatures_K: Sequence[float],
    *,
    irf=None,
    irf_fwhm_ns: float | None = None,
    components: int = 1,
    statistic: str = "poisson",
    period_ns: float | None = None,
    window_ns=None,
    fix_shift_ns: float | None = None,
    irf_source: str | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> LifetimeSeries:
    """Fit every decay of a temperature series; one dask task per decay.

    Parameters
    ----------
    decays : sequence
        Objects with ``time_ns``, ``counts``, ``source`` and optionally
        ``period_ns`` (e.g. :class:`~qdstack.io.decay.DecayHistogram`).
    temperatures_K : sequence of float
        Temperature of each decay [K].
    irf : array_like, optional
        Measured IRF counts on the decays' time axis (all decays must share it).
    irf_fwhm_ns : float, optional
        Gaussian IRF FWHM [ns] instead.
    components, statistic, period_ns, window_ns, fix_shift_ns
        As for :class:`~qdstack.analysis.decay.ReconvolutionFitter`;
        ``period_ns`` overrides the period read from each file.
    scheduler : str, optional
        None (local dask cluster), ``"serial"`` or a scheduler address.
    n_workers : int, optional
        Local cluster size.
    progress : callable(int), optional
        Called once per finished decay.

    Returns
    -------
    LifetimeSeries
        Sorted by temperature.
    """
    decays = list(decays)
    T = np.asarray(temperatures_K, dtype=float).ravel()
    if len(decays) == 0:
        raise InputError("no decays to fit", "decays")
    if T.size != len(decays):
        raise OptionError(f"{len(decays)} decays but {T.size} temperatures", "--temperatures")
    if not (np.all(np.isfinite(T)) and np.all(T > 0)):
        raise OptionError("temperatures must be positive kelvin", "--temperatures")
    tasks = []
    for d in decays:
        if irf is not None and np.asarray(irf).shape != np.asarray(d.time_ns).shape:
            raise InputError(
                f"the IRF has {np.asarray(irf).size} bins but {d.source} has {np.asarray(d.time_ns).size}; "
                "record the IRF with the same settings",
                irf_source or "IRF",
            )
        kwargs = dict(
            irf=None if irf is None else np.asarray(irf, dtype=float),
            irf_fwhm_ns=irf_fwhm_ns,
            components=components,
            statistic=statistic,
            period_ns=period_ns if period_ns is not None else getattr(d, "period_ns", None),
            window_ns=window_ns,
            fix_shift_ns=fix_shift_ns,
        )
        tasks.append(
            (
                _fit_one,
                (np.asarray(d.time_ns), np.asarray(d.counts), kwargs, str(d.source), irf_source),
            )
        )
    fits = _run(tasks, scheduler, n_workers, progress)
    order = np.argsort(T, kind="stable")
    fits = [fits[i] for i in order]
    msgs = []
    for f in fits:
        msgs += list(f.warnings)
    return LifetimeSeries(
        temperature_K=T[order],
        fits=tuple(fits),
        files=tuple(str(decays[i].source) for i in order),
        warnings=tuple(dict.fromkeys(msgs)),
    )


# ----------------------------------------------------------------------------- stacks


def _fit_chunk(time_ns, counts, fitter_kwargs, sources, tau_guess_ns, batch_size):
    fitter = ReconvolutionFitter(time_ns, **fitter_kwargs)
    fits = fitter.fit_many(
        counts, sources=sources, tau_guess_ns=tau_guess_ns, batch_size=batch_size
    )
    # fit_many keeps no lmfit result; a result with one (from fit) would cost more to send back
    # from a worker than the fit itself (its Parameters carry an expression interpreter each)
    return [f if f.fit is None else replace(f, fit=None) for f in fits]


def fit_decay_stack(
    time_ns,
    counts,
    *,
    chunk: int = 250,
    batch_size: int = 128,
    tau_guess_ns=None,
    sources: Sequence[str] | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    **fitter_kwargs,
) -> list[DecayFit]:
    """Fit N decays sharing one time axis and IRF, in chunks spread over dask workers.

    Parameters
    ----------
    time_ns : array_like, shape (n,)
    counts : array_like, shape (N, n)
    chunk : int
        Decays per task.
    batch_size : int
        Decays solved together inside a task
        (see :meth:`~qdstack.analysis.decay.ReconvolutionFitter.fit_many`).
    tau_guess_ns : sequence of float, optional
        Starting lifetimes for all decays; default: each chunk starts from the
        fit of its summed decay.
    sources : sequence of str, optional
    scheduler, n_workers, progress
        As for :func:`fit_decay_series` (``progress`` is called once per chunk).
    **fitter_kwargs
        Passed to :class:`~qdstack.analysis.decay.ReconvolutionFitter`
        (``irf`` or ``irf_fwhm_ns``, ``components``, ``statistic``, ...).

    Returns
    -------
    list of DecayFit
        In the order of ``counts``; their ``fit`` is None (the batch solver runs no
        lmfit minimisation per decay).
    """
    Y = np.asarray(counts, dtype=float)
    if Y.ndim != 2:
        raise InputError("counts must be a 2-D array (decays x bins)", "counts")
    N = Y.shape[0]
    ReconvolutionFitter(time_ns, **fitter_kwargs)  # validate the settings here, not in a worker
    srcs = list(sources) if sources is not None else [f"<decay {i}>" for i in range(N)]
    chunk = max(1, int(chunk))
    tasks = []
    for c0 in range(0, N, chunk):
        sl = slice(c0, min(N, c0 + chunk))
        tasks.append(
            (
                _fit_chunk,
                (np.asarray(time_ns), Y[sl], fitter_kwargs, srcs[sl], tau_guess_ns, batch_size),
            )
        )
    parts = _run(tasks, scheduler, n_workers, progress)
    out: list[DecayFit] = []
    for p in parts:
        out += p
    if len(out) != N:  # pragma: no cover - defensive
        raise FitError(f"{len(out)} fits for {N} decays", "fit_decay_stack")
    return out
