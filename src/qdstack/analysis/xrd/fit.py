"""Scattering peaks of quantum-dot superlattices: q, d = 2 pi / q and width, with errors.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Figs. S5-S6)
reads the inter-dot period of a film from the position of a broad scattering
peak on a steep background, "with the fitting of raw data and first and second
derivatives, using combination of Gaussian and polynomial functions".  This
module does that:

Model
-----
``I(q) = sum_k A_k / (s_k sqrt(2 pi)) exp(-(q - q_k)^2 / (2 s_k^2)) + B(q)``

with ``B`` a polynomial in ``u = (q - q_mid) / q_half`` (degree 0-5) or a power
law ``a (q / q_mid)^-n + c`` (the decay of the dots' form factor and diffuse
scattering).  By default both kinds (polynomials of degree 1-4) are fitted and
the background with the lowest Bayesian information criterion is kept.
FWHM = 2 sqrt(2 ln 2) s.

Joint fit of the profile and its derivatives (``method="joint"``, the default)
------------------------------------------------------------------------------
The data ``y`` and the model ``f(theta)`` both go through the same cubic
Savitzky-Golay first- and second-derivative filters ``S1``, ``S2`` (window of
``sg_window`` points, about half the narrowest peak's FWHM; only the points
where the whole window lies inside the data), and one composite residual is
minimised with lmfit::

    r = [ w0 (y - f) / sigma,  w1 (S1 y - S1 f) / sigma_1,  w2 (S2 y - S2 f) / sigma_2 ]

``sigma`` is the standard error of each point (Poisson counts or an error
column; otherwise estimated from second differences), and ``sigma_1``,
``sigma_2`` are its exact propagation through the filters
(``sigma_d^2 = sum_j c_j^2 sigma_{i+j}^2``), so each data set enters in units of
its own noise (``w0 = w1 = w2 = 1`` by default).  Filtering the model exactly
like the data makes the fit free of the smoothing distortion that fitting
analytic derivatives to smoothed data would bring.  The derivatives weight the
curvature of the peaks over the slowly varying background, so an imperfect
background model pulls the centres less; the price is that the three data sets
are linear transforms of the same counts, so the composite chi^2 double-counts
information and lmfit's covariance would be wrong.  The standard errors are
therefore the sandwich (robust) covariance of this estimator,

    Cov = H^-1 (J^T W A Sigma A^T W J) H^-1,   H = J^T W^2 J,

with ``J`` the Jacobian of the stacked model, ``W`` the residual weights,
``A = [1; S1; S2]`` and ``Sigma = diag(sigma^2)``, scaled by the reduced chi^2
of the raw-profile part (as lmfit scales a plain fit's covariance).  Monte-Carlo
tests check that these errors match the scatter of repeated fits.

``method="raw"`` fits ``f`` to ``y`` alone (weighted least squares, lmfit's
covariance).  Both are always run (the raw fit starts the joint one) and their
centres are compared: a disagreement beyond the errors says the background
model is inadequate.

Starting values come from the data, and several are tried: peak candidates are
the significant minima of the smoothed second derivative that persist across
smoothing scales (:mod:`qdstack.analysis.peaks`) and the peaks that stand out of
a detrended profile (a baseline under the peaks in log-log, then
``scipy.signal.find_peaks`` on the smoothed excess in noise units).  The raw fit
is run from the K most significant curvature candidates and from every K-subset
of the most significant candidates of both searches; the start with the lowest
chi^2 (the maximum likelihood: same model, data and weights) wins and starts the
other backgrounds.  Missing peaks are added where the residual of a fit with fewer
peaks is largest; ``guess_q`` overrides.  Peaks of the detrended profile at least
half as high as a fitted one that were left out are named in a warning.  The
background starts from a fit to the points away from the peaks.

d = 2 pi / q with ``d_err = 2 pi q_err / q^2``.

References
----------
A. Savitzky, M. J. E. Golay, Anal. Chem. 36, 1627 (1964); K. Enomoto et al.,
Chem. Sci. 15, 13049 (2024), Fig. S6 and its ESI text; H. White, Econometrica
48, 817 (1980) (sandwich covariance); lmfit, M. Newville et al.,
doi:10.5281/zenodo.11813.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy.signal import savgol_coeffs

from qdstack.analysis._fitting import bound_warnings, convergence_warnings, param_value
from qdstack.analysis.peaks import noise_sigma, second_derivative_minima, uniform_grid
from qdstack.errors import FitError, InputError
from qdstack._result import Result, Table, pm_sig
from qdstack.units import q_to_d_nm

__all__ = [
    "XRDPeak",
    "XRDFit",
    "PeriodComparison",
    "DirectionComparison",
    "fit_xrd_peaks",
    "fit_profile",
    "compare_period",
    "compare_directions",
    "gaussian_peak",
]

Method = Literal["joint", "raw"]
Background = Literal["auto", "poly", "powerlaw"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_MAX_DEGREE = 5
_POLYORDER = 3
#: backgrounds tried by background="auto", the one with the lowest BIC is kept
_AUTO_BACKGROUNDS = (("powerlaw", 0), ("poly", 1), ("poly", 2), ("poly", 3), ("poly", 4))


# ----------------------------------------------------------------------------- model pieces


@dataclass(frozen=True)
class _Filters:
    """Savitzky-Golay derivative filters applied to data and model alike ('valid' points only)."""

    c1: np.ndarray
    c2: np.ndarray
    window: int

    @classmethod
    def make(cls, window: int, step: float) -> "_Filters":
        c1 = savgol_coeffs(window, _POLYORDER, deriv=1, delta=step, use="conv")
        c2 = savgol_coeffs(window, _POLYORDER, deriv=2, delta=step, use="conv")
        return cls(c1=c1, c2=c2, window=window)

    def d1(self, f):
        return np.convolve(f, self.c1, mode="valid")

    def d2(self, f):
        return np.convolve(f, self.c2, mode="valid")

    def stack(self, f):
        return np.concatenate([f, self.d1(f), self.d2(f)])

    def stacked_sigma(self, sigma):
        """Standard errors of [y, S1 y, S2 y] for independent points of standard error ``sigma``."""
        var = np.asarray(sigma, dtype=float) ** 2
        return np.concatenate(
            [
                np.sqrt(var),
                np.sqrt(np.convolve(var, self.c1**2, mode="valid")),
                np.sqrt(np.convolve(var, self.c2**2, mode="valid")),
            ]
        )

    def transpose(self, v, n: int):
        """A^T v for A = [1; S1; S2] and a stacked vector (or matrix of columns) v."""
        m = n - self.window + 1
        v = np.asarray(v, dtype=float)
        v0, v1, v2 = v[:n], v[n : n + m], v[n + m :]
        out = v0.copy()
        for vk, c in ((v1, self.c1), (v2, self.c2)):
            if vk.ndim == 1:
                out += np.convolve(vk, c[::-1], mode="full")
            else:
                out += np.stack(
                    [np.convolve(vk[:, j], c[::-1], mode="full") for j in range(vk.shape[1])], 1
                )
        return out


def gaussian_peak(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Area-normalised Gaussian: ``A / (s sqrt(2 pi)) exp(-(x - c)^2 / (2 s^2))``."""
    return (
        amplitude
        / (max(sigma, 1e-300) * _SQRT_2PI)
        * np.exp(-0.5 * ((x - center) / max(sigma, 1e-300)) ** 2)
    )


