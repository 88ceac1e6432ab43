"""Diffractometer files: PANalytical ``.xrdml``, Rigaku ``.ras``, Bruker ``.brml`` and ``.raw``.

Each reader returns every scan of a file as a :class:`RawScan` (2theta in
degrees, intensities as the instrument states them, their Poisson standard
errors, the wavelength the file states); :mod:`qdstack.io.profile` turns a scan
into a :class:`~qdstack.io.profile.Profile` in q.

Where a maintained library reads a format it is used, and only what it leaves
out is read here:

``.xrdml`` (PANalytical XRDML 1.0-2.x)
    Scan data through :class:`xrayutilities.io.XRDMLFile` (it returns counts per
    second, ``detector``, and the motor positions; a UTF-8 BOM is handled).
    The wavelength is not read by xrayutilities, so ``<usedWavelength>`` is read
    here: the line named by its ``intended`` attribute (``K-Alpha 1`` ->
    ``kAlpha1``; ``K-Alpha`` -> the intensity-weighted mean of K-alpha1 and
    K-alpha2 with ``ratioKAlpha2KAlpha1``).  The detected counts behind each
    point are ``cps * countTime / attenuation``, which gives the Poisson error.
``.ras`` (Rigaku SmartLab / RAS)
    Scans through :class:`xrayutilities.io.rigaku_ras.RASFile` (several scans
    per file, Shift-JIS header bytes, CRLF).  The intensity is the second
    column times the third (the attenuator factor), as in the NIST reductus
    loader; the count time per step is ``MEAS_SCAN_STEP * 60 / MEAS_SCAN_SPEED``
    for speeds in deg/min.  The wavelength is the line named by
    ``MEAS_COND_XG_WAVE_TYPE`` (``Ka1``, ``Ka2``, ``Kb``; ``Ka`` -> (2 Ka1 + Ka2)/3)
    from the ``HW_XG_WAVE_LENGTH_*`` entries [angstrom].
``.brml`` (Bruker DIFFRAC.SUITE, a zip of XML)
    No maintained Python library reads it, so it is parsed here with
    :mod:`zipfile` and :mod:`xml.etree.ElementTree`.  Every
    ``Experiment*/RawData*.xml`` entry holds ``<DataRoutes><DataRoute>`` blocks;
    each route is one scan, one ``<Datum>`` per step with comma-separated
    values.  Which value is what comes from the route's ``<DataViews>``
    (``RawDataView`` ``LogicName="MeasuredTime"``; a ``RecordedRawDataView``
    whose ``<Recording LogicName="ScanCounter">`` is the counter; a
    ``VaryingRawDataView`` whose field definitions name ``TwoTheta``); without
    views the common layout ``time, enabled, 2theta, theta, counts`` is assumed.
    The wavelength is from the tube's ``WaveLengthAlpha1`` / ``WaveLengthAlpha2``
    / ``WaveLengthRatio`` [angstrom].
``.raw`` (Bruker / Siemens DIFFRAC-AT, ``RAW1.01``)
    No maintained Python library reads it (xrayutilities, xylib's Python
    bindings are not on PyPI), so it is parsed here from its documented binary
    layout (little-endian): a 712-byte file header (range count uint32 at 12,
    date at 16, time at 26, sample id at 326; anode at 608; K-alpha average,
    K-alpha1, K-alpha2, K-beta and the alpha2/alpha1 ratio as float64 at 616,
    624, 632, 640, 648 [angstrom]), then per range a header (its length uint32
    at +0, the step count uint32 at +4, the 2theta start float64 at +16 -- +8
    is theta --, the step float64 at +176, the step time float32 at +192, the
    supplementary-header length uint32 at +256) followed by float32 counts.
    The file size must match this layout exactly, so a misread never passes
    silently.  The older ``RAW``/``RAW2`` and the newer ``RAW4.00`` layouts are
    refused with a message (no real file of them was available to test on).

The wavelength convention for Bruker files: when the file states a positive
K-alpha2/K-alpha1 ratio (an unresolved doublet was measured), the weighted
mean ``(a1 + r a2) / (1 + r)`` is used, else K-alpha1.

References
----------
PANalytical XRDML schema, http://www.xrdml.com; D. Kriegner, E. Wintersberger,
J. Stangl, J. Appl. Cryst. 46, 1162 (2013) (xrayutilities); M. Wojdyr, xylib
(``bruker_raw.cpp``, ``brml`` notes) for the Bruker layouts; B. Maranville et
al., reductus (``rigaku.py``) for the RAS attenuator and count-time conventions.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError

__all__ = [
    "RawScan",
    "read_xrdml_scans",
    "read_ras_scans",
    "read_brml_scans",
    "read_bruker_raw_scans",
    "sniff_format",
]

_ANGSTROM_NM = 0.1


@dataclass(frozen=True)
class RawScan:
    """One scan of a diffractometer file, before conversion to q.

    Attributes
    ----------
    two_theta_deg : ndarray, shape (n,)
        Scattering angle 2theta [deg], in file order.
    intensity : ndarray, shape (n,)
        Intensity in ``intensity_unit``.
    intensity_err : ndarray or None, shape (n,)
        One standard error of each intensity from Poisson statistics of the
        detected counts (``sqrt(max(N, 1))`` for N detected counts, scaled like
        the intensity); None when the file does not say how many counts.
    intensity_unit : str
        ``"counts"`` or ``"cps"`` (counts per second).
    wavelength_nm : float or None
        The wavelength the file states [nm] (see the module docstring for which line).
    scan_axis : str
        The scan axis as the file names it (``2Theta-Omega``, ``TwoThetaOmega``, ...).
    description : str
        A short human description (range and number of points).
    meta : dict
        Other facts read from the file (count time, sample name, anode, ...).
    """

    two_theta_deg: np.ndarray
    intensity: np.ndarray
    intensity_err: np.ndarray | None
    intensity_unit: str
    wavelength_nm: float | None
    scan_axis: str
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False)


def _describe_range(tt: np.ndarray) -> str:
    return f"2theta {float(np.min(tt)):.4g}-{float(np.max(tt)):.4g} deg, {tt.size} points"


def _poisson_err(detected_counts, scale) -> np.ndarray:
    """sqrt(max(N, 1)) * scale: the Poisson error of N counts (1 count for an empty bin)."""
    n = np.asarray(detected_counts, dtype=float)
    return np.sqrt(np.maximum(n, 1.0)) * scale


def sniff_format(path: str | os.PathLike) -> str:
    """The diffractometer format of a file, from its suffix and first bytes.

    Returns
    -------
    str
        ``"xrdml"``, ``"ras"``, ``"brml"``, ``"bruker_raw"`` or ``"text"``.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        with open(p, "rb") as fh:
            head = fh.read(512)
    except FileNotFoundError:
        raise FileFormatError("no such file", str(path)) from None
    except IsADirectoryError:
        raise FileFormatError("is a directory, not a file", str(path)) from None
    except PermissionError:
        raise FileFormatError("permission denied", str(path)) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})", str(path)) from None
    stripped = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"RAW") and (suffix == ".raw" or head[:7] in (b"RAW1.01", b"RAW4.00")):
        return "bruker_raw"
    if head.startswith(b"PK\x03\x04") and suffix in (".brml", ".zip", ""):
        return "brml"
    if stripped.startswith(b"*RAS_DATA_START") or suffix == ".ras":
        return "ras"
    if suffix == ".xrdml" or (stripped.startswith(b"<?xml") and b"xrdMeasurement" in head):
        return "xrdml"
    if suffix == ".brml":
        return "brml"
    return "text"


