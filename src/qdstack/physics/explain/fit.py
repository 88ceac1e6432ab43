"""Fitting mechanisms to a shift table and judging them (:func:`explain`).

For every mechanism alone and every pair (their shifts add), the parameters
are fitted twice with lmfit (weights ``1 / shift_meV_err``, covariance not
rescaled: the errors are taken as given):

1. inside the *plausible* ranges (each mechanism's docstring gives them with
   sources), starting from the best point of a coarse grid over the box;
2. inside the *physical* ranges only (the "unbounded" refit), to learn whether
   the table could be fitted at all and with which parameters.

The fit is *acceptable* when ``P(chi2 >= chi2_obs | dof) >= 0.01``; with as many
points as parameters (dof = 0) the test uses one degree of freedom (the fit
must come within about 2.6 errors of the data).  The verdict:

``explains``
    the bounded fit is acceptable;
``implausible``
    only the unbounded fit is acceptable, with some parameter outside its
    plausible range;
``cannot``
    neither fit is acceptable.

The information criteria are ``AIC = chi2 + 2k`` and ``BIC = chi2 + k ln n``
(Gaussian errors of known size, constants dropped).  Mechanisms that explain
the table within ``Delta AIC < 2`` of the best one, or whose best curves stay
within two errors of the best one's at every measured point, cannot be told
apart by it;
for each such pair the measurement that would separate them is searched
among more layers of the same linkers, other built-in linkers and a 10 K
measurement, and the largest predicted difference is reported.

References
----------
H. Akaike, IEEE Trans. Autom. Control 19, 716 (1974); G. Schwarz, Ann. Stat. 6,
461 (1978); K. P. Burnham and D. R. Anderson, *Model Selection and Multimodel
Inference*, Springer (2002) (Delta AIC < 2: substantial support for both).
"""

from __future__ import annotations

import inspect
import itertools
import math

import numpy as np

from qdstack.errors import FitError, InputError, OptionError, QdstackError
from qdstack.physics.explain._reduced import single_thread_blas
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    available_mechanisms,
    context_from_parameters,
    get_mechanism,
)
from qdstack.physics.explain.result import ExplainResult, MechanismFit, ParameterFit, _param_text  # noqa: F401
from qdstack.physics.explain.table import ShiftTable, make_table  # noqa: F401

__all__ = ["explain", "fit_mechanism", "closest_plausible", "ACCEPT_P", "DELTA_AIC_TIE", "LOW_T_K"]

#: Smallest chi-square p-value of an acceptable fit.
ACCEPT_P = 0.01
#: Mechanisms within this AIC of the best explaining one cannot be told apart (Burnham & Anderson 2002).
DELTA_AIC_TIE = 2.0
#: Temperature of the separating "temperature" measurement [K].
LOW_T_K = 10.0


# ----------------------------------------------------------------------------- the fit


def _acceptable(chi2: float, dof: int) -> tuple[bool, float]:
    from scipy.stats import chi2 as chi2_dist

    p = float(chi2_dist.sf(chi2, max(dof, 1)))
    return p >= ACCEPT_P, p


class _Combination:
    """Parameters of a mechanism or a pair, with names unique across the components."""

    def __init__(self, mechanisms: tuple[Mechanism, ...]):
        self.mechanisms = mechanisms
        self.name = "+".join(m.name for m in mechanisms)
        counts: dict[str, int] = {}
        for m in mechanisms:
            for p in m.parameters:
                counts[p.name] = counts.get(p.name, 0) + 1
        self.entries = []  # (public name, mechanism index, spec)
        for i, m in enumerate(mechanisms):
            for p in m.parameters:
                public = p.name if counts[p.name] == 1 else f"{m.name}.{p.name}"
                self.entries.append((public, i, p))
        self.names = [e[0] for e in self.entries]

    def split(self, values: dict) -> list[dict]:
        out = [dict() for _ in self.mechanisms]
        for public, i, spec in self.entries:
            out[i][spec.name] = float(values[public])
        return out


class _Predictor:
    """Cached predictions of single mechanisms (pairs reuse their components')."""

    def __init__(self, conditions: Conditions, context: ExplainContext):
        self.conditions = conditions
        self.context = context
        self.cache: dict = {}
        self.calls = 0
        self.single_fits: dict = {}

    def single(self, mech: Mechanism, values: dict) -> np.ndarray:
        key = (mech.name,) + tuple(round(values[k], 12) for k in sorted(values))
        hit = self.cache.get(key)
        if hit is None:
            with single_thread_blas():
                hit = np.asarray(mech.predict(self.conditions, self.context, **values), dtype=float)
            self.calls += 1
            if len(self.cache) > 200000:
                self.cache.clear()
            self.cache[key] = hit
        return hit

    def combination(self, combo: _Combination, values: dict) -> np.ndarray:
        parts = combo.split(values)
        return np.sum([self.single(m, v) for m, v in zip(combo.mechanisms, parts)], axis=0)


