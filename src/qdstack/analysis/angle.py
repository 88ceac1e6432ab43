"""Angle-dependent photoluminescence of quantum-dot films: what moves the peak, and why.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Fig. 5 and
S8) rotates the film and finds that coupled multilayers emit at lower energy
towards the film plane (large detection angle), while a drop-cast film of the
same thickness shifts only slightly, "probably because of re-absorption".  This
module measures each spectrum (peak energy, FWHM, integrated intensity, via
:func:`qdstack.analysis.pl.pl_peak`), the shift against the angle closest to
the normal, and fits three models of the whole series so that the two causes
can be told apart.

Geometry
--------
theta is the detection angle from the film normal in air.  Inside a film of
(effective) index n the light travelled at theta_i with
``sin(theta) = n sin(theta_i)`` (Snell).  The film is treated as a half-space
radiating through one planar interface into air; thin-film interference and the
substrate are neglected (films of a few tens of nm are far thinner than the
wavelength, which mostly rescales all angles alike).

Models
------
Every spectrum is ``A_theta T_theta[S0](E) + c0_theta + c1_theta E``: one line shape
``S0`` shared by all angles (a cubic B-spline with knots every FWHM/8, fitted to all
spectra together, so no single noisy spectrum serves as a template), an amplitude
per angle (the excitation spot and collection change with the rotation, so the
intensity vs angle is reported but not modelled) and a straight baseline per angle
(dark level, stray light).  The models differ only in ``T_theta``:

``isotropic``
    No angle dependence: ``T S0 = S0``.
``anisotropic-emission`` (a)
    A fraction ``f`` of the transition dipoles points out of the plane and
    emits ``offset_meV`` (Delta) below the in-plane ones (the electronic
    coupling along the stack).  Randomly oriented in-plane dipoles radiate
    ``(1 + cos^2 theta_i)/2`` inside the film (s-polarised 1/2, p-polarised
    ``cos^2 theta_i / 2``), out-of-plane dipoles ``sin^2 theta_i`` (p only).
    Leaving the film the polarisations are transmitted with the Fresnel power
    transmittances ``T_s``, ``T_p`` of the film/air interface, so the
    out-of-plane to in-plane intensity ratio is

        r(theta) = 2 sin^2(theta_i) T_p / (T_s + cos^2(theta_i) T_p)

    (the solid-angle factor ``cos(theta) / (n^2 cos(theta_i))`` is common to
    both and cancels), and

        T S0 = S0(E) + f / (1 - f) r(theta) S0(E + Delta).

    r(0) = 0: at normal detection only in-plane dipoles are seen.  The
    low-energy component grows with the angle: the red side of the band rises,
    the blue side stays, the band broadens.  When Delta is small against the
    band width the data fix mainly ``f / (1 - f) Delta`` (reported as
    ``fraction_offset_meV``); f and Delta separately come with a strong
    correlation warning.  |Delta| is bounded by 1.5 FWHM of the band.
``reabsorption`` (b)
    Emitters spread uniformly through a film of optical depth
    ``tau a(E)`` (``tau = alpha(E_ref) d`` at the measured peak ``E_ref`` of the
    spectrum closest to the normal, ``a(E_ref) = 1``); light leaving at
    theta_i crosses a path ``z / cos(theta_i)``, so the escaping fraction is
    ``K = (1 - exp(-x)) / x`` with ``x = tau a(E) / cos(theta_i)``, and
    ``T S0 = S0(E) K(E, theta)`` (S0 is then the unabsorbed band).
    ``a(E)`` is an Urbach absorption tail ``exp((E - E_ref) / E_U)`` (default
    E_U = 20 meV) or the shape of a measured absorbance spectrum.  The blue side
    of the band is absorbed more at grazing angles: its blue edge moves while the
    red edge stays (for weak absorption the band narrows; deep in an exponential
    tail the filter ~ exp(-E / E_U) only shifts it) -- unlike (a), where the red
    side grows and the blue edge stays.

The physical parameters are fitted by lmfit (several starts); for every trial the
line shape, amplitudes and baselines are solved by alternating linear least
squares (variable projection).  The noise of each point is estimated locally from
second differences, so shot noise and dark noise are both followed.  The models
are compared by AIC and BIC (``N ln(chi^2/N) + 2k`` and ``+ k ln N``, k counting
every linear and non-linear parameter; only differences matter).  The model with
the lowest BIC is reported; the BIC difference to the next says how strongly
(Kass & Raftery: < 2 not worth more than a mention, 2-6 positive, 6-10 strong,
> 10 very strong).  Each model's predicted peak shift is measured on its model
spectra with the same :func:`~qdstack.analysis.pl.pl_peak` as the data.

How well the causes separate depends on the signal.  On synthetic series
(:func:`qdstack.synthetic.angle_pl_series`, tests/analysis/test_angle.py) a 25 meV
offset of 30 % out-of-plane dipoles, or a re-absorption optical depth of 0.5, are
identified with BIC differences of hundreds to thousands; with five angles to 60 deg
and shifts below 1 meV (f = 0.15 and Delta = 15 meV, or tau = 0.15-0.2), 12 of 12
series at 1e4 counts at the peak were attributed correctly (BIC differences 6-200),
and 23 of 24 at 3e3 counts (the miss: re-absorption on an asymmetric band taken for
out-of-plane emission at a BIC difference of 8.5).  A weak, noisy series can be
attributed wrongly; the BIC differences say how much to trust the verdict.

References
----------
K. Enomoto et al., Chem. Sci. 15, 13049 (2024), Fig. 5 and S8; W. Lukosz,
J. Opt. Soc. Am. 71, 744 (1981) (dipole emission through an interface);
M. Born, E. Wolf, Principles of Optics, ch. 1.5 (Fresnel formulae); F. Urbach,
Phys. Rev. 92, 1324 (1953); R. E. Kass, A. E. Raftery, J. Am. Stat. Assoc. 90,
773 (1995) (Bayes-factor scale).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.interpolate import BSpline

from qdstack.analysis._fitting import correlation_warnings, param_error, param_value
from qdstack.analysis.peaks import noise_sigma
from qdstack.analysis.pl import pl_peak
from qdstack._result import Result, Table, fmt
from qdstack.errors import FitError, InputError, QdstackError

__all__ = [
    "internal_angle_rad",
    "fresnel_power_transmittance",
    "dipole_emission",
    "op_ip_ratio",
    "escape_fraction",
    "AngleModel",
    "AngleSeries",
    "analyse_angle_series",
    "MODEL_NAMES",
]

MODEL_NAMES = ("isotropic", "anisotropic-emission", "reabsorption")
_EVIDENCE = ((2.0, "not worth more than a mention"), (6.0, "positive"), (10.0, "strong"))


# ----------------------------------------------------------------------------- optics kernels


def internal_angle_rad(theta_deg, n_film: float):
    """Angle inside the film [rad] of light leaving into air at ``theta_deg``: sin(theta) = n sin(theta_i)."""
    s = np.sin(np.deg2rad(np.abs(np.asarray(theta_deg, dtype=float)))) / n_film
    return np.arcsin(np.clip(s, 0.0, 1.0))


def fresnel_power_transmittance(theta_i_rad, n1: float, n2: float = 1.0):
    """Fresnel power transmittances (T_s, T_p) from medium n1 into n2 at incidence theta_i (below the critical angle).

    ``T = 1 - |r|^2`` with ``r_s = (n1 cos_i - n2 cos_t) / (n1 cos_i + n2 cos_t)`` and
    ``r_p = (n2 cos_i - n1 cos_t) / (n2 cos_i + n1 cos_t)`` (Born & Wolf 1.5).
    """
    ti = np.asarray(theta_i_rad, dtype=float)
    ci = np.cos(ti)
    st = n1 * np.sin(ti) / n2
    if np.any(st > 1 + 1e-12):
        raise InputError("angle beyond the critical angle: no transmitted wave", "theta")
    ct = np.sqrt(np.clip(1.0 - st**2, 0.0, 1.0))
    rs = (n1 * ci - n2 * ct) / (n1 * ci + n2 * ct)
    rp = (n2 * ci - n1 * ct) / (n2 * ci + n1 * ct)
    return 1.0 - rs**2, 1.0 - rp**2


def dipole_emission(theta_deg, n_film: float):
    """Radiant intensity in air of in-plane (random azimuth) and out-of-plane dipoles in a film.

    Parameters
    ----------
    theta_deg : array_like
        Detection angle from the normal in air [deg], |theta| < 90.
    n_film : float
        Refractive index of the film (> 1).

    Returns
    -------
    w_ip, w_op : ndarray
        Power per unit solid angle in air (same arbitrary unit):
        ``w_ip = [T_s / 2 + cos^2(theta_i) T_p / 2] J``, ``w_op = sin^2(theta_i) T_p J``,
        ``J = cos(theta) / (n^2 cos(theta_i))``.

    References
    ----------
    W. Lukosz, J. Opt. Soc. Am. 71, 744 (1981).
    """
    th = np.deg2rad(np.abs(np.asarray(theta_deg, dtype=float)))
    ti = internal_angle_rad(theta_deg, n_film)
    ts, tp = fresnel_power_transmittance(ti, n_film, 1.0)
    jac = np.cos(th) / (n_film**2 * np.cos(ti))
    w_ip = (0.5 * ts + 0.5 * np.cos(ti) ** 2 * tp) * jac
    w_op = np.sin(ti) ** 2 * tp * jac
    return w_ip, w_op


def op_ip_ratio(theta_deg, n_film: float):
    """r(theta) = w_op / w_ip = 2 sin^2(theta_i) T_p / (T_s + cos^2(theta_i) T_p) (0 at the normal)."""
    ti = internal_angle_rad(theta_deg, n_film)
    ts, tp = fresnel_power_transmittance(ti, n_film, 1.0)
    return 2 * np.sin(ti) ** 2 * tp / (ts + np.cos(ti) ** 2 * tp)


def escape_fraction(optical_depth):
    """Depth-averaged escaping fraction ``(1 - exp(-x)) / x`` of uniformly distributed emitters (1 at x = 0)."""
    x = np.asarray(optical_depth, dtype=float)
    small = np.abs(x) < 1e-6
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2, -np.expm1(-safe) / safe)


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class AngleModel(Result):
    """One model of an angle series, fitted to all spectra.

    Attributes
    ----------
    name : str
        ``"isotropic"``, ``"anisotropic-emission"`` or ``"reabsorption"``.
    params : dict
        Fitted parameters with ``_err`` (``fraction``, ``offset_meV``; ``tau``) and fixed ones
        (``n_film``, ``urbach_meV``).
    chi2, chi2_reduced : float
    n_points, n_params : int
        Data points and parameters (amplitudes included).
    aic, bic : float
    predicted_shift_meV : tuple of float
        Peak shift the model predicts at each measured angle (measured the same way as the data).
    curve_angles_deg, curve_shift_meV, curve_fwhm_meV : tuple of float
        The model's peak shift and FWHM on a fine angle grid (measured angles included), for figures.
    success : bool
    """

    name: str
    params: dict
    chi2: float
    chi2_reduced: float
    n_points: int
    n_params: int
    aic: float
    bic: float
    predicted_shift_meV: tuple[float, ...] = ()
    curve_angles_deg: tuple[float, ...] = field(default=(), repr=False)
    curve_shift_meV: tuple[float, ...] = field(default=(), repr=False)
    curve_fwhm_meV: tuple[float, ...] = field(default=(), repr=False)
    success: bool = True
    fit: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            **self.params,
            "chi2_reduced": self.chi2_reduced,
            "n_params": self.n_params,
            "aic": self.aic,
            "bic": self.bic,
            "predicted_shift_meV": list(self.predicted_shift_meV),
            "success": self.success,
        }


@dataclass(frozen=True)
class AngleSeries(Result):
    """Peaks of an angle series and the model comparison.

    Attributes
    ----------
    angles_deg : tuple of float
        Detection angles, ascending.
    files : tuple of str
    peak_eV, peak_eV_err, fwhm_meV, fwhm_meV_err, intensity, intensity_err : tuple of float
        From :func:`~qdstack.analysis.pl.pl_peak` (NaN where a spectrum has no fit).
    shift_meV, shift_meV_err : tuple of float
        ``peak - peak(reference)`` [meV].
    reference_angle_deg : float
        The smallest absolute angle with a fit.
    model : AngleModel
        The preferred model (lowest BIC).
    models : tuple of AngleModel
        All three, in ``MODEL_NAMES`` order.
    delta_bic, delta_aic : dict
        Differences to the best model.
    evidence : str
        Kass-Raftery wording of the BIC difference between the best and the next model.
    energy_eV : ndarray
        Energy grid of the model fit; ``spectra`` the background-subtracted data on it,
        ``model_spectra`` the preferred model (shape (n_used, n_energy): the spectra whose
        peak could be measured, in angle order).
    raw_spectra : tuple of Spectrum
        The input spectra in angle order.
    warnings : tuple of str
    """

    angles_deg: tuple[float, ...]
    files: tuple[str, ...]
    peak_eV: tuple[float, ...]
    peak_eV_err: tuple[float, ...]
    fwhm_meV: tuple[float, ...]
    fwhm_meV_err: tuple[float, ...]
    intensity: tuple[float, ...]
    intensity_err: tuple[float, ...]
    shift_meV: tuple[float, ...]
    shift_meV_err: tuple[float, ...]
    reference_angle_deg: float
    model: AngleModel
    models: tuple[AngleModel, ...]
    delta_bic: dict
    delta_aic: dict
    evidence: str
    n_film: float
    energy_eV: np.ndarray = field(repr=False, compare=False, default=None)
    spectra: np.ndarray = field(repr=False, compare=False, default=None)
    model_spectra: np.ndarray = field(repr=False, compare=False, default=None)
    raw_spectra: tuple = field(repr=False, compare=False, default=())
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "angles_deg": list(self.angles_deg),
            "peak_eV": list(self.peak_eV),
            "fwhm_meV": list(self.fwhm_meV),
            "intensity": list(self.intensity),
            "shift_meV": list(self.shift_meV),
            "model": self.model.to_dict(),
            "files": list(self.files),
            "peak_eV_err": list(self.peak_eV_err),
            "fwhm_meV_err": list(self.fwhm_meV_err),
            "intensity_err": list(self.intensity_err),
            "shift_meV_err": list(self.shift_meV_err),
            "reference_angle_deg": self.reference_angle_deg,
            "models": [m.to_dict() for m in self.models],
            "selection": {
                "preferred": self.model.name,
                "criterion": "BIC",
                "delta_bic": dict(self.delta_bic),
                "delta_aic": dict(self.delta_aic),
                "evidence": self.evidence,
            },
            "n_film": self.n_film,
            "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------- fitting

    def summary_blocks(self):
        rows = []
        for a, f, pk, sh, sh_e, w, i in zip(self.angles_deg, self.files, self.peak_eV, self.shift_meV,
                                            self.shift_meV_err, self.fwhm_meV, self.intensity):
            rows.append((f"{a:g}", Path(f).name, fmt(pk, ".4f"), f"{fmt(sh, '+.2f')} ± {fmt(sh_e, '.2f')}",
                         fmt(w, ".1f"), fmt(i, ".4g")))
        blocks: list = [Table("Angle-dependent PL", ("angle (°)", "file", "peak (eV)", "shift (meV)",
                                                     "FWHM (meV)", "intensity"), tuple(rows),
                              align=("r", "l", "r", "r", "r", "r"))]
        rows = []
        for m in self.models:
            p = m.params
            if m.name == "anisotropic-emission":
                text = (f"f = {p['fraction']:.3f} ± {fmt(p['fraction_err'], '.3f')}, "
                        f"Δ = {p['offset_meV']:.1f} ± {fmt(p['offset_meV_err'], '.1f')} meV")
            elif m.name == "reabsorption":
                text = f"αd = {p['tau']:.3f} ± {fmt(p['tau_err'], '.3f')}"
            else:
                text = "-"
            rows.append((m.name + (" *" if m.name == self.model.name else ""), text, f"{m.chi2_reduced:.3f}",
                         f"{self.delta_aic[m.name]:.1f}", f"{self.delta_bic[m.name]:.1f}"))
        blocks.append(Table("Models of the whole series (lowest BIC preferred)",
                            ("model", "fitted parameters", "χ²ᵣ", "ΔAIC", "ΔBIC"), tuple(rows),
                            align=("l", "l", "r", "r", "r")))
        blocks.append(f"preferred: {self.model.name} (evidence against the next model: {self.evidence})")
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.angle import plot_angle_shift, plot_angle_width

        if ax is not None:
            return plot_angle_shift(self, ax=ax)
        fig, axes = new_figure(1, 2, figsize=(11.5, 4.4))
        plot_angle_shift(self, ax=axes[0])
        plot_angle_width(self, ax=axes[1])
        return fig


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


def _noise_model(y, window: int = 41):
    """Standard error of each point of a spectrum, estimated locally from second differences.

    For white noise of variance s^2 the second difference ``y[i-1] - 2 y[i] + y[i+1]``
    has variance 6 s^2; a running median over ``window`` points of its square (a
    chi^2(1) median is 0.4549 of its mean) gives s^2 locally, so the shot noise of a
    band and the dark noise of its tails are both followed.  The band's own curvature
    adds (S'' h^2)^2, negligible for bands many points wide.
    """
    from scipy.ndimage import median_filter

    y = np.asarray(y, dtype=float)
    const = noise_sigma(y)
    if not (math.isfinite(const) and const > 0):
        const = 1e-6 * max(float(np.ptp(y)), 1e-300)
    if y.size < 3 * window:
        return np.full(y.size, const)
    d2 = y[:-2] - 2 * y[1:-1] + y[2:]
    var = median_filter(d2**2, size=window, mode="nearest") / (6.0 * 0.4549)
    var = np.concatenate([[var[0]], var, [var[-1]]])
    floor = (0.05 * const) ** 2
    return np.sqrt(np.maximum(var, floor))


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
            p = model.make_params(fraction=dict(value=f0, min=0.0, max=0.95),
                                  offset_meV=dict(value=d0 * ctx.fwhm_meV, min=-d_max, max=d_max))
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
            "fraction": f, "fraction_err": fe, "offset_meV": d, "offset_meV_err": de,
            "fraction_offset_meV": comb, "fraction_offset_meV_err": comb_err, "n_film": n_film,
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
        params = {"tau": t, "tau_err": param_error(fit, "tau"), "urbach_meV": urbach_meV, "n_film": n_film}
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
    ), best


def _evidence(delta: float) -> str:
    for limit, words in _EVIDENCE:
        if delta < limit:
            return words
    return "very strong"


def analyse_angle_series(
    spectra: Sequence,
    angles_deg: Sequence[float],
    *,
    n_film: float = 1.8,
    urbach_meV: float = 20.0,
    absorption=None,
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    files: Sequence[str] | None = None,
    fit_fraction: float = 0.5,
) -> AngleSeries:
    """Peaks, shifts and the cause of the shift in an angle-dependent PL series.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Emission spectra (per unit energy; :func:`~qdstack.io.spectrum.read_spectrum`
        with ``kind="emission"`` applies the Jacobian).
    angles_deg : sequence of float
        Detection angle of each spectrum from the film normal [deg], absolute value < 90.
    n_film : float
        Effective refractive index of the film (CsPbBr3 ~2.3 at 520 nm, diluted by
        ligands and voids in a dot film; default 1.8).
    urbach_meV : float
        Urbach energy of the absorption tail used by the re-absorption model [meV].
    absorption : Spectrum, optional
        A measured absorbance spectrum of the film; its shape replaces the Urbach tail.
    emin_eV, emax_eV : float, optional
        Energy range of the PL band.
    files : sequence of str, optional
        Names for the report.
    fit_fraction : float
        Passed to :func:`~qdstack.analysis.pl.pl_peak`.

    Returns
    -------
    AngleSeries

    Raises
    ------
    InputError
        Mismatched lengths, impossible angles or index.
    FitError
        No spectrum could be measured, or the spectra share no energy range.
    """
    k = len(spectra)
    angles = np.asarray([float(a) for a in angles_deg], dtype=float)
    if k < 2:
        raise InputError("an angle series needs at least two spectra", "SPECTRUM")
    if angles.size != k:
        raise InputError(f"{k} spectra but {angles.size} angles", "--angles")
    if not np.all(np.isfinite(angles)) or np.any(np.abs(angles) >= 90):
        raise InputError("angles must be finite and strictly between -90 and 90 deg", "--angles")
    if not (math.isfinite(n_film) and 1.0 < n_film < 5.0):
        raise InputError(f"the film index must be between 1 and 5, got {n_film}", "--n-film")
    if not (math.isfinite(urbach_meV) and urbach_meV > 0):
        raise InputError(f"the Urbach energy must be positive, got {urbach_meV}", "--urbach-meV")
    names = list(files) if files is not None else [s.source or f"spectrum {i + 1}" for i, s in enumerate(spectra)]
    order = np.argsort(angles, kind="stable")
    angles = angles[order]
    spectra = [spectra[i] for i in order]
    names = [names[i] for i in order]
    msgs: list[str] = []

    # --- per-spectrum peaks
    peaks = []
    for spec, name in zip(spectra, names):
        try:
            p = pl_peak(spec.energy_eV, spec.intensity, emin_eV=emin_eV, emax_eV=emax_eV,
                        fit_fraction=fit_fraction, source=name)
            msgs += list(p.warnings)
            peaks.append(p)
        except FitError as exc:
            msgs.append(f"{name}: no PL peak measured ({exc.message}); left out of the shifts")
            peaks.append(None)
    ok = [i for i, p in enumerate(peaks) if p is not None]
    if not ok:
        raise FitError("no spectrum of the series has a measurable PL peak", names[0])
    ref = min(ok, key=lambda i: (abs(angles[i]), i))
    nan = float("nan")
    pe = [p.peak_eV if p else nan for p in peaks]
    pee = [p.peak_eV_err if p else nan for p in peaks]
    shift = [(v - pe[ref]) * 1e3 for v in pe]
    shift_err = [0.0 if i == ref else math.hypot(pee[i], pee[ref]) * 1e3 for i in range(k)]

    # --- common energy grid: the reference spectrum's, inside every spectrum's range and the band
    ref_spec = spectra[ref]
    e = ref_spec.energy_eV
    # the models use the spectra whose peak could be measured
    use = ok
    if len(use) < 2:
        raise FitError("fewer than two spectra of the series have a measurable PL peak", names[ref])
    lo = max(float(spectra[i].energy_eV.min()) for i in use)
    hi = min(float(spectra[i].energy_eV.max()) for i in use)
    if emin_eV is not None:
        lo = max(lo, emin_eV)
    if emax_eV is not None:
        hi = min(hi, emax_eV)
    inside = (e >= lo) & (e <= hi)
    if inside.sum() < 20:
        raise FitError("the spectra share fewer than 20 points of energy range", names[ref])
    e = e[inside]
    data = np.array([np.interp(e, spectra[i].energy_eV, spectra[i].intensity) - peaks[i].background for i in use])
    ref_use = use.index(ref)
    fwhm_ref = peaks[ref].fwhm_meV * 1e-3 if math.isfinite(peaks[ref].fwhm_meV) else 0.1 * (hi - lo)
    sig = np.array([_noise_model(r) for r in data])
    # fit range: the band +- 4 FWHM (inside the shared range)
    band = (e >= peaks[ref].peak_eV - 4 * fwhm_ref) & (e <= peaks[ref].peak_eV + 4 * fwhm_ref)
    e, data, sig = e[band], data[:, band], sig[:, band]
    if e.size < 20:
        raise FitError("the PL band holds fewer than 20 points; widen the energy range", names[ref])
    # cubic B-spline line shape, knots every FWHM/8 (a Gaussian band is reproduced to < 1e-3)
    n_int = int(np.clip(np.ceil((e[-1] - e[0]) / (fwhm_ref / 8)), 8, max(8, min(80, e.size // 3))))
    inner = np.linspace(e[0], e[-1], n_int + 1)
    knots = np.concatenate([[e[0]] * 3, inner, [e[-1]] * 3])
    areas = np.array([np.sum(np.clip(r, 0, None)) for r in data])
    amp0 = areas / areas[ref_use] if areas[ref_use] > 0 else np.ones(len(use))

    e_ref = peaks[ref].peak_eV
    if absorption is not None:
        ae, aa = np.asarray(absorption.energy_eV), np.asarray(absorption.intensity)
        if e.min() < ae.min() or e.max() > ae.max():
            raise InputError("the absorbance spectrum does not cover the PL band", absorption.source or "--absorption")
        a_ref = float(np.interp(e_ref, ae, aa))
        if not a_ref > 0:
            raise InputError("the absorbance at the PL peak is not positive", absorption.source or "--absorption")

        def a_fn(x, ae=ae, aa=aa, a_ref=a_ref):
            return np.clip(np.interp(x, ae, aa) / a_ref, 0.0, None)

        tau_from_od = math.log(10.0) * a_ref
    else:

        def a_fn(x):
            return np.exp(np.clip((x - e_ref) / (urbach_meV * 1e-3), -50, 50))

        tau_from_od = None

    ti = internal_angle_rad(angles[use], n_film)
    ctx = _Context(
        energy=e, data=data, weight=1.0 / sig, knots=knots, cos_i=np.cos(ti),
        ratio=op_ip_ratio(angles[use], n_film), ref=ref_use, absorption=a_fn, amp0=amp0,
        fwhm_meV=fwhm_ref * 1e3,
    )
    curve_angles = np.linspace(0.0, max(float(np.max(np.abs(angles))), 1.0), 9)
    ref_angle = float(angles[ref])
    if len(use) < 3:
        msgs.append("only two angles: the model comparison rests on the change of one spectrum")
    fitted = [_fit_model(nm, ctx, n_film, urbach_meV, angles, ref_angle, curve_angles) for nm in MODEL_NAMES]
    models = [m for m, _ in fitted]
    if tau_from_od is not None:
        rb = models[2]
        models[2] = replace(rb, params={**rb.params, "urbach_meV": None, "tau_from_absorbance": tau_from_od})
    bics = {m.name: m.bic for m in models}
    aics = {m.name: m.aic for m in models}
    best_i = int(np.argmin([m.bic for m in models]))
    best = models[best_i]
    d_bic = {nm: v - best.bic for nm, v in bics.items()}
    d_aic = {nm: v - min(aics.values()) for nm, v in aics.items()}
    second = sorted(d_bic.values())[1]
    evidence = _evidence(second)
    for m in models:
        if not m.success:
            msgs.append(f"the {m.name} fit did not converge")
    if best.fit is not None:
        msgs += correlation_warnings(best.fit, 0.95, f"{best.name} model: ")
        if not best.fit.errorbars:
            msgs.append(f"{best.name} model: the parameter uncertainties could not be estimated")
    if best.name == "anisotropic-emission" and best.params["fraction"] > 0.9:
        msgs.append("the fitted out-of-plane fraction is at its upper range; the model may not describe the data")
    if best.chi2_reduced > 3:
        msgs.append(
            f"the preferred model leaves a reduced chi^2 of {best.chi2_reduced:.3g}: none of the models "
            "describes the spectra within their noise (other causes: excitation spot, polarisation optics, "
            "a second emitting species)"
        )
    return AngleSeries(
        angles_deg=tuple(float(a) for a in angles),
        files=tuple(names),
        peak_eV=tuple(pe),
        peak_eV_err=tuple(pee),
        fwhm_meV=tuple(p.fwhm_meV if p else nan for p in peaks),
        fwhm_meV_err=tuple(p.fwhm_meV_err if p else nan for p in peaks),
        intensity=tuple(p.intensity if p else nan for p in peaks),
        intensity_err=tuple(p.intensity_err if p else nan for p in peaks),
        shift_meV=tuple(shift),
        shift_meV_err=tuple(shift_err),
        reference_angle_deg=ref_angle,
        model=best,
        models=tuple(models),
        delta_bic=d_bic,
        delta_aic=d_aic,
        evidence=evidence,
        n_film=float(n_film),
        energy_eV=e,
        spectra=data,
        model_spectra=fitted[best_i][1],
        raw_spectra=tuple(spectra),
        warnings=tuple(dict.fromkeys(msgs)),
    )
