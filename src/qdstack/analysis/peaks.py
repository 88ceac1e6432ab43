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

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_coeffs, savgol_filter

__all__ = [
    "uniform_grid",
    "noise_sigma",
    "second_derivative",
    "PeakCandidate",
    "second_derivative_minima",
    "lowest_persistent_minimum",
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
    d2 = savgol_filter(y, m, polyorder, deriv=2, delta=step, mode="interp")
    gain = float(np.sqrt(np.sum(savgol_coeffs(m, polyorder, deriv=2, delta=step) ** 2)))
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
        probe_d2, _ = second_derivative(noise_probe, step, scale)
        m = _window_points(scale, step, 3)
        inner = probe_d2[m // 2 + 1 : len(probe_d2) - m // 2 - 1]
        if inner.size > 20:
            gain = float(1.4826 * np.median(np.abs(inner - np.median(inner))))
    noise = max(sigma * gain, 1e-300)
    m = _window_points(scale, step, 3)
    edge = m // 2 + 1
    interior = np.arange(edge, len(x) - edge)
    if interior.size < 3:
        return []
    deepest = float(np.max(-d2[interior]))
    out = []
    for i in interior:
        if not (d2[i] < d2[i - 1] and d2[i] <= d2[i + 1]):
            continue
        depth = -d2[i]
        if depth <= threshold * noise or depth <= rel_depth * deepest:
            continue
        lo = i
        while lo > 0 and d2[lo] < 0:
            lo -= 1
        hi = i
        while hi < len(x) - 1 and d2[hi] < 0:
            hi += 1
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
    probe = None
    if xu.size != x.size or not np.allclose(xu, x):
        probe = np.interp(xu, x, np.random.default_rng(12345).standard_normal(x.size))
    per_scale = [
        second_derivative_minima(xu, yu, step, s, sigma, threshold, rel_depth, probe) for s in scales
    ]
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
    group = [c for c in confirmed if abs(c.position - lowest) <= max(0.5 * c.scale, 3 * step, c.half_width)]
    best = max(group, key=lambda c: c.significance)
    return best, sigma
