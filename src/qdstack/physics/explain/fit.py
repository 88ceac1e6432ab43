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
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table
from qdstack.errors import FitError, InputError, OptionError, QdstackError
from qdstack.physics.explain._reduced import single_thread_blas
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    context_from_parameters,
    get_mechanism,
    available_mechanisms,
)

__all__ = ["ShiftTable", "ParameterFit", "MechanismFit", "ExplainResult", "explain", "fit_mechanism",
           "make_table", "mechanism_curves", "separating_measurements",
           "ACCEPT_P", "DELTA_AIC_TIE"]

#: Smallest chi-square p-value of an acceptable fit.
ACCEPT_P = 0.01
#: Mechanisms within this AIC of the best explaining one cannot be told apart (Burnham & Anderson 2002).
DELTA_AIC_TIE = 2.0
#: Temperature of the separating "temperature" measurement [K].
LOW_T_K = 10.0


@dataclass(frozen=True)
class ShiftTable:
    """Measured first-peak shifts of N-layer films relative to their monolayer.

    Attributes
    ----------
    conditions : Conditions
        Gap, N and temperature of every row.
    shift_meV, shift_meV_err : ndarray
    labels : tuple of str
        The linker of each row (or ``"gap 0.55 nm"``).
    source : str
        The file (for error messages).
    extra : dict
        Columns read but not used by any mechanism (e.g. lifetimes).
    """

    conditions: Conditions
    shift_meV: np.ndarray
    shift_meV_err: np.ndarray
    labels: tuple[str, ...]
    source: str = "table"
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        y = np.asarray(self.shift_meV, dtype=float)
        e = np.asarray(self.shift_meV_err, dtype=float)
        if y.shape != (len(self.conditions),) or e.shape != y.shape:
            raise InputError("one shift and one error per row", self.source)
        if not np.all(np.isfinite(y)):
            raise InputError("the shifts must be finite numbers of meV", self.source)
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            raise InputError("the shift errors must be positive numbers of meV", self.source)
        if np.any(self.conditions.layers < 2):
            raise InputError("every row needs N >= 2 layers (the shift of N = 1 is zero by definition)",
                             self.source)
        if not np.all(self.conditions.gap_nm > 0):
            raise InputError("every gap must be a positive length", self.source)
        object.__setattr__(self, "shift_meV", y)
        object.__setattr__(self, "shift_meV_err", e)

    def __len__(self) -> int:
        return len(self.conditions)

    def rows(self) -> list[dict]:
        c = self.conditions
        return [{"linker": lab, "gap_nm": float(g), "layers": int(n), "temperature_K": float(t),
                 "shift_meV": float(y), "shift_meV_err": float(e)}
                for lab, g, n, t, y, e in zip(self.labels, c.gap_nm, c.layers, c.temperature_K,
                                              self.shift_meV, self.shift_meV_err)]


@dataclass(frozen=True)
class ParameterFit:
    value: float
    err: float
    plausible_min: float
    plausible_max: float
    at_bound: bool
    physical_min: float
    physical_max: float
    plausible: bool

    def to_dict(self) -> dict:
        return {"value": self.value, "err": self.err, "plausible_min": self.plausible_min,
                "plausible_max": self.plausible_max, "at_bound": self.at_bound,
                "physical_min": self.physical_min, "physical_max": self.physical_max,
                "plausible": self.plausible}


@dataclass(frozen=True)
class MechanismFit:
    """One mechanism (or pair) fitted to a table.

    ``parameters``/``chi2``/``aic`` are those of the fit the verdict rests on:
    the bounded fit for ``explains`` and ``cannot``... except that for
    ``implausible`` and ``cannot`` the unbounded fit is reported (the best the
    mechanism can do at all); both fits are in ``bounded`` and ``unbounded``.
    """

    name: str
    components: tuple[str, ...]
    parameters: dict
    chi2: float
    dof: int
    aic: float
    bic: float
    verdict: str
    p_value: float
    prediction_meV: tuple[float, ...]
    bounded: dict
    unbounded: dict
    success: bool
    warnings: tuple[str, ...] = ()
    fit_result: object = field(repr=False, compare=False, default=None)

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def values(self, which: str = "reported") -> dict:
        if which == "reported":
            return {k: p.value for k, p in self.parameters.items()}
        return dict((self.bounded if which == "bounded" else self.unbounded)["values"])

    def to_dict(self) -> dict:
        return {"name": self.name, "components": list(self.components),
                "parameters": {k: p.to_dict() for k, p in self.parameters.items()},
                "chi2": self.chi2, "dof": self.dof, "aic": self.aic, "bic": self.bic, "verdict": self.verdict,
                "p_value": self.p_value, "prediction_meV": list(self.prediction_meV),
                "bounded": self.bounded, "unbounded": self.unbounded, "success": self.success,
                "warnings": list(self.warnings)}


