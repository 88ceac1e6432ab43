"""Multi-exponential reconvolution fits of TCSPC photoluminescence decays.

Model
-----
A TCSPC histogram ``y_i`` (photons in bin ``i`` of width ``dt``) is fitted with

``m_i = sum_k a_k [R_s (*) exp(-t/tau_k)]_i  +  b``                                    (1)

``R_s`` is the instrument response function (IRF) -- measured, or a Gaussian of
given FWHM -- delayed by a fitted shift ``s`` (any real number of bins), ``a_k``
the pre-exponential factors [counts/ns], ``tau_k`` the lifetimes [ns] (1 to 4
components) and ``b`` a constant background [counts per bin].

*Convolution.*  The decay is integrated over each bin, and inside each bin the
IRF density is taken as linear (it integrates to the measured bin content; its
slope is the central difference, limited so the density stays non-negative).
A flat density per bin -- what most programs assume -- blurs the IRF by one
bin and biases short lifetimes by a few per cent when the IRF spans only a few
bins (measured: -3 % on the amplitude-weighted lifetime for a 0.25 ns IRF on
64 ps bins); the linear density removes that first-order error (-0.1 %).  The
kernel of an IRF bin is ``K_0``, ``L_0`` at lag 0 and ``K_1 q^(m-1)``,
``L_1 q^(m-1)`` at lag m >= 1 (``q = exp(-dt/tau)``, closed forms in
:mod:`qdstack.analysis._decay_engine`), so beyond the IRF the convolution is a
pure exponential and inside it a small matrix product built once per IRF: the
columns and their exact tau-derivatives are evaluated for a whole batch of
decays with a few vectorised operations, no FFT and no wrap-around.  A
fractional shift ``s = k + phi`` linearly interpolates the IRF, i.e. mixes the
convolved columns shifted by ``k`` and ``k + 1`` bins.

*Periodic excitation.*  With the laser repetition period ``T`` known (from the
file or given) and a histogram no longer than ``T``, the tails of all earlier
pulses are added in closed form: an IRF bin ``j`` of pulse ``p >= 1`` lies
``(i - j) dt + p T`` before bin ``i``, so the sum over pulses is geometric,
``q^(i-1) sum_j (K_1 g_j + L_1 s_j) e^{-(T - (j + 1) dt)/tau} / (1 - e^{-T/tau})``.
It matters only when the slowest lifetime is not much shorter than ``T`` (and
is exactly negligible otherwise).

*Variable projection.*  Model (1) is linear in ``a_k`` and ``b``.  For given
nonlinear parameters (``tau_k``, ``s``) the amplitudes are the non-negative
optimum of the fit statistic (a non-negative weighted least-squares solve for
Neyman chi2; projected Newton iterations on the Poisson likelihood), so
lmfit's Levenberg-Marquardt only sees the K + 1 nonlinear parameters (the
lifetimes enter as ln tau).  The Jacobian of the projected residuals includes
the change of the optimal amplitudes with the nonlinear parameters
(implicit-function theorem, as in Golub & Pereyra).

*Statistics.*  ``poisson`` (default): maximum likelihood for counts.  The
residuals handed to lmfit are the signed deviance residuals
``r_i = sign(y_i - m_i) sqrt(2 [y_i ln(y_i/m_i) - (y_i - m_i)])``, whose sum of
squares is the Poisson deviance, so least squares minimises the deviance and
the fit is unbiased at low counts.  ``neyman``: chi-square with
``sigma_i^2 = max(y_i, 1)``, what most vendor software minimises; it is biased
towards low model values at low counts.  Reported: ``chi2_reduced`` (Pearson
``sum (y - m)^2/m`` per degree of freedom for Poisson fits, Neyman chi2 per
degree of freedom for ``neyman`` fits), ``deviance_per_dof`` and the
residuals.  Uncertainties are one standard error from the inverse Fisher
information of all parameters (amplitudes included, not rescaled by the
reduced chi2), propagated to the two average lifetimes

``tau_amplitude_weighted = sum(a tau)/sum(a)``,
``tau_intensity_weighted = sum(a tau^2)/sum(a tau)``.

*Many decays.*  :meth:`ReconvolutionFitter.fit_many` fits 16 decays per lmfit
minimisation: the model of all of them is evaluated in one vectorised call and
each decay's residuals are compressed to ``Q^T r`` and the norm of the rest
(``J = Q R``), which leaves every Levenberg-Marquardt step unchanged and keeps
MINPACK's dense linear algebra small.  Convergence is judged decay by decay (the
Gauss-Newton decrement, see :meth:`ReconvolutionFitter.fit_many`): a decay that
has not converged when its group stops is minimised again.

*Whole-bin shifts.*  The linear interpolation of the IRF between whole-bin
shifts makes the deviance continuous but not smooth in the shift: it has a kink
wherever the shift is a whole number of bins.  A fit whose best shift lies on
such a kink (common when decay and IRF were recorded with the same delay) ends
there with a Gauss-Newton step that still points across it, and two starts may
end on either side of it, with deviances differing by up to about 1.

References
----------
J. R. Lakowicz, *Principles of Fluorescence Spectroscopy*, 3rd ed., Springer,
2006, ch. 4 (multi-exponential decays and the two average lifetimes).
D. V. O'Connor and D. Phillips, *Time-correlated Single Photon Counting*,
Academic Press, 1984 (reconvolution, IRF shift).
Z. Bajzer, T. M. Therneau, J. C. Sharp and F. G. Prendergast, "Maximum
likelihood method for the analysis of time-resolved fluorescence decay
curves", *Eur. Biophys. J.* 1991, 20, 247.
T. A. Laurence and B. A. Chromy, "Efficient maximum likelihood estimator
fitting of histograms", *Nat. Methods* 2010, 7, 338 (signed deviance residuals
in Levenberg-Marquardt).
G. H. Golub and V. Pereyra, "The differentiation of pseudo-inverses and
nonlinear least squares problems whose variables separate", *SIAM J. Numer.
Anal.* 1973, 10, 413; "Separable nonlinear least squares: the variable
projection method and its applications", *Inverse Problems* 2003, 19, R1.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import nnls

from qdstack.analysis._decay_engine import (
    Geometry,
    columns,
    compress,
    neyman_amplitudes,
    poisson_amplitudes,
    poisson_loss_derivatives,
    varpro_jacobian_t,
)
from qdstack.errors import FitError, InputError

__all__ = [
    "Statistic",
    "DecayComponent",
    "DecayFit",
    "ReconvolutionFitter",
    "fit_decay",
    "exponential_kernel",
    "gaussian_irf",
    "prepare_irf",
    "auto_window",
    "average_lifetimes",
    "poisson_deviance_residuals",
]

Statistic = Literal["poisson", "neyman"]
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: smallest model value used inside logs and weights [counts]
_M_FLOOR = 1e-9


# ----------------------------------------------------------------------------- kernels


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
    return tau_a, math.sqrt(va) if va >= 0 else float("nan"), tau_i, math.sqrt(vi) if vi >= 0 else float("nan")


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DecayComponent:
    """One exponential component ``a exp(-t/tau)`` of a fitted decay.

    Attributes
    ----------
    amplitude, amplitude_err : float
        Pre-exponential factor as a fraction of the sum over components (the
        fractions sum to 1), and its standard error.
    tau_ns, tau_ns_err : float
        Lifetime and its standard error [ns] (NaN when not determined).
    intensity_fraction : float
        ``a tau / sum(a tau)``: the fraction of the emitted photons.
    counts_per_ns : float
        The un-normalised pre-exponential factor [counts/ns].
    """

    amplitude: float
    amplitude_err: float
    tau_ns: float
    tau_ns_err: float
    intensity_fraction: float
    counts_per_ns: float

    def to_dict(self) -> dict:
        return {
            "amplitude": self.amplitude,
            "tau_ns": self.tau_ns,
            "tau_ns_err": self.tau_ns_err,
            "amplitude_err": self.amplitude_err,
            "intensity_fraction": self.intensity_fraction,
            "counts_per_ns": self.counts_per_ns,
        }


@dataclass(frozen=True)
class DecayFit:
    """Result of a reconvolution fit of one decay (see the module docstring).

    Attributes
    ----------
    components : tuple of DecayComponent
        Sorted by lifetime, shortest first.
    tau_amplitude_weighted_ns, tau_amplitude_weighted_ns_err : float
        ``sum(a tau)/sum(a)`` [ns].
    tau_intensity_weighted_ns, tau_intensity_weighted_ns_err : float
        ``sum(a tau^2)/sum(a tau)`` [ns].
    shift_ns, shift_ns_err : float
        Delay of the IRF that best matches the decay [ns] (positive: later).
    background, background_err : float
        Constant background [counts per bin].
    chi2_reduced : float
        Pearson chi2 per degree of freedom (Poisson fits) or Neyman chi2 per
        degree of freedom (``neyman`` fits); about 1 for a good fit.
    deviance_per_dof : float
        Poisson deviance per degree of freedom.
    statistic : str
        ``"poisson"`` or ``"neyman"``.
    dof : int
        Fitted bins minus fitted parameters (2K + 2).
    window_ns : tuple of float
        Start of the first and end of the last fitted bin [ns].
    window : tuple of int
        The same as bin indices ``[start, stop)``.
    bin_width_ns : float
    period_ns : float or None
        Laser repetition period, when known.
    periodic : bool
        Whether the tails of earlier pulses were part of the model.
    irf_description : str
        ``"measured"`` or ``"gaussian FWHM x ns"``.
    signal_counts : float
        Photons of the decay without background in the fit window.
    converged : bool
        Whether Levenberg-Marquardt reported success.
    nfev : int
        Number of model evaluations.
    time_ns, counts, model : ndarray
        The full histogram (bin starts), the data and the fitted model.
    residuals : ndarray
        Weighted residuals in the window (signed deviance for Poisson,
        ``(y - m)/sigma`` for Neyman); NaN outside the window.
    irf : ndarray
        The IRF (normalised to sum 1) shifted by ``shift_ns``.
    fit : lmfit.minimizer.MinimizerResult
        The Levenberg-Marquardt run over the nonlinear parameters.
    warnings : tuple of str
    source : str or None
    """

    components: tuple[DecayComponent, ...]
    tau_amplitude_weighted_ns: float
    tau_amplitude_weighted_ns_err: float
    tau_intensity_weighted_ns: float
    tau_intensity_weighted_ns_err: float
    shift_ns: float
    shift_ns_err: float
    background: float
    background_err: float
    chi2_reduced: float
    deviance_per_dof: float
    statistic: str
    dof: int
    window_ns: tuple[float, float]
    window: tuple[int, int]
    bin_width_ns: float
    period_ns: float | None
    periodic: bool
    irf_description: str
    signal_counts: float
    converged: bool
    nfev: int
    time_ns: np.ndarray = field(repr=False, compare=False)
    counts: np.ndarray = field(repr=False, compare=False)
    model: np.ndarray = field(repr=False, compare=False)
    residuals: np.ndarray = field(repr=False, compare=False)
    irf: np.ndarray = field(repr=False, compare=False)
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()
    source: str | None = None

    @property
    def taus_ns(self) -> np.ndarray:
        return np.array([c.tau_ns for c in self.components])

    @property
    def amplitudes(self) -> np.ndarray:
        return np.array([c.amplitude for c in self.components])

    def to_dict(self, curves: bool = True) -> dict:
        """The contract's JSON object (plus extras); ``curves=False`` drops the arrays."""
        out = {
            "components": [c.to_dict() for c in self.components],
            "tau_amplitude_weighted_ns": self.tau_amplitude_weighted_ns,
            "tau_intensity_weighted_ns": self.tau_intensity_weighted_ns,
            "shift_ns": self.shift_ns,
            "background": self.background,
            "chi2_reduced": self.chi2_reduced,
            "tau_amplitude_weighted_ns_err": self.tau_amplitude_weighted_ns_err,
            "tau_intensity_weighted_ns_err": self.tau_intensity_weighted_ns_err,
            "shift_ns_err": self.shift_ns_err,
            "background_err": self.background_err,
            "deviance_per_dof": self.deviance_per_dof,
            "statistic": self.statistic,
            "dof": self.dof,
            "window_ns": list(self.window_ns),
            "bin_width_ns": self.bin_width_ns,
            "period_ns": self.period_ns,
            "periodic": self.periodic,
            "irf": self.irf_description,
            "signal_counts": self.signal_counts,
            "converged": self.converged,
            "nfev": self.nfev,
            "warnings": list(self.warnings),
        }
        if self.source is not None:
            out["file"] = self.source
        if curves:
            i0, i1 = self.window
            out["curve"] = {
                "time_ns": self.time_ns[i0:i1],
                "counts": self.counts[i0:i1],
                "model": self.model[i0:i1],
                "residuals": self.residuals[i0:i1],
            }
        return out


