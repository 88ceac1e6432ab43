"""What the 3D solver is compared with: beta(d) of a pair against the WKB law of eqn (1)
(:func:`gap_dependence`), and the film model's tight-binding reduction of a block
(:func:`tight_binding`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError
from qdstack.physics.coupled_dots.separable import _lateral_levels, coupling_meV
from qdstack.physics.coupled_dots.solver import solve_dots
from qdstack.physics.coupled_dots.system import Cuboid, DotSystem, SolverSettings
from qdstack.physics.transfer_matrix import bound_states_eV, finite_well
from qdstack.units import HBAR2_OVER_2ME_EV_NM2

_C = HBAR2_OVER_2ME_EV_NM2


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
