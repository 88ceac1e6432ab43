"""Single carriers in coupled quantum dots: a fast 3D effective-mass solver and its 1D fast path.

Describe, then solve
--------------------
A :class:`DotSystem` is a frozen description: cuboid dots (:class:`Cuboid`, at
any position) embedded in a barrier of height ``barrier_eV``, effective mass
``mass`` inside the dots and ``barrier_mass`` outside.  :func:`solve_dots` hands
it with :class:`SolverSettings` to the solver and returns a frozen
:class:`DotsResult`.  ``DotSystem.column(N, ...)`` builds the contract's case
(N identical cubes stacked along z); ``DotSystem.grid(...)`` adds in-plane
neighbours.

The equation (BenDaniel & Duke, Phys. Rev. 152, 683 (1966))::

    -div( hbar^2 / (2 m(r)) grad psi ) + V(r) psi = E psi,
    m = mass, V = 0 inside a dot;  m = barrier_mass, V = barrier_eV outside,

so psi and (1/m) dpsi/dn are continuous across every dot face.

How it is solved (and why it is fast)
-------------------------------------
* **Finite volumes on a rectilinear grid aligned with every dot face**
  (:mod:`qdstack.physics._fv`): cells are all-dot or all-barrier and the
  harmonic face conductance is exactly the BenDaniel-Duke condition, so the
  scheme is second order.  In a disordered array, faces closer together than a
  third of the grid step share one grid plane and the cells they cut get exact
  sub-cell averages (otherwise every near-coincident pair of faces forces a sliver
  of needle cells: many more unknowns and a poorly converging multigrid; the two
  faces of a tunnelling gap are never merged).  Barrier cells resolve the decay
  length 1/kappa; the padding towards the hard-wall box is graded (fine at the
  dots, coarse far out)
  and ``9/kappa`` long (the envelope is down by exp(-9) at the wall; doubling it
  moves the contract case's extrapolated energies by ~6e-4 meV).
* **Mirror symmetry**: when the geometry is symmetric under x -> -x (etc.), each
  state is even or odd, so each parity sector is solved on half the axis with a
  Neumann (even) or Dirichlet (odd) condition on the mirror plane.  A column of
  cubes has three mirror planes: eight sectors on an eighth of the domain each,
  and only the sectors holding the wanted states are solved past the coarsest grid.
* **Eigen-solver**: shift-invert ARPACK on the coarsest grid (all sectors, to
  find which states are the lowest), then AMG-preconditioned LOBPCG on every finer
  grid started from the interpolated coarser eigenvectors (:mod:`._eigen`).
* **Richardson extrapolation**: the grids are geometrically similar (every
  segment is cut into ``k * n`` cells for multipliers ``k = 2, 3, 4``), so the
  error expands as ``c2 h^2 + c4 h^4``; three grids give the continuum limit and,
  by comparison with the two-grid (h^2 only) extrapolation, an error estimate
  (``converged_meV``; reported with a safety factor of 2).

References
----------
G. Bastard, *Wave Mechanics Applied to Semiconductor Heterostructures* (Les
Editions de Physique, 1988) -- envelope functions, BenDaniel-Duke conditions.
L. F. Richardson, Phil. Trans. R. Soc. A 210, 307 (1911) -- extrapolation to h -> 0.
P. J. Roache, J. Fluids Eng. 116, 405 (1994) -- grid-convergence error estimates.
A. V. Knyazev, SIAM J. Sci. Comput. 23, 517 (2001) -- LOBPCG.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import InputError, OptionError
from qdstack.physics import _eigen
from qdstack.physics._fv import (
    AxisSpec,
    axis_faces,
    build_hamiltonian,
    cell_material,
    subcell_material,
)
from qdstack.physics.transfer_matrix import bound_states_eV, finite_well, multi_well
from qdstack._result import Result, Table
from qdstack.units import HBAR2_OVER_2ME_EV_NM2

__all__ = [
    "Cuboid",
    "DotSystem",
    "SolverSettings",
    "LevelResult",
    "DotsResult",
    "solve_dots",
    "coupling_meV",
    "chain_coupling_meV",
    "separable_column_levels_meV",
    "GapDependence",
    "gap_dependence",
    "TightBinding",
    "tight_binding",
]

_C = HBAR2_OVER_2ME_EV_NM2
_TOL_NM = 1e-9
#: Safety factor on the Richardson error estimate |E(3 grids) - E(2 grids)|.
SAFETY_FACTOR = 2.0
#: ``backend="auto"`` picks the GPU only for grids at least this large (unknowns per
#: sector).  Measured on an H200 machine (issue 17), the old Jacobi-preconditioned GPU
#: path lost to the 16-core CPU path at 72k-109k unknowns (0.5-0.36x); the AMG-
#: preconditioned GPU path has not been timed on a GPU yet (benchmarks/bench_dots_gpu.py
#: is ready for that), so "auto" keeps the CPU an order of magnitude past every size
#: where the GPU was seen to lose.  See docs/guide/dots.md.
GPU_MIN_UNKNOWNS = 1_000_000


# --------------------------------------------------------------------------- description
@dataclass(frozen=True)
class Cuboid:
    """One dot: an axis-aligned cuboid.

    Parameters
    ----------
    center_nm : (float, float, float)
        Centre [nm].
    size_nm : (float, float, float)
        Edge lengths along x, y, z [nm].
    mass : float, optional
        Effective mass inside this dot [m_e]; default the system's ``mass``.
    potential_eV : float
        Band-edge offset of this dot relative to the others [eV] (default 0).
    """

    center_nm: tuple[float, float, float]
    size_nm: tuple[float, float, float]
    mass: float | None = None
    potential_eV: float = 0.0

    def __post_init__(self):
        c = tuple(float(v) for v in self.center_nm)
        s = tuple(float(v) for v in self.size_nm)
        if len(c) != 3 or len(s) != 3:
            raise InputError("a cuboid needs a 3D centre and three edge lengths")
        if not all(math.isfinite(v) for v in c) or not all(v > 0 and math.isfinite(v) for v in s):
            raise InputError(f"cuboid edges must be positive and finite, got {s}")
        if self.mass is not None and not self.mass > 0:
            raise InputError(f"effective masses must be positive, got {self.mass}")
        object.__setattr__(self, "center_nm", c)
        object.__setattr__(self, "size_nm", s)

    @property
    def lo_nm(self) -> np.ndarray:
        return np.asarray(self.center_nm) - np.asarray(self.size_nm) / 2

    @property
    def hi_nm(self) -> np.ndarray:
        return np.asarray(self.center_nm) + np.asarray(self.size_nm) / 2


@dataclass(frozen=True)
class DotSystem:
    """Dots in a barrier: the geometry and materials handed to :func:`solve_dots`.

    Parameters
    ----------
    dots : tuple of Cuboid
        Non-overlapping dots.
    barrier_eV : float
        Barrier height above the dot band edge [eV] (> 0).
    mass : float
        Effective mass in the dots [m_e].
    barrier_mass : float, optional
        Effective mass in the barrier [m_e]; default ``mass`` (no discontinuity).
    """

    dots: tuple[Cuboid, ...]
    barrier_eV: float
    mass: float
    barrier_mass: float | None = None

    def __post_init__(self):
        dots = tuple(self.dots)
        if not dots:
            raise InputError("a dot system needs at least one dot")
        if not all(isinstance(d, Cuboid) for d in dots):
            raise InputError("dots must be Cuboid instances")
        if not (self.barrier_eV > 0 and math.isfinite(self.barrier_eV)):
            raise InputError(
                f"the barrier must be a positive finite energy, got {self.barrier_eV} eV",
                "--barrier-eV",
            )
        if not (self.mass > 0 and math.isfinite(self.mass)):
            raise InputError(f"the effective mass must be positive, got {self.mass}", "--mass")
        if self.barrier_mass is not None and not (
            self.barrier_mass > 0 and math.isfinite(self.barrier_mass)
        ):
            raise InputError(
                f"the barrier mass must be positive, got {self.barrier_mass}", "--barrier-mass"
            )
        for i, a in enumerate(dots):
            for b in dots[i + 1 :]:
                overlap = np.minimum(a.hi_nm, b.hi_nm) - np.maximum(a.lo_nm, b.lo_nm)
                if np.all(overlap > _TOL_NM):
                    raise InputError(f"dots at {a.center_nm} and {b.center_nm} overlap")
        object.__setattr__(self, "dots", dots)

    # -- constructors -------------------------------------------------------
    @classmethod
    def column(
        cls,
        count: int,
        edge_nm: float,
        gap_nm: float,
        barrier_eV: float,
        mass: float,
        barrier_mass: float | None = None,
    ) -> "DotSystem":
        """``count`` identical cubes along z, faces parallel, ``gap_nm`` apart, centred at 0."""
        return cls.grid((1, 1, count), edge_nm, (0.0, 0.0, gap_nm), barrier_eV, mass, barrier_mass)

    @classmethod
    def grid(
        cls,
        shape: tuple[int, int, int],
        edge_nm,
        gap_nm,
        barrier_eV: float,
        mass: float,
        barrier_mass: float | None = None,
    ) -> "DotSystem":
        """A regular array of identical cuboids (``shape`` dots along x, y, z), centred at 0.

        ``edge_nm`` is one edge (cube) or three; ``gap_nm`` one gap or three (the gap
        along each axis, e.g. ~3 nm in-plane oleyl ligands vs ~0.5 nm dithiol out of plane).
        """
        edges = np.broadcast_to(np.asarray(edge_nm, dtype=float), (3,))
        gaps = np.broadcast_to(np.asarray(gap_nm, dtype=float), (3,))
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"the array shape needs three counts >= 1, got {shape}", "--count")
        if np.any(gaps[np.asarray(shape) > 1] <= 0) or np.any(~np.isfinite(gaps)):
            raise InputError("gaps between neighbouring dots must be positive", "--gap-nm")
        pitch = edges + gaps
        dots = []
        for idx in itertools.product(*(range(n) for n in shape)):
            c = [(i - (n - 1) / 2) * p for i, n, p in zip(idx, shape, pitch)]
            dots.append(Cuboid(tuple(c), tuple(edges)))
        return cls(tuple(dots), float(barrier_eV), float(mass), barrier_mass)

    @classmethod
    def disordered(
        cls,
        shape: tuple[int, int, int],
        edge_nm: float,
        edge_sd_nm: float,
        gap_nm,
        barrier_eV: float,
        mass: float,
        barrier_mass: float | None = None,
        *,
        seed=0,
    ) -> "DotSystem":
        """A block of cubes with edges drawn from a normal distribution (a disordered film).

        Laid out as in the film model (:mod:`qdstack.physics.film_model`): columns on a
        square lattice of pitch ``edge_nm + gap_xy``; in each column the cubes are
        stacked along z with face-to-face gaps ``gap_z`` (each column's first cube
        centred at z = 0), so in-plane neighbours are not level and in-plane gaps
        vary with the sizes.  Edges are drawn from N(edge_nm, edge_sd_nm) clipped
        to +-3 sd; ``seed`` seeds :func:`numpy.random.default_rng`.

        Parameters
        ----------
        shape : (int, int, int)
            Dots along x, y, z.
        edge_nm, edge_sd_nm : float
            Mean and standard deviation of the cube edge [nm].
        gap_nm : float or (float, float, float)
            Gap along each axis (x, y: between mean-size neighbours; z: face to face) [nm].
        barrier_eV, mass, barrier_mass
            As in the class.
        seed : int or numpy.random.Generator

        Raises
        ------
        InputError
            Two drawn cubes overlap (a gap too small for the spread of sizes).
        """
        shape = tuple(int(n) for n in shape)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"the array shape needs three counts >= 1, got {shape}", "--count")
        if not (edge_nm > 0 and edge_sd_nm >= 0 and math.isfinite(edge_nm + edge_sd_nm)):
            raise InputError(
                f"need a positive mean edge and a non-negative spread, got {edge_nm}, {edge_sd_nm}"
            )
        gaps = np.broadcast_to(np.asarray(gap_nm, dtype=float), (3,))
        if np.any(gaps[np.asarray(shape) > 1] <= 0) or np.any(~np.isfinite(gaps)):
            raise InputError("gaps between neighbouring dots must be positive", "--gap-nm")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        n = int(np.prod(shape))
        edges = edge_nm + edge_sd_nm * np.clip(rng.standard_normal(n), -3.0, 3.0)
        if np.any(edges <= 0):
            raise InputError("the spread of edges allows non-positive sizes")
        edges = edges.reshape(shape)
        pitch = edge_nm + gaps[:2]
        dots = []
        for ix in range(shape[0]):
            for iy in range(shape[1]):
                col = edges[ix, iy]
                zc = np.concatenate([[0.0], np.cumsum(0.5 * (col[:-1] + col[1:]) + gaps[2])])
                x = (ix - (shape[0] - 1) / 2) * pitch[0]
                y = (iy - (shape[1] - 1) / 2) * pitch[1]
                for L, z in zip(col, zc):
                    dots.append(Cuboid((x, y, float(z)), (float(L),) * 3))
        zmid = 0.5 * (min(d.lo_nm[2] for d in dots) + max(d.hi_nm[2] for d in dots))
        dots = [
            Cuboid((d.center_nm[0], d.center_nm[1], d.center_nm[2] - zmid), d.size_nm) for d in dots
        ]
        return cls(tuple(dots), float(barrier_eV), float(mass), barrier_mass)

    # -- derived ------------------------------------------------------------
    @property
    def effective_barrier_mass(self) -> float:
        return float(self.mass if self.barrier_mass is None else self.barrier_mass)

    @property
    def count(self) -> int:
        return len(self.dots)

    def bounds_nm(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.min([d.lo_nm for d in self.dots], axis=0)
        hi = np.max([d.hi_nm for d in self.dots], axis=0)
        return lo, hi

    def mirror_planes_nm(self) -> tuple[float | None, float | None, float | None]:
        """Per axis, the coordinate of a mirror plane of the whole system, or None."""
        lo, hi = self.bounds_nm()
        planes = []
        for axis in range(3):
            c = 0.5 * (lo[axis] + hi[axis])
            ok = True
            for d in self.dots:
                mc = list(d.center_nm)
                mc[axis] = 2 * c - mc[axis]
                if not any(
                    np.allclose(mc, e.center_nm, atol=1e-7)
                    and np.allclose(d.size_nm, e.size_nm, atol=1e-7)
                    and (d.mass or self.mass) == (e.mass or self.mass)
                    and d.potential_eV == e.potential_eV
                    for e in self.dots
                ):
                    ok = False
                    break
            planes.append(c if ok else None)
        return tuple(planes)

    def is_column(self) -> bool:
        """N identical cuboids aligned along z (the contract's geometry)."""
        d0 = self.dots[0]
        return all(
            np.allclose(d.size_nm, d0.size_nm)
            and np.allclose(d.center_nm[:2], d0.center_nm[:2])
            and d.mass in (None, d0.mass)
            and d.potential_eV == d0.potential_eV
            for d in self.dots
        )


@dataclass(frozen=True)
class SolverSettings:
    """How :func:`solve_dots` discretises and solves.

    Parameters
    ----------
    grid_nm : float
        Finest cell size inside the dots [nm] (the last Richardson grid); the
        coarser grids are ``grid_nm * k_max / k``.  Default 0.3 nm, which puts the
        contract's case within ~0.002 meV of the continuum limit (estimate ~0.05 meV).
    multipliers : tuple of int
        Refinement multipliers of the grid family (default (2, 3, 4): three grids,
        h^2 and h^4 eliminated).  One or two values give less (or no) extrapolation.
    padding_nm : float or (float, float, float), optional
        Barrier thickness between the outermost dot faces and the hard-wall box
        [nm]; default ``9 / kappa`` of the highest wanted state (>= 1 nm).  0 puts the
        wall on the dot faces (an infinite barrier on that axis).
    barrier_resolution : float
        kappa * h of the coarsest barrier cells (default 2: h_barrier = 2 / kappa / k).
    tol_eV : float
        Residual-norm tolerance of the eigenvectors [eV] (default 1e-6: the
        eigenvalue error is about residual^2 / gap, < 1e-7 meV for gaps of ~1 meV
        to the first unwanted state).
    use_symmetry : bool
        Solve parity sectors on reduced domains when the geometry has mirror planes.
    backend : {"cpu", "cupy", "auto"}
        Where LOBPCG runs on the finer grids; "cupy" needs CuPy and a GPU, "auto"
        uses it when present and the grid has at least :data:`GPU_MIN_UNKNOWNS`
        unknowns per sector (the GPU lost at every smaller size measured, see
        ``docs/guide/dots.md``).  The coarsest grid is always solved
        on the CPU.
    max_unknowns : int
        Refuse problems whose finest sector grid would exceed this (memory guard).
    merge_faces_nm : float, optional
        Dot faces (along one axis) closer together than this share one grid plane
        and the cells they cut get exact sub-cell material averages
        (:func:`qdstack.physics._fv.subcell_material`); the two faces of a
        tunnelling gap are never merged.  Default: half the coarsest dot cell
        (``grid_nm * max(multipliers) / 2``).  0 aligns the grid with every face
        (the plain reference path: on a disordered array each near-coincident pair
        of faces then makes a sliver of cells thinner than the cells by orders of
        magnitude, which multiplies the unknowns and the LOBPCG iterations).
    """

    grid_nm: float = 0.3
    multipliers: tuple[int, ...] = (2, 3, 4)
    padding_nm: float | tuple[float, float, float] | None = None
    barrier_resolution: float = 2.0
    tol_eV: float = 1e-6
    use_symmetry: bool = True
    backend: str = "cpu"
    max_unknowns: int = 4_000_000
    merge_faces_nm: float | None = None

    def __post_init__(self):
        if not (self.grid_nm > 0 and math.isfinite(self.grid_nm)):
            raise OptionError(f"must be a positive length, got {self.grid_nm}", "--grid-nm")
        ks = tuple(int(k) for k in self.multipliers)
        if not ks or any(k < 1 for k in ks) or len(set(ks)) != len(ks):
            raise OptionError(
                f"need distinct positive multipliers, got {self.multipliers}", "multipliers"
            )
        object.__setattr__(self, "multipliers", tuple(sorted(ks)))
        if self.backend not in ("cpu", "cupy", "auto"):
            raise OptionError(
                f"unknown backend {self.backend!r}; use cpu, cupy or auto", "--backend"
            )
        if not self.barrier_resolution > 0:
            raise OptionError("barrier_resolution must be positive", "barrier_resolution")
        if self.merge_faces_nm is not None and not (
            self.merge_faces_nm >= 0 and math.isfinite(self.merge_faces_nm)
        ):
            raise OptionError(f"must be a length >= 0, got {self.merge_faces_nm}", "merge_faces_nm")


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


def _lateral_levels(edge: float, V: float, m: float, mb: float, n: int) -> np.ndarray:
    return bound_states_eV(finite_well(edge, V, m, mb), n)


def separable_column_levels_meV(
    count: int,
    edge_nm,
    gap_nm: float,
    barrier_eV: float,
    mass: float,
    barrier_mass: float | None = None,
    n: int | None = None,
) -> np.ndarray:
    """Adiabatic-separable estimate of the lowest levels of a column of cuboids [meV].

    The envelope is taken as f(x) g(y) phi(z), with f, g the ground states of the
    lateral 1D finite wells (energies E_x, E_y).  In the barrier slabs between the
    dots the lateral kinetic energy is carried with the barrier mass, so phi
    solves a 1D multi-well problem whose barriers are raised to

        V_z = V + (m / m_B - 1) (E_x + E_y),

    and E = E_x + E_y + E_z (lateral excitations are included the same way).
    Exact when the lateral walls are hard and the dots fill them (a separable 3D
    problem); otherwise an estimate, compared with the 3D solver in the tests
    (~1 % on the coupling of the contract case).

    Parameters
    ----------
    count : int
        Dots in the column.
    edge_nm : float or (float, float, float)
        Cube edge, or the cuboid's edges (x, y, z) [nm].
    gap_nm, barrier_eV, mass, barrier_mass
        As in :class:`DotSystem`.
    n : int, optional
        Number of levels (default ``count``).

    Returns
    -------
    ndarray, shape (n,), ascending [meV]
    """
    edges = np.broadcast_to(np.asarray(edge_nm, dtype=float), (3,))
    mb = mass if barrier_mass is None else barrier_mass
    n = count if n is None else int(n)
    nlat = max(1, min(n, 6))
    ex = _lateral_levels(edges[0], barrier_eV, mass, mb, nlat)
    ey = _lateral_levels(edges[1], barrier_eV, mass, mb, nlat)
    out = []
    for exi in ex:
        for eyj in ey:
            elat = exi + eyj
            vz = barrier_eV + (mass / mb - 1.0) * elat
            if elat >= barrier_eV or vz <= 0:
                continue
            ez = bound_states_eV(multi_well(count, edges[2], gap_nm, vz, mass, mb), n)
            out.extend(elat + ez)
    out = np.sort(np.asarray(out))
    out = out[out < barrier_eV]
    return out[:n] * 1e3


def chain_coupling_meV(energies_meV: Sequence[float], count: int) -> float | None:
    """Coupling of a chain of ``count`` dots from its lowest ``count`` levels [meV].

    N = 2: beta = (E2 - E1)/2;  N > 2: beta = (E_N - E_1)/(4 cos(pi/(N+1))), the
    nearest-neighbour tight-binding band E_k = e - 2 beta cos(k pi/(N+1)).
    """
    if count < 2 or len(energies_meV) < count:
        return None
    e = np.sort(np.asarray(energies_meV, dtype=float))[:count]
    if count == 2:
        return float((e[1] - e[0]) / 2)
    return float((e[-1] - e[0]) / (4 * math.cos(math.pi / (count + 1))))


def coupling_meV(
    edge_nm,
    gap_nm,
    barrier_eV,
    mass,
    barrier_mass=None,
    *,
    method: str = "separable",
    settings: SolverSettings | None = None,
):
    """Tunnelling coupling beta of two identical cubes (half the bonding-antibonding split) [meV].

    Parameters
    ----------
    edge_nm, gap_nm, barrier_eV, mass : float or array_like
        Cube edge [nm], face-to-face gap [nm], barrier [eV], dot mass [m_e];
        broadcast against each other.
    barrier_mass : float or array_like, optional
        Barrier mass [m_e] (default ``mass``).
    method : {"separable", "3d"}
        ``"separable"`` (default): the 1D transfer-matrix fast path of
        :func:`separable_column_levels_meV` (~1 ms per value; within ~1-2 % of the
        3D value for gaps of 0.3-1.5 nm and barriers of 0.5-4 eV, see the tests).
        ``"3d"``: the full solver (:func:`solve_dots`, ~1 s per value).
    settings : SolverSettings, optional
        For ``method="3d"``.

    Returns
    -------
    float or ndarray
        beta [meV], shape of the broadcast inputs.
    """
    if method not in ("separable", "3d"):
        raise OptionError(f"unknown method {method!r}; use separable or 3d", "method")
    b = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (
                edge_nm,
                gap_nm,
                barrier_eV,
                mass,
                mass if barrier_mass is None else barrier_mass,
            )
        )
    )
    out = np.empty(b[0].shape)
    for idx in np.ndindex(out.shape):
        L, d, V, m, mb = (float(a[idx]) for a in b)
        if method == "separable":
            e = separable_column_levels_meV(2, L, d, V, m, mb, n=2)
            out[idx] = (e[1] - e[0]) / 2 if len(e) == 2 else np.nan
        else:
            res = solve_dots(DotSystem.column(2, L, d, V, m, mb), states=2, settings=settings)
            out[idx] = res.coupling_meV
    return out if out.ndim else float(out)