def _param_text(name, p) -> str:
    err = f" ± {p.err:.2g}" if math.isfinite(p.err) else ""
    flag = "" if p.plausible else f" (outside {p.plausible_min:g}-{p.plausible_max:g})"
    if p.at_bound and p.plausible:
        flag = " (at plausible bound)"
    return f"{name} = {p.value:.4g}{err}{flag}"


@dataclass(frozen=True)
class ExplainResult(Result):
    """Result of :func:`explain` (``to_dict()`` is the contract's JSON; ``summary()`` the CLI's tables;
    ``plot()`` the data with the best mechanism's curves)."""

    mechanisms: tuple[MechanismFit, ...]
    best: str
    table: ShiftTable
    indistinguishable: tuple[dict, ...]
    not_fitted: tuple[dict, ...]
    context: dict
    warnings: tuple[str, ...] = ()
    context_obj: object = field(repr=False, compare=False, default=None)
    bilayer: dict = field(default_factory=dict)

    def get(self, name: str) -> MechanismFit:
        for m in self.mechanisms:
            if m.name == name:
                return m
        raise KeyError(name)

    def summary_blocks(self):
        order = {"explains": 0, "implausible": 1, "cannot": 2}
        ctx = self.context
        head = (f"{len(self.table)} shifts ({self.table.source}); line FWHM {ctx['line_fwhm_meV']:.1f} meV, "
                f"readout: peak top; parameter set {ctx['parameter_set']}")
        mech = Table(
            "mechanisms (parameters of the fit the verdict rests on)",
            ("mechanism", "verdict", "chi2", "dof", "AIC", "BIC", "parameters"),
            tuple((m.name, m.verdict, f"{m.chi2:.3g}", str(m.dof), f"{m.aic:.3g}", f"{m.bic:.3g}",
                   "; ".join(_param_text(k, p) for k, p in m.parameters.items()))
                  for m in sorted(self.mechanisms, key=lambda m: (order[m.verdict], m.aic))),
            align=("l", "l", "r", "r", "r", "r", "l"),
        )
        singles = [m for m in self.mechanisms if len(m.components) == 1]
        data = Table(
            "data and predictions [meV]",
            ("linker", "N", "measured") + tuple(m.name for m in singles),
            tuple((r["linker"], str(r["layers"]), f"{r['shift_meV']:+.1f} ± {r['shift_meV_err']:.1f}",
                   *[f"{m.prediction_meV[i]:+.1f}" for m in singles])
                  for i, r in enumerate(self.table.rows())),
        )
        lines = [f"not fitted: {s['name']} ({s['reason']})" for s in self.not_fitted]
        for tie in self.indistinguishable:
            a, b = tie["mechanisms"]
            lines.append(f"cannot tell apart: {a} and {b} (Delta AIC {tie['delta_aic']:.2f})")
            for m in tie["separating_measurements"]:
                verb = "would separate them" if m["separates"] else "would not separate them"
                p = m["predictions_meV"]
                lines.append(f"  {m['kind']}: {m['linker']} N = {m['layers']} at {m['temperature_K']:g} K "
                             f"({a} {p[a]:+.1f} meV, {b} {p[b]:+.1f} meV; {verb})")
        if self.best:
            best = self.get(self.best)
            lines.append(f"best: {best.name} ({best.verdict}, AIC {best.aic:.3g})")
        return (head, mech, data, *lines)

    def _plot(self, ax):
        from qdstack.plotting.explain import plot_explain_mechanism

        return plot_explain_mechanism(self, self.best, mechanism_curves(self, self.best), ax=ax)

    def to_dict(self) -> dict:
        best = self.get(self.best) if self.best else None
        return {"mechanisms": [m.to_dict() for m in self.mechanisms], "best": self.best,
                "best_verdict": best.verdict if best else None,
                "indistinguishable": list(self.indistinguishable), "not_fitted": list(self.not_fitted),
                "bilayer_vs_distance": self.bilayer,
                "data": self.table.rows(), "context": self.context, "warnings": list(self.warnings)}


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


