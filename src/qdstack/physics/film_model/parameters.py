"""Parameter sets and the description of one film (:class:`FilmParameters`, :class:`FilmSpec`).

Part of the film model (:mod:`qdstack.physics.film_model`); the physics is described there.
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
from qdstack.units import HBAR2_OVER_2ME_EV_NM2


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
    ct_charging : bool
        Charging energy of charge-transfer states: the single-charge self-energies
        (Brus n = 0 term, :func:`~qdstack.physics.film_model.charging_energy_meV`) of
        the lone electron and hole in their dots, which raise every charge-transfer state
        (electron on dot i, hole on dot j != i) (off by default: the shipped sets were calibrated without it).
    """

    tunnelling: bool = True
    dielectric: bool = True
    dipolar: bool = True
    interdot_coulomb: bool = True
    ct_charging: bool = False

    def only(self, *names: str) -> "Channels":
        """A copy with only the named channels among tunnelling/dielectric/dipolar on."""
        bad = set(names) - {"tunnelling", "dielectric", "dipolar"}
        if bad:
            raise OptionError(
                f"unknown channel(s) {sorted(bad)}; use tunnelling, dielectric, dipolar", "channels"
            )
        return replace(
            self,
            tunnelling="tunnelling" in names,
            dielectric="dielectric" in names,
            dipolar="dipolar" in names,
        )

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
        Face-to-face gap between in-plane neighbours [nm] (~3 nm of oleyl ligands;
        the ``enomoto2024`` sets take it from the paper's in-plane XRD period minus
        the edge, both read from :mod:`qdstack.references`).
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
    dielectric_confinement : bool
        Include the single-dot dielectric confinement (net Brus self-polarisation and
        image-modified binding, :func:`~qdstack.physics.film_model.polarization_energy_meV`)
        in every dot's energy, not only its change from the solution: with it the
        single-dot model places a 6.8 nm cube in toluene at 2.48 eV without an offset
        (set ``energy_offset_meV`` to 0).  Off by default (the shipped sets calibrate the
        offset without it).
    static_fraction : float
        Fraction f (0 <= f < 1) of the homogeneous line's variance that is in fact
        static site disorder: each dot's exciton energy gets a random offset of
        standard deviation ``sqrt(f) sigma_hom`` (drawn per dot, on top of the size
        disorder) and the line convolved after diagonalising keeps ``sqrt(1 - f)
        sigma_hom``, so the total width of uncoupled dots (the solution PL width the
        set was made from) is unchanged while coupled states can localise.  At other
        temperatures the dynamic width is ``sqrt(Gamma(T)^2 - f Gamma(T_0)^2)`` (at
        least 1 meV).  Default 0: all of it dynamic.
    bond_scale_by_layer : tuple of float
        Couplings that change with layer index: entry k multiplies beta_e and beta_h of
        the out-of-plane bonds between layer k and k + 1 (k = 0 is the first layer, on
        PEI); missing entries are 1.  Default (): every bond alike.
    conformer_disorder : bool
        Bond-wise coupling disorder from linker conformers: every out-of-plane bond
        draws a conformer of its linker from the library's Boltzmann ensemble
        (gauche defects shorten the S-S distance) and its beta_e, beta_h are scaled by
        beta(gap_conformer) / beta(gap_all-anti) of the mean dot (the positions and the
        Coulomb terms keep the all-anti gap).  Needs the film's linker name.  Off by default.
    coverage : float
        Per-layer coverage p (0 < p <= 1): each site of a film holds a dot with
        probability p (vacancies otherwise, independently).  A vacancy has no bonds, no
        dipolar terms and its pair states are moved 1 eV up, out of the spectrum, so a
        film's absorption per site is p times that of its present dots and columns break
        into shorter stacks.  The dielectric environment of a dot next to a vacancy is
        kept as if the neighbour were there.  Default 1.
    thiolate_leak_nm : float
        Per-dot surface mechanism: the hole's confinement box grows by this much on
        every face bound to a linker (a dot with a layer above and/or below), the
        hole leaking into the thiolate shell; its level moves by
        ``E_h(L + n delta) - E_h(L)`` (1D level of the ligand-barrier well, z only).
        Default 0 (the ``surface`` mechanism of ``qdstack explain``).
    neck_fraction, neck_nm : float
        Per-dot surface mechanism: each out-of-plane contact is, with probability
        ``neck_fraction``, a perovskite neck of width ``neck_nm`` whose lateral
        confinement is the barrier, ``V = 2 [E_1D(w) - E_1D(L)]`` at the dot's band
        mass, instead of the linker (the ``fusion`` mechanism of ``qdstack explain``).
        Default 0.
    eps_dot : float or None
        Dielectric constant of a dot as its own and its neighbours' charges see it in
        the environment terms (self-polarisation, screening by neighbouring dots,
        charging, the film's effective medium).  None (default): the material's
        exciton dielectric constant (:attr:`qdstack.materials.Material.exciton_dielectric`);
        the single-dot exciton binding always uses the material's.
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
    dielectric_confinement: bool = False
    static_fraction: float = 0.0
    bond_scale_by_layer: tuple = ()
    conformer_disorder: bool = False
    coverage: float = 1.0
    thiolate_leak_nm: float = 0.0
    neck_fraction: float = 0.0
    neck_nm: float = 1.5
    eps_dot: float | None = None
    provenance: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        positive = (
            "barrier_mass",
            "outer_barrier_eV",
            "outer_barrier_mass",
            "in_plane_gap_nm",
            "eps_ligand",
            "eps_solvent",
            "eps_substrate",
            "eps_top",
            "homogeneous_fwhm_meV",
            "linewidth_elo_meV",
            "temperature_K",
            "kane_energy_eV",
        )
        for name in positive:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"must be a positive number, got {v!r}", name)
        if self.coupling not in ("engine", "exponential"):
            raise InputError(
                f"unknown coupling {self.coupling!r}; use engine or exponential", "coupling"
            )
        for name in ("barrier_e_eV", "barrier_h_eV"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"must be a barrier >= 0 eV, got {v!r}", name)
        if self.in_plane_barrier_eV is not None and not self.in_plane_barrier_eV >= 0:
            raise InputError("must be a barrier >= 0 eV", "in_plane_barrier_eV")
        for name in (
            "coupling_amplitude_meV",
            "ligand_shell_nm",
            "linewidth_gamma0_meV",
            "energy_offset_meV",
            "intrinsic_stokes_meV",
        ):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise InputError(f"must be a finite number, got {v!r}", name)
        scales = tuple(self.bond_scale_by_layer or ())
        if not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in scales):
            raise InputError("bond scales must be numbers >= 0", "bond_scale_by_layer")
        object.__setattr__(self, "bond_scale_by_layer", tuple(float(v) for v in scales))
        if not (isinstance(self.thiolate_leak_nm, (int, float)) and self.thiolate_leak_nm >= 0):
            raise InputError("must be a length >= 0 nm", "thiolate_leak_nm")
        if not (isinstance(self.neck_fraction, (int, float)) and 0.0 <= self.neck_fraction <= 1.0):
            raise InputError("must be a fraction in [0, 1]", "neck_fraction")
        if not (isinstance(self.neck_nm, (int, float)) and self.neck_nm > 0):
            raise InputError("must be a positive width in nm", "neck_nm")
        if self.eps_dot is not None and not (
            isinstance(self.eps_dot, (int, float))
            and math.isfinite(self.eps_dot)
            and self.eps_dot >= 1
        ):
            raise InputError(f"must be a dielectric constant >= 1, got {self.eps_dot!r}", "eps_dot")
        if not (isinstance(self.coverage, (int, float)) and 0.0 < self.coverage <= 1.0):
            raise InputError(f"must be a fraction in (0, 1], got {self.coverage!r}", "coverage")
        if not (
            isinstance(self.static_fraction, (int, float)) and 0.0 <= self.static_fraction < 1.0
        ):
            raise InputError(
                f"must be a fraction in [0, 1), got {self.static_fraction!r}", "static_fraction"
            )
        if self.linewidth_gamma0_meV >= self.homogeneous_fwhm_meV:
            raise InputError(
                "the low-temperature width must be below the room-temperature width",
                "linewidth_gamma0_meV",
            )
        if self.polarisation not in ("in-plane", "out-of-plane"):
            raise InputError(
                f"unknown polarisation {self.polarisation!r}; use in-plane or out-of-plane",
                "polarisation",
            )
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

    def dynamic_fwhm_at(self, temperature_K) -> np.ndarray:
        """FWHM [meV] of the line convolved after diagonalising (the homogeneous width less its static part)."""
        total = self.homogeneous_fwhm_at(temperature_K)
        static2 = self.static_fraction * self.homogeneous_fwhm_meV**2
        return np.sqrt(np.maximum(total**2 - static2, 1.0))

    @property
    def static_sigma_meV(self) -> float:
        """Standard deviation of the extra static site energies [meV]."""
        return (
            math.sqrt(self.static_fraction)
            * self.homogeneous_fwhm_meV
            / (2.0 * math.sqrt(2.0 * math.log(2.0)))
        )

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
        raise InputError(
            "a parameter set file holds {'parameters': {...}, 'provenance': {...}}", str(p)
        )
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
    edge_pool_nm : tuple of float or None
        Measured edges (e.g. ``qdstack tem``'s ``sizes_nm``): when given, every
        dot's edge is drawn from this list (with replacement) instead of the
        normal law; ``edge_nm`` and ``edge_sd_nm`` should then be its mean and sd.
    """

    layers: int
    gap_nm: float
    edge_nm: float = 6.8
    edge_sd_nm: float = 0.5
    linker: str | None = None
    in_plane: int = 1
    in_plane_gap_nm: float | None = None
    environment: str = "film"
    edge_pool_nm: tuple[float, ...] | None = None

    def __post_init__(self):
        if not (isinstance(self.layers, (int, np.integer)) and self.layers >= 1):
            raise InputError(
                f"the number of layers must be a whole number >= 1, got {self.layers!r}", "--layers"
            )
        object.__setattr__(self, "layers", int(self.layers))
        if not (math.isfinite(self.gap_nm) and self.gap_nm > 0):
            raise InputError(
                f"the gap must be a positive length, got {self.gap_nm!r} nm", "--gap-nm"
            )
        if not (math.isfinite(self.edge_nm) and self.edge_nm > 1.0):
            raise InputError(
                f"the dot edge must be a length above 1 nm, got {self.edge_nm!r}", "--edge-nm"
            )
        if self.edge_pool_nm is not None:
            pool = np.asarray(self.edge_pool_nm, dtype=float)
            if (
                pool.ndim != 1
                or pool.size < 2
                or not np.all(np.isfinite(pool))
                or pool.min() <= 1.0
            ):
                raise InputError(
                    "the measured edges must be at least 2 finite lengths above 1 nm", "--sizes"
                )
            object.__setattr__(self, "edge_pool_nm", tuple(float(x) for x in pool))
        elif not (math.isfinite(self.edge_sd_nm) and 0 <= self.edge_sd_nm < self.edge_nm / 4):
            raise InputError(
                f"the edge spread must be >= 0 and below a quarter of the edge, got {self.edge_sd_nm!r} nm",
                "--edge-sd-nm",
            )
        if self.in_plane != 1 and self.in_plane < 3:
            raise InputError(
                "the in-plane block needs M >= 3 (periodic) or 1 (columns only)", "--in-plane"
            )
        if self.in_plane_gap_nm is not None and not (self.in_plane_gap_nm > 0):
            raise InputError("the in-plane gap must be positive", "--in-plane-gap-nm")
        if self.environment not in ("film", "solution"):
            raise InputError(f"unknown environment {self.environment!r}", "environment")
        if self.environment == "solution" and (self.layers != 1 or self.in_plane != 1):
            raise InputError(
                "the solution reference is one isolated dot per column (N = 1)", "environment"
            )

    @classmethod
    def from_linker(
        cls, linker: str, layers: int, *, method: str = "mmff", offset_nm: float = 0.0, **kwargs
    ) -> "FilmSpec":
        """The gap from the linker library (S-S distance of the all-anti conformer + offset)."""
        from qdstack.linkers import get_linker, linker_gap_nm

        geom = get_linker(linker, method=method)
        return cls(
            layers=layers,
            gap_nm=linker_gap_nm(geom, offset_nm=offset_nm),
            linker=geom.name,
            **kwargs,
        )

    @classmethod
    def from_xrd_period(
        cls, period_nm: float, layers: int, *, edge_nm: float = 6.8, **kwargs
    ) -> "FilmSpec":
        """The gap as the measured out-of-plane XRD period minus the dot edge (instead of the S-S distance).

        ``gap = period - edge``: what the stacking actually leaves between the faces,
        which differs from the linker's S-S distance when the linker tilts, binds
        off-centre or interdigitates.
        """
        gap = float(period_nm) - float(edge_nm)
        if not (math.isfinite(gap) and gap > 0):
            raise InputError(
                f"the XRD period {period_nm!r} nm must exceed the edge {edge_nm!r} nm",
                "--period-nm",
            )
        return cls(layers=layers, gap_nm=gap, edge_nm=edge_nm, **kwargs)

    @property
    def n_sites(self) -> int:
        return self.in_plane * self.in_plane * self.layers