# --------------------------------------------------------------------------- the solver
_PAR = {"even": "+", "odd": "-", "wall": "."}


def _estimate_top_eV(system: DotSystem, n_req: int) -> tuple[float, int]:
    """Separable estimate of the n_req-th level (pooled single-dot levels), and how many bind."""
    V, m, mb = system.barrier_eV, system.mass, system.effective_barrier_mass
    pooled = []
    for d in system.dots:
        md = d.mass or m
        per_axis = [
            bound_states_eV(finite_well(s, V - d.potential_eV, md, mb), max(1, min(n_req, 6)))
            + d.potential_eV / 3
            for s in d.size_nm
        ]
        for ex in per_axis[0]:
            for ey in per_axis[1]:
                for ez in per_axis[2]:
                    if ex + ey + ez < V:
                        pooled.append(ex + ey + ez)
    pooled.sort()
    if not pooled:
        return V, 0
    k = min(n_req, len(pooled)) - 1
    return pooled[k], len(pooled)


def _facing_pairs(system: DotSystem, axis: int) -> set[tuple[float, float]]:
    """(upper face of P, lower face of Q) for dots P, Q facing each other across a gap along ``axis``."""
    others = [i for i in range(3) if i != axis]
    out = set()
    for p in system.dots:
        for q in system.dots:
            if p is q or q.lo_nm[axis] < p.hi_nm[axis] - _TOL_NM:
                continue
            if all(
                min(p.hi_nm[o], q.hi_nm[o]) - max(p.lo_nm[o], q.lo_nm[o]) > _TOL_NM for o in others
            ):
                out.add((float(p.hi_nm[axis]), float(q.lo_nm[axis])))
    return out