def _lmfit(combo: _Combination, predictor: _Predictor, y, err, start: dict, which: str):
    from lmfit import Model

    internal = [f"p{i}" for i in range(len(combo.names))]

    def func(index, **kw):
        vals = {combo.names[i]: kw[internal[i]] for i in range(len(internal))}
        return predictor.combination(combo, vals)[np.asarray(index, dtype=int)]

    params_sig = [inspect.Parameter("index", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params_sig += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=1.0) for n in internal]
    func.__signature__ = inspect.Signature(params_sig)
    func.__name__ = combo.name.replace("+", "_")
    model = Model(func, independent_vars=["index"])
    pars = model.make_params()
    for i, (public, _, spec) in enumerate(combo.entries):
        lo, hi = spec.plausible if which == "bounded" else spec.physical
        pad = 1e-4 * (hi - lo)  # a start exactly on a bound stalls the bounds transformation
        v = min(max(float(start[public]), lo + pad), hi - pad)
        pars[internal[i]].set(value=v, min=lo, max=hi)
    try:
        res = model.fit(y, pars, index=np.arange(len(y)), weights=1.0 / err, scale_covar=False,
                        fit_kws={"epsfcn": 1e-6, "xtol": 1e-8, "ftol": 1e-10}, max_nfev=300)
    except QdstackError:
        raise
    except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
        raise FitError(f"{combo.name}: the fit failed ({exc})", "explain") from None
    values = {combo.names[i]: float(res.params[internal[i]].value) for i in range(len(internal))}
    errors = {}
    for i, n in enumerate(combo.names):
        par = res.params[internal[i]]
        e = par.stderr
        at_limit = min(abs(par.value - par.min), abs(par.value - par.max)) <= 1e-6 * (par.max - par.min)
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


def _fit_once(combo, predictor, y, err, which, extra_starts, grid_n):
    starts = list(_grid_starts(combo, which, grid_n)) if grid_n else []
    starts += [s for s in extra_starts if s is not None]
    start, start_chi2 = _best_start(combo, predictor, y, err, starts)
    values, errors, res = _lmfit(combo, predictor, y, err, start, which)
    pred = predictor.combination(combo, values)
    chi2 = _chi2(pred, y, err)
    message = str(res.message)
    if chi2 > start_chi2 + 1e-9:  # the optimiser wandered off a better start: keep the start
        values, errors = dict(start), {k: math.nan for k in start}
        pred = predictor.combination(combo, values)
        chi2 = start_chi2
        message += " (the optimiser ended above its start; the best starting point is reported, without errors)"
    return {"values": values, "errors": errors, "chi2": chi2, "prediction": pred,
            "success": bool(res.success), "message": message, "result": res}


def fit_mechanism(mechanisms, table: ShiftTable, context: ExplainContext | None = None, *,
                  predictor: _Predictor | None = None, starts: dict | None = None) -> MechanismFit:
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
        raise InputError(f"{n} shift(s) cannot fix the {k} parameters of {combo.name} "
                         f"({', '.join(combo.names)}); give more rows", table.source)
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
        return {name: spec.plausible[0] - 1e-9 <= values[name] <= spec.plausible[1] + 1e-9
                for name, _, spec in combo.entries}

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
        msgs.append(f"{combo.name}: as many parameters as shifts (dof = 0): the table only tests whether the "
                    "parameters can reach the numbers, not the shape")
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
            value=v, err=chosen["errors"][name], plausible_min=lo, plausible_max=hi,
            at_bound=bool(abs(vb - lo) <= tol or abs(vb - hi) <= tol), physical_min=spec.physical[0],
            physical_max=spec.physical[1], plausible=bool(lo - 1e-9 <= v <= hi + 1e-9))

    def summary(f):
        return {"values": f["values"], "errors": f["errors"], "chi2": f["chi2"],
                "prediction_meV": list(map(float, f["prediction"])), "success": f["success"]}

    chi2 = chosen["chi2"]
    return MechanismFit(
        name=combo.name, components=tuple(m.name for m in mechs), parameters=params, chi2=chi2, dof=dof,
        aic=chi2 + 2 * k, bic=chi2 + k * math.log(n), verdict=verdict, p_value=p,
        prediction_meV=tuple(map(float, chosen["prediction"])), bounded=summary(bounded),
        unbounded=summary(unbounded), success=bool(chosen["success"]), warnings=tuple(msgs),
        fit_result=chosen["result"],
    )


