"""Scattering and diffraction profiles: intensity vs q, from text exports and diffractometer files.

A :class:`Profile` holds intensities on an ascending scattering-vector axis q
[nm^-1], with their standard errors where the file allows (Poisson counts, an
error column), the 2theta axis and wavelength it came from, and where it came
from.  :func:`read_profile` reads

* **text** (``.xy``, ``.xye``, ``.csv``, ``.dat``, ``.txt``, anything
  :func:`~qdstack.io.table.read_numeric_table` reads): the first column is x, the
  second the intensity; a third column is taken as the intensity's standard
  error when the file is ``.xye`` or the column is named like one (``err``,
  ``sigma``, ``esd``, ``unc``, ``dI``).  The x unit comes from the x column's
  name, else the header: q in nm^-1 (``nm^-1``, ``1/nm``, ``q``), q in A^-1
  (``A^-1``, ``1/A``, ``Å``) or 2theta in degrees (``2theta``, ``2θ``,
  ``deg``); when several are named, 2theta wins over A^-1 over nm^-1 over a
  bare ``q``.  A file that names no unit is refused (give ``x_unit``) rather
  than guessed.  A header line stating ``wavelength`` / ``lambda`` and a number
  gives the wavelength (nm, or angstrom when the line says Å/A/angstrom or the
  number is above 0.4).  Intensities that are all non-negative whole numbers
  are counts and get Poisson errors.
* **instrument files**: PANalytical ``.xrdml``, Rigaku ``.ras``, Bruker
  ``.brml`` and ``.raw`` (RAW1.01), through :mod:`qdstack.io.xrd_formats`,
  which states how each is read and which wavelength it takes.

2theta becomes q = 4 pi sin(theta) / lambda.  The wavelength is, in order: the
one given (``wavelength_nm=``, ``--wavelength-nm``; a warning says so when the
file states another), the one the file states, Cu K-alpha 0.15406 nm.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np

from qdstack.errors import FileFormatError, OptionError, QdstackWarning
from qdstack.io.table import NumericTable, checked_xy, read_numeric_table
from qdstack.io.xrd_formats import (
    RawScan,
    read_brml_scans,
    read_bruker_raw_scans,
    read_ras_scans,
    read_xrdml_scans,
    sniff_format,
)
from qdstack.units import CU_KALPHA_NM, q_to_d_nm, two_theta_to_q_per_nm

__all__ = [
    "Profile",
    "XUnit",
    "read_profile",
    "read_profile_scans",
    "profile_from_xy",
    "profile_from_table",
    "detect_profile_unit",
    "parse_x_unit",
]

XUnit = Literal["nm^-1", "A^-1", "2theta"]

_TWO_THETA = re.compile(
    r"2\s*-?\s*theta|2\s*θ|two\s*-?\s*theta|(?<![a-z])2th(?![a-z])|(?<![a-z])deg(?:rees?)?(?![a-z])|°",
    re.I,
)
_A_INV = re.compile(
    r"(?i:å|angstr[oö]m)|(?<![A-Za-z])A\s*(?:\^\s*\(?\s*-\s*1\s*\)?|⁻¹|-1)(?![0-9])|1\s*/\s*A(?![A-Za-z])"
)
_NM_INV = re.compile(
    r"nm\s*(?:\^\s*\(?\s*-\s*1\s*\)?|⁻¹|-1)(?![0-9])|1\s*/\s*nm|inverse\s+nm", re.I
)
_BARE_Q = re.compile(r"(?<![a-z])q(?![a-z])", re.I)
_WAVELENGTH = re.compile(r"wave\s*length|lambda|λ", re.I)
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_ERR_NAME = re.compile(r"err|sigma|esd|unc|(?<![a-z])d\s*i(?![a-z])|std", re.I)

_X_UNIT_ALIASES = {
    "nm^-1": "nm^-1",
    "nm-1": "nm^-1",
    "1/nm": "nm^-1",
    "q": "nm^-1",
    "q-nm": "nm^-1",
    "per_nm": "nm^-1",
    "a^-1": "A^-1",
    "a-1": "A^-1",
    "1/a": "A^-1",
    "å^-1": "A^-1",
    "q-a": "A^-1",
    "angstrom^-1": "A^-1",
    "2theta": "2theta",
    "2θ": "2theta",
    "deg": "2theta",
    "twotheta": "2theta",
    "2th": "2theta",
    "two_theta": "2theta",
    "2-theta": "2theta",
}

#: wavelengths [nm] outside this range are not X-rays (or not in nm)
_WL_MIN_NM, _WL_MAX_NM = 0.005, 2.5


def parse_x_unit(text: str | None, source: str = "--x-unit") -> XUnit | None:
    """Normalise a user's x-unit name (``nm^-1``, ``1/nm``, ``A^-1``, ``1/A``, ``2theta``, ``deg``)."""
    if text is None:
        return None
    key = text.strip().lower().replace(" ", "")
    if key not in _X_UNIT_ALIASES:
        raise OptionError(f"unknown x unit {text!r}; use nm^-1, A^-1 or 2theta", source)
    return _X_UNIT_ALIASES[key]  # type: ignore[return-value]


