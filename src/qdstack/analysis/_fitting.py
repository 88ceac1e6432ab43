"""Small helpers around lmfit results shared by every analysis module.

Nothing here optimises anything itself: every fit in qdstack is an lmfit
``Model``; these functions only read a ``ModelResult`` the same way everywhere
(value and standard error, r^2, warnings about correlation and bounds).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "param_value",
    "param_error",
    "r_squared",
    "correlation_warnings",
    "bound_warnings",
    "convergence_warnings",
    "fit_warnings",
    "FWHM_PER_SIGMA",
    "peak_model",
]

#: FWHM / sigma of the line shapes of :func:`peak_model` (Voigt with gamma = sigma: lmfit's
#: 1.0692 gamma + sqrt(0.8664 gamma^2 + 5.545083 sigma^2); pseudo-Voigt: sigma is the HWHM)
FWHM_PER_SIGMA = {
    "gaussian": 2.0 * math.sqrt(2.0 * math.log(2.0)),
    "voigt": 1.0692 + math.sqrt(0.8664 + 5.545083),
    "pseudovoigt": 2.0,
}


def _voigt_equal_widths(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Voigt profile with the Lorentzian half-width equal to the Gaussian sigma (lmfit's VoigtModel)."""
    from lmfit.lineshapes import voigt

    return voigt(x, amplitude, center, sigma, sigma)


def peak_model(profile: str, prefix: str):
    """An lmfit peak ``Model`` (amplitude, center, sigma[, fraction]) without derived parameters.

    lmfit's ``GaussianModel`` and friends add ``fwhm`` and ``height`` as constraint
    expressions, and a fixed parameter or an expression has a zero standard error when the
    fit's correlated uncertainties are built: lmfit then creates an ``uncertainties``
    value with std_dev == 0, whose UserWarning it silences with ``warnings.catch_warnings``.
    That silencing is process-global and not thread-safe: when fits run in several threads
    (the film model's dask tasks, the study runner's threads) one thread leaving its
    ``catch_warnings`` block restores the filters under another thread's fit, and the
    warning escapes (an error under ``-W error``).  Models from here have every parameter
    varied and no expression, so no zero-width value is ever created; the FWHM is
    ``FWHM_PER_SIGMA[profile] * sigma``.
    """
    from lmfit import Model
    from lmfit.lineshapes import gaussian, pvoigt

    functions = {"gaussian": gaussian, "voigt": _voigt_equal_widths, "pseudovoigt": pvoigt}
    if profile not in functions:
        raise ValueError(f"unknown peak profile {profile!r}")
    return Model(functions[profile], prefix=prefix)


def param_value(result, name: str) -> float:
    """Best-fit value of parameter ``name``."""
    return float(result.params[name].value)


def param_error(result, name: str) -> float:
    """One standard error of parameter ``name``; NaN when the fit gives none."""
    p = result.params[name]
    if not p.vary and p.expr is None:
        return float("nan")
    err = p.stderr
    if err is None or not np.isfinite(err):
        return float("nan")
    return float(err)


def r_squared(y, y_fit, weights=None) -> float:
    """Coefficient of determination 1 - SS_res/SS_tot (weighted when weights are given)."""
    y = np.asarray(y, dtype=float)
    y_fit = np.asarray(y_fit, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float) ** 2
    mean = np.sum(w * y) / np.sum(w)
    ss_tot = float(np.sum(w * (y - mean) ** 2))
    ss_res = float(np.sum(w * (y - y_fit) ** 2))
    if ss_tot == 0.0:
        return float("nan")
    return 1.0 - ss_res / ss_tot


def correlation_warnings(result, threshold: float = 0.95, context: str = "") -> list[str]:
    """Messages for every pair of varied parameters with |correlation| > threshold."""
    out = []
    names = [n for n, p in result.params.items() if p.vary]
    done = set()
    for a in names:
        correl = result.params[a].correl or {}
        for b, c in correl.items():
            key = tuple(sorted((a, b)))
            if key in done or c is None or not math.isfinite(c):
                continue
            done.add(key)
            if abs(c) > threshold:
                out.append(
                    f"{context}{a} and {b} are strongly correlated (r = {c:+.3f}); "
                    "their individual values are poorly determined by these data"
                )
    return out


def bound_warnings(result, context: str = "", rtol: float = 1e-6) -> list[str]:
    """Messages for varied parameters that ended at a bound."""
    out = []
    for name, p in result.params.items():
        if not p.vary:
            continue
        for bound, which in ((p.min, "lower"), (p.max, "upper")):
            if bound is None or not math.isfinite(bound):
                continue
            scale = max(abs(bound), abs(p.value), 1e-12)
            if abs(p.value - bound) <= rtol * scale:
                out.append(f"{context}{name} ended at its {which} bound ({bound:g})")
    return out


def convergence_warnings(result, context: str = "") -> list[str]:
    """Messages when the minimiser did not converge or could not estimate errors."""
    out = []
    if not result.success:
        out.append(f"{context}fit did not converge ({result.message})")
    elif not result.errorbars:
        out.append(f"{context}fit converged but parameter uncertainties could not be estimated")
    return out


def fit_warnings(result, context: str = "", correlation_threshold: float = 0.95) -> list[str]:
    """All warnings about one fit: convergence, bounds, strong correlations."""
    return (
        convergence_warnings(result, context)
        + bound_warnings(result, context)
        + correlation_warnings(result, correlation_threshold, context)
    )
