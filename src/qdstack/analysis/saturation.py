"""How a first-peak shift saturates with the number of layers, and how well a series can tell.

For any stack whose parameters do not change with N, the first peak follows
(approximately) the tight-binding chain ``E(N) = E1 - 2 beta cos(pi/(N+1))``,
whose shift from N = 1 grows like ``S_inf - D/N``.  :func:`fit_saturation` fits

    |S(N)| = S_inf (1 - r / N),   r = D / S_inf,

an lmfit Model with confidence intervals (``conf_interval``) on S_inf and r: the
two numbers that describe how, and how early, a series saturates.  N = 1 is the
reference of the shifts (0 by construction) and is left out of the fit.  For the
ideal chain over N = 2..8, r = 1.08 (tests/analysis/test_saturation.py derives it).

The "saturation layer count" read from a series (the smallest N whose shift
reaches 90 % of the largest, :func:`qdstack.analysis.absorption.saturation_layers`)
is an integer read off noisy points; :func:`saturation_reading_probability`
gives the distribution of that reading for series drawn from a model with a
per-film peak uncertainty (each film's peak read with its own error, the
monolayer's error shared by every shift of the series).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import FitError, InputError

__all__ = ["SaturationFit", "fit_saturation", "SaturationReading", "saturation_reading_probability"]


@dataclass(frozen=True)
class SaturationFit:
    """Result of :func:`fit_saturation`.

    Attributes
    ----------
    s_inf_meV, s_inf_meV_err : float
        Limiting shift magnitude [meV] and its standard error.
    ratio, ratio_err : float
        r = D / S_inf and its standard error (1.08 for an ideal chain over N = 1..8).
    s_inf_meV_ci95, ratio_ci95 : (float, float)
        95 % confidence intervals (lmfit ``conf_interval``; NaN where it fails).
    r2 : float
    layers : tuple of int
    success : bool
    warnings : tuple of str
    """

    s_inf_meV: float
    s_inf_meV_err: float
    ratio: float
    ratio_err: float
    s_inf_meV_ci95: tuple[float, float]
    ratio_ci95: tuple[float, float]
    r2: float
    layers: tuple[int, ...]
    success: bool
    warnings: tuple[str, ...] = ()
    fit_result: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        return {
            "s_inf_meV": self.s_inf_meV,
            "s_inf_meV_err": self.s_inf_meV_err,
            "d_over_s_inf": self.ratio,
            "d_over_s_inf_err": self.ratio_err,
            "s_inf_meV_ci95": list(self.s_inf_meV_ci95),
            "d_over_s_inf_ci95": list(self.ratio_ci95),
            "r2": self.r2,
            "layers": list(self.layers),
            "success": self.success,
            "warnings": list(self.warnings),
        }


def _saturating(n, s_inf_meV, ratio):
    return s_inf_meV * (1.0 - ratio / n)


def fit_saturation(layers, shift_meV, shift_meV_err=None) -> SaturationFit:
    """Fit |S(N)| = S_inf (1 - r/N) to a shift series (module docstring).

    Parameters
    ----------
    layers : array of int, shape (n,)
        Layer counts; N = 1 (the reference, shift 0 by construction) is left out.
    shift_meV : array, shape (n,)
        Shift from N = 1 [meV], either sign (magnitudes are fitted).
    shift_meV_err : array or float, optional
        Standard errors [meV]; weights 1/err and the covariance taken as given.
        Without errors the covariance is scaled by the residuals.

    Raises
    ------
    InputError
        Fewer than three layer counts above N = 1 (two parameters and one degree of freedom).
    FitError
        The fit fails.
    """
    from lmfit import Model

    from qdstack.analysis._fitting import param_error, param_value, r_squared

    n = np.asarray(layers, dtype=float)
    s = np.abs(np.asarray(shift_meV, dtype=float))
    if n.shape != s.shape or n.ndim != 1:
        raise InputError("layers and shifts must be 1D arrays of the same length", "shift_meV")
    if not (np.all(np.isfinite(s)) and np.all(n >= 1)):
        raise InputError("shifts must be finite and layer counts >= 1", "shift_meV")
    keep = n >= 2
    if np.unique(n[keep]).size < 3:
        raise InputError(
            "a saturation fit needs at least 3 layer counts above N = 1, got "
            f"{np.unique(n[keep]).size}",
            "layers",
        )
    weights = None
    if shift_meV_err is not None:
        err = np.broadcast_to(np.asarray(shift_meV_err, dtype=float), s.shape)[keep].copy()
        err[~(err > 0)] = np.nan
        if np.all(np.isnan(err)):
            raise InputError("shift errors must be positive", "shift_meV_err")
        err = np.where(np.isnan(err), np.nanmin(err), err)
        weights = 1.0 / err
    n, s = n[keep], s[keep]
    model = Model(_saturating, independent_vars=["n"])
    pars = model.make_params(s_inf_meV=max(float(s.max()), 1e-3), ratio=1.0)
    pars["s_inf_meV"].set(min=0.0)
    pars["ratio"].set(min=-5.0, max=20.0)
    try:
        res = model.fit(s, pars, n=n, weights=weights, scale_covar=weights is None)
    except (ValueError, RuntimeError) as exc:
        raise FitError(f"the saturation fit failed ({exc})", "shift_meV") from None
    msgs = []
    if not res.success:
        msgs.append(f"the saturation fit did not converge ({res.message})")
    ci = {"s_inf_meV": (math.nan, math.nan), "ratio": (math.nan, math.nan)}
    if res.errorbars:
        try:
            table = res.conf_interval(sigmas=[2], p_names=["s_inf_meV", "ratio"])
            for k in ci:
                vals = [v for _, v in table[k]]
                ci[k] = (float(min(vals)), float(max(vals)))
        except (ValueError, RuntimeError, ZeroDivisionError, UserWarning) as exc:
            # UserWarning: lmfit warns "Bound reached ..." and a warnings-as-errors filter (pytest,
            # or another thread's catch_warnings restoring one) turns it into an exception
            msgs.append(f"no confidence intervals ({exc}); standard errors only")
    else:
        msgs.append("the fit gives no standard errors (too few points or a singular covariance)")
    return SaturationFit(
        s_inf_meV=param_value(res, "s_inf_meV"),
        s_inf_meV_err=param_error(res, "s_inf_meV"),
        ratio=param_value(res, "ratio"),
        ratio_err=param_error(res, "ratio"),
        s_inf_meV_ci95=ci["s_inf_meV"],
        ratio_ci95=ci["ratio"],
        r2=r_squared(s, res.best_fit),
        layers=tuple(int(k) for k in n),
        success=bool(res.success),
        warnings=tuple(msgs),
        fit_result=res,
    )


@dataclass(frozen=True)
class SaturationReading:
    """Distribution of the saturation layer count read from noisy series (:func:`saturation_reading_probability`).

    Attributes
    ----------
    noiseless : int
        The reading of the model's series itself.
    probability : dict
        N -> fraction of the drawn series that read N.
    peak_sd_meV : float
        Per-film peak uncertainty used [meV].
    draws, seed : int
    """

    noiseless: int
    probability: dict
    peak_sd_meV: float
    draws: int
    seed: int

    def p(self, layers: int) -> float:
        return float(self.probability.get(int(layers), 0.0))

    def interval(self, level: float = 0.95) -> tuple[int, int]:
        """Smallest and largest reading inside the central ``level`` of the distribution."""
        ks = sorted(self.probability)
        cdf = np.cumsum([self.probability[k] for k in ks])
        lo = ks[int(np.searchsorted(cdf, 0.5 * (1 - level) - 1e-12))]
        hi = ks[min(int(np.searchsorted(cdf, 1 - 0.5 * (1 - level) - 1e-12)), len(ks) - 1)]
        return int(lo), int(hi)

    def to_dict(self) -> dict:
        lo, hi = self.interval()
        return {
            "noiseless": self.noiseless,
            "probability": {str(k): v for k, v in sorted(self.probability.items())},
            "interval95": [lo, hi],
            "peak_sd_meV": self.peak_sd_meV,
            "draws": self.draws,
            "seed": self.seed,
        }


def saturation_reading_probability(
    layers,
    shift_meV,
    peak_sd_meV: float,
    *,
    fraction: float = 0.9,
    draws: int = 20000,
    seed: int = 0,
) -> SaturationReading:
    """How often a series drawn from a model reads each saturation layer count.

    Each draw adds an independent Gaussian error of ``peak_sd_meV`` to every
    film's peak, N = 1 included; the shifts are peak(N) - peak(1), so the
    monolayer's error is common to all of them.  The reading is the smallest N
    whose |shift| reaches ``fraction`` of the largest |shift| of the series.

    Parameters
    ----------
    layers : array of int
        Layer counts, one film each; must contain 1.
    shift_meV : array
        The model's shifts from N = 1 [meV] (0 at N = 1).
    peak_sd_meV : float
        Standard uncertainty of one film's peak [meV].
    """
    from qdstack._random import rng_from
    from qdstack.analysis.absorption import saturation_layers

    n = np.asarray(layers, dtype=int)
    s = np.asarray(shift_meV, dtype=float)
    if 1 not in set(n.tolist()) or n.shape != s.shape:
        raise InputError("the series needs N = 1 and one shift per layer count", "layers")
    if not (peak_sd_meV >= 0 and math.isfinite(peak_sd_meV)):
        raise InputError("the per-film uncertainty must be a non-negative number", "peak_sd_meV")
    rng = rng_from(seed)
    eps = rng.normal(0.0, peak_sd_meV, size=(int(draws), n.size))
    i1 = int(np.nonzero(n == 1)[0][0])
    obs = np.abs(s[None, :] + eps - eps[:, [i1]])
    obs[:, i1] = 0.0
    order = np.argsort(n)
    obs, n_sorted = obs[:, order], n[order]
    reach = obs >= fraction * obs.max(axis=1, keepdims=True)
    first = n_sorted[np.argmax(reach, axis=1)]
    ks, counts = np.unique(first, return_counts=True)
    prob = {int(k): float(c) / draws for k, c in zip(ks, counts)}
    return SaturationReading(
        int(saturation_layers(n, s, fraction)), prob, float(peak_sd_meV), int(draws), int(seed)
    )
