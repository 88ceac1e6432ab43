"""Rigaku ``.ras`` diffractometer files.

``.ras`` (Rigaku SmartLab / RAS)
    Scans through :class:`xrayutilities.io.rigaku_ras.RASFile` (several scans
    per file, Shift-JIS header bytes, CRLF).  The intensity is the second
    column times the third (the attenuator factor), as in the NIST reductus
    loader; the count time per step is ``MEAS_SCAN_STEP * 60 / MEAS_SCAN_SPEED``
    for speeds in deg/min.  The wavelength is the line named by
    ``MEAS_COND_XG_WAVE_TYPE`` (``Ka1``, ``Ka2``, ``Kb``; ``Ka`` -> (2 Ka1 + Ka2)/3)
    from the ``HW_XG_WAVE_LENGTH_*`` entries [angstrom].

References
----------
D. Kriegner, E. Wintersberger, J. Stangl, J. Appl. Cryst. 46, 1162 (2013)
(xrayutilities); B. Maranville et al., reductus (``rigaku.py``) for the RAS
attenuator and count-time conventions.
"""

from __future__ import annotations

import os
import re

import numpy as np

from qdstack.errors import FileFormatError
from qdstack.io.xrd_formats.scan import (
    _ANGSTROM_NM,
    RawScan,
    _describe_range,
    _float_or_none,
    _poisson_err,
    _quietly,
)

__all__ = ["read_ras_scans"]

_RAS_LINE = re.compile(r'^\*(\S+)\s+"(.*)"\s*$')


def _ras_header(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = _RAS_LINE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _ras_wavelength_nm(h: dict[str, str]) -> float | None:
    a1 = _float_or_none(h.get("HW_XG_WAVE_LENGTH_ALPHA1"))
    a2 = _float_or_none(h.get("HW_XG_WAVE_LENGTH_ALPHA2"))
    kb = _float_or_none(h.get("HW_XG_WAVE_LENGTH_BETA"))
    kind = h.get("MEAS_COND_XG_WAVE_TYPE", "").strip().lower()
    value = None
    if kind == "ka1":
        value = a1
    elif kind == "ka2":
        value = a2
    elif kind == "kb":
        value = kb
    elif a1 is not None:
        value = (2 * a1 + a2) / 3 if a2 else a1
    if value is None or not (0.01 < value < 20):
        return None
    return value * _ANGSTROM_NM


def _ras_count_time(h: dict[str, str]) -> float | None:
    speed = _float_or_none(h.get("MEAS_SCAN_SPEED"))
    step = _float_or_none(h.get("MEAS_SCAN_STEP"))
    unit = h.get("MEAS_SCAN_SPEED_UNIT", "").strip().lower()
    if speed is None or speed <= 0:
        return None
    if unit.startswith("sec"):
        return speed
    if unit.endswith("/min") and step:
        return abs(step) * 60.0 / speed
    return None


def read_ras_scans(path: str | os.PathLike) -> list[RawScan]:
    """Every scan of a Rigaku ``.ras`` file (see the module docstring).

    Raises
    ------
    FileFormatError
        Not RAS, a broken data block, or a scan that does not step 2theta.
    """
    src = os.fspath(path)
    try:
        from xrayutilities.io.rigaku_ras import RASFile
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise FileFormatError(f"reading .ras needs xrayutilities ({exc})", src) from None
    with open(src, "rb") as fh:
        first = fh.read(64).lstrip(b"\xef\xbb\xbf").lstrip()
    if not first.startswith(b"*RAS_DATA_START"):
        raise FileFormatError("not a Rigaku RAS file (it does not start with *RAS_DATA_START)", src)
    try:
        rfile, printed = _quietly(RASFile, src)
    except Exception as exc:
        raise FileFormatError(
            f"not a readable RAS file ({type(exc).__name__}: {exc})", src
        ) from None
    if not rfile.scans:
        raise FileFormatError("no scan (*RAS_HEADER_START ... *RAS_INT_END) in this RAS file", src)
    scans = []
    for k, s in enumerate(rfile.scans, start=1):
        h = _ras_header(s.header)
        axis = getattr(s, "scan_axis", "") or h.get("MEAS_SCAN_AXIS_X_INTERNAL", "")
        data = getattr(s, "data", None)
        if data is None or data.dtype.names is None or len(data.dtype.names) < 2:
            raise FileFormatError(f"scan {k}: no data block", src)
        names = data.dtype.names
        x = np.atleast_1d(np.asarray(data[names[0]], dtype=float))
        y = np.atleast_1d(np.asarray(data[names[1]], dtype=float))
        att = (
            np.atleast_1d(np.asarray(data[names[2]], dtype=float))
            if len(names) > 2
            else np.ones_like(y)
        )
        expected = getattr(s, "length", x.size)
        if x.size != expected or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise FileFormatError(
                f"scan {k}: the data block is broken ({x.size} rows read, {expected} announced by "
                "*MEAS_DATA_COUNT, or a non-numeric value)",
                src,
            )
        if "twotheta" not in axis.lower():
            raise FileFormatError(
                f"scan {k} steps {axis or 'an unnamed axis'}, not 2theta; a profile in q needs a "
                "2theta scan (TwoThetaOmega, TwoThetaTheta, TwoTheta, TwoThetaChi)",
                src,
            )
        unit_x = h.get("MEAS_SCAN_UNIT_X", "deg").strip().lower()
        if unit_x not in ("deg", "degree", "degrees", ""):
            raise FileFormatError(f"scan {k}: x unit {unit_x!r}; only degrees are read", src)
        if not np.all(np.isfinite(att)) or np.any(att <= 0):
            att = np.ones_like(y)
        unit_y = h.get("MEAS_SCAN_UNIT_Y", "counts").strip().lower()
        t = _ras_count_time(h)
        intensity = y * att
        if unit_y == "cps" and t:
            err = _poisson_err(y * t, att / t)
            unit = "cps"
        elif unit_y == "cps":
            err, unit = None, "cps"
        else:
            err, unit = _poisson_err(y, att), "counts"
        meta = {"count_time_s": t, "sample": h.get("FILE_SAMPLE", "").strip()}
        if printed:
            meta["reader_message"] = printed
        scans.append(
            RawScan(
                two_theta_deg=x,
                intensity=intensity,
                intensity_err=err,
                intensity_unit=unit,
                wavelength_nm=_ras_wavelength_nm(h),
                scan_axis=axis,
                description=f"{axis}: {_describe_range(x)}",
                meta=meta,
            )
        )
    return scans
