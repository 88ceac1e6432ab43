"""Figures of the monolayer coverage (:mod:`qdstack.analysis.coverage`)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = ["plot_coverage_spectrum", "plot_coverage_edge"]


def _label(result) -> str:
    return (
        f"{result.dots_per_um2:,.0f} ± {result.dots_per_um2_err:,.0f} dots/µm²\n"
        f"coverage {result.coverage_fraction:.2f} ± {result.coverage_fraction_err:.2f}"
    )


def plot_coverage_spectrum(result, ax=None):
    """The absorption spectrum (OD vs wavelength) with the first-peak OD and the 400 nm OD marked.

    Needs a result of :func:`~qdstack.analysis.coverage.coverage_from_spectrum` (it keeps
    the spectrum).
    """
    from qdstack.units import HC_EV_NM

    if result.spectrum is None:
        raise ValueError("this result keeps no spectrum: use coverage_from_spectrum")
    ax = new_axes(ax)
    s = result.spectrum
    ax.plot(HC_EV_NM / s.energy_eV, s.intensity, color="k", lw=1.2, label="spectrum")
    if result.peak is not None:
        ax.plot(
            [result.peak.peak_nm],
            [result.peak.od],
            "o",
            color="#c0392b",
            label=f"first excitonic peak: OD {result.peak.od:.4g} at {result.peak.peak_nm:.1f} nm",
        )
    if result.od_3p1eV_read is not None:
        ax.plot(
            [400.0],
            [result.od_3p1eV_read],
            "s",
            color="#2a5caa",
            label=f"400 nm (3.1 eV): OD {result.od_3p1eV_read:.4g}",
        )
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("OD")
    ax.set_title(f"Monolayer coverage: {_label(result)}".replace("\n", "; "), fontsize=9)
    ax.legend(fontsize=8)
    return ax


def plot_coverage_edge(result, ax=None, spread: float = 0.25):
    """Coverage (± 1 s.e.) recomputed for cube edges within ``spread`` of the one given.

    The density scales as ``L^-3`` through the volume-scaled cross section and the
    close-packed density as ``(L + 2 s)^-2``: the TEM edge is the input the coverage
    depends on most.  The curve is :func:`~qdstack.analysis.coverage.monolayer_coverage`
    rerun with the result's own inputs at each edge.
    """
    from qdstack.analysis.coverage import monolayer_coverage

    ax = new_axes(ax)
    if not result.inputs:
        raise ValueError("this result keeps no inputs to recompute")
    edges = np.linspace(result.edge_nm * (1 - spread), result.edge_nm * (1 + spread), 41)
    kw = dict(result.inputs)
    kw.pop("edge_nm")
    cov, err = [], []
    for e in edges:
        r = monolayer_coverage(edge_nm=float(e), **kw)
        cov.append(r.coverage_fraction)
        err.append(r.coverage_fraction_err)
    cov, err = np.array(cov), np.array(err)
    ax.plot(edges, cov, color="k", lw=1.4, label="coverage")
    ax.fill_between(edges, cov - err, cov + err, color="k", alpha=0.12, lw=0, label="± 1 s.e.")
    ax.errorbar(
        [result.edge_nm],
        [result.coverage_fraction],
        xerr=[result.edge_err_nm],
        yerr=[result.coverage_fraction_err],
        fmt="o",
        color="#c0392b",
        capsize=3,
        label=_label(result).replace("\n", ", "),
    )
    ax.axhline(1.0, color="#7f8c8d", ls="--", lw=1, label="one close-packed layer")
    ax.set_xlabel("cube edge L (nm)")
    ax.set_ylabel("coverage (fraction of a close-packed layer)")
    ax.set_title("Coverage vs the assumed cube edge", fontsize=9)
    ax.legend(fontsize=8)
    return ax
