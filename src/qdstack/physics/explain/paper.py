"""The explain table of the reference study's own numbers (used by ``qdstack reproduce enomoto2024``)."""

from __future__ import annotations

__all__ = ["explain_paper", "explain_rows"]


def explain_paper(context=None):
    """:func:`~qdstack.physics.explain.explain` on the shifts the reference study states as numbers.

    The two N = 8 shifts of Enomoto et al. 2024 (-44.0 meV C3DT, -14.2 meV C10DT, with the
    errors of the reference table, :func:`qdstack.physics.film_model.calibration.reference_shifts`),
    every mechanism (pairs need more than two numbers and are listed as not fitted).
    """
    from qdstack.physics.explain.fit import explain, make_table
    from qdstack.physics.film_model.calibration import reference_shifts

    PAPER_SHIFTS = reference_shifts("enomoto2024")

    table = make_table(
        [m.layers for m in PAPER_SHIFTS],
        [m.shift_meV for m in PAPER_SHIFTS],
        [m.shift_meV_err for m in PAPER_SHIFTS],
        linker=[m.linker for m in PAPER_SHIFTS],
        source="Enomoto et al. 2024 (N = 8 shifts)",
    )
    return explain(table, context=context)


def explain_rows(result) -> list[dict]:
    """One plain row per fitted mechanism for reports: verdict, chi2, parameters, predictions, bilayer check."""
    rows = []
    for m in result.mechanisms:
        bil = result.bilayer.get(m.name, {})
        rows.append(
            {
                "mechanism": m.name,
                "verdict": m.verdict,
                "chi2": m.chi2,
                "dof": m.dof,
                "aic": m.aic,
                "parameters": "; ".join(
                    f"{k} = {p.value:.3g}"
                    + (
                        ""
                        if p.plausible
                        else f" (plausible {p.plausible_min:g}-{p.plausible_max:g})"
                    )
                    for k, p in m.parameters.items()
                ),
                "prediction_meV": list(m.prediction_meV),
                "plausible_parameters": "; ".join(
                    f"{k} = {v:.3g}" for k, v in m.bounded["values"].items()
                ),
                "plausible_prediction_meV": list(m.bounded["prediction_meV"]),
                "plausible_chi2": m.bounded["chi2"],
                "bilayer_decay_per_nm": bil.get("decay_per_nm"),
                "bilayer_exponential_decrease": bil.get("exponential_decrease"),
            }
        )
    return rows
