"""Cell-centred finite volumes for -div(hbar^2/(2m) grad psi) + V psi = E psi on rectilinear grids.

Private building blocks of :mod:`qdstack.physics.coupled_dots`.

Grids
-----
Every axis is a sorted array of cell faces.  The faces contain every dot face
(so each cell is entirely dot or entirely barrier and every material interface
lies on a cell face), the domain ends and, when the geometry is mirror symmetric
along the axis, the mirror plane.  Each segment between consecutive breakpoints
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

__all__ = ["AxisSpec", "axis_faces", "segment_counts", "build_hamiltonian", "cell_material"]


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


def build_hamiltonian(
    faces: list[np.ndarray],
    mass: np.ndarray,
    pot: np.ndarray,
    lower_bc: list[str],
    dtype=np.float64,
):
    """Symmetric sparse H (CSR, eV) of the finite-volume problem and the cell volumes.

    Parameters
    ----------
    faces : list of 3 arrays
        Cell faces per axis [nm].
    mass, pot : ndarray, shape (nx, ny, nz)
        Cell effective masses [m_e] and potentials [eV].
    lower_bc : list of 3 str
        Lower-boundary condition per axis: ``"wall"`` (psi = 0), ``"even"``
        (mirror plane, symmetric states) or ``"odd"`` (mirror plane, antisymmetric
        states).  The upper boundary is always a wall.

    Returns
    -------
    H : scipy.sparse.csr_matrix, shape (N, N)
        ``W^-1/2 A W^-1/2`` in eV, with N = nx ny nz, C order (z fastest).
    vol : ndarray, shape (N,)
        Cell volumes [nm^3] (``psi = W^-1/2 phi`` turns eigenvectors into envelopes).
    """
    w = [np.diff(f) for f in faces]
    nx, ny, nz = mass.shape
    a = HBAR2_OVER_2ME_EV_NM2 / mass  # hbar^2/(2m) per cell
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
        res = half / a  # d / a per cell (resistance towards its faces)
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
        offdiag.append(g)
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
        full[tuple(sl)] = -g * s[tuple(sl)] * s[tuple(sl2)]
        band = full.ravel()[: N - strides[axis]]
        if band.size == 0:
            continue
        diags += [band, band]
        offsets += [strides[axis], -strides[axis]]
    H = sp.diags(diags, offsets, shape=(N, N), format="csr", dtype=dtype)
    return H, vol.ravel()
