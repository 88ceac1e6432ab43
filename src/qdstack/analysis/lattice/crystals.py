"""Crystal cells and their plane spacings: :class:`Crystal`, :data:`CRYSTALS`, :func:`parse_crystal`.

Plane spacings of orthogonal cells, ``1/d^2 = h^2/a^2 + k^2/b^2 + l^2/c^2``, with each
cell's reflection conditions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from itertools import product

from qdstack.errors import OptionError


@dataclass(frozen=True)
class Crystal:
    """An orthogonal unit cell and its reflection conditions.

    Attributes
    ----------
    name : str
    a_nm, b_nm, c_nm : float
        Lattice constants [nm].
    system : str
        ``"cubic"``, ``"tetragonal"`` or ``"orthorhombic"``.
    conditions : str
        ``"P"`` (every hkl) or ``"Pnma"`` (0kl: k+l even; hk0: h even; h00, 0k0, 00l: even).
    source : str
        Where the constants come from.
    """

    name: str
    a_nm: float
    b_nm: float
    c_nm: float
    system: str
    conditions: str
    source: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "a_nm": self.a_nm,
            "b_nm": self.b_nm,
            "c_nm": self.c_nm,
            "system": self.system,
            "conditions": self.conditions,
            "source": self.source,
        }


CRYSTALS: dict[str, Crystal] = {
    "cspbbr3": Crystal(
        "CsPbBr3 (cubic)",
        0.5874,
        0.5874,
        0.5874,
        "cubic",
        "P",
        "cubic Pm-3m perovskite, a = 5.874 A (Cottingham & Brutchey, Chem. Commun. 2016, 52, 5246; "
        "the (100) spacing 0.58 nm of Enomoto et al., Chem. Sci. 2024, Fig. S1b)",
    ),
    "cspbbr3-ortho": Crystal(
        "CsPbBr3 (orthorhombic)",
        0.8244,
        1.1735,
        0.8198,
        "orthorhombic",
        "Pnma",
        "orthorhombic Pnma, a = 8.244, b = 11.735, c = 8.198 A at room temperature "
        "(Stoumpos et al., Cryst. Growth Des. 2013, 13, 2722)",
    ),
    "srtio3": Crystal(
        "SrTiO3",
        0.3905,
        0.3905,
        0.3905,
        "cubic",
        "P",
        "cubic Pm-3m perovskite, a = 3.905 A at room temperature (e.g. Okazaki & Kawaminami, "
        "Mater. Res. Bull. 1973, 8, 545)",
    ),
}


def parse_crystal(text: str | None, option: str = "--crystal") -> Crystal | None:
    """A named crystal (``CsPbBr3``, ``CsPbBr3-ortho``, ``SrTiO3``) or a cell ``a=0.59[,b=..,c=..]`` (nm)."""
    if text is None:
        return None
    key = text.strip().lower().replace("_", "-").replace(" ", "")
    if key in CRYSTALS:
        return CRYSTALS[key]
    if key in ("cspbbr3-cubic",):
        return CRYSTALS["cspbbr3"]
    if key in ("cspbbr3-orthorhombic", "cspbbr3-pnma"):
        return CRYSTALS["cspbbr3-ortho"]
    if "=" in key:
        values = {}
        for part in [p for p in re.split(r"[,;]", key) if p]:
            m = re.fullmatch(r"([abc])=([0-9.eE+-]+)(nm)?", part)
            if not m:
                raise OptionError(
                    f"cannot read {part!r}; write a=0.59 or a=0.82,b=1.17,c=0.82 (nm)", option
                )
            try:
                v = float(m.group(2))
            except ValueError:
                raise OptionError(f"{m.group(2)!r} is not a number", option) from None
            if not (math.isfinite(v) and 0.05 < v < 20):
                raise OptionError(
                    f"lattice constant {m.group(1)} = {v} nm is out of range (0.05-20 nm)", option
                )
            values[m.group(1)] = v
        if "a" not in values:
            raise OptionError("a user cell needs at least a=... (nm)", option)
        a = values["a"]
        b = values.get("b", a)
        c = values.get("c", a)
        system = (
            "cubic"
            if a == b == c
            else ("tetragonal" if a == b or b == c or a == c else "orthorhombic")
        )
        return Crystal(
            f"cell a={a:g}, b={b:g}, c={c:g} nm", a, b, c, system, "P", "given by the user"
        )
    names = ", ".join(["CsPbBr3", "CsPbBr3-ortho", "SrTiO3"])
    raise OptionError(f"unknown crystal {text!r}; use {names} or a cell like a=0.5874 (nm)", option)


def _allowed(h, k, m, conditions):
    if conditions != "Pnma":
        return True
    if h == 0 and (k + m) % 2:
        return False
    if m == 0 and h % 2:
        return False
    if k == 0 and m == 0 and h % 2:
        return False
    if h == 0 and m == 0 and k % 2:
        return False
    if h == 0 and k == 0 and m % 2:
        return False
    return True


def plane_spacings(crystal: Crystal, d_min_nm: float, max_index: int = 4) -> list[dict]:
    """Distinct plane spacings ``d >= d_min_nm`` of ``crystal``, largest first.

    Families with spacings within 0.3 % of each other are merged into one entry
    whose label lists them, e.g. ``"(101)/(020)"``.  Labels use the smallest
    non-negative indices of each family (cubic: sorted h >= k >= l).
    """
    planes = {}
    for h, k, m in product(range(max_index + 1), repeat=3):
        if h == k == m == 0 or not _allowed(h, k, m, crystal.conditions):
            continue
        inv = h * h / crystal.a_nm**2 + k * k / crystal.b_nm**2 + m * m / crystal.c_nm**2
        d = 1.0 / math.sqrt(inv)
        if d < d_min_nm:
            continue
        key = tuple(sorted((h, k, m), reverse=True)) if crystal.system == "cubic" else (h, k, m)
        planes.setdefault(key, d)
    items = sorted(planes.items(), key=lambda kv: -kv[1])
    merged: list[dict] = []
    for hkl, d in items:
        label = "(" + "".join(str(i) for i in hkl) + ")"
        if merged and abs(merged[-1]["d_nm"] - d) <= 0.003 * d:
            if label not in merged[-1]["hkl"].split("/") and len(merged[-1]["hkl"].split("/")) < 3:
                merged[-1]["hkl"] += "/" + label
            continue
        merged.append({"hkl": label, "d_nm": d})
    return merged
