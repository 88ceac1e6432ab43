"""Row roles of a comparison: what a row rests on, and whether it is a calibration input, a consistency check or a prediction.

Part of :mod:`qdstack.study.comparison` (the rules are described there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

KINDS = ("prediction", "consistency", "calibration input")

# ----------------------------------------------------------------------------- roles


@dataclass(frozen=True)
class ModelInputs:
    """Which model parameters were fitted to / set from which numbers of the paper.

    Attributes
    ----------
    fitted : dict
        Parameter -> paper ids it was adjusted to reproduce.
    set_from : dict
        Parameter -> paper ids (or other parameters, ``param:<name>``) it was computed from.
    """

    fitted: dict = field(default_factory=dict)
    set_from: dict = field(default_factory=dict)

    @classmethod
    def from_parameters(cls, params) -> "ModelInputs":
        """From a parameter set's ``provenance["reference_inputs"]`` (written by make_enomoto2024)."""
        ri = (getattr(params, "provenance", None) or {}).get("reference_inputs") or {}
        return cls(
            {k: list(v) for k, v in (ri.get("fitted") or {}).items()},
            {k: list(v) for k, v in (ri.get("set_from") or {}).items()},
        )

    def with_(self, *, fitted: dict | None = None, set_from: dict | None = None) -> "ModelInputs":
        """A copy with some parameters' sources replaced (``[]`` or text: from no paper number)."""
        f = dict(self.fitted)
        s = dict(self.set_from)
        for k, v in (fitted or {}).items():
            s.pop(k, None)
            f[k] = list(v)
        for k, v in (set_from or {}).items():
            f.pop(k, None)
            s[k] = list(v)
        return ModelInputs(f, s)

    def to_dict(self) -> dict:
        return {"fitted": self.fitted, "set_from": self.set_from}


def paper_closure(depends_on, inputs: ModelInputs) -> tuple[set, set]:
    """Paper ids a row's value rests on: (all of them, those reached through a fitted parameter)."""
    everything: set = set()
    fitted: set = set()
    seen: set = set()
    stack = [(d, False) for d in depends_on]
    while stack:
        item, via_fit = stack.pop()
        if (item, via_fit) in seen:
            continue
        seen.add((item, via_fit))
        if item.startswith("paper:"):
            pid = item.split(":", 1)[1]
            everything.add(pid)
            if via_fit:
                fitted.add(pid)
        elif item.startswith("param:"):
            name = item.split(":", 1)[1]
            for src in inputs.fitted.get(name, ()):
                stack.append((src if ":" in src else f"paper:{src}", True))
            for src in inputs.set_from.get(name, ()):
                stack.append((src if ":" in src else f"paper:{src}", via_fit))
    return everything, fitted


def derive_kind(paper_ids, depends_on, inputs: ModelInputs, reference) -> str:
    """The role of a row (module docstring): calibration input, consistency or prediction."""
    used, fitted = paper_closure(depends_on, inputs)
    targets = set(paper_ids)
    if targets & fitted:
        return "calibration input"
    own = {reference[p].quantity for p in targets}
    if any(reference[p].quantity in own for p in used if p in reference):
        return "consistency"
    return "prediction"


def make_row(
    quantity: str,
    *,
    paper_ids,
    paper: float,
    paper_err: float,
    paper_err_means: str,
    qdstack: float,
    qdstack_err: float,
    unit: str,
    depends_on,
    inputs: ModelInputs,
    reference,
    how: str,
    tolerance: float | None = None,
    agrees: bool | None = None,
    relation: str = "=",
    **extra,
) -> dict:
    """One comparison row (the contract's keys plus ``kind``, ``depends_on`` and the uncertainty budget)."""
    paper, qdstack = float(paper), float(qdstack)
    paper_err = float(paper_err)
    qdstack_err = (
        float(qdstack_err) if qdstack_err is not None and math.isfinite(qdstack_err) else 0.0
    )
    if tolerance is None:
        tolerance = 2.0 * math.hypot(paper_err, qdstack_err)
    tolerance = float(tolerance)
    if agrees is None:
        agrees = math.isfinite(qdstack) and abs(qdstack - paper) <= tolerance
    kind = derive_kind(paper_ids, depends_on, inputs, reference)
    where = "; ".join(dict.fromkeys(reference[p].where for p in paper_ids))
    return {
        "quantity": quantity,
        "paper": paper,
        "qdstack": qdstack,
        "unit": unit,
        "tolerance": tolerance,
        "agrees": bool(agrees),
        "kind": kind,
        "depends_on": list(depends_on),
        "paper_ids": list(paper_ids),
        "paper_err": paper_err,
        "paper_err_means": paper_err_means,
        "qdstack_err": qdstack_err,
        "relation": relation,
        "source": how,
        "where": where,
        **extra,
    }


def summarise(rows: list[dict]) -> dict:
    """Mark each row ``counted`` (each paper number once per role) and count; the contract's summary."""
    used: dict = {k: set() for k in KINDS}
    for r in rows:
        ids = set(r["paper_ids"])
        r["counted"] = not ids <= used[r["kind"]]
        used[r["kind"]] |= ids
    c = [r for r in rows if r["counted"]]
    return {
        "independent_predictions": sum(r["kind"] == "prediction" for r in c),
        "predictions_agree": sum(r["kind"] == "prediction" and r["agrees"] for r in c),
        "consistency_checks": sum(r["kind"] == "consistency" for r in c),
        "consistency_agree": sum(r["kind"] == "consistency" and r["agrees"] for r in c),
        "calibration_inputs": sum(r["kind"] == "calibration input" for r in c),
        "calibration_inputs_read_back": sum(
            r["kind"] == "calibration input" and r["agrees"] for r in c
        ),
        "rows_not_counted": [r["quantity"] for r in rows if not r["counted"]],
    }


def headline(summary: dict) -> str:
    """'k of m independent predictions agree; c consistency checks pass; i calibration inputs'."""
    return (
        f"{summary['predictions_agree']} of {summary['independent_predictions']} independent predictions agree; "
        f"{summary['consistency_agree']} of {summary['consistency_checks']} consistency checks pass; "
        f"{summary['calibration_inputs']} calibration inputs"
    )
