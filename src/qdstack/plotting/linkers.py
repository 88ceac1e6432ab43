"""Figure of a linker's conformers: anchor-anchor distance vs energy, with Boltzmann populations."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes
from qdstack.units import K_B_MEV_PER_K

__all__ = ["plot_conformers"]


def plot_conformers(geometry, ax=None):
    """Distinct minima of a linker: S-S distance vs energy above the lowest, area ~ population.

    Vertical lines mark the all-anti distance (what the film model uses), the Boltzmann
    mean at the geometry's temperature and, where the reference study states one, the
    paper's B3LYP/6-31G(d) distance; the dotted horizontal line is k_B T.

    Parameters
    ----------
    geometry : LinkerGeometry
        From :func:`qdstack.linkers.get_linker`.
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.

    Returns
    -------
    matplotlib Axes
    """
    ax = new_axes(ax)
    g = geometry
    d = np.asarray(g.ensemble_ss_distance_nm, dtype=float)
    e = np.asarray(g.ensemble_energy_meV, dtype=float)
    p = g.boltzmann_weights()
    what = "-".join(g.anchor_elements)
    ax.scatter(
        d,
        e,
        s=20 + 400 * p,
        color="C0",
        alpha=0.7,
        edgecolor="k",
        linewidth=0.5,
        label=f"{g.n_conformers} minima (area ~ population at {g.temperature_K:g} K)",
    )
    ax.axvline(
        g.anti_ss_distance_nm,
        color="C3",
        lw=1.5,
        label=f"all-anti {g.anti_ss_distance_nm:.3f} nm (+{g.anti_relative_energy_meV:.1f} meV)",
    )
    ax.axvline(
        g.boltzmann_ss_distance_nm,
        color="C2",
        lw=1.2,
        ls="--",
        label=f"Boltzmann mean {g.boltzmann_ss_distance_nm:.3f} nm",
    )
    if g.paper_ss_distance_nm is not None:
        ax.axvline(
            g.paper_ss_distance_nm,
            color="0.3",
            lw=1.2,
            ls=":",
            label=f"paper (B3LYP/6-31G(d)) {g.paper_ss_distance_nm:.2f} nm",
        )
    ax.axhline(
        K_B_MEV_PER_K * g.temperature_K,
        color="0.5",
        lw=0.8,
        ls=":",
        label=f"k_B T = {K_B_MEV_PER_K * g.temperature_K:.1f} meV",
    )
    # a rigid linker's minima differ by < 0.01 nm: show them on a 0.1 nm wide axis, not magnified
    xs = np.concatenate([d, [g.anti_ss_distance_nm, g.boltzmann_ss_distance_nm]])
    lo, hi = float(np.min(xs)), float(np.max(xs))
    if hi - lo < 0.1:
        mid = 0.5 * (lo + hi)
        ax.set_xlim(mid - 0.05, mid + 0.05)
    ax.set_xlabel(f"{what} distance (nm)")
    ax.set_ylabel("energy above the lowest minimum (meV)")
    ax.set_title(f"{g.name} ({g.method}): conformers", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    return ax
