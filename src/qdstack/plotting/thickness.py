"""Figure of the film thickness estimate (:mod:`qdstack.analysis.thickness`)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = ["plot_thickness"]


def plot_thickness(result, ax=None):
    """Thickness vs layer count, T = N (L + D) with its ± 1 s.e. band, and the measured thickness.

    The line and band are :func:`~qdstack.analysis.thickness.film_thickness` rerun with the
    result's own edge, gap, errors and propagation at every N from 1 to 1.5 N.
    """
    from qdstack.analysis.thickness import film_thickness

    ax = new_axes(ax)
    ns = np.arange(1, max(int(1.5 * result.layers), result.layers + 2) + 1)
    runs = [
        film_thickness(
            int(n),
            result.edge_nm,
            result.gap_nm,
            edge_sd_nm=result.edge_sd_nm,
            gap_err_nm=result.gap_err_nm,
            propagation=result.propagation,
            columns=result.columns,
            gap_source=result.gap_source,
        )
        for n in ns
    ]
    t = np.array([r.thickness_nm for r in runs])
    e = np.array([r.thickness_nm_err for r in runs])
    ax.plot(ns, t, color="k", lw=1.4, label=f"N × (L + D), period {result.period_nm:.3f} nm")
    ax.fill_between(ns, t - e, t + e, color="k", alpha=0.15, lw=0, label="± 1 s.e.")
    ax.errorbar(
        [result.layers],
        [result.thickness_nm],
        yerr=[result.thickness_nm_err],
        fmt="o",
        color="k",
        capsize=3,
        label=f"N = {result.layers}: {result.thickness_nm:.1f} ± {result.thickness_nm_err:.1f} nm",
    )
    if result.measured_nm is not None:
        z = "" if result.z_score is None else f" (z = {result.z_score:+.2f})"
        ax.errorbar(
            [result.layers],
            [result.measured_nm],
            yerr=None if result.measured_err_nm is None else [result.measured_err_nm],
            fmt="s",
            color="#c0392b",
            capsize=3,
            label=f"measured {result.measured_nm:g} nm{z}",
        )
    ax.set_xlabel("layers N")
    ax.set_ylabel("film thickness (nm)")
    src = "" if result.gap_source == "--gap-nm" else f" from {result.gap_source}"
    ax.set_title(
        f"Thickness of a layer-by-layer film: edge {result.edge_nm:g} nm, gap {result.gap_nm:.3f} nm{src}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return ax
