"""Locating weak peaks with smoothed second derivatives.

A weak excitonic peak on a rising continuum is often a shoulder, not a local
maximum, but it is always a local *minimum of the second derivative*.  The
derivative is taken with a Savitzky-Golay filter (Savitzky & Golay, Anal. Chem.
1964, 36, 1627) on a uniform grid, at several smoothing scales; a minimum
counts when it is deeper than ``threshold`` times the noise of the filtered
derivative (propagated exactly from the filter coefficients) and persists at
two neighbouring scales, which rejects noise (it does not persist) without
having to know the peak width in advance.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "uniform_grid",
    "noise_sigma",
    "second_derivative",
    "PeakCandidate",
    "second_derivative_minima",
    "lowest_persistent_minimum",
    "sorted_in_range",
]


def uniform_grid(x, y, step: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Resample ``y(x)`` (x ascending) onto a uniform grid by linear interpolation.

    The default step is the median spacing of ``x``, so uniform data come back unchanged.

    Returns
    -------
    xu, yu : ndarray
        Uniform grid and resampled values.
    step : float
        Grid spacing.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = np.diff(x)
    if step is None:
        step = float(np.median(dx))
    if np.allclose(dx, step, rtol=1e-6, atol=0):
        return x.copy(), y.copy(), step
    n = int(np.floor((x[-1] - x[0]) / step + 1e-9)) + 1
    xu = x[0] + step * np.arange(n)
    return xu, np.interp(xu, x, y), step


def noise_sigma(y) -> float:
    """Robust white-noise standard deviation from second differences.

    For white noise of variance s^2 the second difference has variance 6 s^2; the
    median absolute deviation (times 1.4826) makes the estimate insensitive to the
    smooth signal and to spikes.
    """
    y = np.asarray(y, dtype=float)
    if y.size < 5:
        return float("nan")
    d2 = np.diff(y, 2)
    mad = np.median(np.abs(d2 - np.median(d2)))
    return float(1.4826 * mad / np.sqrt(6.0))


def _window_points(scale: float, step: float, polyorder: int) -> int:
    m = int(round(scale / step))
    m = max(m, polyorder + 3)
    if m % 2 == 0:
        m += 1
    return m


@lru_cache(maxsize=256)
def _savgol_operator(m: int, polyorder: int, deriv: int, delta: float):
    """The Savitzky-Golay derivative filter of window ``m`` as a linear operator (cached).

    Returns ``(w, left, right)``: ``w`` (m,) are the weights of the centred
    window (interior points: ``d[i] = w @ y[i - m//2 : i + m//2 + 1]``);
    ``left``/``right`` (m//2, m) map the first/last ``m`` samples to the
    derivative at the first/last ``m//2`` points, from the polynomial fitted to
    that end window (scipy's ``mode="interp"``).  All three are rows of one
    least-squares projector ``D (A^T A)^-1 A^T`` (A the Vandermonde matrix of
    the window in centred, scaled coordinates, D the derivative evaluation), so
    they equal ``scipy.signal.savgol_filter(..., mode="interp")`` to rounding
    (tested) without importing scipy.signal.
    """
    half = m // 2
    hs = max((m - 1) / 2.0, 1.0)
    u = (np.arange(m) - (m - 1) / 2.0) / hs  # window coordinate, in [-1, 1]
    a = np.vander(u, polyorder + 1, increasing=True)
    proj = np.linalg.pinv(a)  # (polyorder + 1, m): least-squares coefficients of u^k

    def rows(points):
        # d^deriv/dt^deriv of sum_k c_k u^k at the window points (t in samples), / delta^deriv
        b = np.zeros((len(points), polyorder + 1))
        for k in range(deriv, polyorder + 1):
            fac = 1.0
            for j in range(deriv):
                fac *= k - j
            b[:, k] = fac * np.asarray(points, float) ** (k - deriv)
        return b @ proj / (hs * delta) ** deriv

    w = rows([u[half]])[0]  # the centre of an odd window
    left = rows(u[:half])
    right = rows(u[m - half :])
    for arr in (w, left, right):
        arr.setflags(write=False)
    return w, left, right


def savgol_derivative(y, m: int, polyorder: int, deriv: int, delta: float) -> np.ndarray:
    """Savitzky-Golay derivative of ``y`` (uniform grid), edges from the end-window fits.

    The same numbers as ``scipy.signal.savgol_filter(y, m, polyorder, deriv=deriv,
    delta=delta, mode="interp")`` (``m`` odd, ``polyorder < m <= len(y)``), computed
    as one matrix-vector product on the sliding windows with cached weights.
    """
    y = np.asarray(y, dtype=float)
    if m % 2 == 0 or m > y.size or m <= polyorder:
        raise ValueError(
            f"window of {m} points: it must be odd, above the polynomial order "
            f"({polyorder}) and at most the {y.size} samples"
        )
    w, left, right = _savgol_operator(int(m), int(polyorder), int(deriv), float(delta))
    half = m // 2
    out = np.empty_like(y)
    out[half : y.size - half] = np.lib.stride_tricks.sliding_window_view(y, m) @ w
    if half:
        out[:half] = left @ y[:m]
        out[y.size - half :] = right @ y[y.size - m :]
    return out


def second_derivative(y, step: float, scale: float, polyorder: int = 3) -> tuple[np.ndarray, float]:
    """Savitzky-Golay second derivative over a window of length ``scale`` (x units).

    Returns
    -------
    d2 : ndarray
        Second derivative on the same uniform grid.
    gain : float
        Root sum of squares of the filter coefficients: white noise of standard
        deviation s becomes noise of standard deviation ``s * gain`` in ``d2``.
    """
    m = _window_points(scale, step, polyorder)
    m = min(m, len(y) - (1 - len(y) % 2))
    d2 = savgol_derivative(y, m, polyorder, 2, step)
    w = _savgol_operator(int(m), int(polyorder), 2, float(step))[0]
    gain = float(np.sqrt(np.sum(w**2)))
    return d2, gain


@dataclass(frozen=True)
class PeakCandidate:
    """A significant minimum of the smoothed second derivative.

    Attributes
    ----------
    position : float
        x of the minimum.
    depth : float
        -d2 at the minimum (positive).
    significance : float
        depth / noise of d2 there.
    scale : float
        Smoothing window length (x units) at which it was found.
    half_width : float
        Half the distance between the zero crossings of d2 around the minimum,
        about the standard deviation of a Gaussian peak (broadened by smoothing).
    """

    position: float
    depth: float
    significance: float
    scale: float
    half_width: float


def second_derivative_minima(
    x,
    y,
    step: float,
    scale: float,
    sigma: float,
    threshold: float = 5.0,
    rel_depth: float = 0.02,
    noise_probe=None,
) -> list[PeakCandidate]:
    """Significant local minima of the second derivative at one smoothing scale (x uniform).

    ``noise_probe`` is unit white noise resampled onto ``x`` like the data were;
    when given, the noise gain of the filter is measured on it (resampling
    correlates noise), otherwise it is computed from the filter coefficients.
    """
    d2, gain = second_derivative(y, step, scale)
    if noise_probe is not None:
        gain = _probe_gain(noise_probe, step, scale, gain)
    return _minima(x, d2, gain, step, scale, sigma, threshold, rel_depth)


def _probe_gain(noise_probe, step: float, scale: float, gain: float) -> float:
    """Noise gain of the filter measured on resampled unit white noise (MAD of its d2)."""
    probe_d2, _ = second_derivative(noise_probe, step, scale)
    m = _window_points(scale, step, 3)
    inner = probe_d2[m // 2 + 1 : len(probe_d2) - m // 2 - 1]
    if inner.size > 20:
        gain = float(1.4826 * np.median(np.abs(inner - np.median(inner))))
    return gain


def _minima(x, d2, gain, step, scale, sigma, threshold, rel_depth) -> list[PeakCandidate]:
    """The significant local minima of one filtered second derivative ``d2``."""
    noise = max(sigma * gain, 1e-300)
    m = _window_points(scale, step, 3)
    edge = m // 2 + 1
    n = len(x)
    if n - 2 * edge < 3:
        return []
    inner = d2[edge : n - edge]
    deepest = float(np.max(-inner))
    # local minima (strictly below the left neighbour, not above the right one), deep enough
    is_min = (inner < d2[edge - 1 : n - edge - 1]) & (inner <= d2[edge + 1 : n - edge + 1])
    is_min &= (-inner > threshold * noise) & (-inner > rel_depth * deepest)
    out = []
    found = edge + np.flatnonzero(is_min)
    if found.size == 0:
        return out
    # zero crossings around each minimum: the nearest samples with d2 >= 0 on either side
    # (or the ends of the data)
    nonneg = np.flatnonzero(d2 >= 0)
    k_lo = np.searchsorted(nonneg, found, side="right") - 1
    k_hi = np.searchsorted(nonneg, found, side="left")
    for i, kl, kh in zip(found, k_lo, k_hi):
        depth = -d2[i]
        lo = nonneg[kl] if kl >= 0 else 0
        hi = nonneg[kh] if kh < nonneg.size else n - 1
        half = 0.5 * (x[hi] - x[lo])
        # parabolic interpolation of the minimum between grid points
        denom = d2[i - 1] - 2 * d2[i] + d2[i + 1]
        shift = 0.5 * (d2[i - 1] - d2[i + 1]) / denom if denom > 0 else 0.0
        out.append(
            PeakCandidate(
                position=float(x[i] + shift * step),
                depth=float(depth),
                significance=float(depth / noise),
                scale=float(scale),
                half_width=float(half),
            )
        )
    return out


_PROBE_GAINS: dict = {}


def _probe_gains(x, xu, step, scales) -> list[float | None]:
    """Noise gains of every scale measured on unit white noise resampled from ``x`` to ``xu``.

    They depend only on the raw grid (the probe is a fixed seeded draw), so a
    series measured on one grid computes them once (cached by the grid's bytes).
    """
    key = (
        hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest(),
        x.size,
        float(step),
        tuple(float(v) for v in scales),
    )
    if key not in _PROBE_GAINS:
        probe = np.interp(xu, x, np.random.default_rng(12345).standard_normal(x.size))
        gains = []
        for sc in scales:
            _, g = second_derivative(probe, step, sc)
            gains.append(_probe_gain(probe, step, sc, g))
        if len(_PROBE_GAINS) > 64:
            _PROBE_GAINS.clear()
        _PROBE_GAINS[key] = gains
    return _PROBE_GAINS[key]


def lowest_persistent_minimum(
    x,
    y,
    scales=None,
    threshold: float = 5.0,
    rel_depth: float = 0.02,
) -> tuple[PeakCandidate | None, float]:
    """The lowest-x second-derivative minimum that persists across two neighbouring scales.

    Parameters
    ----------
    x, y : array_like
        Data on any ascending grid (resampled to a uniform grid internally).
    scales : sequence of float, optional
        Smoothing window lengths in x units; default a geometric ladder from 7
        grid steps to a quarter of the range.
    threshold : float
        Minimum depth in units of the propagated noise of the second derivative.
    rel_depth : float
        Minimum depth relative to the deepest minimum at that scale.

    Returns
    -------
    candidate : PeakCandidate or None
        The feature at the scale where it is most significant; None if no minimum persists.
    sigma : float
        The estimated white-noise level of ``y``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    xu, yu, step = uniform_grid(x, y)
    sigma = noise_sigma(y)  # on the raw samples: resampling correlates the noise
    if not np.isfinite(sigma) or sigma <= 0:
        sigma = 1e-12 * max(float(np.ptp(yu)), 1e-300)
    if scales is None:
        lo = 7 * step
        hi = max((xu[-1] - xu[0]) / 4, lo * 1.5)
        n = max(int(np.ceil(np.log(hi / lo) / np.log(1.35))) + 1, 3)
        scales = np.geomspace(lo, hi, n)
    # white noise of unit variance on the raw grid, resampled like the data: its filtered
    # second derivative gives the noise gain of each scale including the resampling
    probe_gains = None
    if xu.size != x.size or not np.allclose(xu, x):
        probe_gains = _probe_gains(x, xu, step, scales)
    per_scale = []
    for k, sc in enumerate(scales):
        d2, gain = second_derivative(yu, step, sc)
        if probe_gains is not None:
            gain = probe_gains[k]
        per_scale.append(_minima(xu, d2, gain, step, sc, sigma, threshold, rel_depth))
    confirmed: list[PeakCandidate] = []
    for k, cands in enumerate(per_scale):
        neighbours = []
        if k > 0:
            neighbours += per_scale[k - 1]
        if k + 1 < len(per_scale):
            neighbours += per_scale[k + 1]
        for c in cands:
            tol = max(0.5 * c.scale, 3 * step, c.half_width)
            if any(abs(c.position - o.position) <= tol for o in neighbours):
                confirmed.append(c)
    if not confirmed:
        return None, sigma
    lowest = min(c.position for c in confirmed)
    # the same feature at several scales: take it where it is most significant, i.e. where
    # the smoothing window best matches its width (a matched filter)
    group = [
        c
        for c in confirmed
        if abs(c.position - lowest) <= max(0.5 * c.scale, 3 * step, c.half_width)
    ]
    best = max(group, key=lambda c: c.significance)
    return best, sigma


def sorted_in_range(energy_eV, values, emin_eV, emax_eV, what: str, source: str):
    """Energy-sorted 1-D arrays of a spectrum, kept inside [emin_eV, emax_eV] (None: open).

    Raises :class:`~qdstack.errors.InputError` naming ``source`` when the two arrays are not
    1-D and of equal length (``what`` names the second one in the message).
    """
    from qdstack.errors import InputError

    e = np.asarray(energy_eV, dtype=float)
    y = np.asarray(values, dtype=float)
    if e.ndim != 1 or e.shape != y.shape:
        raise InputError(f"energy and {what} must be 1-D arrays of equal length", source)
    order = np.argsort(e)
    e, y = e[order], y[order]
    keep = np.ones(e.size, dtype=bool)
    if emin_eV is not None:
        keep &= e >= emin_eV
    if emax_eV is not None:
        keep &= e <= emax_eV
    return e[keep], y[keep]
