"""Kernels of the reconvolution fit: the bin-integrated exponential, the IRF, the deviance, average lifetimes."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from qdstack.errors import InputError

__all__ = [
    "Statistic",
    "exponential_kernel",
    "gaussian_irf",
    "prepare_irf",
    "poisson_deviance_residuals",
    "average_lifetimes",
]

Statistic = Literal["poisson", "neyman"]
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: smallest model value used inside logs and weights [counts]
_M_FLOOR = 1e-9


def _h(x: float) -> float:
    """``1 - (1 - e^-x)/x`` without cancellation (series below x = 1e-3)."""
    if x < 1e-3:
        return x / 2 - x * x / 6 + x**3 / 24
    return 1.0 + math.expm1(-x) / x


def _dk0(x: float) -> float:
    """``dK_0/dtau = 1 + q - 2 (1 - q)/x`` with ``q = e^-x``, without cancellation."""
    if x < 1e-2:
        return x * x / 6 - x**3 / 12 + x**4 / 40
    return 1.0 + math.exp(-x) + 2.0 * math.expm1(-x) / x


def exponential_kernel(tau_ns: float, bin_ns: float) -> tuple[float, float, float]:
    """Coefficients of the bin-integrated exponential kernel.

    For an IRF photon uniformly distributed in bin ``j`` and the decay
    ``exp(-t/tau)`` integrated over bin ``i = j + m``:

    ``K_0 = tau (1 - (1 - q) tau/dt)``, ``K_m = K_1 q^(m-1)`` for m >= 1,
    ``K_1 = tau^2 (1 - q)^2 / dt``, ``q = exp(-dt/tau)``.

    Parameters
    ----------
    tau_ns : float
        Lifetime [ns].
    bin_ns : float
        Bin width [ns].

    Returns
    -------
    K0, K1, q : float
        ``K0`` and ``K1`` in ns (counts per unit amplitude), ``q`` dimensionless.
    """
    x = bin_ns / tau_ns
    em = -math.expm1(-x)
    return tau_ns * _h(x), bin_ns * (em / x) ** 2, math.exp(-x)


def gaussian_irf(time_ns, fwhm_ns: float, centre_ns: float) -> np.ndarray:
    """Bin-integrated Gaussian IRF on bins starting at ``time_ns``, normalised to sum 1."""
    from scipy.special import ndtr

    t = np.asarray(time_ns, dtype=float)
    dt = float(t[1] - t[0])
    sigma = fwhm_ns / _FWHM_PER_SIGMA
    edges = np.append(t, t[-1] + dt)
    g = np.diff(ndtr((edges - centre_ns) / sigma))
    total = g.sum()
    if not total > 0:
        raise InputError("the Gaussian IRF falls outside the histogram", "irf_fwhm_ns")
    return g / total


def prepare_irf(irf_counts, *, source: str = "IRF") -> tuple[np.ndarray, float]:
    """Background-subtracted, normalised IRF from a measured IRF histogram.

    1. A first background is the median of all bins (an IRF occupies a small
       part of the histogram).
    2. The response starts where the 5-bin running mean of the excess first
       rises above 3 noise standard deviations (going left from the peak), and
       ends at the last bin above that level that is not preceded by a run of
       ``max(25, 5 x FWHM)`` bins below it: a weak tail or a delayed echo
       separated by a short dip stays, isolated noise spikes far away do not.
       Three bins are added on each side.
    3. The background is re-estimated as the mean of the bins outside the
       response (10 bins away from it), subtracted, negative values inside the
       response are set to zero and everything outside is zero.

    Keeping noise from outside the response would add a spurious flat
    "response" that mimics a background in the fit.

    Returns
    -------
    irf : ndarray
        Non-negative, sums to 1.
    background : float
        The subtracted background per bin [counts].

    Raises
    ------
    InputError
        Negative or non-finite values, or no pulse above the background.
    """
    g = np.asarray(irf_counts, dtype=float)
    if g.ndim != 1 or g.size < 8:
        raise InputError("the IRF must be a histogram of at least 8 bins", source)
    if not np.all(np.isfinite(g)):
        raise InputError("the IRF contains non-finite values", source)
    if np.any(g < 0):
        raise InputError(f"the IRF has negative counts (bin {int(np.argmin(g))})", source)
    bg = float(np.median(g))
    w = 5
    smooth = np.convolve(g - bg, np.ones(w) / w, mode="same")
    noise = math.sqrt(max(bg, 1.0) / w)
    peak = int(np.argmax(smooth))
    if not smooth[peak] > 5 * noise:
        raise InputError(
            f"no pulse above the background in the IRF (peak {smooth[peak]:.3g} counts above a "
            f"background of {bg:.3g})",
            source,
        )
    above = smooth > 3 * noise
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    half = 0.5 * smooth[peak]
    fwhm = int(np.sum(smooth[max(0, peak - 50) : peak + 50] > half))
    run = max(25, 5 * fwhm)
    hi = peak
    gap = 0
    for j in range(peak + 1, g.size):
        if above[j]:
            hi, gap = j, 0
        else:
            gap += 1
            if gap >= run:
                break
    lo, hi = max(0, lo - 3), min(g.size - 1, hi + 3)
    outside = np.ones(g.size, dtype=bool)
    outside[max(0, lo - 10) : hi + 11] = False
    if outside.sum() >= 20:
        bg = float(np.mean(g[outside]))
    out = np.zeros_like(g)
    out[lo : hi + 1] = np.clip(g[lo : hi + 1] - bg, 0.0, None)
    return out / out.sum(), bg


def poisson_deviance_residuals(y, m) -> np.ndarray:
    """Signed deviance residuals ``sign(y - m) sqrt(2 [y ln(y/m) - (y - m)])``.

    Their sum of squares is the Poisson deviance ``2 sum [y ln(y/m) - (y - m)]``
    (``y ln y = 0`` at ``y = 0``), which Poisson maximum likelihood minimises.
    """
    y = np.asarray(y, dtype=float)
    m = np.maximum(np.asarray(m, dtype=float), _M_FLOOR)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / m), 0.0)
    d = np.maximum(2.0 * (ylog - (y - m)), 0.0)
    return np.sign(y - m) * np.sqrt(d)


def average_lifetimes(amplitudes, taus_ns, cov=None):
    """Amplitude- and intensity-weighted average lifetimes with propagated errors.

    ``tau_a = sum(a tau)/sum(a)`` and ``tau_i = sum(a tau^2)/sum(a tau)``
    (Lakowicz 2006, eqns 4.19-4.20).

    Parameters
    ----------
    amplitudes, taus_ns : array_like, shape (K,)
        Pre-exponential factors (any scale) and lifetimes [ns].
    cov : array_like, shape (2K, 2K), optional
        Covariance of ``(a_1..a_K, tau_1..tau_K)``.

    Returns
    -------
    tau_a, tau_a_err, tau_i, tau_i_err : float
        Errors are NaN without ``cov``.
    """
    a = np.asarray(amplitudes, dtype=float)
    t = np.asarray(taus_ns, dtype=float)
    sa, sat = a.sum(), (a * t).sum()
    tau_a = float(sat / sa)
    tau_i = float((a * t * t).sum() / sat)
    if cov is None:
        return tau_a, float("nan"), tau_i, float("nan")
    cov = np.asarray(cov, dtype=float)
    ga = np.concatenate([(t - tau_a) / sa, a / sa])
    gi = np.concatenate([(t * t - tau_i * t) / sat, (2 * a * t - tau_i * a) / sat])
    va, vi = float(ga @ cov @ ga), float(gi @ cov @ gi)
    return (
        tau_a,
        math.sqrt(va) if va >= 0 else float("nan"),
        tau_i,
        math.sqrt(vi) if vi >= 0 else float("nan"),
    )


def _fwhm_bins(g: np.ndarray) -> float:
    """Width of the main peak at half its maximum, in bins (at least 1)."""
    i = int(np.argmax(g))
    half = 0.5 * g[i]
    lo = i
    while lo > 0 and g[lo - 1] > half:
        lo -= 1
    hi = i
    while hi < g.size - 1 and g[hi + 1] > half:
        hi += 1
    return float(hi - lo + 1)