# ----------------------------------------------------------------------------- many mechanisms


def explain(table: ShiftTable, mechanisms=None, *, pairs: bool = True, context: ExplainContext | None = None,
            strict: bool = False, progress=None) -> ExplainResult:
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
        return _explain(table, mechanisms, pairs=pairs, context=context, strict=strict, progress=progress)


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
                raise InputError(f"{n} shift(s) cannot fix the {k} parameters of {name}; give more rows "
                                 "or leave it out with --mechanisms", table.source)
            skipped.append({"name": name, "reason": f"{k} parameters but only {n} shift(s)"})
        else:
            todo.append(c)
    if not todo:
        raise InputError(f"{n} shift(s) are fewer than the parameters of every mechanism requested", table.source)
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
                    spec.name: fits[name].values(which)[public] for public, _, spec in _Combination(c).entries}
    if progress:
        progress(len(todo), len(todo), "done")
    ordered = list(fits.values())
    best = _best(ordered)
    ties = _ties(ordered, best, table, context) if best else []
    msgs = []
    for f in ordered:
        msgs.extend(f.warnings)
    if table.extra:
        msgs.append(f"columns read but not used by any mechanism: {', '.join(sorted(table.extra))}")
    ctx = {"parameter_set": context.film.name, "edge_nm": context.edge_nm, "edge_sd_nm": context.edge_sd_nm,
           "material": f"{context.material.name} ({context.material.parameter_set})",
           "line_fwhm_meV": float(context.fwhm_meV(context.film.temperature_K)),
           "inhomogeneous_fwhm_meV": context.inhomogeneous_fwhm_meV, "readout": "peak top",
           "accept_p": ACCEPT_P, "delta_aic_tie": DELTA_AIC_TIE}
    bil = {f.name: bilayer_check(f, context) for f in ordered}
    return ExplainResult(mechanisms=tuple(ordered), best=best, table=table, indistinguishable=tuple(ties),
                         not_fitted=tuple(skipped), context=ctx, warnings=tuple(dict.fromkeys(msgs)),
                         context_obj=context, bilayer=bil)


def bilayer_check(fit_: MechanismFit, context: ExplainContext) -> dict:
    """The bilayer shift of every built-in linker at a fit's parameters, and whether it decays exponentially.

    The reference study states (Fig. 4) that the monolayer-to-bilayer shift
    "decreases exponentially with increasing spacer length"; this predicts the
    N = 2 shift of each built-in linker (S-S gap) at the fitted parameters and fits
    ``|S| = A exp(-k d)`` (:func:`qdstack.analysis.coupling.fit_tunnelling_decay`,
    amplitude law).  ``exponential_decrease`` is true when k > 0 by more than two
    errors and r2 >= 0.9.
    """
    import warnings

    from qdstack.analysis.coupling import fit_tunnelling_decay
    from qdstack.linkers import builtin_linkers, linker_gap_nm

    names = [b.name for b in builtin_linkers()]
    gaps = np.array([linker_gap_nm(n) for n in names])
    cond = Conditions(gaps, np.full(gaps.size, 2), np.full(gaps.size, context.film.temperature_K))
    combo = _Combination(tuple(get_mechanism(m) for m in fit_.components))
    shifts = _Predictor(cond, context).combination(combo, fit_.values())
    out = {"linkers": names, "gap_nm": list(map(float, gaps)), "shift_meV": list(map(float, shifts)),
           "decay_per_nm": None, "decay_per_nm_err": None, "r2": None, "exponential_decrease": False}
    if np.all(np.abs(shifts) > 1e-9):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dec = fit_tunnelling_decay(gaps, shifts, law="amplitude", linkers=names)
            k, ke = float(dec.decay_per_nm), float(dec.decay_per_nm_err)
            out.update(decay_per_nm=k, decay_per_nm_err=ke, r2=float(dec.r2),
                       exponential_decrease=bool(k > 2 * (ke if math.isfinite(ke) else 0.0) and k > 0
                                                 and dec.r2 >= 0.9))
        except QdstackError:
            pass
    return out


