"""Results of :func:`qdstack.physics.explain.explain`: parameter fits, mechanism fits, the whole analysis."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qdstack._result import Result, Table
from qdstack.physics.explain.table import ShiftTable

__all__ = ["ParameterFit", "MechanismFit", "ExplainResult"]


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
        return {
            "value": self.value,
            "err": self.err,
            "plausible_min": self.plausible_min,
            "plausible_max": self.plausible_max,
            "at_bound": self.at_bound,
            "physical_min": self.physical_min,
            "physical_max": self.physical_max,
            "plausible": self.plausible,
        }


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
        return {
            "name": self.name,
            "components": list(self.components),
            "parameters": {k: p.to_dict() for k, p in self.parameters.items()},
            "chi2": self.chi2,
            "dof": self.dof,
            "aic": self.aic,
            "bic": self.bic,
            "verdict": self.verdict,
            "p_value": self.p_value,
            "prediction_meV": list(self.prediction_meV),
            "bounded": self.bounded,
            "unbounded": self.unbounded,
            "success": self.success,
            "warnings": list(self.warnings),
        }


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
        """The fit of one mechanism or pair (``"tunnelling"``, ``"dielectric+surface"``)."""
        for m in self.mechanisms:
            if m.name == name:
                return m
        raise KeyError(
            f"{name!r} was not fitted; fitted: {', '.join(m.name for m in self.mechanisms)}"
        )

    def summary_blocks(self):
        order = {"explains": 0, "implausible": 1, "cannot": 2}
        ctx = self.context
        head = (
            f"{len(self.table)} shifts ({self.table.source}); line FWHM {ctx['line_fwhm_meV']:.1f} meV, "
            f"readout: peak top; parameter set {ctx['parameter_set']}"
        )
        mech = Table(
            "mechanisms (parameters of the fit the verdict rests on)",
            ("mechanism", "verdict", "chi2", "dof", "AIC", "BIC", "parameters"),
            tuple(
                (
                    m.name,
                    m.verdict,
                    f"{m.chi2:.3g}",
                    str(m.dof),
                    f"{m.aic:.3g}",
                    f"{m.bic:.3g}",
                    "; ".join(_param_text(k, p) for k, p in m.parameters.items()),
                )
                for m in sorted(self.mechanisms, key=lambda m: (order[m.verdict], m.aic))
            ),
            align=("l", "l", "r", "r", "r", "r", "l"),
        )
        singles = [m for m in self.mechanisms if len(m.components) == 1]
        data = Table(
            "data and predictions [meV]",
            ("linker", "N", "measured") + tuple(m.name for m in singles),
            tuple(
                (
                    r["linker"],
                    str(r["layers"]),
                    f"{r['shift_meV']:+.1f} ± {r['shift_meV_err']:.1f}",
                    *[f"{m.prediction_meV[i]:+.1f}" for m in singles],
                )
                for i, r in enumerate(self.table.rows())
            ),
        )
        lines = [f"not fitted: {s['name']} ({s['reason']})" for s in self.not_fitted]
        for tie in self.indistinguishable:
            a, b = tie["mechanisms"]
            lines.append(f"cannot tell apart: {a} and {b} (Delta AIC {tie['delta_aic']:.2f})")
            for m in tie["separating_measurements"]:
                verb = "would separate them" if m["separates"] else "would not separate them"
                p = m["predictions_meV"]
                lines.append(
                    f"  {m['kind']}: {m['linker']} N = {m['layers']} at {m['temperature_K']:g} K "
                    f"({a} {p[a]:+.1f} meV, {b} {p[b]:+.1f} meV; {verb})"
                )
        if self.best:
            best = self.get(self.best)
            lines.append(f"best: {best.name} ({best.verdict}, AIC {best.aic:.3g})")
        return (head, mech, data, *lines)

    def plot(self, ax=None, *, mechanism: str | None = None, plausible: bool = True):
        """The measured shifts with one mechanism's fitted S(N); returns the matplotlib Figure.

        The figure ``qdstack explain --out`` writes for each mechanism.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Draw there instead of on a new figure.
        mechanism : str, optional
            A fitted mechanism or pair (default: the best one, ``best``).
        plausible : bool
            When the verdict rests on the unbounded refit, also draw the best fit inside
            the plausible ranges (dashed).
        """
        return self._plot_mechanism(ax, mechanism or self.best, plausible).figure

    def _plot(self, ax):
        return self._plot_mechanism(ax, self.best, True)

    def _plot_mechanism(self, ax, name: str, plausible: bool):
        from qdstack.physics.explain.compare import mechanism_curves
        from qdstack.plotting.explain import plot_explain_mechanism

        m = self.get(name)
        alt = None
        if plausible and m.verdict != "explains" and m.bounded["values"] != m.unbounded["values"]:
            alt = mechanism_curves(self, name, which="bounded")
        return plot_explain_mechanism(
            self, name, mechanism_curves(self, name), ax=ax, alt_curves=alt
        )

    def to_dict(self) -> dict:
        best = self.get(self.best) if self.best else None
        return {
            "mechanisms": [m.to_dict() for m in self.mechanisms],
            "best": self.best,
            "best_verdict": best.verdict if best else None,
            "indistinguishable": list(self.indistinguishable),
            "not_fitted": list(self.not_fitted),
            "bilayer_vs_distance": self.bilayer,
            "data": self.table.rows(),
            "context": self.context,
            "warnings": list(self.warnings),
        }