def _gaussian(x, amplitude=1.0, center=0.0, sigma=1.0, filters=None):
    f = gaussian_peak(x, amplitude, center, sigma)
    return f if filters is None else filters.stack(f)


def _poly_background(
    x, c0=0.0, c1=0.0, c2=0.0, c3=0.0, c4=0.0, c5=0.0, x0=0.0, xscale=1.0, filters=None
):
    u = (x - x0) / xscale
    f = c0 + u * (c1 + u * (c2 + u * (c3 + u * (c4 + u * c5))))
    f = np.broadcast_to(f, np.shape(x)).astype(float)
    return f if filters is None else filters.stack(f)


def _powerlaw_background(x, amplitude=1.0, exponent=2.0, const=0.0, x0=1.0, filters=None):
    f = amplitude * (np.asarray(x, dtype=float) / x0) ** (-exponent) + const
    return f if filters is None else filters.stack(f)


def _peak_model(prefix: str):
    from lmfit import Model

    model = Model(_gaussian, independent_vars=["x", "filters"], prefix=prefix)
    model.set_param_hint("sigma", min=0)
    model.set_param_hint("amplitude", min=0)
    model.set_param_hint("fwhm", expr=f"{_FWHM_PER_SIGMA:.15f}*{prefix}sigma")
    model.set_param_hint("height", expr=f"{prefix}amplitude/({prefix}sigma*{_SQRT_2PI:.15f})")
    return model


def _background_model(kind: Background):
    from lmfit import Model

    if kind == "poly":
        return Model(_poly_background, independent_vars=["x", "filters"], prefix="bg_")
    if kind == "powerlaw":
        return Model(_powerlaw_background, independent_vars=["x", "filters"], prefix="bg_")
    raise InputError(f"unknown background {kind!r}; use poly or powerlaw", "--background")


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class XRDPeak(Result):
    """One scattering peak.

    Attributes
    ----------
    q_per_nm, q_per_nm_err : float
        Peak centre q and its standard error [nm^-1].
    d_nm, d_nm_err : float
        Real-space period d = 2 pi / q and its error 2 pi q_err / q^2 [nm].
    fwhm_per_nm, fwhm_per_nm_err : float
        Full width at half maximum of the Gaussian [nm^-1].
    area, area_err : float
        Integrated intensity (intensity unit x nm^-1).
    height : float
        Peak value above the background.
    """

    q_per_nm: float
    q_per_nm_err: float
    d_nm: float
    d_nm_err: float
    fwhm_per_nm: float
    fwhm_per_nm_err: float
    area: float
    area_err: float
    height: float

    def to_dict(self) -> dict:
        return {
            "q_per_nm": self.q_per_nm,
            "q_per_nm_err": self.q_per_nm_err,
            "d_nm": self.d_nm,
            "d_nm_err": self.d_nm_err,
            "fwhm_per_nm": self.fwhm_per_nm,
            "fwhm_per_nm_err": self.fwhm_per_nm_err,
            "area": self.area,
            "area_err": self.area_err,
            "height": self.height,
        }