def mechanism_curves(result: ExplainResult, name: str, *, which: str = "reported", max_layers: int | None = None):
    """S(N) of a fitted mechanism for N = 1..max_layers, one curve per (linker, temperature) of the table.

    Returns
    -------
    dict
        label -> (layers ndarray, shift_meV ndarray).
    """
    fit_ = result.get(name)
    table = result.table
    c = table.conditions
    n_max = int(max_layers or c.layers.max() + 2)
    layers = np.arange(1, n_max + 1)
    combo = _Combination(tuple(get_mechanism(m) for m in fit_.components))
    context = result.context_obj if result.context_obj is not None else context_from_parameters()
    out = {}
    seen = []
    for lab, g, t in zip(table.labels, c.gap_nm, c.temperature_K):
        key = (lab, round(float(t), 6))
        if key in seen:
            continue
        seen.append(key)
        cond = Conditions(np.full(n_max, g), layers, np.full(n_max, t))
        pred = _Predictor(cond, context).combination(combo, fit_.values(which))
        label = lab if len({round(float(x), 6) for x in c.temperature_K}) == 1 else f"{lab}, {t:g} K"
        out[label] = (layers, pred)
    return out


def _best(fits: list[MechanismFit]) -> str:
    for verdict in ("explains", "implausible", "cannot"):
        cands = [f for f in fits if f.verdict == verdict]
        if cands:
            return min(cands, key=lambda f: f.aic).name
    return ""


def _ties(fits, best_name, table, context) -> list[dict]:
    """Explaining mechanisms the table cannot tell from the best one, with the measurement that would.

    A rival ties when it also explains the table and either its AIC is within
    ``DELTA_AIC_TIE`` of the best or its best curve stays within two errors of the
    best one's at every measured point (then only the parameter count separates them).
    """
    by = {f.name: f for f in fits}
    best = by[best_name]
    if best.verdict != "explains":
        return []
    out = []
    for f in fits:
        if f.name == best.name or f.verdict != "explains":
            continue
        if set(best.components) < set(f.components) or set(f.components) < set(best.components):
            continue  # nested: the pair adds nothing the table needs (or the single suffices)
        d_aic = f.aic - best.aic
        gap = float(np.max(np.abs(np.subtract(f.prediction_meV, best.prediction_meV)) / table.shift_meV_err))
        if d_aic >= DELTA_AIC_TIE and gap >= 2.0:
            continue
        out.append({"mechanisms": [best.name, f.name], "delta_aic": d_aic, "max_difference_in_errors": gap,
                    "separating_measurements": separating_measurements(best, f, table, context)})
    return out


def _candidate_conditions(table: ShiftTable):
    from qdstack.linkers import builtin_linkers, linker_gap_nm

    c = table.conditions
    gaps = sorted({round(float(g), 6) for g in c.gap_nm})
    t0 = float(np.median(c.temperature_K))
    n_max = int(c.layers.max())
    have = {(round(float(g), 6), int(n)) for g, n in zip(c.gap_nm, c.layers)}
    label = {round(float(g), 6): lab for g, lab in zip(c.gap_nm, table.labels)}
    more = [("more layers", label[g], g, n, t0) for g in gaps for n in range(2, max(n_max, 8) + 5)
            if (g, n) not in have]
    other = []
    for b in builtin_linkers():
        g = round(float(linker_gap_nm(b.name)), 6)
        if all(abs(g - x) > 0.02 for x in gaps):
            other += [("another linker", b.name, g, n, t0) for n in sorted({2, n_max})]
    temp = [("temperature", label[g], g, n, LOW_T_K) for g, n in sorted(have)] if t0 > 2 * LOW_T_K else []
    return {"more layers": more, "another linker": other, "temperature": temp}


