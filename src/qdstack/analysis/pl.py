"""Peak energy, width and intensity of a photoluminescence spectrum.

Shared by the temperature series (``qdstack tpl`` from spectra) and the angle
series (``qdstack angle``).  The spectrum must be per unit energy (the reader
applies the Jacobian to wavelength data).

Method
------
1. A constant background is estimated from the outer 5 % of the spectrum on
   each side (median), which is where a single PL band has decayed.
2. The maximum of the Savitzky-Golay-smoothed spectrum gives the starting
   centre; the half-maximum crossings give the starting width.
3. An lmfit model (Gaussian, Voigt or pseudo-Voigt) on the fixed background is
   fitted to the contiguous points above ``fit_fraction`` (default 50 %) of the
   maximum, which keeps weak side bands (trions, defects, a second phase) and
   the asymmetric tails out of the peak position.

Reported: ``peak_eV`` (centre of the profile fitted to the top of the band,
i.e. the peak top), ``fwhm_meV`` (half-maximum crossings of the
background-subtracted spectrum: the experimental definition, no line-shape
assumption; ``fwhm_fit_meV`` is the fitted profile's), ``intensity`` (trapezoid
integral of the background-subtracted spectrum over the whole range, per eV),
each with its standard error.

The direct FWHM (:func:`direct_fwhm`) reads the crossings from a Savitzky-Golay
smoothing whose window is at most a sixth of the width (a wider window flattens
the band and biases the width), and half maximum from a log-parabola fitted to
the top of the band (the maximum of a noisy curve is biased upwards).  Its error
adds the noise at both crossings and the uncertainty of the half-maximum level
(peak height and background), which moves both crossings together.  On a grid
of fewer than 5 points per FWHM linear interpolation misplaces the crossings by
several per cent, so the fitted profile's FWHM is reported instead, with a
warning.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.signal import savgol_coeffs, savgol_filter

from qdstack._result import Result
from qdstack.analysis._fitting import (
    FWHM_PER_SIGMA,
    bound_warnings,
    convergence_warnings,
    param_error,
    param_value,
    peak_model,
)
from qdstack.analysis.peaks import noise_sigma, sorted_in_range
from qdstack.errors import FitError, InputError

__all__ = ["PLPeak", "pl_peak", "half_max_width", "direct_fwhm"]

PLProfile = Literal["gaussian", "voigt", "pseudovoigt"]


@dataclass(frozen=True)
class PLPeak(Result):
    """Peak of one PL spectrum (energies in eV, widths in meV).

    Attributes
    ----------
    peak_eV, peak_eV_err : float
        Fitted centre and its standard error [eV].
    fwhm_meV, fwhm_meV_err : float
        Full width at half maximum [meV]: between the half-maximum crossings of the
        smoothed, background-subtracted spectrum (no line-shape assumption; the
        fitted width when the spectrum does not fall to half maximum inside the data).
    fwhm_fit_meV, fwhm_fit_meV_err : float
        FWHM of the fitted profile [meV] (differs from ``fwhm_meV`` for asymmetric bands).
    intensity, intensity_err : float
        Integrated intensity above the background (per-eV spectrum integrated over eV).
    height : float
        Peak value above the background.
    background : float
        Constant background level.
    profile : str
    fit : lmfit.model.ModelResult
    warnings : tuple of str
    spectrum_eV, spectrum : ndarray
        The spectrum it was measured on (ascending energy, inside ``emin``/``emax``).
    """

    peak_eV: float
    peak_eV_err: float
    fwhm_meV: float
    fwhm_meV_err: float
    fwhm_fit_meV: float
    fwhm_fit_meV_err: float
    intensity: float
    intensity_err: float
    height: float
    background: float
    profile: str
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()
    spectrum_eV: np.ndarray | None = field(default=None, repr=False, compare=False)
    spectrum: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.pl import plot_pl_peak

        return plot_pl_peak(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "peak_eV": self.peak_eV,
            "peak_eV_err": self.peak_eV_err,
            "fwhm_meV": self.fwhm_meV,
            "fwhm_meV_err": self.fwhm_meV_err,
            "fwhm_fit_meV": self.fwhm_fit_meV,
            "fwhm_fit_meV_err": self.fwhm_fit_meV_err,
            "intensity": self.intensity,
            "intensity_err": self.intensity_err,
            "height": self.height,
            "background": self.background,
            "profile": self.profile,
        }


def _local_noise(y, i: int, fallback: float, half: int = 10) -> float:
    """White-noise level of ``y`` in the 2*half+1 points around index ``i`` (``fallback`` if undefined)."""
    lo, hi = max(0, i - half), min(len(y), i + half + 1)
    s = noise_sigma(y[lo:hi]) if hi - lo >= 7 else float("nan")
    return s if math.isfinite(s) and s > 0 else fallback


def half_max_width(x, y, level: float | None = None) -> tuple[float, float, float]:
    """Left and right crossings of half the maximum around the maximum, linearly interpolated.

    Returns
    -------
    left, right, width : float
        NaN where the signal does not fall to half maximum inside the data.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    i = int(np.argmax(y))
    half = 0.5 * y[i] if level is None else level
    left = right = float("nan")
    j = i
    while j > 0 and y[j] > half:
        j -= 1
    if y[j] <= half < y[j + 1]:
        left = float(np.interp(half, [y[j], y[j + 1]], [x[j], x[j + 1]]))
    j = i
    while j < y.size - 1 and y[j] > half:
        j += 1
    if y[j] <= half < y[j - 1]:
        right = float(np.interp(half, [y[j], y[j - 1]], [x[j], x[j - 1]]))
    return left, right, right - left