@dataclass(frozen=True)
class XRDFit(Result):
    """Peaks of one profile, how they were fitted, and the curves for figures.

    Attributes
    ----------
    peaks : tuple of XRDPeak
        Sorted by q.
    method : {"joint", "raw"}
    background : str
        ``"poly2"`` (polynomial of degree 2), ..., or ``"powerlaw"``.
    q_range_per_nm : tuple of float
        The fitted range.
    sg_window : int or None
        Savitzky-Golay window [points] of the joint fit.
    noise : str
        ``"given"`` (the file's Poisson counts or error column) or ``"estimated"`` (white
        noise from the second differences of the data).
    chi2_reduced : float
        Reduced chi^2 of the raw-profile part at the best fit.
    raw_q_per_nm : tuple of float
        Centres of the plain raw-profile fit (the cross-check of the joint fit).
    background_bic : dict
        With ``background="auto"``: the BIC of the raw fit on each background tried
        (the lowest is used); empty otherwise.
    q, y, y_err, best_fit, background_curve : ndarray
        The fitted data and curves (shape (n,)).
    components : tuple of ndarray
        Each peak's curve, in the order of ``peaks``.
    d1_data, d1_model, d2_data, d2_model, q_deriv : ndarray or None
        Filtered derivatives of data and model on the valid points (joint fit only).
    source : str or None
    intensity_unit : str
        ``"counts"``, ``"cps"`` or ``"arb."`` (for axis labels).
    fit : lmfit.model.ModelResult
    warnings : tuple of str
    """

    peaks: tuple[XRDPeak, ...]
    method: str
    background: str
    q_range_per_nm: tuple[float, float]
    sg_window: int | None
    noise: str
    chi2_reduced: float
    raw_q_per_nm: tuple[float, ...]
    background_bic: dict = field(compare=False)
    q: np.ndarray = field(repr=False, compare=False)
    y: np.ndarray = field(repr=False, compare=False)
    y_err: np.ndarray = field(repr=False, compare=False)
    best_fit: np.ndarray = field(repr=False, compare=False)
    background_curve: np.ndarray = field(repr=False, compare=False)
    components: tuple = field(repr=False, compare=False, default=())
    d1_data: np.ndarray | None = field(repr=False, compare=False, default=None)
    d1_model: np.ndarray | None = field(repr=False, compare=False, default=None)
    d2_data: np.ndarray | None = field(repr=False, compare=False, default=None)
    d2_model: np.ndarray | None = field(repr=False, compare=False, default=None)
    q_deriv: np.ndarray | None = field(repr=False, compare=False, default=None)
    source: str | None = None
    intensity_unit: str = "arb."
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "peaks": [p.to_dict() for p in self.peaks],
            "method": self.method,
            "background": self.background,
            "q_range_per_nm": list(self.q_range_per_nm),
            "sg_window_points": self.sg_window,
            "noise": self.noise,
            "chi2_reduced": self.chi2_reduced,
            "raw_fit_q_per_nm": list(self.raw_q_per_nm),
            "background_bic": dict(self.background_bic),
            "source": self.source,
            "warnings": list(self.warnings),
        }

    def strongest(self) -> int:
        """0-based index (in q order) of the peak with the largest area."""
        return int(np.argmax([p.area for p in self.peaks]))

    # ----------------------------------------------------------------------------- candidates

    def summary_blocks(self, label: str | None = None):
        """The table ``qdstack xrd`` prints for this fit (``label``: e.g. ``in-plane``)."""
        title = (
            f"Scattering peaks{' (' + label + ')' if label else ''}: {self.source} — "
            f"{self.method} fit, background {self.background}"
        )
        rows = tuple(
            (
                str(k),
                pm_sig(p.q_per_nm, p.q_per_nm_err),
                pm_sig(p.d_nm, p.d_nm_err),
                pm_sig(p.fwhm_per_nm, p.fwhm_per_nm_err),
                f"{rq:.5g}",
            )
            for k, (p, rq) in enumerate(zip(self.peaks, self.raw_q_per_nm), start=1)
        )
        return (
            Table(
                title,
                ("peak", "q (nm⁻¹)", "d (nm)", "FWHM (nm⁻¹)", "plain-fit q (nm⁻¹)"),
                rows,
                align=("r",) * 5,
            ),
        )

    def _plot(self, ax):
        from qdstack.plotting.xrd import plot_xrd_fit

        return plot_xrd_fit(self, ax=ax)


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


# ----------------------------------------------------------------------------- fitting