def separating_measurements(a: MechanismFit, b: MechanismFit, table: ShiftTable, context) -> list[dict]:
    """For each kind of new measurement, the one where the two best fits differ most."""
    typical = float(np.median(table.shift_meV_err))
    out = []
    for kind, cands in _candidate_conditions(table).items():
        if not cands:
            continue
        cond = Conditions([x[2] for x in cands], [x[3] for x in cands], [x[4] for x in cands])
        preds = []
        for f in (a, b):
            mechs = tuple(get_mechanism(m) for m in f.components)
            combo = _Combination(mechs)
            p = _Predictor(cond, context)
            preds.append(p.combination(combo, f.values()))
        diff = np.abs(preds[0] - preds[1])
        i = int(np.argmax(diff))
        kind_, label, g, n, t = cands[i]
        out.append({"kind": kind_, "linker": label, "gap_nm": float(g), "layers": int(n), "temperature_K": float(t),
                    "predictions_meV": {a.name: float(preds[0][i]), b.name: float(preds[1][i])},
                    "difference_meV": float(diff[i]), "difference_in_errors": float(diff[i] / typical),
                    "separates": bool(diff[i] > 3 * typical)})
    out.sort(key=lambda r: -r["difference_meV"])
    return out


def make_table(layers, shift_meV, shift_meV_err=None, *, linker=None, gap_nm=None, temperature_K=None,
               default_err_meV: float = 2.0, source: str = "table", extra: dict | None = None,
               gap_method: str = "mmff", period_nm=None, edge_nm: float = 6.8) -> ShiftTable:
    """Build a :class:`ShiftTable` from columns; linker names become gaps through the linker library.

    Parameters
    ----------
    layers, shift_meV : sequence
    shift_meV_err : sequence, optional
        NaN or missing entries take ``default_err_meV``.
    linker : sequence of str, optional
        Library names (``linker_gap_nm``: the S-S distance of the all-anti conformer).
    gap_nm : sequence of float, optional
        Gaps given directly (used where ``linker`` is absent or empty).
    temperature_K : sequence, optional
        Default: the parameter set's temperature (295 K).
    period_nm : sequence, optional
        Measured out-of-plane XRD periods: where given, the gap is ``period - edge_nm``
        (what the stacking leaves between the faces) instead of the linker's S-S distance.

    Raises
    ------
    InputError
        Unknown linker (naming it), rows with neither linker nor gap, bad numbers.
    """
    from qdstack.linkers import get_linker, linker_gap_nm

    n = len(layers)
    lay = np.asarray(layers, dtype=float)
    if not np.all(np.isfinite(lay)) or np.any(lay != np.round(lay)):
        raise InputError("layers must be whole numbers", source)
    gaps, labels = np.empty(n), []
    known: dict[str, tuple[float, str]] = {}
    for i in range(n):
        name = None if linker is None else linker[i]
        name = None if name is None or (isinstance(name, float) and math.isnan(name)) else str(name).strip()
        period = math.nan if period_nm is None else float(period_nm[i])
        if math.isfinite(period):
            g = period - float(edge_nm)
            if not g > 0:
                raise InputError(f"row {i + 1}: the XRD period {period:g} nm does not exceed the edge "
                                 f"{edge_nm:g} nm", source)
            gaps[i] = g
            labels.append(f"{name} (XRD)" if name else f"period {period:g} nm")
        elif name:
            if name not in known:
                try:
                    geom = get_linker(name, method=gap_method)
                except QdstackError as exc:
                    raise InputError(f"row {i + 1}: {name!r}: {getattr(exc, 'message', exc)}", source) from None
                known[name] = (float(linker_gap_nm(geom)), geom.name)
            gaps[i], lab = known[name]
            labels.append(lab)
        else:
            g = math.nan if gap_nm is None else float(gap_nm[i])
            if not (math.isfinite(g) and g > 0):
                raise InputError(f"row {i + 1}: neither a linker nor a positive gap_nm", source)
            gaps[i] = g
            labels.append(f"gap {g:g} nm")
    err = np.full(n, float(default_err_meV)) if shift_meV_err is None else np.asarray(shift_meV_err, float)
    err = np.where(np.isfinite(err), err, default_err_meV)
    if temperature_K is None:
        from qdstack.physics.film_model import load_parameter_set

        temperature_K = np.full(n, load_parameter_set("enomoto2024").temperature_K)
    temps = np.asarray(temperature_K, dtype=float)
    if not (np.all(np.isfinite(temps)) and np.all(temps > 0)):
        raise InputError("temperatures must be positive numbers of K", source)
    cond = Conditions(gaps, lay.astype(int), temps)
    return ShiftTable(cond, np.asarray(shift_meV, dtype=float), err, tuple(labels), source, dict(extra or {}))