@dataclass(frozen=True)
class Profile:
    """A scattering/diffraction profile on an ascending q axis.

    Attributes
    ----------
    q_per_nm : ndarray, shape (n,)
        Scattering vector magnitude q = 4 pi sin(theta) / lambda [nm^-1], strictly ascending.
    intensity : ndarray, shape (n,)
        Intensity in ``intensity_unit``.
    intensity_err : ndarray or None, shape (n,)
        One standard error of each intensity (Poisson counts or an error column); None
        when unknown (the analysis then estimates the noise from the data).
    two_theta_deg : ndarray or None, shape (n,)
        The 2theta [deg] of each point when the file was in 2theta.
    wavelength_nm : float or None
        Wavelength used to convert 2theta to q [nm]; None for files in q.
    wavelength_source : str or None
        ``"file"``, ``"option"`` or ``"default"`` (Cu K-alpha); None for files in q.
    x_unit : {"nm^-1", "A^-1", "2theta"}
        Unit of the x column in the file.
    intensity_unit : str
        ``"counts"``, ``"cps"`` or ``"arb."``.
    format : str
        ``"text"``, ``"xrdml"``, ``"ras"``, ``"brml"`` or ``"bruker_raw"``.
    scan, n_scans : int
        Which scan of the file this is (1-based) and how many the file holds.
    scan_axis : str or None
        The instrument's name of the scan axis, when it gives one.
    source : str or None
        File path (or a label) for messages.
    label : str or None
        The intensity column's name, when the file had one.
    """

    q_per_nm: np.ndarray
    intensity: np.ndarray
    intensity_err: np.ndarray | None = None
    two_theta_deg: np.ndarray | None = None
    wavelength_nm: float | None = None
    wavelength_source: str | None = None
    x_unit: XUnit = "nm^-1"
    intensity_unit: str = "arb."
    format: str = "text"
    scan: int = 1
    n_scans: int = 1
    scan_axis: str | None = None
    source: str | None = None
    label: str | None = None

    def __post_init__(self):
        for name in ("q_per_nm", "intensity", "intensity_err", "two_theta_deg"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.q_per_nm.size)

    @property
    def d_nm(self) -> np.ndarray:
        """Real-space period d = 2 pi / q [nm] of each point."""
        return q_to_d_nm(self.q_per_nm)

    def crop(self, qmin_per_nm: float | None = None, qmax_per_nm: float | None = None) -> "Profile":
        """A copy restricted to ``qmin <= q <= qmax`` [nm^-1]."""
        keep = np.ones(self.q_per_nm.size, dtype=bool)
        if qmin_per_nm is not None:
            keep &= self.q_per_nm >= qmin_per_nm
        if qmax_per_nm is not None:
            keep &= self.q_per_nm <= qmax_per_nm
        return replace(
            self,
            q_per_nm=self.q_per_nm[keep],
            intensity=self.intensity[keep],
            intensity_err=None if self.intensity_err is None else self.intensity_err[keep],
            two_theta_deg=None if self.two_theta_deg is None else self.two_theta_deg[keep],
        )

    def describe(self) -> str:
        """One line: file, scan, range, unit and wavelength."""
        parts = [self.source or "<profile>"]
        if self.n_scans > 1:
            parts.append(f"scan {self.scan} of {self.n_scans}")
        parts.append(f"q {self.q_per_nm[0]:.4g}-{self.q_per_nm[-1]:.4g} nm^-1, {len(self)} points")
        if self.wavelength_nm is not None:
            parts.append(
                f"from 2theta at lambda = {self.wavelength_nm:.5g} nm ({self.wavelength_source})"
            )
        return "; ".join(parts)


