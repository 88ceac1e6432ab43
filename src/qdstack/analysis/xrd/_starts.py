"""Starting values of the XRD peak fit.

Curvature candidates persistent across smoothing scales, peaks of the detrended
profile, the K-subsets of candidates tried, and the starting background.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from qdstack.analysis.peaks import second_derivative_minima, uniform_grid
from qdstack.analysis.xrd.model import _FWHM_PER_SIGMA


def _persistent_minima(q, y, sigma, threshold=4.0):
    """Second-derivative minima that persist at neighbouring smoothing scales, most significant first.

    ``sigma`` is the standard error of each point: the search runs with the smallest
    one and each candidate's significance is then rescaled to the noise where it lies
    (counts on a steep background are much noisier at its high end).
    """
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), np.shape(q))
    xu, yu, step = uniform_grid(q, y)
    s_min = max(float(np.min(sigma)), 1e-300)
    lo = 7 * step
    hi = max((xu[-1] - xu[0]) / 3, 1.5 * lo)
    n = max(int(np.ceil(np.log(hi / lo) / np.log(1.3))) + 1, 3)
    scales = np.geomspace(lo, hi, n)
    per_scale = []
    for s in scales:
        kept = []
        for c in second_derivative_minima(xu, yu, step, s, s_min, threshold, 0.02):
            local = float(np.interp(c.position, q, sigma))
            sig = c.significance * s_min / max(local, 1e-300)
            if sig > threshold and c.half_width >= 2 * step:
                kept.append(replace(c, significance=sig))
        per_scale.append(kept)
    confirmed = []
    for k, cands in enumerate(per_scale):
        neighbours = (per_scale[k - 1] if k > 0 else []) + (
            per_scale[k + 1] if k + 1 < len(per_scale) else []
        )
        for c in cands:
            tol = max(0.5 * c.scale, 3 * step, c.half_width)
            if any(abs(c.position - o.position) <= tol for o in neighbours):
                confirmed.append(c)
    # finest scale first: a coarse minimum that spans two resolved ones is their merger, not a peak
    confirmed.sort(key=lambda c: (c.scale, -c.significance))
    distinct = []
    for c in confirmed:
        if all(
            abs(c.position - d.position) > max(d.half_width, c.half_width, 3 * step)
            for d in distinct
        ):
            distinct.append(c)
    distinct.sort(key=lambda c: -c.significance)
    return distinct, step


@dataclass(frozen=True)
class _Bump:
    """A peak of the detrended profile: position, Gaussian sigma, height and its significance."""

    position: float
    sigma: float
    height: float
    significance: float


def _detrended_peaks(q, y, sigma, step, threshold=5.0) -> list[_Bump]:
    """Peaks that stand out of a smooth background, most significant first.

    What a person sees: the background is estimated by iteratively fitting a
    polynomial that stays under the peaks (pybaselines ``imodpoly``, degree 3) to
    log(intensity) against log(q) -- a power law and its curvature are low-order
    there -- and the excess ``y - B`` is smoothed with a Gaussian of 1.5 points and
    searched with ``scipy.signal.find_peaks``: a peak must rise ``threshold`` noise
    standard deviations (of the smoothed excess) above its surroundings and be at
    least 3 points wide.  Its sigma comes from the width at half its prominence.
    """
    from pybaselines import Baseline
    from scipy.signal import find_peaks, peak_widths

    if q.size < 15 or np.any(q <= 0):
        return []
    floor = max(float(np.percentile(y, 1)), 1e-12)
    ly = np.log(np.clip(y, floor * 1e-3 if floor > 0 else 1e-12, None))
    lx = np.log(q)
    try:
        base, _ = Baseline(x_data=lx).imodpoly(ly, poly_order=3, num_std=1.0, max_iter=250)
    except Exception:  # pragma: no cover - pybaselines refuses odd input
        return []
    excess = y - np.exp(base)
    k = np.arange(-6, 7)
    kernel = np.exp(-0.5 * (k / 1.5) ** 2)
    kernel /= kernel.sum()
    z = np.convolve(excess / sigma, kernel, mode="same")
    noise = float(np.sqrt(np.sum(kernel**2)))  # of smoothed unit-variance noise
    found, props = find_peaks(z, prominence=threshold * noise, width=3)
    if found.size == 0:
        return []
    widths = peak_widths(z, found, rel_height=0.5)[0]
    bumps = []
    for i, prom, w in zip(found, props["prominences"], widths):
        if i < 2 or i > q.size - 3:
            continue
        local = float(np.median(np.diff(q[max(i - 3, 0) : i + 4]))) if q.size > 2 else step
        bumps.append(
            _Bump(
                float(q[i]),
                max(float(w) * local / _FWHM_PER_SIGMA, 0.6 * step),
                float(excess[i]),
                float(prom / noise),
            )
        )
    bumps.sort(key=lambda b: -b.significance)
    return bumps


def _start_sets(k_peaks, second_derivative, bumps, step, max_sets=8):
    """Starting centres for several raw fits: K of the candidates from both searches.

    The second-derivative candidates alone (the previous single start) come first,
    then every K-subset of the union of the most significant candidates (K + 2 of them,
    at most 6), so that a peak the curvature search ranked low or missed (a weak
    shoulder of the background, or the strongest peak of a wide scan) is tried.
    """
    from itertools import combinations

    pool: list[tuple[float, float]] = []
    for pos, width in [(b.position, b.sigma) for b in bumps] + list(second_derivative):
        if all(abs(pos - p) > max(3 * step, 0.5 * min(width, w)) for p, w in pool):
            pool.append((pos, width))
    sets = []
    if second_derivative:
        sets.append(tuple(second_derivative[:k_peaks]))
    top = pool[: min(len(pool), max(k_peaks + 2, 4), 6)]
    for combo in combinations(top, min(k_peaks, len(top))):
        sets.append(tuple(sorted(combo)))
    unique = []
    for st in sets:
        key = tuple(round(c / max(3 * step, 1e-300)) for c, _ in sorted(st))
        if key not in [k for k, _ in unique]:
            unique.append((key, st))
    return [st for _, st in unique][:max_sets]


def _initial_background(kind, degree, q, y, mask, q_mid, q_half):
    """Starting background parameters from the points outside the peaks (mask True = background)."""
    qb, yb = (q[mask], y[mask]) if mask.sum() >= max(degree + 3, 6) else (q, y)
    if kind == "poly":
        u = (qb - q_mid) / q_half
        coef = np.polynomial.polynomial.polyfit(u, yb, degree)
        return {f"c{i}": float(coef[i]) for i in range(degree + 1)}
    pos = yb > 0
    if pos.sum() >= 3:
        slope, intercept = np.polyfit(np.log(qb[pos] / q_mid), np.log(yb[pos]), 1)
        return {
            "amplitude": float(np.exp(intercept)),
            "exponent": float(np.clip(-slope, -5, 10)),
            "const": 0.0,
        }
    return {"amplitude": float(max(np.median(yb), 1e-12)), "exponent": 1.0, "const": 0.0}