def _cluster_faces(
    faces: list[float], merge_nm: float, keep_apart: set[tuple[float, float]]
) -> list[list[float]]:
    """Group sorted face coordinates closer than ``merge_nm`` (chained, span < ``merge_nm``).

    Two faces in ``keep_apart`` (the two sides of a tunnelling gap, a dot's own two
    faces) never share a group: the barrier between facing dots stays resolved by
    aligned cells.
    """
    groups: list[list[float]] = []
    for f in faces:
        g = groups[-1] if groups else None
        if (
            g is not None
            and f - g[-1] < merge_nm
            and f - g[0] < merge_nm
            and not any((a, f) in keep_apart for a in g)
        ):
            g.append(f)
        else:
            groups.append([f])
    return groups


def _axis_specs(system: DotSystem, planes, padding, merge_nm: float = 0.0):
    """Breakpoints of every axis; dot faces closer than ``merge_nm`` share one grid plane.

    Returns ``(specs, merged)`` with ``merged`` True when some dot faces are not on a
    grid plane (then cells may be cut and :func:`_fv.subcell_material` is needed).
    """
    lo, hi = system.bounds_nm()
    specs = []
    any_merged = False
    for axis in range(3):
        faces = sorted(
            {float(d.lo_nm[axis]) for d in system.dots}
            | {float(d.hi_nm[axis]) for d in system.dots}
        )
        if merge_nm > 0:
            keep = _facing_pairs(system, axis) | {
                (float(d.lo_nm[axis]), float(d.hi_nm[axis])) for d in system.dots
            }
            groups = _cluster_faces(faces, merge_nm, keep)
            if any(len(g) > 1 for g in groups):
                any_merged = True
            faces = [g[0] if len(g) == 1 else 0.5 * (g[0] + g[-1]) for g in groups]
        start = lo[axis] - padding[axis]
        end = hi[axis] + padding[axis]
        if planes[axis] is not None:
            c = planes[axis]
            bps = [c] + [f for f in faces if f > c + _TOL_NM]
            if padding[axis] > _TOL_NM:
                bps.append(end)
            lower_pad = False
        else:
            bps = (
                ([start] if padding[axis] > _TOL_NM else [])
                + faces
                + ([end] if padding[axis] > _TOL_NM else [])
            )
            lower_pad = padding[axis] > _TOL_NM
        # merge breakpoints closer than the tolerance
        merged = [bps[0]]
        for b in bps[1:]:
            if b - merged[-1] > _TOL_NM:
                merged.append(b)
        upper_pad = padding[axis] > _TOL_NM
        barrier = []
        for a, b in zip(merged[:-1], merged[1:]):
            # dot cells only where a dot fills the segment; a segment that is barrier
            # over part of its length (merged faces cut it) gets the barrier's finer cells
            filled = any(
                d.lo_nm[axis] <= a + _TOL_NM and d.hi_nm[axis] >= b - _TOL_NM for d in system.dots
            )
            barrier.append(not filled)
        specs.append(AxisSpec(tuple(merged), tuple(barrier), lower_pad, upper_pad))
    return specs, any_merged