# ----------------------------------------------------------------------------- XRDML


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xrdml_wavelengths(path: str) -> list[tuple[float | None, str]]:
    """(wavelength [nm] or None, description) of every <xrdMeasurement> in file order."""
    from xml.etree import ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise FileFormatError(f"not well-formed XML ({exc})", path) from None
    out: list[tuple[float | None, str]] = []
    for meas in root.iter():
        if _local(meas.tag) != "xrdMeasurement":
            continue
        used = next((e for e in meas.iter() if _local(e.tag) == "usedWavelength"), None)
        if used is None:
            out.append((None, "no <usedWavelength>"))
            continue
        lines = {}
        for child in used:
            name = _local(child.tag)
            try:
                value = float((child.text or "").strip())
            except ValueError:
                continue
            unit = (child.get("unit") or "Angstrom").lower()
            if name.startswith("k"):
                value = value * (_ANGSTROM_NM if unit.startswith("ang") else 1.0)
            lines[name] = value
        intended = (used.get("intended") or "K-Alpha 1").strip()
        key = {"k-alpha 1": "kAlpha1", "k-alpha 2": "kAlpha2", "k-beta": "kBeta"}.get(intended.lower())
        wl = None
        if key is not None and lines.get(key, 0) > 0:
            wl = lines[key]
        elif intended.lower() == "k-alpha" and lines.get("kAlpha1", 0) > 0:
            r = lines.get("ratioKAlpha2KAlpha1", 0.0)
            a2 = lines.get("kAlpha2", 0.0)
            wl = (lines["kAlpha1"] + r * a2) / (1 + r) if (r > 0 and a2 > 0) else lines["kAlpha1"]
        out.append((wl, intended))
    return out