# ----------------------------------------------------------------------------- window


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


def _auto_windows(Y: np.ndarray, irf, *, fwhm_bins: float, min_bins: int = 12) -> tuple[np.ndarray, np.ndarray]:
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
    sm = sm - min(float(np.median(sm[: max(3, sm.size // 20)])), float(sm.min()) if sm.size else 0.0)
    i_max = int(np.argmax(sm))
    level = frac * sm[i_max]
    i = int(np.argmax(sm >= level))
    if i == 0:
        return float(t[0])
    y0, y1 = sm[i - 1], sm[i]
    return float(t[i - 1] + (level - y0) / (y1 - y0) * (t[i] - t[i - 1])) if y1 > y0 else float(t[i])


# ----------------------------------------------------------------------------- fitter


class ReconvolutionFitter:
    """Fits decays on one time axis with one IRF; reuse it for many decays.

    Everything that does not depend on the counts (the IRF and its support, the
    matrices of the closed-form convolution, the periodic-tail geometry, the
    bounds) is prepared once, so fitting many decays measured with the same IRF
    (a temperature series, a FLIM image, a benchmark) costs only the
    Levenberg-Marquardt iterations.  :meth:`fit` fits one decay (its own
    lmfit minimisation); :meth:`fit_many` fits a stack of decays, several at a
    time in one lmfit minimisation with a block-diagonal, vectorised model.

    Parameters
    ----------
    time_ns : array_like, shape (n,)
        Bin start times [ns], uniformly spaced.
    irf : array_like, shape (n,), optional
        Measured IRF counts on the same bins (background is subtracted, see
        :func:`prepare_irf`).  Give this or ``irf_fwhm_ns``.
    irf_fwhm_ns : float, optional
        FWHM of a Gaussian IRF [ns]; its position is found from the rise of the
        decay and refined by the shift.
    components : int
        Number of exponentials, 1 to 4.
    statistic : {"poisson", "neyman"}
        Poisson maximum likelihood (default) or Neyman chi2.
    period_ns : float, optional
        Laser repetition period [ns]; tails of earlier pulses are modelled.
    window_ns : (float, float), optional
        Fit only bins starting in ``[start, end)`` [ns]; default :func:`auto_window`.
    shift_bounds_ns : float, optional
        The IRF shift is fitted within +-this [ns]; default max(8 bins, 3 IRF FWHM).
    fix_shift_ns : float, optional
        Hold the shift at this value instead of fitting it.
    tau_bounds_ns : (float, float), optional
        Bounds of every lifetime; default (0.1 bin, 5 x the window or the period).
    source : str, optional
        Name of the IRF (file) for messages.
    """

    def __init__(
        self,
        time_ns,
        *,
        irf=None,
        irf_fwhm_ns: float | None = None,
        components: int = 1,
        statistic: Statistic = "poisson",
        period_ns: float | None = None,
        window_ns: tuple[float, float] | None = None,
        shift_bounds_ns: float | None = None,
        fix_shift_ns: float | None = None,
        tau_bounds_ns: tuple[float, float] | None = None,
        source: str | None = None,
    ):
        t = np.asarray(time_ns, dtype=float)
        src = source or "IRF"
        if t.ndim != 1 or t.size < 8:
            raise InputError("a decay needs at least 8 time bins", "time_ns")
        dt = float(t[1] - t[0])
        if not (dt > 0 and np.max(np.abs(np.diff(t) - dt)) <= 1e-3 * dt):
            raise InputError("time bins must be ascending and uniformly spaced", "time_ns")
        if not (isinstance(components, (int, np.integer)) and 1 <= components <= 4):
            raise InputError(f"components must be 1, 2, 3 or 4 (got {components!r})", "components")
        if statistic not in ("poisson", "neyman"):
            raise InputError(f"unknown statistic {statistic!r}; use poisson or neyman", "statistic")
        if (irf is None) == (irf_fwhm_ns is None):
            raise InputError("give either a measured IRF or irf_fwhm_ns (a Gaussian IRF)", "irf")
        self.time_ns = t
        self.n = t.size
        self.dt = dt
        self.K = int(components)
        self.statistic = statistic
        self.source = src
        if window_ns is not None:
            w0, w1 = (float(v) for v in window_ns)
            if not w1 > w0:
                raise InputError(f"the fit window {w0:g}..{w1:g} ns is empty", "window_ns")
        self.window_ns = window_ns
        self.fix_shift_ns = None if fix_shift_ns is None else float(fix_shift_ns)
        self.period_ns = None if period_ns is None else float(period_ns)
        if self.period_ns is not None and not (self.period_ns > 0 and math.isfinite(self.period_ns)):
            raise InputError("the repetition period must be a positive number of ns", "period_ns")
        self.periodic = self.period_ns is not None and self.n * dt <= self.period_ns * (1 + 1e-6)
        self._notes: list[str] = []
        if self.period_ns is not None and not self.periodic:
            self._notes.append(
                f"the histogram ({self.n * dt:.4g} ns) is longer than the repetition period "
                f"({self.period_ns:.4g} ns); tails of earlier pulses are not modelled"
            )
        if irf is not None:
            g = np.asarray(irf, dtype=float)
            if g.shape != t.shape:
                raise InputError(
                    f"the IRF has {g.size} bins but the decay has {t.size}; both must share one time axis",
                    src,
                )
            self.irf0, self.irf_background = prepare_irf(g, source=src)
            self.irf_fwhm_ns = _fwhm_bins(self.irf0) * dt
            self.gaussian_fwhm_ns = None
            self.irf_description = "measured"
            self._geo = self._geometry(self.irf0)
        else:
            if not (irf_fwhm_ns is not None and irf_fwhm_ns > 0 and math.isfinite(irf_fwhm_ns)):
                raise InputError(f"the IRF FWHM must be a positive number of ns (got {irf_fwhm_ns})", "irf_fwhm_ns")
            self.irf0 = None
            self.irf_background = 0.0
            self.irf_fwhm_ns = float(irf_fwhm_ns)
            self.gaussian_fwhm_ns = float(irf_fwhm_ns)
            self.irf_description = f"gaussian FWHM {irf_fwhm_ns:g} ns"
            self._geo = None
        fwhm_bins = max(self.irf_fwhm_ns / dt, 1.0)
        if self.irf0 is not None and fwhm_bins < 2.0:
            self._notes.append(
                f"the IRF spans only {fwhm_bins:.1f} bin(s) at half maximum: lifetimes shorter than about "
                "the IRF width are poorly determined; finer bins would help"
            )
        if shift_bounds_ns is None:
            shift_bins = max(8.0, 3.0 * fwhm_bins)
        else:
            if not (shift_bounds_ns > 0 and math.isfinite(shift_bounds_ns)):
                raise InputError("the shift bound must be a positive number of ns", "shift_bounds_ns")
            shift_bins = shift_bounds_ns / dt
        if self.fix_shift_ns is not None:
            shift_bins = max(shift_bins, abs(self.fix_shift_ns) / dt * 1.01)
        self.shift_bins = float(min(shift_bins, max(self.n / 2, 8.0)))
        if tau_bounds_ns is not None:
            lo, hi = (float(v) for v in tau_bounds_ns)
            if not 0 < lo < hi:
                raise InputError("lifetime bounds must satisfy 0 < min < max", "tau_bounds_ns")
        self.tau_bounds_ns = tau_bounds_ns

    # -- geometry ---------------------------------------------------------------

    def _geometry(self, g: np.ndarray) -> Geometry:
        return Geometry(g, self.dt, self.period_ns if self.periodic else None)

    def _gaussian_geometry(self, y_all: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """Gaussian IRF placed at the rise of the decay (bins below 1e-9 of its peak dropped)."""
        t = self.time_ns
        centre = _rise_time(y_all, t, 0.5) + 0.25 * self.gaussian_fwhm_ns
        g = gaussian_irf(t, self.gaussian_fwhm_ns, centre)
        g = np.where(g > 1e-9 * g.max(), g, 0.0)
        g /= g.sum()
        return g, self._geometry(g)

    # -- one decay: checks, window, starting values ---------------------------------

    def _check_counts(self, counts, src: str) -> np.ndarray:
        y = np.asarray(counts, dtype=float)
        if y.shape != self.time_ns.shape:
            raise InputError(f"{y.size} counts for {self.n} time bins", src)
        if not np.all(np.isfinite(y)):
            raise InputError("the counts contain non-finite values", src)
        if np.any(y < 0):
            i = int(np.argmin(y))
            raise InputError(f"negative counts ({y[i]:g} in bin {i}); a TCSPC histogram counts photons", src)
        if self.statistic == "poisson":
            frac = np.abs(y - np.round(y))
            if frac.max() > 1e-6:
                i = int(np.argmax(frac > 1e-6))
                raise InputError(
                    f"non-integer counts ({y[i]:g} in bin {i}); Poisson statistics need raw photon "
                    "counts (use statistic='neyman' for processed data)",
                    src,
                )
        return y

    def _window(self, y_all: np.ndarray, g: np.ndarray, src: str) -> tuple[int, int]:
        t, dt, K = self.time_ns, self.dt, self.K
        if self.window_ns is not None:
            w0, w1 = self.window_ns
            i0 = int(np.searchsorted(t, w0 - 1e-9 * dt, side="left"))
            i1 = int(np.searchsorted(t, w1 - 1e-9 * dt, side="left"))
        else:
            i0, i1 = auto_window(y_all, g, fwhm_bins=max(self.irf_fwhm_ns / dt, 1.0), min_bins=2 * K + 8)
        nw = i1 - i0
        need = 2 * K + 6
        if nw < need:
            raise InputError(
                f"the fit window holds {nw} bins; {need} or more are needed for {K} component(s)",
                "window_ns" if self.window_ns is not None else src,
            )
        if not y_all[i0:i1].sum() > 0:
            raise FitError("no photons in the fit window", src)
        return i0, i1

    def _check_stack(self, Y: np.ndarray, srcs) -> np.ndarray:
        """:meth:`_check_counts` for every row of ``Y`` (N, n) at once (the first bad row raises)."""
        if not np.all(np.isfinite(Y)):
            b = int(np.argmax(~np.all(np.isfinite(Y), axis=1)))
            return self._check_counts(Y[b], srcs[b])
        if np.any(Y < 0):
            b = int(np.argmax(np.any(Y < 0, axis=1)))
            return self._check_counts(Y[b], srcs[b])
        if self.statistic == "poisson" and np.any(np.abs(Y - np.round(Y)) > 1e-6):
            b = int(np.argmax(np.any(np.abs(Y - np.round(Y)) > 1e-6, axis=1)))
            return self._check_counts(Y[b], srcs[b])
        return Y

    def _windows(self, Y: np.ndarray, g: np.ndarray, srcs) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_window` for every row of ``Y`` (N, n) at once (the first bad row raises)."""
        N = Y.shape[0]
        if self.window_ns is not None:
            i0, i1 = self._window(Y[0], g, srcs[0])
            i0s, i1s = np.full(N, i0), np.full(N, i1)
        else:
            i0s, i1s = _auto_windows(Y, g, fwhm_bins=max(self.irf_fwhm_ns / self.dt, 1.0), min_bins=2 * self.K + 8)
        cols = np.arange(self.n)[None, :]
        inside = np.sum(np.where((cols >= i0s[:, None]) & (cols < i1s[:, None]), Y, 0.0), axis=1)
        bad = (i1s - i0s < 2 * self.K + 6) | ~(inside > 0)
        if bad.any():
            b = int(np.argmax(bad))
            self._window(Y[b], g, srcs[b])
        return i0s, i1s

    def _tau_bounds_many(self, nw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_tau_bounds` for each decay's window length."""
        nw = np.asarray(nw)
        if self.tau_bounds_ns is not None:
            lo, hi = self._tau_bounds(0)
            return np.full(nw.shape, lo), np.full(nw.shape, hi)
        return np.full(nw.shape, 0.1 * self.dt), 5.0 * np.maximum(nw * self.dt, self.period_ns or 0.0)

    def _tau_bounds(self, nw: int) -> tuple[float, float]:
        if self.tau_bounds_ns is not None:
            return tuple(float(v) for v in self.tau_bounds_ns)
        return 0.1 * self.dt, 5.0 * max(nw * self.dt, self.period_ns or 0.0)

    def _shift_start(self, y_all: np.ndarray, geo: Geometry, tau_ns: float) -> float:
        """Starting shift: align the half-maximum rise of the data with that of a one-exponential model."""
        if self.fix_shift_ns is not None:
            return self.fix_shift_ns
        t = self.time_ns
        Bm, _, _ = columns(geo, np.array([[tau_ns]]), np.zeros(1), 0, self.n, False)
        s0 = _rise_time(y_all, t, 0.5) - _rise_time(Bm[0, 0], t, 0.5)
        lim = 0.8 * self.shift_bins * self.dt
        return float(np.clip(s0, -lim, lim))

    def _tau_mean(self, y_all, g, i0, i1, shift0, tmax) -> float:
        """Mean delay of the photons after the IRF: the intensity-weighted lifetime of the data."""
        t, dt = self.time_ns, self.dt
        y = y_all[i0:i1]
        nw = i1 - i0
        bg0 = float(np.median(y_all[:i0])) if i0 >= 10 else float(np.median(y[-max(3, nw // 10) :]))
        excess = y - bg0
        tot = float(excess.sum())
        tau = float(np.dot(t[i0:i1], excess) / tot) - (float(np.dot(t, g)) + shift0) if tot > 0 else math.nan
        if not (math.isfinite(tau) and tau > dt):
            tau = max(dt, 0.1 * nw * dt)
        return min(tau, 0.5 * tmax)

    def _starts(self, y_all, geo, i0, i1, tmin, tmax, tau_guess_ns) -> tuple[list[np.ndarray], float]:
        """Starting lifetimes (one or two sets) and the starting shift."""
        K = self.K
        tau_mean = self._tau_mean(y_all, geo.g, i0, i1, 0.0, tmax)
        shift0 = self._shift_start(y_all, geo, tau_mean)
        if tau_guess_ns is not None:
            guess = np.sort(np.asarray(tau_guess_ns, dtype=float).ravel())
            if guess.shape != (K,) or not np.all(guess > 0):
                raise InputError(f"tau_guess_ns needs {K} positive values", "tau_guess_ns")
            return [guess], shift0
        tau_mean = self._tau_mean(y_all, geo.g, i0, i1, shift0, tmax)
        spreads = {1: (1.0,), 2: (0.3, 1.3), 3: (0.1, 0.45, 1.6), 4: (0.05, 0.2, 0.6, 1.8)}
        starts = [tau_mean * np.array(spreads[K])]
        if K >= 2:
            esm = self._spectrum_start(geo, y_all[i0:i1], i0, i1, shift0, tmin, tmax)
            if esm is not None:
                starts.insert(0, esm)
        return starts, shift0

    def _spectrum_start(self, geo, y, i0, i1, shift0, tmin, tmax):
        """Starting lifetimes from a non-negative lifetime spectrum (exponential series method).

        The window is fitted (weighted NNLS) with 24 log-spaced lifetimes plus the
        background; the non-zero part of the spectrum is split into K groups at its
        K - 1 widest gaps in log(tau) and each group gives its photon-weighted
        geometric-mean lifetime.  None when the spectrum has fewer than K lines.
        """
        K, dt = self.K, self.dt
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
        cuts = np.sort(np.argsort(np.diff(logt))[-(K - 1):]) + 1
        groups = np.split(np.arange(nz.size), cuts)
        return np.array([float(np.exp(np.average(logt[g], weights=weights[g]))) for g in groups])

    # -- public ------------------------------------------------------------------------

    def fit(self, counts, *, source: str | None = None, tau_guess_ns=None, max_nfev: int | None = None) -> DecayFit:
        """Fit one decay histogram (its own lmfit minimisation).

        Parameters
        ----------
        counts : array_like, shape (n,)
            Photon counts per bin (non-negative integers for Poisson statistics).
        source : str, optional
            File name for messages.
        tau_guess_ns : sequence of float, optional
            Starting lifetimes; default from a lifetime spectrum of the decay
            (K >= 2) or its mean photon delay (K = 1), with a second start when
            the first drops a component.
        max_nfev : int, optional
            Limit on model evaluations (default 200 per parameter).

        Returns
        -------
        DecayFit

        Raises
        ------
        InputError
            Counts of the wrong shape, negative, non-integer (Poisson) or non-finite;
            an empty or too small fit window.
        FitError
            No photons in the window, or no decay above the background.
        """
        src = source or "<decay>"
        y_all = self._check_counts(counts, src)
        if self.gaussian_fwhm_ns is not None:
            _, geo = self._gaussian_geometry(y_all)
        else:
            geo = self._geo
        i0, i1 = self._window(y_all, geo.g, src)
        tmin, tmax = self._tau_bounds(i1 - i0)
        starts, shift0 = self._starts(y_all, geo, i0, i1, tmin, tmax, tau_guess_ns)
        best = None
        for start in starts:
            prob = _Problem(self, geo, y_all[None, i0:i1], np.ones((1, i1 - i0), bool), i0)
            res = prob.minimise(start[None, :], np.array([shift0]), tmin, tmax, max_nfev, compress=False)
            st = prob.final(res)
            dev = float(np.sum(st.r**2))
            if best is None or dev < best[0] - 1e-9 * abs(best[0]):
                best = (dev, res, st, prob)
            if res.success and np.all(st.a[0, : self.K] > 0):
                break
        _, res, st, prob = best
        return self._results(geo, st, prob.stack.mask, prob.stack.Y, prob.stack.W, prob.i0, y_all[None, :],
                             [(i0, i1)], [src], np.array([tmin]), np.array([tmax]), [bool(res.success)],
                             [str(res.message)], [int(res.nfev)], [res])[0]

    def fit_many(
        self,
        counts,
        *,
        sources=None,
        tau_guess_ns=None,
        batch_size: int = 16,
        max_nfev: int | None = None,
        progress=None,
    ) -> list[DecayFit]:
        """Fit a stack of decays measured with this IRF, ``batch_size`` at a time.

        Each group of ``batch_size`` decays is one lmfit minimisation (MINPACK's
        Levenberg-Marquardt) whose parameters are the lifetimes and shifts of all its
        decays; the model, the amplitudes and the Jacobian are evaluated for the whole
        group at once, and every decay's residuals are compressed to the ``K + 2``
        numbers that Levenberg-Marquardt needs (``Q^T r`` and the norm of the rest,
        with ``J = Q R``, see :func:`~qdstack.analysis._decay_engine.compress`), which
        makes the joint problem block-diagonal and small.

        Convergence is judged per decay, not by the group's joint stopping rule (the
        group's sum of squares has stopped changing), which can hold while one decay
        is still moving -- the others dominate the sum, or one of them shrinks the
        common trust region.  A group's minimisation is given at most
        ``_FIRST_ROUND_NFEV`` (4) evaluations after its start; then every decay's
        Gauss-Newton decrement (the deviance a full Gauss-Newton step would still
        remove, ``|Q^T r|^2``; for a shift on a whole bin, where the model has a kink,
        that of the lifetimes) is computed at the point reached.  Decays at or below
        ``_DECREMENT_TOL`` (2e-3 of deviance: within ~0.05 standard errors of the
        optimum of their local quadratic model) are done and counted as converged;
        the others (about a fifth of the benchmark's decays) are minimised again, in
        new groups, from where they stopped, and checked the same way; in the third
        (``_ROUNDS``) minimisation a decay takes part in, MINPACK's own stopping rule
        decides, and its verdict is the decay's ``converged``.  The starting
        lifetimes of every decay are those of the fit of the summed decay (a good
        start for decays of one sample), unless given.

        Parameters
        ----------
        counts : array_like, shape (N, n)
            N decays on this fitter's time axis.
        sources : sequence of str, optional
            Names for messages, one per decay.
        tau_guess_ns : sequence of float, optional
            Starting lifetimes for every decay.
        batch_size : int
            Decays per joint minimisation (16: numpy works on arrays large enough and
            MINPACK's dense linear algebra on 80 x 64 matrices stays cheap).
        max_nfev : int, optional
            Limit on model evaluations of each minimisation.
        progress : callable(int), optional
            Called with the number of decays of each group after its first minimisation.

        Returns
        -------
        list of DecayFit
            In the order of ``counts``.  Their ``fit`` is None: a group's joint lmfit
            minimisation is not the result of one decay (and its Parameters are reused
            for the next group).  ``nfev`` counts the evaluations of every minimisation
            the decay took part in.
        """
        Y_all = np.asarray(counts, dtype=float)
        if Y_all.ndim == 1:
            Y_all = Y_all[None, :]
        if Y_all.ndim != 2 or Y_all.shape[1] != self.n:
            raise InputError(f"counts must have shape (N, {self.n})", "counts")
        N = Y_all.shape[0]
        srcs = list(sources) if sources is not None else [f"<decay {i}>" for i in range(N)]
        if len(srcs) != N:
            raise InputError(f"{len(srcs)} names for {N} decays", "sources")
        if N == 0:
            return []
        Y_all = self._check_stack(Y_all, srcs)
        total = Y_all.sum(axis=0)
        if self.gaussian_fwhm_ns is not None:
            _, geo = self._gaussian_geometry(total)
        else:
            geo = self._geo
        i0s, i1s = self._windows(Y_all, geo.g, srcs)
        # one start for all: the fit of the summed decay (Neyman on the sum is fine for a start)
        if tau_guess_ns is None:
            tw = self._window(total, geo.g, "<sum>")
            tmin_s, tmax_s = self._tau_bounds(tw[1] - tw[0])
            starts, s0 = self._starts(total, geo, tw[0], tw[1], tmin_s, tmax_s, None)
            prob = _Problem(self, geo, total[None, tw[0]:tw[1]], np.ones((1, tw[1] - tw[0]), bool), tw[0])
            res = prob.minimise(starts[0][None, :], np.array([s0]), tmin_s, tmax_s, None, compress=False)
            fitted = np.array([res.params[f"tau{k + 1}_ns"].value for k in range(self.K)])
            order = np.argsort(fitted, kind="stable")
            tau_start = fitted[order]
            shift_start = float(res.params["shift_ns"].value)
            a_sum = prob.final(res).a[0]
            photons = max(float(total[tw[0] : tw[1]].sum()), 1.0)
            a_start = np.concatenate([a_sum[: self.K][order], a_sum[self.K :]]) / photons
        else:
            a_start = None
            tau_start = np.sort(np.asarray(tau_guess_ns, dtype=float).ravel())
            if tau_start.shape != (self.K,) or not np.all(tau_start > 0):
                raise InputError(f"tau_guess_ns needs {self.K} positive values", "tau_guess_ns")
            shift_start = self._starts(total, geo, *self._window(total, geo.g, "<sum>"), 1e-9, 1e9, tau_start)[1]
        # all decays on the union of their windows; each decay's own window is a mask
        I0, I1 = int(i0s.min()), int(i1s.max())
        cols = np.arange(I0, I1)[None, :]
        mask = (cols >= i0s[:, None]) & (cols < i1s[:, None])
        stack = _Stack(self, geo, Y_all[:, I0:I1], mask, I0)
        tmin, tmax = self._tau_bounds_many(i1s - i0s)
        K = self.K
        theta = np.empty((N, K + 1))
        theta[:, :K] = np.clip(np.broadcast_to(tau_start, (N, K)), (tmin * 1.01)[:, None], (tmax * 0.99)[:, None])
        theta[:, K] = shift_start
        if a_start is not None:
            # the first amplitude solve of each decay starts from the summed decay's amplitudes,
            # scaled by the decay's share of the photons
            share = np.sum(stack.Y, axis=1)
            stack.a_last[:] = a_start[None, :] * share[:, None]
            stack.th_last[:] = theta[:, : stack.nth]
        bs = max(1, int(batch_size))
        nfev = np.zeros(N, dtype=int)
        out: list[DecayFit | None] = [None] * N
        BatchMinimizer = _batch_minimizer_class()
        cache: dict = {}  # Parameters reused from one group to the next

        ready: list = []  # finished decays, turned into results a few hundred at a time

        def finish(idx, ev, converged, message, flush=False):
            if idx is not None:
                ready.append((idx, ev, [converged] * idx.size, [message] * idx.size))
            if not ready or (not flush and sum(r[0].size for r in ready) < 256):
                return
            idx = np.concatenate([r[0] for r in ready])
            ev = _Eval.concatenate([r[1] for r in ready])
            conv = [c for r in ready for c in r[2]]
            msgs = [m for r in ready for m in r[3]]
            ready.clear()
            fits = self._results(
                geo, ev, stack.mask[idx], stack.Y[idx], stack.W[idx], I0, Y_all[idx],
                list(zip(i0s[idx].tolist(), i1s[idx].tolist())), [srcs[i] for i in idx], tmin[idx], tmax[idx],
                conv, msgs, nfev[idx].tolist(), None)
            for i, fit in zip(idx.tolist(), fits):
                out[i] = fit

        capped = _FIRST_ROUND_NFEV if not max_nfev else min(max_nfev, _FIRST_ROUND_NFEV)
        todo = np.arange(N)
        # lmfit's Levenberg-Marquardt may warn on its own covariance of a joint fit, which is not used
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for round_ in range(_ROUNDS):
                last = round_ == _ROUNDS - 1
                again = []
                for b0 in range(0, todo.size, bs):
                    idx = todo[b0 : b0 + bs]
                    res, ev = self._minimise_group(stack, idx, theta, tmin, tmax, max_nfev if last else capped,
                                                   BatchMinimizer, cache)
                    nfev[idx] += int(res.nfev)
                    if last:
                        finish(idx, ev, bool(res.success), "" if res.success else str(res.message))
                    else:
                        done = ev.decrement(self.dt) <= _DECREMENT_TOL
                        if done.any():
                            finish(idx[done], ev if done.all() else ev.rows(done), True, "")
                        if not done.all():
                            again.append(idx[~done])
                    if progress is not None and round_ == 0:
                        progress(int(idx.size))
                if not again:
                    break
                todo = np.concatenate(again)
        finish(None, None, None, None, flush=True)
        return out

    def _minimise_group(self, stack, idx, theta, tmin, tmax, max_nfev, BatchMinimizer, cache):
        """One lmfit minimisation (Levenberg-Marquardt, compressed residuals) of the decays ``idx``.

        Starts from ``theta[idx]`` (lifetimes [ns] and shift [ns]) and writes the final point
        back there.  Returns the lmfit result and the evaluation at the final point (lmfit's
        last request is always there: it re-evaluates its best point after MINPACK, or stops
        at the evaluation that exceeded ``max_nfev``).
        """
        K = self.K
        B = idx.size
        sel = slice(int(idx[0]), int(idx[-1]) + 1) if idx[-1] - idx[0] == B - 1 else idx
        names = [nm for j in range(B) for nm in _param_names(K, j)]
        # the previous group's Parameters: its result has been read and is not kept
        plist = _make_params(self, theta[idx, :K], theta[idx, K], tmin[idx], tmax[idx], range(B), cache.get("p"))
        if len(plist) > len(cache.get("p", ())):
            cache["p"] = plist
        last: list = [None, None]

        def point(p):
            th = _theta_from(p, names, B, K)
            key = th.tobytes()
            if last[0] != key:
                last[0], last[1] = key, stack.evaluate(sel, th, True)
            return last[1]

        def residual(p):
            ev = point(p)
            return np.concatenate([ev.c, ev.rest[:, None]], axis=1).ravel()

        def jacobian(p):
            return _block_jacobian(point(p).R)

        mini = BatchMinimizer(residual, plist, scale_covar=False, nan_policy="raise")
        res = mini.leastsq(Dfun=jacobian, col_deriv=False, max_nfev=max_nfev or _default_max_nfev(K, B),
                           ftol=_ftol(stack.nw), xtol=_XTOL)
        ev = point(res.params)
        theta[idx] = ev.theta
        return res, ev

    def model_curve(self, taus, amplitudes, background: float, shift_ns: float, irf=None) -> np.ndarray:
        """Model counts on the whole histogram (amplitudes in counts/ns)."""
        geo = self._geo if irf is None else self._geometry(np.asarray(irf, dtype=float) / np.sum(irf))
        taus = np.atleast_1d(np.asarray(taus, dtype=float))
        Bm, _, _ = columns(geo, taus[None, :], np.array([shift_ns / self.dt]), 0, self.n, False)
        return np.asarray(amplitudes, dtype=float) @ Bm[0, : taus.size] + background

    # -- results -------------------------------------------------------------------------

    def _results(self, geo, st, mask, Yw, W, I0, ys, windows, srcs, tmin, tmax, converged, messages, nfevs,
                 fits) -> list[DecayFit]:
        """Per-decay results from the final state ``st`` of (joint) minimisations.

        ``mask``, ``Yw``, ``W`` (b, nw): the window mask, counts and Neyman weights on
        the common window starting at bin ``I0``; ``ys`` (b, n): the full histograms;
        ``tmin``, ``tmax`` (b,): lifetime bounds; ``fits``: lmfit results or None.
        """
        K, dt, n = self.K, self.dt, self.n
        Bn = len(srcs)
        a, m, Bm = st.a, st.m, st.Bm
        taus = st.theta[:, :K]
        shifts = st.theta[:, K]
        # Fisher information of all parameters (tau_k, shift, a_k, b) for every decay
        G = np.concatenate([a[:, :K, None] * st.dBt, (a[:, None, :K] @ st.dBs), Bm], axis=1)
        if self.statistic == "poisson":
            w = np.where(mask, 1.0 / np.maximum(m, _M_FLOOR), 0.0)
        else:
            w = W
        F = (G * w[:, None, :]) @ G.transpose(0, 2, 1)
        npar = 2 * K + 2
        nwin = mask.shape[1]
        zero_amp = a[:, :K] <= 0
        free = np.ones((Bn, npar), dtype=bool)
        free[:, :K] &= ~zero_amp
        free[:, K + 1 : 2 * K + 1] &= ~zero_amp
        if self.fix_shift_ns is not None:
            free[:, K] = False
        free[:, 2 * K + 1] &= a[:, K] > 0
        d = np.sqrt(np.where(np.einsum("bii->bi", F) > 0, np.einsum("bii->bi", F), 1.0))
        Fs = F / (d[:, :, None] * d[:, None, :])
        Hf = _regularise_free(Fs, free)
        try:
            inv = np.linalg.inv(Hf)
        except np.linalg.LinAlgError:
            inv = np.stack([np.linalg.pinv(h) for h in Hf])
        cov = inv / (d[:, :, None] * d[:, None, :])
        diag = np.einsum("bii->bi", cov)
        singular = np.any(free & ~(diag > 0), axis=1) | np.any(np.abs(np.einsum("bii->bi", inv)) > 1e14, axis=1)
        cov = np.where(free[:, :, None] & free[:, None, :], cov, 0.0)
        diag = np.einsum("bii->bi", cov)
        err = np.sqrt(np.where(free & (diag > 0), diag, np.nan))
        err[:, K + 1 : 2 * K + 1][zero_amp] = 0.0
        # components sorted by lifetime; their amplitudes and lifetimes and the covariance of (a, tau)
        order = np.argsort(taus, axis=1, kind="stable")
        amps = np.take_along_axis(a[:, :K], order, axis=1)
        taus_s = np.take_along_axis(taus, order, axis=1)
        sub = np.concatenate([K + 1 + order, order], axis=1)  # (B, 2K)
        cov_at = np.take_along_axis(np.take_along_axis(cov, sub[:, :, None], axis=1), sub[:, None, :], axis=2)
        suma = amps.sum(axis=1)
        bad = ~(suma > 0)
        if bad.any():
            raise FitError("every component amplitude is zero: no decay above the background",
                           srcs[int(np.argmax(bad))])
        sat = np.sum(amps * taus_s, axis=1)
        tau_a = sat / suma
        tau_i = np.sum(amps * taus_s**2, axis=1) / sat
        ga = np.concatenate([(taus_s - tau_a[:, None]) / suma[:, None], amps / suma[:, None]], axis=1)
        gi = np.concatenate([(taus_s**2 - tau_i[:, None] * taus_s) / sat[:, None],
                             (2 * amps * taus_s - tau_i[:, None] * amps) / sat[:, None]], axis=1)
        va = np.einsum("bi,bij,bj->b", ga, cov_at, ga)
        vi = np.einsum("bi,bij,bj->b", gi, cov_at, gi)
        tau_a_err = np.where(va >= 0, np.sqrt(np.abs(va)), np.nan)
        tau_i_err = np.where(vi >= 0, np.sqrt(np.abs(vi)), np.nan)
        jn = (np.eye(K)[None] - (amps / suma[:, None])[:, :, None]) / suma[:, None, None]
        var_alpha = np.einsum("bij,bjk,bik->bi", jn, cov_at[:, :K, :K], jn)
        amp_err = np.where(var_alpha >= 0, np.sqrt(np.abs(var_alpha)), np.nan)
        inten = amps * taus_s / sat[:, None]
        tau_err = np.take_along_axis(err[:, :K], order, axis=1)
        tau_err = np.where(np.take_along_axis(zero_amp, order, axis=1), np.nan, tau_err)
        # statistics on each decay's own window
        mb = np.maximum(m, _M_FLOOR)
        nsel = mask.sum(axis=1)
        nfree_par = npar - (1 if self.fix_shift_ns is not None else 0)
        dof = np.maximum(nsel - nfree_par, 1)
        dev_res = np.where(mask, poisson_deviance_residuals(Yw, mb), 0.0)
        if self.statistic == "poisson":
            chi2 = np.sum(np.where(mask, (Yw - mb) ** 2 / mb, 0.0), axis=1)
            resid = dev_res
        else:
            chi2 = np.sum(np.where(mask, (Yw - mb) ** 2 * W, 0.0), axis=1)
            resid = (Yw - mb) * np.sqrt(W)
        deviance = np.sum(dev_res**2, axis=1)
        residuals = np.full((Bn, n), np.nan)
        residuals[:, I0 : I0 + nwin] = np.where(mask, resid, np.nan)
        signal = np.sum(np.where(mask, mb, 0.0), axis=1) - a[:, K] * nsel
        # full-histogram curves (the fitted columns inside the window, more columns outside it)
        model_all = np.empty((Bn, n))
        model_all[:, I0 : I0 + nwin] = (a[:, None, :K] @ Bm[:, :K])[:, 0, :] + a[:, K : K + 1]
        partial = ~mask.all(axis=1)  # these columns were zeroed outside each decay's own window
        if partial.any():
            Bp, _, _ = columns(geo, taus[partial], shifts[partial] / dt, I0, nwin, False)
            model_all[partial, I0 : I0 + nwin] = (a[partial, None, :K] @ Bp[:, :K])[:, 0, :] + a[partial, K : K + 1]
        for lo, hi in ((0, I0), (I0 + nwin, n)):
            if hi > lo:
                Bo, _, _ = columns(geo, taus, shifts / dt, lo, hi - lo, False)
                model_all[:, lo:hi] = (a[:, None, :K] @ Bo[:, :K])[:, 0, :] + a[:, K : K + 1]
        k_int = np.floor(shifts / dt).astype(int)
        phi = shifts / dt - k_int
        ii = np.arange(n)[None, :] - k_int[:, None]
        gpad = np.concatenate([[0.0], geo.g, [0.0]])
        g0 = gpad[np.clip(ii + 1, 0, n + 1)]
        g1 = gpad[np.clip(ii, 0, n + 1)]
        irf_shifted = (1 - phi[:, None]) * g0 + phi[:, None] * g1
        # scalars as Python floats, once
        L = {name: arr.tolist() for name, arr in dict(
            amps=amps, taus_s=taus_s, suma=suma, amp_err=amp_err, tau_err=tau_err, inten=inten, tau_a=tau_a,
            tau_a_err=tau_a_err, tau_i=tau_i, tau_i_err=tau_i_err, shifts=shifts, shift_err=err[:, K],
            bg=a[:, K], bg_err=err[:, 2 * K + 1], chi2=chi2, deviance=deviance, dof=dof, signal=signal,
            tmin=np.asarray(tmin, dtype=float), tmax=np.asarray(tmax, dtype=float)).items()}
        zero_s = np.take_along_axis(zero_amp, order, axis=1).tolist()
        singular = singular.tolist()
        fixed_shift = self.fix_shift_ns is not None
        out = []
        for b in range(Bn):
            i0, i1 = windows[b]
            src = srcs[b]
            msgs = list(self._notes)
            if singular[b]:
                msgs.append(f"{src}: the parameters are not all determined by the data (singular information matrix)")
            suma_b = L["suma"][b]
            ab, tb = L["amps"][b], L["taus_s"][b]
            comps = tuple(
                DecayComponent(
                    amplitude=ab[k] / suma_b,
                    amplitude_err=L["amp_err"][b][k],
                    tau_ns=tb[k],
                    tau_ns_err=L["tau_err"][b][k],
                    intensity_fraction=L["inten"][b][k],
                    counts_per_ns=ab[k],
                )
                for k in range(K)
            )
            dof_b = int(L["dof"][b])
            chi2_b = L["chi2"][b]
            msgs += self._warnings(converged[b], messages[b], comps, zero_s[b], L["signal"][b], L["tmin"][b],
                                   L["tmax"][b], L["shifts"][b], src, chi2_b / dof_b)
            if not L["bg"][b] > 0:
                msgs.append(
                    f"{src}: the background was fitted as 0 (its lower bound); the errors take it as exactly "
                    "0. With a slow component (especially under periodic excitation) the background and the "
                    "tail are hard to separate: check the lifetime of the slowest component"
                )
            out.append(
                DecayFit(
                    components=comps,
                    tau_amplitude_weighted_ns=L["tau_a"][b],
                    tau_amplitude_weighted_ns_err=L["tau_a_err"][b],
                    tau_intensity_weighted_ns=L["tau_i"][b],
                    tau_intensity_weighted_ns_err=L["tau_i_err"][b],
                    shift_ns=L["shifts"][b],
                    shift_ns_err=L["shift_err"][b] if not fixed_shift else float("nan"),
                    background=L["bg"][b],
                    background_err=L["bg_err"][b],
                    chi2_reduced=chi2_b / dof_b,
                    deviance_per_dof=L["deviance"][b] / dof_b,
                    statistic=self.statistic,
                    dof=dof_b,
                    window_ns=(float(self.time_ns[i0]), float(self.time_ns[i1 - 1] + dt)),
                    window=(int(i0), int(i1)),
                    bin_width_ns=dt,
                    period_ns=self.period_ns,
                    periodic=bool(self.periodic),
                    irf_description=self.irf_description,
                    signal_counts=L["signal"][b],
                    converged=bool(converged[b]),
                    nfev=int(nfevs[b]),
                    time_ns=self.time_ns,
                    counts=ys[b],
                    model=model_all[b],
                    residuals=residuals[b],
                    irf=irf_shifted[b],
                    fit=None if fits is None else fits[b],
                    warnings=tuple(msgs),
                    source=None if src.startswith("<") else src,
                )
            )
        return out

    def _warnings(self, converged, message, comps, zero_sorted, signal, tmin, tmax, s_ns, src, redchi):
        K = self.K
        out = []
        if not converged:
            out.append(f"{src}: the fit did not converge ({message})")
        if K > 1 and signal < 2000.0 * K:
            out.append(
                f"{src}: only {signal:.0f} signal photons for {K} components; lifetimes of "
                "multi-exponential fits are unreliable below a few thousand photons per component"
            )
        for k, c in enumerate(comps):
            label = f"component {k + 1} (tau = {c.tau_ns:.4g} ns)"
            if zero_sorted[k]:
                out.append(f"{src}: {label} has zero amplitude: the data do not support {K} components; fit fewer")
                continue
            if math.isclose(c.tau_ns, tmin, rel_tol=1e-3) or math.isclose(c.tau_ns, tmax, rel_tol=1e-3):
                out.append(f"{src}: {label} ended at its bound; it is not determined by the data")
            elif not math.isfinite(c.tau_ns_err):
                out.append(f"{src}: {label} has no error estimate; it is not identifiable")
            elif c.tau_ns_err > 0.5 * c.tau_ns:
                out.append(
                    f"{src}: {label} is not identifiable (relative error {c.tau_ns_err / c.tau_ns:.0%}); "
                    "consider fewer components"
                )
        for k in range(len(comps) - 1):
            a, b = comps[k], comps[k + 1]
            if not (zero_sorted[k] or zero_sorted[k + 1]) and b.tau_ns < 1.25 * a.tau_ns:
                out.append(
                    f"{src}: components {k + 1} and {k + 2} have nearly equal lifetimes "
                    f"({a.tau_ns:.4g} and {b.tau_ns:.4g} ns); fit fewer components"
                )
        if self.fix_shift_ns is None and abs(s_ns) > 0.98 * self.shift_bins * self.dt:
            out.append(f"{src}: the IRF shift ({s_ns:.4g} ns) ended at its bound; check the IRF")
        if redchi > 2.0:
            out.append(
                f"{src}: reduced chi2 = {redchi:.2f}: the model does not describe the data "
                "(more components, a better IRF, or a different window?)"
            )
        return out


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


def _regularise_free(H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Identity rows and columns for fixed parameters (so a batch of matrices can be inverted at once)."""
    P = H.shape[1]
    Hf = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
    di = np.arange(P)
    Hf[:, di, di] = np.where(free, np.einsum("bii->bi", H), 1.0)
    return Hf


def _batch_minimizer_class():
    from lmfit import Minimizer

    class _BatchMinimizerImpl(Minimizer):
        """An lmfit Minimizer that skips lmfit's covariance bookkeeping of a whole batch.

        The joint covariance of every decay's parameters is block-diagonal and each
        decay's block is computed by the fitter (with the amplitudes included), so
        building lmfit's correlation tables and correlated ``uncertainties`` values
        for all the batch's parameters would only cost time.
        """

        def _calculate_uncertainties_correlations(self):
            self.result.errorbars = False

    return _BatchMinimizerImpl


class _LazyBatchMinimizer:
    def __call__(self, *args, **kwargs):
        cls = _batch_minimizer_class()
        globals()["_BatchMinimizer"] = cls
        return cls(*args, **kwargs)


_BatchMinimizer = _LazyBatchMinimizer()


class _Eval:
    """The model of some decays evaluated at one point (lifetimes and shifts).

    ``theta`` (b, K + 1): lifetimes [ns] and shifts [ns]; ``a`` (b, K + 1) amplitudes
    (background last); ``Bm``, ``dBt``, ``dBs`` the columns and their derivatives; ``m``
    the model; ``r`` the residuals (signed deviance or Neyman); ``Jt`` (b, nth, n) the
    transposed Jacobian of ``r`` in (tau, shift); ``dA`` the amplitude derivatives;
    with compression ``c``, ``rest`` and ``R`` (in lmfit's ln tau, see :func:`compress`).
    """

    __slots__ = ("key", "theta", "a", "Bm", "dBt", "dBs", "m", "r", "Jt", "dA", "c", "rest", "R")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))

    @property
    def J(self) -> np.ndarray:
        """Jacobian of the residuals, shape (b, n, nth)."""
        return self.Jt.transpose(0, 2, 1)

    @staticmethod
    def concatenate(evs) -> _Eval:
        """The evaluations of several sets of decays as one (what the results need)."""
        if len(evs) == 1:
            return evs[0]
        return _Eval(**{name: np.concatenate([getattr(e, name) for e in evs])
                        for name in ("theta", "a", "Bm", "dBt", "dBs", "m")})

    def rows(self, keep: np.ndarray) -> _Eval:
        """The evaluation of the decays selected by ``keep``."""
        return _Eval(**{name: None if getattr(self, name) is None or name == "key" else getattr(self, name)[keep]
                        for name in self.__slots__})

    def decrement(self, dt: float) -> np.ndarray:
        """Gauss-Newton decrement of each decay: the deviance a full Gauss-Newton step would still remove.

        ``|c|^2`` (``c = Q^T r``).  The model is only piecewise smooth in the shift: the
        IRF is interpolated linearly between whole-bin shifts, so where the best shift
        is a whole number of bins the deviance has a kink there and Gauss-Newton,
        which sees one side of it, predicts a decrease that does not exist.  For a
        decay whose shift lies within ``_KINK_BINS`` of a whole bin the decrement of
        the lifetimes at that shift, ``|c_1..K|^2``, is used instead (the columns
        of ``J`` are ordered lifetimes first, so those are the first K entries of ``c``).
        """
        c = self.c
        full = np.sum(c**2, axis=1)
        K = self.theta.shape[1] - 1
        if c.shape[1] <= K:  # fixed shift
            return full
        sb = self.theta[:, K] / dt
        kink = np.abs(sb - np.round(sb)) < _KINK_BINS
        return np.where(kink, np.sum(c[:, :K] ** 2, axis=1), full)


class _Stack:
    """Decays on one common window ``[i0, i0 + nw)``, evaluated together: all of them or any subset.

    Keeps, per decay, the amplitudes and their derivatives at the last point it was
    evaluated at, so the next evaluation starts the amplitude solve from the
    first-order prediction ``a + (da/dtheta) dtheta``.
    """

    def __init__(self, fitter: ReconvolutionFitter, geo: Geometry, Y: np.ndarray, mask: np.ndarray, i0: int):
        self.f = fitter
        self.geo = geo
        self.i0 = int(i0)
        self.N, self.nw = Y.shape
        self.mask = mask
        self.full = bool(mask.all())
        self.Y = np.where(mask, Y, 0.0)
        self.pos = (self.Y > 0) & mask
        self.ylogy = np.where(self.pos, self.Y * np.log(np.where(self.pos, self.Y, 1.0)), 0.0)
        self.W = np.where(mask, 1.0 / np.maximum(self.Y, 1.0), 0.0)
        K = fitter.K
        self.nth = K if fitter.fix_shift_ns is not None else K + 1
        self.a_last = np.full((self.N, K + 1), np.nan)
        self.dA_last = np.zeros((self.N, K + 1, self.nth))
        self.th_last = np.zeros((self.N, self.nth))

    def evaluate(self, idx, theta: np.ndarray, compress_: bool = False) -> _Eval:
        """Evaluate decays ``idx`` (None: all) at ``theta`` (b, K + 1): lifetimes [ns] and shifts [ns]."""
        f, geo = self.f, self.geo
        K, nth = f.K, self.nth
        sel = slice(None) if idx is None else idx
        Y = self.Y[sel]
        pos = self.pos[sel]
        mask = self.mask[sel]
        Bm, dBt, dBs = columns(geo, theta[:, :K], theta[:, K] / f.dt, self.i0, self.nw, True)
        if not self.full:
            maskf = mask[:, None, :]
            Bm *= maskf
            if dBt.base is not None and dBt.base is dBs.base:
                dBt.base[...] *= maskf
            else:
                dBt *= maskf
                dBs *= maskf
        # warm start: amplitudes of the last point, moved to first order with da/dtheta
        a_last = self.a_last[sel]
        known = np.isfinite(a_last[:, 0])
        a0 = None
        if known.any():
            dth = theta[:, :nth] - self.th_last[sel]
            a0 = np.maximum(a_last + (self.dA_last[sel] @ dth[..., None])[..., 0], 0.0)
            if not known.all():
                a0[~known] = np.nan
        if f.statistic == "poisson":
            a, _, (m, ms, ratio, BW, H) = poisson_amplitudes(Bm, Y, pos, a0, state=True)
            m = np.maximum(m, _M_FLOOR)
            d = self.ylogy[sel] - Y * np.log(m) + (m - Y)
            np.maximum(d, 0.0, out=d)
            r = np.sqrt(2.0 * d)
            np.negative(r, out=r, where=Y < m)
            if not self.full:
                r = np.where(mask, r, 0.0)
            lp, drdm = poisson_loss_derivatives(m, ratio, r, mask)
        else:
            W = self.W[sel]
            a = neyman_amplitudes(Bm, Y, W)
            m = np.maximum((a[:, None, :] @ Bm)[:, 0, :], _M_FLOOR)
            r = (Y - m) * np.sqrt(W)
            BW = Bm * W[:, None, :]
            H = BW @ Bm.transpose(0, 2, 1)
            lp = (m - Y) * W
            drdm = -np.sqrt(W)
        Jt, dA = varpro_jacobian_t(Bm, dBt, dBs, a, BW, H, lp, drdm, fix_shift=f.fix_shift_ns is not None)
        self.a_last[sel] = a
        self.dA_last[sel] = dA
        self.th_last[sel] = theta[:, :nth]
        ev = _Eval(theta=theta.copy(), a=a, Bm=Bm, dBt=dBt, dBs=dBs, m=m, r=r, Jt=Jt, dA=dA)
        if compress_:
            scale = theta[:, :nth].copy()
            scale[:, K:] = 1.0  # d/d ln tau = tau d/d tau; the shift stays in ns
            ev.c, ev.rest, ev.R = compress(Jt, r, scale)
        return ev


class _Problem:
    """One lmfit minimisation over the lifetimes and shifts of a batch of decays (B >= 1).

    Holds the data of the common window (a :class:`_Stack`), evaluates the vectorised
    model, the projected (variable-projection) residuals and their Jacobian, and
    caches the last evaluation: lmfit asks for the Jacobian at the point it just
    evaluated.  With ``compress`` each decay's residuals are replaced by ``c = Q^T r``
    and the norm of the rest (``J = Q R``, see :func:`compress`), which leaves every
    Levenberg-Marquardt step and the sum of squares unchanged and keeps the joint
    problem small.
    """

    def __init__(self, fitter: ReconvolutionFitter, geo: Geometry, Y: np.ndarray, mask: np.ndarray, i0: int):
        self.f = fitter
        self.geo = geo
        self.stack = _Stack(fitter, geo, Y, mask, i0)
        self.Y, self.mask, self.i0 = self.stack.Y, mask, i0
        self.W = self.stack.W
        self.B, self.nw = Y.shape
        self.state = None

    def names(self, b: int) -> list[str]:
        """lmfit names of decay b's nonlinear parameters: ln(tau_k / 1 ns) and the shift."""
        return _param_names(self.f.K, None if self.B == 1 else b)

    def evaluate(self, theta: np.ndarray, need_jac: bool = True, compress_: bool = False) -> _Eval:
        st = self.state
        key = theta.tobytes()
        if st is not None and st.key == key and (st.c is not None or not compress_):
            return st
        st = self.stack.evaluate(None, theta, compress_)
        st.key = key
        self.state = st
        return st

    def _theta(self, params) -> np.ndarray:
        """(B, K + 1) array of lifetimes [ns] and shifts [ns] from the lmfit parameters."""
        if not hasattr(self, "_flat_names"):
            self._flat_names = [nm for b in range(self.B) for nm in self.names(b)]
        return _theta_from(params, self._flat_names, self.B, self.f.K)

    def minimise(self, taus0, shifts0, tmin, tmax, max_nfev, compress: bool):
        f, K = self.f, self.f.K
        plist = _make_params(f, taus0, shifts0, tmin, tmax, None if self.B == 1 else range(self.B))
        if self.B == 1:
            from lmfit import Parameter

            for k in range(K):  # readable lifetimes in fit_report()
                plist.append(Parameter(f"tau{k + 1}_ns", expr=f"exp(ln_tau{k + 1})"))
        nth = self.stack.nth

        if compress:
            def residual(p):
                st = self.evaluate(self._theta(p), True, True)
                return np.concatenate([st.c, st.rest[:, None]], axis=1).ravel()

            def jacobian(p):
                st = self.evaluate(self._theta(p), True, True)
                return _block_jacobian(st.R)
        else:
            def residual(p):
                return self.evaluate(self._theta(p), False).r.ravel()

            def jacobian(p):
                st = self.evaluate(self._theta(p), True)
                # a fresh array: lmfit rescales the returned Jacobian in place for bounded parameters
                J = st.Jt.transpose(0, 2, 1) * np.concatenate(
                    [st.theta[:, :K], np.ones((self.B, nth - K))], axis=1)[:, None, :]
                return J.reshape(self.B * self.nw, nth)

        from lmfit import Minimizer

        # a batch needs no lmfit covariance of all its parameters: each decay's comes from its block
        cls = Minimizer if self.B == 1 else _BatchMinimizer
        mini = cls(residual, plist, scale_covar=False, nan_policy="raise")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return mini.leastsq(Dfun=jacobian, col_deriv=False, max_nfev=max_nfev or _default_max_nfev(K, self.B),
                                ftol=_ftol(self.nw), xtol=_XTOL)

    def final(self, res) -> _Eval:
        return self.evaluate(self._theta(res.params), True)


#: MINPACK's relative parameter tolerance
_XTOL = 1e-6
#: shifts closer than this to a whole number of bins sit on the kink of the linear IRF interpolation
_KINK_BINS = 2e-3
#: evaluations of a group's first minimisation (after its start); its decays that have not
#: converged by then (judged one by one, see ``fit_many``) are minimised again, in new groups.
#: Measured on the benchmark: 4 -> 18 % minimised again, 7.3 evaluations per decay; 7 -> 14 %, 9.1
_FIRST_ROUND_NFEV = 4
#: minimisations a decay may take part in: all but the last are capped at ``_FIRST_ROUND_NFEV``
#: evaluations and followed by the per-decay check; the last one stops by MINPACK's own rule
_ROUNDS = 3
#: a decay of a joint minimisation whose Gauss-Newton decrement (the deviance a full
#: Gauss-Newton step would still remove) exceeds this is minimised again
_DECREMENT_TOL = 2e-3


def _ftol(nw: int) -> float:
    """MINPACK's relative tolerance on the sum of squares: a change of about 1e-3 deviance per decay.

    The deviance of a decay is about the number of bins ``nw``; a change of 1 is one
    standard error of a parameter.
    """
    return 1e-3 / nw


def _default_max_nfev(K: int, B: int) -> int:
    return 200 * (K + 1) * max(1, B // 2)


def _param_names(K: int, b: int | None) -> list[str]:
    sfx = "" if b is None else f"_d{b}"
    return [f"ln_tau{k + 1}{sfx}" for k in range(K)] + [f"shift_ns{sfx}"]


def _make_params(f: ReconvolutionFitter, taus0, shifts0, tmin, tmax, decays, reuse: list | None = None) -> list:
    """lmfit Parameters (ln tau_k bounded by ln tmin..ln tmax, the shift by the shift bound) of a batch.

    ``decays`` None: one decay with plain names; else the indices used in the names.
    ``tmin``, ``tmax`` are scalars or one value per decay.  ``reuse``: Parameters made
    by an earlier call for a batch at least as large whose minimisation is finished and
    whose result is no longer needed; they are reset (bounds, value, vary) and returned
    instead of new ones (creating a Parameter costs more than a model evaluation).
    """
    from lmfit import Parameter

    K = f.K
    smax = f.shift_bins * f.dt
    nb = len(taus0)
    tmin = np.broadcast_to(np.asarray(tmin, dtype=float), (nb,))
    tmax = np.broadcast_to(np.asarray(tmax, dtype=float), (nb,))
    # lifetimes enter as ln(tau): scale-free steps and bounds far from the transform's edges
    lt = np.log(np.clip(np.asarray(taus0, dtype=float), (tmin * 1.01)[:, None], (tmax * 0.99)[:, None])).tolist()
    lo, hi = np.log(tmin).tolist(), np.log(tmax).tolist()
    sh = np.clip(np.asarray(shifts0, dtype=float), -0.99 * smax, 0.99 * smax).tolist()
    fixed = f.fix_shift_ns
    if reuse is not None and len(reuse) >= nb * (K + 1):
        plist = reuse[: nb * (K + 1)]
        for j in range(nb):
            base = j * (K + 1)
            for k in range(K):
                p = plist[base + k]
                p.min, p.max = lo[j], hi[j]
                p.value = p.init_value = lt[j][k]
                p.stderr = p.correl = None
            p = plist[base + K]
            if fixed is None:
                p.min, p.max = -smax, smax
                p.value = p.init_value = sh[j]
                p.stderr = p.correl = None
        return plist
    plist = []
    for j in range(nb):
        nm = _param_names(K, None if decays is None else j)
        for k in range(K):
            plist.append(Parameter(nm[k], value=lt[j][k], min=lo[j], max=hi[j]))
        if fixed is not None:
            plist.append(Parameter(nm[K], value=fixed, vary=False))
        else:
            plist.append(Parameter(nm[K], value=sh[j], min=-smax, max=smax))
    return plist


def _theta_from(params, flat_names, B: int, K: int) -> np.ndarray:
    th = np.fromiter((params[nm].value for nm in flat_names), float, len(flat_names))
    th = th.reshape(B, K + 1)
    th[:, :K] = np.exp(th[:, :K])
    return th


def _block_jacobian(R: np.ndarray) -> np.ndarray:
    """Block-diagonal Jacobian of compressed residuals: ``R_b`` over decay b's nth + 1 rows."""
    B_, nth, _ = R.shape
    Jc = np.zeros((B_, nth + 1, B_, nth))
    ar = np.arange(B_)
    Jc[ar, :nth, ar, :] = R
    return Jc.reshape(B_ * (nth + 1), B_ * nth)


def fit_decay(
    time_ns,
    counts,
    *,
    irf=None,
    irf_fwhm_ns: float | None = None,
    components: int = 1,
    statistic: Statistic = "poisson",
    period_ns: float | None = None,
    window_ns: tuple[float, float] | None = None,
    shift_bounds_ns: float | None = None,
    fix_shift_ns: float | None = None,
    tau_bounds_ns: tuple[float, float] | None = None,
    tau_guess_ns=None,
    source: str | None = None,
    irf_source: str | None = None,
) -> DecayFit:
    """Fit a TCSPC decay by IRF reconvolution with 1-4 exponentials and a background.

    A convenience wrapper around :class:`ReconvolutionFitter` (use the class to
    fit many decays with one IRF).  See the module docstring for the model, the
    statistics and the references.

    Parameters
    ----------
    time_ns : array_like, shape (n,)
        Bin start times [ns], uniform.
    counts : array_like, shape (n,)
        Photon counts.
    irf : array_like, shape (n,), optional
        Measured IRF counts on the same bins.
    irf_fwhm_ns : float, optional
        FWHM of a Gaussian IRF [ns] (instead of ``irf``).
    components : int
        1 to 4 exponentials.
    statistic : {"poisson", "neyman"}
    period_ns : float, optional
        Laser repetition period [ns].
    window_ns : (float, float), optional
        Fit window [ns]; default automatic.
    shift_bounds_ns, fix_shift_ns, tau_bounds_ns, tau_guess_ns
        See :class:`ReconvolutionFitter` and :meth:`ReconvolutionFitter.fit`.
    source, irf_source : str, optional
        File names for messages.

    Returns
    -------
    DecayFit
    """
    fitter = ReconvolutionFitter(
        time_ns,
        irf=irf,
        irf_fwhm_ns=irf_fwhm_ns,
        components=components,
        statistic=statistic,
        period_ns=period_ns,
        window_ns=window_ns,
        shift_bounds_ns=shift_bounds_ns,
        fix_shift_ns=fix_shift_ns,
        tau_bounds_ns=tau_bounds_ns,
        source=irf_source,
    )
    return fitter.fit(counts, source=source, tau_guess_ns=tau_guess_ns)