@dataclass(frozen=True)
class _Material:
    mass: np.ndarray | None
    pot: np.ndarray
    a_axes: list | None = None
    moments: list | None = None

    def hamiltonian(self, faces, sector):
        return build_hamiltonian(
            faces, self.mass, self.pot, list(sector), a_axes=self.a_axes, moments=self.moments
        )


def _material(faces, centres, boxes, mass, barrier_mass, barrier_eV, subcell: bool) -> _Material:
    """Per-cell material: plain (grid aligned with every face) or sub-cell averages."""
    if subcell:
        a_axes, pot, moments = subcell_material(faces, boxes, mass, barrier_mass, barrier_eV)
        return _Material(None, pot, a_axes, moments)
    m, pot = cell_material(centres, boxes, mass, barrier_mass, barrier_eV)
    return _Material(m, pot)


def _boxes(system: DotSystem):
    return [
        (d.lo_nm, d.hi_nm, d.mass if d.mass is not None else system.mass, d.potential_eV)
        for d in system.dots
    ]


def _dot_grid_nm(system: DotSystem, faces) -> float:
    """Largest cell (along any axis) whose centre lies inside a dot's extent along that axis."""
    worst = 0.0
    for axis, f in enumerate(faces):
        w = np.diff(f)
        centres = 0.5 * (f[1:] + f[:-1])
        inside = np.zeros(len(w), dtype=bool)
        for d in system.dots:
            inside |= (centres > d.lo_nm[axis]) & (centres < d.hi_nm[axis])
        if inside.any():
            worst = max(worst, float(w[inside].max()))
    return worst