def _quietly(func, *args):
    """Call a third-party reader with its stdout captured (it may print); returns (value, printed)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        value = func(*args)
    return value, buf.getvalue().strip()


def read_xrdml_scans(path: str | os.PathLike) -> list[RawScan]:
    """Every scan of a PANalytical ``.xrdml`` file (see the module docstring).

    Raises
    ------
    FileFormatError
        Not XRDML, no scan, or a scan that does not step 2theta.
    """
    src = os.fspath(path)
    try:
        from xrayutilities.io.panalytical_xml import XRDMLFile
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise FileFormatError(f"reading .xrdml needs xrayutilities ({exc})", src) from None
    wavelengths = _xrdml_wavelengths(src)
    try:
        xfile, printed = _quietly(XRDMLFile, src)
    except FileFormatError:
        raise
    except Exception as exc:  # xrayutilities raises many kinds on malformed files
        raise FileFormatError(
            f"not a readable XRDML scan ({type(exc).__name__}: {exc})", src
        ) from None
    if not xfile.scans:
        raise FileFormatError("no <xrdMeasurement> with scan data in this XRDML file", src)
    scans: list[RawScan] = []
    for m_index, meas in enumerate(xfile.scans):
        d = meas.ddict
        wl = wavelengths[m_index][0] if m_index < len(wavelengths) else None
        if "2Theta" not in d:
            raise FileFormatError(f"measurement {m_index + 1} has no 2Theta positions", src)
        det = np.asarray(d["detector"], dtype=float)
        det = det[None, :] if det.ndim == 1 else det.reshape(-1, det.shape[-1])
        n_rows, n_pts = det.shape
        tt = np.asarray(d["2Theta"], dtype=float)
        axis = str(getattr(meas, "scanmotname", "") or "")
        if tt.size in (1, n_rows) and n_pts > 1:
            raise FileFormatError(
                f"scan {len(scans) + 1} ({axis or 'unnamed'} axis) is at fixed 2theta "
                f"({float(np.ravel(tt)[0]):g} deg), e.g. a rocking curve; a profile in q needs a scan "
                "that steps 2theta",
                src,
            )
        if tt.size != n_rows * n_pts:
            raise FileFormatError(
                f"measurement {m_index + 1}: {tt.size} 2theta positions for {n_rows * n_pts} intensities",
                src,
            )
        tt = tt.reshape(n_rows, n_pts)
        ctime = np.ravel(np.asarray(d["countTime"], dtype=float))
        att = np.asarray(d.get("beamAttenuationFactors", []), dtype=float)
        att = att.reshape(n_rows, n_pts) if att.size == n_rows * n_pts else np.ones((n_rows, n_pts))
        for r in range(n_rows):
            x, y = tt[r], det[r]
            a = np.where(np.isfinite(att[r]) & (att[r] > 0), att[r], 1.0)
            t = float(ctime[min(r, ctime.size - 1)]) if ctime.size else float("nan")
            if math.isfinite(t) and t > 0:
                err = _poisson_err(y * t / a, a / t)
            else:
                err = None
            meta = {"count_time_s": t, "measurement": m_index + 1}
            if printed:
                meta["reader_message"] = printed
            scans.append(
                RawScan(
                    two_theta_deg=x.astype(float),
                    intensity=y.astype(float),
                    intensity_err=err,
                    intensity_unit="cps",
                    wavelength_nm=wl,
                    scan_axis=str(getattr(meas, "scanmotname", "")),
                    description=f"{getattr(meas, 'scanmotname', 'scan')}: {_describe_range(x)}",
                    meta=meta,
                )
            )
    return scans


# ----------------------------------------------------------------------------- RAS

_RAS_LINE = re.compile(r'^\*(\S+)\s+"(.*)"\s*$')


def _ras_header(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = _RAS_LINE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def _float_or_none(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


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
        raise FileFormatError(f"not a readable RAS file ({type(exc).__name__}: {exc})", src) from None
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
        att = np.atleast_1d(np.asarray(data[names[2]], dtype=float)) if len(names) > 2 else np.ones_like(y)
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


# ----------------------------------------------------------------------------- BRML

_BRML_RAW = re.compile(r"(?:^|/)(Experiment(\d+))/RawData(\d+)\.xml$", re.I)


def _find_local(root, name: str):
    for e in root.iter():
        if _local(e.tag) == name:
            return e
    return None


def _value_attr(root, name: str) -> float | None:
    e = _find_local(root, name)
    if e is None:
        return None
    return _float_or_none(e.get("Value", e.text))


def _brml_wavelength_nm(root) -> float | None:
    a1 = _value_attr(root, "WaveLengthAlpha1")
    a2 = _value_attr(root, "WaveLengthAlpha2")
    r = _value_attr(root, "WaveLengthRatio")
    if a1 is None or not (0.01 < a1 < 20):
        return None
    if r and r > 0 and a2 and a2 > 0:
        return (a1 + r * a2) / (1 + r) * _ANGSTROM_NM
    return a1 * _ANGSTROM_NM


def _brml_columns(route) -> dict[str, int]:
    """Indices of time, enabled flag, 2theta and counter in a DataRoute's <Datum> rows."""
    cols: dict[str, int] = {}
    views = _find_local(route, "DataViews")
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    if views is not None:
        for view in views:
            if _local(view.tag) != "RawDataView":
                continue
            start = int(float(view.get("Start", "0")))
            logic = view.get("LogicName", "")
            kind = view.get(xsi_type, "")
            if logic == "MeasuredTime":
                cols["time"] = start
            elif logic == "AbsorptionFactor":
                cols["enabled"] = start
            elif kind.endswith("VaryingRawDataView"):
                defs = [e for e in view.iter() if _local(e.tag) == "FieldDefinitions"]
                for i, d in enumerate(defs):
                    if d.get("TwoTheta") or "twotheta" in (d.get("AxisId", "") + d.get("Name", "")).lower():
                        cols["two_theta"] = start + i
                        break
            elif kind.endswith("RecordedRawDataView"):
                rec = _find_local(view, "Recording")
                if rec is not None and rec.get("LogicName") == "ScanCounter":
                    cols["counts"] = start
    defaults = {"time": 0, "enabled": 1, "two_theta": 2, "counts": 4}
    for key, index in defaults.items():
        cols.setdefault(key, index)
    return cols


