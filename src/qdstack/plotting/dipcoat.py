"""Figures of the dip-coating analysis (:mod:`qdstack.analysis.dipcoat`)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = ["plot_dipcoat", "plot_trend"]

_YLABEL = {"od": "OD at the first excitonic peak", "coverage": "coverage (fraction of a monolayer)"}


def plot_dipcoat(fit, ax=None):
    """Amount vs withdrawal speed (log axes), the fitted law, its two terms, the minimum and the target."""
    ax = new_axes(ax)
    u = np.asarray(fit.speed_mm_per_s)
    y = np.asarray(fit.amount)
    grid = np.geomspace(u.min() / 2, u.max() * 2, 400)
    yg = fit.predict(grid)
    band = fit.band(grid)
    colors = {"capillary": "#2a5caa", "draining": "#c0392b"}
    for reg in ("capillary", "draining"):
        m = np.array([r == reg for r in fit.regimes])
        if m.any():
            err = None if fit.amount_err is None else np.asarray(fit.amount_err)[m]
            ax.errorbar(
                u[m],
                y[m],
                yerr=err,
                fmt="o",
                color=colors[reg],
                ms=5,
                capsize=2,
                label=f"{reg} regime ({int(m.sum())})",
            )
    ax.plot(grid, yg, color="k", lw=1.4, label="c/U + d U^(2/3)")
    ax.fill_between(
        grid, yg - 1.96 * band, yg + 1.96 * band, color="k", alpha=0.12, lw=0, label="95 % band"
    )
    ax.plot(
        grid,
        fit.capillary_coef / grid,
        ls=":",
        color=colors["capillary"],
        lw=1,
        label="capillary term",
    )
    ax.plot(
        grid,
        fit.draining_coef * grid ** (2 / 3),
        ls=":",
        color=colors["draining"],
        lw=1,
        label="draining term",
    )
    if fit.minimum_speed_mm_per_s is not None:
        ax.axvline(
            fit.minimum_speed_mm_per_s,
            color="#7f8c8d",
            lw=1,
            ls="--",
            label=f"minimum {fit.minimum_speed_mm_per_s:.3g} mm/s",
        )
    if fit.target is not None:
        ax.axhline(fit.target, color="#27ae60", lw=1, ls="-.", label=f"target {fit.target:g}")
        for s in fit.solutions:
            lo, hi = s["interval95_mm_per_s"]
            ax.axvspan(lo, hi, color="#27ae60", alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ymin, ymax = float(np.min(y)), float(np.max(y))
    ax.set_ylim(ymin / 2, ymax * 2)
    ax.set_xlabel("withdrawal speed U (mm/s)")
    ax.set_ylabel(_YLABEL.get(fit.quantity, fit.quantity))
    ax.set_title("Dip coating (Faustini et al. 2010)")
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_trend(fit, ax=None):
    """Amount vs an additive fraction with the empirical polynomial trend."""
    ax = new_axes(ax)
    x = np.asarray(fit.x)
    y = np.asarray(fit.amount)
    err = None if fit.amount_err is None else np.asarray(fit.amount_err)
    ax.errorbar(x, y, yerr=err, fmt="o", color="#2a5caa", capsize=2, label="measured")
    grid = np.linspace(x.min(), x.max(), 300)
    ax.plot(
        grid, fit.predict(grid), color="k", label=f"polynomial, degree {fit.degree} (empirical)"
    )
    if fit.target is not None:
        ax.axhline(fit.target, color="#27ae60", ls="-.", lw=1, label=f"target {fit.target:g}")
        for v in fit.x_for_target or ():
            ax.axvline(v, color="#27ae60", lw=1, ls=":")
    ax.set_xlabel(fit.x_column)
    ax.set_ylabel(_YLABEL.get(fit.quantity, fit.quantity))
    ax.legend(fontsize=8)
    return ax