def profile_from_xy(
    x,
    y,
    x_unit: XUnit,
    *,
    intensity_err=None,
    wavelength_nm: float | None = None,
    wavelength_source: str | None = None,
    intensity_unit: str = "arb.",
    format: str = "text",
    scan: int = 1,
    n_scans: int = 1,
    scan_axis: str | None = None,
    source: str | None = None,
    label: str | None = None,
) -> Profile:
    """Build a :class:`Profile` from x (in ``x_unit``) and intensities, in any order of x.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        x in nm^-1, A^-1 or degrees 2theta; intensities.
    x_unit : {"nm^-1", "A^-1", "2theta"}
    intensity_err : array_like, optional
        Standard errors of ``y`` (positive).
    wavelength_nm : float, optional
        Needed for ``x_unit="2theta"`` (default Cu K-alpha, 0.15406 nm).

    Raises
    ------
    FileFormatError
        Too few points, non-finite values, x not strictly monotonic, 2theta outside
        (0, 180) deg, q not positive, or errors that are not positive.
    """
    src = source or "<profile>"
    x, y = checked_xy(x, y, src, y_name="intensity", min_points=5, what="profile")
    err = None
    if intensity_err is not None:
        err = np.asarray(intensity_err, dtype=float)
        if err.shape != y.shape or not np.all(np.isfinite(err)) or np.any(err <= 0):
            raise FileFormatError(
                "the error column must hold one positive, finite standard error per point", src
            )
    two_theta = None
    if x_unit == "2theta":
        if x.min() <= 0 or x.max() >= 180:
            raise FileFormatError(
                f"2theta values {x.min():g}..{x.max():g} deg are outside (0, 180) deg; check the x "
                "column and its unit",
                src,
            )
        wl = CU_KALPHA_NM if wavelength_nm is None else float(wavelength_nm)
        if not (_WL_MIN_NM <= wl <= _WL_MAX_NM):
            raise FileFormatError(f"wavelength {wl:g} nm is not an X-ray wavelength in nm", src)
        q = two_theta_to_q_per_nm(x, wl)
        two_theta = x
        wl_source = wavelength_source or ("default" if wavelength_nm is None else "option")
    elif x_unit in ("nm^-1", "A^-1"):
        q = x * (10.0 if x_unit == "A^-1" else 1.0)
        if q.min() < 0:
            raise FileFormatError(f"q values must not be negative, found {x.min():g} {x_unit}", src)
        wl, wl_source = None, None
    else:
        raise FileFormatError(f"unknown x unit {x_unit!r}", src)
    order = np.argsort(q)
    return Profile(
        q_per_nm=q[order],
        intensity=y[order],
        intensity_err=None if err is None else err[order],
        two_theta_deg=None if two_theta is None else two_theta[order],
        wavelength_nm=wl,
        wavelength_source=wl_source,
        x_unit=x_unit,
        intensity_unit=intensity_unit,
        format=format,
        scan=scan,
        n_scans=n_scans,
        scan_axis=scan_axis,
        source=source,
        label=label,
    )


def _units_in(text: str) -> list[XUnit]:
    """Explicit units named in ``text``, strongest first (a bare ``q`` is not one)."""
    found: list[XUnit] = []
    if _TWO_THETA.search(text):
        found.append("2theta")
    if _A_INV.search(text):
        found.append("A^-1")
    if _NM_INV.search(text):
        found.append("nm^-1")
    return found


def detect_profile_unit(table: NumericTable) -> XUnit | None:
    """The x unit of a profile table; None when nothing names it.

    An explicit unit in the x column's name wins, then one in the header (2theta
    over A^-1 over nm^-1 when several are named), then a bare ``q`` (nm^-1).
    """
    name = table.names[0] if table.names is not None else ""
    for text in (name, table.header_text()):
        found = _units_in(text)
        if found:
            return found[0]
    if _BARE_Q.search(name) or _BARE_Q.search(table.header_text()):
        return "nm^-1"
    return None


