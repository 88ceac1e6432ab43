"""Figures of ``qdstack explain``: the measured shifts with a mechanism's best curves."""

from __future__ import annotations

from qdstack.plotting._base import new_axes

__all__ = ["plot_explain_mechanism"]


def plot_explain_mechanism(
    result,
    name: str,
    curves: dict,
    ax=None,
    *,
    alt_curves: dict | None = None,
    alt_label: str = "dashed: best inside the plausible ranges",
):
    """Measured S(N) (points with error bars) and the fitted S(N) of one mechanism (lines).

    Parameters
    ----------
    result : ExplainResult
    name : str
        Mechanism (or pair) name.
    curves : dict
        label -> (layers, shift_meV) of the reported fit (:func:`mechanism_curves`).
    alt_curves : dict, optional
        The same for another fit (the bounded one when the verdict rests on the
        unbounded refit), drawn dashed.
    alt_label : str
        What the dashed lines are.
    """
    ax = new_axes(ax)
    fit_ = result.get(name)
    table = result.table
    c = table.conditions
    colors = {}
    multi_t = len({round(float(t), 6) for t in c.temperature_K}) > 1
    for i, (label, (n, s)) in enumerate(curves.items()):
        color = f"C{i % 10}"
        colors[label] = color
        ax.plot(n, s, "-", color=color, lw=1.6, label=label)
        if alt_curves and label in alt_curves:
            un, us = alt_curves[label]
            ax.plot(un, us, "--", color=color, lw=1.0, alpha=0.8)
    for lab, n, t, y, e in zip(
        table.labels, c.layers, c.temperature_K, table.shift_meV, table.shift_meV_err
    ):
        label = f"{lab}, {t:g} K" if multi_t else lab
        ax.errorbar([n], [y], yerr=[e], fmt="o", color=colors.get(label, "k"), ms=5, capsize=3)
    ax.axhline(0.0, color="0.6", lw=0.6)
    params = ", ".join(
        f"{k} = {p.value:.3g}" + ("" if p.plausible else " (!)") for k, p in fit_.parameters.items()
    )
    ax.set_title(
        f"{name}: {fit_.verdict}, chi2 = {fit_.chi2:.3g} (dof {fit_.dof})\n{params}", fontsize=9
    )
    ax.set_xlabel("layers N")
    ax.set_ylabel("shift of the first peak (meV)")
    ax.legend(
        fontsize=8,
        title="solid: reported fit" + (f"\n{alt_label}" if alt_curves else ""),
        title_fontsize=8,
    )
    return ax
