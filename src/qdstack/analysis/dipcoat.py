"""Dip coating: film amount vs withdrawal speed (Faustini et al. 2010), and its inverse.

Faustini et al. (J. Phys. Chem. C 2010, 114, 7637) unify the two regimes of
dip coating from dilute solutions in one law for the deposited thickness

    h(U) = k (E / (L U) + D U^(2/3))

with the withdrawal speed ``U``, the evaporation rate ``E``, the meniscus width
``L`` and ``D`` a constant of the Landau-Levich draining regime.  At low speeds
the *capillary* term (solvent evaporates at the meniscus faster than the
substrate leaves: more material the slower one pulls) dominates; at high speeds
the *draining* term (a viscous film is dragged out, h ~ U^(2/3)).  A quantum-dot
film's amount per area, read as the OD of its first excitonic peak or as a
coverage, is proportional to h, so the fit is

    y(U) = c / U + d U^(2/3),    c = k E / L  (capillary_coef),  d = k D  (draining_coef)

(lmfit, both coefficients >= 0).  The minimum of y lies at

    U_min = (3 c / (2 d))^(3/5),    y_min = c / U_min + d U_min^(2/3) = (5/3) d U_min^(2/3)

and each measured point is in the ``capillary`` regime below it and ``draining``
above it.  ``U_min`` is reported only when measured points lie on both sides of
it; when all points are on one branch (or one coefficient is not distinguishable
from zero, value < 2 standard errors) it is ``null`` and the output says so (the
extrapolated value is given separately, marked as such).

The inverse, the speed(s) that give a target amount, has one solution on each
branch above ``y_min``.  Its 95 % interval is the set of speeds on that branch
where the fit's 95 % confidence band contains the target (this stays valid near
the minimum, where a linearised error diverges); the linearised standard error
is given beside it.

An additive series (e.g. the diglyme fraction of the solvent, Fig. S2e of the
reference study) has no such law; :func:`fit_trend` fits an empirical polynomial
(degree chosen by AICc, at most 3) and inverts it inside the measured range only.

References
----------
M. Faustini, B. Louis, P. A. Albouy, M. Kuemmel, D. Grosso, "Preparation of
Sol-Gel Films by Dip-Coating in Extreme Conditions", J. Phys. Chem. C 114, 7637
(2010).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table
from qdstack.analysis._fitting import fit_warnings, param_error, param_value, r_squared
from qdstack.errors import FitError, InputError

__all__ = [
    "coating_law",
    "DipcoatFit",
    "TrendFit",
    "fit_dipcoat",
    "fit_trend",
    "minimum_speed",
]

_Z95 = 1.959963984540054


def coating_law(speed_mm_per_s, capillary_coef, draining_coef):
    """``y = c / U + d U^(2/3)`` (Faustini et al. 2010) at speeds ``U`` [mm/s]."""
    u = np.asarray(speed_mm_per_s, dtype=float)
    return capillary_coef / u + draining_coef * u ** (2.0 / 3.0)


def minimum_speed(capillary_coef: float, draining_coef: float) -> float:
    """Speed of the minimum of :func:`coating_law`, ``(3 c / (2 d))^(3/5)`` [mm/s]."""
    return (1.5 * capillary_coef / draining_coef) ** 0.6


def _check_xy(x, y, y_err, x_name, y_name):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise InputError(f"{x_name} and {y_name} must be columns of equal length")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError(f"{x_name} and {y_name} must be finite numbers")
    err = None
    if y_err is not None:
        err = np.asarray(y_err, dtype=float)
        if err.shape != y.shape or not np.all(np.isfinite(err)) or np.any(err <= 0):
            raise InputError(f"{y_name}_err must be positive numbers, one per row")
    return x, y, err


@dataclass(frozen=True)
class DipcoatFit(Result):
    """Result of :func:`fit_dipcoat` (``to_dict()`` is the contract JSON plus extras)."""

    capillary_coef: float
    capillary_coef_err: float
    draining_coef: float
    draining_coef_err: float
    minimum_speed_mm_per_s: float | None
    minimum_speed_mm_per_s_err: float | None
    minimum_speed_extrapolated_mm_per_s: float | None
    minimum_amount: float | None
    regimes: tuple[str, ...]
    branch: str  # "both", "capillary", "draining"
    speed_mm_per_s: tuple[float, ...]
    amount: tuple[float, ...]
    amount_err: tuple[float, ...] | None
    quantity: str  # "od" or "coverage"
    target: float | None
    solutions: tuple[dict, ...]
    r2: float
    redchi: float
    param_covariance: tuple[tuple[float, float], tuple[float, float]]
    warnings: tuple[str, ...] = ()
    fit: object = field(repr=False, compare=False, default=None)

    def predict(self, speed_mm_per_s):
        return coating_law(speed_mm_per_s, self.capillary_coef, self.draining_coef)

    def summary_blocks(self):
        q = self.quantity
        rows = tuple(
            (f"{u:.4g}", f"{y:.4g}", f"{float(self.predict(u)):.4g}", r)
            for u, y, r in zip(self.speed_mm_per_s, self.amount, self.regimes)
        )
        out = [
            Table(
                "Dip coating: y = c/U + d U^(2/3)",
                ("speed (mm/s)", q, "fit", "regime"),
                rows,
                ("r", "r", "r", "l"),
            ),
            f"capillary_coef c = {self.capillary_coef:.4g} ± {self.capillary_coef_err:.2g}, draining_coef "
            f"d = {self.draining_coef:.4g} ± {self.draining_coef_err:.2g}, r2 = {self.r2:.4f}",
        ]
        if self.minimum_speed_mm_per_s is not None:
            out.append(
                f"minimum at U = {self.minimum_speed_mm_per_s:.4g} ± {self.minimum_speed_mm_per_s_err:.2g} "
                f"mm/s ({q} {self.minimum_amount:.4g})"
            )
        else:
            out.append(f"all rows on the {self.branch} branch: minimum speed not determined")
        for s in self.solutions:
            lo, hi = s["interval95_mm_per_s"]
            out.append(
                f"{q} = {self.target:g} on the {s['branch']} branch: U = {s['speed_mm_per_s']:.4g} "
                f"± {s['speed_mm_per_s_err']:.2g} mm/s (95 %: {lo:.4g}-{hi:.4g})"
                + ("" if s["within_measured_range"] else " [extrapolated]")
            )
        return tuple(out)

    def _plot(self, ax):
        from qdstack.plotting.dipcoat import plot_dipcoat

        return plot_dipcoat(self, ax=ax)

    def band(self, speed_mm_per_s):
        """Standard error of the fitted curve at ``speed_mm_per_s`` (from the parameter covariance)."""
        u = np.asarray(speed_mm_per_s, dtype=float)
        g = np.stack([1.0 / u, u ** (2.0 / 3.0)])
        cov = np.asarray(self.param_covariance)
        return np.sqrt(np.einsum("in,ij,jn->n", g, cov, g))

    def to_dict(self) -> dict:
        speeds = [s["speed_mm_per_s"] for s in self.solutions]
        return {
            "capillary_coef": self.capillary_coef,
            "capillary_coef_err": self.capillary_coef_err,
            "draining_coef": self.draining_coef,
            "draining_coef_err": self.draining_coef_err,
            "minimum_speed_mm_per_s": self.minimum_speed_mm_per_s,
            "regimes": list(self.regimes),
            "speed_for_target_mm_per_s": speeds if self.target is not None and speeds else None,
            "minimum_speed_mm_per_s_err": self.minimum_speed_mm_per_s_err,
            "minimum_speed_extrapolated_mm_per_s": self.minimum_speed_extrapolated_mm_per_s,
            "minimum_amount": self.minimum_amount,
            "branch": self.branch,
            "quantity": self.quantity,
            "target": self.target,
            "target_solutions": [dict(s) for s in self.solutions],
            "model": "y = capillary_coef / U + draining_coef * U^(2/3) (Faustini et al., J. Phys. Chem. C 2010)",
            "r2": self.r2,
            "redchi": self.redchi,
            "data": {
                "speed_mm_per_s": list(self.speed_mm_per_s),
                self.quantity: list(self.amount),
                f"{self.quantity}_err": None if self.amount_err is None else list(self.amount_err),
            },
            "warnings": list(self.warnings),
        }


def _significant(value: float, err: float) -> bool:
    return math.isfinite(err) and value > 2.0 * err


def _solve_branch(c, d, target, lo, hi):
    """The root of c/U + d U^(2/3) = target in [lo, hi] (monotonic there), or None."""
    from scipy.optimize import brentq

    def f(u):
        return c / u + d * u ** (2.0 / 3.0) - target

    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    if flo * fhi > 0:
        return None
    return float(brentq(f, lo, hi, xtol=1e-12 * hi, rtol=1e-12))


def _solutions(fit_c, fit_d, cov, target, branch_ok, u_data):
    """Speeds for ``target`` on each available branch, with errors and 95 % intervals."""
    c, d = fit_c, fit_d
    cov = np.asarray(cov)
    out = []
    umin = minimum_speed(c, d) if c > 0 and d > 0 else None
    u_lo = max(min(u_data) / 1e3, 1e-9)
    u_hi = max(u_data) * 1e3
    if umin is None:
        ranges = {"capillary": (u_lo, u_hi)} if c > 0 else {"draining": (u_lo, u_hi)}
    else:
        ranges = {"capillary": (u_lo, umin), "draining": (umin, u_hi)}
    for branch, (lo, hi) in ranges.items():
        if branch not in branch_ok:
            continue
        u = _solve_branch(c, d, target, lo, hi)
        if u is None:
            continue
        slope = -c / u**2 + (2.0 / 3.0) * d * u ** (-1.0 / 3.0)
        g = np.array([1.0 / u, u ** (2.0 / 3.0)])
        sig_y = math.sqrt(max(float(g @ cov @ g), 0.0))
        err = sig_y / abs(slope) if slope != 0 else math.inf
        grid = np.geomspace(lo, hi, 4001)
        yg = coating_law(grid, c, d)
        gg = np.stack([1.0 / grid, grid ** (2.0 / 3.0)])
        sg = np.sqrt(np.einsum("in,ij,jn->n", gg, cov, gg))
        inside = np.abs(yg - target) <= _Z95 * sg
        if inside.any():
            k = np.nonzero(inside)[0]
            interval = [float(grid[k.min()]), float(grid[k.max()])]
            open_ends = [bool(k.min() == 0), bool(k.max() == grid.size - 1)]
        else:
            interval, open_ends = [u, u], [False, False]
        within = bool(min(u_data) <= u <= max(u_data))
        out.append(
            {
                "branch": branch,
                "speed_mm_per_s": u,
                "speed_mm_per_s_err": err,
                "interval95_mm_per_s": interval,
                "interval_unbounded": open_ends,
                "within_measured_range": within,
            }
        )
    return out


def fit_dipcoat(
    speed_mm_per_s,
    amount,
    amount_err=None,
    *,
    quantity: str = "od",
    target: float | None = None,
) -> DipcoatFit:
    """Fit ``y = c/U + d U^(2/3)`` to a dip-coating series and invert it for ``target``.

    Parameters
    ----------
    speed_mm_per_s : array_like
        Withdrawal speeds U [mm/s], positive.
    amount : array_like
        OD at the first excitonic peak (or coverage) of each film.
    amount_err : array_like, optional
        Standard errors; used as weights (the covariance is then not rescaled).
    quantity : {"od", "coverage"}
        What ``amount`` is (names the keys).
    target : float, optional
        Amount wanted: the speed(s) that give it, on each branch where they exist.

    Returns
    -------
    DipcoatFit

    Raises
    ------
    InputError
        Non-positive speeds, fewer than 3 distinct speeds.
    FitError
        The fit fails.
    """
    from lmfit import Model

    u, y, err = _check_xy(speed_mm_per_s, amount, amount_err, "speed_mm_per_s", quantity)
    if np.any(u <= 0):
        raise InputError(f"withdrawal speeds must be positive, found {u.min():g} mm/s")
    if np.unique(u).size < 3:
        raise InputError(f"the fit needs at least 3 distinct speeds, found {np.unique(u).size}")
    if target is not None and not (math.isfinite(target) and target > 0):
        raise InputError(f"the target must be a positive number, got {target}", "--target")
    # starting values: linear least squares in (1/U, U^(2/3)), clipped positive
    basis = np.stack([1.0 / u, u ** (2.0 / 3.0)], axis=1)
    w = 1.0 / err if err is not None else np.ones_like(y)
    sol, *_ = np.linalg.lstsq(basis * w[:, None], y * w, rcond=None)
    scale = max(float(np.max(np.abs(y))), 1e-12)
    c0 = max(float(sol[0]), 1e-3 * scale * float(np.min(u)))
    d0 = max(float(sol[1]), 1e-3 * scale / float(np.max(u)) ** (2.0 / 3.0))
    model = Model(coating_law, independent_vars=["speed_mm_per_s"])
    params = model.make_params(
        capillary_coef=dict(value=c0, min=0.0), draining_coef=dict(value=d0, min=0.0)
    )
    try:
        res = model.fit(
            y,
            params,
            speed_mm_per_s=u,
            weights=None if err is None else 1.0 / err,
            scale_covar=err is None,
            nan_policy="raise",
        )
    except (ValueError, RuntimeError) as exc:
        raise FitError(f"the dip-coating fit failed ({exc})") from None
    largest_term = {  # each term's largest contribution over the measured speeds
        "capillary_coef": res.params["capillary_coef"].value / float(np.min(u)),
        "draining_coef": res.params["draining_coef"].value * float(np.max(u)) ** (2.0 / 3.0),
    }
    at_zero = [n for n, v in largest_term.items() if v <= 1e-6 * scale]
    if len(at_zero) == 1:
        # one term went to its bound 0: the covariance is undefined there; refit with it fixed at 0
        params[at_zero[0]].set(value=0.0, vary=False)
        res = model.fit(
            y,
            params,
            speed_mm_per_s=u,
            weights=None if err is None else 1.0 / err,
            scale_covar=err is None,
            nan_policy="raise",
        )
    warnings = [w for w in fit_warnings(res, "dip-coating fit: ") if "bound" not in w]
    c, d = param_value(res, "capillary_coef"), param_value(res, "draining_coef")
    ce, de = param_error(res, "capillary_coef"), param_error(res, "draining_coef")
    if res.covar is not None and np.all(np.isfinite(res.covar)) and res.covar.shape == (2, 2):
        cov = np.asarray(res.covar, dtype=float)
    else:
        cov = np.diag([ce if math.isfinite(ce) else 0.0, de if math.isfinite(de) else 0.0]) ** 2
    for name in at_zero if len(at_zero) == 1 else ():
        warnings.append(f"dip-coating fit: {name} went to 0 and was fixed there")
    c_ok, d_ok = _significant(c, ce), _significant(d, de)
    umin_x = minimum_speed(c, d) if c > 0 and d > 0 else None
    umin = umin_err = y_min = None
    if c_ok and d_ok:
        below = int(np.sum(u < umin_x))
        above = int(np.sum(u > umin_x))
        regimes = tuple("capillary" if ui < umin_x else "draining" for ui in u)
        if below and above:
            branch = "both"
            umin = umin_x
            g = np.array([0.6 / c, -0.6 / d]) * umin  # dU/dc, dU/dd
            umin_err = math.sqrt(max(float(g @ cov @ g), 0.0))
            y_min = float(coating_law(umin, c, d))
        else:
            branch = "capillary" if below else "draining"
            warnings.append(
                f"all {u.size} points lie on the {branch} branch (the fitted minimum, "
                f"{umin_x:.3g} mm/s, is outside the measured speeds); minimum_speed_mm_per_s is not "
                "determined"
            )
    elif c_ok and not d_ok:
        branch = "capillary"
        regimes = ("capillary",) * u.size
        warnings.append(
            "the draining term is not distinguishable from zero: all points are on the capillary "
            "branch and the minimum speed is not determined"
        )
    elif d_ok and not c_ok:
        branch = "draining"
        regimes = ("draining",) * u.size
        warnings.append(
            "the capillary term is not distinguishable from zero: all points are on the draining "
            "branch and the minimum speed is not determined"
        )
    else:
        raise FitError(
            "neither the capillary nor the draining term is distinguishable from zero; the table does "
            "not determine the coating law"
        )
    solutions: list[dict] = []
    if target is not None:
        ok = ("capillary", "draining") if branch == "both" else (branch,)
        solutions = _solutions(c, d, cov, target, ok, u)
        if not solutions:
            low = (
                y_min if y_min is not None else float(coating_law(umin_x, c, d)) if umin_x else None
            )
            warnings.append(
                f"no speed on the {'/'.join(ok)} branch gives {quantity} = {target:g}"
                + (f" (the fitted minimum is {low:.4g})" if low is not None else "")
            )
        for s in solutions:
            if not s["within_measured_range"]:
                warnings.append(
                    f"the {s['branch']} speed for the target, {s['speed_mm_per_s']:.3g} mm/s, is outside "
                    "the measured speeds (extrapolated)"
                )
    r2 = r_squared(y, res.best_fit, None if err is None else 1.0 / err)
    return DipcoatFit(
        capillary_coef=c,
        capillary_coef_err=ce,
        draining_coef=d,
        draining_coef_err=de,
        minimum_speed_mm_per_s=umin,
        minimum_speed_mm_per_s_err=umin_err,
        minimum_speed_extrapolated_mm_per_s=None if umin is not None else umin_x,
        minimum_amount=y_min,
        regimes=regimes,
        branch=branch,
        speed_mm_per_s=tuple(float(v) for v in u),
        amount=tuple(float(v) for v in y),
        amount_err=None if err is None else tuple(float(v) for v in err),
        quantity=quantity,
        target=target,
        solutions=tuple(solutions),
        r2=float(r2),
        redchi=float(res.redchi),
        param_covariance=(
            (float(cov[0, 0]), float(cov[0, 1])),
            (float(cov[1, 0]), float(cov[1, 1])),
        ),
        warnings=tuple(warnings),
        fit=res,
    )


@dataclass(frozen=True)
class TrendFit(Result):
    """Empirical polynomial trend of the amount vs an additive fraction (:func:`fit_trend`)."""

    x_column: str
    degree: int
    coefficients: tuple[float, ...]
    coefficients_err: tuple[float, ...]
    aicc: dict
    x: tuple[float, ...]
    amount: tuple[float, ...]
    amount_err: tuple[float, ...] | None
    quantity: str
    x_at_maximum: float | None
    target: float | None
    x_for_target: tuple[float, ...] | None
    r2: float
    warnings: tuple[str, ...] = ()
    fit: object = field(repr=False, compare=False, default=None)

    def predict(self, x):
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.coefficients)

    def summary_blocks(self):
        xm = "—" if self.x_at_maximum is None else f"{self.x_at_maximum:.4g}"
        out = [
            f"empirical trend of {self.quantity} vs {self.x_column}: polynomial degree {self.degree} "
            f"(AICc), r2 = {self.r2:.3f}; maximum at {self.x_column} = {xm}"
        ]
        if self.target is not None:
            xs = (
                ", ".join(f"{v:.4g}" for v in self.x_for_target or ())
                or "none in the measured range"
            )
            out.append(f"{self.x_column} for {self.quantity} = {self.target:g}: {xs}")
        return tuple(out)

    def _plot(self, ax):
        from qdstack.plotting.dipcoat import plot_trend

        return plot_trend(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "model": f"empirical polynomial of degree {self.degree} in {self.x_column} (no physical law)",
            "x_column": self.x_column,
            "degree": self.degree,
            "coefficients": list(self.coefficients),
            "coefficients_err": list(self.coefficients_err),
            "aicc_by_degree": {str(k): v for k, v in self.aicc.items()},
            "x_at_maximum": self.x_at_maximum,
            "quantity": self.quantity,
            "target": self.target,
            "x_for_target": None if self.x_for_target is None else list(self.x_for_target),
            "r2": self.r2,
            "data": {
                self.x_column: list(self.x),
                self.quantity: list(self.amount),
                f"{self.quantity}_err": None if self.amount_err is None else list(self.amount_err),
            },
            "warnings": list(self.warnings),
        }


def fit_trend(
    x,
    amount,
    amount_err=None,
    *,
    x_column: str = "x",
    quantity: str = "od",
    target: float | None = None,
    max_degree: int = 3,
) -> TrendFit:
    """Polynomial trend (lmfit ``PolynomialModel``), degree 1..3 chosen by the smallest AICc.

    The inverse (``x`` for ``target``) and the maximum are searched only inside
    the measured range of ``x``: an empirical trend says nothing outside it.
    """
    from lmfit.models import PolynomialModel

    xv, y, err = _check_xy(x, amount, amount_err, x_column, quantity)
    n_x = np.unique(xv).size
    if n_x < 3:
        raise InputError(f"a trend needs at least 3 distinct {x_column} values, found {n_x}")
    top = int(min(max_degree, n_x - 2 if n_x > 3 else 1, 7))
    weights = None if err is None else 1.0 / err
    fits, aicc = {}, {}
    for deg in range(1, max(top, 1) + 1):
        m = PolynomialModel(degree=deg)
        p = m.guess(y, x=xv)
        r = m.fit(y, p, x=xv, weights=weights, scale_covar=err is None)
        k = deg + 1
        n = y.size
        corr = 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
        aicc[deg] = float(r.aic + corr)
        fits[deg] = r
    deg = min(aicc, key=lambda k: aicc[k])
    res = fits[deg]
    coefs = tuple(param_value(res, f"c{i}") for i in range(deg + 1))
    errs = tuple(param_error(res, f"c{i}") for i in range(deg + 1))
    warnings = fit_warnings(res, "trend fit: ")
    lo, hi = float(xv.min()), float(xv.max())
    grid = np.linspace(lo, hi, 2001)
    yg = np.polynomial.polynomial.polyval(grid, coefs)
    i = int(np.argmax(yg))
    x_max = float(grid[i]) if 0 < i < grid.size - 1 else None
    x_t = None
    if target is not None:
        s = np.sign(yg - target)
        k = np.nonzero(s[:-1] * s[1:] <= 0)[0]
        x_t = tuple(
            float(grid[j] + (target - yg[j]) * (grid[j + 1] - grid[j]) / (yg[j + 1] - yg[j]))
            if yg[j + 1] != yg[j]
            else float(grid[j])
            for j in k
        )
        x_t = tuple(dict.fromkeys(round(v, 12) for v in x_t))
        if not x_t:
            warnings.append(
                f"no {x_column} inside the measured range {lo:g}-{hi:g} gives {quantity} = {target:g}"
            )
    return TrendFit(
        x_column=x_column,
        degree=deg,
        coefficients=coefs,
        coefficients_err=errs,
        aicc=aicc,
        x=tuple(float(v) for v in xv),
        amount=tuple(float(v) for v in y),
        amount_err=None if err is None else tuple(float(v) for v in err),
        quantity=quantity,
        x_at_maximum=x_max,
        target=target,
        x_for_target=x_t,
        r2=float(r_squared(y, res.best_fit, weights)),
        warnings=tuple(warnings),
        fit=res,
    )