def _lmfit(
    combo: _Combination, predictor: _Predictor, y, err, start: dict, which: str, method="leastsq"
):
    from lmfit import Model

    internal = [f"p{i}" for i in range(len(combo.names))]

    def func(index, **kw):
        vals = {combo.names[i]: kw[internal[i]] for i in range(len(internal))}
        return predictor.combination(combo, vals)[np.asarray(index, dtype=int)]

    params_sig = [inspect.Parameter("index", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params_sig += [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=1.0) for n in internal
    ]
    func.__signature__ = inspect.Signature(params_sig)
    func.__name__ = combo.name.replace("+", "_")
    model = Model(func, independent_vars=["index"])
    pars = model.make_params()
    for i, (public, _, spec) in enumerate(combo.entries):
        lo, hi = spec.plausible if which == "bounded" else spec.physical
        pad = 1e-4 * (hi - lo)  # a start exactly on a bound stalls the bounds transformation
        v = min(max(float(start[public]), lo + pad), hi - pad)
        pars[internal[i]].set(value=v, min=lo, max=hi)
    kws = (
        {"epsfcn": 1e-6, "xtol": 1e-8, "ftol": 1e-10}
        if method == "leastsq"
        else {"diff_step": 1e-4, "xtol": 1e-8, "ftol": 1e-10}
    )
    try:
        res = model.fit(
            y,
            pars,
            index=np.arange(len(y)),
            weights=1.0 / err,
            scale_covar=False,
            method=method,
            fit_kws=kws,
            max_nfev=300,
        )
    except QdstackError:
        raise
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        raise FitError(f"{combo.name}: the fit failed ({exc})", "explain") from None
    values = {combo.names[i]: float(res.params[internal[i]].value) for i in range(len(internal))}
    errors = {}
    for i, n in enumerate(combo.names):
        par = res.params[internal[i]]
        e = par.stderr
        at_limit = min(abs(par.value - par.min), abs(par.value - par.max)) <= 1e-6 * (
            par.max - par.min
        )
        # an error at a bound of the fit is not a standard error (the optimum is on the edge)
        errors[n] = float(e) if e is not None and np.isfinite(e) and not at_limit else math.nan
    return values, errors, res


def _least_effect(mech: Mechanism, predictor: _Predictor, which: str) -> dict:
    """The grid point of a mechanism's range where it shifts the table least (its "off" state)."""
    single = _Combination((mech,))
    best, best_s = None, math.inf
    for cand in _grid_starts(single, which, 5):
        s = float(np.sum(predictor.single(mech, cand) ** 2))
        if s < best_s:
            best, best_s = cand, s
    return best


def _pair_starts(combo: _Combination, predictor: _Predictor) -> dict:
    """Starts of a pair: each component at its best single fit with the others "off", and all at best."""
    out = {"bounded": [], "unbounded": []}
    cache = getattr(predictor, "single_fits", {})
    for which in out:
        off = [_least_effect(m, predictor, which) for m in combo.mechanisms]
        best = [cache.get((m.name, which)) for m in combo.mechanisms]
        for i in range(len(combo.mechanisms)):
            if best[i] is None:
                continue
            parts = [best[i] if j == i else off[j] for j in range(len(combo.mechanisms))]
            out[which].append(_join(combo, parts))
        if all(b is not None for b in best):
            out[which].append(_join(combo, best))
        out[which].append(_join(combo, off))
    return out


def _join(combo: _Combination, parts: list[dict]) -> dict:
    values = {}
    for public, i, spec in combo.entries:
        values[public] = float(parts[i][spec.name])
    return values


def _grid_starts(combo: _Combination, which: str, n: int):
    grids = [spec.grid(which, n) for _, _, spec in combo.entries]
    for point in itertools.product(*grids):
        yield dict(zip(combo.names, map(float, point)))


def _chi2(pred, y, err) -> float:
    return float(np.sum(((pred - y) / err) ** 2))


def _best_start(combo, predictor, y, err, candidates):
    best, best_c = None, math.inf
    for cand in candidates:
        c = _chi2(predictor.combination(combo, cand), y, err)
        if c < best_c:
            best, best_c = cand, c
    return best, best_c


def _fit_once(combo, predictor, y, err, which, extra_starts, grid_n, method="leastsq"):
    starts = list(_grid_starts(combo, which, grid_n)) if grid_n else []
    starts += [s for s in extra_starts if s is not None]
    start, start_chi2 = _best_start(combo, predictor, y, err, starts)
    values, errors, res = _lmfit(combo, predictor, y, err, start, which, method)
    pred = predictor.combination(combo, values)
    chi2 = _chi2(pred, y, err)
    message = str(res.message)
    if chi2 > start_chi2 + 1e-9:  # the optimiser wandered off a better start: keep the start
        values, errors = dict(start), {k: math.nan for k in start}
        pred = predictor.combination(combo, values)
        chi2 = start_chi2
        message += " (the optimiser ended above its start; the best starting point is reported, without errors)"
    return {
        "values": values,
        "errors": errors,
        "chi2": chi2,
        "prediction": pred,
        "success": bool(res.success),
        "message": message,
        "result": res,
    }


def fit_mechanism(
    mechanisms,
    table: ShiftTable,
    context: ExplainContext | None = None,
    *,
    predictor: _Predictor | None = None,
    starts: dict | None = None,
) -> MechanismFit:
    """Fit one mechanism (or a tuple: their shifts add) to a table and give the verdict.

    Parameters
    ----------
    mechanisms : Mechanism, str or tuple of them
    table : ShiftTable
    context : ExplainContext, optional
        Default :func:`context_from_parameters`.
    starts : dict, optional
        ``{"bounded": [dict, ...], "unbounded": [dict, ...]}`` extra starting points.

    Raises
    ------
    InputError
        Fewer table rows than parameters.
    """
    if isinstance(mechanisms, (str, Mechanism)):
        mechanisms = (mechanisms,)
    mechs = tuple(get_mechanism(m) if isinstance(m, str) else m for m in mechanisms)
    combo = _Combination(mechs)
    context = context_from_parameters() if context is None else context
    predictor = _Predictor(table.conditions, context) if predictor is None else predictor
    n, k = len(table), len(combo.names)
    if n < k:
        raise InputError(
            f"{n} shift(s) cannot fix the {k} parameters of {combo.name} "
            f"({', '.join(combo.names)}); give more rows",
            table.source,
        )
    y, err = table.shift_meV, table.shift_meV_err
    starts = starts or {}
    grid_n = {1: 9, 2: 5}.get(k, 0)
    if len(mechs) > 1:  # pairs start from their components' fits and "least effect" points
        grid_n = 0
        extra = _pair_starts(combo, predictor)
        starts = {w: list(starts.get(w, [])) + extra[w] for w in ("bounded", "unbounded")}
    bounded = _fit_once(combo, predictor, y, err, "bounded", starts.get("bounded", []), grid_n)
    dof = n - k
    if _acceptable(bounded["chi2"], dof)[0]:
        unbounded = dict(bounded)  # no refit needed: the plausible fit already explains the table
    else:
        unb_starts = list(starts.get("unbounded", [])) + [bounded["values"]]
        unbounded = _fit_once(combo, predictor, y, err, "unbounded", unb_starts, grid_n)
        if unbounded["chi2"] > bounded["chi2"]:  # the bounded optimum is also allowed physically
            unbounded = dict(bounded)
    ok_b, p_b = _acceptable(bounded["chi2"], dof)
    ok_u, p_u = _acceptable(unbounded["chi2"], dof)

    def inside(values):
        return {
            name: spec.plausible[0] - 1e-9 <= values[name] <= spec.plausible[1] + 1e-9
            for name, _, spec in combo.entries
        }

    msgs = []
    if ok_b:
        verdict, chosen, p = "explains", bounded, p_b
    elif ok_u and all(inside(unbounded["values"]).values()):
        verdict, chosen, p = "explains", unbounded, p_u
    elif ok_u:
        verdict, chosen, p = "implausible", unbounded, p_u
        out = [nm for nm, ok in inside(unbounded["values"]).items() if not ok]
        msgs.append(f"{combo.name}: fits only with {', '.join(out)} outside the plausible range")
    else:
        verdict, chosen, p = "cannot", unbounded, p_u
    if dof == 0:
        msgs.append(
            f"{combo.name}: as many parameters as shifts (dof = 0): the table only tests whether the "
            "parameters can reach the numbers, not the shape"
        )
    for fit_ in (bounded, unbounded):
        if not fit_["success"]:
            msgs.append(f"{combo.name}: a fit did not converge ({fit_['message']})")
    params = {}
    for name, _, spec in combo.entries:
        v = chosen["values"][name]
        lo, hi = spec.plausible
        tol = 1e-3 * (hi - lo)
        vb = bounded["values"][name]
        params[name] = ParameterFit(
            value=v,
            err=chosen["errors"][name],
            plausible_min=lo,
            plausible_max=hi,
            at_bound=bool(abs(vb - lo) <= tol or abs(vb - hi) <= tol),
            physical_min=spec.physical[0],
            physical_max=spec.physical[1],
            plausible=bool(lo - 1e-9 <= v <= hi + 1e-9),
        )

    def summary(f):
        return {
            "values": f["values"],
            "errors": f["errors"],
            "chi2": f["chi2"],
            "prediction_meV": list(map(float, f["prediction"])),
            "success": f["success"],
        }

    chi2 = chosen["chi2"]
    return MechanismFit(
        name=combo.name,
        components=tuple(m.name for m in mechs),
        parameters=params,
        chi2=chi2,
        dof=dof,
        aic=chi2 + 2 * k,
        bic=chi2 + k * math.log(n),
        verdict=verdict,
        p_value=p,
        prediction_meV=tuple(map(float, chosen["prediction"])),
        bounded=summary(bounded),
        unbounded=summary(unbounded),
        success=bool(chosen["success"]),
        warnings=tuple(msgs),
        fit_result=chosen["result"],
    )


# ----------------------------------------------------------------------------- many mechanisms


def explain(
    table: ShiftTable,
    mechanisms=None,
    *,
    pairs: bool = True,
    context: ExplainContext | None = None,
    strict: bool = False,
    progress=None,
) -> ExplainResult:
    """Fit every mechanism and every pair to a shift table and judge them.

    Parameters
    ----------
    table : ShiftTable
    mechanisms : sequence of str, optional
        Names (default: every registered mechanism).
    pairs : bool
        Also fit every pair (shifts add).
    context : ExplainContext, optional
    strict : bool
        Raise (InputError) when a requested *single* mechanism has more
        parameters than the table has rows, instead of listing it under
        ``not_fitted``.  Pairs with too many parameters are always listed there.
    progress : callable, optional
        Called with (done, total, name).

    Returns
    -------
    ExplainResult
    """
    with single_thread_blas():
        return _explain(
            table, mechanisms, pairs=pairs, context=context, strict=strict, progress=progress
        )


def _explain(table, mechanisms, *, pairs, context, strict, progress) -> ExplainResult:
    names = list(available_mechanisms() if mechanisms is None else mechanisms)
    if not names:
        raise OptionError("no mechanisms to fit", "--mechanisms")
    if len(set(names)) != len(names):
        raise OptionError("a mechanism is named twice", "--mechanisms")
    mechs = [get_mechanism(n) for n in names]
    context = context_from_parameters() if context is None else context
    predictor = _Predictor(table.conditions, context)
    n = len(table)
    combos = [(m,) for m in mechs]
    if pairs:
        combos += list(itertools.combinations(mechs, 2))
    todo, skipped = [], []
    for c in combos:
        k = sum(len(m.parameters) for m in c)
        name = "+".join(m.name for m in c)
        if k > n:
            if strict and len(c) == 1:
                raise InputError(
                    f"{n} shift(s) cannot fix the {k} parameters of {name}; give more rows "
                    "or leave it out with --mechanisms",
                    table.source,
                )
            skipped.append({"name": name, "reason": f"{k} parameters but only {n} shift(s)"})
        else:
            todo.append(c)
    if not todo:
        raise InputError(
            f"{n} shift(s) are fewer than the parameters of every mechanism requested", table.source
        )
    fits: dict[str, MechanismFit] = {}
    for i, c in enumerate(todo):
        name = "+".join(m.name for m in c)
        if progress:
            progress(i, len(todo), name)
        starts = None
        fits[name] = fit_mechanism(c, table, context, predictor=predictor, starts=starts)
        if len(c) == 1:
            for which in ("bounded", "unbounded"):
                predictor.single_fits[(name, which)] = {
                    spec.name: fits[name].values(which)[public]
                    for public, _, spec in _Combination(c).entries
                }
    if progress:
        progress(len(todo), len(todo), "done")
    ordered = list(fits.values())
    best = _best(ordered)
    from qdstack.physics.explain.compare import _ties, bilayer_check

    ties = _ties(ordered, best, table, context) if best else []
    msgs = []
    for f in ordered:
        msgs.extend(f.warnings)
    if table.extra:
        msgs.append(f"columns read but not used by any mechanism: {', '.join(sorted(table.extra))}")
    ctx = {
        "parameter_set": context.film.name,
        "edge_nm": context.edge_nm,
        "edge_sd_nm": context.edge_sd_nm,
        "material": f"{context.material.name} ({context.material.parameter_set})",
        "line_fwhm_meV": float(context.fwhm_meV(context.film.temperature_K)),
        "inhomogeneous_fwhm_meV": context.inhomogeneous_fwhm_meV,
        "readout": "peak top",
        "accept_p": ACCEPT_P,
        "delta_aic_tie": DELTA_AIC_TIE,
    }
    bil = {f.name: bilayer_check(f, context) for f in ordered}
    return ExplainResult(
        mechanisms=tuple(ordered),
        best=best,
        table=table,
        indistinguishable=tuple(ties),
        not_fitted=tuple(skipped),
        context=ctx,
        warnings=tuple(dict.fromkeys(msgs)),
        context_obj=context,
        bilayer=bil,
    )


def _best(fits: list[MechanismFit]) -> str:
    for verdict in ("explains", "implausible", "cannot"):
        cands = [f for f in fits if f.verdict == verdict]
        if cands:
            return min(cands, key=lambda f: f.aic).name
    return ""


# ----------------------------------------------------------------------------- closest inside the ranges


def closest_plausible(
    table: ShiftTable,
    mechanisms=None,
    *,
    pairs: bool = True,
    context: ExplainContext | None = None,
) -> list[dict]:
    """How close every mechanism and pair comes to a table *inside* its plausible ranges, closest first.

    :func:`explain` judges only what the table can fix (no more parameters than
    rows); the paper's two N = 8 shifts cannot fix a pair's three or four
    parameters.  The closest a combination comes inside its plausible box is
    still well defined: the bounded chi-square minimum.  Each combination is
    fitted with lmfit inside its plausible ranges only (trust-region
    ``least_squares``, which accepts fewer rows than parameters), from the best
    point of a 5-per-parameter grid over the box; no verdict is given.

    Returns
    -------
    list of dict
        ``{"name", "components", "values", "chi2", "aic", "prediction_meV",
        "at_bound", "ranges", "least_effect"}``, sorted by ``AIC = chi2 + 2k`` (as
        in :func:`explain`: a pair must come closer than its better component by
        more than its extra parameters are worth).  ``at_bound``: parameters within 0.1 % of the range at a
        plausible bound; ``ranges``: ``{parameter: [min, max, source]}`` from
        the mechanisms' :class:`~qdstack.physics.explain.base.ParameterSpec`;
        ``least_effect``: per component, the grid point of its plausible range
        where it shifts the table least (its "off" state, as for pairs in
        :func:`explain`).
    """
    with single_thread_blas():
        names = list(available_mechanisms() if mechanisms is None else mechanisms)
        mechs = [get_mechanism(n) for n in names]
        context = context_from_parameters() if context is None else context
        predictor = _Predictor(table.conditions, context)
        y, err = table.shift_meV, table.shift_meV_err
        combos = [(m,) for m in mechs]
        if pairs:
            combos += list(itertools.combinations(mechs, 2))
        off = {m.name: _least_effect(m, predictor, "bounded") for m in mechs}
        out = []
        for c in combos:
            combo = _Combination(c)
            fit_ = _fit_once(combo, predictor, y, err, "bounded", [], 5, method="least_squares")
            at_bound = []
            for public, _, spec in combo.entries:
                lo, hi = spec.plausible
                v = fit_["values"][public]
                if min(abs(v - lo), abs(v - hi)) <= 1e-3 * (hi - lo):
                    at_bound.append(public)
            out.append(
                {
                    "name": combo.name,
                    "components": [m.name for m in c],
                    "values": dict(fit_["values"]),
                    "chi2": float(fit_["chi2"]),
                    "aic": float(fit_["chi2"]) + 2 * len(combo.names),
                    "prediction_meV": list(map(float, fit_["prediction"])),
                    "at_bound": at_bound,
                    "ranges": {
                        public: [spec.plausible[0], spec.plausible[1], spec.source]
                        for public, _, spec in combo.entries
                    },
                    "least_effect": {m.name: off[m.name] for m in c},
                    "success": bool(fit_["success"]),
                }
            )
    out.sort(key=lambda d: (d["aic"], len(d["values"])))
    return out
