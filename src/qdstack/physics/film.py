"""The multilayer film model: disordered columns of coupled dots, their absorption and emission.

A film of N layers is a set of columns of N dots stacked along z; out-of-plane
neighbours are bridged by the linker (gap = the linker's S-S distance), in-plane
neighbours are separated by the native ligand shell (~3 nm of oleyl chains).
Dot edges are drawn from the measured size distribution, and each dot's
electron and hole levels and exciton binding come from the single-dot model of
its own size.  Electron and hole hop between neighbours with ``beta_e`` and
``beta_h`` from the coupled-dots engine; the pair is described by the
two-particle Hamiltonian of :mod:`qdstack.physics.exciton_stack`, whose bright
spectrum, averaged over the disorder with a homogeneous line width, is the
film's absorption.  Its first excitonic peak is read by
:func:`qdstack.analysis.absorption.first_excitonic_peak`, the same code that
reads measured spectra.

The red shift of the first peak has several possible channels; each is a
separate, switchable term (:class:`Channels`), so one can see which one data need:

``tunnelling``
    single-carrier tunnelling ``beta_e``, ``beta_h`` through the linker barrier;
``dielectric``
    screening by the added layers: a dot with neighbouring layers sits in a more
    polarisable environment, which lowers its exciton energy
    (:func:`polarization_energy_meV`, :func:`environment_eps`);
``dipolar``
    Foerster (transition-dipole) transfer of the whole exciton between dots,
    ``J = mu^2 kappa / (4 pi eps0 eps r^3)`` (:func:`dipolar_coupling_meV`).

The environment of the monolayer itself (solution -> film, the ~4 meV shift of
the reference study, 2.477 -> 2.473 eV) is the same dielectric physics applied
to the faces of a dot in a monolayer instead of in toluene; it is reported as
its own number (``environment_shift_meV``), never as coupling.

Units: energies of levels in eV, couplings and shifts in meV, lengths in nm.

References
----------
K. Enomoto et al., Chem. Sci. 15, 13049 (2024) -- the reference study.
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
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

import numpy as np

from qdstack.errors import InputError, OptionError
from qdstack.physics.exciton_stack import (
    ExcitonStack,
    block_bonds,
    chain_bonds,
)
from qdstack.units import COULOMB_EV_NM, HBAR2_OVER_2ME_EV_NM2

__all__ = [
    "Channels",
    "FilmParameters",
    "load_parameter_set",
    "available_parameter_sets",
    "PARAMETER_SET_DIR",
    "FilmSpec",
    "DotTables",
    "dot_tables",
    "linker_coupling_meV",
    "polarization_energy_meV",
    "face_eps",
    "environment_eps",
    "maxwell_garnett_eps",
    "transition_dipole_enm",
    "dipolar_coupling_meV",
    "sample_edges",
    "ColumnEnsemble",
    "build_column_ensemble",
]

PARAMETER_SET_DIR = Path(__file__).with_name("parameter_sets")

Polarisation = Literal["in-plane", "out-of-plane"]


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Channels:
    """Which red-shift channels are on (each can be switched off to see what it does).

    Attributes
    ----------
    tunnelling : bool
        Single-carrier tunnelling between neighbouring dots (beta_e, beta_h).
    dielectric : bool
        Screening by added layers (the environment of each dot counts its
        neighbouring layers); off: every dot keeps the monolayer's environment.
    dipolar : bool
        Foerster (transition-dipole) transfer of excitons between dots.
    interdot_coulomb : bool
        Screened attraction of an electron and a hole on different dots (the
        charge-transfer states' binding); off: only the on-site binding.
    """

    tunnelling: bool = True
    dielectric: bool = True
    dipolar: bool = True
    interdot_coulomb: bool = True

    def only(self, *names: str) -> "Channels":
        """A copy with only the named channels among tunnelling/dielectric/dipolar on."""
        bad = set(names) - {"tunnelling", "dielectric", "dipolar"}
        if bad:
            raise OptionError(f"unknown channel(s) {sorted(bad)}; use tunnelling, dielectric, dipolar",
                              "channels")
        return replace(self, tunnelling="tunnelling" in names, dielectric="dielectric" in names,
                       dipolar="dipolar" in names)

    def label(self) -> str:
        on = [n for n in ("tunnelling", "dielectric", "dipolar") if getattr(self, n)]
        return "+".join(on) if on else "none"


@dataclass(frozen=True)
class FilmParameters:
    """Physical parameters of the film model (a named, documented parameter set).

    Everything the model needs besides the geometry of one film (linker, N,
    sizes).  Load the shipped set with :func:`load_parameter_set`; override any
    field with :meth:`with_` (``params.with_(barrier_e_eV=2.0)``).

    Attributes
    ----------
    name : str
        Name of the set (``"enomoto2024"``) or ``"custom"``.
    material : str
        Material of the dots (:mod:`qdstack.materials`), default ``"CsPbBr3"``.
    material_set : str or None
        Named parameter set of the material (None: the material's default).
    coupling : {"engine", "exponential"}
        How the tunnelling couplings are obtained.  ``"engine"``: beta_e and
        beta_h of two cubes of each size across the linker gap from the
        effective-mass engine (:func:`linker_coupling_meV`), the barrier being the
        only free number.  ``"exponential"``: the paper's eqn (1) read as a
        coupling, ``beta = A exp(-kappa d)`` with ``kappa = sqrt(2 m_B V)/hbar``
        (amplitude law) and the zero-gap amplitude ``A`` free.
    barrier_e_eV, barrier_h_eV : float
        Tunnel barrier of the linker gap for electrons and holes [eV].
    coupling_amplitude_meV : float
        ``A`` of the exponential law [meV] (unused by the engine).
    barrier_mass : float
        Effective mass of a carrier inside the linker barrier [m_e] (fixed in the
        calibration; 1.0 = free electron, the convention of the molecular-junction
        barriers of 1-4 eV that alkanes offer).
    outer_barrier_eV : float
        Barrier of the native ligand shell / surroundings that confines each dot
        (and separates in-plane neighbours) [eV].
    outer_barrier_mass : float
        Carrier mass in that barrier [m_e].
    in_plane_barrier_eV : float or None
        Barrier between in-plane neighbours [eV] (None: ``outer_barrier_eV``, the
        oleyl shell); set it to the linker's barrier for a worst case.
    in_plane_gap_nm : float
        Face-to-face gap between in-plane neighbours [nm] (XRD in-plane period
        9.7-9.97 nm minus the 6.8 nm edge: ~3 nm of oleyl ligands).
    ligand_shell_nm : float
        Thickness of the ligand shell on a free face (towards air, substrate or solvent) [nm].
    eps_ligand, eps_solvent, eps_substrate, eps_top : float
        Dielectric constants of the ligand/linker layer, of the solvent of the
        solution reference (toluene), of the substrate (PEI-coated quartz) and of
        what is above the film (air).
    homogeneous_fwhm_meV : float
        Homogeneous (per-state) Gaussian FWHM of absorption and emission at
        ``temperature_K`` [meV].
    linewidth_gamma0_meV, linewidth_elo_meV : float
        Temperature dependence of the homogeneous width, eqn (3) of the paper:
        ``Gamma(T) = Gamma0 + gamma_LO / (exp(E_LO / kT) - 1)``, with gamma_LO set
        so that ``Gamma(temperature_K) = homogeneous_fwhm_meV``.
    temperature_K : float
        Temperature of the absorption measurement [K].
    energy_offset_meV : float
        Added to every dot's exciton energy from the single-dot model so that the
        simulated *solution* spectrum peaks at the measured solution peak (the
        single-dot model's absolute error; it shifts every film alike and no shift).
    intrinsic_stokes_meV : float
        Stokes shift of one isolated dot (exciton fine structure, polaron; not in
        the model), from the solution absorption and PL peaks [meV].
    kane_energy_eV : float
        Kane energy E_P that sets the transition dipole of the band-edge exciton [eV].
    polarisation : {"in-plane", "out-of-plane"}
        Transition dipoles probed: in-plane (normal incidence, the default:
        side-by-side dipoles along the column, H-type) or along the stacking axis.
    channels : Channels
    provenance : dict
        Where the numbers came from (calibration data, errors, script, date).
    """

    name: str = "custom"
    material: str = "CsPbBr3"
    material_set: str | None = None
    coupling: str = "engine"
    barrier_e_eV: float = 1.0
    barrier_h_eV: float = 1.0
    coupling_amplitude_meV: float = 0.0
    barrier_mass: float = 1.0
    outer_barrier_eV: float = 3.0
    outer_barrier_mass: float = 1.0
    in_plane_barrier_eV: float | None = None
    in_plane_gap_nm: float = 3.0
    ligand_shell_nm: float = 1.5
    eps_ligand: float = 2.1
    eps_solvent: float = 2.38
    eps_substrate: float = 2.2
    eps_top: float = 1.0
    homogeneous_fwhm_meV: float = 60.0
    linewidth_gamma0_meV: float = 10.0
    linewidth_elo_meV: float = 17.0
    temperature_K: float = 295.0
    energy_offset_meV: float = 0.0
    intrinsic_stokes_meV: float = 0.0
    kane_energy_eV: float = 27.9
    polarisation: str = "in-plane"
    channels: Channels = field(default_factory=Channels)
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        positive = ("barrier_mass", "outer_barrier_eV", "outer_barrier_mass", "in_plane_gap_nm",
                    "eps_ligand", "eps_solvent", "eps_substrate", "eps_top", "homogeneous_fwhm_meV",
                    "linewidth_elo_meV", "temperature_K", "kane_energy_eV")
        for name in positive:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"must be a positive number, got {v!r}", name)
        if self.coupling not in ("engine", "exponential"):
            raise InputError(f"unknown coupling {self.coupling!r}; use engine or exponential", "coupling")
        for name in ("barrier_e_eV", "barrier_h_eV"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"must be a barrier >= 0 eV, got {v!r}", name)
        if self.in_plane_barrier_eV is not None and not self.in_plane_barrier_eV >= 0:
            raise InputError("must be a barrier >= 0 eV", "in_plane_barrier_eV")
        for name in ("coupling_amplitude_meV", "ligand_shell_nm", "linewidth_gamma0_meV",
                     "energy_offset_meV", "intrinsic_stokes_meV"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise InputError(f"must be a finite number, got {v!r}", name)
        if self.linewidth_gamma0_meV >= self.homogeneous_fwhm_meV:
            raise InputError("the low-temperature width must be below the room-temperature width",
                             "linewidth_gamma0_meV")
        if self.polarisation not in ("in-plane", "out-of-plane"):
            raise InputError(f"unknown polarisation {self.polarisation!r}; use in-plane or out-of-plane",
                             "polarisation")
        if isinstance(self.channels, dict):
            object.__setattr__(self, "channels", Channels(**self.channels))

    def with_(self, **changes) -> "FilmParameters":
        """A copy with some fields changed (the name becomes ``"<name>+custom"`` unless given)."""
        if not changes:
            return self
        known = {f.name for f in fields(self)}
        bad = set(changes) - known
        if bad:
            raise OptionError(f"unknown film parameter(s) {sorted(bad)}", "parameters")
        if "name" not in changes and not self.name.endswith("+custom"):
            changes["name"] = f"{self.name}+custom"
        return replace(self, **changes)

    def decay_per_nm(self, carrier: str = "e") -> float:
        """Decay constant of the exponential law, ``kappa = sqrt(2 m_B V)/hbar`` [nm^-1] (amplitude law)."""
        v = self.barrier_e_eV if carrier == "e" else self.barrier_h_eV
        return math.sqrt(self.barrier_mass * v / HBAR2_OVER_2ME_EV_NM2)

    def homogeneous_fwhm_at(self, temperature_K) -> np.ndarray:
        """Homogeneous FWHM [meV] at temperatures [K] (eqn 3 form, pinned at ``temperature_K``)."""
        from qdstack.units import K_B_MEV_PER_K

        t = np.asarray(temperature_K, dtype=float)

        def occ(tt):
            return 1.0 / np.expm1(self.linewidth_elo_meV / (K_B_MEV_PER_K * tt))

        gamma_lo = (self.homogeneous_fwhm_meV - self.linewidth_gamma0_meV) / occ(self.temperature_K)
        return self.linewidth_gamma0_meV + gamma_lo * occ(t)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"] = asdict(self.channels)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "FilmParameters":
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InputError(f"unknown film parameter(s) {sorted(unknown)}", "parameter set")
        if "channels" in data and isinstance(data["channels"], dict):
            data["channels"] = Channels(**data["channels"])
        return cls(**data)


def available_parameter_sets() -> list[str]:
    """Names of the shipped parameter sets (``parameter_sets/<name>.json``)."""
    return sorted(p.stem for p in PARAMETER_SET_DIR.glob("*.json"))


@functools.lru_cache(maxsize=8)
def _read_set(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def load_parameter_set(name_or_path: str = "enomoto2024") -> FilmParameters:
    """A shipped parameter set by name, or a JSON file written by :meth:`FilmParameters.to_dict`.

    The JSON holds ``{"parameters": {...}, "provenance": {...}}``.

    Raises
    ------
    InputError
        Unknown name, unreadable or malformed file.
    """
    p = Path(name_or_path)
    if not p.suffix:
        p = PARAMETER_SET_DIR / f"{name_or_path}.json"
        if not p.exists():
            raise InputError(
                f"unknown parameter set {name_or_path!r}; shipped: {', '.join(available_parameter_sets())}",
                "--parameters",
            )
    try:
        raw = _read_set(str(p.resolve()))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the parameter set ({exc})", str(p)) from None
    if not isinstance(raw, dict) or "parameters" not in raw:
        raise InputError("a parameter set file holds {'parameters': {...}, 'provenance': {...}}", str(p))
    params = dict(raw["parameters"])
    params["provenance"] = raw.get("provenance", {})
    return FilmParameters.from_dict(params)


# ----------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class FilmSpec:
    """Geometry of one film: N layers of dots bridged by a linker gap.

    Attributes
    ----------
    layers : int
        Number of layers N (the column length).
    gap_nm : float
        Face-to-face gap between out-of-plane neighbours [nm] (the linker's S-S distance).
    edge_nm, edge_sd_nm : float
        Mean and standard deviation of the dot edge length [nm] (normal
        distribution truncated at +-4 sd).
    linker : str or None
        Name of the linker the gap came from (for reports).
    in_plane : int
        1: columns only (in-plane neighbours only through the environment);
        M >= 3: an M x M x N block, periodic in the plane, with in-plane
        tunnelling and Coulomb (the anisotropy check).
    in_plane_gap_nm : float or None
        In-plane face-to-face gap [nm] (None: the parameter set's).
    environment : {"film", "solution"}
        ``"solution"``: isolated dots in the solvent (N must be 1).
    """

    layers: int
    gap_nm: float
    edge_nm: float = 6.8
    edge_sd_nm: float = 0.5
    linker: str | None = None
    in_plane: int = 1
    in_plane_gap_nm: float | None = None
    environment: str = "film"

    def __post_init__(self):
        if not (isinstance(self.layers, (int, np.integer)) and self.layers >= 1):
            raise InputError(f"the number of layers must be a whole number >= 1, got {self.layers!r}",
                             "--layers")
        object.__setattr__(self, "layers", int(self.layers))
        if not (math.isfinite(self.gap_nm) and self.gap_nm > 0):
            raise InputError(f"the gap must be a positive length, got {self.gap_nm!r} nm", "--gap-nm")
        if not (math.isfinite(self.edge_nm) and self.edge_nm > 1.0):
            raise InputError(f"the dot edge must be a length above 1 nm, got {self.edge_nm!r}", "--edge-nm")
        if not (math.isfinite(self.edge_sd_nm) and 0 <= self.edge_sd_nm < self.edge_nm / 4):
            raise InputError(
                f"the edge spread must be >= 0 and below a quarter of the edge, got {self.edge_sd_nm!r} nm",
                "--edge-sd-nm")
        if self.in_plane != 1 and self.in_plane < 3:
            raise InputError("the in-plane block needs M >= 3 (periodic) or 1 (columns only)", "--in-plane")
        if self.in_plane_gap_nm is not None and not (self.in_plane_gap_nm > 0):
            raise InputError("the in-plane gap must be positive", "--in-plane-gap-nm")
        if self.environment not in ("film", "solution"):
            raise InputError(f"unknown environment {self.environment!r}", "environment")
        if self.environment == "solution" and (self.layers != 1 or self.in_plane != 1):
            raise InputError("the solution reference is one isolated dot per column (N = 1)", "environment")

    @classmethod
    def from_linker(cls, linker: str, layers: int, *, method: str = "mmff", offset_nm: float = 0.0,
                    **kwargs) -> "FilmSpec":
        """The gap from the linker library (S-S distance of the all-anti conformer + offset)."""
        from qdstack.linkers import get_linker

        geom = get_linker(linker, method=method)
        return cls(layers=layers, gap_nm=geom.gap_nm(offset_nm), linker=geom.name, **kwargs)

    @property
    def n_sites(self) -> int:
        return self.in_plane * self.in_plane * self.layers


# ----------------------------------------------------------------------------- per-dot physics


def linker_coupling_meV(edge_nm, gap_nm, gap_barrier_eV, mass, *, barrier_mass=1.0,
                        outer_barrier_eV=3.0, outer_barrier_mass=1.0):
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

    b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (
        edge_nm, gap_nm, gap_barrier_eV, mass, barrier_mass, outer_barrier_eV, outer_barrier_mass)))
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
        elif ez.size == 1 and d * math.sqrt(mb * max(v_gap - ez[0], 0.0) / HBAR2_OVER_2ME_EV_NM2) > 20:
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


def environment_eps(params: FilmParameters, eps_dot: float, edge_nm, *, environment: str = "film",
                    below=None, above=None, gap_nm: float | None = None,
                    in_plane_gap_nm: float | None = None):
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


def dipolar_coupling_meV(mu_enm: float, displacement_nm, eps: float, polarisation: Polarisation = "in-plane"):
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
            return CubicSpline(self.edges_nm, y)(x)
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
    dots = _single_dots(mat, tuple(map(float, edges)), params.outer_barrier_eV, params.outer_barrier_mass)
    g_in = params.in_plane_gap_nm if spec.in_plane_gap_nm is None else spec.in_plane_gap_nm
    v_in = params.outer_barrier_eV if params.in_plane_barrier_eV is None else params.in_plane_barrier_eV
    common = dict(outer_barrier_eV=params.outer_barrier_eV, outer_barrier_mass=params.outer_barrier_mass)
    if params.coupling == "engine":
        be = linker_coupling_meV(edges, spec.gap_nm, params.barrier_e_eV, mat.electron_mass,
                                 barrier_mass=params.barrier_mass, **common)
        bh = linker_coupling_meV(edges, spec.gap_nm, params.barrier_h_eV, mat.hole_mass,
                                 barrier_mass=params.barrier_mass, **common)
        mb_in = params.outer_barrier_mass if params.in_plane_barrier_eV is None else params.barrier_mass
        be_in = linker_coupling_meV(edges, g_in, v_in, mat.electron_mass, barrier_mass=mb_in, **common)
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
            raise InputError(f"no bound pair of states for some dot sizes ({name}); check the barriers",
                             "parameters")
    return DotTables(
        edges_nm=edges, exciton_eV=np.array([d.energy_eV for d in dots]),
        electron_meV=np.array([d.electron_meV for d in dots]), hole_meV=np.array([d.hole_meV for d in dots]),
        binding_meV=np.array([d.binding_meV for d in dots]), beta_e_meV=np.asarray(be, float),
        beta_h_meV=np.asarray(bh, float), beta_e_in_meV=np.asarray(be_in, float),
        beta_h_in_meV=np.asarray(bh_in, float), eps_dot=float(mat.exciton_dielectric),
        eps_optical=float(mat.eps_inf), gap_nm=spec.gap_nm, in_plane_gap_nm=g_in,
        source=(f"single_dot.exciton ({mat.name}, {mat.parameter_set}; barrier {params.outer_barrier_eV:g} eV) "
                f"+ {how}"),
    )


# ----------------------------------------------------------------------------- ensembles


def sample_edges(n_real: int, n_dots: int, edge_nm: float, edge_sd_nm: float, seed) -> np.ndarray:
    """Dot edges [nm], shape (n_real, n_dots): normal, truncated at +-4 sd.

    Drawn dot by dot (column 0 for every realisation, then column 1, ...) from
    one stream, so the first k dots are the same whatever ``n_dots`` is: films of
    different N built from one seed share their bottom layers (common random
    numbers make shifts between N far less noisy).

    Parameters
    ----------
    seed : int, SeedSequence or Generator
    """
    from qdstack.synthetic import rng_from

    rng = rng_from(seed)
    out = np.empty((n_real, n_dots))
    for k in range(n_dots):
        col = rng.normal(edge_nm, edge_sd_nm, n_real) if edge_sd_nm > 0 else np.full(n_real, edge_nm)
        bad = np.abs(col - edge_nm) > 4 * edge_sd_nm
        while edge_sd_nm > 0 and np.any(bad):
            col[bad] = rng.normal(edge_nm, edge_sd_nm, int(bad.sum()))
            bad = np.abs(col - edge_nm) > 4 * edge_sd_nm
        out[:, k] = col
    return out


@dataclass(frozen=True)
class ColumnEnsemble:
    """Realisations of a film's columns (or blocks): the stack and what it was built from.

    Attributes
    ----------
    stack : ExcitonStack
    edges_nm : ndarray, shape (R, S)
    eps_out : ndarray, shape (R, S)
        Environment dielectric constant of each dot.
    environment_meV : ndarray, shape (R, S)
        Dielectric shift of each dot's exciton relative to the solution [meV].
    layer : ndarray of int, shape (S,)
        Layer index of each site.
    eps_film : float
        Effective-medium dielectric constant screening inter-dot interactions.
    mu_enm : float
        Transition dipole [e nm].
    """

    stack: ExcitonStack
    edges_nm: np.ndarray
    eps_out: np.ndarray
    environment_meV: np.ndarray
    layer: np.ndarray
    eps_film: float
    mu_enm: float


def build_column_ensemble(spec: FilmSpec, params: FilmParameters, n_real: int, *, seed=0,
                          tables: DotTables | None = None, edges_nm: np.ndarray | None = None
                          ) -> ColumnEnsemble:
    """Draw ``n_real`` columns (or M x M x N blocks) of a film and build their exciton stack.

    Per dot (edge ``L_i`` drawn from the size distribution):

    * electron level ``E_g,eff(L) + e_conf(L)`` and hole level ``h_conf(L)``,
      with ``E_g,eff`` such that the on-site pair energy is the single-dot exciton
      energy ``E_X(L)``, plus ``energy_offset_meV`` and the dot's dielectric
      environment shift ``P(L, eps_out,i) - P(L, eps_solvent)`` (half on each carrier);
    * on-site binding ``U_ii = U_0(L_i)``; inter-dot attraction
      ``U_ij = e^2 / (4 pi eps0 eps_film r_ij)`` with the Maxwell Garnett
      constant of the film (dots in the ligand matrix);
    * ``beta`` of a bond = geometric mean of the identical-pair couplings of the
      two edges (the size mismatch itself is in the diagonal);
    * dipolar ``J_ik`` between the dots' excitons (point dipoles, screened by the
      Maxwell Garnett constant built from the dots' high-frequency constant).

    Parameters
    ----------
    spec : FilmSpec
    params : FilmParameters
    n_real : int
        Number of realisations R.
    seed : int, SeedSequence or Generator
        Randomness of the sizes (:func:`sample_edges`).
    tables : DotTables, optional
        Per-dot physics (default :func:`dot_tables`).
    edges_nm : ndarray, shape (R, S), optional
        Use these edges instead of drawing them.

    Returns
    -------
    ColumnEnsemble
    """
    tables = dot_tables(spec, params) if tables is None else tables
    n = spec.layers
    m = spec.in_plane
    s = spec.n_sites
    if edges_nm is None:
        edges = sample_edges(n_real, s, spec.edge_nm, spec.edge_sd_nm, seed)
        if m > 1:  # site (x, y, z): draw per layer so that z = 0.. are the same dots as columns
            edges = edges.reshape(n_real, n, m * m).transpose(0, 2, 1).reshape(n_real, s)
    else:
        edges = np.asarray(edges_nm, dtype=float)
        if edges.shape != (n_real, s):
            raise InputError(f"edges_nm must have shape {(n_real, s)}", "edges_nm")
    ch = params.channels
    layer = np.tile(np.arange(n), m * m)  # site index (x*m + y)*n + z
    g_in = tables.in_plane_gap_nm

    # per-dot single-dot quantities
    ex = tables.interpolate("exciton_eV", edges)
    chh = tables.interpolate("hole_meV", edges)
    u0 = tables.interpolate("binding_meV", edges)

    # dielectric environment of each dot
    eps_dot = tables.eps_dot
    if spec.environment == "solution":
        eps_out = environment_eps(params, eps_dot, edges, environment="solution")
    else:
        has_below = (layer > 0) & ch.dielectric
        has_above = (layer < n - 1) & ch.dielectric
        eps_out = environment_eps(params, eps_dot, edges, below=np.broadcast_to(has_below, edges.shape),
                                  above=np.broadcast_to(has_above, edges.shape), gap_nm=spec.gap_nm,
                                  in_plane_gap_nm=g_in)
    eps_sol = environment_eps(params, eps_dot, edges, environment="solution")
    env = polarization_energy_meV(edges, eps_dot, eps_out) - polarization_energy_meV(edges, eps_dot, eps_sol)

    reference = float(np.mean(ex)) + 1e-3 * params.energy_offset_meV
    pair0 = (ex - reference) * 1e3 + params.energy_offset_meV + env  # on-site pair energy [meV]
    # split: electron carries E_g,eff + e_conf, hole h_conf; shifts half each
    shift_each = 0.5 * (params.energy_offset_meV + env)
    hole = chh + shift_each
    electron = pair0 + u0 - hole

    # geometry: z of each site from the column's own edges
    e_col = edges.reshape(n_real, m * m, n)
    zc = np.cumsum(np.concatenate([np.zeros((n_real, m * m, 1)),
                                   0.5 * (e_col[:, :, :-1] + e_col[:, :, 1:]) + spec.gap_nm], axis=2), axis=2)
    pitch = spec.edge_nm + g_in
    ix, iy = np.divmod(np.arange(m * m), m)
    pos = np.empty((n_real, s, 3))
    pos[:, :, 0] = np.repeat(ix * pitch, n)[None, :]
    pos[:, :, 1] = np.repeat(iy * pitch, n)[None, :]
    pos[:, :, 2] = zc.reshape(n_real, s)
    disp = pos[:, :, None, :] - pos[:, None, :, :]
    if m > 1:  # minimum image in the periodic plane
        box = m * pitch
        disp[..., :2] -= box * np.round(disp[..., :2] / box)
    dist = np.linalg.norm(disp, axis=-1)

    fill = spec.edge_nm**3 / ((spec.edge_nm + spec.gap_nm) * (spec.edge_nm + g_in) ** 2)
    eps_film = maxwell_garnett_eps(eps_dot, params.eps_ligand, fill)
    off = ~np.eye(s, dtype=bool)
    coul = np.zeros((n_real, s, s))
    if ch.interdot_coulomb and s > 1:
        coul[:, off] = 1e3 * COULOMB_EV_NM / (eps_film * dist[:, off])
    i = np.arange(s)
    coul[:, i, i] = u0

    # bonds and couplings
    z_bonds, xy_bonds = block_bonds(m, n) if m > 1 else (chain_bonds(n), np.zeros((0, 2), np.intp))
    bonds = np.concatenate([z_bonds, xy_bonds]) if len(xy_bonds) else z_bonds
    nz = len(z_bonds)
    if ch.tunnelling and len(bonds):
        def pair_beta(name, idx):
            b = tables.interpolate(name, edges)
            return np.sqrt(b[:, idx[:, 0]] * b[:, idx[:, 1]])

        be = np.concatenate([pair_beta("beta_e_meV", z_bonds), pair_beta("beta_e_in_meV", xy_bonds)], axis=1) \
            if len(xy_bonds) else pair_beta("beta_e_meV", z_bonds)
        bh = np.concatenate([pair_beta("beta_h_meV", z_bonds), pair_beta("beta_h_in_meV", xy_bonds)], axis=1) \
            if len(xy_bonds) else pair_beta("beta_h_meV", z_bonds)
    else:
        be = np.zeros((n_real, len(bonds)))
        bh = np.zeros((n_real, len(bonds)))
    del nz

    mu = transition_dipole_enm(params.kane_energy_eV, float(np.mean(ex)) + 1e-3 * params.energy_offset_meV)
    dip = None
    if ch.dipolar and s > 1:
        dip = np.zeros((n_real, s, s))
        eps_opt = maxwell_garnett_eps(tables.eps_optical, params.eps_ligand, fill)
        dip[:, off] = dipolar_coupling_meV(mu, disp[:, off], eps_opt, params.polarisation)

    stack = ExcitonStack(electron_meV=electron, hole_meV=hole, coulomb_meV=coul, bonds=bonds,
                         beta_e_meV=be, beta_h_meV=bh, dipolar_meV=dip, reference_eV=reference)
    return ColumnEnsemble(stack=stack, edges_nm=edges, eps_out=eps_out, environment_meV=env,
                          layer=layer, eps_film=eps_film, mu_enm=mu)
