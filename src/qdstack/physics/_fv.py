"""Cell-centred finite volumes for -div(hbar^2/(2m) grad psi) + V psi = E psi on rectilinear grids.

Private building blocks of :mod:`qdstack.physics.coupled_dots`.

Grids
-----
Every axis is a sorted array of cell faces.  The faces contain every dot face
(so each cell is entirely dot or entirely barrier and every material interface
lies on a cell face), the domain ends and, when the geometry is mirror symmetric
along the axis, the mirror plane.  Dot faces closer together than a fraction of
a cell (a disordered array) may instead share one grid plane; the cells they cut
then get exact sub-cell material averages (:func:`subcell_material`).  Each segment between consecutive breakpoints
is cut into ``k * n_base`` cells, so a family of grids with multipliers ``k`` is
*geometrically similar*: every cell shrinks by the same factor, the
discretisation error expands as ``c2 h^2 + c4 h^4 + ...`` and Richardson
extrapolation in ``h`` is clean.  The outer (padding) segments in the barrier
are graded, ``x = P (exp(a xi) - 1)/(exp(a) - 1)`` with uniform ``xi``: fine
at the dot, coarse far out where the envelope has decayed by orders of
magnitude (a smooth map keeps the error expansion).

Operator
--------
Integrating over a cell and using the flux through each face,

    sum_faces  G_f (psi_i - psi_nb) + V_i vol_i psi_i = E vol_i psi_i,
    G_f = area_f / (d_i / a_i + d_nb / a_nb),   a = hbar^2 / (2 m),

with ``d`` the centre-to-face distances: the harmonic combination is exactly the
BenDaniel-Duke condition (psi and psi'/m continuous) for an envelope that is
piecewise linear between the two centres.  A Dirichlet wall (psi = 0 on a domain
face, or an odd mirror plane) contributes ``area / (d / a)`` to the diagonal; an
even mirror plane contributes nothing.  With ``W = diag(vol)`` the symmetric
standard form ``H = W^-1/2 A W^-1/2`` is handed to the eigen-solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq

from qdstack.units import HBAR2_OVER_2ME_EV_NM2

__all__ = [
    "AxisSpec",
    "axis_faces",
    "segment_counts",
    "build_hamiltonian",
    "cell_material",
    "subcell_material",
]


@dataclass(frozen=True)
class AxisSpec:
    """One axis of the (possibly halved) domain.

    Parameters
    ----------
    breakpoints : tuple of float
        Sorted positions [nm] from the lower domain end (or the mirror plane) to
        the upper domain end, including every dot face in between.
    barrier : tuple of bool
        For every segment, whether it is barrier material over its whole length
        along this axis (gaps, padding); such segments resolve the decay length.
    lower_padding, upper_padding : bool
        Whether the first/last segment is padding towards a hard wall (graded cells).
    """

    breakpoints: tuple[float, ...]
    barrier: tuple[bool, ...]
    lower_padding: bool
    upper_padding: bool


def _graded(length: float, n: int, first: float, toward_upper: bool) -> np.ndarray:
    """Face offsets of ``n`` cells over ``length``, first cell ~``first``, growing smoothly."""
    q = first * n / length
    xi = np.linspace(0.0, 1.0, n + 1)
    if q >= 1.0 or n == 1:
        g = xi
    else:
        # a / (exp(a) - 1) = q  -> stretch a > 0 (smooth map, so the error expansion survives)
        a = brentq(lambda a: a / math.expm1(a) - q, 1e-12, 700.0)
        g = np.expm1(a * xi) / math.expm1(a)
    off = length * g
    if not toward_upper:  # the dots are at the upper end: mirror the stretching
        off = length - off[::-1]
    return off


def segment_counts(spec: AxisSpec, h_base: float, h_barrier: float, growth: float = 2.0):
    """Cells per segment at multiplier 1 (the base level), and each padding's first cell."""
    bp = np.asarray(spec.breakpoints, dtype=float)
    nseg = len(bp) - 1
    counts, firsts = [], []
    for s in range(nseg):
        length = bp[s + 1] - bp[s]
        pad = (s == 0 and spec.lower_padding) or (s == nseg - 1 and spec.upper_padding)
        h = h_barrier if spec.barrier[s] else h_base
        if pad:
            first = min(h, length)
            n = max(
                1, math.ceil(math.log1p(length * (growth - 1) / first) / math.log(growth) - 1e-9)
            )
            counts.append(n)
            firsts.append(first)
        else:
            counts.append(max(1, math.ceil(length / h - 1e-9)))
            firsts.append(None)
    return counts, firsts


