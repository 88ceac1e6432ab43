"""Figures of coupled-dot results: the level diagram and wavefunction slices."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes, new_figure

__all__ = [
    "plot_dot_levels",
    "plot_dot_wavefunction",
    "plot_dot_wavefunctions",
    "plot_single_dot_exciton",
]


def plot_dot_levels(result, ax=None):
    """Energy levels of a :class:`~qdstack.physics.coupled_dots.DotsResult` (3D and 1D separable).

    Each 3D level is a solid line labelled with its mirror parity (x, y, z) and
    error estimate; the 1D separable estimate of the same states, where there is one
    (a column of identical cubes), is dashed beside them.
    """
    ax = new_axes(ax)
    for i, (e, err, par) in enumerate(
        zip(result.energies_meV, result.energies_converged_meV, result.parities)
    ):
        ax.hlines(e, 0.05, 0.45, color="C0", lw=2)
        ax.annotate(f"{par}  {e:.3f} ± {err:.1g}", (0.47, e), va="center", fontsize=8)
    if result.separable_meV is not None:
        for e in result.separable_meV:
            ax.hlines(e, 0.55 + 0.3, 0.95 + 0.3, color="C1", lw=1.5, ls="--")
        ax.set_xlim(0, 1.35)
        ax.set_xticks([0.25, 1.05])
        ax.set_xticklabels(["3D (extrapolated)", "1D separable"])
    else:  # no separable estimate (cubes of different sizes, in-plane blocks): one column
        ax.set_xlim(0, 0.9)
        ax.set_xticks([0.25])
        ax.set_xticklabels(["3D (extrapolated)"])
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


def plot_single_dot_exciton(exc, ax=None):
    """The first exciton of one dot as an energy budget (waterfall), in eV.

    From the bulk band gap, each term of
    ``E1 = Eg + E_e + E_h - E_b (+ E_pol)`` is a bar from the running sum (up:
    confinement of electron and hole, the dielectric self-polarisation; down: the
    Coulomb binding), ending at the transition energy.

    Parameters
    ----------
    exc : SingleDotExciton
        From :func:`qdstack.physics.single_dot.exciton`.
    """
    ax = new_axes(ax)
    steps = [
        ("electron\nconfinement", exc.electron_meV, "C3"),
        ("hole\nconfinement", exc.hole_meV, "C1"),
        ("Coulomb\nbinding", -exc.binding_meV, "C0"),
    ]
    if exc.eps_out is not None or exc.polarization_meV != 0.0:
        eps = "" if exc.eps_out is None else f"\n(ε_out = {exc.eps_out:g})"
        steps.append((f"dielectric\nconfinement{eps}", exc.polarization_meV, "C4"))
    names = ["band gap"]
    level = exc.band_gap_eV
    ax.hlines(level, -0.3, 0.3, color="k", lw=2)
    ax.annotate(
        f"{level:.3f} eV",
        (0, level),
        textcoords="offset points",
        xytext=(0, -12),
        ha="center",
        fontsize=8,
    )
    for i, (name, d_meV, col) in enumerate(steps, start=1):
        d = d_meV * 1e-3
        ax.bar(i, d, bottom=level, width=0.6, color=col, alpha=0.75)
        ax.annotate(
            f"{d_meV:+.1f} meV",
            (i, level + d),
            textcoords="offset points",
            xytext=(0, 4 if d >= 0 else -12),
            ha="center",
            fontsize=8,
        )
        ax.plot([i - 0.7, i - 0.3], [level, level], color="0.5", lw=0.8, ls=":")
        level += d
        names.append(name)
    n = len(names)
    ax.plot([n - 0.7, n - 0.3], [level, level], color="0.5", lw=0.8, ls=":")
    ax.hlines(exc.energy_eV, n - 0.3, n + 0.3, color="k", lw=2)
    ax.annotate(
        f"{exc.energy_eV:.4f} eV",
        (n, exc.energy_eV),
        textcoords="offset points",
        xytext=(0, 5),
        ha="center",
        fontsize=8,
    )
    names.append("first\nexciton E1")
    ax.set_xticks(range(n + 1), names, fontsize=8)
    ax.set_ylabel("Energy (eV)")
    lo = min(exc.band_gap_eV, exc.energy_eV)
    top = max(exc.band_gap_eV + 1e-3 * (exc.electron_meV + exc.hole_meV), exc.energy_eV)
    pad = 0.12 * (top - lo) + 1e-3
    ax.set_ylim(lo - pad, top + pad)
    ax.set_title(
        f"{exc.material} ({exc.parameter_set}), edge {exc.edge_nm:g} nm: {exc.confinement} "
        f"confinement, {exc.coulomb} Coulomb",
        fontsize=9,
    )
    return ax
