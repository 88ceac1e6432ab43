"""Comparing fitted mechanisms: ties and the measurements that would separate them, the bilayer
check of the paper's Fig. 4 statement, and S(N) curves of a fit."""

from __future__ import annotations

import math

import numpy as np

from qdstack.errors import QdstackError
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    context_from_parameters,
    get_mechanism,
)
from qdstack.physics.explain.fit import DELTA_AIC_TIE, LOW_T_K, _Combination, _Predictor
from qdstack.physics.explain.result import ExplainResult, MechanismFit
from qdstack.physics.explain.table import ShiftTable

__all__ = ["bilayer_check", "mechanism_curves", "separating_measurements"]


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
    out = {
        "linkers": names,
        "gap_nm": list(map(float, gaps)),
        "shift_meV": list(map(float, shifts)),
        "decay_per_nm": None,
        "decay_per_nm_err": None,
        "r2": None,
        "exponential_decrease": False,
    }
    if np.all(np.abs(shifts) > 1e-9):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dec = fit_tunnelling_decay(gaps, shifts, law="amplitude", linkers=names)
            k, ke = float(dec.decay_per_nm), float(dec.decay_per_nm_err)
            out.update(
                decay_per_nm=k,
                decay_per_nm_err=ke,
                r2=float(dec.r2),
                exponential_decrease=bool(
                    k > 2 * (ke if math.isfinite(ke) else 0.0) and k > 0 and dec.r2 >= 0.9
                ),
            )
        except QdstackError:
            pass
    return out


def mechanism_curves(
    result: ExplainResult, name: str, *, which: str = "reported", max_layers: int | None = None
):
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
        label = (
            lab if len({round(float(x), 6) for x in c.temperature_K}) == 1 else f"{lab}, {t:g} K"
        )
        out[label] = (layers, pred)
    return out


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
        gap = float(
            np.max(np.abs(np.subtract(f.prediction_meV, best.prediction_meV)) / table.shift_meV_err)
        )
        if d_aic >= DELTA_AIC_TIE and gap >= 2.0:
            continue
        out.append(
            {
                "mechanisms": [best.name, f.name],
                "delta_aic": d_aic,
                "max_difference_in_errors": gap,
                "separating_measurements": separating_measurements(best, f, table, context),
            }
        )
    return out


def _candidate_conditions(table: ShiftTable):
    from qdstack.linkers import builtin_linkers, linker_gap_nm

    c = table.conditions
    gaps = sorted({round(float(g), 6) for g in c.gap_nm})
    t0 = float(np.median(c.temperature_K))
    n_max = int(c.layers.max())
    have = {(round(float(g), 6), int(n)) for g, n in zip(c.gap_nm, c.layers)}
    label = {round(float(g), 6): lab for g, lab in zip(c.gap_nm, table.labels)}
    more = [
        ("more layers", label[g], g, n, t0)
        for g in gaps
        for n in range(2, max(n_max, 8) + 5)
        if (g, n) not in have
    ]
    other = []
    for b in builtin_linkers():
        g = round(float(linker_gap_nm(b.name)), 6)
        if all(abs(g - x) > 0.02 for x in gaps):
            other += [("another linker", b.name, g, n, t0) for n in sorted({2, n_max})]
    temp = (
        [("temperature", label[g], g, n, LOW_T_K) for g, n in sorted(have)]
        if t0 > 2 * LOW_T_K
        else []
    )
    return {"more layers": more, "another linker": other, "temperature": temp}


def separating_measurements(
    a: MechanismFit, b: MechanismFit, table: ShiftTable, context
) -> list[dict]:
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
        out.append(
            {
                "kind": kind_,
                "linker": label,
                "gap_nm": float(g),
                "layers": int(n),
                "temperature_K": float(t),
                "predictions_meV": {a.name: float(preds[0][i]), b.name: float(preds[1][i])},
                "difference_meV": float(diff[i]),
                "difference_in_errors": float(diff[i] / typical),
                "separates": bool(diff[i] > 3 * typical),
            }
        )
    out.sort(key=lambda r: -r["difference_meV"])
    return out
