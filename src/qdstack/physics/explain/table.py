"""Shift tables: measured first-peak shifts with their conditions.

:class:`ShiftTable` holds them; :func:`make_table` builds one from columns,
:func:`read_shift_table` from a CSV or a ``results.json`` of ``qdstack absorption``
or ``qdstack study run`` (what ``qdstack explain TABLE`` reads).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError, InputError, OptionError, QdstackError
from qdstack.physics.explain.base import Conditions

__all__ = ["ShiftTable", "make_table", "read_shift_table"]


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


# ----------------------------------------------------------------------------- files


def read_shift_table(
    path: Path,
    default_err: float = 2.0,
    *,
    linker: str | None = None,
    gap_nm: float | None = None,
    edge_nm: float = 6.8,
):
    """Read a shift table: a CSV, or the ``results.json`` of ``qdstack absorption`` or ``qdstack study run``.

    What ``qdstack explain TABLE`` reads (the columns are described on its guide page:
    ``linker`` or ``gap_nm`` or ``period_nm``, ``layers``, ``shift_meV``, optional
    ``shift_meV_err``, ``temperature_K``, ``lifetime_ns``). Rows with N = 1 are left out
    with a warning (their shift is zero by definition).

    Parameters
    ----------
    path : str or Path
    default_err : float
        Error [meV] of shifts given without one.
    linker, gap_nm : optional
        The linker (library name) or gap [nm] of an absorption ``results.json``, which names none.
    edge_nm : float
        Mean dot edge [nm]; the gap of a row with ``period_nm`` is ``period_nm - edge_nm``.

    Returns
    -------
    ShiftTable

    Raises
    ------
    FileFormatError
        A missing column, a value that is not a number, an unknown linker, N not a whole number.
    OptionError
        ``linker``/``gap_nm`` with a CSV, or an absorption ``results.json`` without them.

    Examples
    --------
    >>> from qdstack.physics.explain import read_shift_table
    >>> table = read_shift_table(EXAMPLES / "explain" / "enomoto2024_shifts.csv")
    >>> [(r["linker"], r["layers"], r["shift_meV"]) for r in table.rows()]
    [('C3DT', 8, -44.0), ('C10DT', 8, -14.2)]
    """
    from qdstack.errors import InputError, QdstackError

    src = str(path)
    p = Path(path)
    if p.suffix.lower() == ".json":
        return _from_json(p, default_err, linker, gap_nm)
    if linker is not None or gap_nm is not None:
        raise OptionError(
            "--linker/--gap-nm apply to an absorption results.json only; a CSV names its linker",
            "--linker" if linker is not None else "--gap-nm",
        )
    from qdstack.io.columns import read_columns

    cols = read_columns(
        path,
        required=("layers", "shift_meV"),
        optional=("linker", "gap_nm", "period_nm", "shift_meV_err", "temperature_K", "lifetime_ns"),
        text_columns=(
            "linker",
            "gap_nm",
            "period_nm",
            "shift_meV_err",
            "temperature_K",
            "lifetime_ns",
        ),
    )
    if "linker" not in cols and "gap_nm" not in cols and "period_nm" not in cols:
        raise FileFormatError(
            "missing column linker or gap_nm (one of them names the linker of each row)", src
        )
    n = len(cols["layers"])
    layers = list(cols["layers"])
    shifts = list(cols["shift_meV"])

    def numbers(name, allow_blank=True):
        if name not in cols:
            return None
        out = []
        for i, v in enumerate(cols[name]):
            v = v.strip()
            if v == "":
                if not allow_blank:
                    raise FileFormatError(f"row {i + 1}: blank value in column {name}", src)
                out.append(math.nan)
                continue
            try:
                x = float(v)
            except ValueError:
                raise FileFormatError(
                    f"row {i + 1}: {v!r} in column {name} is not a number", src
                ) from None
            if not math.isfinite(x):
                raise FileFormatError(f"row {i + 1}: {v!r} in column {name} is not finite", src)
            out.append(x)
        return out

    gaps = numbers("gap_nm")
    periods = numbers("period_nm")
    errs = numbers("shift_meV_err")
    temps = numbers("temperature_K")
    life = numbers("lifetime_ns")
    links = cols.get("linker")
    if errs is not None and any(math.isfinite(e) and e <= 0 for e in errs):
        raise FileFormatError("shift_meV_err must be positive", src)
    if temps is not None:
        from qdstack.physics.film_model import load_parameter_set

        t0 = load_parameter_set("enomoto2024").temperature_K
        temps = [t0 if math.isnan(t) else t for t in temps]
    for i, nl in enumerate(layers):
        if not (nl == int(nl) and nl >= 1):
            raise FileFormatError(
                f"row {i + 1}: layers must be a whole number >= 1, got {nl:g}", src
            )
    keep = [i for i in range(n) if layers[i] >= 2]
    dropped = n - len(keep)
    if dropped:
        import warnings

        warnings.warn(
            f"{dropped} row(s) with N = 1 left out (the shift of the monolayer is zero by definition)",
            stacklevel=2,
        )
    if not keep:
        raise FileFormatError("no rows with N >= 2 layers", src)

    def sel(x):
        return None if x is None else [x[i] for i in keep]

    from qdstack.physics.explain import make_table

    try:
        return make_table(
            sel(layers),
            sel(shifts),
            sel(errs),
            linker=sel(links),
            gap_nm=sel(gaps),
            temperature_K=sel(temps),
            default_err_meV=default_err,
            source=src,
            extra={"lifetime_ns": sel(life)} if life is not None else None,
            period_nm=sel(periods),
            edge_nm=edge_nm,
        )
    except InputError as exc:
        raise FileFormatError(
            _row_message(exc.message if hasattr(exc, "message") else str(exc), keep), src
        ) from None
    except QdstackError:
        raise


def _row_message(msg: str, keep) -> str:
    import re

    m = re.match(r"row (\d+): (.*)", msg)
    if m:
        return f"row {keep[int(m.group(1)) - 1] + 1}: {m.group(2)}"
    return msg


def _from_json(p: Path, default_err, linker, gap_nm):
    from qdstack.errors import InputError
    from qdstack.physics.explain import make_table

    src = str(p)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError("no such file", src) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"not a readable JSON file ({exc})", src) from None
    series = []
    if isinstance(data, dict) and isinstance(data.get("analyses"), dict):  # study run
        for name, a in data["analyses"].items():
            if (
                isinstance(a, dict)
                and "spectra" in a
                and "shift_meV" in a
                and (a.get("linker") or a.get("gap_nm"))
            ):
                series.append((a.get("linker"), a.get("gap_nm"), a))
        if not series:
            raise FileFormatError("a study results.json without absorption series of films", src)
        if linker is not None or gap_nm is not None:
            raise OptionError(
                "a study results.json names its linkers; leave out --linker/--gap-nm", "--linker"
            )
    elif isinstance(data, dict) and "spectra" in data and "shift_meV" in data:  # qdstack absorption
        if (linker is None) == (gap_nm is None):
            raise OptionError(
                "an absorption results.json has no linker: give --linker NAME or --gap-nm D",
                "--linker",
            )
        series.append((linker, gap_nm, data))
    else:
        raise FileFormatError("neither a qdstack absorption nor a study run results.json", src)
    layers, shifts, errs, links, gaps = [], [], [], [], []
    for lk, g, a in series:
        spectra = a["spectra"]
        sh = a["shift_meV"]
        er = a.get("shift_meV_err") or [None] * len(sh)
        if not (
            isinstance(spectra, list)
            and isinstance(sh, list)
            and len(spectra) == len(sh) == len(er)
        ):
            raise FileFormatError("spectra and shift_meV differ in length", src)
        for s, y, e in zip(spectra, sh, er):
            try:
                n = int(s["layers"])
                y = float(y)
            except (KeyError, TypeError, ValueError):
                raise FileFormatError(
                    "a spectrum without a numeric layers/shift_meV", src
                ) from None
            if n < 2:
                continue
            layers.append(n)
            shifts.append(y)
            errs.append(float(e) if isinstance(e, (int, float)) and e and e > 0 else math.nan)
            links.append(lk)
            gaps.append(float(g) if g is not None else math.nan)
    if not layers:
        raise FileFormatError("no films with N >= 2 layers", src)
    try:
        return make_table(
            layers, shifts, errs, linker=links, gap_nm=gaps, default_err_meV=default_err, source=src
        )
    except InputError as exc:
        raise FileFormatError(getattr(exc, "message", str(exc)), src) from None