def axis_faces(spec: AxisSpec, h_base: float, k: int, h_barrier: float | None = None) -> np.ndarray:
    """Cell faces [nm] of one axis at refinement multiplier ``k``.

    Dot segments get ``k * ceil(len / h_base)`` uniform cells, barrier segments
    ``k * ceil(len / h_barrier)``; padding segments a graded run of ``k * n`` cells
    whose first cell (at the dots) is ``h_barrier / k`` and which grows by about
    ``2**(1/k)`` per cell.
    """
    hb = h_base if h_barrier is None else min(h_base, h_barrier)
    counts, firsts = segment_counts(spec, h_base, hb)
    bp = np.asarray(spec.breakpoints, dtype=float)
    nseg = len(bp) - 1
    faces = [bp[:1]]
    for s in range(nseg):
        a, b = bp[s], bp[s + 1]
        length = b - a
        n = k * counts[s]
        if firsts[s] is not None:
            off = _graded(
                length, n, firsts[s] / k, toward_upper=(s == nseg - 1 and spec.upper_padding)
            )
        else:
            off = np.linspace(0.0, length, n + 1)
        faces.append(a + off[1:])
    f = np.concatenate(faces)
    f[-1] = bp[-1]
    return f


def cell_material(
    centres: list[np.ndarray],
    boxes,
    default_mass: float,
    barrier_mass: float,
    barrier_eV: float,
    *,
    mirror_origin=None,
):
    """Per-cell effective mass and potential from a list of boxes.

    ``boxes`` is a sequence of ``(lo[3], hi[3], mass, potential_eV)``; cells whose
    centre lies inside a box get its mass and potential, all others the barrier's.
    Returns ``(mass, potential)`` arrays of shape ``(nx, ny, nz)``.
    """
    shape = tuple(len(c) for c in centres)
    mass = np.full(shape, float(barrier_mass))
    pot = np.full(shape, float(barrier_eV))
    for lo, hi, m, v in boxes:
        inside = [(c > a) & (c < b) for c, a, b in zip(centres, lo, hi)]
        if not all(ins.any() for ins in inside):
            continue
        ix = np.flatnonzero(inside[0])
        iy = np.flatnonzero(inside[1])
        iz = np.flatnonzero(inside[2])
        sl = (slice(ix[0], ix[-1] + 1), slice(iy[0], iy[-1] + 1), slice(iz[0], iz[-1] + 1))
        mass[sl] = default_mass if m is None else m
        pot[sl] = v
    return mass, pot


