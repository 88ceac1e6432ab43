"""A tolerant reader for the numeric text tables instruments export.

Every text reader in qdstack (spectra, decays, scattering profiles) goes
through :func:`read_numeric_table`, so they all accept the same things:

* any number of non-numeric header or metadata lines on top (title blocks,
  ``"Wavelength nm.","Abs."`` column names, key/value instrument settings);
* a comma, tab, semicolon or whitespace delimiter, found from the data;
* decimal commas (``300,00<TAB>0,322``) whenever the delimiter is not a comma;
* quoted fields, trailing delimiters, CRLF/CR line ends, a UTF-8 BOM, UTF-16
  files with a BOM, and header bytes that are not UTF-8 (Shift-JIS, Latin-1);
* trailing footer lines that are not numeric.

A row with a blank or non-numeric value *inside* the data block is an error
(:class:`~qdstack.errors.FileFormatError` naming the file and the line), never a
silently dropped point.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError

__all__ = ["NumericTable", "read_numeric_table", "parse_numeric_table", "decode_text", "checked_xy"]

_NUM_DOT_BODY = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUM_DOT = re.compile(rf"^{_NUM_DOT_BODY}$")
#: a plain row: two or more decimal-point numbers joined by the delimiter and nothing else
#: (no blanks, quotes or trailing delimiter); _parse_row gives it [float(f) for f in fields]
_PLAIN_ROW = {
    d: re.compile(rf"{_NUM_DOT_BODY}(?:{re.escape(d)}{_NUM_DOT_BODY})+") for d in ("\t", ";", ",")
}
_NUM_COMMA = re.compile(r"^[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?$")

# (delimiter, decimal comma) in order of preference when several parse the data equally well.
_DIALECTS: tuple[tuple[str, bool], ...] = (
    ("\t", False),
    ("\t", True),
    (";", False),
    (";", True),
    (",", False),
    (" ", False),
    (" ", True),
)
_DELIMITER_NAMES = {"\t": "tab", ";": "semicolon", ",": "comma", " ": "whitespace"}

#: a run of this many consistent rows before the main block is data, not metadata
_MIN_BLOCK = 3
#: refuse to read text files larger than this (a binary or a wrong file)
_MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class NumericTable:
    """The numeric block of a text table and what surrounded it.

    Attributes
    ----------
    data : ndarray, shape (n_rows, n_columns)
        The numbers, in file order.
    names : tuple of str or None
        Column names from the header line just above the data, when that line
        has one field per column; otherwise None.
    header : tuple of str
        Every line above the data block (metadata, titles, column names).
    delimiter : str
        ``"comma"``, ``"tab"``, ``"semicolon"`` or ``"whitespace"``.
    decimal_comma : bool
        True when numbers were written with a decimal comma.
    source : str
        The file (or label) the table came from, for messages.
    first_line : int
        1-based line number of the first data row.
    """

    data: np.ndarray
    names: tuple[str, ...] | None
    header: tuple[str, ...]
    delimiter: str
    decimal_comma: bool
    source: str
    first_line: int

    @property
    def n_columns(self) -> int:
        return int(self.data.shape[1])

    def column_index(self, key: int | str) -> int:
        """0-based index of a column given by index or by (case-insensitive, stripped) name."""
        if isinstance(key, str) and not key.strip().lstrip("-").isdigit():
            if self.names is None:
                raise FileFormatError(
                    f"column {key!r} requested but the file has no column names", self.source
                )
            wanted = key.strip().lower()
            for i, name in enumerate(self.names):
                if name.strip().lower() == wanted:
                    return i
            raise FileFormatError(
                f"no column named {key!r}; columns are {', '.join(map(repr, self.names))}",
                self.source,
            )
        index = int(key)
        if not -self.n_columns <= index < self.n_columns:
            raise FileFormatError(
                f"column {index} requested but the file has {self.n_columns} columns", self.source
            )
        return index % self.n_columns

    def column(self, key: int | str) -> np.ndarray:
        """One column by 0-based index or by name (see :meth:`column_index`)."""
        return self.data[:, self.column_index(key)]

    def header_text(self) -> str:
        return "\n".join(self.header)


def checked_xy(
    x, y, source: str, *, y_name: str, min_points: int, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float arrays after the checks every x-y curve needs.

    1-D and of equal length, at least ``min_points`` points, all finite, and ``x``
    strictly ascending or descending (the first offending point is named).

    Raises
    ------
    FileFormatError
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise FileFormatError(f"x and {y_name} must be 1-D arrays of the same length", source)
    if x.size < min_points:
        raise FileFormatError(
            f"only {x.size} data point(s); a {what} needs at least {min_points}", source
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise FileFormatError(f"x and {y_name} must be finite numbers", source)
    dx = np.diff(x)
    if not (np.all(dx > 0) or np.all(dx < 0)):
        i = int(np.nonzero((dx == 0) | (np.sign(dx) != np.sign(dx[0])))[0][0])
        raise FileFormatError(
            f"x values are not strictly ascending or descending (point {i + 2}: {x[i]:g} then {x[i + 1]:g})",
            source,
        )
    return x, y


def decode_text(raw: bytes, source: str = "<bytes>") -> str:
    """Decode the bytes of a text export, tolerating non-UTF-8 header bytes.

    UTF-16 with a BOM, UTF-8 (with or without BOM), then Shift-JIS (cp932), then
    Latin-1 (which never fails).  Numbers are ASCII in all of them, so a header
    in an unexpected code page only affects how its words are shown.

    Raises
    ------
    FileFormatError
        If the bytes contain NUL characters (a binary file) or are empty.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FileFormatError(f"invalid UTF-16 text ({exc.reason})", source) from None
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise FileFormatError(
            "an OLE2 compound document (a vendor's native format such as Shimadzu UVProbe .spc, "
            "or an old Excel .xls), not a text table; export the spectrum as text (UVProbe's "
            "ASCII export) or save the sheet as CSV",
            source,
        )
    if b"\x00" in raw:
        raise FileFormatError(
            "this is a binary file (it contains NUL bytes), not a text table; "
            "if it is an instrument file, use the matching reader or export it as text",
            source,
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == " ":
        fields = line.split()
    else:
        fields = [f.strip() for f in line.split(delimiter)]
        while fields and fields[-1] == "":  # trailing delimiter(s), as spreadsheets write them
            fields.pop()
    return [f.strip().strip('"').strip("'").strip() for f in fields]


def _parse_row(line: str, delimiter: str, decimal_comma: bool) -> list[float] | None:
    """Numbers of one line in a dialect, or None if any field is not a number."""
    if delimiter != " " and delimiter not in line:
        return None
    fields = _split(line, delimiter)
    if not fields:
        return None
    pattern = _NUM_COMMA if decimal_comma else _NUM_DOT
    out = []
    for field in fields:
        if not pattern.match(field):
            return None
        out.append(float(field.replace(",", ".")) if decimal_comma else float(field))
    return out


def _parse_rows(lines: list[str], delimiter: str, decimal_comma: bool) -> list:
    """:func:`_parse_row` of every line; plain rows take a shortcut with the same result."""
    if decimal_comma or delimiter == " ":
        return [_parse_row(line, delimiter, decimal_comma) for line in lines]
    plain = _PLAIN_ROW[delimiter].fullmatch
    return [
        list(map(float, line.split(delimiter)))
        if plain(line)
        else _parse_row(line, delimiter, decimal_comma)
        for line in lines
    ]


def _candidate_rows(lines: list[str], delimiter: str, min_columns: int) -> int:
    """How many lines could be rows of a dialect: an upper bound of its longest block."""
    if delimiter == " ":
        return sum(1 for line in lines if len(line.split(None, min_columns - 1)) >= min_columns)
    return sum(1 for line in lines if delimiter in line)


def _runs(ncols: list[int]) -> list[tuple[int, int, int]]:
    """Maximal runs (start, stop, n) of consecutive lines with the same column count n >= 1."""
    runs = []
    i = 0
    while i < len(ncols):
        n = ncols[i]
        j = i
        while j < len(ncols) and ncols[j] == n:
            j += 1
        if n > 0:
            runs.append((i, j, n))
        i = j
    return runs


_ANY_NUMBER = re.compile(
    r"(?:^|[\s,;\t\"'])[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?(?=$|[\s,;\t\"'])"
)


def _has_number(line: str) -> bool:
    """True when some field of the line is a number (a broken data row, not a text line)."""
    return bool(_ANY_NUMBER.search(line))


def _describe(line: str) -> str:
    text = line.strip()
    if not text:
        return "a blank line"
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


def parse_numeric_table(text: str, source: str = "<text>", min_columns: int = 2) -> NumericTable:
    """Find and parse the numeric block of a text table.

    Parameters
    ----------
    text : str
        The decoded file contents.
    source : str
        Name used in error messages (usually the file path).
    min_columns : int
        Fewest numeric columns a data row must have.

    Returns
    -------
    NumericTable

    Raises
    ------
    FileFormatError
        No numeric block, or a blank/non-numeric/short row inside it.
    """
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise FileFormatError("the file is empty", source)

    best = None  # (rows, -preference, dialect, parsed rows, runs)
    for pref, (delim, dec) in enumerate(_DIALECTS):
        # a later dialect wins only with a strictly longer block: skip those that cannot
        if best is not None and _candidate_rows(lines, delim, min_columns) <= best[0][0]:
            continue
        parsed = _parse_rows(lines, delim, dec)
        ncols = [len(p) if p is not None and len(p) >= min_columns else 0 for p in parsed]
        runs = _runs(ncols)
        if not runs:
            continue
        longest = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
        score = (longest[1] - longest[0], -pref)
        if best is None or score > best[0]:
            best = (score, (delim, dec), parsed, ncols, runs, longest)
    if best is None:
        raise FileFormatError(
            f"no rows of at least {min_columns} numeric columns found "
            "(expected numbers separated by commas, tabs, semicolons or spaces)",
            source,
        )
    _, (delim, dec), parsed, ncols, runs, (start, stop, n) = best

    # a second block of the same width after the main one means a broken row in between
    for line_no in range(stop, len(lines)):
        if ncols[line_no] == n:
            bad = stop
            raise FileFormatError(
                f"line {bad + 1}: blank or non-numeric value in the data block "
                f"({_describe(lines[bad])}); only trailing lines may be non-numeric",
                source,
            )
    # an earlier block of the same width means the data were broken before the main block,
    # unless it is short and separated from the data by a text line (numeric-looking metadata)
    for r_start, r_stop, r_n in runs:
        if r_stop > start or r_n != n:
            continue
        gap = lines[r_stop:start]
        text_between = any(line.strip() and not _has_number(line) for line in gap)
        if r_stop - r_start >= _MIN_BLOCK or not text_between:
            raise FileFormatError(
                f"line {r_stop + 1}: blank or non-numeric value in the data block "
                f"({_describe(lines[r_stop])}); only trailing lines may be non-numeric",
                source,
            )
    data = np.array([parsed[i] for i in range(start, stop)], dtype=float)
    if not np.all(np.isfinite(data)):
        bad_row = int(np.nonzero(~np.all(np.isfinite(data), axis=1))[0][0])
        raise FileFormatError(
            f"line {start + bad_row + 1}: a number too large to represent", source
        )
    header = tuple(lines[:start])
    names = None
    for line in reversed(header):
        if not line.strip():
            continue
        fields = _split(line, delim)
        if len(fields) == n and all(fields):
            names = tuple(fields)
        break
    return NumericTable(
        data=data,
        names=names,
        header=header,
        delimiter=_DELIMITER_NAMES[delim],
        decimal_comma=dec,
        source=source,
        first_line=start + 1,
    )


def read_numeric_table(path: str | os.PathLike, min_columns: int = 2) -> NumericTable:
    """Read a numeric text table from a file (see the module docstring for what is accepted).

    Raises
    ------
    FileFormatError
        The file is missing, unreadable, binary, or has no well-formed numeric block.
    """
    source = os.fspath(path)
    p = Path(path)
    try:
        if p.is_dir():
            raise FileFormatError("is a directory, not a file", source)
        size = p.stat().st_size
        if size > _MAX_BYTES:
            raise FileFormatError(f"file is too large for a text table ({size} bytes)", source)
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FileFormatError("no such file", source) from None
    except PermissionError:
        raise FileFormatError("permission denied", source) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})", source) from None
    text = decode_text(raw, source)
    return parse_numeric_table(text, source, min_columns=min_columns)
