"""Effective-mass parameters of quantum-dot materials, as named parameter sets with sources.

The literature disagrees on several of these numbers -- for CsPbBr3 the exciton
reduced mass is 0.072 m_e (DFT masses of Protesescu et al. 2015), 0.126 m_e
(magneto-optics, Yang et al. 2017) or 0.18 m_e (high-field reflectivity, 2023),
which changes the confinement energy of a 6.8 nm cube by a factor of 2.5 -- so
each material ships named parameter sets and a documented default rather than
one set of numbers.  Every value carries its unit in the field name and its
source in :attr:`Material.sources`.

Use :func:`get_material` (``get_material("CsPbBr3")``, ``get_material("CsPbBr3",
"protesescu2015")``), :func:`list_materials`, :func:`parameter_sets`.  Your own
material is a :class:`Material` you construct (or ``get_material(...).replace(...)``);
pass it wherever a material is accepted, or :func:`register_material` it by name.

Units: energies in eV (band gaps) and meV (binding, phonon), lengths in nm,
masses in electron masses, dielectric constants relative to vacuum.  A value
that no reliable source fixes is ``nan`` (and ``null`` in JSON), never a guess.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from qdstack.errors import InputError
from qdstack.units import BOHR_RADIUS_NM, RYDBERG_EV

__all__ = [
    "Material",
    "get_material",
    "list_materials",
    "parameter_sets",
    "default_parameter_set",
    "register_material",
]


@dataclass(frozen=True)
class Material:
    """Effective-mass parameters of one semiconductor (one parameter set).

    Parameters
    ----------
    name : str
        Formula, e.g. ``"CsPbBr3"``.
    parameter_set : str
        Name of this set of values, e.g. ``"yang2017"``; ``"custom"`` for your own.
    band_gap_eV : float
        Bulk band gap at room temperature (~295 K) [eV].
    band_gap_low_T_eV : float
        Bulk band gap at liquid-helium temperature [eV].
    electron_mass, hole_mass : float
        Band-edge effective masses [m_e].
    eps_inf, eps_static : float
        High-frequency and static relative permittivities.
    exciton_bohr_radius_nm : float
        Bulk exciton Bohr radius a_B [nm] (the radius, not the diameter).
    exciton_binding_meV : float
        Bulk exciton binding energy (Rydberg) [meV].
    lo_phonon_meV : float
        Longitudinal-optical phonon energy [meV].
    sources : tuple of (str, str)
        ``(field, reference)`` pairs saying where each value comes from.
    notes : str
        Caveats (which values are estimates, what was assumed).
    """

    name: str
    parameter_set: str
    band_gap_eV: float
    band_gap_low_T_eV: float
    electron_mass: float
    hole_mass: float
    eps_inf: float
    eps_static: float
    exciton_bohr_radius_nm: float
    exciton_binding_meV: float
    lo_phonon_meV: float
    sources: tuple[tuple[str, str], ...] = ()
    notes: str = ""

    def __post_init__(self):
        for f in ("electron_mass", "hole_mass"):
            v = getattr(self, f)
            if not (v > 0 and math.isfinite(v)):
                raise InputError(
                    f"{f} must be a positive number of electron masses, got {v}", self.name
                )
        for f in (
            "band_gap_eV",
            "eps_inf",
            "eps_static",
            "exciton_bohr_radius_nm",
            "exciton_binding_meV",
            "lo_phonon_meV",
            "band_gap_low_T_eV",
        ):
            v = getattr(self, f)
            if not (math.isnan(v) or v > 0):
                raise InputError(f"{f} must be positive (or nan when unknown), got {v}", self.name)
        object.__setattr__(self, "sources", tuple(tuple(s) for s in self.sources))

    @property
    def reduced_mass(self) -> float:
        """Exciton reduced mass mu = m_e m_h / (m_e + m_h) [m_e]."""
        return self.electron_mass * self.hole_mass / (self.electron_mass + self.hole_mass)

    @property
    def exciton_dielectric(self) -> float:
        """Effective dielectric constant of the e-h attraction, eps = sqrt(Ry mu / E_b).

        The hydrogenic value that reproduces this set's binding energy with its
        reduced mass; the Coulomb term of the single-dot exciton uses it, so the
        large-dot limit returns exactly ``exciton_binding_meV``.
        """
        return math.sqrt(RYDBERG_EV * 1e3 * self.reduced_mass / self.exciton_binding_meV)

    @property
    def hydrogenic_bohr_radius_nm(self) -> float:
        """a_B = a_0 eps / mu with :attr:`exciton_dielectric` [nm] (consistency check)."""
        return BOHR_RADIUS_NM * self.exciton_dielectric / self.reduced_mass

    def replace(self, **changes) -> "Material":
        """A copy with some values changed (``parameter_set`` becomes ``"custom"`` unless given)."""
        changes.setdefault("parameter_set", "custom")
        return dataclasses.replace(self, **changes)

    def source_of(self, field_name: str) -> str:
        """The reference given for one field ('' when none)."""
        return "; ".join(ref for f, ref in self.sources if f == field_name or f == "*")

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["sources"] = {f: ref for f, ref in self.sources}
        d["reduced_mass"] = self.reduced_mass
        d["exciton_dielectric"] = self.exciton_dielectric
        return d


# --------------------------------------------------------------------------- the library
_PROTESESCU = (
    "Protesescu et al., Nano Lett. 2015, 15, 3692, Table 1 (DFT effective masses; "
    "eps_eff, Bohr diameter and binding energy as listed there)"
)
_YANG = (
    "Z. Yang et al., ACS Energy Lett. 2017, 2, 1621 (magneto-transmission to 65 T, 2 K: "
    "reduced mass, binding energy, effective dielectric constant, band gap)"
)
_HIGHFIELD = (
    "Exciton-polaritons in CsPbBr3 crystals revealed by optical reflectivity in high magnetic "
    "fields and two-photon spectroscopy, Phys. Status Solidi RRL 2023 (arXiv:2307.07035; "
    "LANL report LA-UR-23-30253): reduced mass 0.18 m_e, binding 32.5 meV, eps_eff 8.7"
)
_EQUAL_MASSES = (
    "the measurement gives the reduced mass only; electron and hole masses are taken equal "
    "(2 mu each), as DFT finds them nearly equal in CsPbX3 (Protesescu 2015: 0.15/0.14)"
)
_MADELUNG = "O. Madelung, Semiconductors: Data Handbook, 3rd ed. (Springer, 2004)"

_CSPBBR3_COMMON = dict(
    name="CsPbBr3",
    band_gap_eV=2.40,
    band_gap_low_T_eV=2.342,
    eps_inf=4.96,
    eps_static=29.4,
    lo_phonon_meV=19.0,
)
_CSPBBR3_COMMON_SOURCES = (
    ("band_gap_low_T_eV", _YANG),
    (
        "band_gap_eV",
        "estimate: the 2 K gap of Yang et al. 2017 (2.342 eV) plus the ~60 meV by which the "
        "gap of CsPbBr3 widens from 2 K to room temperature; quoted room-temperature values "
        "span 2.25-2.43 eV depending on the method (absorption edge, PL, Tauc)",
    ),
    ("eps_inf", "Protesescu et al. 2015 (eps 4.96 used for the exciton there)"),
    (
        "eps_static",
        "approximate; low-frequency permittivity of CsPbBr3 of ~30 (values of 16-40 are "
        "reported); not used by qdstack's models",
    ),
    (
        "lo_phonon_meV",
        "approximate; LO phonon of CsPbBr3 of 16-20 meV from Raman and PL line-width "
        "analyses (the reference study fixes E_LO at 10, 20, 30 meV in its fits)",
    ),
)

_LIBRARY: dict[str, dict[str, Material]] = {}
_DEFAULT: dict[str, str] = {}


def _add(m: Material, default: bool = False) -> None:
    key = m.name.lower()
    _LIBRARY.setdefault(key, {})[m.parameter_set] = m
    if default or key not in _DEFAULT:
        _DEFAULT[key] = m.parameter_set


_add(
    Material(
        parameter_set="yang2017",
        electron_mass=0.252,
        hole_mass=0.252,
        exciton_bohr_radius_nm=3.07,
        exciton_binding_meV=33.0,
        sources=_CSPBBR3_COMMON_SOURCES
        + (
            ("electron_mass", _YANG + "; " + _EQUAL_MASSES),
            ("hole_mass", _YANG + "; " + _EQUAL_MASSES),
            ("exciton_binding_meV", _YANG),
            ("exciton_bohr_radius_nm", _YANG + " (a_B = a_0 eps_eff / mu)"),
        ),
        notes="Default set: the reduced mass 0.126 m_e measured by magneto-optics (2 K), "
        "between the DFT value "
        "(0.072) and the 2023 high-field value (0.18).",
        **_CSPBBR3_COMMON,
    ),
    default=True,
)
_add(
    Material(
        parameter_set="protesescu2015",
        electron_mass=0.15,
        hole_mass=0.14,
        exciton_bohr_radius_nm=3.5,
        exciton_binding_meV=40.0,
        sources=_CSPBBR3_COMMON_SOURCES
        + (
            ("electron_mass", _PROTESESCU),
            ("hole_mass", _PROTESESCU),
            ("exciton_binding_meV", _PROTESESCU),
            ("exciton_bohr_radius_nm", _PROTESESCU + " (Bohr diameter 7 nm)"),
        ),
        notes="DFT masses: reduced mass 0.072 m_e, the lightest of the sets, hence the strongest "
        "confinement.",
        **_CSPBBR3_COMMON,
    )
)
_add(
    Material(
        parameter_set="highfield2023",
        electron_mass=0.36,
        hole_mass=0.36,
        exciton_bohr_radius_nm=2.56,
        exciton_binding_meV=32.5,
        sources=_CSPBBR3_COMMON_SOURCES
        + (
            ("electron_mass", _HIGHFIELD + "; " + _EQUAL_MASSES),
            ("hole_mass", _HIGHFIELD + "; " + _EQUAL_MASSES),
            ("exciton_binding_meV", _HIGHFIELD),
            ("exciton_bohr_radius_nm", "a_0 eps_eff / mu = 0.0529 nm x 8.7 / 0.18"),
        ),
        notes="Heaviest reduced mass (0.18 m_e): the weakest confinement of the three CsPbBr3 "
        "sets.",
        **_CSPBBR3_COMMON,
    )
)

_add(
    Material(
        name="CsPbI3",
        parameter_set="yang2017",
        band_gap_eV=1.73,
        band_gap_low_T_eV=1.723,
        electron_mass=0.228,
        hole_mass=0.228,
        eps_inf=6.32,
        eps_static=math.nan,
        exciton_bohr_radius_nm=4.6,
        exciton_binding_meV=15.0,
        lo_phonon_meV=math.nan,
        sources=(
            ("band_gap_low_T_eV", _YANG),
            ("exciton_binding_meV", _YANG),
            ("electron_mass", _YANG + " (mu = 0.114); " + _EQUAL_MASSES),
            ("hole_mass", _EQUAL_MASSES),
            ("exciton_bohr_radius_nm", _YANG + " (a_B = a_0 eps_eff / mu, eps_eff = 10)"),
            ("band_gap_eV", "approximate room-temperature gap of cubic (alpha) CsPbI3, ~1.73 eV"),
            ("eps_inf", "Protesescu et al. 2015"),
        ),
        notes="eps_static and the LO phonon energy are not set (nan): no source at hand fixes "
        "them.",
    ),
    default=True,
)
_add(
    Material(
        name="CsPbI3",
        parameter_set="protesescu2015",
        band_gap_eV=1.73,
        band_gap_low_T_eV=1.723,
        electron_mass=0.12,
        hole_mass=0.11,
        eps_inf=6.32,
        eps_static=math.nan,
        exciton_bohr_radius_nm=6.0,
        exciton_binding_meV=20.0,
        lo_phonon_meV=math.nan,
        sources=(
            ("electron_mass", _PROTESESCU),
            ("hole_mass", _PROTESESCU),
            ("exciton_binding_meV", _PROTESESCU),
            ("exciton_bohr_radius_nm", _PROTESESCU + " (Bohr diameter 12 nm)"),
            ("eps_inf", _PROTESESCU),
            ("band_gap_eV", "approximate room-temperature gap of cubic (alpha) CsPbI3, ~1.73 eV"),
            ("band_gap_low_T_eV", _YANG),
        ),
        notes="DFT masses (reduced mass 0.057 m_e).",
    )
)

_BARANOWSKI = (
    "M. Baranowski et al., Photonics Res. 2020, 8, A50 (magneto-optics of CsPbCl3: "
    "reduced mass 0.202 m_e, binding energy 64 meV)"
)
_add(
    Material(
        name="CsPbCl3",
        parameter_set="baranowski2020",
        band_gap_eV=3.00,
        band_gap_low_T_eV=math.nan,
        electron_mass=0.404,
        hole_mass=0.404,
        eps_inf=4.07,
        eps_static=math.nan,
        exciton_bohr_radius_nm=1.72,
        exciton_binding_meV=64.0,
        lo_phonon_meV=math.nan,
        sources=(
            ("electron_mass", _BARANOWSKI + "; " + _EQUAL_MASSES),
            ("hole_mass", _EQUAL_MASSES),
            ("exciton_binding_meV", _BARANOWSKI),
            ("exciton_bohr_radius_nm", "a_0 eps / mu with eps = sqrt(Ry mu / E_b) = 6.56"),
            ("band_gap_eV", "approximate room-temperature gap of CsPbCl3, ~3.0 eV"),
            ("eps_inf", _PROTESESCU),
        ),
        notes="band_gap_low_T_eV, eps_static and the LO phonon energy are not set (nan).",
    ),
    default=True,
)
_add(
    Material(
        name="CsPbCl3",
        parameter_set="protesescu2015",
        band_gap_eV=3.00,
        band_gap_low_T_eV=math.nan,
        electron_mass=0.202,
        hole_mass=0.174,
        eps_inf=4.07,
        eps_static=math.nan,
        exciton_bohr_radius_nm=2.5,
        exciton_binding_meV=75.0,
        lo_phonon_meV=math.nan,
        sources=(
            ("electron_mass", _PROTESESCU),
            ("hole_mass", _PROTESESCU),
            ("exciton_binding_meV", _PROTESESCU),
            ("exciton_bohr_radius_nm", _PROTESESCU + " (Bohr diameter 5 nm)"),
            ("eps_inf", _PROTESESCU),
            ("band_gap_eV", "approximate room-temperature gap of CsPbCl3, ~3.0 eV"),
        ),
        notes="DFT masses (reduced mass 0.093 m_e).",
    )
)

_NORRIS = (
    "D. J. Norris and M. G. Bawendi, Phys. Rev. B 1996, 53, 16338 (CdSe parameters used there)"
)
_add(
    Material(
        name="CdSe",
        parameter_set="madelung",
        band_gap_eV=1.74,
        band_gap_low_T_eV=1.84,
        electron_mass=0.13,
        hole_mass=0.45,
        eps_inf=6.2,
        eps_static=9.5,
        exciton_bohr_radius_nm=5.6,
        exciton_binding_meV=15.0,
        lo_phonon_meV=26.0,
        sources=(
            (
                "*",
                _MADELUNG
                + " (wurtzite; masses: electron 0.13, heavy hole 0.45; eps_static averaged "
                "over the two axes, 9.3-10.2)",
            ),
            ("exciton_bohr_radius_nm", _NORRIS),
        ),
        notes="Wurtzite CdSe; the hole mass is the heavy-hole value (the valence band is "
        "degenerate).",
    ),
    default=True,
)
_add(
    Material(
        name="CdTe",
        parameter_set="madelung",
        band_gap_eV=1.50,
        band_gap_low_T_eV=1.606,
        electron_mass=0.096,
        hole_mass=0.4,
        eps_inf=7.1,
        eps_static=10.2,
        exciton_bohr_radius_nm=7.0,
        exciton_binding_meV=10.5,
        lo_phonon_meV=21.1,
        sources=(
            ("*", _MADELUNG + " (zinc blende)"),
            ("exciton_bohr_radius_nm", "a_0 eps_static / mu = 0.0529 nm x 10.2 / 0.077"),
        ),
        notes="Zinc-blende CdTe; heavy-hole mass (0.4-0.8 are quoted).",
    ),
    default=True,
)
_KANG_WISE = "I. Kang and F. W. Wise, J. Opt. Soc. Am. B 1997, 14, 1632 (PbS/PbSe band parameters)"
_add(
    Material(
        name="PbS",
        parameter_set="madelung",
        band_gap_eV=0.41,
        band_gap_low_T_eV=0.286,
        electron_mass=0.085,
        hole_mass=0.085,
        eps_inf=17.2,
        eps_static=175.0,
        exciton_bohr_radius_nm=21.0,
        exciton_binding_meV=2.0,
        lo_phonon_meV=26.0,
        sources=(
            (
                "*",
                _MADELUNG + " (rock salt; masses are isotropic averages of the L-valley tensors)",
            ),
            ("electron_mass", _KANG_WISE),
            ("hole_mass", _KANG_WISE),
            (
                "exciton_binding_meV",
                "hydrogenic with eps_inf: Ry mu / eps_inf^2 = 13.6 eV x 0.0425 / 17.2^2",
            ),
            ("exciton_bohr_radius_nm", "hydrogenic: a_0 eps_inf / mu"),
        ),
        notes="Four-fold degenerate L valleys and strong non-parabolicity: the parabolic "
        "effective-mass model is "
        "rough for small PbS dots (see Kang & Wise 1997).",
    ),
    default=True,
)


# --------------------------------------------------------------------------- access
def _key(name: str) -> str:
    return str(name).strip().lower()


def list_materials() -> list[str]:
    """Names of the materials in the library (with their usual capitalisation), sorted."""
    return sorted(next(iter(sets.values())).name for sets in _LIBRARY.values())


def parameter_sets(name: str) -> tuple[str, ...]:
    """The named parameter sets of one material, the default first."""
    key = _key(name)
    if key not in _LIBRARY:
        raise InputError(
            f"unknown material {name!r}; known: {', '.join(list_materials())}", "material"
        )
    default = _DEFAULT[key]
    return (default,) + tuple(s for s in _LIBRARY[key] if s != default)


def default_parameter_set(name: str) -> str:
    """The parameter set :func:`get_material` returns when none is named."""
    return parameter_sets(name)[0]


def get_material(name: str | Material, parameter_set: str | None = None) -> Material:
    """A material by name (case-insensitive), in its default or a named parameter set.

    Parameters
    ----------
    name : str or Material
        ``"CsPbBr3"``, ``"cspbbr3"``...; a :class:`Material` is returned unchanged.
    parameter_set : str, optional
        E.g. ``"yang2017"`` (the CsPbBr3 default), ``"protesescu2015"``, ``"highfield2023"``.

    Raises
    ------
    InputError
        Unknown material or parameter set (the message lists the known ones).
    """
    if isinstance(name, Material):
        if parameter_set not in (None, name.parameter_set):
            raise InputError(
                f"a Material instance is already parameter set {name.parameter_set!r}", "material"
            )
        return name
    key = _key(name)
    sets = parameter_sets(name)  # raises for unknown names
    chosen = sets[0] if parameter_set is None else str(parameter_set).strip().lower()
    if chosen not in _LIBRARY[key]:
        raise InputError(
            f"{name} has no parameter set {parameter_set!r}; known: {', '.join(sets)}",
            "parameter_set",
        )
    return _LIBRARY[key][chosen]


def register_material(material: Material, default: bool = False) -> None:
    """Add your own :class:`Material` to the library (``get_material`` then finds it by name).

    An existing set of the same material and ``parameter_set`` is replaced; ``default``
    makes it the set returned when none is named.
    """
    if not isinstance(material, Material):
        raise InputError("register_material needs a Material", "material")
    _add(material, default=default)
