"""The three models of an angle series and their fits (see :mod:`qdstack.analysis.angle`).

Every spectrum is ``A_theta T_theta[S0](E) + c0_theta + c1_theta E`` with one line shape
``S0`` (a cubic B-spline) shared by all angles.  For every trial of the physical
parameters (fitted by lmfit) the line shape, amplitudes and baselines are solved by
alternating linear least squares (variable projection, :func:`_solve`); the models
differ only in ``T_theta`` (:func:`_mats_isotropic`, :func:`_mats_aniso`,
:func:`_mats_reabs`).  :func:`_fit_model` fits one model and measures its predicted
peak shifts with the same :func:`~qdstack.analysis.pl.pl_peak` as the data.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import BSpline

from qdstack.analysis._fitting import param_error, param_value
from qdstack.analysis.angle.optics import escape_fraction, internal_angle_rad, op_ip_ratio
from qdstack.analysis.angle.results import AngleModel
from qdstack.analysis.pl import pl_peak
from qdstack.errors import InputError, QdstackError

__all__: list[str] = []


@dataclass(frozen=True)
class _Context:
    """Everything the model functions need (passed to lmfit as an independent variable).

    The line shape S0 is a cubic B-spline ``sum_j b_j B_j(E)`` whose coefficients are
    fitted together with the per-angle amplitudes for every trial of the physical
    parameters (alternating linear least squares), so no spectrum serves as a fixed,
    noisy template.
    """

    energy: np.ndarray  # (m,)
    data: np.ndarray  # (k, m)
    weight: np.ndarray  # (k, m)  1 / sigma of each point
    knots: np.ndarray  # B-spline knot vector (cubic)
    cos_i: np.ndarray  # (k,)
    ratio: np.ndarray  # (k,)  r(theta)
    ref: int
    absorption: object  # callable a(E) -> array
    amp0: np.ndarray  # (k,) starting amplitudes
    fwhm_meV: float = 80.0  # width of the reference band (bounds the offset of model (a))

    def design(self, shift_eV: float = 0.0):
        """Sparse B-spline basis at E + shift, shape (m, n_basis).

        Points shifted beyond the spline's range take its end value (the band's
        flat tail), which keeps the model continuous in the shift.
        """
        from scipy import sparse

        t = self.knots
        x = np.clip(self.energy + shift_eV, t[3], t[-4])
        return sparse.csr_array(BSpline.design_matrix(x, t, 3))


def _solve(ctx: _Context, mats):
    """Best line shape, amplitudes and baselines for per-angle sparse designs ``mats``.

    Each spectrum is ``a_i M_i b + c0_i + c1_i u`` (u the scaled energy): a line
    shape ``b`` shared by all angles, one amplitude per angle (the reference's is 1)
    and a straight baseline per angle (dark level, stray light).  Alternating
    weighted least squares: ``b`` from the normal equations
    ``(sum_i a_i^2 G_i) b = sum_i a_i M_i^T W_i^2 (y_i - baseline_i)`` with
    ``G_i = M_i^T W_i^2 M_i``, then (a_i, c0_i, c1_i) per angle for the fixed shape.
    (Sparse algebra: the basis has four non-zeros per row, and small dense BLAS
    calls are slow when threads compete.)  Returns the model spectra (k, m) and b.
    """
    w2 = ctx.weight**2
    k = len(mats)
    gram = np.array([(m.T @ (m.multiply(w2[i][:, None]))).toarray() for i, m in enumerate(mats)])
    u = (ctx.energy - ctx.energy.mean()) / max(float(np.ptp(ctx.energy)), 1e-12)
    amp = ctx.amp0.copy()
    base = np.zeros_like(ctx.data)
    n_b = gram.shape[1]
    coef = np.zeros(n_b)
    for _ in range(12):
        h = np.array([m.T @ (w2[i] * (ctx.data[i] - base[i])) for i, m in enumerate(mats)])
        lhs = np.tensordot(amp**2, gram, axes=1)
        ridge = 1e-12 * np.trace(lhs) / n_b
        coef = np.linalg.solve(lhs + ridge * np.eye(n_b), amp @ h)
        shapes = np.array([m @ coef for m in mats])
        new = np.empty(k)
        for i in range(k):
            cols = np.stack([shapes[i], np.ones_like(u), u], axis=1) * ctx.weight[i][:, None]
            sol, *_ = np.linalg.lstsq(cols, ctx.weight[i] * ctx.data[i], rcond=None)
            new[i] = sol[0]
            base[i] = sol[1] + sol[2] * u
        if new[ctx.ref] > 0:
            coef = coef * new[ctx.ref]
            shapes = shapes * new[ctx.ref]
            new = new / new[ctx.ref]
        converged = np.allclose(new, amp, rtol=1e-7, atol=1e-10)
        amp = new
        if converged:
            break
    return amp[:, None] * shapes + base, coef


def _mats_isotropic(ctx):
    d = ctx.design()
    return [d] * ctx.cos_i.size


def _mats_aniso(ctx, fraction, offset_meV):
    f = min(max(fraction, 0.0), 0.999)
    c = f / (1.0 - f) * ctx.ratio
    d0 = ctx.design()
    d1 = ctx.design(offset_meV * 1e-3)
    return [d0 + ci * d1 for ci in c]


def _mats_reabs(ctx, tau):
    from scipy import sparse

    a = ctx.absorption(ctx.energy)
    k = escape_fraction(tau * a[None, :] / ctx.cos_i[:, None])  # (k, m)
    d = ctx.design()
    return [sparse.csr_array(d.multiply(ki[:, None])) for ki in k]


def _aniso_model(ctx, fraction=0.2, offset_meV=20.0):
    return _solve(ctx, _mats_aniso(ctx, fraction, offset_meV))[0].ravel()


def _reabs_model(ctx, tau=0.5):
    return _solve(ctx, _mats_reabs(ctx, tau))[0].ravel()


def _info(chi2, n, k):
    chi2 = max(chi2, 1e-300)
    aic = n * math.log(chi2 / n) + 2 * k
    bic = n * math.log(chi2 / n) + k * math.log(n)
    return aic, bic


def _predicted_peaks(mats_fn, coef, ctx, angles_deg, n_film, ref_angle):
    """Peak shift [meV] (relative to the model at ``ref_angle``) and FWHM [meV] of the model's
    line shape at ``angles_deg``, each measured with pl_peak exactly like the data."""
    ang = np.concatenate([[ref_angle], np.asarray(angles_deg, dtype=float)])
    ti = internal_angle_rad(ang, n_film)
    # the model is a smooth function: read its peaks on a 4x finer grid than the data's
    fine = np.linspace(ctx.energy[0], ctx.energy[-1], 4 * ctx.energy.size)
    sub = replace(ctx, energy=fine, cos_i=np.cos(ti), ratio=op_ip_ratio(ang, n_film), ref=0)
    peaks, widths = [], []
    for shape in (m @ coef for m in mats_fn(sub)):
        try:
            p = pl_peak(fine, shape)
            peaks.append(p.peak_eV)
            widths.append(p.fwhm_meV)
        except QdstackError:
            peaks.append(float("nan"))
            widths.append(float("nan"))
    peaks = np.array(peaks)
    return (peaks[1:] - peaks[0]) * 1e3, np.array(widths[1:])


def _fit_model(name, ctx, n_film, urbach_meV, angles, ref_angle, curve_angles):
    from lmfit import Model

    y = ctx.data.ravel()
    w = ctx.weight.ravel()
    n = y.size
    # amplitudes (one fixed), two baseline terms per angle, the line shape
    n_lin = (ctx.data.shape[0] - 1) + 2 * ctx.data.shape[0] + (ctx.knots.size - 4)
    fit = None
    success = True
    if name == "isotropic":
        mats_fn = _mats_isotropic
        params = {"n_film": n_film}
        k = n_lin
    elif name == "anisotropic-emission":
        model = Model(_aniso_model, independent_vars=["ctx"])
        best_fit = None
        d_max = 1.5 * ctx.fwhm_meV
        for f0, d0 in ((0.1, 0.2), (0.1, -0.2), (0.4, 0.5), (0.4, -0.5)):
            p = model.make_params(
                fraction=dict(value=f0, min=0.0, max=0.95),
                offset_meV=dict(value=d0 * ctx.fwhm_meV, min=-d_max, max=d_max),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = model.fit(y, p, ctx=ctx, weights=w)
            if best_fit is None or r.chisqr < best_fit.chisqr:
                best_fit = r
        fit = best_fit
        f, d = param_value(fit, "fraction"), param_value(fit, "offset_meV")
        fe, de = param_error(fit, "fraction"), param_error(fit, "offset_meV")
        # f/(1-f) * Delta: what the data fix when the offset is small against the band width
        comb = f / (1 - f) * d
        comb_err = float("nan")
        if fit.covar is not None and fit.var_names == ["fraction", "offset_meV"]:
            grad = np.array([d / (1 - f) ** 2, f / (1 - f)])
            comb_err = float(math.sqrt(max(grad @ fit.covar @ grad, 0.0)))
        params = {
            "fraction": f,
            "fraction_err": fe,
            "offset_meV": d,
            "offset_meV_err": de,
            "fraction_offset_meV": comb,
            "fraction_offset_meV_err": comb_err,
            "n_film": n_film,
        }
        mats_fn = lambda c, f=f, d=d: _mats_aniso(c, f, d)  # noqa: E731
        k = n_lin + 2
        success = bool(fit.success)
    elif name == "reabsorption":
        model = Model(_reabs_model, independent_vars=["ctx"])
        best_fit = None
        for t0 in (0.05, 0.5, 3.0):
            p = model.make_params(tau=dict(value=t0, min=0.0, max=100.0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                r = model.fit(y, p, ctx=ctx, weights=w)
            if best_fit is None or r.chisqr < best_fit.chisqr:
                best_fit = r
        fit = best_fit
        t = param_value(fit, "tau")
        params = {
            "tau": t,
            "tau_err": param_error(fit, "tau"),
            "urbach_meV": urbach_meV,
            "n_film": n_film,
        }
        mats_fn = lambda c, t=t: _mats_reabs(c, t)  # noqa: E731
        k = n_lin + 1
        success = bool(fit.success)
    else:  # pragma: no cover - internal
        raise InputError(f"unknown model {name!r}")
    best, coef = _solve(ctx, mats_fn(ctx))
    chi2 = float(np.sum((w * (y - best.ravel())) ** 2))
    aic, bic = _info(chi2, n, k)
    measured = np.asarray(angles, dtype=float)
    everything = np.unique(np.concatenate([measured, curve_angles]))
    shifts, widths = _predicted_peaks(mats_fn, coef, ctx, everything, n_film, ref_angle)
    if name == "isotropic":
        shifts = np.zeros(everything.size)  # exactly, whatever pl_peak's rounding
    predicted = np.interp(measured, everything, shifts)
    return AngleModel(
        name=name,
        params=params,
        chi2=chi2,
        chi2_reduced=chi2 / max(n - k, 1),
        n_points=n,
        n_params=k,
        aic=aic,
        bic=bic,
        predicted_shift_meV=tuple(float(v) for v in predicted),
        curve_angles_deg=tuple(float(a) for a in everything),
        curve_shift_meV=tuple(float(v) for v in shifts),
        curve_fwhm_meV=tuple(float(v) for v in widths),
        success=success,
        fit=fit,
        angles_deg=tuple(float(a) for a in measured),
        reference_angle_deg=float(ref_angle),
    ), best
