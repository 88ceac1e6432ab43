"""The description handed to the solver: dots (:class:`Cuboid`), their arrangement
(:class:`DotSystem`, with the regular and disordered array constructors) and how to
solve them (:class:`SolverSettings`).  See :mod:`qdstack.physics.coupled_dots`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
import math

import numpy as np

from qdstack.errors import InputError, OptionError

_TOL_NM = 1e-9


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


#: Largest default merge threshold of :class:`SolverSettings` [nm] (see ``merge_faces_nm``).
MERGE_FACES_MAX_NM = 0.1


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
        h^2 and h^4 eliminated).  One or two values give less (or no) extrapolation;
        four or more: the four finest grids eliminate h^6 as well and the error
        estimate is ``SAFETY_FACTOR * |R4 - R3|``.  (1, 2, 3, 4) adds the scan grid,
        which is solved anyway, at no cost: on an aligned grid (identical cubes) its
        estimate is ~40x tighter and still honest (the separable pair: error 1e-5
        meV, estimate 3e-4 meV); on a disordered block it is honest only with a fixed
        ``merge_faces_nm`` (the default threshold is at most 0.1 nm, so families at
        0.3 nm and coarser merge the same faces; ``docs/guide/performance.md``).
    padding_nm : float or (float, float, float), optional
        Barrier thickness between the outermost dot faces and the hard-wall box
        [nm]; default ``9 / kappa`` of the highest wanted state (>= 1 nm).  0 puts the
        wall on the dot faces (an infinite barrier on that axis).
    barrier_resolution : float
        kappa * h of the coarsest barrier cells (default 2: h_barrier = 2 / kappa / k).
    tol_eV : float
        Residual-norm tolerance of the eigenvectors [eV] (default 1e-5: the
        eigenvalue error is about residual^2 / gap, <= 1e-4 meV for a gap of 1 meV
        to the first unwanted state, far below the discretisation error; on a
        disordered 2 x 2 x 4 block, 1e-5 instead of 1e-6 moved the 16 levels by
        6e-9 meV and saved a quarter of the LOBPCG iterations).
    use_symmetry : bool
        Solve parity sectors on reduced domains when the geometry has mirror planes.
    backend : {"cpu", "cupy", "auto"}
        Where LOBPCG runs on the finer grids; "cupy" needs CuPy and a GPU, "auto"
        uses it when present and the grid has at least :data:`GPU_MIN_UNKNOWNS`
        unknowns per sector.  That threshold is ``None`` (never) until a GPU
        measurement finds a size where the GPU wins: it lost at every size measured
        so far (see ``docs/guide/dots.md``).  The coarsest grid is always solved
        on the CPU.
    max_unknowns : int
        Refuse problems whose finest sector grid would exceed this (memory guard).
    merge_faces_nm : float, optional
        Dot faces (along one axis) closer together than this share one grid plane
        and the cells they cut get exact sub-cell material averages
        (:func:`qdstack.physics._fv.subcell_material`); the two faces of a
        tunnelling gap are never merged.  Default (:attr:`merge_threshold_nm`): a third
        of ``grid_nm``, at most :data:`MERGE_FACES_MAX_NM` = 0.1 nm.  The Richardson
        error estimate covers the discretisation of the merged problem, not the merge
        itself: on a disordered 2 x 2 x 4 block, merging within 0.15 nm (a third of
        0.45 nm) moved levels by up to 0.03 meV where the estimate said 0.003 meV,
        while merging within 0.1 nm is within 0.0034 meV of merging within 0.05 nm
        (issue 17, ``docs/guide/performance.md``); hence the cap.  0 aligns the grid with every face
        (the plain reference path: on a disordered array each near-coincident pair
        of faces then makes a sliver of cells thinner than the cells by orders of
        magnitude, which multiplies the unknowns and the LOBPCG iterations).
    """

    grid_nm: float = 0.3
    multipliers: tuple[int, ...] = (2, 3, 4)
    padding_nm: float | tuple[float, float, float] | None = None
    barrier_resolution: float = 2.0
    tol_eV: float = 1e-5
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

    @property
    def merge_threshold_nm(self) -> float:
        """Faces closer than this share a grid plane [nm]: ``merge_faces_nm``, or by
        default ``min(grid_nm / 3, MERGE_FACES_MAX_NM)``."""
        if self.merge_faces_nm is not None:
            return float(self.merge_faces_nm)
        return min(self.grid_nm / 3, MERGE_FACES_MAX_NM)
