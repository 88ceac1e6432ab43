"""The joint raw + derivative peak fit of a scattering profile, with its sandwich covariance.

The method is described in :mod:`qdstack.analysis.xrd`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qdstack.analysis._fitting import bound_warnings, convergence_warnings, param_value
from qdstack.analysis.peaks import noise_sigma
from qdstack.analysis.xrd._starts import (
    _detrended_peaks,
    _initial_background,
    _persistent_minima,
    _start_sets,
)
from qdstack.analysis.xrd.model import (
    _AUTO_BACKGROUNDS,
    _FWHM_PER_SIGMA,
    _MAX_DEGREE,
    _POLYORDER,
    _SQRT_2PI,
    Background,
    Method,
    _background_model,
    _Filters,
    _peak_model,
    _sg_window,
)
from qdstack.analysis.xrd.results import XRDFit, XRDPeak
from qdstack.errors import FitError, InputError
from qdstack.units import q_to_d_nm

# ----------------------------------------------------------------------------- fitting


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
    """Robust covariance of the joint (data + derivatives) estimator (:mod:`qdstack.analysis.xrd`)."""
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
    """Fit K Gaussian peaks on a background to a scattering profile (:mod:`qdstack.analysis.xrd`).

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
    for k, (c, ce, s, se, a, ae, comp) in enumerate(found, start=1):
        d = float(q_to_d_nm(c))
        near = np.abs(q - c) <= 3 * _FWHM_PER_SIGMA * s  # the window kept for the peak's figure
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
                window_q=q[near],
                window_y=y[near],
                window_background=np.asarray(bg_curve)[near],
                window_fit=np.asarray(best)[near],
                window_peak=np.asarray(comp)[near],
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
    unit = profile.intensity_unit
    peaks = tuple(replace(p, intensity_unit=unit) for p in fit.peaks)
    return replace(fit, intensity_unit=unit, peaks=peaks)
