"""The built-in linkers: names, aliases, SMILES, and the shipped table of their geometries.

The eight dithiols of the reference study (Enomoto et al., *Chem. Sci.* 2024)
are defined here; their geometries at each level were computed by qdstack's own
pipeline and are shipped in ``data/builtin_linkers.json``, written by
``python -m qdstack.linkers.regenerate`` (see :mod:`qdstack.linkers.regenerate`).
Reading that table needs no RDKit, so a built-in lookup is instant.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

from ._data import METHODS, CorruptRecord, LevelData

__all__ = [
    "LinkerDefinition",
    "BuiltinLinker",
    "DEFINITIONS",
    "TABLE_FORMAT",
    "table_path",
    "builtin_linkers",
    "find_builtin",
    "find_definition",
    "normalise_name",
]

#: Identifies the table file format.
TABLE_FORMAT: str = "qdstack-linker-table/1"


@dataclass(frozen=True)
class LinkerDefinition:
    """A built-in linker as defined in code (what the table is computed from)."""

    name: str
    description: str
    smiles: str
    aliases: tuple[str, ...]
    paper_ss_distance_nm: float | None = None


def _paper_ss_nm(linker: str) -> float | None:
    """The S-S distance the reference study quotes for a linker (qdstack.references; None if it quotes none)."""
    from qdstack.references import load_reference

    ref = load_reference("enomoto2024")
    key = f"ss_{linker}_nm"
    return ref.value(key) if key in ref else None


#: The linkers of the reference study.  Paper distances (B3LYP/6-31G(d) S-S distances quoted in the
#: text for C3DT and C10DT; the others are only plotted in Fig. 4) come from qdstack.references.
DEFINITIONS: tuple[LinkerDefinition, ...] = (
    LinkerDefinition(
        "C2DT",
        "1,2-ethanedithiol",
        "SCCS",
        ("1,2-ethanedithiol", "ethane-1,2-dithiol", "ethanedithiol", "EDT"),
    ),
    LinkerDefinition(
        "C3DT",
        "1,3-propanedithiol",
        "SCCCS",
        ("1,3-propanedithiol", "propane-1,3-dithiol", "1,3-propane dithiol", "propanedithiol"),
        _paper_ss_nm("C3DT"),
    ),
    LinkerDefinition(
        "C4DT",
        "1,4-butanedithiol",
        "SCCCCS",
        ("1,4-butanedithiol", "butane-1,4-dithiol", "butanedithiol"),
    ),
    LinkerDefinition(
        "C5DT",
        "1,5-pentanedithiol",
        "SCCCCCS",
        ("1,5-pentanedithiol", "pentane-1,5-dithiol", "pentanedithiol"),
    ),
    LinkerDefinition(
        "C6DT",
        "1,6-hexanedithiol",
        "SCCCCCCS",
        ("1,6-hexanedithiol", "hexane-1,6-dithiol", "hexanedithiol", "HDT"),
    ),
    LinkerDefinition(
        "C10DT",
        "1,10-decanedithiol",
        "SCCCCCCCCCCS",
        ("1,10-decanedithiol", "decane-1,10-dithiol", "decanedithiol"),
        _paper_ss_nm("C10DT"),
    ),
    LinkerDefinition(
        "BDT",
        "1,4-benzenedithiol",
        "Sc1ccc(S)cc1",
        ("1,4-benzenedithiol", "benzene-1,4-dithiol", "p-benzenedithiol"),
    ),
    LinkerDefinition(
        "BPDT",
        "4,4'-biphenyldithiol",
        "Sc1ccc(-c2ccc(S)cc2)cc1",
        (
            "4,4'-biphenyldithiol",
            "biphenyl-4,4'-dithiol",
            "[1,1'-biphenyl]-4,4'-dithiol",
            "4,4'-dimercaptobiphenyl",
        ),
    ),
)


def normalise_name(text: str) -> str:
    """Case-, space- and punctuation-insensitive form of a linker name.

    ``"1,3-Propane dithiol"``, ``"1,3-propanedithiol"`` -> ``"13propanedithiol"``.
    """
    return re.sub(r"[\s,\-'\u2019\u2032\[\]()_.]+", "", text.strip().lower())


@dataclass(frozen=True)
class BuiltinLinker:
    """A built-in linker with its shipped geometries.

    Attributes
    ----------
    name : str
        Short name used in the reference study (``"C3DT"``).
    description : str
        Full chemical name.
    smiles : str
        SMILES as defined (canonical RDKit SMILES).
    aliases : tuple of str
        Other accepted names (matched ignoring case, spaces and punctuation).
    paper_ss_distance_nm : float or None
        S-S distance the reference study states (B3LYP/6-31G(d)) [nm].
    levels : mapping of method -> LevelData or None
        The shipped record of each level; None where it was not computed.
    missing : mapping of method -> str
        Why a level is None.
    """

    name: str
    description: str
    smiles: str
    aliases: tuple[str, ...]
    paper_ss_distance_nm: float | None
    levels: Mapping[str, LevelData | None] = field(compare=False)
    missing: Mapping[str, str] = field(compare=False)

    def ss_distance_nm(self, method: str = "mmff") -> float | None:
        """All-anti S-S distance at ``method`` [nm], or None when not in the table."""
        level = self.levels.get(method)
        return None if level is None else level.anti_ss_distance_nm

    def to_dict(self) -> dict[str, Any]:
        """JSON object of ``qdstack linker --list``."""
        return {
            "name": self.name,
            "description": self.description,
            "smiles": self.smiles,
            "aliases": list(self.aliases),
            "conformer": "anti",
            "ss_distance_nm": {m: self.ss_distance_nm(m) for m in METHODS},
            "lowest_ss_distance_nm": {
                m: (None if self.levels.get(m) is None else self.levels[m].lowest_ss_distance_nm)
                for m in METHODS
            },
            "paper_ss_distance_nm": self.paper_ss_distance_nm,
            "software": {
                m: (None if self.levels.get(m) is None else self.levels[m].software)
                for m in METHODS
            },
            "computed_on": {
                m: (None if self.levels.get(m) is None else self.levels[m].computed_on)
                for m in METHODS
            },
            "missing": dict(self.missing),
        }


def table_path():
    """Location of the shipped table (a :mod:`importlib.resources` traversable)."""
    return resources.files("qdstack.linkers").joinpath("data", "builtin_linkers.json")


def _parse_table(raw: Any) -> dict[str, tuple[dict[str, LevelData | None], dict[str, str]]]:
    if not isinstance(raw, dict) or raw.get("format") != TABLE_FORMAT:
        raise CorruptRecord(f"not a {TABLE_FORMAT} table")
    out = {}
    for entry in raw.get("linkers", []):
        levels: dict[str, LevelData | None] = {}
        missing: dict[str, str] = {}
        for m in METHODS:
            rec = entry.get("levels", {}).get(m)
            if rec is None:
                levels[m] = None
                missing[m] = str(entry.get("missing", {}).get(m, "not computed"))
            else:
                try:
                    levels[m] = LevelData.from_dict(rec)
                except CorruptRecord as exc:
                    raise CorruptRecord(f"{entry.get('name')}/{m}: {exc}") from None
        out[entry["name"]] = (levels, missing)
    return out


@functools.lru_cache(maxsize=1)
def _load() -> tuple[BuiltinLinker, ...]:
    try:
        raw = json.loads(table_path().read_text(encoding="utf-8"))
        parsed = _parse_table(raw)
    except (OSError, ValueError) as exc:  # a broken installation: a bug, not a user error
        raise RuntimeError(
            f"the shipped linker table {table_path()} cannot be read: {exc}"
        ) from exc
    out = []
    for d in DEFINITIONS:
        levels, missing = parsed.get(
            d.name, ({m: None for m in METHODS}, {m: "not in the shipped table" for m in METHODS})
        )
        out.append(
            BuiltinLinker(
                name=d.name,
                description=d.description,
                smiles=d.smiles,
                aliases=d.aliases,
                paper_ss_distance_nm=d.paper_ss_distance_nm,
                levels=MappingProxyType(dict(levels)),
                missing=MappingProxyType(dict(missing)),
            )
        )
    return tuple(out)


def builtin_linkers() -> list[BuiltinLinker]:
    """The built-in linkers (C2DT ... C10DT, BDT, BPDT) with their shipped geometries."""
    return list(_load())


def find_definition(text: str) -> LinkerDefinition | None:
    """The built-in definition called ``text`` (name, alias, or its exact SMILES), else None."""
    key = normalise_name(text)
    stripped = text.strip()
    for d in DEFINITIONS:
        if key == normalise_name(d.name) or any(key == normalise_name(a) for a in d.aliases):
            return d
        if stripped == d.smiles:
            return d
    return None


def find_builtin(text: str) -> BuiltinLinker | None:
    """The built-in linker called ``text`` (name, alias, or its exact SMILES), else None."""
    d = find_definition(text)
    if d is None:
        return None
    return next(b for b in _load() if b.name == d.name)
