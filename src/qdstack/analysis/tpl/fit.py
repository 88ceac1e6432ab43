"""The lmfit fits of eqns (2) and (3), with the start-value scan over the phonon energy.

The method is described in :mod:`qdstack.analysis.tpl`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from qdstack.analysis._fitting import (
    bound_warnings,
    convergence_warnings,
    correlation_warnings,
    param_error,
    param_value,
    r_squared,
)
from qdstack.analysis.tpl.models import (
    CORRELATION_LIMIT,
    ENERGY_PARAMS,
    WIDTH_PARAMS,
    bose_einstein,
    linewidth_meV,
    peak_energy_eV,
)
from qdstack.analysis.tpl.results import EnergyFit, TPLAnalysis, WidthFit
from qdstack.errors import FitError, InputError, OptionError


def _corr(result, a: str, b: str) -> float | None:
    p = result.params[a]
    if p.correl and b in p.correl and p.correl[b] is not None and math.isfinite(p.correl[b]):
        return float(p.correl[b])
    return None


def _correlations(result) -> dict[str, float]:
    out = {}
    names = [n for n, p in result.params.items() if p.vary]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            c = _corr(result, a, b)
            if c is not None:
                out[f"{a}/{b}"] = c
    return out


# ----------------------------------------------------------------------------- fits


def _check(T, y, err, name: str, unit: str):
    T = np.asarray(T, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if T.shape != y.shape:
        raise InputError(f"{T.size} temperatures but {y.size} {name} values", name)
    if not (np.all(np.isfinite(T)) and np.all(np.isfinite(y))):
        raise InputError(f"temperatures and {name} must be finite numbers", name)
    if np.any(T <= 0):
        raise InputError(
            f"temperatures must be positive kelvin (found {T.min():g} K)", "temperature_K"
        )
    e = None
    if err is not None:
        e = np.asarray(err, dtype=float).ravel()
        if e.shape != y.shape:
            raise InputError(f"{e.size} errors for {y.size} {name} values", name)
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            e = None  # unusable (some unknown): fit unweighted
    return T, y, e


def _errs(e, n: int) -> tuple[float, ...]:
    """The errors as a tuple (NaN for every point when none were given)."""
    return tuple(float(v) for v in (np.full(n, np.nan) if e is None else e))


def _fixed_dict(fixed: Mapping[str, float] | None, allowed: Sequence[str]) -> dict[str, float]:
    out = {}
    for k, v in (fixed or {}).items():
        if k not in allowed:
            continue
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(float(v))):
            raise OptionError(f"fixed value of {k} must be a finite number (got {v!r})", k)
        out[k] = float(v)
    return out


def _model_fit(model, params, T, y, e, context: str):
    kwargs = {"weights": 1.0 / e} if e is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.fit(y, params, T_K=T, **kwargs)
    return result


def _scan_start(y, w, fixed: dict, grid, columns) -> tuple[float, dict]:
    """Starting values of a model linear in all parameters but one (an energy ``x``).

    For each ``x`` of ``grid``, ``columns(x)`` gives the design columns of the linear
    parameters; the fixed ones are moved to the right-hand side and the rest solved by
    weighted least squares.  Returns the ``x`` with the smallest residual and the
    linear parameters found there.
    """
    best = None
    for x in grid:
        rhs = y.copy()
        lin = []
        for name, col in columns(x).items():
            if name in fixed:
                rhs = rhs - fixed[name] * col
            else:
                lin.append((name, col))
        if lin:
            A = np.column_stack([c for _, c in lin]) * w[:, None]
            coef, *_ = np.linalg.lstsq(A, rhs * w, rcond=None)
            ssr = float(np.sum((A @ coef - rhs * w) ** 2))
        else:
            coef, ssr = np.array([]), float(np.sum((rhs * w) ** 2))
        if best is None or ssr < best[0]:
            best = (ssr, x, {n: float(c) for (n, _), c in zip(lin, coef)})
    return best[1], best[2]


def fit_energy(
    T_K,
    peak_eV,
    peak_eV_err=None,
    *,
    fixed: Mapping[str, float] | None = None,
    source: str | None = None,
) -> EnergyFit:
    """Fit eqn (2) to PL peak energies.

    Parameters
    ----------
    T_K : array_like, shape (n,)
        Temperatures [K].
    peak_eV : array_like, shape (n,)
        Peak energies [eV].
    peak_eV_err : array_like, shape (n,), optional
        Their standard errors [eV] (weights 1/err); unweighted without.
    fixed : mapping, optional
        Parameters to hold, e.g. ``{"hbar_omega_meV": 20.0}`` (names in
        :data:`ENERGY_PARAMS`; others are ignored).
    source : str, optional
        Name for messages.

    Returns
    -------
    EnergyFit

    Raises
    ------
    FitError
        Fewer points than free parameters + 1.
    """
    from lmfit import Model

    src = source or "energy fit"
    T, y, e = _check(T_K, peak_eV, peak_eV_err, "peak_eV", "eV")
    fx = _fixed_dict(fixed, ENERGY_PARAMS)
    free = [p for p in ENERGY_PARAMS if p not in fx]
    if T.size < len(free) + 1:
        raise FitError(
            f"{T.size} temperatures for {len(free)} free parameters of eqn (2); measure more "
            "temperatures or fix some parameters",
            src,
        )
    # start: scan hbar_omega; the rest is linear (in eV: E0, 1e-3 A_TE, 1e-3 A_EP)
    w = np.ones_like(y) if e is None else 1.0 / e
    grid = [fx["hbar_omega_meV"]] if "hbar_omega_meV" in fx else list(np.geomspace(2.0, 150.0, 40))
    hw0, lin0 = _scan_start(
        y,
        w,
        fx,
        grid,
        lambda hw: {
            "E0_eV": np.ones_like(T),
            "A_TE_meV_per_K": 1e-3 * T,
            "A_EP_meV": 1e-3 * (2.0 * bose_einstein(T, hw) + 1.0),
        },
    )
    model = Model(peak_energy_eV, independent_vars=["T_K"])
    params = model.make_params()
    start = {
        "E0_eV": lin0.get("E0_eV", float(np.mean(y))),
        "A_TE_meV_per_K": lin0.get("A_TE_meV_per_K", 0.0),
        "A_EP_meV": lin0.get("A_EP_meV", 0.0),
        "hbar_omega_meV": hw0,
    }
    for name in ENERGY_PARAMS:
        params[name].set(value=fx.get(name, start[name]), vary=name not in fx)
    params["hbar_omega_meV"].set(min=0.1, max=500.0)
    result = _model_fit(model, params, T, y, e, src)
    msgs = convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    msgs += correlation_warnings(result, CORRELATION_LIMIT, f"{src}: ")
    r2 = r_squared(y, result.best_fit, None if e is None else 1.0 / e)
    vals = {n: param_value(result, n) for n in ENERGY_PARAMS}
    errs = {n: param_error(result, n) for n in ENERGY_PARAMS}
    return EnergyFit(
        E0_eV=vals["E0_eV"],
        E0_eV_err=errs["E0_eV"],
        A_TE_meV_per_K=vals["A_TE_meV_per_K"],
        A_TE_meV_per_K_err=errs["A_TE_meV_per_K"],
        A_EP_meV=vals["A_EP_meV"],
        A_EP_meV_err=errs["A_EP_meV"],
        hbar_omega_meV=vals["hbar_omega_meV"],
        hbar_omega_meV_err=errs["hbar_omega_meV"],
        fixed=tuple(sorted(fx)),
        r2=r2,
        aic=float(result.aic),
        redchi=float(result.redchi),
        correlations=_correlations(result),
        fit=result,
        warnings=tuple(msgs),
        temperature_K=tuple(float(v) for v in T),
        peak_eV=tuple(float(v) for v in y),
        peak_eV_err=_errs(e, T.size),
    )


def fit_width(
    T_K,
    fwhm_meV,
    fwhm_meV_err=None,
    *,
    E_LO_meV: float | None = None,
    fixed: Mapping[str, float] | None = None,
    source: str | None = None,
) -> WidthFit:
    """Fit eqn (3) to PL widths, with E_LO free or fixed.

    Parameters
    ----------
    T_K : array_like, shape (n,)
        Temperatures [K].
    fwhm_meV : array_like, shape (n,)
        Full widths at half maximum [meV].
    fwhm_meV_err : array_like, optional
        Their standard errors [meV] (weights 1/err).
    E_LO_meV : float, optional
        Hold E_LO at this value (a Table S1 row); free when None (unless in ``fixed``).
    fixed : mapping, optional
        Other parameters to hold (names in :data:`WIDTH_PARAMS`).
    source : str, optional
        Name for messages.

    Returns
    -------
    WidthFit

    Raises
    ------
    FitError
        Fewer points than free parameters + 1.
    """
    from lmfit import Model

    T, y, e = _check(T_K, fwhm_meV, fwhm_meV_err, "fwhm_meV", "meV")
    fx = _fixed_dict(fixed, WIDTH_PARAMS)
    if E_LO_meV is not None:
        if not (math.isfinite(E_LO_meV) and E_LO_meV > 0):
            raise OptionError(
                f"E_LO must be a positive number of meV (got {E_LO_meV})", "--fix-elo"
            )
        fx["E_LO_meV"] = float(E_LO_meV)
    elo_fixed = "E_LO_meV" in fx
    src = source or (
        f"width fit (E_LO = {fx['E_LO_meV']:g} meV fixed)" if elo_fixed else "width fit (E_LO free)"
    )
    free = [p for p in WIDTH_PARAMS if p not in fx]
    if T.size < len(free) + 1:
        raise FitError(
            f"{T.size} temperatures for {len(free)} free parameters of eqn (3); measure more "
            "temperatures or fix E_LO",
            src,
        )
    w = np.ones_like(y) if e is None else 1.0 / e
    grid = [fx["E_LO_meV"]] if elo_fixed else list(np.geomspace(1.0, 200.0, 50))
    elo0, lin0 = _scan_start(
        y,
        w,
        fx,
        grid,
        lambda elo: {"Gamma0_meV": np.ones_like(T), "gamma_LO_meV": bose_einstein(T, elo)},
    )
    model = Model(linewidth_meV, independent_vars=["T_K"])
    params = model.make_params()
    start = {
        "Gamma0_meV": lin0.get("Gamma0_meV", float(np.min(y))),
        "gamma_LO_meV": max(lin0.get("gamma_LO_meV", 1.0), 1e-6),
        "E_LO_meV": elo0,
    }
    for name in WIDTH_PARAMS:
        params[name].set(value=fx.get(name, start[name]), vary=name not in fx)
    params["gamma_LO_meV"].set(min=0.0)
    params["E_LO_meV"].set(min=0.1, max=500.0)
    result = _model_fit(model, params, T, y, e, src)
    msgs = convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    corr = None if elo_fixed else _corr(result, "gamma_LO_meV", "E_LO_meV")
    if corr is not None and abs(corr) > CORRELATION_LIMIT:
        msgs.append(
            f"{src}: gamma_LO and E_LO are strongly correlated (r = {corr:+.3f}): these data fix "
            "the curve, not the two numbers separately; compare the rows with E_LO fixed "
            "(--fix-elo) before quoting either"
        )
    others = [
        m
        for m in correlation_warnings(result, CORRELATION_LIMIT, f"{src}: ")
        if not ("gamma_LO_meV" in m and "E_LO_meV" in m)
    ]
    msgs += others
    r2 = r_squared(y, result.best_fit, None if e is None else 1.0 / e)
    return WidthFit(
        E_LO_meV=param_value(result, "E_LO_meV"),
        E_LO_meV_err=param_error(result, "E_LO_meV"),
        E_LO_fixed=elo_fixed,
        Gamma0_meV=param_value(result, "Gamma0_meV"),
        Gamma0_meV_err=param_error(result, "Gamma0_meV"),
        gamma_LO_meV=param_value(result, "gamma_LO_meV"),
        gamma_LO_meV_err=param_error(result, "gamma_LO_meV"),
        r2=r2,
        aic=float(result.aic),
        redchi=float(result.redchi),
        correlation=corr,
        fixed=tuple(sorted(fx)),
        fit=result,
        warnings=tuple(msgs),
        temperature_K=tuple(float(v) for v in T),
        fwhm_meV=tuple(float(v) for v in y),
        fwhm_meV_err=_errs(e, T.size),
    )


def analyse_tpl(
    T_K,
    peak_eV,
    fwhm_meV,
    *,
    peak_eV_err=None,
    fwhm_meV_err=None,
    fix_elo_meV: Sequence[float] = (),
    fixed: Mapping[str, float] | None = None,
    files: Sequence[str] | None = None,
    spectra: Sequence[dict] = (),
) -> TPLAnalysis:
    """Fit eqn (2) to the peak energies and eqn (3) to the widths (free, then each fixed E_LO).

    Parameters
    ----------
    T_K, peak_eV, fwhm_meV : array_like, shape (n,)
        Temperature [K], peak energy [eV], FWHM [meV].
    peak_eV_err, fwhm_meV_err : array_like, optional
        Standard errors (weights); NaN entries make that fit unweighted.
    fix_elo_meV : sequence of float
        E_LO values [meV] for the fixed rows of Table S1 (e.g. 10, 20, 30).
    fixed : mapping, optional
        Parameters of either model to hold fixed (``E_LO_meV`` here fixes it in
        the "free" row too).
    files, spectra : optional
        Provenance of each point (kept in the result).

    Returns
    -------
    TPLAnalysis
    """
    T = np.asarray(T_K, dtype=float).ravel()
    order = np.argsort(T, kind="stable")

    def arr(x):
        if x is None:
            return np.full(T.size, np.nan)
        a = np.asarray(x, dtype=float).ravel()
        if a.size != T.size:
            raise InputError(f"{a.size} values for {T.size} temperatures", "tpl")
        return a[order]

    T = T[order]
    E, G = arr(peak_eV), arr(fwhm_meV)
    Ee, Ge = arr(peak_eV_err), arr(fwhm_meV_err)
    ef = fit_energy(T, E, Ee, fixed=fixed)
    fits = [fit_width(T, G, Ge, fixed=fixed)]
    for elo in fix_elo_meV:
        fits.append(fit_width(T, G, Ge, E_LO_meV=float(elo), fixed=fixed))
    msgs = list(ef.warnings)
    for wf in fits:
        msgs += list(wf.warnings)
    return TPLAnalysis(
        temperature_K=T,
        peak_eV=E,
        peak_eV_err=Ee,
        fwhm_meV=G,
        fwhm_meV_err=Ge,
        energy_fit=ef,
        width_fits=tuple(fits),
        files=None if files is None else tuple(np.asarray(list(files), dtype=object)[order]),
        spectra=tuple(spectra[i] for i in order) if spectra else (),
        warnings=tuple(dict.fromkeys(msgs)),
    )
