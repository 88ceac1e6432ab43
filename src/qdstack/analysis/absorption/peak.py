"""The first excitonic absorption peak of one spectrum (:func:`first_excitonic_peak`).

Located as the lowest-energy persistent minimum of the Savitzky-Golay second derivative
(:mod:`qdstack.analysis.peaks`), then refined by an lmfit model of a Gaussian (or Voigt)
peak plus a local quadratic background (see :mod:`qdstack.analysis.absorption`).
"""

from __future__ import annotations

import math
import pickle
import warnings
from copy import deepcopy
from functools import lru_cache, partial
from typing import Literal

import numpy as np

from qdstack.analysis._fitting import param_error, param_value, peak_model
from qdstack.analysis.absorption.locate import _Located, _locate_peak
from qdstack.analysis.absorption.results import ExcitonicPeak
from qdstack.analysis.absorption.top import _data_top
from qdstack.errors import FitError, InputError
from qdstack.units import HC_EV_NM

__all__ = ["ExcitonicPeak", "first_excitonic_peak"]

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
    _SHARED[id(model)] = (profile, quadratic, None)
    for i, comp in enumerate(model.components):
        _SHARED[id(comp)] = (profile, quadratic, i)
    return model, params, reported


#: id of each shared Model (and component) built by _peak_model_and_params -> its key; they
#: live as long as the process (the cache is never cleared), so the ids stay theirs
_SHARED: dict[int, tuple] = {}


def _shared_model(profile: Profile, quadratic: bool, component: int | None):
    """The shared Model (or one of its components) of this process: how a pickled fit finds it."""
    model = _peak_model_and_params(profile, quadratic)[0]
    return model if component is None else model.components[component]


class _FitPickler(pickle.Pickler):
    """Pickles peak results with their lmfit ``ModelResult``.

    A ``ModelResult`` holds its Model, and the composite Model of these fits cannot be
    pickled (lmfit gives it a local function); it is sent by reference instead (profile,
    background), and the receiving process puts its own copy of the same Model in its
    place (:func:`_shared_model`).  Everything else of the fit -- parameters with their
    errors and expressions, covariance, data, the solver's messages -- travels as it is,
    so ``fit_report()``, ``eval`` and ``eval_uncertainty`` give the same output.
    """

    def __init__(self, *args, **kwargs):
        from lmfit import Parameters

        super().__init__(*args, **kwargs)
        self._parameters = Parameters

    def reducer_override(self, obj):
        key = _SHARED.get(id(obj))
        if key is not None:
            return (_shared_model, key)
        if type(obj) is self._parameters:
            # lmfit's own reduction, less the functions every new Parameters already has in
            # its expression interpreter (numpy/scipy ufuncs, which pickle looks up by
            # scanning every loaded module: 4 ms a fit); its __setstate__ skips those anyway.
            # This reads lmfit's private ``_asteval``: no public route gives the same state.
            # ``Parameters`` exposes no accessor for the interpreter's symbols; its public
            # serialisation ``dumps()``/``loads()`` carries them (and the parameters) through
            # JSON at 12.7 ms + 0.45 ms a fit, against 0.05 + 0.57 ms here; and its
            # ``__reduce__`` is the 2.4 ms path this replaces (measured on the 100-film series)
            symtable = obj._asteval.symtable
            fresh = _fresh_symbols()
            unique = {
                name: deepcopy(symtable[name])
                for name in obj._asteval.user_defined_symbols()
                if name not in fresh
            }
            return (type(obj), (), {"unique_symbols": unique, "params": list(obj.values())})
        return NotImplemented


@lru_cache(maxsize=1)
def _fresh_symbols() -> frozenset:
    """Names in the expression interpreter of a new lmfit ``Parameters``."""
    from lmfit import Parameters

    return frozenset(Parameters()._asteval.symtable)


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


_S2PI = math.sqrt(2.0 * math.pi)