def _richardson(h: np.ndarray, e: np.ndarray):
    """Extrapolations from the finest grids: (value, error estimate, R2, observed order)."""
    if len(h) == 1:
        return float(e[0]), float("nan"), float(e[0]), None
    h1, h2 = h[-2], h[-1]
    r2 = e[-1] + (e[-1] - e[-2]) * h2**2 / (h1**2 - h2**2)
    if len(h) == 2:
        return float(r2), float(abs(r2 - e[-1])), float(r2), None
    hh = h[-3:]
    A = np.vstack([np.ones(3), hh**2, hh**4]).T
    r3 = float(np.linalg.solve(A, e[-3:])[0])
    order = _observed_order(hh, e[-3:])
    return r3, SAFETY_FACTOR * abs(r3 - r2), float(r2), order


def _observed_order(h: np.ndarray, e: np.ndarray) -> float | None:
    """p with (e1 - e2)/(e2 - e3) = (h1^p - h2^p)/(h2^p - h3^p), or None."""
    d1, d2 = e[0] - e[1], e[1] - e[2]
    if d1 == 0 or d2 == 0 or (d1 > 0) != (d2 > 0):
        return None
    target = d1 / d2

    def f(p):
        return (h[0] ** p - h[1] ** p) / (h[1] ** p - h[2] ** p) - target

    from scipy.optimize import brentq

    try:
        if f(0.1) * f(10.0) > 0:
            return None
        return float(brentq(f, 0.1, 10.0, xtol=1e-6))
    except (ValueError, ZeroDivisionError):
        return None


