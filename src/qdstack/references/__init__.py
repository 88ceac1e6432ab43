"""The numbers of reference studies, one copy each (``<name>.toml`` beside this module).

A reference file lists every number of a paper that qdstack uses (as a model
input or to compare with): its value as stated, the stated uncertainty or
``"not stated"``, the unit, the physical quantity it measures and where in the
paper it is.  Parameter-set generation, calibration, ``qdstack reproduce`` and
the plots read it through :func:`load_reference`; nothing else holds a copy.

The file is validated with pydantic; an error names the file, the line and
the key (as study manifests do)::

    [reference]
    id = "enomoto2024"
    citation = "..."

    [[number]]
    id = "shift_N8_C3DT_meV"          # unique; the key everything else uses
    value = -44.0                      # or range = [lo, hi] (value = the middle)
    uncertainty = "not stated"         # or a number in the same unit
    unit = "meV"
    quantity = "first-peak shift N = 8 vs N = 1, C3DT"   # what it measures (sample included)
    where = "Results, Fig. 3 paragraph; Fig. 3d"

This module sits at the bottom of the import graph (it imports only the
errors), so ``physics`` and ``study`` can both read it.
"""

from __future__ import annotations

import math
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qdstack.errors import InputError

__all__ = [
    "Number",
    "Reference",
    "ReferenceFileError",
    "load_reference",
    "parse_reference",
    "available_references",
]

HERE = Path(__file__).resolve().parent


class ReferenceFileError(InputError):
    """A reference file that cannot be read or does not follow the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Number(_Strict):
    """One number stated in a paper.

    Attributes
    ----------
    id : str
    value : float
        As stated (the middle of ``range`` when the paper gives a range).
    range : (float, float) or None
    uncertainty : float or "not stated"
    uncertainty_means : str
        What the uncertainty is (a spread, an error of the mean, a range, ...).
    unit, quantity, where : str
    """

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    value: float | None = None
    range: tuple[float, float] | None = None
    uncertainty: float | Literal["not stated"]
    uncertainty_means: str = ""
    unit: str
    quantity: str = Field(min_length=1)
    where: str = Field(min_length=1)

    @model_validator(mode="after")
    def _value_or_range(self):
        if (self.value is None) == (self.range is None):
            raise ValueError("give exactly one of value or range")
        if self.range is not None:
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError("range must be two finite numbers, low < high")
            object.__setattr__(self, "value", 0.5 * (lo + hi))
        elif not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        if isinstance(self.uncertainty, float) and not (
            self.uncertainty >= 0 and math.isfinite(self.uncertainty)
        ):
            raise ValueError("uncertainty must be a non-negative number or 'not stated'")
        return self

    @property
    def stated_uncertainty(self) -> float | None:
        """The stated uncertainty, or None where the paper gives none."""
        return None if self.uncertainty == "not stated" else float(self.uncertainty)

    @property
    def half_range(self) -> float | None:
        return None if self.range is None else 0.5 * (self.range[1] - self.range[0])

    @property
    def last_digit_half(self) -> float:
        """Half a unit of the last digit the paper quotes (0.82 -> 0.005): the precision of the value as written."""
        text = repr(float(self.value))
        if "e" in text or "." not in text:
            return 0.5
        decimals = len(text.split(".")[1].rstrip("0")) or 0
        return 0.5 * 10.0 ** (-decimals)

    def to_dict(self) -> dict:
        return self.model_dump()


class _Head(_Strict):
    id: str
    citation: str
    title: str = ""


class Reference(_Strict):
    """A reference study: its citation and its numbers by id."""

    reference: _Head
    number: list[Number]

    @model_validator(mode="after")
    def _unique(self):
        seen = set()
        for n in self.number:
            if n.id in seen:
                raise ValueError(f"number id {n.id!r} appears twice")
            seen.add(n.id)
        return self

    @property
    def id(self) -> str:
        return self.reference.id

    @property
    def citation(self) -> str:
        return self.reference.citation

    def __getitem__(self, key: str) -> Number:
        for n in self.number:
            if n.id == key:
                return n
        raise KeyError(f"{self.reference.id} states no number {key!r}")

    def __contains__(self, key: str) -> bool:
        return any(n.id == key for n in self.number)

    def value(self, key: str) -> float:
        """The stated value of number ``key``."""
        return float(self[key].value)

    @property
    def ids(self) -> list[str]:
        return [n.id for n in self.number]


def _line_of(text: str, loc: tuple) -> int | None:
    lines = text.splitlines()
    parts = list(loc)
    start, stop = 0, len(lines)
    if parts and parts[0] == "number" and len(parts) > 1 and isinstance(parts[1], int):
        heads = [i for i, ln in enumerate(lines) if re.match(r"\s*\[\[\s*number\s*\]\]", ln)]
        if parts[1] < len(heads):
            start = heads[parts[1]]
            later = [i for i in heads if i > start]
            stop = later[0] if later else len(lines)
        parts = parts[2:]
    key = next((p for p in parts if isinstance(p, str)), None)
    if key is not None:
        for i in range(start, stop):
            if re.match(rf"\s*{re.escape(key)}\s*=", lines[i]):
                return i + 1
    return start + 1 if loc else None


def parse_reference(text: str, source: str = "<reference>") -> Reference:
    """Parse and validate the text of a reference file.

    Raises
    ------
    ReferenceFileError
        TOML syntax error or schema violation: ``line L: number[k].key: what``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceFileError(f"not valid TOML: {exc}", source) from None
    try:
        return Reference.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(
            p
            for p in err["loc"]
            if not (isinstance(p, str) and (p in ("float", "int", "str", "tuple") or "[" in p))
        )
        line = _line_of(text, loc)
        where = (
            "".join(
                f"[{p + 1}]" if isinstance(p, int) else ("." if i else "") + str(p)
                for i, p in enumerate(loc)
            )
            or "file"
        )
        msg = err["msg"].removeprefix("Value error, ")
        if loc and loc[-1] == "uncertainty":
            msg = "must be a number or 'not stated'"
        raise ReferenceFileError(
            f"{'line %d: ' % line if line else ''}{where}: {msg}", source
        ) from None


def available_references() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml"))


@lru_cache(maxsize=8)
def load_reference(name: str = "enomoto2024") -> Reference:
    """The numbers of reference study ``name`` (a file ``<name>.toml`` here, or a path).

    Raises
    ------
    ReferenceFileError
        Unknown name, unreadable file or schema error (with the line).
    """
    path = Path(name) if name.endswith(".toml") else HERE / f"{name}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(available_references())
        raise ReferenceFileError(f"no reference file (known: {known})", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceFileError(f"cannot read the reference file ({exc})", str(path)) from None
    return parse_reference(text, str(path))
