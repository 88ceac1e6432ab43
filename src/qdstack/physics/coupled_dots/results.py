"""What :func:`~qdstack.physics.coupled_dots.solve_dots` returns: one grid of the
Richardson family (:class:`LevelResult`) and the extrapolated result (:class:`DotsResult`),
with the unfolding of the stored sector envelopes for wavefunction slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table
from qdstack.errors import InputError
from qdstack.physics.coupled_dots.system import DotSystem, SolverSettings


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class LevelResult:
    """One grid of the Richardson family."""

    multiplier: int
    grid_nm: float
    unknowns: int
    energies_meV: tuple[float, ...]
    time_s: float
    iterations: int


@dataclass(frozen=True)
class DotsResult(Result):
    """Result of :func:`solve_dots`; ``to_dict()`` is the contract's ``qdstack dots`` JSON.

    Attributes
    ----------
    energies_meV : tuple of float
        Lowest single-particle energies above the dot band edge, continuum limit [meV].
    energies_converged_meV : tuple of float
        Estimated discretisation error of each energy [meV].
    parities : tuple of str
        Mirror parity of each state along x, y, z ("+", "-", or "." without a plane).
    coupling_meV : float or None
        N = 2: (E2 - E1)/2; N > 2: (E_N - E_1)/(4 cos(pi/(N+1))); None for one dot.
    coupling_converged_meV : float or None
        Its estimated discretisation error [meV].
    grid_nm : float
        Largest cell inside the dots on the finest grid [nm].
    converged_meV : float
        Estimated discretisation error of ``energies_meV[0]`` [meV].
    observed_order : float or None
        Convergence order of E_1 seen on the three finest grids (2 when asymptotic).
    levels : tuple of LevelResult
        Raw energies on every grid.
    separable_meV : tuple of float or None
        The 1D (adiabatic separable) estimate of the same states, for columns.
    """

    system: DotSystem
    settings: SolverSettings
    energies_meV: tuple[float, ...]
    energies_converged_meV: tuple[float, ...]
    parities: tuple[str, ...]
    coupling_meV: float | None
    coupling_converged_meV: float | None
    grid_nm: float
    converged_meV: float
    observed_order: float | None
    padding_nm: tuple[float, float, float]
    sectors_solved: tuple[str, ...]
    levels: tuple[LevelResult, ...]
    separable_meV: tuple[float, ...] | None
    separable_coupling_meV: float | None
    wall_time_s: float
    backend: str
    warnings: tuple[str, ...] = ()
    fields: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        """The contract JSON of ``qdstack dots`` (plus extra keys)."""
        return {
            "energies_meV": list(self.energies_meV),
            "coupling_meV": self.coupling_meV,
            "grid_nm": self.grid_nm,
            "converged_meV": self.converged_meV,
            "energies_converged_meV": list(self.energies_converged_meV),
            "coupling_converged_meV": self.coupling_converged_meV,
            "parities": list(self.parities),
            "observed_order": self.observed_order,
            "count": self.system.count,
            "edge_nm": list(self.system.dots[0].size_nm) if self.system.is_column() else None,
            "barrier_eV": self.system.barrier_eV,
            "mass": self.system.mass,
            "barrier_mass": self.system.effective_barrier_mass,
            "padding_nm": list(self.padding_nm),
            "sectors_solved": list(self.sectors_solved),
            "separable_meV": None if self.separable_meV is None else list(self.separable_meV),
            "separable_coupling_meV": self.separable_coupling_meV,
            "levels": [
                {
                    "multiplier": lv.multiplier,
                    "grid_nm": lv.grid_nm,
                    "unknowns": lv.unknowns,
                    "energies_meV": list(lv.energies_meV),
                    "time_s": lv.time_s,
                    "iterations": lv.iterations,
                }
                for lv in self.levels
            ],
            "wall_time_s": self.wall_time_s,
            "backend": self.backend,
            "warnings": list(self.warnings),
        }

    def wavefunction_slice(self, state: int = 0, plane: str = "xz", offset_nm: float | None = None):
        """Envelope of ``state`` on a plane through the full (unfolded) domain.

        Returns ``(u_nm, v_nm, psi, cut_nm)`` with ``psi`` of shape (len(u), len(v)),
        from the finest grid (not extrapolated).  ``plane`` is "xz", "yz" or "xy";
        ``offset_nm`` is the coordinate of the cut along the third axis (nearest
        cell), by default where the state has most weight (a state odd across the
        centre plane vanishes on it).
        """
        if self.fields is None:
            raise InputError("this result kept no wavefunctions")
        return _slice(self.fields, state, plane, offset_nm)

    # --------------------------------------------------------------------------- separable estimates

    def summary_blocks(self):
        s = self.system
        edges = sorted({round(max(d.size_nm), 4) for d in s.dots})
        dz = sorted(s.dots, key=lambda d: d.center_nm[2])
        gaps = sorted(
            {
                round(b.center_nm[2] - a.center_nm[2] - (a.size_nm[2] + b.size_nm[2]) / 2, 4)
                for a, b in zip(dz, dz[1:])
                if abs(b.center_nm[0] - a.center_nm[0]) < 1e-9
                and abs(b.center_nm[1] - a.center_nm[1]) < 1e-9
            }
        )
        gap_txt = f", gap(s) {', '.join(f'{g:g}' for g in gaps)} nm" if gaps else ""
        if len(edges) > 3:  # a disordered array: the range and the spread, not every edge
            sizes = np.array([max(d.size_nm) for d in s.dots])
            edge_txt = (
                f"{sizes.min():.3g}-{sizes.max():.3g} nm (mean {sizes.mean():.3g}, "
                f"sd {sizes.std():.2g} nm)"
            )
        else:
            edge_txt = f"{', '.join(f'{e:g}' for e in edges)} nm"
        blocks: list = [
            f"{len(s.dots)} cube(s) of {edge_txt}{gap_txt}, barrier "
            f"{s.barrier_eV:g} eV, m = {s.mass:g} m_e inside, {s.effective_barrier_mass:g} m_e outside"
        ]
        sep = self.separable_meV or ()
        rows = []
        for i, (e, err, par) in enumerate(
            zip(self.energies_meV, self.energies_converged_meV, self.parities)
        ):
            rows.append(
                (
                    str(i + 1),
                    par,
                    f"{e:.4f}",
                    f"{err:.4f}",
                    f"{sep[i]:.4f}" if i < len(sep) else "-",
                )
            )
        blocks.append(
            Table(
                "",
                ("state", "parity", "energy [meV]", "+/- [meV]", "1D separable [meV]"),
                tuple(rows),
                align=("r",) * 5,
            )
        )
        if self.coupling_meV is not None:
            sep_c = self.separable_coupling_meV
            blocks.append(
                f"coupling beta = {self.coupling_meV:.4f} +/- {self.coupling_converged_meV:.2g} meV"
                + ("" if sep_c is None else f" (1D separable estimate {sep_c:.4f} meV)")
                + ("" if s.is_column() else " (chain formula; the cubes differ)")
            )
        order = "n/a" if self.observed_order is None else f"{self.observed_order:.2f}"
        blocks.append(
            f"finest grid {self.grid_nm:.3f} nm, continuum-limit error of E1 ~ "
            f"{self.converged_meV:.2g} meV (observed order {order}), "
            f"{self.wall_time_s:.1f} s on {self.backend}"
        )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.dots import plot_dot_levels

        return plot_dot_levels(self, ax=ax)


def _slice(fields, state: int, plane: str, offset_nm: float):
    """Unfold the stored sector envelope to the full domain and cut a plane."""
    sec, i = fields["order"][state]
    faces = fields["faces"]
    planes = fields["planes"]
    psi = fields["psi"][sec][:, i].reshape([len(f) - 1 for f in faces])
    coords = [0.5 * (f[1:] + f[:-1]) for f in faces]
    for axis, (p, bc) in enumerate(zip(planes, sec)):
        if p is None:
            continue
        sign = 1.0 if bc == "even" else -1.0
        mirrored = sign * np.flip(psi, axis=axis)
        psi = np.concatenate([mirrored, psi], axis=axis)
        coords[axis] = np.concatenate([2 * p - coords[axis][::-1], coords[axis]])
    axes = {"xz": (0, 2, 1), "yz": (1, 2, 0), "xy": (0, 1, 2)}
    if plane not in axes:
        raise InputError(f"plane must be xz, yz or xy, got {plane!r}")
    a, b, c = axes[plane]
    if offset_nm is None:
        weight = np.sum(psi**2, axis=tuple(i for i in range(3) if i != c))
        j = int(np.argmax(weight))
    else:
        j = int(np.argmin(np.abs(coords[c] - offset_nm)))
    cut = np.take(psi, j, axis=c)
    if a > b:
        cut = cut.T
    return coords[a], coords[b], cut, float(coords[c][j])
