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
]


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