def _n_guard(n_keep: int) -> int:
    """Guard vectors beside the wanted ones in the LOBPCG block.

    A third of the wanted ones; half plus four above 8 (16 states of a disordered
    2 x 2 x 4 block: 12 guards took 81 iterations where 6 took 180, 43 % less work).
    """
    if n_keep > 8:
        return n_keep // 2 + 4
    return max(1, (n_keep + 2) // 3)


def _sector_label(bcs) -> str:
    return "".join(_PAR[b] for b in bcs)


def solve_dots(
    system: DotSystem,
    states: int = 2,
    settings: SolverSettings | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
) -> DotsResult:
    """Lowest single-particle states of a :class:`DotSystem`, extrapolated to the continuum limit.

    Parameters
    ----------
    system : DotSystem
    states : int
        How many of the lowest energies to return (at least N are computed for a
        column of N dots, for the coupling).
    settings : SolverSettings, optional
    progress : callable(done, total, description), optional
        Called after each sector solve (the CLI draws a progress bar with it).

    Returns
    -------
    DotsResult

    Raises
    ------
    OptionError
        More states requested than are bound below the barrier; grids too large.
    """
    with _eigen.blas_single_thread():
        return _solve_dots(system, states, settings, progress)


def _solve_dots(
    system: DotSystem,
    states: int,
    settings: SolverSettings | None,
    progress: Callable[[int, int, str], None] | None,
) -> DotsResult:
    t_start = time.perf_counter()
    settings = settings or SolverSettings()
    if not isinstance(states, (int, np.integer)) or states < 1:
        raise OptionError(f"must be a whole number >= 1, got {states}", "--states")
    states = int(states)
    warn: list[str] = []
    backend = settings.backend
    if backend in ("cupy", "auto"):
        have = _eigen.cupy_available()
        if backend == "cupy" and not have:
            raise OptionError(
                "the CuPy backend needs CuPy and a CUDA GPU (pip install 'qdstack[gpu]')",
                "--backend",
            )
        backend = "cupy" if have else "cpu"
    auto = settings.backend == "auto"
    used: set[str] = set()

    count = system.count
    n_req = max(states, count if count >= 2 else 1)
    V, mb = system.barrier_eV, system.effective_barrier_mass
    e_top, n_bound_est = _estimate_top_eV(system, n_req)
    if n_bound_est < n_req:
        have = "no state is" if n_bound_est == 0 else f"only about {n_bound_est} are"
        raise OptionError(
            f"asked for {n_req} states but {have} bound below the {V:g} eV barrier "
            "(1D separable estimate); ask for fewer states or raise the barrier",
            "--states",
        )
    kappa = math.sqrt(mb * max(V - e_top, 1e-6 * V) / _C)
    if settings.padding_nm is None:
        padding = (max(1.0, 9.0 / kappa),) * 3
    else:
        padding = tuple(
            float(p) for p in np.broadcast_to(np.asarray(settings.padding_nm, dtype=float), (3,))
        )
        if any(p < 0 or not math.isfinite(p) for p in padding):
            raise OptionError(f"padding must be >= 0 nm, got {settings.padding_nm}", "--padding-nm")
    planes = system.mirror_planes_nm() if settings.use_symmetry else (None, None, None)
    ks = settings.multipliers
    h_base = settings.grid_nm * ks[-1]
    merge_nm = settings.grid_nm / 3 if settings.merge_faces_nm is None else settings.merge_faces_nm
    specs, subcell = _axis_specs(system, planes, padding, merge_nm)
    h_bar = min(h_base, settings.barrier_resolution / kappa)
    boxes = _boxes(system)

    # sizes of the finest grid: refuse what would not fit
    finest = [axis_faces(sp_, h_base, ks[-1], h_bar) for sp_ in specs]
    n_finest = int(np.prod([len(f) - 1 for f in finest]))
    if n_finest > settings.max_unknowns:
        raise OptionError(
            f"the finest grid would have {n_finest:,} unknowns per symmetry sector (limit "
            f"{settings.max_unknowns:,}); use a coarser --grid-nm or fewer dots",
            "--grid-nm",
        )

    sectors = list(
        itertools.product(*[("even", "odd") if p is not None else ("wall",) for p in planes])
    )
    levels: list[LevelResult] = []
    tracked: dict[tuple, int] = {}
    history: dict[tuple, list[float]] = {}
    prev: dict[tuple, tuple] = {}
    hs = []
    total_steps = len(sectors) * (1 + len(ks))
    done = 0
    fields = None

    # 1) scan every parity sector on the base grid (multiplier 1) to find where the lowest
    #    states live; only those sectors are solved on the Richardson grids
    faces = [axis_faces(sp_, h_base, 1, h_bar) for sp_ in specs]
    centres = [0.5 * (f[1:] + f[:-1]) for f in faces]
    material = _material(faces, centres, boxes, system.mass, mb, V, subcell)
    found = {}
    for sec in sectors:
        H, vol = material.hamiltonian(faces, sec)
        vals, vecs = _eigen.lowest_shift_invert(H, min(n_req, H.shape[0] - 2))
        found[sec] = (vals, vecs, vol, H)
        done += 1
        if progress:
            progress(done, total_steps, f"scanning symmetry sector {_sector_label(sec)}")
    pooled = sorted(v for vals, *_ in found.values() for v in vals)
    if len(pooled) < n_req:
        raise OptionError("the grid is too small for the number of states asked for", "--states")
    thr = pooled[n_req - 1]
    margin = 0.10 * abs(thr) + 1e-6  # the base grid is coarse: keep near-misses
    for sec, (vals, vecs, vol, H) in found.items():
        n_keep = int(np.sum(vals <= thr + margin))
        # a sector whose every computed state is kept may hold more below the threshold
        while n_keep == len(vals) and n_keep < n_req + 4 and len(vals) + 2 < H.shape[0] - 2:
            vals, vecs = _eigen.lowest_shift_invert(H, len(vals) + 2)
            n_keep = int(np.sum(vals <= thr + margin))
        if n_keep:
            tracked[sec] = n_keep
            prev[sec] = (centres, vecs[:, :n_keep] / np.sqrt(vol)[:, None])
    total_steps = len(sectors) + len(ks) * len(tracked)

    # 2) the Richardson grids: AMG-preconditioned LOBPCG from the interpolated coarser states
    for li, k in enumerate(ks):
        t0 = time.perf_counter()
        faces = [axis_faces(sp_, h_base, k, h_bar) for sp_ in specs]
        centres = [0.5 * (f[1:] + f[:-1]) for f in faces]
        material = _material(faces, centres, boxes, system.mass, mb, V, subcell)
        hs.append(_dot_grid_nm(system, faces))
        n_cells = int(np.prod(material.pot.shape))
        iters = 0
        level_vals: dict[tuple, np.ndarray] = {}
        for sec, n_keep in tracked.items():
            H, vol = material.hamiltonian(faces, sec)
            if k == 1:
                vals, vecs = _eigen.lowest_shift_invert(H, n_keep)
            else:
                c_old, psi_old = prev[sec]
                X = _eigen.prolongate(psi_old, c_old, centres) * np.sqrt(vol)[:, None]
                n_guard = _n_guard(n_keep)
                rng = np.random.default_rng(1234 + li)
                X = np.hstack([X, rng.standard_normal((X.shape[0], n_guard))])
                if backend == "cupy" and not (auto and H.shape[0] < GPU_MIN_UNKNOWNS):
                    used.add("cupy")
                    vals, vecs, res, it = _eigen.lowest_lobpcg_cupy(
                        H, X, n_wanted=n_keep, tol_eV=settings.tol_eV
                    )
                else:
                    used.add("cpu")
                    vals, vecs, res, it = _eigen.lowest_lobpcg(
                        H, X, n_wanted=n_keep, tol_eV=settings.tol_eV
                    )
                iters += it
                if np.any(res > 10 * settings.tol_eV):
                    warn.append(
                        f"eigenvectors on the {hs[-1]:.3g} nm grid did not converge to the "
                        f"requested residual ({res.max():.2g} eV > {settings.tol_eV:g} eV)"
                    )
            level_vals[sec] = vals
            prev[sec] = (centres, vecs / np.sqrt(vol)[:, None])
            done += 1
            if progress:
                progress(done, total_steps, f"grid {hs[-1]:.2f} nm, sector {_sector_label(sec)}")
        for sec, vals in level_vals.items():
            for i, v in enumerate(vals):
                history.setdefault((sec, i), []).append(float(v) * 1e3)
        lv_e = sorted(v for vals in level_vals.values() for v in vals * 1e3)[:states]
        levels.append(
            LevelResult(
                k, hs[-1], n_cells * len(tracked), tuple(lv_e), time.perf_counter() - t0, iters
            )
        )
        if li == len(ks) - 1:
            fields = {
                "faces": faces,
                "planes": planes,
                "psi": {sec: prev[sec][1] for sec in tracked},
            }

    h = np.asarray(hs)
    extrap = []
    for (sec, i), es in history.items():
        val, err, r2, order = _richardson(h, np.asarray(es))
        extrap.append((val, err, r2, order, sec, i))
    extrap.sort(key=lambda t: t[0])
    if len(extrap) < n_req:
        raise OptionError("fewer states were found than asked for", "--states")
    chosen = extrap[:states]
    energies = tuple(t[0] for t in chosen)
    errs = tuple(t[1] for t in chosen)
    parities = tuple(_sector_label(t[4]) for t in chosen)
    top = extrap[n_req - 1][0]
    if top >= V * 1e3:
        raise OptionError(f"state {n_req} lies above the {V:g} eV barrier (not bound)", "--states")
    coupling = coupling_err = None
    if count >= 2:
        firstN = extrap[:count]
        coupling = chain_coupling_meV([t[0] for t in firstN], count)
        coupling_r2 = chain_coupling_meV([t[2] for t in firstN], count)
        if len(ks) >= 3:
            coupling_err = SAFETY_FACTOR * abs(coupling - coupling_r2)
        elif len(ks) == 2:
            fin = chain_coupling_meV([history[(t[4], t[5])][-1] for t in firstN], count)
            coupling_err = abs(coupling - fin)
        else:
            coupling_err = float("nan")
    order0 = chosen[0][3]
    if len(ks) >= 3 and (order0 is None or not 1.5 <= order0 <= 2.6):
        warn.append(
            "the ground-state energy does not converge at second order on these grids "
            f"(observed order {'undefined' if order0 is None else f'{order0:.2f}'}); "
            "the error estimate may be unreliable, "
            "use a finer --grid-nm"
        )
    if len(ks) < 3:
        warn.append("fewer than three grids: the extrapolation error estimate is crude")
    sep = sep_c = None
    if system.is_column():
        try:
            d0 = system.dots[0]
            gap = _column_gap(system)
            sep_arr = separable_column_levels_meV(
                count, d0.size_nm, gap, V, d0.mass or system.mass, mb, n=states
            )
            sep = tuple(float(v) for v in sep_arr)
            if count >= 2:
                sep_c = chain_coupling_meV(
                    separable_column_levels_meV(
                        count, d0.size_nm, gap, V, d0.mass or system.mass, mb, n=count
                    ),
                    count,
                )
        except InputError:
            sep = sep_c = None
    if fields is not None:
        fields["order"] = [(t[4], t[5]) for t in chosen]
    return DotsResult(
        system=system,
        settings=settings,
        energies_meV=energies,
        energies_converged_meV=errs,
        parities=parities,
        coupling_meV=coupling,
        coupling_converged_meV=coupling_err,
        grid_nm=float(h[-1]),
        converged_meV=float(errs[0]),
        observed_order=order0,
        padding_nm=tuple(float(p) for p in padding),
        sectors_solved=tuple(_sector_label(s) for s in tracked),
        levels=tuple(levels),
        separable_meV=sep,
        separable_coupling_meV=sep_c,
        wall_time_s=time.perf_counter() - t_start,
        backend="cupy" if "cupy" in used else ("cpu" if used or backend == "cpu" else backend),
        warnings=tuple(dict.fromkeys(warn)),
        fields=fields,
    )


def _column_gap(system: DotSystem) -> float:
    if system.count < 2:
        return 1.0  # irrelevant for one dot
    zs = sorted(system.dots, key=lambda d: d.center_nm[2])
    return float(zs[1].lo_nm[2] - zs[0].hi_nm[2])


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


# ------------------------------------------------------------------ gap dependence vs eqn (1)
@dataclass(frozen=True)
class GapDependence:
    """beta(d) of two cubes and the decay constants it implies, vs the WKB estimates of eqn (1).

    Attributes
    ----------
    gaps_nm, beta_meV : tuple of float
        The gaps and couplings computed (``method``).
    decay_per_nm : tuple of float
        Local decay constants -d ln(beta)/d(gap) between consecutive gaps [nm^-1].
    mean_decay_per_nm : float
        -(ln beta_last - ln beta_first)/(d_last - d_first) [nm^-1].
    wkb_amplitude_per_nm : float
        sqrt(2 m_B V)/hbar: the decay of a tunnelling *amplitude* under the barrier
        (the band-edge WKB estimate, E << V) [nm^-1].
    wkb_transmission_per_nm : float
        2 sqrt(2 m_B V)/hbar: eqn (1) as printed (a transmission probability).
    kappa_state_per_nm : float
        sqrt(2 m_B (V_z - E_z))/hbar with the separable state's own energy below
        the (lateral-energy-raised) barrier: what the decay should approach.
    """

    gaps_nm: tuple[float, ...]
    beta_meV: tuple[float, ...]
    decay_per_nm: tuple[float, ...]
    mean_decay_per_nm: float
    wkb_amplitude_per_nm: float
    wkb_transmission_per_nm: float
    kappa_state_per_nm: float
    edge_nm: float
    barrier_eV: float
    mass: float
    barrier_mass: float
    method: str

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def gap_dependence(
    gaps_nm,
    edge_nm: float,
    barrier_eV: float,
    mass: float,
    barrier_mass: float | None = None,
    *,
    method: str = "3d",
    settings: SolverSettings | None = None,
) -> GapDependence:
    """beta vs gap for two cubes, and the decay constant compared with eqn (1)'s WKB law.

    Eqn (1) of Enomoto et al. (Chem. Sci. 2024) writes beta ~ exp(-2 d sqrt(2 m* V)/hbar).
    A coupling energy decays like the amplitude, exp(-kappa d), with kappa the decay
    constant of the state under the barrier; this function measures the decay of the
    computed beta(d) and reports both WKB constants for comparison.

    Parameters
    ----------
    gaps_nm : array_like
        At least two gaps [nm], ascending.
    edge_nm, barrier_eV, mass, barrier_mass
        As in :class:`DotSystem` (a pair of cubes).
    method : {"3d", "separable"}
    settings : SolverSettings, optional

    Returns
    -------
    GapDependence
    """
    gaps = np.asarray(gaps_nm, dtype=float)
    if gaps.ndim != 1 or gaps.size < 2 or np.any(np.diff(gaps) <= 0) or np.any(gaps <= 0):
        raise InputError("need at least two positive, ascending gaps")
    mb = mass if barrier_mass is None else barrier_mass
    beta = np.array(
        [
            coupling_meV(edge_nm, d, barrier_eV, mass, mb, method=method, settings=settings)
            for d in gaps
        ]
    )
    if np.any(beta <= 0):
        raise InputError(
            "a coupling came out non-positive; the gaps are too large for the grid accuracy"
        )
    lnb = np.log(beta)
    local = -np.diff(lnb) / np.diff(gaps)
    mean = float(-(lnb[-1] - lnb[0]) / (gaps[-1] - gaps[0]))
    k_amp = math.sqrt(2 * mb * barrier_eV / (2 * _C))
    # the separable state's energy below its own (lateral-energy-raised) barrier
    ex = _lateral_levels(edge_nm, barrier_eV, mass, mb, 1)[0]
    elat = 2 * ex
    vz = barrier_eV + (mass / mb - 1.0) * elat
    ez = bound_states_eV(finite_well(edge_nm, vz, mass, mb), 1)[0]
    k_state = math.sqrt(mb * (vz - ez) / _C)
    return GapDependence(
        tuple(map(float, gaps)),
        tuple(map(float, beta)),
        tuple(map(float, local)),
        mean,
        k_amp,
        2 * k_amp,
        k_state,
        float(edge_nm),
        float(barrier_eV),
        float(mass),
        float(mb),
        method,
    )


# ------------------------------------------------------------ the film model's tight-binding reduction
@dataclass(frozen=True)
class TightBinding:
    """Single-carrier levels of dots from the film model's tight-binding reduction.

    Attributes
    ----------
    levels_meV : ndarray (n,)
        Eigenvalues of ``H = diag(onsite) - sum_bonds beta_ij (|i><j| + |j><i|)`` [meV].
    onsite_meV : ndarray (n,)
        Ground-state energy of each dot alone in the barrier [meV].
    bonds : ndarray (nb, 2)
    beta_meV : ndarray (nb,)
        ``sqrt(beta(L_i, d) beta(L_j, d))`` per bond [meV].
    """

    levels_meV: np.ndarray
    onsite_meV: np.ndarray
    bonds: np.ndarray
    beta_meV: np.ndarray


def tight_binding(
    system: DotSystem,
    bonds,
    gap_nm,
    *,
    settings: SolverSettings | None = None,
    beta_method: str = "separable",
) -> TightBinding:
    """The film model's tight-binding reduction of a block of cubes, for comparison with 3D.

    The film model (:mod:`qdstack.physics.film_model`) replaces the dots by one orbital
    each: the on-site energy is that of the dot alone, and each bond carries one
    coupling from a *pair* calculation, ``beta(L, d)`` of two identical cubes of
    edge L across the gap d, combined for unequal neighbours as
    ``beta_ij = sqrt(beta(L_i, d) beta(L_j, d))`` (``pair_beta`` in
    :mod:`qdstack.physics.film_model.ensemble`).  Here the on-site energies come
    from the 3D solver (each dot alone, same barrier and masses, so only the
    reduction is tested) and ``beta(L, d)`` from :func:`coupling_meV`
    (``"separable"``: the transfer-matrix path of the film's
    :func:`qdstack.physics.film_model.dots.linker_coupling_meV`; ``"3d"``: the
    full pair).
    What the reduction leaves out: the on-site shift each neighbour's dot material
    causes (a "crystal field", the same sign for every level), the dependence of
    beta on the two sizes beyond the geometric mean, overlap (non-orthogonality)
    and couplings beyond the bonds given.

    Parameters
    ----------
    system : DotSystem
        Cubes (edge ``size_nm[0]``).
    bonds : array_like (nb, 2)
        Indices of neighbouring dots (e.g. :func:`exciton_stack.block_bonds`).
    gap_nm : float or array_like (nb,)
        The gap of each bond as the film model takes it (its nominal linker or
        in-plane gap) [nm].
    settings : SolverSettings, optional
        For the single-dot solves.

    Returns
    -------
    TightBinding
    """
    bonds = np.asarray(bonds, dtype=np.intp).reshape(-1, 2)
    n = system.count
    if bonds.size and (bonds.min() < 0 or bonds.max() >= n):
        raise InputError(f"bond indices must lie in 0..{n - 1}")
    gaps = np.broadcast_to(np.asarray(gap_nm, dtype=float), (len(bonds),))
    V, m, mb = system.barrier_eV, system.mass, system.effective_barrier_mass
    onsite = np.empty(n)
    cache: dict[float, float] = {}
    for i, d in enumerate(system.dots):
        L = float(d.size_nm[0])
        if L not in cache:
            one = DotSystem((Cuboid((0.0, 0.0, 0.0), d.size_nm),), V, m, system.barrier_mass)
            cache[L] = solve_dots(one, 1, settings).energies_meV[0]
        onsite[i] = cache[L]
    edges = np.array([d.size_nm[0] for d in system.dots])
    beta = np.array(
        [
            math.sqrt(
                coupling_meV(edges[i], g, V, m, mb, method=beta_method, settings=settings)
                * coupling_meV(edges[j], g, V, m, mb, method=beta_method, settings=settings)
            )
            for (i, j), g in zip(bonds, gaps)
        ]
    )
    H = np.diag(onsite)
    for (i, j), b in zip(bonds, beta):
        H[i, j] -= b
        H[j, i] -= b
    return TightBinding(np.linalg.eigvalsh(H), onsite, bonds, beta)
