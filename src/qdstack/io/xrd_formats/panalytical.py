"""PANalytical ``.xrdml`` diffractometer files.

``.xrdml`` (PANalytical XRDML 1.0-2.x)
    Scan data through :class:`xrayutilities.io.XRDMLFile` (it returns counts per
    second, ``detector``, and the motor positions; a UTF-8 BOM is handled).
    The wavelength is not read by xrayutilities, so ``<usedWavelength>`` is read
    here: the line named by its ``intended`` attribute (``K-Alpha 1`` ->
    ``kAlpha1``; ``K-Alpha`` -> the intensity-weighted mean of K-alpha1 and
    K-alpha2 with ``ratioKAlpha2KAlpha1``).  The detected counts behind each
    point are ``cps * countTime / attenuation``, which gives the Poisson error.

References
----------
PANalytical XRDML schema, http://www.xrdml.com; D. Kriegner, E. Wintersberger,
J. Stangl, J. Appl. Cryst. 46, 1162 (2013) (xrayutilities).
"""

from __future__ import annotations

import math
import os

import numpy as np

from qdstack.errors import FileFormatError
from qdstack.io.xrd_formats.scan import (
    _ANGSTROM_NM,
    RawScan,
    _describe_range,
    _local,
    _poisson_err,
    _quietly,
)

__all__ = ["read_xrdml_scans"]


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
        key = {"k-alpha 1": "kAlpha1", "k-alpha 2": "kAlpha2", "k-beta": "kBeta"}.get(
            intended.lower()
        )
        wl = None
        if key is not None and lines.get(key, 0) > 0:
            wl = lines[key]
        elif intended.lower() == "k-alpha" and lines.get("kAlpha1", 0) > 0:
            r = lines.get("ratioKAlpha2KAlpha1", 0.0)
            a2 = lines.get("kAlpha2", 0.0)
            wl = (lines["kAlpha1"] + r * a2) / (1 + r) if (r > 0 and a2 > 0) else lines["kAlpha1"]
        out.append((wl, intended))
    return out


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
