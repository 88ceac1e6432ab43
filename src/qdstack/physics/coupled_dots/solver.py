"""The 3D finite-volume solver: grids aligned with (or merging) the dot faces, parity
sectors, shift-invert ARPACK (or LOBPCG from a random start) on the coarsest grid,
AMG-preconditioned LOBPCG on the finer ones, Richardson extrapolation.  The method is described in
:mod:`qdstack.physics.coupled_dots`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
import math
import time
from collections.abc import Callable

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
from qdstack.physics.coupled_dots.results import DotsResult, LevelResult
from qdstack.physics.coupled_dots.separable import (
    chain_coupling_meV,
    separable_column_levels_meV,
)
from qdstack.physics.coupled_dots.system import _TOL_NM, DotSystem, SolverSettings
from qdstack.physics.transfer_matrix import bound_states_eV, finite_well
from qdstack.units import HBAR2_OVER_2ME_EV_NM2

_C = HBAR2_OVER_2ME_EV_NM2
#: Safety factor on the Richardson error estimate |R_m - R_{m-1}| (m = 3 or 4 grids, see _richardson).
SAFETY_FACTOR = 2.0
#: ``backend="auto"`` picks the GPU only for grids at least this large (unknowns per
#: sector); ``None``: never.  Issue 17 asks that "auto" never choose the GPU below the
#: size where it wins.  The only GPU measurements (an H200 machine against its own 16
#: CPU cores) show it losing: the Jacobi-preconditioned path at 72k-109k unknowns
#: (0.5-0.36x).  The AMG-preconditioned GPU path has not been timed on a GPU
#: (benchmarks/bench_dots_gpu.py is ready for that), so no size is known where it wins
#: and "auto" stays on the CPU; ``backend="cupy"`` forces the GPU.  Set this from a
#: measured crossover.  See docs/guide/dots.md.
GPU_MIN_UNKNOWNS: int | None = None


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


def _extrapolate(h: np.ndarray, e: np.ndarray) -> float:
    """Value at h = 0 of the polynomial in h^2 through all the points (h_i, e_i)."""
    A = np.vander(np.asarray(h, dtype=float) ** 2, len(h), increasing=True)
    return float(np.linalg.solve(A, e)[0])


def _richardson(h: np.ndarray, e: np.ndarray):
    """Extrapolations from the finest grids: (value, error estimate, next, observed order).

    With n >= 3 grids the value is R_m, the polynomial in h^2 of degree m - 1 through the
    m = min(n, 4) finest grids (m = 3: h^2 and h^4 eliminated; m = 4: h^6 as well), "next"
    is R_{m-1} from the m - 1 finest, and the estimate is SAFETY_FACTOR * |R_m - R_{m-1}|.
    """
    if len(h) == 1:
        return float(e[0]), float("nan"), float(e[0]), None
    r2 = _extrapolate(h[-2:], e[-2:])
    if len(h) == 2:
        return float(r2), float(abs(r2 - e[-1])), float(r2), None
    order = _observed_order(h[-3:], e[-3:])
    m = min(len(h), 4)
    best, nxt = _extrapolate(h[-m:], e[-m:]), _extrapolate(h[-m + 1 :], e[-m + 1 :])
    return best, SAFETY_FACTOR * abs(best - nxt), nxt, order


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

    A third of the wanted ones, at most four.  LOBPCG stops when the wanted pairs
    converge (:func:`._eigen.lowest_lobpcg`), so guards only speed up the wanted
    ones and each costs dense work on the whole block: 16 states of a disordered
    2 x 2 x 4 block (139,725 unknowns) took 26 iterations with 2, 4, 6 or 10
    guards, in 6.2, 7.4, 8.6 and 11.6 s.
    """
    return max(1, min(4, (n_keep + 2) // 3))


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
    if backend == "auto" and GPU_MIN_UNKNOWNS is None:
        backend = "cpu"
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
    merge_nm = settings.merge_threshold_nm
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
        vals, vecs = _eigen.lowest_pairs(H, min(n_req, H.shape[0] - 2))
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
        if len(found) == 1:
            # one sector holds every state: the lowest n_req of it are the wanted ones
            # whatever their order on the coarse grid (no near-misses to keep)
            tracked[sec] = n_req
            prev[sec] = (centres, vecs[:, :n_req] / np.sqrt(vol)[:, None])
            continue
        n_keep = int(np.sum(vals <= thr + margin))
        # a sector whose every computed state is kept may hold more below the threshold
        while n_keep == len(vals) and n_keep < n_req + 4 and len(vals) + 2 < H.shape[0] - 2:
            vals, vecs = _eigen.lowest_pairs(H, len(vals) + 2)
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
            if k == 1 and len(found[sec][0]) >= n_keep:
                # the scan grid itself (same faces, same matrix): its states are already known
                vals, vecs = found[sec][0][:n_keep], found[sec][1][:, :n_keep]
            elif k == 1:
                vals, vecs = _eigen.lowest_pairs(H, n_keep)
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