def _header_wavelength_nm(header: str) -> float | None:
    for line in header.splitlines():
        m = _WAVELENGTH.search(line)
        if not m:
            continue
        rest = line[m.end() :]
        num = _NUMBER.search(rest)
        if not num:
            continue
        value = float(num.group())
        after = rest[num.end() :]
        if re.search(r"(?<![a-z])nm(?![a-z])", rest, re.I):
            wl = value
        elif re.search(r"å|angstr|(?<![A-Za-z])A(?![A-Za-z])", after):
            wl = value * 0.1
        else:
            wl = value * 0.1 if value > 0.4 else value
        if _WL_MIN_NM <= wl <= _WL_MAX_NM:
            return wl
    return None


def profile_from_table(
    table: NumericTable,
    *,
    x_unit: XUnit | None = None,
    wavelength_nm: float | None = None,
    column: int | str | None = None,
    error_column: int | str | None = None,
) -> Profile:
    """Turn a parsed text table into a :class:`Profile` (x = first column).

    Raises
    ------
    FileFormatError
        Fewer than two columns, no unit anywhere (and ``x_unit`` not given), bad values.
    """
    src = table.source
    if table.n_columns < 2:
        raise FileFormatError("a profile needs two columns (x and intensity)", src)
    unit = x_unit or detect_profile_unit(table)
    if unit is None:
        raise FileFormatError(
            "the x unit is not named in the header (expected q in nm^-1 / 1/nm, q in A^-1 / 1/A, or "
            "2theta / deg); add a header line such as 'q_nm^-1 intensity' or give --x-unit",
            src,
        )
    index = 1 if column is None else table.column_index(column)
    if index == 0:
        raise FileFormatError("column 0 is the x axis, not an intensity", src)
    err_index = None
    if error_column is not None:
        err_index = table.column_index(error_column)
    elif column is None and table.n_columns >= 3:
        name3 = table.names[2] if table.names else ""
        if Path(src).suffix.lower() == ".xye" or _ERR_NAME.search(name3 or ""):
            err_index = 2
        else:
            warnings.warn(
                f"{src}: {table.n_columns} columns; using column 2 "
                f"({(table.names[1] if table.names else '2')!r}) as the intensity and ignoring the rest",
                QdstackWarning,
                stacklevel=3,
            )
    y = table.data[:, index]
    err = table.data[:, err_index] if err_index is not None else None
    if err is not None and np.any(err == 0) and np.all(err >= 0) and np.any(err > 0):
        # exports write sqrt(counts) = 0 for empty bins; a Poisson error there is ~1 count
        fill = 1.0 if np.all(y == np.round(y)) else float(np.min(err[err > 0]))
        warnings.warn(
            f"{src}: {int(np.sum(err == 0))} zero errors in the error column replaced by {fill:g}",
            QdstackWarning,
            stacklevel=3,
        )
        err = np.where(err > 0, err, fill)
    unit_y = "arb."
    if err is None and np.all(y >= 0) and np.all(y == np.round(y)) and np.any(y > 0):
        err = np.sqrt(np.maximum(y, 1.0))
        unit_y = "counts"
    wl_file = _header_wavelength_nm(table.header_text()) if unit == "2theta" else None
    wl, wl_source = _choose_wavelength(wavelength_nm, wl_file, src)
    return profile_from_xy(
        table.data[:, 0],
        y,
        unit,
        intensity_err=err,
        wavelength_nm=wl,
        wavelength_source=wl_source,
        intensity_unit=unit_y,
        format="text",
        source=src,
        label=table.names[index] if table.names else None,
    )


def _choose_wavelength(given_nm: float | None, file_nm: float | None, src: str):
    """(wavelength, source) by precedence: given, file, Cu K-alpha."""
    if given_nm is not None:
        if not (_WL_MIN_NM <= given_nm <= _WL_MAX_NM):
            raise OptionError(
                f"{given_nm:g} nm is not an X-ray wavelength (expected {_WL_MIN_NM}-{_WL_MAX_NM} nm; "
                "Cu K-alpha is 0.15406)",
                "--wavelength-nm",
            )
        if file_nm is not None and abs(given_nm - file_nm) > 1e-4 * file_nm:
            warnings.warn(
                f"{src}: the file states a wavelength of {file_nm:.6g} nm; using the {given_nm:.6g} nm "
                "given instead",
                QdstackWarning,
                stacklevel=4,
            )
        return float(given_nm), "option"
    if file_nm is not None:
        return float(file_nm), "file"
    return CU_KALPHA_NM, "default"