def _overlaps(f: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fraction of each cell [f_i, f_i+1] inside [lo, hi] (snapped to exact 0 and 1)."""
    w = np.diff(f)
    ov = np.clip(np.minimum(f[1:], hi) - np.maximum(f[:-1], lo), 0.0, None) / w
    ov[ov < 1e-9] = 0.0
    ov[ov > 1.0 - 1e-9] = 1.0
    return ov


def subcell_material(
    faces: list[np.ndarray],
    boxes,
    default_mass: float,
    barrier_mass: float,
    barrier_eV: float,
):
    """Cell potentials and directional ``hbar^2/(2m)`` when dot faces may cut cells.

    Where a grid is not aligned with every dot face (faces closer together than a
    cell are merged into one grid plane, see :mod:`qdstack.physics.coupled_dots`),
    a cell can be part dot, part barrier.  Exact sub-cell averages of the
    piecewise-constant material are used (the finite-volume analogue of the
    sub-pixel smoothing of Farjadpour et al., Opt. Lett. 31, 2972 (2006)):

    * potential: the volume average, ``V_i = (1/vol_i) int_cell V dV``;
    * along axis ``alpha``, ``a_alpha`` is the harmonic mean along ``alpha`` of the
      arithmetic means of ``a = hbar^2/(2m)`` over the cross-sections (resistances
      in series along the flux, conductances in parallel across it): exact for a
      layered cell, and equal to the cell's material where the cell is not cut.

    On a grid aligned with every face this is identical to :func:`cell_material`.

    * first moments of the potential, ``(1/vol_i) int_cell (V - V_i)(x_alpha - x_c)``,
      per axis: the potential energy of a cut cell is ``int V psi^2 ~ V_i vol_i
      psi_i^2 + 2 psi_i grad(psi) . moment vol_i``, and the second term (with central
      differences, symmetrised) removes the error of a cell-constant envelope,
      first order in the offset of the face inside the cell, which otherwise makes
      the energies converge erratically (second order, but with a coefficient that
      jumps with the face's offset on each grid, so Richardson extrapolation fails).

    On a grid aligned with every face this is identical to :func:`cell_material`.

    Returns
    -------
    a_axes : list of 3 ndarrays, shape (nx, ny, nz)
        Directional ``hbar^2/(2m)`` [eV nm^2] per cell.
    pot : ndarray, shape (nx, ny, nz)
        Volume-averaged potential [eV].
    moments : list of 3 ndarrays, shape (nx, ny, nz)
        First moments of the potential along each axis [eV nm].
    """
    shape = tuple(len(f) - 1 for f in faces)
    a_bar = HBAR2_OVER_2ME_EV_NM2 / float(barrier_mass)
    pot = np.full(shape, float(barrier_eV))
    moments = [np.zeros(shape) for _ in range(3)]
    fr = []  # per box: its three 1D overlap fractions and (a_box - a_bar)
    for lo, hi, m, v in boxes:
        fx = [_overlaps(f, lo[i], hi[i]) for i, f in enumerate(faces)]
        if not all(x.any() for x in fx):
            continue
        mm = default_mass if m is None else m
        frac = fx[0][:, None, None] * fx[1][None, :, None] * fx[2][None, None, :]
        pot += frac * (v - barrier_eV)
        for axis, f in enumerate(faces):
            mu = _first_moments(f, lo[axis], hi[axis])
            if not mu.any():
                continue
            parts = [fx[0], fx[1], fx[2]]
            parts[axis] = mu
            moments[axis] += (v - barrier_eV) * (
                parts[0][:, None, None] * parts[1][None, :, None] * parts[2][None, None, :]
            )
        fr.append((fx, HBAR2_OVER_2ME_EV_NM2 / mm - a_bar, lo, hi))
    a_axes = []
    if all(abs(da) <= 1e-15 * a_bar for _fx, da, _lo, _hi in fr):  # one mass everywhere
        a = np.full(shape, a_bar)
        return [a, a, a], pot, moments
    for axis in range(3):
        others = [i for i in range(3) if i != axis]
        f = faces[axis]
        inv = np.empty(shape)
        inv_m = np.moveaxis(inv, axis, 0)
        for i in range(shape[axis]):
            cuts = [f[i], f[i + 1]]
            for fx, da, lo, hi in fr:
                for c in (lo[axis], hi[axis]):
                    if f[i] < c < f[i + 1]:
                        cuts.append(c)
            cuts = np.unique(cuts)
            acc = np.zeros((shape[others[0]], shape[others[1]]))
            for x0, x1 in zip(cuts[:-1], cuts[1:]):
                xm = 0.5 * (x0 + x1)
                abar = np.full(acc.shape, a_bar)
                for fx, da, lo, hi in fr:
                    if lo[axis] < xm < hi[axis]:
                        abar += da * np.multiply.outer(fx[others[0]], fx[others[1]])
                acc += (x1 - x0) / abar
            inv_m[i] = acc / (f[i + 1] - f[i])
        a_axes.append(1.0 / inv)
    return a_axes, pot, moments


def _first_moments(f: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Per cell, (1/w) int_{cell and [lo, hi]} (x - x_c) dx: zero for cells fully in or out."""
    a = np.maximum(f[:-1], lo)
    b = np.minimum(f[1:], hi)
    xc = 0.5 * (f[1:] + f[:-1])
    w = np.diff(f)
    mu = np.where(b > a, 0.5 * ((b - xc) ** 2 - (a - xc) ** 2), 0.0) / w
    mu[np.abs(mu) < 1e-12 * w] = 0.0
    return mu


def build_hamiltonian(
    faces: list[np.ndarray],
    mass: np.ndarray | None,
    pot: np.ndarray,
    lower_bc: list[str],
    dtype=np.float64,
    *,
    a_axes: list[np.ndarray] | None = None,
    moments: list[np.ndarray] | None = None,
):
    """Symmetric sparse H (CSR, eV) of the finite-volume problem and the cell volumes.

    Parameters
    ----------
    faces : list of 3 arrays
        Cell faces per axis [nm].
    mass, pot : ndarray, shape (nx, ny, nz)
        Cell effective masses [m_e] and potentials [eV].  ``mass`` may be None
        when ``a_axes`` is given.
    lower_bc : list of 3 str
        Lower-boundary condition per axis: ``"wall"`` (psi = 0), ``"even"``
        (mirror plane, symmetric states) or ``"odd"`` (mirror plane, antisymmetric
        states).  The upper boundary is always a wall.
    a_axes : list of 3 ndarrays, optional
        Directional ``hbar^2/(2m)`` per cell and axis (:func:`subcell_material`),
        used instead of ``mass``.
    moments : list of 3 ndarrays, optional
        First moments of the potential per cell (:func:`subcell_material`); adds
        ``vol_i (2 m_i / (x_{i+1} - x_{i-1}) - 2 m_{i+1} / (x_{i+2} - x_i)) / 2``
        to the coupling of cells i and i+1 (the symmetrised quadrature correction).

    Returns
    -------
    H : scipy.sparse.csr_matrix, shape (N, N)
        ``W^-1/2 A W^-1/2`` in eV, with N = nx ny nz, C order (z fastest).
    vol : ndarray, shape (N,)
        Cell volumes [nm^3] (``psi = W^-1/2 phi`` turns eigenvectors into envelopes).
    """
    w = [np.diff(f) for f in faces]
    nx, ny, nz = pot.shape
    if a_axes is None:
        a = HBAR2_OVER_2ME_EV_NM2 / mass  # hbar^2/(2m) per cell
        a_axes = [a, a, a]
    vol = w[0][:, None, None] * w[1][None, :, None] * w[2][None, None, :]
    diag = pot * vol
    offdiag = []
    for axis in range(3):
        wa = w[axis]
        shape = [1, 1, 1]
        shape[axis] = -1
        half = (wa / 2).reshape(shape)
        others = [w[i] for i in range(3) if i != axis]
        area = np.multiply.outer(others[0], others[1])
        area = np.expand_dims(area, axis)
        res = half / a_axes[axis]  # d / a per cell (resistance towards its faces)
        lo_sl = [slice(None)] * 3
        hi_sl = [slice(None)] * 3
        lo_sl[axis] = slice(0, -1)
        hi_sl[axis] = slice(1, None)
        g = area / (res[tuple(lo_sl)] + res[tuple(hi_sl)])  # conductances of interior faces
        diag[tuple(lo_sl)] += g
        diag[tuple(hi_sl)] += g
        first = [slice(None)] * 3
        last = [slice(None)] * 3
        first[axis] = slice(0, 1)
        last[axis] = slice(-1, None)
        # upper boundary: hard wall
        diag[tuple(last)] += area / res[tuple(last)]
        if lower_bc[axis] in ("wall", "odd"):
            diag[tuple(first)] += area / res[tuple(first)]
        elif lower_bc[axis] != "even":
            raise ValueError(f"unknown boundary condition {lower_bc[axis]!r}")
        off = -g
        if moments is not None and np.any(moments[axis]):
            xc = 0.5 * (faces[axis][1:] + faces[axis][:-1])
            span = np.full(len(xc), np.inf)
            span[1:-1] = xc[2:] - xc[:-2]
            c = 2.0 * moments[axis] * vol / span.reshape(shape)
            off = off + 0.5 * (c[tuple(lo_sl)] - c[tuple(hi_sl)])
        offdiag.append(off)
    s = 1.0 / np.sqrt(vol)
    N = nx * ny * nz
    strides = (ny * nz, nz, 1)
    diags = [(diag * s * s).ravel()]
    offsets = [0]
    for axis, g in enumerate(offdiag):
        full = np.zeros((nx, ny, nz))
        sl = [slice(None)] * 3
        sl[axis] = slice(0, -1)
        sl2 = [slice(None)] * 3
        sl2[axis] = slice(1, None)
        full[tuple(sl)] = g * s[tuple(sl)] * s[tuple(sl2)]
        band = full.ravel()[: N - strides[axis]]
        if band.size == 0:
            continue
        diags += [band, band]
        offsets += [strides[axis], -strides[axis]]
    H = sp.diags(diags, offsets, shape=(N, N), format="csr", dtype=dtype)
    return H, vol.ravel()
