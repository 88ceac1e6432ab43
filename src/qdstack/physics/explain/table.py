"""Shift tables: measured first-peak shifts with their conditions (:class:`ShiftTable`, :func:`make_table`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import InputError, QdstackError
from qdstack.physics.explain.base import Conditions

__all__ = ["ShiftTable", "make_table"]


@dataclass(frozen=True)
class ShiftTable:
    """Measured first-peak shifts of N-layer films relative to their monolayer.

    Attributes
    ----------
    conditions : Conditions
        Gap, N and temperature of every row.
    shift_meV, shift_meV_err : ndarray
    labels : tuple of str
        The linker of each row (or ``"gap 0.55 nm"``).
    source : str
        The file (for error messages).
    extra : dict
        Columns read but not used by any mechanism (e.g. lifetimes).
    """

    conditions: Conditions
    shift_meV: np.ndarray
    shift_meV_err: np.ndarray
    labels: tuple[str, ...]
    source: str = "table"
    extra: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        y = np.asarray(self.shift_meV, dtype=float)
        e = np.asarray(self.shift_meV_err, dtype=float)
        if y.shape != (len(self.conditions),) or e.shape != y.shape:
            raise InputError("one shift and one error per row", self.source)
        if not np.all(np.isfinite(y)):
            raise InputError("the shifts must be finite numbers of meV", self.source)
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            raise InputError("the shift errors must be positive numbers of meV", self.source)
        if np.any(self.conditions.layers < 2):
            raise InputError(
                "every row needs N >= 2 layers (the shift of N = 1 is zero by definition)",
                self.source,
            )
        if not np.all(self.conditions.gap_nm > 0):
            raise InputError("every gap must be a positive length", self.source)
        object.__setattr__(self, "shift_meV", y)
        object.__setattr__(self, "shift_meV_err", e)

    def __len__(self) -> int:
        return len(self.conditions)

    def rows(self) -> list[dict]:
        c = self.conditions
        return [
            {
                "linker": lab,
                "gap_nm": float(g),
                "layers": int(n),
                "temperature_K": float(t),
                "shift_meV": float(y),
                "shift_meV_err": float(e),
            }
            for lab, g, n, t, y, e in zip(
                self.labels, c.gap_nm, c.layers, c.temperature_K, self.shift_meV, self.shift_meV_err
            )
        ]


def make_table(
    layers,
    shift_meV,
    shift_meV_err=None,
    *,
    linker=None,
    gap_nm=None,
    temperature_K=None,
    default_err_meV: float = 2.0,
    source: str = "table",
    extra: dict | None = None,
    gap_method: str = "mmff",
    period_nm=None,
    edge_nm: float = 6.8,
) -> ShiftTable:
    """Build a :class:`ShiftTable` from columns; linker names become gaps through the linker library.

    Parameters
    ----------
    layers, shift_meV : sequence
    shift_meV_err : sequence, optional
        NaN or missing entries take ``default_err_meV``.
    linker : sequence of str, optional
        Library names (``linker_gap_nm``: the S-S distance of the all-anti conformer).
    gap_nm : sequence of float, optional
        Gaps given directly (used where ``linker`` is absent or empty).
    temperature_K : sequence, optional
        Default: the parameter set's temperature (295 K).
    period_nm : sequence, optional
        Measured out-of-plane XRD periods: where given, the gap is ``period - edge_nm``
        (what the stacking leaves between the faces) instead of the linker's S-S distance.

    Raises
    ------
    InputError
        Unknown linker (naming it), rows with neither linker nor gap, bad numbers.
    """
    from qdstack.linkers import get_linker, linker_gap_nm

    n = len(layers)
    lay = np.asarray(layers, dtype=float)
    if not np.all(np.isfinite(lay)) or np.any(lay != np.round(lay)):
        raise InputError("layers must be whole numbers", source)
    gaps, labels = np.empty(n), []
    known: dict[str, tuple[float, str]] = {}
    for i in range(n):
        name = None if linker is None else linker[i]
        name = (
            None
            if name is None or (isinstance(name, float) and math.isnan(name))
            else str(name).strip()
        )
        period = math.nan if period_nm is None else float(period_nm[i])
        if math.isfinite(period):
            g = period - float(edge_nm)
            if not g > 0:
                raise InputError(
                    f"row {i + 1}: the XRD period {period:g} nm does not exceed the edge "
                    f"{edge_nm:g} nm",
                    source,
                )
            gaps[i] = g
            labels.append(f"{name} (XRD)" if name else f"period {period:g} nm")
        elif name:
            if name not in known:
                try:
                    geom = get_linker(name, method=gap_method)
                except QdstackError as exc:
                    raise InputError(
                        f"row {i + 1}: {name!r}: {getattr(exc, 'message', exc)}", source
                    ) from None
                known[name] = (float(linker_gap_nm(geom)), geom.name)
            gaps[i], lab = known[name]
            labels.append(lab)
        else:
            g = math.nan if gap_nm is None else float(gap_nm[i])
            if not (math.isfinite(g) and g > 0):
                raise InputError(f"row {i + 1}: neither a linker nor a positive gap_nm", source)
            gaps[i] = g
            labels.append(f"gap {g:g} nm")
    err = (
        np.full(n, float(default_err_meV))
        if shift_meV_err is None
        else np.asarray(shift_meV_err, float)
    )
    err = np.where(np.isfinite(err), err, default_err_meV)
    if temperature_K is None:
        from qdstack.physics.film_model import load_parameter_set

        temperature_K = np.full(n, load_parameter_set("enomoto2024").temperature_K)
    temps = np.asarray(temperature_K, dtype=float)
    if not (np.all(np.isfinite(temps)) and np.all(temps > 0)):
        raise InputError("temperatures must be positive numbers of K", source)
    cond = Conditions(gaps, lay.astype(int), temps)
    return ShiftTable(
        cond, np.asarray(shift_meV, dtype=float), err, tuple(labels), source, dict(extra or {})
    )
