"""Synthetic TCSPC decays: instrument responses, multi-exponential histograms, Poisson noise.

A time-correlated single-photon counting (TCSPC) histogram is the number of
photons detected in each time bin after the excitation pulse.  Its expected
value is the instrument response function (IRF) convolved with the sample's
decay, summed over every earlier pulse whose tail has not died out
(incomplete decay between pulses), plus a flat background (dark counts,
ambient light), integrated over each bin:

``mu_i = sum_{p >= 0} sum_k A_k  int_{bin i} (R * exp(-t/tau_k))(t + p T) dt + b``

Everything here is computed **analytically** (closed-form bin integrals of a
Gaussian convolved with one or two exponentials), not with the discrete
recursion that :mod:`qdstack.analysis.decay` fits with, so fits of these
histograms test the fitter against an independent forward model, including its
discretisation error.

IRF shapes
----------
``gaussian``
    A Gaussian of given FWHM (a laser pulse seen by a fast detector).
``measured-like``
    What real detectors record: a Gaussian core, an exponential diffusion tail
    (SPADs, the slow tail of MCP-PMTs) and an optional small delayed echo
    (a reflection or afterpulse), e.g. Becker, *The bh TCSPC Handbook*, ch. 7.

References
----------
W. Becker, *The bh TCSPC Handbook*, 9th ed., Becker & Hickl, 2021.
D. V. O'Connor and D. Phillips, *Time-correlated Single Photon Counting*,
Academic Press, 1984.
E. Grushka, "Characterization of exponentially modified Gaussian peaks in
chromatography", *Anal. Chem.* 1972, 44, 1733 (the EMG and its integral).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import log_ndtr, ndtr

from qdstack._random import rng_from

__all__ = [
    "IRFShape",
    "gaussian_irf_shape",
    "measured_like_irf_shape",
    "irf_histogram",
    "decay_expected_counts",
    "SyntheticDecay",
    "simulate_decay",
    "simulate_irf_counts",
]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class IRFShape:
    """An instrument response as a sum of Gaussian and Gaussian-with-exponential-tail parts.

    The response is ``R(t) = sum_j w_j  N(mu_j, sigma) (*) Exp(tail_j)``: each part
    a normalised Gaussian of centre ``mu_j`` and width ``sigma``, convolved with a
    normalised exponential of mean ``tail_j`` (0 for a plain Gaussian).  The
    weights sum to 1, so the response integrates to 1.

    Attributes
    ----------
    sigma_ns : float
        Gaussian standard deviation [ns] (FWHM = 2.3548 sigma).
    centres_ns : tuple of float
        Gaussian centre of each part [ns].
    tails_ns : tuple of float
        Exponential tail of each part [ns] (0: none).
    weights : tuple of float
        Fraction of the response in each part (sum 1).
    """

    sigma_ns: float
    centres_ns: tuple[float, ...]
    tails_ns: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self):
        if not self.sigma_ns > 0:
            raise ValueError("sigma_ns must be positive")
        n = len(self.centres_ns)
        if not (len(self.tails_ns) == len(self.weights) == n and n >= 1):
            raise ValueError("centres_ns, tails_ns and weights must have the same length >= 1")
        if any(t < 0 for t in self.tails_ns) or any(w < 0 for w in self.weights):
            raise ValueError("tails and weights must be non-negative")
        if not math.isclose(sum(self.weights), 1.0, rel_tol=1e-9):
            raise ValueError("weights must sum to 1")

    @property
    def fwhm_ns(self) -> float:
        """FWHM of the Gaussian core [ns]."""
        return self.sigma_ns * _FWHM_PER_SIGMA

    @property
    def peak_ns(self) -> float:
        """Centre of the main (heaviest) part [ns]."""
        return float(self.centres_ns[int(np.argmax(self.weights))])

    def cdf(self, t_ns) -> np.ndarray:
        """Cumulative response ``int_{-inf}^t R``."""
        t = np.asarray(t_ns, dtype=float)
        out = np.zeros_like(t)
        for mu, tail, w in zip(self.centres_ns, self.tails_ns, self.weights):
            out += w * _emg_cdf(t, mu, self.sigma_ns, tail)
        return out

    def convolved_cdf(self, t_ns, tau_ns: float) -> np.ndarray:
        """``int_{-inf}^t (R * exp(-u/tau))(u) du`` for a decay of lifetime ``tau_ns``.

        The convolution of the response with ``exp(-t/tau)`` (peak value 1) is
        ``tau`` times the density of (Gaussian + Exp(tail) + Exp(tau)), so its
        integral is a combination of EMG cumulative distributions.
        """
        t = np.asarray(t_ns, dtype=float)
        out = np.zeros_like(t)
        for mu, tail, w in zip(self.centres_ns, self.tails_ns, self.weights):
            if tail == 0.0:
                out += w * tau_ns * _emg_cdf(t, mu, self.sigma_ns, tau_ns)
                continue
            if math.isclose(tail, tau_ns, rel_tol=1e-6):
                tail = tau_ns * (1.0 + 1e-5)  # the limit is smooth; avoid 0/0
            # density of Exp(a) + Exp(b): (exp(-t/a) - exp(-t/b)) / (a - b)
            c = tail * _emg_cdf(t, mu, self.sigma_ns, tail) - tau_ns * _emg_cdf(
                t, mu, self.sigma_ns, tau_ns
            )
            out += w * tau_ns * c / (tail - tau_ns)
        return out


def _emg_cdf(t, mu: float, sigma: float, tau: float) -> np.ndarray:
    """CDF of Normal(mu, sigma) + Exponential(mean tau); tau = 0 gives the normal CDF.

    ``F(t) = Phi(z) - exp(-(t - mu)/tau + sigma^2/(2 tau^2)) Phi(z - sigma/tau)``,
    ``z = (t - mu)/sigma``; the second term is evaluated in log space.
    """
    z = (np.asarray(t, dtype=float) - mu) / sigma
    if tau == 0.0:
        return ndtr(z)
    r = sigma / tau
    log_term = -z * r + 0.5 * r * r + log_ndtr(z - r)
    return ndtr(z) - np.exp(np.minimum(log_term, 0.0))


def gaussian_irf_shape(fwhm_ns: float, t0_ns: float) -> IRFShape:
    """A Gaussian instrument response of full width at half maximum ``fwhm_ns`` centred at ``t0_ns``."""
    return IRFShape(fwhm_ns / _FWHM_PER_SIGMA, (float(t0_ns),), (0.0,), (1.0,))


def measured_like_irf_shape(
    fwhm_ns: float = 0.12,
    t0_ns: float = 2.0,
    *,
    tail_ns: float = 0.12,
    tail_fraction: float = 0.25,
    echo_delay_ns: float = 1.1,
    echo_fraction: float = 0.02,
) -> IRFShape:
    """A realistic detector response: Gaussian core, diffusion tail and a small echo.

    Parameters
    ----------
    fwhm_ns : float
        FWHM of the Gaussian core [ns].
    t0_ns : float
        Centre of the core [ns].
    tail_ns : float
        Mean of the exponential diffusion tail [ns] (SPADs: 50-300 ps).
    tail_fraction : float
        Fraction of the response in the tail.
    echo_delay_ns, echo_fraction : float
        Delay and fraction of a second, delayed copy of the core (a reflection
        in the optics or cable; 0 to switch off).

    Returns
    -------
    IRFShape
    """
    core = 1.0 - tail_fraction - echo_fraction
    if core <= 0:
        raise ValueError("tail_fraction + echo_fraction must be below 1")
    sigma = fwhm_ns / _FWHM_PER_SIGMA
    parts = [(t0_ns, 0.0, core), (t0_ns, tail_ns, tail_fraction)]
    if echo_fraction > 0:
        parts.append((t0_ns + echo_delay_ns, 0.0, echo_fraction))
    return IRFShape(
        sigma, tuple(p[0] for p in parts), tuple(p[1] for p in parts), tuple(p[2] for p in parts)
    )


def _edges(time_ns) -> tuple[np.ndarray, float]:
    t = np.asarray(time_ns, dtype=float)
    if t.ndim != 1 or t.size < 2:
        raise ValueError("time_ns must be a 1-D array of at least 2 bin start times")
    dt = float(t[1] - t[0])
    if not dt > 0 or not np.allclose(np.diff(t), dt, rtol=1e-6, atol=0):
        raise ValueError("time_ns must be uniformly spaced and ascending")
    return np.append(t, t[-1] + dt), dt


def irf_histogram(time_ns, shape: IRFShape) -> np.ndarray:
    """Fraction of the response falling in each bin ``[t_i, t_i + dt)`` (sums to ~1).

    ``time_ns`` are the bin start times (uniform spacing).
    """
    edges, _ = _edges(time_ns)
    return np.maximum(np.diff(shape.cdf(edges)), 0.0)


def decay_expected_counts(
    time_ns,
    shape: IRFShape,
    amplitudes,
    taus_ns,
    *,
    signal_counts: float,
    background: float = 0.0,
    period_ns: float | None = None,
) -> np.ndarray:
    """Expected TCSPC counts per bin (noise-free), analytic bin integrals.

    ``mu_i = s * sum_{p=0}^{P} sum_k A_k [C_k(t_{i+1} + pT) - C_k(t_i + pT)] + b`` where
    ``C_k`` is :meth:`IRFShape.convolved_cdf` (the response convolved with
    ``exp(-t/tau_k)``, integrated), ``T`` the repetition period and ``P`` large
    enough that ``exp(-P T / tau_max) < 1e-13``.  The scale ``s`` makes the signal
    (without background) sum to ``signal_counts`` over the histogram.

    Parameters
    ----------
    time_ns : array_like, shape (n,)
        Bin start times [ns], uniform.
    shape : IRFShape
        Instrument response.
    amplitudes : array_like, shape (K,)
        Pre-exponential factors ``A_k`` of ``I(t) = sum_k A_k exp(-t/tau_k)`` (any scale).
    taus_ns : array_like, shape (K,)
        Lifetimes [ns].
    signal_counts : float
        Expected number of signal photons in the histogram.
    background : float
        Expected flat background per bin [counts].
    period_ns : float, optional
        Laser repetition period [ns]; the tails of earlier pulses are added.
        ``None``: a single pulse (or a period much longer than every lifetime).

    Returns
    -------
    ndarray, shape (n,)
    """
    edges, _ = _edges(time_ns)
    amp = np.atleast_1d(np.asarray(amplitudes, dtype=float))
    tau = np.atleast_1d(np.asarray(taus_ns, dtype=float))
    if amp.shape != tau.shape or amp.ndim != 1:
        raise ValueError("amplitudes and taus_ns must have the same length")
    if np.any(tau <= 0) or np.any(amp < 0):
        raise ValueError("lifetimes must be positive and amplitudes non-negative")
    signal = np.zeros(edges.size - 1)
    n_pulses = 1
    if period_ns is not None:
        if not period_ns > 0:
            raise ValueError("period_ns must be positive")
        n_pulses = 1 + int(math.ceil(30.0 * tau.max() / period_ns))
    for a, t in zip(amp, tau):
        for p in range(n_pulses):
            c = shape.convolved_cdf(edges + p * (period_ns or 0.0), t)
            signal += a * np.maximum(np.diff(c), 0.0)
    total = signal.sum()
    if not total > 0:
        raise ValueError("no signal falls inside the histogram")
    return signal * (signal_counts / total) + background


@dataclass(frozen=True)
class SyntheticDecay:
    """A simulated TCSPC measurement and the truth behind it.

    Attributes
    ----------
    time_ns : ndarray, shape (n,)
        Bin start times [ns].
    counts : ndarray, shape (n,)
        Poisson-distributed photon counts of the decay.
    expected : ndarray, shape (n,)
        Their expectation (noise-free histogram).
    irf_counts : ndarray, shape (n,) or None
        A measured IRF (Poisson counts of the response alone), when requested.
    irf : ndarray, shape (n,)
        The true response per bin (sums to ~1).
    shape : IRFShape
    amplitudes : tuple of float
        True pre-exponential factors, normalised to sum 1.
    taus_ns : tuple of float
    background : float
        True background per bin [counts].
    period_ns : float or None
    """

    time_ns: np.ndarray
    counts: np.ndarray
    expected: np.ndarray
    irf_counts: np.ndarray | None
    irf: np.ndarray
    shape: IRFShape
    amplitudes: tuple[float, ...]
    taus_ns: tuple[float, ...]
    background: float
    period_ns: float | None
    truth: dict = field(default_factory=dict, compare=False)

    @property
    def bin_width_ns(self) -> float:
        return float(self.time_ns[1] - self.time_ns[0])

    @property
    def tau_amplitude_weighted_ns(self) -> float:
        """True ``sum(a tau) / sum(a)``."""
        a, t = np.array(self.amplitudes), np.array(self.taus_ns)
        return float(np.sum(a * t) / np.sum(a))

    @property
    def tau_intensity_weighted_ns(self) -> float:
        """True ``sum(a tau^2) / sum(a tau)``."""
        a, t = np.array(self.amplitudes), np.array(self.taus_ns)
        return float(np.sum(a * t * t) / np.sum(a * t))


def simulate_irf_counts(
    time_ns, shape: IRFShape, counts: float = 1e5, background: float = 0.0, seed=None
):
    """A measured IRF: Poisson counts of ``counts`` photons of the response plus flat background."""
    rng = rng_from(seed)
    mu = irf_histogram(time_ns, shape) * counts + background
    return rng.poisson(mu).astype(float)


def simulate_decay(
    amplitudes=(1.0,),
    taus_ns=(3.0,),
    *,
    signal_counts: float = 1e5,
    background: float = 2.0,
    n_bins: int = 256,
    bin_width_ns: float = 0.05,
    irf: IRFShape | None = None,
    period_ns: float | None = None,
    irf_counts: float | None = 1e5,
    irf_background: float = 0.0,
    seed=None,
) -> SyntheticDecay:
    """Simulate a TCSPC decay histogram (and its measured IRF) with Poisson noise.

    Parameters
    ----------
    amplitudes, taus_ns : sequence of float
        Pre-exponential factors and lifetimes [ns] of ``I(t) = sum A_k exp(-t/tau_k)``.
    signal_counts : float
        Expected signal photons in the histogram (background not included).
    background : float
        Expected flat background per bin [counts].
    n_bins, bin_width_ns : int, float
        Histogram size; bins start at 0.
    irf : IRFShape, optional
        The instrument response; default :func:`measured_like_irf_shape` with its
        core at 1/8 of the histogram.
    period_ns : float, optional
        Laser repetition period [ns] (tails of earlier pulses added).
    irf_counts : float or None
        Photons in the simulated IRF measurement; None for no measured IRF.
    irf_background : float
        Flat background per bin of the IRF measurement.
    seed : int, SeedSequence or Generator

    Returns
    -------
    SyntheticDecay
    """
    rng = rng_from(seed)
    t = np.arange(n_bins) * float(bin_width_ns)
    if irf is None:
        irf = measured_like_irf_shape(t0_ns=t[-1] / 8.0)
    amp = np.asarray(amplitudes, dtype=float)
    mu = decay_expected_counts(
        t,
        irf,
        amp,
        taus_ns,
        signal_counts=signal_counts,
        background=background,
        period_ns=period_ns,
    )
    counts = rng.poisson(mu).astype(float)
    measured_irf = None
    if irf_counts is not None:
        measured_irf = simulate_irf_counts(t, irf, irf_counts, irf_background, seed=rng)
    return SyntheticDecay(
        time_ns=t,
        counts=counts,
        expected=mu,
        irf_counts=measured_irf,
        irf=irf_histogram(t, irf),
        shape=irf,
        amplitudes=tuple(float(a) for a in amp / amp.sum()),
        taus_ns=tuple(float(x) for x in np.atleast_1d(taus_ns)),
        background=float(background),
        period_ns=period_ns,
        truth={"signal_counts": float(signal_counts)},
    )
