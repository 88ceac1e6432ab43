"""First excitonic absorption peak of quantum-dot films, and the layer series.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Figs. 2-4)
follows how the first excitonic absorption peak of a CsPbBr3 quantum-dot film
moves as layers are added.  This module

1. finds that peak on each spectrum (:func:`first_excitonic_peak`): located as
   the lowest-energy persistent minimum of the Savitzky-Golay second derivative
   (:mod:`qdstack.analysis.peaks`), then refined by an lmfit model of a Gaussian
   (or Voigt) peak plus a local quadratic background;
2. analyses a series (:func:`analyse_absorption_series`): shift of every film
   against the reference (N = 1), OD vs N line (constant packing density,
   Fig. 3c), the tight-binding chain fit E(N) = E1 - 2 beta cos(pi/(N+1))
   (Fig. 3d) and the saturation layer count.

Which energy is reported
------------------------
``peak_eV`` is the *transition energy*: the centre of the fitted peak after the
local background is separated.  On a film the first exciton is often a
shoulder with no local maximum, so the raw "peak top" is not always defined;
where it is, it is reported too (``peak_top_eV``, the maximum of the measured
spectrum, refined by a parabola through its top points).  The two differ by an offset set by the background slope, which is
the same for every film of a series (OD grows with N for peak and background
alike), so shifts computed either way agree to a few tenths of a meV (tested).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from qdstack._result import Result, Table, fmt
from qdstack.analysis._fitting import param_error, param_value, peak_model, r_squared
from qdstack.analysis.peaks import lowest_persistent_minimum, noise_sigma, uniform_grid
from qdstack.errors import FitError, InputError
from qdstack.units import HC_EV_NM

__all__ = [
    "ExcitonicPeak",
    "first_excitonic_peak",
    "chain_energy_eV",
    "ChainFit",
    "LinearFit",
    "FilmPeak",
    "AbsorptionSeries",
    "analyse_absorption_series",
    "fit_absorption_series",
    "fit_chain",
    "fit_od_vs_layers",
    "saturation_layers",
]

Profile = Literal["gaussian", "voigt"]
_GAUSS_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _local_background(x, e_ref, c0=0.0, c1=0.0, c2=0.0):
    """Quadratic background about a reference energy: c0 + c1 (x - e_ref) + c2 (x - e_ref)^2.

    ``e_ref`` is an independent variable, not a fixed Parameter (see
    :func:`qdstack.analysis._fitting.peak_model` for why no fit here holds a fixed one).
    """
    u = x - e_ref
    return c0 + c1 * u + c2 * u * u


def _linear_background(x, e_ref, c0=0.0, c1=0.0):
    """Straight background about a reference energy: c0 + c1 (x - e_ref)."""
    return c0 + c1 * (x - e_ref)


@dataclass(frozen=True)
class ExcitonicPeak(Result):
    """The first excitonic absorption peak of one spectrum.

    Attributes
    ----------
    peak_eV, peak_eV_err : float
        Transition energy (centre of the fitted peak) and its standard error [eV].
    peak_nm : float
        The same as a vacuum wavelength [nm].
    peak_top_eV : float
        The measured maximum inside the fit window (the vertex of a parabola through the
        points around the highest one), the raw "peak top"; NaN when the peak is a
        shoulder without a maximum.
    peak_top_eV_err : float
        Its standard error (from the parabola's covariance) [eV].
    od, od_err : float
        Absorbance (optical density) of the spectrum at ``peak_eV`` (peak + background).
    height_od : float
        Height of the excitonic peak above the local background.
    fwhm_meV : float
        Full width at half maximum of the fitted peak [meV]; NaN when undefined
        (width at its bound or determined to worse than 50 %).
    window_eV : tuple of float
        Energy range of the refinement fit.
    profile : str
        ``"gaussian"`` or ``"voigt"``.
    noise_od : float
        Estimated white-noise level of the spectrum.
    fit : lmfit.model.ModelResult
        The refinement fit (``fit.fit_report()`` for the details).
    warnings : tuple of str
    """

    peak_eV: float
    peak_eV_err: float
    peak_nm: float
    peak_top_eV: float
    od: float
    od_err: float
    height_od: float
    fwhm_meV: float
    window_eV: tuple[float, float]
    profile: str
    noise_od: float
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()
    peak_top_eV_err: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "peak_eV": self.peak_eV,
            "peak_eV_err": self.peak_eV_err,
            "peak_nm": self.peak_nm,
            "peak_top_eV": self.peak_top_eV,
            "peak_top_eV_err": self.peak_top_eV_err,
            "od": self.od,
            "od_err": self.od_err,
            "height_od": self.height_od,
            "fwhm_meV": self.fwhm_meV,
            "window_eV": list(self.window_eV),
            "profile": self.profile,
            "noise_od": self.noise_od,
        }


#: parameters of the peak models that only report (FWHM, height): evaluated once on the
#: chosen fit (:func:`_restore_reported`), not at every step of every fit
_REPORTED = ("peak_fwhm", "peak_height")


@lru_cache(maxsize=None)
def _peak_model_and_params(profile: Profile, quadratic: bool = True):
    """The composite lmfit Model of a profile and its parameter template (built once).

    Every parameter of the fit is varied and none is an expression: the background's
    reference energy is an independent variable, the straight background a model of its
    own, the Voigt's gamma = sigma inside its function (:func:`qdstack.analysis._fitting.peak_model`:
    a fixed or derived parameter makes lmfit build a zero-width ``uncertainties`` value,
    whose warning it silences with the process-global ``catch_warnings`` -- raced by fits in
    other threads, the flaky "UFloat std_dev==0" of issue 16).  The reporting expressions
    (FWHM, height) are lmfit's own for the profile, with gamma = sigma.
    """
    from lmfit import Model
    from lmfit.models import GaussianModel, VoigtModel

    builtin = {"gaussian": GaussianModel, "voigt": VoigtModel}.get(profile)
    if builtin is None:
        raise InputError(f"unknown peak profile {profile!r}; use 'gaussian' or 'voigt'", "profile")
    with warnings.catch_warnings():  # only the expression strings are wanted (evaluated later)
        warnings.simplefilter("ignore", RuntimeWarning)
        hints = builtin(prefix="peak_").make_params()
    reported = {
        name: hints[name].expr.replace("peak_gamma", "peak_sigma")
        for name in _REPORTED
        if name in hints
    }
    background = _local_background if quadratic else _linear_background
    model = peak_model(profile, "peak_") + Model(
        background, prefix="bg_", independent_vars=["x", "e_ref"]
    )
    params = model.make_params()
    return model, params, reported


def _peak_model(profile: Profile, quadratic: bool = True):
    """The lmfit Model of the peak + local background (shared, built once)."""
    return _peak_model_and_params(profile, quadratic)[0]


def _restore_reported(result, profile: Profile):
    """Put the reporting parameters (FWHM, height) back on a fit result, with their errors.

    The fit itself leaves them out (an expression parameter is re-evaluated by
    asteval at every step of every fit); here they are added with the model's
    own expressions (lmfit evaluates the values) and their standard errors are
    propagated from the covariance.  For both profiles (the Voigt's gamma tied
    to sigma) the FWHM is proportional to sigma and the height to
    amplitude / sigma, so the propagation is exact and closed-form:

    .. math:: \\delta w = \\frac{w}{\\sigma}\\delta\\sigma, \\qquad
              \\delta h^2 = h^2 \\left(\\frac{C_{AA}}{A^2} + \\frac{C_{\\sigma\\sigma}}{\\sigma^2}
              - \\frac{2 C_{A\\sigma}}{A \\sigma}\\right),

    the numbers lmfit's ``Parameters.create_uvars`` gives (tested), without its cost.
    """
    if result is None or all(name in result.params for name in _REPORTED):
        return result
    params = result.params
    for name, expr in _peak_model_and_params(profile)[2].items():
        params.add(name, expr=expr)
    cov = result.covar
    names = list(result.var_names or ())
    if cov is not None and not getattr(result, "errorbars", False):
        for name in _REPORTED:  # as lmfit leaves them: zero, not propagated
            if name in params:
                params[name].stderr = 0.0
    if not (
        getattr(result, "errorbars", False)
        and cov is not None
        and "peak_amplitude" in names
        and "peak_sigma" in names
    ):
        return result
    amp, sig = params["peak_amplitude"].value, params["peak_sigma"].value
    if not (amp > 0 and sig > 0):  # outside the closed form: let lmfit propagate
        result.uvars = params.create_uvars(covar=cov)
        return result
    ia, js = names.index("peak_amplitude"), names.index("peak_sigma")
    if "peak_fwhm" in params:
        params["peak_fwhm"].stderr = abs(params["peak_fwhm"].value / sig) * math.sqrt(cov[js, js])
    if "peak_height" in params:
        h = params["peak_height"].value
        var = h * h * (cov[ia, ia] / amp**2 + cov[js, js] / sig**2 - 2 * cov[ia, js] / (amp * sig))
        params["peak_height"].stderr = math.sqrt(max(var, 0.0))
    return result


@lru_cache(maxsize=256)
def _t_scale(dof: int) -> float:
    """Student-t factor of a one-sigma band with ``dof`` degrees of freedom (as lmfit uses)."""
    from scipy.special import erf
    from scipy.stats import t

    return float(t.ppf((erf(1.0 / math.sqrt(2.0)) + 1.0) / 2.0, dof))


def _uncertainty_at(result, x0: float, dscale: float = 0.01) -> float:
    """``result.eval_uncertainty(x=[x0])[0]``: lmfit's recipe, without its parameter copies.

    The model's gradient by central differences (steps ``dscale`` times each
    standard error), ``sqrt(J C J^T)`` with the fit's covariance ``C``, times
    the Student-t one-sigma factor for ``ndata - nvarys`` degrees of freedom:
    the same numbers as :meth:`lmfit.model.ModelResult.eval_uncertainty`
    (tested), at a tenth of the cost; that method is used for any parameter
    expression other than a plain alias (the Voigt's ``gamma = sigma``).
    """
    params = result.params
    if any(p.stderr is None for p in params.values()):
        return 0.0  # what lmfit returns without standard errors
    alias = {}
    for name, p in params.items():
        if p.expr is not None and name not in _REPORTED:
            if p.expr.strip() not in params:
                return float(result.eval_uncertainty(x=np.array([x0]), dscale=dscale)[0])
            alias[name] = p.expr.strip()
    calls = _component_calls(result.model)
    indep = result.userkws
    x = np.array([float(x0)])
    values = {name: p.value for name, p in params.items()}

    def model_at(v):
        total = None
        for func, args, names in calls:
            part = func(
                x=x,
                **{arg: v[alias.get(name, name)] for arg, name in args},
                **{n: indep[n] for n in names},
            )
            total = part if total is None else total + part
        return float(np.asarray(total).ravel()[0])

    jac = np.zeros(len(result.var_names))
    for i, name in enumerate(result.var_names):
        d = params[name].stderr * dscale
        v = dict(values)
        v[name] = values[name] + d
        up = model_at(v)
        v[name] = values[name] - d
        jac[i] = (up - model_at(v)) / (2 * d)
    df2 = 0.0
    for i in range(jac.size):  # the order of lmfit's sum
        for j in range(jac.size):
            df2 += jac[i] * jac[j] * result.covar[i, j]
    return _t_scale(int(result.ndata - result.nvarys)) * math.sqrt(df2)


def _component_calls(model):
    """(function, [(argument, parameter name)], [independent variables other than x]) of each
    component of a composite Model, in order."""
    calls = []
    for comp in model.components:
        args = [(name[len(comp.prefix) :], name) for name in comp.param_names]
        calls.append((comp.func, args, [v for v in comp.independent_vars if v != "x"]))
    return calls


def _model_residual(params, x, y, calls, indep):
    """``model(x) - y`` evaluated as lmfit's CompositeModel does (peak + background), for Minimizer."""
    total = None
    for func, args, names in calls:
        part = func(
            x=x, **{arg: params[name].value for arg, name in args}, **{n: indep[n] for n in names}
        )
        total = part if total is None else total + part
    return total - y


def _fit_window(
    e,
    a,
    center,
    width,
    lo_factor,
    hi_factor,
    profile,
    step,
    quadratic=True,
    start=None,
    stepping_stone=False,
):
    """One lmfit refinement over ``center - lo_factor width .. center + hi_factor width``.

    ``stepping_stone``: the fit only serves to re-centre the window of the next
    one; it is done with ``lmfit.minimize`` on the model's own functions (the
    same residual, parameters, bounds and Levenberg-Marquardt settings as
    ``Model.fit``, hence the same optimum) without building a ``ModelResult``
    or a covariance, which cost more than the fit itself on a small window.

    ``start``: a previous fit (of a window around the same peak) whose best
    values start this one (its background re-expanded about the new reference
    energy); otherwise the starting values are guessed from the data.  Either
    way the fit converges to the same optimum of this window's data (to lmfit's
    convergence tolerance); a good start only takes fewer steps.
    """
    lo = max(center - lo_factor * width, e[0])
    hi = min(center + hi_factor * width, e[-1])
    mask = (e >= lo) & (e <= hi)
    x, y = e[mask], a[mask]
    if x.size < 8:
        return None, (lo, hi)
    model, template, _ = _peak_model_and_params(profile, quadratic)
    params = template.copy()
    # initial background: the straight line through the window's ends
    slope = (y[-1] - y[0]) / (x[-1] - x[0])
    base = y[0] + slope * (center - x[0])
    params["bg_c0"].set(value=base)
    params["bg_c1"].set(value=slope)
    if quadratic:
        params["bg_c2"].set(value=0.0)
    height = max(float(np.interp(center, x, y) - base), 1e-6 * max(float(np.ptp(y)), 1e-12))
    sigma0 = max(width, 2 * step)
    params["peak_center"].set(value=center, min=lo, max=hi)
    params["peak_sigma"].set(value=sigma0, min=0.5 * step, max=hi - lo)
    params["peak_amplitude"].set(value=height * sigma0 * math.sqrt(2 * math.pi), min=0)
    if start is not None:
        best = start.params
        d = center - start.e_ref_eV
        b0, b1 = best["bg_c0"].value, best["bg_c1"].value
        b2 = best["bg_c2"].value if "bg_c2" in best else 0.0
        params["bg_c0"].set(value=b0 + b1 * d + b2 * d * d)
        params["bg_c1"].set(value=b1 + 2 * b2 * d)
        if quadratic:
            params["bg_c2"].set(value=b2)
        for name in ("peak_center", "peak_sigma", "peak_amplitude"):
            p = params[name]
            p.set(value=min(max(best[name].value, p.min), p.max))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if stepping_stone:
            from lmfit import minimize

            result = minimize(
                _model_residual,
                params,
                args=(x, y, _component_calls(model), {"e_ref": center}),
                method="leastsq",
                nan_policy="raise",
                calc_covar=False,
            )
        else:
            result = model.fit(y, params, x=x, e_ref=center, nan_policy="raise")
    result.e_ref_eV = center  # the background's reference energy (an independent variable)
    return result, (float(x[0]), float(x[-1]))


def _sane(result, window, step) -> bool:
    if result is None or not result.success:
        return False
    c = result.params["peak_center"].value
    s = result.params["peak_sigma"].value
    lo, hi = window
    edge = 0.02 * (hi - lo)
    return (
        lo + edge < c < hi - edge
        and s > 0.6 * step
        and s < 0.9 * (hi - lo)
        and result.params["peak_amplitude"].value > 0
    )


def _data_top(x, y, sigma: float, noise: float = 0.0) -> tuple[float, float]:
    """Energy of the measured maximum inside the fit window; NaN when it is not a local maximum.

    The data's own top, not the model's: a band that is not Gaussian (a dye's steep red
    edge and vibronic blue tail) puts the top of a Gaussian + background fit on its flank.
    A parabola (``lmfit.minimize``) is fitted to the points around the highest one and
    re-centred on its vertex, so noise does not pick one sample; the vertex is the top.  The
    half-width of those points is where the band has fallen by 5 % of its rise in the window
    (or 3 noise standard deviations, if more) on its steeper side, at most half a fitted sigma
    and at least 2 grid steps (5 points): an asymmetric band is fitted only near its top.  A highest point at the window's edge (a shoulder on a
    rising continuum has no maximum), a vertex outside those points or an upward parabola
    give NaN.  Returns (top, its standard error from the parabola's covariance).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    i = int(np.argmax(y))
    nan = (float("nan"), float("nan"))
    if n < 7 or i < 3 or i > n - 4:
        return nan
    step = float(np.median(np.diff(x)))
    drop = max(0.1 * float(y[i] - y.min()), 5.0 * noise if math.isfinite(noise) else 0.0)
    left = i
    while left > 0 and y[left - 1] >= y[i] - drop:
        left -= 1
    right = i
    while right < n - 1 and y[right + 1] >= y[i] - drop:
        right += 1
    half = min(x[i] - x[left], x[right] - x[i])
    if math.isfinite(sigma):
        half = min(half, 0.5 * sigma)
    half = max(half, 2.0 * step)
    from lmfit import Parameters, minimize

    def residual(params, u, v):
        return params["a"].value * u * u + params["b"].value * u + params["c"].value - v

    centre = float(x[i])
    for _ in range(3):  # re-centred on the vertex, so the noisiest point does not set the window
        sel = np.abs(x - centre) <= half
        if sel.sum() < 5:
            sel = np.zeros(n, dtype=bool)
            sel[np.argsort(np.abs(x - centre))[:5]] = True
        u = x[sel] - centre
        start = Parameters()
        start.add("a", value=-1.0)
        start.add("b", value=0.0)
        start.add("c", value=float(np.max(y[sel])))
        # lmfit.minimize, not Model.fit: ModelResult.fit builds uncertainties values even when the
        # errors are zero (a noise-free top), the thread-unsafe warning path of issue 16
        result = minimize(residual, start, args=(u, y[sel]), method="leastsq")
        a, b = result.params["a"].value, result.params["b"].value
        if not (a < 0):
            return nan
        vertex = -b / (2.0 * a)
        if not (u.min() <= vertex <= u.max()):
            return nan
        moved = abs(vertex)
        centre += vertex
        if moved < 0.1 * step:
            break
    if not (x[0] < centre < x[-1]):
        return nan
    err = float("nan")
    if getattr(result, "covar", None) is not None:  # v = -b/(2a): dv/da = b/(2a^2), dv/db = -1/(2a)
        names = list(result.var_names)
        grad = np.zeros(len(names))
        grad[names.index("a")] = b / (2 * a * a)
        grad[names.index("b")] = -1 / (2 * a)
        err = float(np.sqrt(max(grad @ result.covar @ grad, 0.0)))
    return float(centre), err


def first_excitonic_peak(
    energy_eV,
    absorbance,
    *,
    profile: Profile = "gaussian",
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    threshold: float = 5.0,
    source: str | None = None,
) -> ExcitonicPeak:
    """Find and fit the first (lowest-energy) excitonic absorption peak.

    Parameters
    ----------
    energy_eV : array_like, shape (n,)
        Photon energy [eV], any order.
    absorbance : array_like, shape (n,)
        Absorbance (OD).
    profile : {"gaussian", "voigt"}
        Line shape of the refinement fit.
    emin_eV, emax_eV : float, optional
        Restrict the search to this energy range.
    threshold : float
        Significance (in noise standard deviations of the smoothed second
        derivative) a minimum needs to count as a peak.
    source : str, optional
        File name for messages.

    Returns
    -------
    ExcitonicPeak

    Raises
    ------
    FitError
        No significant peak, or no sane fit of one.

    Notes
    -----
    Location: lowest-energy minimum of the Savitzky-Golay second derivative that
    is deeper than ``threshold`` noise standard deviations and persists at two
    neighbouring smoothing scales.  Refinement: lmfit Gaussian/Voigt + quadratic
    background (``c0 + c1 (E - E_ref) + c2 (E - E_ref)^2``) over an asymmetric
    window (2.5 widths below, 1.5 above, the continuum being above), done twice
    with the window re-centred on the first fit.
    """
    src = source or "<spectrum>"
    e = np.asarray(energy_eV, dtype=float)
    a = np.asarray(absorbance, dtype=float)
    if e.shape != a.shape or e.ndim != 1:
        raise InputError("energy and absorbance must be 1-D arrays of equal length", src)
    order = np.argsort(e)
    e, a = e[order], a[order]
    keep = np.ones(e.size, dtype=bool)
    if emin_eV is not None:
        keep &= e >= emin_eV
    if emax_eV is not None:
        keep &= e <= emax_eV
    e, a = e[keep], a[keep]
    if e.size < 15:
        raise FitError(
            f"only {e.size} points in the search range; at least 15 are needed to find a peak", src
        )
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(a))):
        raise InputError("energies and absorbances must be finite", src)

    cand, _ = lowest_persistent_minimum(e, a, threshold=threshold)
    eu, au, step = uniform_grid(e, a)
    sigma_noise = noise_sigma(a)
    if cand is None:
        raise FitError(
            "no excitonic peak found: the second derivative has no significant minimum "
            f"(noise about {sigma_noise:.2g} OD); check the energy range or the file",
            src,
        )
    width = max(cand.half_width, 3 * step)
    first, window = _fit_window(
        e, a, cand.position, width, 2.5, 1.5, profile, step, stepping_stone=True
    )
    if _sane(first, window, step):
        c1 = first.params["peak_center"].value
        s1 = first.params["peak_sigma"].value
        result, window2 = _fit_window(
            e, a, c1, max(s1, 3 * step), 2.5, 1.5, profile, step, start=first
        )
        if _sane(result, window2, step):
            window = window2
        else:  # keep the first fit: redo it as a full lmfit ModelResult (the same optimum)
            result, window = _fit_window(e, a, cand.position, width, 2.5, 1.5, profile, step)
    else:
        result, window = _fit_window(
            e, a, cand.position, width, 2.0, 1.0, profile, step, quadratic=False
        )
        if not _sane(result, window, step):
            raise FitError(
                f"an excitonic feature was found near {cand.position:.4f} eV but no peak + "
                "background model fits it; restrict the energy range (emin/emax)",
                src,
            )

    _restore_reported(result, profile)
    msgs: list[str] = []
    center = param_value(result, "peak_center")
    center_err = param_error(result, "peak_center")
    if not math.isfinite(center_err):
        msgs.append(f"{src}: the uncertainty of the peak energy could not be estimated")
    fwhm = param_value(result, "peak_fwhm") * 1e3
    fwhm_err = param_error(result, "peak_fwhm") * 1e3
    s = result.params["peak_sigma"]
    at_bound = abs(s.value - s.min) < 1e-6 * s.min or abs(s.value - s.max) < 1e-6 * s.max
    if at_bound or not math.isfinite(fwhm_err) or fwhm_err > 0.5 * fwhm:
        fwhm = float("nan")
    x = result.userkws["x"]
    comps = result.eval_components(x=np.array([center]))
    od = float(result.eval(x=np.array([center]))[0])
    height = float(comps["peak_"][0])
    try:
        od_err = _uncertainty_at(result, center)
    except Exception:  # covariance unavailable
        od_err = float("nan")
    peak_top, peak_top_err = _data_top(
        x, result.data, param_value(result, "peak_sigma"), sigma_noise
    )
    if not result.success:
        msgs.append(f"{src}: peak fit did not converge ({result.message})")
    return ExcitonicPeak(
        peak_eV=center,
        peak_eV_err=center_err,
        peak_nm=HC_EV_NM / center,
        peak_top_eV=peak_top,
        peak_top_eV_err=peak_top_err,
        od=od,
        od_err=od_err,
        height_od=height,
        fwhm_meV=fwhm,
        window_eV=(float(window[0]), float(window[1])),
        profile=profile,
        noise_od=sigma_noise,
        fit=result,
        warnings=tuple(msgs),
    )


# ----------------------------------------------------------------------------- series


def chain_energy_eV(layers, e1_eV, beta_meV):
    """Lowest state of a tight-binding chain of N identical sites.

    ``E(N) = E1 - 2 beta cos(pi / (N + 1))``: the bottom of the band of an open
    chain of N sites with on-site energy ``E1 + 0`` shifted so that E(1) = E1
    and nearest-neighbour coupling ``beta`` (positive beta lowers the energy).

    Parameters
    ----------
    layers : array_like of int
        Number of layers N >= 1.
    e1_eV : float
        Monolayer energy [eV].
    beta_meV : float
        Nearest-neighbour coupling [meV].

    Returns
    -------
    ndarray
        Energy [eV].

    References
    ----------
    Any tight-binding text (e.g. Ashcroft & Mermin ch. 10); used for quantum-dot
    multilayers in Enomoto et al., Chem. Sci. 2024, 15, 13049 (Fig. 3d).
    """
    n = np.asarray(layers, dtype=float)
    return e1_eV - 2e-3 * beta_meV * np.cos(np.pi / (n + 1.0))


@dataclass(frozen=True)
class LinearFit(Result):
    """y = slope * x + intercept, with standard errors and r^2."""

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    r2: float
    fit: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        return {
            "slope": self.slope,
            "slope_err": self.slope_err,
            "intercept": self.intercept,
            "intercept_err": self.intercept_err,
            "r2": self.r2,
        }


@dataclass(frozen=True)
class ChainFit(Result):
    """Fit of E(N) = E1 - 2 beta cos(pi/(N+1)) to peak energies."""

    e1_eV: float
    e1_eV_err: float
    beta_meV: float
    beta_meV_err: float
    r2: float
    fit: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        return {
            "e1_eV": self.e1_eV,
            "e1_eV_err": self.e1_eV_err,
            "beta_meV": self.beta_meV,
            "beta_meV_err": self.beta_meV_err,
            "r2": self.r2,
        }

    def energy_eV(self, layers):
        return chain_energy_eV(layers, self.e1_eV, self.beta_meV)


def _weights(errors) -> np.ndarray | None:
    err = np.asarray(errors, dtype=float)
    if err.size and np.all(np.isfinite(err)) and np.all(err > 0):
        return 1.0 / err
    return None


def fit_chain(layers, peak_eV, peak_eV_err=None) -> ChainFit:
    """Fit the tight-binding chain E(N) = E1 - 2 beta cos(pi/(N+1)) (an lmfit Model).

    With more points than parameters, the peak errors weight the fit and the
    covariance is scaled by the reduced chi-square (film-to-film scatter counts);
    with exactly two layer counts the solution is exact and its errors are the
    peak errors propagated.

    Raises
    ------
    FitError
        Fewer than two distinct layer counts.
    """
    from lmfit import Model

    n = np.asarray(layers, dtype=float)
    y = np.asarray(peak_eV, dtype=float)
    if np.unique(n).size < 2:
        raise FitError("the chain fit needs at least two different layer counts", "chain fit")
    model = Model(chain_energy_eV, independent_vars=["layers"])
    e1_guess = float(np.mean(y[n == n.min()]))
    slope = np.polyfit(-2e-3 * np.cos(np.pi / (n + 1)), y, 1)[0] if n.size > 1 else 0.0
    params = model.make_params(e1_eV=e1_guess, beta_meV=float(slope))
    w = _weights(peak_eV_err) if peak_eV_err is not None else None
    exact = n.size <= 2
    result = model.fit(y, params, layers=n, weights=w, scale_covar=not exact or w is None)
    r2 = r_squared(y, result.best_fit) if n.size > 2 else float("nan")
    return ChainFit(
        e1_eV=param_value(result, "e1_eV"),
        e1_eV_err=param_error(result, "e1_eV"),
        beta_meV=param_value(result, "beta_meV"),
        beta_meV_err=param_error(result, "beta_meV"),
        r2=r2,
        fit=result,
    )


def fit_od_vs_layers(layers, od) -> LinearFit:
    """Straight line OD = slope * N + intercept (lmfit LinearModel): constant packing density."""
    from lmfit.models import LinearModel

    n = np.asarray(layers, dtype=float)
    y = np.asarray(od, dtype=float)
    if np.unique(n).size < 2:
        raise FitError("the OD line needs at least two different layer counts", "OD vs layers")
    model = LinearModel()
    params = model.guess(y, x=n)
    result = model.fit(y, params, x=n, scale_covar=n.size > 2)
    return LinearFit(
        slope=param_value(result, "slope"),
        slope_err=param_error(result, "slope") if n.size > 2 else float("nan"),
        intercept=param_value(result, "intercept"),
        intercept_err=param_error(result, "intercept") if n.size > 2 else float("nan"),
        r2=r_squared(y, result.best_fit) if n.size > 2 else float("nan"),
        fit=result,
    )


def saturation_layers(layers, shift_meV, fraction: float = 0.9) -> int | None:
    """Smallest N whose (mean) shift magnitude reaches ``fraction`` of the largest in the series.

    Returns None when the series has fewer than two layer counts.
    """
    n = np.asarray(layers, dtype=int)
    s = np.abs(np.asarray(shift_meV, dtype=float))
    uniq = np.unique(n)
    if uniq.size < 2:
        return None
    mean = np.array([s[n == k].mean() for k in uniq])
    target = fraction * mean.max()
    return int(uniq[np.nonzero(mean >= target)[0][0]])


@dataclass(frozen=True)
class FilmPeak(Result):
    """One film of a series: its file, layer count and first excitonic peak."""

    file: str
    layers: int
    peak: ExcitonicPeak
    label: str | None = None

    def to_dict(self) -> dict:
        d = {"file": self.file, "layers": self.layers}
        d.update(
            {
                "peak_eV": self.peak.peak_eV,
                "peak_eV_err": self.peak.peak_eV_err,
                "peak_nm": self.peak.peak_nm,
                "od": self.peak.od,
                "fwhm_meV": self.peak.fwhm_meV,
                "peak_top_eV": self.peak.peak_top_eV,
                "peak_top_eV_err": self.peak.peak_top_eV_err,
                "od_err": self.peak.od_err,
                "height_od": self.peak.height_od,
            }
        )
        if self.label is not None:
            d["label"] = self.label
        return d


@dataclass(frozen=True)
class AbsorptionSeries(Result):
    """Result of :func:`analyse_absorption_series` (``to_dict()`` is the contract JSON).

    Keeps the spectra it was computed from (``spectra``, in the order of ``films``).
    ``summary()`` is the table ``qdstack absorption`` prints; ``plot()`` draws the shift vs
    N with the chain fit (or the spectra, for a density series); the chain fit's
    covariance is ``chain_fit.covariance``.

    Examples
    --------
    >>> from qdstack.analysis import fit_absorption_series
    >>> from qdstack.io import read_spectrum
    >>> files = sorted(EXAMPLES.glob("absorption_c3dt/C3DT_N*.csv"))
    >>> series = fit_absorption_series([read_spectrum(f) for f in files], range(1, 9))
    >>> round(series.chain_fit.beta_meV)
    23
    >>> fig = series.plot()          # shift vs N with the chain fit; inline in Jupyter
    """

    films: tuple[FilmPeak, ...]
    reference_layers: int
    reference_eV: float
    shift_meV: tuple[float, ...]
    shift_meV_err: tuple[float, ...]
    peak_top_shift_meV: tuple[float, ...]
    od_vs_layers: LinearFit | None
    chain_fit: ChainFit | None
    saturation_layers: int | None
    warnings: tuple[str, ...] = ()
    spectra: tuple = field(default=(), repr=False, compare=False)

    @property
    def layers(self) -> np.ndarray:
        return np.array([f.layers for f in self.films], dtype=int)

    @property
    def peak_eV(self) -> np.ndarray:
        return np.array([f.peak.peak_eV for f in self.films])

    @property
    def od(self) -> np.ndarray:
        return np.array([f.peak.od for f in self.films])

    def to_dict(self) -> dict:
        peaks = self.peak_eV
        return {
            "spectra": [f.to_dict() for f in self.films],
            "shift_meV": list(self.shift_meV),
            "shift_meV_err": list(self.shift_meV_err),
            "peak_top_shift_meV": list(self.peak_top_shift_meV),
            "reference_layers": self.reference_layers,
            "reference_eV": self.reference_eV,
            "od_vs_layers": None if self.od_vs_layers is None else self.od_vs_layers.to_dict(),
            "chain_fit": None if self.chain_fit is None else self.chain_fit.to_dict(),
            "saturation_layers": self.saturation_layers,
            "peak_spread": {
                "mean_eV": float(np.mean(peaks)),
                "std_meV": float(np.std(peaks, ddof=1) * 1e3) if peaks.size > 1 else 0.0,
                "range_meV": float(np.ptp(peaks) * 1e3),
            },
            "warnings": list(self.warnings),
        }

    def summary_blocks(self):
        rows = []
        for f, sh in zip(self.films, self.shift_meV):
            p = f.peak
            rows.append(
                (
                    Path(f.file).name + (f" [{f.label}]" if f.label else ""),
                    str(f.layers),
                    f"{p.peak_eV:.4f}",
                    f"{p.peak_eV_err * 1e3:.2f}",
                    f"{p.peak_nm:.1f}",
                    f"{p.od:.4f}",
                    fmt(p.fwhm_meV, ".0f"),
                    f"{sh:+.1f}",
                )
            )
        blocks: list = [
            Table(
                "First excitonic absorption peak",
                ("file", "N", "peak eV", "± meV", "peak nm", "OD", "FWHM meV", "shift meV"),
                tuple(rows),
            )
        ]
        if self.chain_fit is not None:
            c, o = self.chain_fit, self.od_vs_layers
            blocks.append(
                f"chain fit E(N) = E1 - 2 beta cos(pi/(N+1)): E1 = {c.e1_eV:.4f} eV, "
                f"beta = {c.beta_meV:.2f} ± {c.beta_meV_err:.2f} meV, r2 = {fmt(c.r2, '.3f')}"
            )
            blocks.append(
                f"OD vs N: slope {o.slope:.4g} per layer, intercept {o.intercept:.4g}, "
                f"r2 = {fmt(o.r2, '.3f')}"
            )
            blocks.append(f"saturation (90 % of the largest shift) at N = {self.saturation_layers}")
        else:
            ps = self.to_dict()["peak_spread"]
            blocks.append(
                f"peak {ps['mean_eV']:.4f} eV, spread {ps['std_meV']:.2f} meV (std) over "
                f"{len(self.films)} films; OD {min(self.od):.4g}..{max(self.od):.4g}"
            )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_absorption_spectra, plot_shift_vs_layers

        if self.chain_fit is not None:
            return plot_shift_vs_layers(self, ax=ax)
        return plot_absorption_spectra(self, self.spectra, ax=ax)


def analyse_absorption_series(
    spectra: Sequence,
    layers: Sequence[int],
    *,
    reference_layers: int = 1,
    profile: Profile = "gaussian",
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    files: Sequence[str] | None = None,
    labels: Sequence[str | None] | None = None,
    progress=None,
) -> AbsorptionSeries:
    """Analyse a series of absorption spectra of films with N layers.

    Parameters
    ----------
    spectra : sequence of Spectrum
        One absorption spectrum per film (:class:`qdstack.io.Spectrum`).
    layers : sequence of int
        Number of quantum-dot layers of each film.
    reference_layers : int
        Shifts are relative to the mean peak of the films with this N (default 1).
    profile, emin_eV, emax_eV
        Passed to :func:`first_excitonic_peak`.
    files : sequence of str, optional
        Names for the films (default: each spectrum's source).
    labels : sequence of str, optional
        Column labels (for spectra taken from multi-column files).
    progress : callable, optional
        Wraps the iteration over spectra (e.g. a progress bar).

    Returns
    -------
    AbsorptionSeries

    Raises
    ------
    InputError
        Mismatched lengths, N < 1, or no film with the reference N.
    FitError
        A spectrum without a fittable peak (the message names its file).
    """
    spectra = list(spectra)
    layers = [int(n) for n in layers]
    if not spectra:
        raise InputError("no spectra given", "absorption")
    if len(layers) != len(spectra):
        raise InputError(f"{len(spectra)} spectra but {len(layers)} layer counts", "--layers")
    if any(n < 1 for n in layers):
        raise InputError("layer counts must be >= 1", "--layers")
    if reference_layers not in layers:
        raise InputError(
            f"no spectrum with N = {reference_layers} to use as the reference; "
            f"layer counts are {sorted(set(layers))} (set --reference-layers)",
            "--reference-layers",
        )
    names = (
        list(files)
        if files is not None
        else [s.source or f"spectrum {i + 1}" for i, s in enumerate(spectra)]
    )
    labels = list(labels) if labels is not None else [None] * len(spectra)
    iterator = zip(spectra, layers, names, labels)
    if progress is not None:
        iterator = progress(list(iterator))
    films = []
    msgs: list[str] = []
    for spec, n, name, label in iterator:
        peak = first_excitonic_peak(
            spec.energy_eV,
            spec.intensity,
            profile=profile,
            emin_eV=emin_eV,
            emax_eV=emax_eV,
            source=name,
        )
        msgs.extend(peak.warnings)
        films.append(FilmPeak(file=name, layers=n, peak=peak, label=label))

    n_arr = np.array(layers)
    peaks = np.array([f.peak.peak_eV for f in films])
    errs = np.array([f.peak.peak_eV_err for f in films])
    tops = np.array([f.peak.peak_top_eV for f in films])
    ref = n_arr == reference_layers
    ref_eV = float(peaks[ref].mean())
    ref_err = float(np.sqrt(np.sum(errs[ref] ** 2)) / ref.sum())
    shift = (peaks - ref_eV) * 1e3
    # var(p_i - mean_ref) = var(p_i) + var(mean_ref) - 2 cov; cov = var(p_i)/n_ref for reference films
    cov = np.where(ref, errs**2 / ref.sum(), 0.0)
    shift_err = np.sqrt(np.clip(errs**2 + ref_err**2 - 2 * cov, 0.0, None)) * 1e3
    top_shift = (
        (tops - np.nanmean(tops[ref])) * 1e3 if np.any(np.isfinite(tops[ref])) else tops * np.nan
    )

    od_fit = chain = None
    sat = None
    if np.unique(n_arr).size >= 2:
        od_fit = fit_od_vs_layers(n_arr, [f.peak.od for f in films])
        chain = fit_chain(n_arr, peaks, errs)
        sat = saturation_layers(n_arr, shift)
        if chain.beta_meV < 0:
            msgs.append(
                f"the chain fit gives a negative coupling (beta = {chain.beta_meV:.2f} meV): "
                "the peak moves to higher energy with N, not what coupling predicts"
            )
    else:
        msgs.append(
            f"all films have N = {layers[0]}: no OD line, chain fit or saturation "
            "(a density series: compare peak_spread with the peak errors)"
        )
    return AbsorptionSeries(
        films=tuple(films),
        reference_layers=reference_layers,
        reference_eV=ref_eV,
        shift_meV=tuple(float(v) for v in shift),
        shift_meV_err=tuple(float(v) for v in shift_err),
        peak_top_shift_meV=tuple(float(v) for v in top_shift),
        od_vs_layers=od_fit,
        chain_fit=chain,
        saturation_layers=sat,
        warnings=tuple(msgs),
        spectra=tuple(spectra),
    )


#: The public name of :func:`analyse_absorption_series` (``from qdstack.analysis import ...``).
fit_absorption_series = analyse_absorption_series
