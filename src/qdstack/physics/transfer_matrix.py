"""Bound states of 1D layered potentials with BenDaniel-Duke conditions (transfer matrix).

A 1D heterostructure is a sequence of flat layers (width, potential, effective
mass) between two semi-infinite outer regions (or hard walls).  In every layer
the envelope solves

    -d/dz [ hbar^2 / (2 m(z)) d psi/dz ] + V(z) psi = E psi,

and at every interface the BenDaniel-Duke conditions hold: psi and
(1/m) dpsi/dz are continuous (BenDaniel & Duke, Phys. Rev. 152, 683 (1966)).
The state vector ``u = (psi, psi'/m)`` is therefore continuous and is carried
across each layer by its exact 2x2 transfer matrix (cos/sin in allowed layers,
cosh/sinh in forbidden ones), rescaled after every layer so nothing overflows.

Eigenvalues are located *exactly* (to the float tolerance of the root finder)
with Pruefer angles: psi = rho sin(theta), psi'/m = rho cos(theta), theta
advancing by pi per node of psi (counted analytically layer by layer).  The
solution decaying on the left and the one decaying on the right are carried to
a matching point in the middle of the widest layer; their angle difference D(E)
increases with E and equals k pi at the k-th level, so ceil(D/pi) counts the
levels below E (Sturm oscillation theorem).  Bisection on that count brackets
each level even when a pair is split by 1e-12 eV (dots behind thick barriers),
and Brent's method finds D(E) = k pi.

Energies in eV, lengths in nm, masses in electron masses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from qdstack.errors import InputError
from qdstack.units import HBAR2_OVER_2ME_EV_NM2

__all__ = [
    "Heterostructure1D",
    "finite_well",
    "multi_well",
    "bound_states_eV",
    "count_states_below",
    "wavefunction",
    "decay_constant_per_nm",
]

_C = HBAR2_OVER_2ME_EV_NM2  # hbar^2/(2 m_e) [eV nm^2]


@dataclass(frozen=True)
class Heterostructure1D:
    """Flat layers between two outer regions.

    Parameters
    ----------
    widths_nm, potentials_eV, masses : tuple of float, length n_layers
        Layer widths [nm], potentials [eV] and effective masses [m_e], left to right.
    left_potential_eV, right_potential_eV : float
        Potential of the semi-infinite outer regions [eV]; ``math.inf`` is a hard
        wall (psi = 0 at the outer face of the first/last layer).
    left_mass, right_mass : float
        Effective masses of the outer regions [m_e] (ignored for hard walls).
    """

    widths_nm: tuple[float, ...]
    potentials_eV: tuple[float, ...]
    masses: tuple[float, ...]
    left_potential_eV: float
    left_mass: float
    right_potential_eV: float
    right_mass: float

    def __post_init__(self):
        n = len(self.widths_nm)
        if n == 0 or len(self.potentials_eV) != n or len(self.masses) != n:
            raise InputError(
                "a heterostructure needs >= 1 layer with a width, potential and mass each"
            )
        if any(not (w > 0 and math.isfinite(w)) for w in self.widths_nm):
            raise InputError("layer widths must be positive and finite")
        if any(not (m > 0 and math.isfinite(m)) for m in self.masses) or not (
            self.left_mass > 0 and self.right_mass > 0
        ):
            raise InputError("effective masses must be positive")
        if any(not math.isfinite(v) for v in self.potentials_eV):
            raise InputError(
                "layer potentials must be finite (use the outer regions for hard walls)"
            )

    @property
    def continuum_eV(self) -> float:
        """Lowest outer potential: bound states lie below it."""
        return min(self.left_potential_eV, self.right_potential_eV)

    @property
    def bottom_eV(self) -> float:
        """Lowest potential anywhere: no state lies below it."""
        return min(min(self.potentials_eV), self.left_potential_eV, self.right_potential_eV)

    @property
    def interfaces_nm(self) -> np.ndarray:
        """Positions of the layer faces [nm], the left outer face at 0."""
        return np.concatenate([[0.0], np.cumsum(self.widths_nm)])


def finite_well(
    width_nm: float,
    barrier_eV: float,
    mass: float,
    barrier_mass: float | None = None,
) -> Heterostructure1D:
    """A single square well of depth ``barrier_eV`` (0 inside, V outside)."""
    mb = mass if barrier_mass is None else barrier_mass
    return Heterostructure1D(
        (float(width_nm),),
        (0.0,),
        (float(mass),),
        float(barrier_eV),
        float(mb),
        float(barrier_eV),
        float(mb),
    )


def multi_well(
    count: int,
    width_nm: float,
    gap_nm: float,
    barrier_eV: float,
    mass: float,
    barrier_mass: float | None = None,
    *,
    well_potential_eV: float = 0.0,
    gap_potential_eV: float | None = None,
) -> Heterostructure1D:
    """``count`` identical wells of width ``width_nm`` separated by barriers of ``gap_nm``.

    ``gap_potential_eV`` (default ``barrier_eV``) lets the inner barriers differ
    from the outer ones; ``well_potential_eV`` shifts the well bottoms.
    """
    if count < 1:
        raise InputError("count must be >= 1")
    mb = mass if barrier_mass is None else barrier_mass
    vg = barrier_eV if gap_potential_eV is None else gap_potential_eV
    widths, pots, masses = [], [], []
    for i in range(count):
        if i:
            widths.append(float(gap_nm))
            pots.append(float(vg))
            masses.append(float(mb))
        widths.append(float(width_nm))
        pots.append(float(well_potential_eV))
        masses.append(float(mass))
    return Heterostructure1D(
        tuple(widths),
        tuple(pots),
        tuple(masses),
        float(barrier_eV),
        float(mb),
        float(barrier_eV),
        float(mb),
    )


def decay_constant_per_nm(barrier_eV, energy_eV, mass):
    """Evanescent decay constant kappa = sqrt(2 m (V - E)) / hbar [nm^-1]."""
    return np.sqrt(
        np.asarray(mass, dtype=float)
        * (np.asarray(barrier_eV, dtype=float) - np.asarray(energy_eV, dtype=float))
        / _C
    )


def _layer_step(u0: float, u1: float, width: float, pot: float, mass: float, energy: float):
    """Carry (psi, psi'/m) across one layer; return (psi_end, flux_end, nodes in (0, w]).

    The returned vector is rescaled by a positive factor (overflow safety), so only
    its direction is meaningful.
    """
    q2 = (energy - pot) * mass / _C
    if q2 > 0:
        k = math.sqrt(q2)
        kw = k * width
        c, s = math.cos(kw), math.sin(kw)
        p = u0 * c + (mass * u1 / k) * s
        f = -u0 * (k / mass) * s + u1 * c
        # psi(x) = R cos(kx - phi): count zeros x in (0, w]
        phi = math.atan2(mass * u1 / k, u0)
        nodes = math.floor((kw - phi - math.pi / 2) / math.pi) - math.floor(
            (-phi - math.pi / 2) / math.pi
        )
        return p, f, int(nodes)
    if q2 < 0:
        kap = math.sqrt(-q2)
        e = math.exp(-kap * width)  # work with matrices scaled by exp(-kappa w) > 0
        ch, sh = (1 + e * e) / 2, (1 - e * e) / 2
        p = u0 * ch + (mass * u1 / kap) * sh
        f = u0 * (kap / mass) * sh + u1 * ch
    else:
        p = u0 + mass * u1 * width
        f = u1
    nodes = 1 if (p == 0.0 or (p > 0) != (u0 > 0)) and u0 != 0.0 else 0
    return p, f, nodes


# A "problem" is (layers, left_bc, right_bc); a boundary is ("decay", V, m) for a semi-infinite
# outer region, ("wall",) for psi = 0, or ("neumann",) for psi' = 0 (an even mirror plane).
def _bc(potential: float, mass: float):
    return ("wall",) if math.isinf(potential) else ("decay", float(potential), float(mass))


def _problem(struct: Heterostructure1D):
    layers = tuple(zip(struct.widths_nm, struct.potentials_eV, struct.masses))
    return (
        layers,
        _bc(struct.left_potential_eV, struct.left_mass),
        _bc(struct.right_potential_eV, struct.right_mass),
    )


def _start(bc, energy: float):
    """State vector (psi, psi'/m) and Pruefer angle of the solution obeying an outer boundary."""
    if bc[0] == "wall":
        return 0.0, 1.0, 0.0
    if bc[0] == "neumann":
        return 1.0, 0.0, math.pi / 2
    _, potential, mass = bc
    kap = math.sqrt(max((potential - energy) * mass / _C, 0.0))
    u0, u1 = 1.0, kap / mass
    return u0, u1, math.atan2(u0, u1)


def _advance(layers, u0: float, u1: float, theta: float, energy: float) -> float:
    """Carry the Pruefer angle theta (psi = rho sin theta, psi'/m = rho cos theta) across layers.

    theta crosses multiples of pi only upwards, once per node of psi, so the angle at
    the end of a layer is (floor(theta/pi) + nodes) pi + (atan2(psi, psi'/m) mod pi).
    """
    for w, v, m in layers:
        p, f, n = _layer_step(u0, u1, w, v, m, energy)
        base = math.floor(theta / math.pi) + n
        theta = base * math.pi + (math.atan2(p, f) % math.pi)
        norm = math.hypot(p, f)
        u0, u1 = p / norm, f / norm
    return theta


def _split(layers):
    """Layers left of the matching point, and those right of it mirrored (read from the right).

    The matching point is the middle of the widest layer: across it the two-sided
    match loses only exp(-kappa w) of relative precision instead of the
    exp(-2 kappa w) of one-sided shooting.
    """
    layers = list(layers)
    i = max(range(len(layers)), key=lambda j: layers[j][0])
    w, v, m = layers[i]
    left = layers[:i] + [(w / 2, v, m)]
    right = [(w / 2, v, m)] + layers[i + 1 :]
    return left, right[::-1]


def _mismatch(problem, energy: float, split=None) -> float:
    """D(E) = theta_L - theta_R at the matching point: increasing in E, D(E_k) = k pi.

    theta_L is integrated from the left; the right solution is integrated from the
    right as the left solution of the mirrored problem (angle theta_m), and
    theta_R = pi - theta_m (Pryce, *Numerical Solution of Sturm-Liouville Problems*,
    Oxford 1993, ch. 5).
    """
    layers, lbc, rbc = problem
    left, right_mirrored = split or _split(layers)
    u0, u1, th = _start(lbc, energy)
    theta_l = _advance(left, u0, u1, th, energy)
    u0, u1, th = _start(rbc, energy)
    theta_m = _advance(right_mirrored, u0, u1, th, energy)
    return theta_l - math.pi + theta_m


def _count(problem, energy: float, split=None) -> int:
    return max(0, math.ceil(_mismatch(problem, energy, split) / math.pi))


def count_states_below(struct: Heterostructure1D, energy_eV: float) -> int:
    """Number of bound states with energy below ``energy_eV``: max(0, ceil(D(E)/pi))."""
    return _count(_problem(struct), float(energy_eV))


def _top(problem) -> float:
    layers, lbc, rbc = problem
    outer = [bc[1] for bc in (lbc, rbc) if bc[0] == "decay"]
    return min(outer) if outer else math.inf


def _upper_search_limit(problem, n: int) -> float:
    top = _top(problem)
    if math.isfinite(top):
        return top - 1e-12 * max(1.0, abs(top))
    # no continuum: grow an upper bound until it holds n states
    layers = problem[0]
    total = sum(w for w, _, _ in layers)
    mmin = min(m for _, _, m in layers)
    e = max(v for _, v, _ in layers) + _C * (math.pi * (n + 1) / total) ** 2 / mmin
    while _count(problem, e) < n:
        e = 2 * e + 1.0
    return e


def _levels(problem, n: int | None, xtol: float) -> np.ndarray:
    layers = problem[0]
    outer = [bc[1] for bc in problem[1:] if bc[0] == "decay"]
    lo0 = min([v for _, v, _ in layers] + outer)
    hi0 = _upper_search_limit(problem, n if n is not None else 1)
    split = _split(layers)
    available = _count(problem, hi0, split)
    n = available if n is None else min(int(n), available)
    out = np.empty(n)
    for j in range(n):
        lo, hi = lo0, hi0
        c_lo, c_hi = _count(problem, lo, split), _count(problem, hi, split)
        # bisection on the count until [lo, hi] holds exactly level j
        while not (c_lo == j and c_hi == j + 1) and hi - lo > xtol:
            mid = 0.5 * (lo + hi)
            c = _count(problem, mid, split)
            if c <= j:
                lo, c_lo = mid, c
            else:
                hi, c_hi = mid, c
        target = j * math.pi
        f_lo = _mismatch(problem, lo, split) - target
        f_hi = _mismatch(problem, hi, split) - target
        if hi - lo <= xtol or f_lo >= 0 or f_hi <= 0:
            out[j] = lo if f_lo >= 0 else (hi if f_hi <= 0 else 0.5 * (lo + hi))
            continue
        out[j] = brentq(
            lambda e: _mismatch(problem, e, split) - target,
            lo,
            hi,
            xtol=xtol,
            rtol=4 * np.finfo(float).eps,
            maxiter=500,
        )
    return out


def _mirror_halves(struct: Heterostructure1D):
    """(even, odd) half problems when the structure is mirror symmetric, else None."""
    layers = list(zip(struct.widths_nm, struct.potentials_eV, struct.masses))
    if layers != layers[::-1] or (struct.left_potential_eV, struct.left_mass) != (
        struct.right_potential_eV,
        struct.right_mass,
    ):
        return None
    k = len(layers) // 2
    half = ([(layers[k][0] / 2, layers[k][1], layers[k][2])] if len(layers) % 2 else []) + layers[
        (k + 1 if len(layers) % 2 else k) :
    ]
    rbc = _bc(struct.right_potential_eV, struct.right_mass)
    return (tuple(half), ("neumann",), rbc), (tuple(half), ("wall",), rbc)


def bound_states_eV(
    struct: Heterostructure1D,
    n: int | None = None,
    *,
    xtol_eV: float = 1e-15,
) -> np.ndarray:
    """The lowest ``n`` bound-state energies [eV], ascending (all of them when ``n`` is None).

    Parameters
    ----------
    struct : Heterostructure1D
    n : int, optional
        How many levels; fewer are returned when fewer are bound (below the lower
        outer potential).
    xtol_eV : float
        Absolute tolerance of each level [eV] (default 1e-15 eV).

    Returns
    -------
    ndarray, shape (n,)

    Notes
    -----
    A mirror-symmetric structure is solved as two half problems (psi' = 0 or
    psi = 0 on the mirror plane), so the even and odd partners of a pair are found
    independently and their splitting keeps full precision however thick the
    barrier; otherwise level j is bracketed by bisection on the Pruefer count and
    refined by Brent's method on D(E) = j pi.
    """
    halves = _mirror_halves(struct)
    if halves is None:
        return _levels(_problem(struct), n, xtol_eV)
    even = _levels(halves[0], n, xtol_eV)
    odd = _levels(halves[1], n, xtol_eV)
    both = np.sort(np.concatenate([even, odd]))
    return both if n is None else both[:n]


def wavefunction(struct: Heterostructure1D, energy_eV: float, z_nm) -> np.ndarray:
    """Envelope psi(z) at ``energy_eV`` (an eigenvalue), normalised to int psi^2 dz = 1.

    ``z_nm`` is measured from the left outer face of the first layer.  Outside
    the layers the decaying exponentials are used (zero beyond hard walls).
    Intended for plotting and overlaps of moderately thick structures (the
    start vectors are not rescaled).
    """
    e = float(energy_eV)
    faces = struct.interfaces_nm
    vl, ml = struct.left_potential_eV, struct.left_mass
    kl = math.inf if math.isinf(vl) else math.sqrt(max((vl - e) * ml / _C, 0.0))
    u0, u1 = (0.0, 1.0) if math.isinf(vl) else (1.0, kl / ml)
    starts = []
    for w, v, m in zip(struct.widths_nm, struct.potentials_eV, struct.masses):
        starts.append((u0, u1))
        u0, u1 = _evaluate_layer(u0, u1, w, v, m, e, derivative=True)
    vr, mr = struct.right_potential_eV, struct.right_mass
    kr = math.inf if math.isinf(vr) else math.sqrt(max((vr - e) * mr / _C, 0.0))

    def profile(z):
        z = np.asarray(z, dtype=float)
        psi = np.zeros_like(z)
        if math.isfinite(kl):
            sel = z < 0
            psi[sel] = np.exp(kl * z[sel])
        for (a0, a1), x0, w, v, m in zip(
            starts, faces[:-1], struct.widths_nm, struct.potentials_eV, struct.masses
        ):
            sel = (z >= x0) & (z <= x0 + w)
            psi[sel] = _evaluate_layer(a0, a1, z[sel] - x0, v, m, e)
        if math.isfinite(kr):
            sel = z > faces[-1]
            psi[sel] = u0 * np.exp(-kr * (z[sel] - faces[-1]))
        return psi

    xs, ws = np.polynomial.legendre.leggauss(64)
    norm2 = 0.0
    for x0, w in zip(faces[:-1], struct.widths_nm):
        norm2 += float(np.sum(ws * w / 2 * profile(x0 + (xs + 1) * w / 2) ** 2))
    if math.isfinite(kl) and kl > 0:
        norm2 += 1.0 / (2 * kl)
    if math.isfinite(kr) and kr > 0:
        norm2 += u0**2 / (2 * kr)
    return profile(z_nm) / math.sqrt(norm2)


def _evaluate_layer(a0, a1, t, pot, mass, energy, derivative=False):
    """psi(t) in one layer from its start vector (a0, a1) = (psi, psi'/m); or the end vector."""
    q2 = (energy - pot) * mass / _C
    if q2 > 0:
        k = math.sqrt(q2)
        c, s = np.cos(k * t), np.sin(k * t)
        psi = a0 * c + mass * a1 / k * s
        flux = -a0 * k / mass * s + a1 * c
    elif q2 < 0:
        kap = math.sqrt(-q2)
        c, s = np.cosh(kap * t), np.sinh(kap * t)
        psi = a0 * c + mass * a1 / kap * s
        flux = a0 * kap / mass * s + a1 * c
    else:
        psi = a0 + mass * a1 * t
        flux = a1 + 0 * t
    if derivative:
        return float(psi), float(flux)
    return psi
