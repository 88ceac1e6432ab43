"""Starting values of a reconvolution fit: the shift, the mean photon delay, a lifetime spectrum."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import nnls

from qdstack.analysis.decay.convolution import Geometry, columns
from qdstack.analysis.decay.window import _rise_time
from qdstack.errors import InputError

__all__ = ["starts", "shift_start", "tau_mean_start", "spectrum_start"]


def shift_start(fitter, y_all: np.ndarray, geo: Geometry, tau_ns: float) -> float:
    """Starting shift: align the half-maximum rise of the data with that of a one-exponential model."""
    if fitter.fix_shift_ns is not None:
        return fitter.fix_shift_ns
    t = fitter.time_ns
    Bm, _, _ = columns(geo, np.array([[tau_ns]]), np.zeros(1), 0, fitter.n, False)
    s0 = _rise_time(y_all, t, 0.5) - _rise_time(Bm[0, 0], t, 0.5)
    lim = 0.8 * fitter.shift_bins * fitter.dt
    return float(np.clip(s0, -lim, lim))


def tau_mean_start(fitter, y_all, g, i0, i1, shift0, tmax) -> float:
    """Mean delay of the photons after the IRF: the intensity-weighted lifetime of the data."""
    t, dt = fitter.time_ns, fitter.dt
    y = y_all[i0:i1]
    nw = i1 - i0
    bg0 = float(np.median(y_all[:i0])) if i0 >= 10 else float(np.median(y[-max(3, nw // 10) :]))
    excess = y - bg0
    tot = float(excess.sum())
    tau = (
        float(np.dot(t[i0:i1], excess) / tot) - (float(np.dot(t, g)) + shift0)
        if tot > 0
        else math.nan
    )
    if not (math.isfinite(tau) and tau > dt):
        tau = max(dt, 0.1 * nw * dt)
    return min(tau, 0.5 * tmax)


def starts(fitter, y_all, geo, i0, i1, tmin, tmax, tau_guess_ns) -> tuple[list[np.ndarray], float]:
    """Starting lifetimes (one or two sets) and the starting shift."""
    K = fitter.K
    tau_mean = tau_mean_start(fitter, y_all, geo.g, i0, i1, 0.0, tmax)
    shift0 = shift_start(fitter, y_all, geo, tau_mean)
    if tau_guess_ns is not None:
        guess = np.sort(np.asarray(tau_guess_ns, dtype=float).ravel())
        if guess.shape != (K,) or not np.all(guess > 0):
            raise InputError(f"tau_guess_ns needs {K} positive values", "tau_guess_ns")
        return [guess], shift0
    tau_mean = tau_mean_start(fitter, y_all, geo.g, i0, i1, shift0, tmax)
    spreads = {1: (1.0,), 2: (0.3, 1.3), 3: (0.1, 0.45, 1.6), 4: (0.05, 0.2, 0.6, 1.8)}
    starts = [tau_mean * np.array(spreads[K])]
    if K >= 2:
        esm = spectrum_start(fitter, geo, y_all[i0:i1], i0, i1, shift0, tmin, tmax)
        if esm is not None:
            starts.insert(0, esm)
    return starts, shift0


def spectrum_start(fitter, geo, y, i0, i1, shift0, tmin, tmax):
    """Starting lifetimes from a non-negative lifetime spectrum (exponential series method).

    The window is fitted (weighted NNLS) with 24 log-spaced lifetimes plus the
    background; the non-zero part of the spectrum is split into K groups at its
    K - 1 widest gaps in log(tau) and each group gives its photon-weighted
    geometric-mean lifetime.  None when the spectrum has fewer than K lines.
    """
    K, dt = fitter.K, fitter.dt
    lo = max(tmin, 0.3 * dt)
    hi = min(tmax, 3.0 * (i1 - i0) * dt)
    if not hi > lo * 1.5:
        return None
    grid = np.geomspace(lo, hi, 24)
    Bm, _, _ = columns(geo, grid[None, :], np.array([shift0 / dt]), i0, i1 - i0, False)
    sw = np.sqrt(1.0 / np.maximum(y, 1.0))
    A = (Bm[0] * sw).T
    scale = np.maximum(np.sqrt((A * A).sum(axis=0)), 1e-300)
    try:
        amp, _ = nnls(A / scale, y * sw, maxiter=50 * A.shape[1])
    except RuntimeError:
        return None
    amp = amp[:-1] / scale[:-1]
    nz = np.nonzero(amp > 1e-9 * max(float(amp.max()), 1e-300))[0]
    if nz.size < K:
        return None
    # lines at the ends of the grid stand in for the IRF shape or the background: drop them
    inner = nz[(nz > 0) & (nz < grid.size - 1)]
    if inner.size >= K:
        nz = inner
    logt = np.log(grid[nz])
    weights = amp[nz] * grid[nz]  # photons of each line: a * tau
    if nz.size == K:
        return np.exp(logt)
    cuts = np.sort(np.argsort(np.diff(logt))[-(K - 1) :]) + 1
    groups = np.split(np.arange(nz.size), cuts)
    return np.array([float(np.exp(np.average(logt[g], weights=weights[g]))) for g in groups])