_MIN_POINTS_PER_FWHM = 5


def _edge_noise(y, n_edge: int, fallback: float) -> float:
    """Noise level of the outer ``n_edge`` points on each side (where the background is read)."""
    vals = [_local_noise(y, i, fallback) for i in (n_edge // 2, y.size - 1 - n_edge // 2)]
    return float(np.median(vals))


def _top_height(e, y, background: float, i: int, width: float, sigma: float) -> tuple[float, float]:
    """Height of the band above ``background`` and its standard error, from the top of the band.

    A parabola in ``ln(y - background)`` (exact for a Gaussian top, closer than a
    parabola in ``y`` for a Lorentzian) is fitted by weighted least squares
    (weights ``(y - background) / noise``) to the points within ``width / 6`` of
    the maximum (at least 5).  Falls back to the raw maximum when the top is not
    clearly above the noise or not concave.
    """
    step = float(np.median(np.diff(e)))
    sel = np.abs(e - e[i]) <= max(width / 6.0, 2.01 * step)
    xs, ys = e[sel] - e[i], y[sel] - background
    noise = _local_noise(y, i, sigma)
    if xs.size >= 5 and np.all(ys > 3.0 * noise):
        wgt = ys / noise
        A = np.vander(xs, 3) * wgt[:, None]
        coef, *_ = np.linalg.lstsq(A, np.log(ys) * wgt, rcond=None)
        a, b, c = coef
        if a < 0:
            xv = -b / (2.0 * a)
            if abs(xv) <= xs.max() - xs.min():
                ln_h = c - b * b / (4.0 * a)
                g = np.array([xv * xv, xv, 1.0])  # d ln h / d coef at the vertex (envelope theorem)
                h = math.exp(ln_h)
                return h, h * math.sqrt(float(g @ np.linalg.inv(A.T @ A) @ g))
    return float(y[i] - background), noise


def direct_fwhm(
    energy_eV, intensity, background: float, background_err: float, sigma: float, width_eV: float
) -> tuple[float, float]:
    """FWHM from the half-maximum crossings and its standard error [meV].

    Parameters
    ----------
    energy_eV, intensity : ndarray
        Ascending energy grid and the spectrum on it.
    background, background_err : float
        Constant background under the band and its standard error.
    sigma : float
        Global white-noise level (fallback for the local estimates).
    width_eV : float
        A first estimate of the FWHM (sets the smoothing window and the top region).

    Returns
    -------
    fwhm_meV, fwhm_meV_err : float
        NaN when the smoothed band does not cross half maximum on both sides.

    Notes
    -----
    With ``h`` the height (:func:`_top_height`), the crossings ``x_l < x_r`` solve
    ``s(x) = h / 2`` on the smoothed, background-subtracted spectrum ``s``
    (Savitzky-Golay, order 2, half-window ``<= width / 6``; none when that is under
    2 points).  To first order
    ``dW = ds_r/|s'_r| + ds_l/|s'_l| - d(h/2 + b) (1/|s'_l| + 1/|s'_r|)``: the noise of
    ``s`` at each crossing (local noise times the filter's noise gain) and the
    level's uncertainty ``sqrt(dh^2 + db^2)/2`` are independent, so their variances add.
    """
    e = np.asarray(energy_eV, dtype=float)
    y = np.asarray(intensity, dtype=float)
    step = float(np.median(np.diff(e)))
    m = int(width_eV / 6.0 / step)
    if m >= 2:
        win = 2 * m + 1
        smooth = savgol_filter(y, win, 2) - background
        gain = math.sqrt(float(np.sum(savgol_coeffs(win, 2) ** 2)))
    else:
        smooth, gain = y - background, 1.0
    i = int(np.argmax(savgol_filter(y, 5, 2) if y.size >= 5 else y))
    h, h_err = _top_height(e, y, background, i, width_eV, sigma)
    left, right, width = half_max_width(e, smooth, level=0.5 * h)
    if not math.isfinite(width):
        return float("nan"), float("nan")
    slope = np.gradient(smooth, e)
    s_l = abs(float(np.interp(left, e, slope)))
    s_r = abs(float(np.interp(right, e, slope)))
    if not (s_l > 0 and s_r > 0):
        return float(width * 1e3), float("nan")
    n_l = _local_noise(y, int(np.searchsorted(e, left)), sigma) * gain
    n_r = _local_noise(y, int(np.searchsorted(e, right)), sigma) * gain
    d_level = 0.5 * math.hypot(h_err, background_err)
    var = (n_l / s_l) ** 2 + (n_r / s_r) ** 2 + (d_level * (1.0 / s_l + 1.0 / s_r)) ** 2
    return float(width * 1e3), float(1e3 * math.sqrt(var))


def _level(x, level):
    """The background level measured on the spectrum's edges (an independent variable, not fitted)."""
    return np.full_like(np.asarray(x, dtype=float), level)


def _model(profile: PLProfile):
    """Peak + the fixed background level; every parameter varied, none derived.

    The level is an independent variable rather than a fixed Parameter: see
    :func:`qdstack.analysis._fitting.peak_model` for why no fit holds a fixed one.
    """
    from lmfit import Model

    if profile not in FWHM_PER_SIGMA:
        raise InputError(
            f"unknown profile {profile!r}; use gaussian, voigt or pseudovoigt", "profile"
        )
    return peak_model(profile, "pl_") + Model(_level, prefix="bg_", independent_vars=["x", "level"])


def pl_peak(
    energy_eV,
    intensity,
    *,
    profile: PLProfile = "gaussian",
    fit_fraction: float = 0.5,
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    source: str | None = None,
) -> PLPeak:
    """Measure peak energy, FWHM and integrated intensity of a PL spectrum.

    Parameters
    ----------
    energy_eV : array_like, shape (n,)
        Photon energy [eV], any order.
    intensity : array_like, shape (n,)
        PL intensity per unit energy.
    profile : {"gaussian", "voigt", "pseudovoigt"}
        Line shape of the fit.
    fit_fraction : float
        Fit the contiguous points above this fraction of the maximum.
    emin_eV, emax_eV : float, optional
        Restrict to this energy range first.
    source : str, optional
        Name for messages.

    Returns
    -------
    PLPeak

    Raises
    ------
    FitError
        Too few points, no peak above the noise, or no sane fit.
    """
    src = source or "<spectrum>"
    e, y = sorted_in_range(energy_eV, intensity, emin_eV, emax_eV, "intensity", src)
    if e.size < 10:
        raise FitError(f"only {e.size} points; a PL peak needs at least 10", src)
    if not (0.0 < fit_fraction < 0.9):
        raise InputError("fit_fraction must be between 0 and 0.9", "fit_fraction")

    n_edge = max(3, e.size // 20)
    background = float(np.median(np.concatenate([y[:n_edge], y[-n_edge:]])))
    sigma = noise_sigma(y)
    window = min(max(5, (e.size // 40) * 2 + 1), e.size - (1 - e.size % 2))
    if window >= 5 and e.size >= 5:
        # a window sized for the whole spectrum would broaden a band narrower than it
        # (a low-temperature exciton on a fine grid): at most a quarter of the lightly
        # smoothed band's width
        w_light = half_max_width(e, savgol_filter(y, 5, 2) - background)[2]
        if math.isfinite(w_light):
            step0 = float(np.median(np.diff(e)))
            window = min(window, max(5, int(w_light / 4 / step0) // 2 * 2 + 1))
    smooth = savgol_filter(y, window, 2) if window >= 5 else y
    signal = smooth - background
    i_max = int(np.argmax(signal))
    height0 = float(signal[i_max])
    if not height0 > 5 * max(sigma, 1e-300):
        raise FitError(
            f"no PL peak above the noise (maximum {height0:.3g} above background, noise {sigma:.3g})",
            src,
        )
    left, right, width = half_max_width(e, signal)
    msgs: list[str] = []
    if not math.isfinite(width):
        msgs.append(
            f"{src}: the peak does not fall to half maximum inside the data; FWHM is uncertain"
        )
        step = float(np.median(np.diff(e)))
        width = max(
            (right - e[i_max]) * 2 if math.isfinite(right) else 0.0,
            (e[i_max] - left) * 2 if math.isfinite(left) else 0.0,
            10 * step,
        )
    # contiguous region above fit_fraction of the maximum
    thr = fit_fraction * height0
    lo = i_max
    while lo > 0 and signal[lo - 1] > thr:
        lo -= 1
    hi = i_max
    while hi < e.size - 1 and signal[hi + 1] > thr:
        hi += 1
    if hi - lo + 1 < 7:
        lo, hi = max(0, i_max - 5), min(e.size - 1, i_max + 5)
    x, yy = e[lo : hi + 1], y[lo : hi + 1]

    model = _model(profile)
    params = model.make_params()
    sig0 = max(width / 2.3548, float(np.median(np.diff(e))))
    # no bounds on the centre: lmfit's bound transform leaves a parameter that starts exactly
    # mid-way between its bounds (a symmetric fit region) stuck there without an error; a centre
    # outside the fit region is refused below instead
    params["pl_center"].set(value=float(e[i_max]))
    params["pl_sigma"].set(value=sig0, min=sig0 / 20, max=sig0 * 20)
    params["pl_amplitude"].set(value=height0 * sig0 * math.sqrt(2 * math.pi), min=0)
    if profile == "pseudovoigt":
        params["pl_fraction"].set(value=0.3, min=0, max=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.fit(yy, params, x=x, level=background)
    msgs += convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    center = param_value(result, "pl_center")
    if not (x[0] < center < x[-1]):
        raise FitError("the PL peak fit ended outside the peak region", src)
    fwhm_fit = FWHM_PER_SIGMA[profile] * param_value(result, "pl_sigma") * 1e3
    fwhm_fit_err = FWHM_PER_SIGMA[profile] * param_error(result, "pl_sigma") * 1e3
    bg_err = 1.2533 * _edge_noise(y, n_edge, sigma) / math.sqrt(2 * n_edge)
    step = float(np.median(np.diff(e)))
    fwhm, fwhm_err = float("nan"), float("nan")
    if math.isfinite(right - left):
        # re-measure with the window the last width allows until it settles
        w_eV = width
        for _ in range(4):
            if w_eV / step < _MIN_POINTS_PER_FWHM:
                break
            fwhm, fwhm_err = direct_fwhm(e, y, background, bg_err, sigma, w_eV)
            if not math.isfinite(fwhm) or abs(fwhm * 1e-3 - w_eV) <= 0.2 * w_eV:
                break
            w_eV = fwhm * 1e-3
        if w_eV / step < _MIN_POINTS_PER_FWHM:
            fwhm = float("nan")
            msgs.append(
                f"{src}: only {w_eV / step:.1f} points across the FWHM; reporting the fitted "
                f"{profile} FWHM (half-maximum crossings need >= {_MIN_POINTS_PER_FWHM})"
            )
        elif not math.isfinite(fwhm):
            msgs.append(
                f"{src}: the half-maximum crossings could not be located; reporting the fitted "
                f"{profile} FWHM"
            )
    if not math.isfinite(fwhm):
        fwhm, fwhm_err = fwhm_fit, fwhm_fit_err
    height = float(result.eval_components(x=np.array([center]))["pl_"][0])

    de = np.diff(e)
    w = np.zeros_like(e)
    w[:-1] += de / 2
    w[1:] += de / 2
    area = float(np.sum((y - background) * w))
    # local noise of every point (shot noise follows the band) and the background's uncertainty
    local = np.array([_local_noise(y, i, sigma) for i in range(0, e.size, 21)])
    local = np.repeat(local, 21)[: e.size]
    area_err = float(math.hypot(np.sqrt(np.sum((w * local) ** 2)), bg_err * float(np.sum(w))))
    return PLPeak(
        peak_eV=center,
        peak_eV_err=param_error(result, "pl_center"),
        fwhm_meV=fwhm,
        fwhm_meV_err=fwhm_err,
        fwhm_fit_meV=fwhm_fit,
        fwhm_fit_meV_err=fwhm_fit_err,
        intensity=area,
        intensity_err=area_err,
        height=height,
        background=background,
        profile=profile,
        fit=result,
        warnings=tuple(msgs),
        spectrum_eV=e,
        spectrum=y,
    )
