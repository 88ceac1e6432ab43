"""Figures of coupled-dot results: the level diagram and wavefunction slices."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes, new_figure

__all__ = ["plot_dot_levels", "plot_dot_wavefunction", "plot_dot_wavefunctions"]


def plot_dot_levels(result, ax=None):
    """Energy levels of a :class:`~qdstack.physics.coupled_dots.DotsResult` (3D and 1D separable).

    Each 3D level is a solid line labelled with its mirror parity (x, y, z) and
    error estimate; the 1D separable estimate of the same states is dashed.
    """
    ax = new_axes(ax)
    for i, (e, err, par) in enumerate(
        zip(result.energies_meV, result.energies_converged_meV, result.parities)
    ):
        ax.hlines(e, 0.05, 0.45, color="C0", lw=2)
        ax.annotate(f"{par}  {e:.3f} ± {err:.1g}", (0.47, e), va="center", fontsize=8)
    for e in result.separable_meV or ():
        ax.hlines(e, 0.55 + 0.3, 0.95 + 0.3, color="C1", lw=1.5, ls="--")
    ax.set_xlim(0, 1.35)
    ax.set_xticks([0.25, 1.05])
    ax.set_xticklabels(["3D (extrapolated)", "1D separable"])
    ax.set_ylabel("energy above the dot band edge (meV)")
    title = f"{result.system.count} dot(s)"
    if result.coupling_meV is not None:
        title += f": coupling {result.coupling_meV:.3f} meV"
    ax.set_title(title)
    return ax


def plot_dot_wavefunction(result, state: int = 0, plane: str = "xz", ax=None):
    """Envelope of one state on a plane through the dots' centre (finest grid)."""
    ax = new_axes(ax)
    u, v, psi, cut = result.wavefunction_slice(state, plane)
    lim = float(np.max(np.abs(psi))) or 1.0
    ax.pcolormesh(u, v, psi.T, cmap="RdBu_r", vmin=-lim, vmax=lim, shading="nearest")
    a, b = plane[0], plane[1]
    axes = {"x": 0, "y": 1, "z": 2}
    for d in result.system.dots:
        lo, hi = d.lo_nm, d.hi_nm
        ia, ib = axes[a], axes[b]
        ax.plot(
            [lo[ia], hi[ia], hi[ia], lo[ia], lo[ia]],
            [lo[ib], lo[ib], hi[ib], hi[ib], lo[ib]],
            color="k",
            lw=0.6,
        )
    ax.set_aspect("equal")
    ax.set_xlabel(f"{a} (nm)")
    ax.set_ylabel(f"{b} (nm)")
    third = ({"x", "y", "z"} - {a, b}).pop()
    ax.set_title(
        f"state {state + 1} ({result.parities[state]}), {result.energies_meV[state]:.2f} meV\n"
        f"cut at {third} = {cut:.2f} nm",
        fontsize=9,
    )
    return ax


def plot_dot_wavefunctions(result, plane: str = "xz", max_states: int = 4):
    """A Figure with the envelopes of the lowest states side by side."""
    n = min(max_states, len(result.energies_meV))
    fig, axes = new_figure(1, n, figsize=(3.2 * n, 4.4), squeeze=False)
    for i in range(n):
        plot_dot_wavefunction(result, i, plane, ax=axes[0, i])
    return fig
