"""What one geometry level computes for one linker: the stored, validated record.

A :class:`LevelData` is what the shipped table and the disk cache hold for a
(linker, level) pair.  It is plain data (no RDKit), checked field by field when
read back: a record that fails a check is *corrupt* and is never used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scipy import constants as _c

__all__ = [
    "METHODS",
    "METHOD_DESCRIPTIONS",
    "PIPELINE_VERSION",
    "KCAL_PER_MOL_EV",
    "HARTREE_EV",
    "LevelData",
    "CorruptRecord",
]

#: Geometry levels, cheapest first.
METHODS: tuple[str, ...] = ("mmff", "gfn2", "b3lyp")

#: What each level does, for help texts and reports.
METHOD_DESCRIPTIONS: dict[str, str] = {
    "mmff": "RDKit ETKDG conformers optimised with the MMFF94 force field",
    "gfn2": "GFN2-xTB tight binding (tblite), re-optimising the MMFF94 conformers",
    "b3lyp": "DFT B3LYP/6-31G(d) with density fitting (PySCF), optimised with geomeTRIC",
}

#: Version of the computation itself (sampling, selection, thresholds).  Part of every
#: cache key: bump it whenever a change would alter a computed number.
PIPELINE_VERSION: str = "2"  # 2: gfn2/b3lyp all-anti = extended, anchor H anti

#: 1 kcal/mol in eV (0.0433641...): MMFF94 energies come in kcal/mol.
KCAL_PER_MOL_EV: float = _c.kilo * _c.calorie / _c.N_A / _c.e
#: 1 hartree in eV (27.2114...): GFN2-xTB and PySCF energies come in hartree.
HARTREE_EV: float = _c.physical_constants["Hartree energy in eV"][0]


class CorruptRecord(ValueError):
    """A stored record that does not pass validation (the caller recomputes it)."""


def _finite(x: Any, what: str, *, positive: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CorruptRecord(f"{what} is not a number: {x!r}")
    x = float(x)
    if not math.isfinite(x):
        raise CorruptRecord(f"{what} is not finite")
    if positive and not x > 0:
        raise CorruptRecord(f"{what} must be positive, got {x}")
    return x


def _text(x: Any, what: str) -> str:
    if not isinstance(x, str) or not x:
        raise CorruptRecord(f"{what} is missing or not text")
    return x


@dataclass(frozen=True)
class LevelData:
    """The conformers of one linker at one level of theory.

    Attributes
    ----------
    smiles : str
        Canonical SMILES of the molecule.
    key_smiles : str
        Canonical SMILES with the two anchoring atoms marked ``:1``.
    method : str
        ``"mmff"``, ``"gfn2"`` or ``"b3lyp"``.
    anchor_elements : tuple of str
        Elements of the two anchoring atoms (``("S", "S")`` for a dithiol).
    anchor_atoms : tuple of int
        Their indices among the heavy atoms of ``smiles``, 0-based, in the order the
        canonical SMILES writes them.
    chain_torsions : int
        Number of rotatable sp3-sp3 bonds on the shortest path between the anchors
        (the torsions that are 180 deg in the all-anti conformer; with none, the
        all-anti conformer is the lowest-energy one).
    anti_ss_distance_nm : float
        Anchor-anchor distance of the extended all-anti conformer [nm].
    anti_energy_eV : float
        Its energy at this level [eV] (the level's own zero of energy).
    lowest_ss_distance_nm : float
        Anchor-anchor distance of the lowest-energy conformer found [nm].
    lowest_energy_eV : float
        Its energy [eV].
    ensemble_energy_meV : tuple of float
        Energies of the distinct minima found, relative to the lowest [meV], ascending.
    ensemble_ss_distance_nm : tuple of float
        Their anchor-anchor distances [nm].
    n_sampled : int
        Starting structures optimised (before removing duplicates).
    software : str
        Program versions that produced the numbers.
    computed_on : str
        ISO date of the computation.
    pipeline_version : str
        :data:`PIPELINE_VERSION` of the code that computed it.
    settings : dict
        Sampling and convergence settings (seed, counts, thresholds).
    wall_s : float
        Wall time of the computation [s].
    warnings : tuple of str
        Anything doubtful about the computation.
    """

    smiles: str
    key_smiles: str
    method: str
    anchor_elements: tuple[str, str]
    anchor_atoms: tuple[int, int]
    chain_torsions: int
    anti_ss_distance_nm: float
    anti_energy_eV: float
    lowest_ss_distance_nm: float
    lowest_energy_eV: float
    ensemble_energy_meV: tuple[float, ...]
    ensemble_ss_distance_nm: tuple[float, ...]
    n_sampled: int
    software: str
    computed_on: str
    pipeline_version: str = PIPELINE_VERSION
    settings: dict = field(default_factory=dict, compare=False)
    wall_s: float = 0.0
    warnings: tuple[str, ...] = ()

    @property
    def anti_relative_energy_meV(self) -> float:
        """Energy of the all-anti conformer above the lowest one found [meV] (>= 0)."""
        return (self.anti_energy_eV - self.lowest_energy_eV) * 1e3

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (what the table and the cache store)."""
        return {
            "smiles": self.smiles,
            "key_smiles": self.key_smiles,
            "method": self.method,
            "anchor_elements": list(self.anchor_elements),
            "anchor_atoms": list(self.anchor_atoms),
            "chain_torsions": self.chain_torsions,
            "anti_ss_distance_nm": self.anti_ss_distance_nm,
            "anti_energy_eV": self.anti_energy_eV,
            "lowest_ss_distance_nm": self.lowest_ss_distance_nm,
            "lowest_energy_eV": self.lowest_energy_eV,
            "ensemble_energy_meV": list(self.ensemble_energy_meV),
            "ensemble_ss_distance_nm": list(self.ensemble_ss_distance_nm),
            "n_sampled": self.n_sampled,
            "software": self.software,
            "computed_on": self.computed_on,
            "pipeline_version": self.pipeline_version,
            "settings": dict(self.settings),
            "wall_s": self.wall_s,
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: Any) -> LevelData:
        """Rebuild and validate a stored record; raises :class:`CorruptRecord`."""
        if not isinstance(d, dict):
            raise CorruptRecord("record is not an object")
        try:
            method = _text(d["method"], "method")
            if method not in METHODS:
                raise CorruptRecord(f"unknown method {method!r}")
            elements = d["anchor_elements"]
            atoms = d["anchor_atoms"]
            if not (isinstance(elements, list) and len(elements) == 2):
                raise CorruptRecord("anchor_elements must hold two symbols")
            if not (
                isinstance(atoms, list)
                and len(atoms) == 2
                and all(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in atoms)
            ):
                raise CorruptRecord("anchor_atoms must hold two indices")
            energies = d["ensemble_energy_meV"]
            dists = d["ensemble_ss_distance_nm"]
            if (
                not (isinstance(energies, list) and isinstance(dists, list))
                or not energies
                or len(energies) != len(dists)
            ):
                raise CorruptRecord("ensemble lists are missing, empty or of different lengths")
            energies_t = tuple(_finite(e, "ensemble energy") for e in energies)
            dists_t = tuple(_finite(x, "ensemble distance", positive=True) for x in dists)
            if min(energies_t) < -1e-6 or any(
                b < a - 1e-9 for a, b in zip(energies_t, energies_t[1:])
            ):
                raise CorruptRecord("ensemble energies must be >= 0 and ascending")
            settings = d.get("settings") or {}
            warns = d.get("warnings", [])
            if not isinstance(settings, dict) or not isinstance(warns, list):
                raise CorruptRecord("settings must be an object and warnings a list")
            chain = d["chain_torsions"]
            n_sampled = d["n_sampled"]
            for name, v in (("chain_torsions", chain), ("n_sampled", n_sampled)):
                if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                    raise CorruptRecord(f"{name} must be a non-negative integer")
            rec = cls(
                smiles=_text(d["smiles"], "smiles"),
                key_smiles=_text(d["key_smiles"], "key_smiles"),
                method=method,
                anchor_elements=(
                    _text(elements[0], "anchor element"),
                    _text(elements[1], "anchor element"),
                ),
                anchor_atoms=(atoms[0], atoms[1]),
                chain_torsions=chain,
                anti_ss_distance_nm=_finite(
                    d["anti_ss_distance_nm"], "anti_ss_distance_nm", positive=True
                ),
                anti_energy_eV=_finite(d["anti_energy_eV"], "anti_energy_eV"),
                lowest_ss_distance_nm=_finite(
                    d["lowest_ss_distance_nm"], "lowest_ss_distance_nm", positive=True
                ),
                lowest_energy_eV=_finite(d["lowest_energy_eV"], "lowest_energy_eV"),
                ensemble_energy_meV=energies_t,
                ensemble_ss_distance_nm=dists_t,
                n_sampled=n_sampled,
                software=_text(d["software"], "software"),
                computed_on=_text(d["computed_on"], "computed_on"),
                pipeline_version=_text(d["pipeline_version"], "pipeline_version"),
                settings=dict(settings),
                wall_s=_finite(d.get("wall_s", 0.0), "wall_s"),
                warnings=tuple(str(w) for w in warns),
            )
        except KeyError as exc:
            raise CorruptRecord(f"field {exc.args[0]!r} is missing") from None
        if rec.anti_energy_eV < rec.lowest_energy_eV - 1e-9:
            raise CorruptRecord("the all-anti conformer lies below the lowest one")
        for x in (rec.anti_ss_distance_nm, rec.lowest_ss_distance_nm, *rec.ensemble_ss_distance_nm):
            if x > 100:
                raise CorruptRecord(f"implausible distance {x} nm")
        return rec