def _sg_window(fwhm_points: float, n: int) -> int:
    w = int(round(0.5 * fwhm_points))
    w = max(w, _POLYORDER + 2)
    if w % 2 == 0:
        w += 1
    w = min(w, (n // 4) * 2 - 1)
    if w < _POLYORDER + 2:
        raise FitError(
            f"only {n} points in the range; the derivative fit needs at least {4 * (_POLYORDER + 2)}"
        )
    return w


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


def _build(kind, degree, k_peaks):
    model = _background_model(kind)
    for k in range(k_peaks):
        model = _peak_model(f"p{k + 1}_") + model
    return model


def _make_params(model, kind, degree, q, q_mid, q_half, step, bg0, peaks0):
    params = model.make_params()
    lo, hi = float(q[0]), float(q[-1])
    span = hi - lo
    if kind == "poly":
        params["bg_x0"].set(value=q_mid, vary=False)
        params["bg_xscale"].set(value=q_half, vary=False)
        for i in range(_MAX_DEGREE + 1):
            params[f"bg_c{i}"].set(value=bg0.get(f"c{i}", 0.0), vary=i <= degree)
    else:
        params["bg_x0"].set(value=q_mid, vary=False)
        params["bg_amplitude"].set(value=bg0["amplitude"], min=0)
        params["bg_exponent"].set(value=bg0["exponent"], min=-5, max=10)
        params["bg_const"].set(value=bg0["const"])
    for k, (c, s, a) in enumerate(peaks0, start=1):
        p = f"p{k}_"
        params[p + "center"].set(
            value=float(np.clip(c, lo + 1e-9 * span, hi - 1e-9 * span)), min=lo, max=hi
        )
        params[p + "sigma"].set(
            value=float(np.clip(s, 0.6 * step, 0.2 * span)), min=0.5 * step, max=0.25 * span
        )
        params[p + "amplitude"].set(value=float(max(a, 1e-12)), min=0)
    return params


def _fit(model, params, y, q, weights, filters=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return model.fit(y, params, x=q, filters=filters, weights=weights, nan_policy="raise")
        except ValueError as exc:  # lmfit: the model produced NaN or inf
            raise FitError(
                f"the fit produced non-finite values ({exc}); narrow the q range"
            ) from None


def _numeric_jacobian(model, params, names, q):
    """d f / d theta of the unfiltered model at ``params`` by central differences, shape (n, p)."""
    base = params.copy()
    cols = []
    for name in names:
        p = base[name]
        v = p.value
        h = max(abs(v) * 1e-6, (p.stderr or 0.0) * 1e-3, 1e-10)
        up = base.copy()
        dn = base.copy()
        up[name].set(value=v + h)
        dn[name].set(value=v - h)
        # bounds could clip the step: use the values lmfit actually set
        hu, hd = up[name].value - v, v - dn[name].value
        fu = model.eval(up, x=q, filters=None)
        fd = model.eval(dn, x=q, filters=None)
        cols.append((fu - fd) / (hu + hd) if hu + hd > 0 else np.zeros_like(q))
    return np.stack(cols, axis=1)


def _sandwich_covariance(model, result, q, sigma, filters, user_w, raw_scale):
    """Robust covariance of the joint (data + derivatives) estimator (module docstring)."""
    names = [n for n, p in result.params.items() if p.vary]
    j0 = _numeric_jacobian(model, result.params, names, q)
    n = q.size
    m = n - filters.window + 1
    wvec = 1.0 / filters.stacked_sigma(sigma)
    wvec = wvec * np.concatenate(
        [np.full(n, user_w[0]), np.full(m, user_w[1]), np.full(m, user_w[2])]
    )
    aj = np.concatenate(
        [j0, np.apply_along_axis(filters.d1, 0, j0), np.apply_along_axis(filters.d2, 0, j0)]
    )
    jr = wvec[:, None] * aj
    h = jr.T @ jr
    try:
        h_inv = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return names, None
    g = sigma[:, None] * filters.transpose(wvec[:, None] * jr, n)
    meat = g.T @ g
    cov = h_inv @ meat @ h_inv * raw_scale
    return names, cov


def _peak_curves(result, k_peaks, q):
    comps = result.eval_components(x=q, filters=None)
    peaks = [comps[f"p{k}_"] for k in range(1, k_peaks + 1)]
    return peaks, comps["bg_"]


def fit_xrd_peaks(
    q_per_nm,
    intensity,
    intensity_err=None,
    *,
    peaks: int = 1,
    method: Method = "joint",
    background: Background = "auto",
    degree: int = 2,
    qmin_per_nm: float | None = None,
    qmax_per_nm: float | None = None,
    sg_window: int | None = None,
    guess_q_per_nm: Sequence[float] | None = None,
    weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    source: str | None = None,
) -> XRDFit:
    """Fit K Gaussian peaks on a background to a scattering profile (module docstring).

    Parameters
    ----------
    q_per_nm : array_like, shape (n,)
        Scattering vector [nm^-1], strictly monotonic.
    intensity : array_like, shape (n,)
        Intensity (counts, cps or arbitrary).
    intensity_err : array_like, optional
        Standard error of each intensity; default estimated from the data's
        second differences (white noise).
    peaks : int
        Number of peaks K (1-6).
    method : {"joint", "raw"}
        Joint fit of profile + Savitzky-Golay first and second derivatives (the
        paper's method), or the plain raw-profile fit.
    background : {"auto", "poly", "powerlaw"}
        Polynomial of ``degree`` in the scaled q, ``a (q/q_mid)^-n + c``, or
        ``"auto"`` (default): the power law and polynomials of degree 1-4 are each
        fitted to the raw profile and the one with the lowest Bayesian information
        criterion is kept.
    degree : int
        Polynomial degree 0-5 (``background="poly"``).
    qmin_per_nm, qmax_per_nm : float, optional
        Fit range [nm^-1].
    sg_window : int, optional
        Savitzky-Golay window [points], odd >= 5; default half the narrowest
        starting FWHM.
    guess_q_per_nm : sequence of float, optional
        Starting centres (K of them) instead of the automatic search.
    weights : (w0, w1, w2)
        Multipliers of the raw, first- and second-derivative residuals.
    source : str, optional
        File name for messages.

    Returns
    -------
    XRDFit

    Raises
    ------
    InputError
        Bad arrays or options.
    FitError
        Too few points, no peak found, or no fit.
    """
    src = source or "<profile>"
    q = np.asarray(q_per_nm, dtype=float)
    y = np.asarray(intensity, dtype=float)
    if q.ndim != 1 or q.shape != y.shape:
        raise InputError("q and intensity must be 1-D arrays of equal length", src)
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(y))):
        raise InputError("q and intensity must be finite", src)
    err = None if intensity_err is None else np.asarray(intensity_err, dtype=float)
    if err is not None and (
        err.shape != y.shape or not np.all(np.isfinite(err)) or np.any(err <= 0)
    ):
        raise InputError("intensity errors must be positive and finite, one per point", src)
    if isinstance(peaks, bool) or int(peaks) != peaks or not 1 <= int(peaks) <= 6:
        raise InputError(f"the number of peaks must be 1-6, got {peaks!r}", "--peaks")
    k_peaks = int(peaks)
    if method not in ("joint", "raw"):
        raise InputError(f"unknown method {method!r}; use joint or raw", "--method")
    if background not in ("auto", "poly", "powerlaw"):
        raise InputError(
            f"unknown background {background!r}; use auto, poly or powerlaw", "--background"
        )
    if background == "poly" and not (0 <= int(degree) <= _MAX_DEGREE):
        raise InputError(f"the polynomial degree must be 0-{_MAX_DEGREE}, got {degree}", "--degree")
    if (
        len(weights) != 3
        or any((not math.isfinite(w)) or w < 0 for w in weights)
        or weights[0] <= 0
    ):
        raise InputError(
            "weights must be three non-negative numbers, the first positive", "--weights"
        )
    if qmin_per_nm is not None and qmax_per_nm is not None and qmin_per_nm >= qmax_per_nm:
        raise InputError(
            f"--qmin ({qmin_per_nm:g}) must be below --qmax ({qmax_per_nm:g})", "--qmin"
        )
    order = np.argsort(q)
    q, y = q[order], y[order]
    err = None if err is None else err[order]
    keep = np.ones(q.size, dtype=bool)
    if qmin_per_nm is not None:
        keep &= q >= qmin_per_nm
    if qmax_per_nm is not None:
        keep &= q <= qmax_per_nm
    q, y = q[keep], y[keep]
    err = None if err is None else err[keep]
    degree = int(degree)
    n_bg = {"poly": degree + 1, "powerlaw": 3, "auto": 2}[background]
    n_min = max(20, 3 * k_peaks + n_bg + 10)
    if q.size < n_min:
        raise FitError(
            f"only {q.size} points in the q range; at least {n_min} are needed for {k_peaks} peak(s) on "
            "this background (widen --qmin/--qmax)",
            src,
        )
    if np.any(np.diff(q) <= 0):
        raise InputError("q values must be distinct", src)
    msgs: list[str] = []
    if err is None:
        s0 = noise_sigma(y)
        if not (math.isfinite(s0) and s0 > 0):
            s0 = 1e-6 * max(float(np.ptp(y)), 1e-300)
        sigma = np.full(q.size, s0)
        noise = "estimated"
    else:
        sigma = err
        noise = "given"
    lo, hi = float(q[0]), float(q[-1])
    q_mid, q_half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    step = float(np.median(np.diff(q)))

    # --- starting peaks
    sig_med = float(np.median(sigma))
    if guess_q_per_nm is not None:
        guesses = [float(g) for g in guess_q_per_nm]
        if len(guesses) != k_peaks:
            raise InputError(f"{len(guesses)} starting centres for {k_peaks} peaks", "--guess")
        for g in guesses:
            if not lo < g < hi:
                raise InputError(
                    f"starting centre {g:g} nm^-1 lies outside the fitted range {lo:.4g}-{hi:.4g}",
                    "--guess",
                )
        cands, _ = _persistent_minima(q, y, sigma, threshold=3.0)
        starts = []
        for g in guesses:
            near = [c for c in cands if abs(c.position - g) < max(c.half_width, 3 * step)]
            starts.append((g, near[0].half_width if near else 0.05 * (hi - lo)))
    bumps = _detrended_peaks(q, y, sigma, step)
    if guess_q_per_nm is not None:
        start_sets = [tuple(starts)]
    else:
        cands, _ = _persistent_minima(q, y, sigma)
        second = [(c.position, c.half_width) for c in cands]
        start_sets = _start_sets(k_peaks, second, bumps, step)
        if not start_sets or not start_sets[0]:
            raise FitError(
                "no peak found: the smoothed second derivative has no significant minimum and nothing stands "
                f"out of the background in {lo:.4g}-{hi:.4g} nm^-1 (give --guess, or check --qmin/--qmax)",
                src,
            )
    w_raw = 1.0 / sigma

    chosen: dict = {}

    def raw_stage(kind, deg):
        """The raw-profile fit on one background, from the start set that fits best.

        The start sets are compared once, on the first background tried (the power law
        when q > 0): all fit the same model to the same data with the same weights, so
        the lowest chi^2 is the maximum likelihood among them; the winner's centres then
        start every other background.
        """
        if "starts" in chosen:
            return raw_from(kind, deg, chosen["starts"])
        best = None
        for starts in start_sets:
            try:
                model, raw = raw_from(kind, deg, starts)
            except FitError:
                continue
            if (
                raw.nfev > 0
                and np.isfinite(raw.chisqr)
                and (best is None or raw.chisqr < best[2].chisqr)
            ):
                best = (starts, model, raw)
        if best is None:
            raise FitError("no start of the peak fit converged", src)
        chosen["starts"] = tuple(
            (param_value(best[2], f"p{k}_center"), param_value(best[2], f"p{k}_sigma"))
            for k in range(1, k_peaks + 1)
        )
        return best[1], best[2]

    def raw_from(kind, deg, starts):
        """Raw-profile fit on one background; peaks added at the largest residual until there are K."""
        mask = np.ones(q.size, dtype=bool)
        for c, s in starts:
            mask &= np.abs(q - c) > 2.5 * s
        bg0 = _initial_background(kind, deg, q, y, mask, q_mid, q_half)
        peaks0 = []
        for c, s in starts:
            if kind == "poly":
                u = (c - q_mid) / q_half
                b = sum(bg0.get(f"c{i}", 0.0) * u**i for i in range(deg + 1))
            else:
                b = bg0["amplitude"] * (c / q_mid) ** (-bg0["exponent"]) + bg0["const"]
            height = max(float(np.interp(c, q, y)) - b, 3 * sig_med, 1e-12)
            peaks0.append((c, s, height * s * _SQRT_2PI))
        while True:
            model = _build(kind, deg, len(peaks0))
            params = _make_params(model, kind, deg, q, q_mid, q_half, step, bg0, peaks0)
            raw = _fit(model, params, y, q, w_raw)
            if len(peaks0) >= k_peaks:
                return model, raw
            resid = y - raw.best_fit
            width = max(np.median([s for _, s, _ in peaks0]), 3 * step)
            kernel = np.exp(-0.5 * ((np.arange(-15, 16) * step) / width) ** 2)
            smooth = np.convolve(resid, kernel / kernel.sum(), mode="same")
            i = int(np.argmax(smooth[2:-2])) + 2
            kept = [
                (
                    param_value(raw, f"p{k}_center"),
                    param_value(raw, f"p{k}_sigma"),
                    param_value(raw, f"p{k}_amplitude"),
                )
                for k in range(1, len(peaks0) + 1)
            ]
            peaks0 = kept + [
                (float(q[i]), width, max(float(smooth[i]), 3 * sig_med) * width * _SQRT_2PI)
            ]
            bg0 = {
                name[3:]: raw.params[name].value for name in raw.params if name.startswith("bg_")
            }

    if background == "powerlaw" and lo <= 0:
        raise InputError("a power-law background needs q > 0; set --qmin above 0", "--background")
    if background == "auto":
        trials = []
        for kind, deg in _AUTO_BACKGROUNDS:
            if kind == "poly" and q.size < 3 * k_peaks + deg + 11:
                continue
            if kind == "powerlaw" and lo <= 0:
                continue
            model_t, raw_t = raw_stage(kind, deg)
            if raw_t.nfev > 0 and np.isfinite(raw_t.bic):
                trials.append((raw_t.bic, kind, deg, model_t, raw_t))
        if not trials:
            raise FitError("no background model could be fitted", src)
        trials.sort(key=lambda t: t[0])
        _, background, degree, model, raw = trials[0]
        bic_table = {(f"poly{d}" if k == "poly" else k): float(b) for b, k, d, _, _ in trials}
    else:
        model, raw = raw_stage(background, degree)
        bic_table = {}
    if not raw.success and raw.nfev == 0:
        raise FitError("the raw-profile fit could not start", src)
    raw_centres = tuple(sorted(param_value(raw, f"p{k}_center") for k in range(1, k_peaks + 1)))
    raw_chi2 = float(np.sum(((y - raw.best_fit) / sigma) ** 2))
    dof = max(q.size - raw.nvarys, 1)

    filters = None
    if method == "joint":
        if sg_window is None:
            fwhm_pts = (
                min(param_value(raw, f"p{k}_sigma") for k in range(1, k_peaks + 1))
                * _FWHM_PER_SIGMA
                / step
            )
            window = _sg_window(fwhm_pts, q.size)
        else:
            window = int(sg_window)
            if window < _POLYORDER + 2 or window % 2 == 0 or window > q.size // 3:
                raise InputError(
                    f"the Savitzky-Golay window must be odd, >= {_POLYORDER + 2} and at most a third of "
                    f"the {q.size} points; got {sg_window}",
                    "--sg-window",
                )
        filters = _Filters.make(window, step)
        n_d = q.size - window + 1
        stacked_w = 1.0 / filters.stacked_sigma(sigma)
        stacked_w *= np.concatenate(
            [np.full(q.size, weights[0]), np.full(n_d, weights[1]), np.full(n_d, weights[2])]
        )
        data = filters.stack(y)
        start = raw.params.copy()
        result = _fit(model, start, data, q, stacked_w, filters)
        best = model.eval(result.params, x=q, filters=None)
        chi2_raw = float(np.sum(((y - best) / sigma) ** 2))
        scale = chi2_raw / dof
        names, cov = _sandwich_covariance(model, result, q, sigma, filters, weights, scale)
        errors = {}
        if cov is not None and np.all(np.isfinite(np.diag(cov))) and np.all(np.diag(cov) >= 0):
            errors = {nm: float(math.sqrt(cov[i, i])) for i, nm in enumerate(names)}
        else:
            msgs.append(
                f"{src}: the covariance of the joint fit could not be computed; errors are not available"
            )
    else:
        result = raw
        best = raw.best_fit
        scale = raw_chi2 / dof
        errors = {
            nm: (p.stderr if p.stderr is not None else float("nan"))
            for nm, p in raw.params.items()
            if p.vary
        }

    msgs += convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    peak_curves, bg_curve = _peak_curves(result, k_peaks, q)
    found = []
    for k in range(1, k_peaks + 1):
        p = f"p{k}_"
        c = param_value(result, p + "center")
        s = param_value(result, p + "sigma")
        a = param_value(result, p + "amplitude")
        ce = errors.get(p + "center", float("nan"))
        se = errors.get(p + "sigma", float("nan"))
        ae = errors.get(p + "amplitude", float("nan"))
        found.append((c, ce, s, se, a, ae, peak_curves[k - 1]))
    found.sort(key=lambda t: t[0])
    out_peaks = []
    for k, (c, ce, s, se, a, ae, _) in enumerate(found, start=1):
        d = float(q_to_d_nm(c))
        out_peaks.append(
            XRDPeak(
                q_per_nm=c,
                q_per_nm_err=ce,
                d_nm=d,
                d_nm_err=2 * math.pi * ce / c**2 if math.isfinite(ce) else float("nan"),
                fwhm_per_nm=_FWHM_PER_SIGMA * s,
                fwhm_per_nm_err=_FWHM_PER_SIGMA * se,
                area=a,
                area_err=ae,
                height=a / (s * _SQRT_2PI),
            )
        )
        fwhm = _FWHM_PER_SIGMA * s
        if c - lo < 0.5 * fwhm or hi - c < 0.5 * fwhm:
            msgs.append(
                f"{src}: peak {k} (q = {c:.4g} nm^-1) lies within half a width of the edge of the fitted "
                f"range {lo:.4g}-{hi:.4g}; widen --qmin/--qmax"
            )
        if fwhm < 2 * step:
            msgs.append(
                f"{src}: peak {k} is narrower than two points (FWHM {fwhm:.3g} nm^-1); it is undersampled"
            )
        if math.isfinite(ae) and ae > 0 and a / ae < 3:
            msgs.append(f"{src}: peak {k} is not significant (area / error = {a / ae:.1f} < 3)")
        if not math.isfinite(ce):
            msgs.append(f"{src}: no standard error for the centre of peak {k}")
    if bumps and guess_q_per_nm is None:
        smallest = min(pk.height for pk in out_peaks)
        missed = [
            b
            for b in bumps
            if all(
                abs(b.position - pk.q_per_nm) > max(pk.fwhm_per_nm, 2 * b.sigma) for pk in out_peaks
            )
            and b.height >= 0.5 * smallest
        ]
        if missed:
            where = ", ".join(
                f"{b.position:.4g}" for b in sorted(missed, key=lambda b: -b.height)[:4]
            )
            msgs.append(
                f"{src}: {len(missed)} more peak(s) at least half as high as the fitted one(s) stand out of the "
                f"background but are not fitted (q ~ {where} nm^-1); fit them too (--peaks) or exclude them "
                "(--qmin/--qmax)"
            )
    if method == "joint":
        for k, (pk, rq) in enumerate(zip(out_peaks, raw_centres), start=1):
            tol = 3 * max(pk.q_per_nm_err, 1e-12) if math.isfinite(pk.q_per_nm_err) else 0
            if math.isfinite(pk.q_per_nm_err) and abs(pk.q_per_nm - rq) > tol:
                msgs.append(
                    f"{src}: the joint and plain fits disagree on peak {k} ({pk.q_per_nm:.5g} vs {rq:.5g} "
                    f"nm^-1, more than 3 standard errors); the background model may be inadequate -- try "
                    "another --background/--degree or a narrower q range"
                )
    if scale > 4 and noise != "estimated":
        msgs.append(
            f"{src}: reduced chi^2 of the profile is {scale:.3g}: the model does not describe the data "
            "within the counting noise (the errors are scaled up accordingly)"
        )
    comps_sorted = tuple(f[6] for f in found)
    d1d = d1m = d2d = d2m = qd = None
    if filters is not None:
        half = filters.window // 2
        qd = q[half : q.size - half]
        d1d, d2d = filters.d1(y), filters.d2(y)
        d1m, d2m = filters.d1(best), filters.d2(best)
    bg_name = f"poly{degree}" if background == "poly" else "powerlaw"
    return XRDFit(
        peaks=tuple(out_peaks),
        method=method,
        background=bg_name,
        q_range_per_nm=(lo, hi),
        sg_window=None if filters is None else filters.window,
        noise=noise,
        chi2_reduced=float(scale),
        raw_q_per_nm=raw_centres,
        background_bic=bic_table,
        q=q,
        y=y,
        y_err=sigma,
        best_fit=np.asarray(best),
        background_curve=np.asarray(bg_curve),
        components=comps_sorted,
        d1_data=d1d,
        d1_model=d1m,
        d2_data=d2d,
        d2_model=d2m,
        q_deriv=qd,
        source=source,
        fit=result,
        warnings=tuple(dict.fromkeys(msgs)),
    )


def fit_profile(profile, **kwargs) -> XRDFit:
    """:func:`fit_xrd_peaks` on a :class:`~qdstack.io.profile.Profile` (its errors and name)."""
    kwargs.setdefault("source", profile.source)
    fit = fit_xrd_peaks(profile.q_per_nm, profile.intensity, profile.intensity_err, **kwargs)
    return replace(fit, intensity_unit=profile.intensity_unit)


# ----------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class PeriodComparison(Result):
    """A measured period against dot edge + linker gap.

    Attributes
    ----------
    measured_nm, measured_nm_err : float
        d = 2 pi / q of the chosen peak [nm].
    peak : int
        1-based index (in q order) of the peak used.
    expected_nm, expected_nm_err : float
        L + D and its uncertainty sqrt(dL^2 + dD^2) [nm] (dL is the uncertainty of the mean edge).
    edge_nm, gap_nm : float
    gap_source : str
    difference_nm : float
        measured - expected [nm].
    z_score : float or None
        difference / combined error; None when no error is known.
    """

    measured_nm: float
    measured_nm_err: float
    peak: int
    expected_nm: float
    expected_nm_err: float
    edge_nm: float
    gap_nm: float
    gap_source: str
    difference_nm: float
    z_score: float | None

    def to_dict(self) -> dict:
        return {
            "measured_nm": self.measured_nm,
            "measured_nm_err": self.measured_nm_err,
            "peak": self.peak,
            "expected_nm": self.expected_nm,
            "expected_nm_err": self.expected_nm_err,
            "edge_nm": self.edge_nm,
            "gap_nm": self.gap_nm,
            "gap_source": self.gap_source,
            "difference_nm": self.difference_nm,
            "z_score": self.z_score,
        }

    def summary_blocks(self, prefix: str = ""):
        z = "n/a" if self.z_score is None else f"{self.z_score:+.1f}"
        expected = (
            pm_sig(self.expected_nm, self.expected_nm_err)
            if self.expected_nm_err > 0
            else f"{self.expected_nm:.3f}"
        )
        return (
            f"{prefix}period {pm_sig(self.measured_nm, self.measured_nm_err)} nm vs edge + gap = "
            f"{self.edge_nm:g} + {self.gap_nm:.3f} = {expected} nm ({self.gap_source}): "
            f"difference {self.difference_nm:+.3f} nm, z = {z}",
        )


def _choose_peak(fit: XRDFit, peak: int | None) -> int:
    if peak is None:
        return fit.strongest()
    if not 1 <= peak <= len(fit.peaks):
        raise InputError(f"peak {peak} requested but the fit has {len(fit.peaks)}", "--period-peak")
    return peak - 1


def compare_period(
    fit: XRDFit,
    edge_nm: float,
    gap_nm: float,
    *,
    edge_err_nm: float = 0.0,
    gap_err_nm: float = 0.0,
    gap_source: str = "--gap-nm",
    peak: int | None = None,
) -> PeriodComparison:
    """Compare the period d of a fitted peak with the stacking period L + D.

    Parameters
    ----------
    fit : XRDFit
    edge_nm, gap_nm : float
        Mean dot edge L and linker gap D [nm].
    edge_err_nm, gap_err_nm : float
        Uncertainties of the *mean* edge and of the gap [nm] (XRD averages over
        very many dots, so the size spread itself does not enter).
    peak : int, optional
        1-based peak (in q order); default the strongest (largest area).
    """
    i = _choose_peak(fit, peak)
    pk = fit.peaks[i]
    expected = float(edge_nm) + float(gap_nm)
    exp_err = math.hypot(edge_err_nm, gap_err_nm)
    diff = pk.d_nm - expected
    total = math.hypot(pk.d_nm_err if math.isfinite(pk.d_nm_err) else 0.0, exp_err)
    return PeriodComparison(
        measured_nm=pk.d_nm,
        measured_nm_err=pk.d_nm_err,
        peak=i + 1,
        expected_nm=expected,
        expected_nm_err=exp_err,
        edge_nm=float(edge_nm),
        gap_nm=float(gap_nm),
        gap_source=gap_source,
        difference_nm=diff,
        z_score=diff / total if total > 0 else None,
    )


@dataclass(frozen=True)
class DirectionComparison(Result):
    """In-plane vs out-of-plane periods of a film.

    Attributes
    ----------
    in_plane_nm, in_plane_nm_err : float
        d of the chosen in-plane peak [nm].
    out_of_plane_nm, out_of_plane_nm_err : float
        d of the chosen out-of-plane peak [nm].
    ratio, ratio_err : float
        out-of-plane / in-plane period (< 1: the stack is compressed along the normal).
    difference_nm, difference_nm_err : float
        in-plane - out-of-plane [nm].
    out_of_plane_vs_expected : PeriodComparison or None
        The out-of-plane period against edge + linker gap.
    """

    in_plane_nm: float
    in_plane_nm_err: float
    out_of_plane_nm: float
    out_of_plane_nm_err: float
    ratio: float
    ratio_err: float
    difference_nm: float
    difference_nm_err: float
    out_of_plane_vs_expected: PeriodComparison | None = None

    def to_dict(self) -> dict:
        return {
            "in_plane_period_nm": self.in_plane_nm,
            "in_plane_period_nm_err": self.in_plane_nm_err,
            "out_of_plane_period_nm": self.out_of_plane_nm,
            "out_of_plane_period_nm_err": self.out_of_plane_nm_err,
            "ratio": self.ratio,
            "ratio_err": self.ratio_err,
            "difference_nm": self.difference_nm,
            "difference_nm_err": self.difference_nm_err,
            "out_of_plane_vs_expected": None
            if self.out_of_plane_vs_expected is None
            else self.out_of_plane_vs_expected.to_dict(),
        }

    def summary_blocks(self):
        blocks = [
            f"in-plane period {pm_sig(self.in_plane_nm, self.in_plane_nm_err)} nm, out-of-plane "
            f"{pm_sig(self.out_of_plane_nm, self.out_of_plane_nm_err)} nm, ratio out/in = "
            f"{pm_sig(self.ratio, self.ratio_err)}"
        ]
        if self.out_of_plane_vs_expected is not None:
            blocks.extend(self.out_of_plane_vs_expected.summary_blocks(prefix="out-of-plane "))
        return tuple(blocks)


def compare_directions(
    in_plane: XRDFit,
    out_of_plane: XRDFit,
    *,
    in_plane_peak: int | None = None,
    out_of_plane_peak: int | None = None,
    expected: PeriodComparison | None = None,
) -> DirectionComparison:
    """Both periods, their ratio (out-of-plane / in-plane) and difference, with propagated errors.

    ``ratio_err = ratio sqrt((dd_out/d_out)^2 + (dd_in/d_in)^2)`` (independent profiles).
    """
    a = in_plane.peaks[_choose_peak(in_plane, in_plane_peak)]
    b = out_of_plane.peaks[_choose_peak(out_of_plane, out_of_plane_peak)]
    ratio = b.d_nm / a.d_nm
    ratio_err = ratio * math.hypot(b.d_nm_err / b.d_nm, a.d_nm_err / a.d_nm)
    return DirectionComparison(
        in_plane_nm=a.d_nm,
        in_plane_nm_err=a.d_nm_err,
        out_of_plane_nm=b.d_nm,
        out_of_plane_nm_err=b.d_nm_err,
        ratio=ratio,
        ratio_err=ratio_err,
        difference_nm=a.d_nm - b.d_nm,
        difference_nm_err=math.hypot(a.d_nm_err, b.d_nm_err),
        out_of_plane_vs_expected=expected,
    )
