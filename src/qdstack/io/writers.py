"""Writing results: atomic files, JSON that the contract can rely on, spectra, figures.

Every file qdstack writes goes through :func:`atomic_write_bytes`: the bytes go
to a temporary file in the same folder, are flushed to disk, and the temporary
file is renamed over the target.  A reader (or a rerun after a kill) therefore
sees either the old file or the new one, never half of one.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "to_jsonable",
    "dumps_json",
    "write_json",
    "write_csv",
    "write_spectrum",
    "save_figure",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert results to plain JSON types.

    Objects with a ``to_dict()`` use it; dataclasses become dicts; numpy scalars
    and arrays become numbers and lists; NaN and infinities become ``None``
    (JSON has no NaN, and the contract reads a missing value as null).
    """
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (str, type(None))):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def dumps_json(obj: Any, indent: int | None = 2) -> str:
    """JSON text of ``obj`` after :func:`to_jsonable` (strict: no NaN)."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False, ensure_ascii=False)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON atomically."""
    return atomic_write_text(path, dumps_json(obj) + "\n")


def write_csv(path: str | os.PathLike, columns: dict[str, Any]) -> Path:
    """Write equal-length columns as a CSV table with a header row (atomically).

    Values are written with ``repr`` precision; None and NaN are written empty.
    """
    names = list(columns)
    cols = [list(np.asarray(columns[n], dtype=object).ravel()) for n in names]
    n_rows = {len(c) for c in cols}
    if len(n_rows) > 1:
        raise ValueError(f"columns have different lengths: {sorted(n_rows)}")
    buf = io.StringIO()
    buf.write(",".join(_csv_field(n) for n in names) + "\n")
    for row in zip(*cols):
        buf.write(",".join(_csv_value(v) for v in row) + "\n")
    return atomic_write_text(path, buf.getvalue())


def _csv_field(text: str) -> str:
    text = str(text)
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if not math.isfinite(float(v)) else repr(float(v))
    return _csv_field(v)


def write_spectrum(path: str | os.PathLike, spectrum, *, comment: str | None = None) -> Path:
    """Write a :class:`~qdstack.io.spectrum.Spectrum` as a two-column CSV readers take back.

    The header names the units (``energy_eV``), so reading the file again gives
    the same spectrum.  Emission is written per unit energy.
    """
    y_name = "absorbance" if spectrum.kind == "absorption" else "intensity_per_eV"
    buf = io.StringIO()
    if comment:
        for line in comment.splitlines():
            buf.write(f"# {line}\n")
    buf.write(f"energy_eV,{y_name}\n")
    for e, y in zip(spectrum.energy_eV, spectrum.intensity):
        buf.write(f"{float(e)!r},{float(y)!r}\n")
    return atomic_write_text(path, buf.getvalue())


def save_figure(fig, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Save a matplotlib Figure atomically (format from the suffix, PNG by default)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    return atomic_write_bytes(path, buf.getvalue())