def read_brml_scans(path: str | os.PathLike) -> list[RawScan]:
    """Every scan (DataRoute) of a Bruker ``.brml`` archive (see the module docstring).

    Raises
    ------
    FileFormatError
        Not a zip, no ``RawData*.xml``, or rows that cannot be read.
    """
    from xml.etree import ElementTree as ET

    src = os.fspath(path)
    try:
        archive = zipfile.ZipFile(src)
    except zipfile.BadZipFile:
        raise FileFormatError("not a Bruker .brml file (not a zip archive)", src) from None
    with archive:
        entries = []
        for name in archive.namelist():
            m = _BRML_RAW.search(name)
            if m:
                entries.append((int(m.group(2)), int(m.group(3)), name))
        if not entries:
            raise FileFormatError("no Experiment*/RawData*.xml inside this .brml archive", src)
        scans = []
        for _, _, name in sorted(entries):
            info = archive.getinfo(name)
            if info.file_size > 256 * 1024 * 1024:
                raise FileFormatError(f"{name} is implausibly large ({info.file_size} bytes)", src)
            try:
                root = ET.fromstring(archive.read(name))
            except ET.ParseError as exc:
                raise FileFormatError(f"{name}: not well-formed XML ({exc})", src) from None
            wl = _brml_wavelength_nm(root)
            routes = [e for e in root.iter() if _local(e.tag) == "DataRoute"]
            for route in routes:
                datums = [e for e in route if _local(e.tag) == "Datum"]
                if not datums:
                    continue
                cols = _brml_columns(route)
                rows = []
                for i, d in enumerate(datums):
                    fields = (d.text or "").split(",")
                    try:
                        rows.append([float(fields[cols[k]]) for k in ("time", "enabled", "two_theta", "counts")])
                    except (IndexError, ValueError):
                        raise FileFormatError(
                            f"{name}: <Datum> {i + 1} ({(d.text or '').strip()[:40]!r}) does not hold "
                            "time, 2theta and counts at the positions its DataViews declare",
                            src,
                        ) from None
                arr = np.array(rows, dtype=float)
                keep = arr[:, 1] != 0  # the enabled / absorption-factor flag
                arr = arr[keep]
                if arr.shape[0] < 2:
                    continue
                t, tt, counts = arr[:, 0], arr[:, 2], arr[:, 3]
                axis_el = _find_local(route, "ScanInformation")
                axis = axis_el.get("ScanName", "") if axis_el is not None else ""
                if np.all(t > 0) and np.ptp(t) > 1e-3 * np.max(t):
                    intensity, err, unit = counts / t, _poisson_err(counts, 1.0 / t), "cps"
                else:
                    intensity, err, unit = counts, _poisson_err(counts, 1.0), "counts"
                scans.append(
                    RawScan(
                        two_theta_deg=tt,
                        intensity=intensity,
                        intensity_err=err,
                        intensity_unit=unit,
                        wavelength_nm=wl,
                        scan_axis=axis or "TwoTheta",
                        description=f"{name}: {_describe_range(tt)}",
                        meta={"entry": name, "count_time_s": float(np.median(t)) if t.size else None},
                    )
                )
    if not scans:
        raise FileFormatError("no <Datum> rows in any DataRoute of this .brml archive", src)
    return scans


