"""CSV tables with named columns (temperature series, coupling data, calibration shifts).

Unlike instrument exports, these tables are written by people: a header row
names the columns (any order, extra columns ignored, case and surrounding
spaces ignored), text columns such as ``linker`` are allowed, and comment lines
starting with ``#`` are skipped.  Missing required columns, blank or
non-numeric values are errors that name the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError
from qdstack.io.table import decode_text

__all__ = ["read_columns"]


def _sniff_delimiter(lines: list[str]) -> str:
    head = lines[0]
    for delim in ("\t", ";", ","):
        if delim in head:
            return delim
    return ","


def read_columns(
    path: str | os.PathLike,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    text_columns: tuple[str, ...] = (),
) -> dict[str, np.ndarray | list[str]]:
    """Read the named columns of a CSV table.

    Parameters
    ----------
    path : path-like
        CSV (comma, semicolon or tab) with a header row.
    required : tuple of str
        Columns that must be present.
    optional : tuple of str
        Columns used when present.
    text_columns : tuple of str
        Columns (among required/optional) kept as strings; all others must be numbers.

    Returns
    -------
    dict
        Column name -> float array (or list of str for text columns).  Optional
        columns that are absent are not in the dict.

    Raises
    ------
    FileFormatError
        Unreadable file, missing column, blank or non-numeric value, no rows.
    """
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileFormatError("no such file", source) from None
    except IsADirectoryError:
        raise FileFormatError("is a directory, not a file", source) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})", source) from None
    text = decode_text(raw, source)
    numbered = [
        (i + 1, line)
        for i, line in enumerate(text.splitlines())
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not numbered:
        raise FileFormatError("the file is empty", source)
    delim = _sniff_delimiter([line for _, line in numbered])
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in numbered)), delimiter=delim))
    header = [h.strip().lower() for h in rows[0]]
    index = {}
    for name in required + optional:
        if name.lower() in header:
            index[name] = header.index(name.lower())
    missing = [name for name in required if name not in index]
    if missing:
        raise FileFormatError(
            f"missing column(s) {', '.join(missing)}; the header row has "
            f"{', '.join(repr(h) for h in header) or 'nothing'}",
            source,
        )
    body = rows[1:]
    if not body:
        raise FileFormatError("the table has a header but no rows", source)
    out: dict[str, list] = {name: [] for name in index}
    for (line_no, _), row in zip(numbered[1:], body):
        for name, j in index.items():
            value = row[j].strip() if j < len(row) else ""
            if name in text_columns:
                out[name].append(value)
                continue
            if value == "":
                raise FileFormatError(f"line {line_no}: blank value in column {name}", source)
            try:
                number = float(value)
            except ValueError:
                raise FileFormatError(
                    f"line {line_no}: {value!r} in column {name} is not a number", source
                ) from None
            if not math.isfinite(number):
                raise FileFormatError(
                    f"line {line_no}: {value!r} in column {name} is not finite", source
                )
            out[name].append(number)
    return {
        name: (values if name in text_columns else np.asarray(values, dtype=float))
        for name, values in out.items()
    }
