"""The fit window: from the IRF rise to where the decay meets the background."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["auto_window"]


def _smooth(y: np.ndarray, w: int) -> np.ndarray:
    w = max(1, int(w))
    if w == 1:
        return y.astype(float)
    return np.convolve(y, np.ones(w) / w, mode="same")


def auto_window(counts, irf, *, fwhm_bins: float, min_bins: int = 12) -> tuple[int, int]:
    """Fit window ``[start, stop)`` from the IRF rise to where the signal meets the background.

    start: the first bin where the IRF reaches 1 % of its maximum, minus two
    IRF widths (at least 3 bins).  stop: the first bin after the decay peak
    where the running mean of the counts falls to the background plus two
    standard errors of that mean, plus a quarter of the decay length (at least
    10 bins) of background-only bins that pin the background down; the end of
    the histogram if the signal never falls that far.  The background is the
    median of the bins before the rise when there are at least 10 of them,
    else the median of the last 10 % of the histogram.

    Parameters
    ----------
    counts : array_like, shape (n,)
    irf : array_like, shape (n,)
        The IRF on the same bins (any normalisation), at its unshifted position.
    fwhm_bins : float
        IRF width in bins.
    min_bins : int
        Smallest window returned.
    """
    y = np.asarray(counts, dtype=float)
    start, stop = _auto_windows(y[None, :], irf, fwhm_bins=fwhm_bins, min_bins=min_bins)
    return int(start[0]), int(stop[0])


def _auto_windows(
    Y: np.ndarray, irf, *, fwhm_bins: float, min_bins: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`auto_window` for every row of ``Y`` (N, n) at once; returns the starts and stops."""
    g = np.asarray(irf, dtype=float)
    N, n = Y.shape
    rise = int(np.argmax(g >= 0.01 * g.max()))
    start = max(0, rise - max(3, int(math.ceil(2 * fwhm_bins))))
    if start >= 10:
        bg = np.median(Y[:, :start], axis=1)
    else:
        bg = np.median(Y[:, -max(5, n // 10) :], axis=1)
    w = max(5, n // 64)
    kern = np.ones(w) / w
    sm = np.empty((N, n))
    for i in range(N):
        sm[i] = np.convolve(Y[i], kern, mode="same")
    peak = start + np.argmax(sm[:, start:], axis=1)
    noise = np.sqrt(np.maximum(bg, 1.0) / w)
    cond = (sm - bg[:, None] < 2 * noise[:, None]) & (np.arange(n)[None, :] >= peak[:, None])
    found = cond.any(axis=1)
    meet = np.argmax(cond, axis=1)
    stop = np.where(found, np.minimum(n, meet + np.maximum(10, (meet - peak) // 4)), n)
    starts = np.full(N, start)
    short = stop - starts < min_bins
    if short.any():
        stop = np.where(short, np.minimum(n, starts + min_bins), stop)
        starts = np.where(short, np.maximum(0, stop - min_bins), starts)
    return starts.astype(np.int64), stop.astype(np.int64)


def _rise_time(y: np.ndarray, t: np.ndarray, frac: float = 0.5) -> float:
    """Time where the running mean first reaches ``frac`` of its maximum (linear interpolation)."""
    sm = _smooth(y, 3)
    sm = sm - min(
        float(np.median(sm[: max(3, sm.size // 20)])), float(sm.min()) if sm.size else 0.0
    )
    i_max = int(np.argmax(sm))
    level = frac * sm[i_max]
    i = int(np.argmax(sm >= level))
    if i == 0:
        return float(t[0])
    y0, y1 = sm[i - 1], sm[i]
    return (
        float(t[i - 1] + (level - y0) / (y1 - y0) * (t[i] - t[i - 1])) if y1 > y0 else float(t[i])
    )
