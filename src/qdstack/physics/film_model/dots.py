"""Per-dot physics of the film model: linker coupling, dielectric environment, dipolar terms,
and the per-dot tables of levels a film is built from.

References
----------
L. E. Brus, J. Chem. Phys. 80, 4403 (1984) -- polarisation energy of charges in a
dielectric sphere.
T. Takagahara, Phys. Rev. B 47, 4569 (1993) -- dielectric confinement of excitons
in dots.
J. C. Maxwell Garnett, Phil. Trans. R. Soc. A 203, 385 (1904) -- effective medium.
T. Foerster, Ann. Phys. 437, 55 (1948); M. Kasha, Radiat. Res. 20, 55 (1963) --
dipolar exciton transfer and the H/J orientation factor.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError
from qdstack.units import COULOMB_EV_NM, HBAR2_OVER_2ME_EV_NM2

from qdstack.physics.film_model.parameters import FilmParameters, FilmSpec, Polarisation

# ----------------------------------------------------------------------------- per-dot physics


def linker_coupling_meV(
    edge_nm,
    gap_nm,
    gap_barrier_eV,
    mass,
    *,
    barrier_mass=1.0,
    outer_barrier_eV=3.0,
    outer_barrier_mass=1.0,
):
    """Tunnelling coupling of two identical cubes through a linker barrier [meV].

    The dots are confined laterally and on their outer faces by the ligand shell
    (``outer_barrier_eV``) and coupled through a slab of the linker barrier
    (``gap_barrier_eV``, thickness ``gap_nm``).  Adiabatic-separable estimate,
    the same approximation as
    :func:`qdstack.physics.coupled_dots.separable_column_levels_meV` (whose
    uniform-barrier result it reproduces when the two barriers are equal): the
    envelope is ``f(x) g(y) phi(z)`` with ``f, g`` the ground states of the
    lateral 1D wells (energies E_x = E_y), and in each barrier slab the lateral
    kinetic energy is carried with that slab's mass, so phi solves a 1D problem
    with the barriers raised to ``V + (m/m_B - 1)(E_x + E_y)``; BenDaniel-Duke
    conditions at every face (:mod:`qdstack.physics.transfer_matrix`).

    Returns
    -------
    float or ndarray
        ``beta = (E_2 - E_1) / 2`` [meV]; 0 where the barrier is so opaque
        (kappa d > 20) that the splitting is below the root finder's resolution;
        NaN where fewer than two states are bound.

    References
    ----------
    G. Bastard, *Wave Mechanics Applied to Semiconductor Heterostructures* (1988).
    """
    from qdstack.physics.transfer_matrix import Heterostructure1D, bound_states_eV, finite_well

    b = np.broadcast_arrays(
        *(
            np.asarray(v, dtype=float)
            for v in (
                edge_nm,
                gap_nm,
                gap_barrier_eV,
                mass,
                barrier_mass,
                outer_barrier_eV,
                outer_barrier_mass,
            )
        )
    )
    out = np.empty(b[0].shape)
    for idx in np.ndindex(out.shape):
        L, d, vg, m, mb, vo, mo = (float(a[idx]) for a in b)
        ex = bound_states_eV(finite_well(L, vo, m, mo), 1)
        if ex.size == 0:
            out[idx] = np.nan
            continue
        elat = 2.0 * float(ex[0])
        v_out = vo + (m / mo - 1.0) * elat
        v_gap = vg + (m / mb - 1.0) * elat
        struct = Heterostructure1D((L, d, L), (0.0, v_gap, 0.0), (m, mb, m), v_out, mo, v_out, mo)
        ez = bound_states_eV(struct, 2)
        if ez.size == 2:
            out[idx] = 0.5e3 * float(ez[1] - ez[0])
        elif (
            ez.size == 1
            and d * math.sqrt(mb * max(v_gap - ez[0], 0.0) / HBAR2_OVER_2ME_EV_NM2) > 20
        ):
            out[idx] = 0.0  # splitting below the root finder's resolution (~1e-10 meV): no coupling
        else:
            out[idx] = np.nan
    return out if out.ndim else float(out)


def _sphere_moments(n_max: int = 400) -> np.ndarray:
    """<(r/R)^(2n)> over the ground state sin(pi r/R)/r of a sphere, n = 1..n_max."""
    x = np.linspace(0.0, 1.0, 4001)
    w = 2.0 * np.sin(np.pi * x) ** 2  # normalised radial density on [0, 1]
    n = np.arange(1, n_max + 1)[:, None]
    return np.trapezoid(x[None, :] ** (2 * n) * w[None, :], x, axis=1)


_MOMENTS = _sphere_moments()


def polarization_energy_meV(edge_nm, eps_in: float, eps_out) -> np.ndarray:
    """Net dielectric-polarisation energy of the exciton of a dot in a medium [meV].

    The dot is replaced by the sphere of equal volume (``R = L (3/4pi)^(1/3)``)
    with the electron and hole in the ground state ``sin(pi r/R)/r`` (strong
    confinement, first order).  The induced surface charges give each carrier a
    self-energy and modify their attraction; the n = 0 terms cancel for the
    neutral pair, the n >= 1 cross terms vanish on average, and what remains is
    (Brus 1984)

    .. math::

        E_{pol} = \\frac{e^2}{4\\pi\\varepsilon_0 \\varepsilon_{in} R}
                  \\sum_{n\\ge1} \\frac{(n+1)(\\varepsilon_{in}-\\varepsilon_{out})}
                  {n\\varepsilon_{in} + (n+1)\\varepsilon_{out}}
                  \\langle (r/R)^{2n} \\rangle ,

    positive when the surroundings are less polarisable than the dot.  A more
    polarisable environment lowers the exciton energy: that is the dielectric
    red shift.

    Parameters
    ----------
    edge_nm : array_like
        Cube edge [nm].
    eps_in : float
        Dielectric constant of the dot (high-frequency).
    eps_out : array_like
        Effective dielectric constant of the surroundings.

    References
    ----------
    L. E. Brus, J. Chem. Phys. 80, 4403 (1984), eqns (4)-(8); T. Takagahara,
    Phys. Rev. B 47, 4569 (1993).
    """
    L = np.asarray(edge_nm, dtype=float)
    eo = np.asarray(eps_out, dtype=float)
    if np.any(eo <= 0) or not eps_in > 0:
        raise InputError("dielectric constants must be positive", "eps")
    r = L * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    grid, table = _polarization_series(float(eps_in))
    x = np.log(eo)
    series = np.asarray(np.interp(x, grid, table), dtype=float)
    outside = (x < grid[0]) | (x > grid[-1])
    if np.any(outside):
        series = np.where(outside, _series_exact(float(eps_in), np.where(outside, eo, 1.0)), series)
    return 1e3 * COULOMB_EV_NM / (eps_in * r) * series


def charging_energy_meV(edge_nm, eps_in: float, eps_out) -> np.ndarray:
    r"""Self-energy of a single charge alone in a dot [meV] (the Brus n = 0 term).

    A lone electron or hole (the two halves of a charge-transfer pair) polarises
    the dielectric boundary of its dot; for the equal-volume sphere

    .. math:: \Sigma = \frac{e^2}{8\pi\varepsilon_0 R}\left(\frac{1}{\varepsilon_{out}}
              - \frac{1}{\varepsilon_{in}}\right),

    positive in less polarisable surroundings.  In a neutral exciton on one dot the
    n = 0 terms of electron and hole cancel; in a charge-transfer state they do not,
    so each CT pair (electron on i, hole on j) costs ``Sigma_i + Sigma_j`` more (the charging
    energy).  Zero for ``eps_out == eps_in``.

    References
    ----------
    L. E. Brus, J. Chem. Phys. 80, 4403 (1984), eqn (5) (the n = 0 term).
    """
    L = np.asarray(edge_nm, dtype=float)
    r = L * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    eo = np.asarray(eps_out, dtype=float)
    return 0.5e3 * COULOMB_EV_NM / r * (1.0 / eo - 1.0 / float(eps_in))


def _series_exact(eps_in: float, eps_out) -> np.ndarray:
    eo = np.asarray(eps_out, dtype=float)
    n = np.arange(1, _MOMENTS.size + 1).reshape((-1,) + (1,) * eo.ndim)
    alpha = (n + 1) * (eps_in - eo) / (n * eps_in + (n + 1) * eo)
    return np.sum(alpha * _MOMENTS.reshape(n.shape), axis=0)


@functools.lru_cache(maxsize=16)
def _polarization_series(eps_in: float):
    """The dimensionless series on a fine grid of ln(eps_out) (interpolation error < 1e-4 meV in the energy)."""
    grid = np.linspace(np.log(0.5), np.log(50.0), 20001)
    return grid, _series_exact(eps_in, np.exp(grid))


def face_eps(eps_near: float, eps_far, distance_nm, edge_nm):
    """Effective dielectric constant seen through one face of a dot [dimensionless].

    The face looks into a layer of ``eps_near`` (ligand or linker) of thickness
    ``distance_nm`` backed by ``eps_far`` (a neighbouring dot, the substrate, air,
    the solvent).  For a charge distribution of in-plane wave vector k the
    layered half-space acts as one medium of

    .. math:: \\varepsilon_f = \\varepsilon_1
              \\frac{\\varepsilon_2 + \\varepsilon_1 \\tanh(k t)}{\\varepsilon_1 + \\varepsilon_2 \\tanh(k t)}

    (the standard image-charge result for a film on a substrate), with
    ``k = pi / L``, the dominant wave vector of a ground state confined in the dot.

    References
    ----------
    L. V. Keldysh, JETP Lett. 29, 658 (1979); any text on image charges in
    layered dielectrics (e.g. Jackson, *Classical Electrodynamics*, 4.4).
    """
    t = np.asarray(distance_nm, dtype=float)
    k = np.pi / np.asarray(edge_nm, dtype=float)
    th = np.tanh(k * t)
    e1 = float(eps_near)
    e2 = np.asarray(eps_far, dtype=float)
    return e1 * (e2 + e1 * th) / (e1 + e2 * th)


def maxwell_garnett_eps(eps_dot: float, eps_host: float, fill: float) -> float:
    """Maxwell Garnett effective dielectric constant of dots (volume fraction ``fill``) in a host.

    ``eps = eps_h (1 + 2 f b) / (1 - f b)``, ``b = (eps_d - eps_h) / (eps_d + 2 eps_h)``.
    """
    b = (eps_dot - eps_host) / (eps_dot + 2.0 * eps_host)
    return float(eps_host * (1.0 + 2.0 * fill * b) / (1.0 - fill * b))


def environment_eps(
    params: FilmParameters,
    eps_dot: float,
    edge_nm,
    *,
    environment: str = "film",
    below=None,
    above=None,
    gap_nm: float | None = None,
    in_plane_gap_nm: float | None = None,
):
    """Effective dielectric constant of each dot's surroundings: the mean over its six faces.

    Parameters
    ----------
    params : FilmParameters
    eps_dot : float
        Dielectric constant of a neighbouring dot.
    edge_nm : array_like
        Edge of each dot [nm].
    environment : {"film", "solution"}
        ``"solution"``: every face looks through the ligand shell into the solvent.
    below, above : array_like of bool, optional
        Whether each dot has a neighbouring layer below / above (film only).
        Without one, the bottom face sees the substrate and the top face air,
        each through the ligand shell.
    gap_nm : float
        Linker gap to the neighbouring layers [nm].
    in_plane_gap_nm : float, optional
        Gap to the four in-plane neighbours (default the parameter set's).

    Returns
    -------
    ndarray
        ``eps_out`` of each dot.
    """
    L = np.asarray(edge_nm, dtype=float)
    shell = params.ligand_shell_nm
    lig = params.eps_ligand
    if environment == "solution":
        return np.broadcast_to(face_eps(lig, params.eps_solvent, shell, L), L.shape).astype(float)
    g_in = params.in_plane_gap_nm if in_plane_gap_nm is None else in_plane_gap_nm
    side = face_eps(lig, eps_dot, g_in, L)
    free_bottom = face_eps(lig, params.eps_substrate, shell, L)
    free_top = face_eps(lig, params.eps_top, shell, L)
    below = np.zeros(L.shape, bool) if below is None else np.asarray(below, bool)
    above = np.zeros(L.shape, bool) if above is None else np.asarray(above, bool)
    stacked = face_eps(lig, eps_dot, gap_nm if gap_nm is not None else shell, L)
    bottom = np.where(below, stacked, free_bottom)
    top = np.where(above, stacked, free_top)
    return (4.0 * side + bottom + top) / 6.0


def transition_dipole_enm(kane_energy_eV: float, exciton_eV: float) -> float:
    """Band-edge transition dipole [e nm] from the Kane energy.

    ``mu^2 = e^2 hbar^2 E_P / (2 m0 E^2)`` (one polarisation, envelope overlap 1,
    strong confinement); e.g. E_P = 27.9 eV, E = 2.48 eV: mu = 0.42 e nm = 20 D.

    References
    ----------
    P. Y. Yu and M. Cardona, *Fundamentals of Semiconductors*, 6.2; M. A. Becker
    et al., Nature 553, 189 (2018) (Kane energy of CsPbBr3).
    """
    return math.sqrt(HBAR2_OVER_2ME_EV_NM2 * kane_energy_eV) / exciton_eV


def dipolar_coupling_meV(
    mu_enm: float, displacement_nm, eps: float, polarisation: Polarisation = "in-plane"
):
    """Point-dipole (Foerster) coupling of two dot excitons [meV].

    .. math:: J = \\frac{\\mu^2 \\kappa}{4\\pi\\varepsilon_0 \\varepsilon r^3},\\quad
              \\kappa = 1 - 3 (\\hat d \\cdot \\hat r)^2

    ``polarisation="in-plane"``: dipoles along x (normal incidence);
    ``"out-of-plane"``: along z.  Dots stacked along z with in-plane dipoles
    are side by side (kappa = 1, H-type, the bright in-phase state moves *up*);
    with z dipoles they are head to tail (kappa = -2, J-type, down).

    Parameters
    ----------
    displacement_nm : array_like, shape (..., 3)
        Centre-to-centre vectors [nm] (non-zero).

    References
    ----------
    T. Foerster, Ann. Phys. 437, 55 (1948); M. Kasha, H. R. Rawls and M. A.
    El-Bayoumi, Pure Appl. Chem. 11, 371 (1965).
    """
    d = np.asarray(displacement_nm, dtype=float)
    r = np.linalg.norm(d, axis=-1)
    axis = 0 if polarisation == "in-plane" else 2
    cos = d[..., axis] / r
    kappa = 1.0 - 3.0 * cos**2
    return 1e3 * COULOMB_EV_NM * mu_enm**2 * kappa / (eps * r**3)


# ----------------------------------------------------------------------------- engine adapter


@dataclass(frozen=True)
class DotTables:
    """Single-dot and pair quantities on a grid of edge lengths (interpolated per dot).

    Attributes
    ----------
    edges_nm : ndarray, shape (n,)
    exciton_eV : ndarray
        First exciton energy of the isolated dot (single-dot model, its reference
        environment) [eV].
    electron_meV, hole_meV : ndarray
        Electron and hole confinement energies [meV].
    binding_meV : ndarray
        On-site exciton binding energy [meV].
    beta_e_meV, beta_h_meV : ndarray
        Tunnelling couplings of two identical dots of that edge across the linker gap [meV].
    beta_e_in_meV, beta_h_in_meV : ndarray
        The same across the in-plane ligand gap [meV].
    eps_dot : float
        Dielectric constant of the dot for electrostatics (the material's exciton
        dielectric constant, the one of the on-site binding).
    eps_optical : float
        High-frequency dielectric constant (screening of the dipolar coupling).
    gap_nm, in_plane_gap_nm : float
    source : str
        Which engine functions produced the numbers.
    """

    edges_nm: np.ndarray
    exciton_eV: np.ndarray
    electron_meV: np.ndarray
    hole_meV: np.ndarray
    binding_meV: np.ndarray
    beta_e_meV: np.ndarray
    beta_h_meV: np.ndarray
    beta_e_in_meV: np.ndarray
    beta_h_in_meV: np.ndarray
    eps_dot: float
    eps_optical: float
    gap_nm: float
    in_plane_gap_nm: float
    source: str = ""

    def interpolate(self, name: str, edge_nm) -> np.ndarray:
        """Cubic interpolation of a tabulated quantity at the given edges (logarithmic for couplings)."""
        from scipy.interpolate import CubicSpline

        y = np.asarray(getattr(self, name), dtype=float)
        x = np.asarray(edge_nm, dtype=float)
        if name.startswith("beta"):
            if np.all(y > 0):
                return np.exp(CubicSpline(self.edges_nm, np.log(y))(x))
            out = CubicSpline(self.edges_nm, y)(x)
            # couplings that underflow to 0 for some sizes (a wide gap, a high barrier): the spline
            # through them must not overshoot below 0 (a bond's coupling is sqrt(b_i b_j))
            return np.maximum(out, 0.0) if np.all(y >= 0) else out
        return CubicSpline(self.edges_nm, y)(x)


def _material(params: FilmParameters):
    from qdstack.materials import get_material

    return get_material(params.material, parameter_set=params.material_set)


@functools.lru_cache(maxsize=64)
def _single_dots(mat, edges: tuple, barrier_eV: float, barrier_mass: float):
    from qdstack.physics.single_dot import exciton

    return tuple(exciton(L, mat, barrier_eV=barrier_eV, barrier_mass=barrier_mass) for L in edges)


def dot_tables(spec: FilmSpec, params: FilmParameters, *, n_edges: int = 9) -> DotTables:
    """Tabulate the per-dot physics for the sizes of a film (engine calls happen here only).

    The single-dot model (:mod:`qdstack.physics.single_dot`) gives the exciton
    energy, the electron and hole confinement energies and the binding energy
    of an isolated cube of each edge; :func:`linker_coupling_meV` (built on the
    transfer-matrix engine) gives beta_e and beta_h of two identical cubes
    across the linker gap and across the in-plane ligand gap (or the
    exponential law, ``params.coupling == "exponential"``).

    Raises
    ------
    InputError
        The barriers leave fewer than two bound pair states for some sizes.
    """
    mat = _material(params)
    sd = max(spec.edge_sd_nm, 0.02)
    edges = np.linspace(spec.edge_nm - 4.5 * sd, spec.edge_nm + 4.5 * sd, n_edges)
    if spec.edge_pool_nm is not None:  # measured edges: tabulate over their whole range
        lo, hi = min(spec.edge_pool_nm), max(spec.edge_pool_nm)
        pad = 0.05 * (hi - lo) + 0.02
        edges = np.linspace(
            lo - pad, hi + pad, max(n_edges, int(math.ceil((hi - lo) / (0.5 * sd))) + 1)
        )
        edges = edges if edges.size <= 25 else np.linspace(lo - pad, hi + pad, 25)
    dots = _single_dots(
        mat, tuple(map(float, edges)), params.outer_barrier_eV, params.outer_barrier_mass
    )
    g_in = params.in_plane_gap_nm if spec.in_plane_gap_nm is None else spec.in_plane_gap_nm
    v_in = (
        params.outer_barrier_eV
        if params.in_plane_barrier_eV is None
        else params.in_plane_barrier_eV
    )
    common = dict(
        outer_barrier_eV=params.outer_barrier_eV, outer_barrier_mass=params.outer_barrier_mass
    )
    if params.coupling == "engine":
        be = linker_coupling_meV(
            edges,
            spec.gap_nm,
            params.barrier_e_eV,
            mat.electron_mass,
            barrier_mass=params.barrier_mass,
            **common,
        )
        bh = linker_coupling_meV(
            edges,
            spec.gap_nm,
            params.barrier_h_eV,
            mat.hole_mass,
            barrier_mass=params.barrier_mass,
            **common,
        )
        mb_in = (
            params.outer_barrier_mass if params.in_plane_barrier_eV is None else params.barrier_mass
        )
        be_in = linker_coupling_meV(
            edges, g_in, v_in, mat.electron_mass, barrier_mass=mb_in, **common
        )
        bh_in = linker_coupling_meV(edges, g_in, v_in, mat.hole_mass, barrier_mass=mb_in, **common)
        how = "linker_coupling_meV (transfer-matrix engine)"
    else:
        a = params.coupling_amplitude_meV
        ones = np.ones_like(edges)
        be = a * math.exp(-params.decay_per_nm("e") * spec.gap_nm) * ones
        bh = a * math.exp(-params.decay_per_nm("h") * spec.gap_nm) * ones
        k_in = math.sqrt(params.barrier_mass * v_in / HBAR2_OVER_2ME_EV_NM2)
        be_in = bh_in = a * math.exp(-k_in * g_in) * ones
        how = "exponential law A exp(-kappa d)"
    for name, arr in (("beta_e_meV", be), ("beta_h_meV", bh)):
        if not np.all(np.isfinite(arr)):
            raise InputError(
                f"no bound pair of states for some dot sizes ({name}); check the barriers",
                "parameters",
            )
    return DotTables(
        edges_nm=edges,
        exciton_eV=np.array([d.energy_eV for d in dots]),
        electron_meV=np.array([d.electron_meV for d in dots]),
        hole_meV=np.array([d.hole_meV for d in dots]),
        binding_meV=np.array([d.binding_meV for d in dots]),
        beta_e_meV=np.asarray(be, float),
        beta_h_meV=np.asarray(bh, float),
        beta_e_in_meV=np.asarray(be_in, float),
        beta_h_in_meV=np.asarray(bh_in, float),
        eps_dot=float(mat.exciton_dielectric if params.eps_dot is None else params.eps_dot),
        eps_optical=float(mat.eps_inf),
        gap_nm=spec.gap_nm,
        in_plane_gap_nm=g_in,
        source=(
            f"single_dot.exciton ({mat.name}, {mat.parameter_set}; barrier {params.outer_barrier_eV:g} eV) "
            f"+ {how}"
        ),
    )
