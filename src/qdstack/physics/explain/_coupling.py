"""Fast tunnelling coupling of two identical cubes: the engine's 1D problem solved by parity.

:func:`qdstack.physics.film_model.linker_coupling_meV` reduces the coupled pair
to a 1D BenDaniel-Duke problem along z (adiabatic-separable: the lateral
ground-state energy ``E_lat`` of the dot is carried into every barrier slab as
``V + (m/m_B - 1) E_lat``) and finds the two lowest levels of the symmetric
double well with the general transfer-matrix root finder.  The fits of
``qdstack explain`` call it thousands of times, so this module solves the
*same* 1D problem faster: the structure is mirror-symmetric, so the even and
odd ground states are the lowest roots of

.. math:: f_\\pm(E) = u_2(z_o) + \\frac{\\kappa_o}{m_o} u_1(z_o),

where ``u = (psi, psi'/m)`` is carried from the mirror plane (``u = (1, 0)``
even, ``(0, 1)`` odd) through half the gap and the well by the exact 2x2
transfer matrices, and the outer barrier requires a decaying tail.  ``f`` is an
entire function of E, the lowest sign change on a fine grid brackets the
ground state and Brent's method refines it.  ``beta = (E_odd - E_even) / 2``.
Agreement with the engine to 1e-6 relative is tested
(``tests/physics/explain/test_reduced.py``).

References
----------
D. J. BenDaniel and C. B. Duke, Phys. Rev. 152, 683 (1966); G. Bastard, *Wave
Mechanics Applied to Semiconductor Heterostructures* (1988).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.optimize import brentq

from qdstack.units import HBAR2_OVER_2ME_EV_NM2 as _C


def _carry(u1, u2, width, v, mass, e):
    """Carry (psi, psi'/m) across a flat layer at energies e (arrays)."""
    k2 = mass * (e - v) / _C
    out1 = np.empty_like(e)
    out2 = np.empty_like(e)
    osc = k2 > 0
    k = np.sqrt(np.abs(k2))
    kz = k * width
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.where(osc, np.cos(kz), np.cosh(kz))
        s = np.where(osc, np.sin(kz), np.sinh(kz))
        # psi' = m u2 ; psi(z) = psi0 c + (m u2_0 / k) s ; u2(z) = (-/+)(k/m) psi0 s + u2_0 c
        small = k * width < 1e-8
        s_over_k = np.where(small, width, s / np.where(small, 1.0, k))
    out1[:] = u1 * c + mass * u2 * s_over_k
    out2[:] = np.where(osc, -1.0, 1.0) * (k / mass) * u1 * s + u2 * c
    return out1, out2


@functools.lru_cache(maxsize=256)
def lateral_energy_eV(edge: float, mass: float, vo: float, mo: float) -> float:
    """E_x + E_y of the dot's lateral ground state in the ligand-barrier well [eV] (engine root finder)."""
    from qdstack.physics.transfer_matrix import bound_states_eV, finite_well

    ex = bound_states_eV(finite_well(edge, vo, mass, mo), 1)
    return 2.0 * float(ex[0]) if ex.size else math.nan


def _ground(parity: int, L, d, vg, m, mb, vo, mo, e_top):
    def f(e):
        e = np.atleast_1d(np.asarray(e, dtype=float))
        u1 = np.full(e.shape, 1.0 if parity == 0 else 0.0)
        u2 = np.full(e.shape, 0.0 if parity == 0 else 1.0)
        u1, u2 = _carry(u1, u2, 0.5 * d, vg, mb, e)
        u1, u2 = _carry(u1, u2, L, 0.0, m, e)
        kappa = np.sqrt(np.maximum(mo * (vo - e) / _C, 0.0))
        # normalise to keep the magnitude tame (only the sign and the root matter)
        norm = np.hypot(u1, u2)
        return (u2 + kappa / mo * u1) / np.where(norm > 0, norm, 1.0)

    def f_scalar(e):
        a1, a2 = (1.0, 0.0) if parity == 0 else (0.0, 1.0)
        for width, v, mass in ((0.5 * d, vg, mb), (L, 0.0, m)):
            k2 = mass * (e - v) / _C
            k = math.sqrt(abs(k2))
            kz = k * width
            if k2 > 0:
                c, s, sgn = math.cos(kz), math.sin(kz), -1.0
            else:
                c, s, sgn = math.cosh(kz), math.sinh(kz), 1.0
            s_over_k = width if kz < 1e-8 else s / k
            a1, a2 = a1 * c + mass * a2 * s_over_k, sgn * (k / mass) * a1 * s + a2 * c
        kappa = math.sqrt(max(mo * (vo - e) / _C, 0.0))
        return (a2 + kappa / mo * a1) / (math.hypot(a1, a2) or 1.0)

    lo = min(0.0, vg) if vg < 0 else 0.0
    # the ground state lies below the lowest level of an isolated hard-wall well of the dot
    top = min(e_top, 1.05 * _C * math.pi**2 / (m * L * L) + max(vg, 0.0) * 0 + 1e-3)
    grid = np.linspace(lo, top, 257)[1:]
    vals = f(grid)
    sign = np.signbit(vals)
    change = np.nonzero(sign[1:] != sign[:-1])[0]
    if change.size == 0:
        grid = np.linspace(lo, e_top, 2001)[1:]
        vals = f(grid)
        sign = np.signbit(vals)
        change = np.nonzero(sign[1:] != sign[:-1])[0]
        if change.size == 0:
            return math.nan
    i = int(change[0])
    return brentq(f_scalar, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15, maxiter=200)


def coupling_meV(
    edge_nm: float,
    gap_nm: float,
    barrier_eV: float,
    mass: float,
    barrier_mass: float,
    outer_barrier_eV: float,
    outer_barrier_mass: float,
) -> float:
    """beta [meV] of two identical cubes across a gap: the model of ``linker_coupling_meV``, solved by parity.

    Returns 0 where the barrier is so opaque (kappa d > 20) that the splitting is below
    the root finder's resolution, NaN where no pair of bound states exists.
    """
    L, d, v, m, mb, vo, mo = map(
        float,
        (edge_nm, gap_nm, barrier_eV, mass, barrier_mass, outer_barrier_eV, outer_barrier_mass),
    )
    elat = lateral_energy_eV(L, m, vo, mo)
    if not math.isfinite(elat):
        return math.nan
    v_out = vo + (m / mo - 1.0) * elat
    v_gap = v + (m / mb - 1.0) * elat
    e_top = v_out * (1.0 - 1e-12)
    e_even = _ground(0, L, d, v_gap, m, mb, v_out, mo, e_top)
    e_odd = _ground(1, L, d, v_gap, m, mb, v_out, mo, e_top)
    if not (math.isfinite(e_even) and math.isfinite(e_odd)):
        if math.isfinite(e_even) and d * math.sqrt(mb * max(v_gap - e_even, 0.0) / _C) > 20:
            return 0.0
        return math.nan
    if d * math.sqrt(mb * max(v_gap - e_even, 0.0) / _C) > 20:
        return 0.0
    return 0.5e3 * (e_odd - e_even)