_READERS = {
    "xrdml": read_xrdml_scans,
    "ras": read_ras_scans,
    "brml": read_brml_scans,
    "bruker_raw": read_bruker_raw_scans,
}


def _scan_to_profile(raw: RawScan, k: int, n: int, src: str, wavelength_nm, fmt: str) -> Profile:
    wl, wl_source = _choose_wavelength(wavelength_nm, raw.wavelength_nm, src)
    return profile_from_xy(
        raw.two_theta_deg,
        raw.intensity,
        "2theta",
        intensity_err=raw.intensity_err,
        wavelength_nm=wl,
        wavelength_source=wl_source,
        intensity_unit=raw.intensity_unit,
        format=fmt,
        scan=k,
        n_scans=n,
        scan_axis=raw.scan_axis,
        source=src,
        label=raw.description,
    )


def read_profile_scans(
    path: str | os.PathLike,
    *,
    x_unit: XUnit | str | None = None,
    wavelength_nm: float | None = None,
    column: int | str | None = None,
) -> list[Profile]:
    """Every scan of a file as a :class:`Profile` (one for a text file).

    Parameters
    ----------
    path : path-like
        Text profile or a ``.xrdml`` / ``.ras`` / ``.brml`` / ``.raw`` file.
    x_unit : {"nm^-1", "A^-1", "2theta"}, optional
        The x unit of a text file when its header does not name it (ignored for
        instrument files, which are always 2theta).
    wavelength_nm : float, optional
        Overrides the file's wavelength (and the Cu K-alpha default) [nm].
    column : int or str, optional
        Intensity column of a multi-column text file.

    Raises
    ------
    FileFormatError
        Unreadable or malformed file; the message names the file and the cause.
    """
    src = os.fspath(path)
    unit = parse_x_unit(x_unit) if isinstance(x_unit, str) else x_unit
    fmt = sniff_format(src)
    if fmt == "text":
        table = read_numeric_table(src)
        return [profile_from_table(table, x_unit=unit, wavelength_nm=wavelength_nm, column=column)]
    try:
        scans = _READERS[fmt](src)
    except FileFormatError:
        raise
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})", src) from None
    return [
        _scan_to_profile(s, k, len(scans), src, wavelength_nm, fmt) for k, s in enumerate(scans, 1)
    ]


def read_profile(
    path: str | os.PathLike,
    *,
    scan: int | None = None,
    x_unit: XUnit | str | None = None,
    wavelength_nm: float | None = None,
    column: int | str | None = None,
) -> Profile:
    """Read one scattering/diffraction profile (see the module docstring for formats and units).

    Parameters
    ----------
    path : path-like
        Text profile or a ``.xrdml`` / ``.ras`` / ``.brml`` / ``.raw`` file.
    scan : int, optional
        1-based scan number in a multi-scan file; default the first, with a
        warning that lists the others.
    x_unit, wavelength_nm, column
        See :func:`read_profile_scans`.

    Returns
    -------
    Profile

    Raises
    ------
    FileFormatError
        Unreadable or malformed file.
    OptionError
        ``scan`` outside the file's scans, or an impossible wavelength.

    Examples
    --------
    >>> p = read_profile("film_out_of_plane.xy")          # doctest: +SKIP
    >>> p = read_profile("inas.ras", scan=2)               # doctest: +SKIP
    """
    profiles = read_profile_scans(path, x_unit=x_unit, wavelength_nm=wavelength_nm, column=column)
    n = len(profiles)
    if scan is None:
        if n > 1:
            listing = "; ".join(f"{p.scan}: {p.label}" for p in profiles)
            warnings.warn(
                f"{os.fspath(path)}: {n} scans ({listing}); using scan 1 (choose with --scan K)",
                QdstackWarning,
                stacklevel=2,
            )
        return profiles[0]
    if not 1 <= scan <= n:
        raise OptionError(
            f"scan {scan} requested but {os.fspath(path)} holds {n} scan(s)", "--scan"
        )
    return profiles[scan - 1]