# ----------------------------------------------------------------------------- Bruker RAW

_RAW1_FILE_HEADER = 712
_RAW1_MIN_RANGE_HEADER = 260


def _text_at(raw: bytes, offset: int, length: int) -> str:
    return raw[offset : offset + length].split(b"\0")[0].decode("latin-1").strip()


def read_bruker_raw_scans(path: str | os.PathLike) -> list[RawScan]:
    """Every range of a Bruker ``RAW1.01`` binary file (layout in the module docstring).

    Raises
    ------
    FileFormatError
        Another RAW version, or bytes that do not match the layout (sizes, counts, steps).
    """
    src = os.fspath(path)
    raw = Path(src).read_bytes()
    magic = raw[:8]
    if magic.startswith(b"RAW4.00"):
        raise FileFormatError(
            "a Bruker RAW4.00 (DIFFRAC.SUITE) file; qdstack reads RAW1.01 and .brml -- export the "
            "scan as .brml or .xy",
            src,
        )
    if not magic.startswith(b"RAW1.01"):
        raise FileFormatError(
            f"not a Bruker RAW1.01 file (it starts {magic[:7]!r}); qdstack reads RAW1.01, .brml, "
            ".xrdml, .ras and text profiles",
            src,
        )
    if len(raw) < _RAW1_FILE_HEADER + _RAW1_MIN_RANGE_HEADER:
        raise FileFormatError(f"the file ends inside its header ({len(raw)} bytes)", src)
    n_ranges = struct.unpack_from("<I", raw, 12)[0]
    if not 1 <= n_ranges <= 10_000:
        raise FileFormatError(f"implausible range count {n_ranges} at byte 12", src)
    f64 = lambda at: struct.unpack_from("<d", raw, at)[0]  # noqa: E731
    a1, a2, ratio = f64(624), f64(632), f64(648)
    if 0.01 < a1 < 20:
        if 0 < ratio < 10 and 0.01 < a2 < 20:
            wl = (a1 + ratio * a2) / (1 + ratio) * _ANGSTROM_NM
        else:
            wl = a1 * _ANGSTROM_NM
    else:
        wl = None
    sample = _text_at(raw, 326, 60)
    date = f"{_text_at(raw, 16, 10)} {_text_at(raw, 26, 10)}".strip()
    anode = _text_at(raw, 608, 4)
    pos = _RAW1_FILE_HEADER
    scans = []
    for k in range(1, n_ranges + 1):
        if pos + _RAW1_MIN_RANGE_HEADER > len(raw):
            raise FileFormatError(f"range {k}: the file ends inside its header (byte {pos})", src)
        head_len, steps = struct.unpack_from("<II", raw, pos)
        start = f64(pos + 16)
        step = f64(pos + 176)
        step_time = struct.unpack_from("<f", raw, pos + 192)[0]
        supp = struct.unpack_from("<I", raw, pos + 256)[0]
        if not (_RAW1_MIN_RANGE_HEADER <= head_len <= 100_000) or not (1 <= steps <= 10**7):
            raise FileFormatError(
                f"range {k}: implausible header length {head_len} or step count {steps} at byte {pos}",
                src,
            )
        if not (math.isfinite(start) and math.isfinite(step) and 0 < abs(step) < 45 and -10 < start < 180):
            raise FileFormatError(f"range {k}: implausible 2theta start {start:g} or step {step:g}", src)
        data = pos + head_len + supp
        end = data + 4 * steps
        if end > len(raw):
            raise FileFormatError(
                f"range {k}: {steps} points run past the end of the file ({end} > {len(raw)} bytes)", src
            )
        counts = np.frombuffer(raw, dtype="<f4", count=steps, offset=data).astype(float)
        if not np.all(np.isfinite(counts)):
            raise FileFormatError(f"range {k}: non-finite intensities", src)
        tt = start + step * np.arange(steps)
        scans.append(
            RawScan(
                two_theta_deg=tt,
                intensity=counts,
                intensity_err=_poisson_err(counts, 1.0) if np.all(counts >= 0) else None,
                intensity_unit="counts",
                wavelength_nm=wl,
                scan_axis="2Theta",
                description=f"range {k}: {_describe_range(tt)}",
                meta={
                    "sample": sample,
                    "date": date,
                    "anode": anode,
                    "count_time_s": float(step_time) if math.isfinite(step_time) else None,
                },
            )
        )
        pos = end
    if pos != len(raw):
        raise FileFormatError(
            f"the ranges end at byte {pos} but the file has {len(raw)} bytes; the file does not "
            "match the RAW1.01 layout (or has data qdstack does not know)",
            src,
        )
    return scans
