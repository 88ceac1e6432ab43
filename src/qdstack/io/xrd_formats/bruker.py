"""Bruker diffractometer files: DIFFRAC.SUITE ``.brml`` and DIFFRAC-AT ``.raw`` (``RAW1.01``).

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
M. Wojdyr, xylib (``bruker_raw.cpp``, ``brml`` notes) for the Bruker layouts.
"""

from __future__ import annotations

import math
import os
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError
from qdstack.io.xrd_formats.scan import (
    _ANGSTROM_NM,
    RawScan,
    _describe_range,
    _float_or_none,
    _local,
    _poisson_err,
)

__all__ = ["read_brml_scans", "read_bruker_raw_scans"]


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
                    if (
                        d.get("TwoTheta")
                        or "twotheta" in (d.get("AxisId", "") + d.get("Name", "")).lower()
                    ):
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
                        rows.append(
                            [
                                float(fields[cols[k]])
                                for k in ("time", "enabled", "two_theta", "counts")
                            ]
                        )
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
                        meta={
                            "entry": name,
                            "count_time_s": float(np.median(t)) if t.size else None,
                        },
                    )
                )
    if not scans:
        raise FileFormatError("no <Datum> rows in any DataRoute of this .brml archive", src)
    return scans


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
        if not (
            math.isfinite(start)
            and math.isfinite(step)
            and 0 < abs(step) < 45
            and -10 < start < 180
        ):
            raise FileFormatError(
                f"range {k}: implausible 2theta start {start:g} or step {step:g}", src
            )
        data = pos + head_len + supp
        end = data + 4 * steps
        if end > len(raw):
            raise FileFormatError(
                f"range {k}: {steps} points run past the end of the file ({end} > {len(raw)} bytes)",
                src,
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