def _model_jacobian(params, x, e_ref, profile):
    """Analytic Jacobian of peak + background w.r.t. the varied parameters (rows, lmfit order).

    The derivatives of lmfit's own line shapes (``gaussian``; ``voigt`` with gamma = sigma,
    :func:`qdstack.analysis._fitting.peak_model`) and of the local background
    ``c0 + c1 u + c2 u^2`` (``u = x - e_ref``).  With ``d = x - center``:

    .. math:: G = \\frac{A}{\\sigma\\sqrt{2\\pi}} e^{-d^2/2\\sigma^2}, \\quad
              \\partial_c G = G \\frac{d}{\\sigma^2}, \\quad
              \\partial_\\sigma G = G \\left(\\frac{d^2}{\\sigma^3} - \\frac{1}{\\sigma}\\right);

    for the Voigt ``V = A Re w(z) / (sigma sqrt(2 pi))`` with ``z = (d + i sigma)/(sigma sqrt 2)``
    and Faddeeva's ``w'(z) = -2 z w(z) + 2i/sqrt(pi)``: ``dz/dc = -1/(sigma sqrt 2)``,
    ``dz/dsigma = -d/(sigma^2 sqrt 2)``.  Given to lmfit as ``Dfun`` (``col_deriv=True``), it
    replaces the finite-difference Jacobian of Levenberg-Marquardt (one model evaluation per
    parameter per iteration); lmfit applies its bound transformations to it.  Equal to the
    finite differences to 1e-6 relative (tested).
    """
    amp = params["peak_amplitude"].value
    center = params["peak_center"].value
    sigma = params["peak_sigma"].value  # bounded below by half a grid step in every fit here
    d = x - center
    if profile == "voigt":
        from scipy.special import wofz

        root2 = math.sqrt(2.0)
        z = (d + 1j * sigma) / (sigma * root2)
        w = wofz(z)
        dw = -2.0 * z * w + 2j / math.sqrt(math.pi)
        norm = 1.0 / (sigma * _S2PI)
        d_amp = w.real * norm
        d_center = amp * norm * (dw * (-1.0 / (sigma * root2))).real
        d_sigma = amp * norm * ((dw * (-d / (sigma * sigma * root2))).real - w.real / sigma)
    else:
        d_amp = np.exp(-(d * d) / (2.0 * sigma * sigma)) / (sigma * _S2PI)
        g = amp * d_amp
        d_center = g * d / (sigma * sigma)
        d_sigma = g * (d * d / sigma**3 - 1.0 / sigma)
    u = x - e_ref
    columns = {
        "peak_amplitude": d_amp,
        "peak_center": d_center,
        "peak_sigma": d_sigma,
        "bg_c0": np.ones_like(x),
        "bg_c1": u,
        "bg_c2": u * u,
    }
    return np.array([columns[n] for n, p in params.items() if p.expr is None and p.vary])


def _jacobian_model_fit(params, data, weights, x, e_ref, profile="gaussian"):
    """``Dfun`` of ``Model.fit``, whose residual is ``(data - model) * weights``."""
    jac = -_model_jacobian(params, x, e_ref, profile)
    return jac if weights is None else jac * weights


def _jacobian_minimize(params, x, y, calls, indep, profile="gaussian"):
    """``Dfun`` of the stepping-stone ``lmfit.minimize``, whose residual is ``model - y``."""
    return _model_jacobian(params, x, indep["e_ref"], profile)


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
                Dfun=partial(_jacobian_minimize, profile=profile),
                col_deriv=True,
            )
        else:
            result = model.fit(
                y,
                params,
                x=x,
                e_ref=center,
                nan_policy="raise",
                fit_kws={"Dfun": partial(_jacobian_model_fit, profile=profile), "col_deriv": True},
            )
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
    return _refine_peak(
        _locate_peak(
            energy_eV,
            absorbance,
            emin_eV=emin_eV,
            emax_eV=emax_eV,
            threshold=threshold,
            source=source,
        ),
        profile,
    )


def _refine_peak(located: _Located, profile: Profile = "gaussian") -> ExcitonicPeak:
    """The fits of :func:`first_excitonic_peak` on a located peak (its second stage)."""
    e, a, cand, step = located.e, located.a, located.cand, located.step
    sigma_noise, src = located.sigma_noise, located.source
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
    half = 0.5 * (window[1] - window[0])  # the spectrum kept for the figure
    shown = (e >= window[0] - half) & (e <= window[1] + half)
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
        spectrum_eV=e[shown],
        spectrum_od=a[shown],
    )
