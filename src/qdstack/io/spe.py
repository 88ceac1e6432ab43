"""Princeton Instruments ``.spe`` CCD spectra (WinSpec/WinView 1.x-2.x and LightField 3.0).

PL spectra from a spectrograph with a Princeton Instruments camera are saved in
this binary format.  No maintained Python library reads both generations
(``spe2py`` reads only 3.0 and is unmaintained), so the documented layout is
parsed here; it is small.

Layout (little-endian; Princeton Instruments, *WinSpec/32 manual*, appendix
"WinX file format", header version 2.5, and *SPE 3.0 File Format
Specification*, 2012):

* a 4100-byte header: ``xdim`` uint16 at 42, the data type int16 at 108
  (0 float32, 1 int32, 2 int16, 3 uint16, 8 uint32), ``ydim`` uint16 at 656,
  the frame count int32 at 1446, the header version float32 at 1992, and the
  check value 0x5555 (int16) at 4098;
* the x calibration of WinSpec files at 3000: ``calib_valid`` (char, +98),
  ``polynom_order`` (+101), ``calib_count`` (+102), ``pixel_position[10]`` and
  ``calib_value[10]`` (float64, +103 and +183), ``polynom_coeff[6]`` (float64,
  +263) and the axis label ``string[40]`` (+18).  The axis is
  ``x(p) = sum_j c_j p^j`` at pixel numbers ``p = 1 .. xdim`` (WinSpec counts
  pixels from 1: the stored calibration pairs satisfy the polynomial exactly
  with that origin, which :func:`read_spe` checks);
* the data from byte 4100: ``frames x ydim x xdim`` values;
* in version 3.0 files an XML footer at the uint64 offset at 678, whose
  ``<Calibrations><WavelengthMapping><Wavelength>`` holds the wavelength of
  every pixel [nm] (comma separated; ``<WavelengthError>`` holds
  ``wavelength,error`` pairs) and whose ``<DataFormat><DataBlock type="Frame">``
  gives the frame stride (frames may carry metadata after the pixels).
"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError

__all__ = ["SpeFile", "is_spe", "read_spe"]

HEADER_BYTES = 4100
_CHECK_OFFSET, _CHECK_VALUE = 4098, 0x5555
_DTYPES = {0: "<f4", 1: "<i4", 2: "<i2", 3: "<u2", 8: "<u4"}
_XCAL = 3000


@dataclass(frozen=True)
class SpeFile:
    """The contents of an ``.spe`` file that a spectrum needs.

    Attributes
    ----------
    x : ndarray, shape (xdim,)
        Calibrated axis value of every pixel (its unit: ``x_label``).
    x_label : str
        What the file says the axis is (``"Wavelength [nm]"``; ``"nm"`` for 3.0 files).
    frames : ndarray, shape (n_frames, ydim, xdim)
        Counts as stored (float).
    exposure_s : float or None
        Exposure time [s] when the header states it.
    version : float
        Header version (2.x WinSpec/WinView, 3.0 LightField).
    source : str
    """

    x: np.ndarray
    x_label: str
    frames: np.ndarray
    exposure_s: float | None
    version: float
    source: str


def is_spe(path: str | os.PathLike, head: bytes | None = None) -> bool:
    """True when the file has the ``.spe`` extension or the SPE header's check value."""
    p = Path(path)
    if p.suffix.lower() == ".spe":
        return True
    if head is None:
        try:
            with open(p, "rb") as fh:
                head = fh.read(HEADER_BYTES)
        except OSError:
            return False
    return (
        len(head) >= HEADER_BYTES
        and struct.unpack_from("<H", head, _CHECK_OFFSET)[0] == _CHECK_VALUE
        and struct.unpack_from("<h", head, 108)[0] in _DTYPES
    )


def read_spe(path: str | os.PathLike) -> SpeFile:
    """Read the calibrated axis and the frames of an ``.spe`` file.

    Raises
    ------
    FileFormatError
        Not an SPE file, truncated, an unknown data type, no x calibration, or a
        calibration that does not reproduce its own calibration points.
    """
    src = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})", src) from None
    if len(raw) < HEADER_BYTES:
        raise FileFormatError(
            f"{len(raw)} bytes: too short for an SPE file (4100-byte header)", src
        )
    if struct.unpack_from("<H", raw, _CHECK_OFFSET)[0] != _CHECK_VALUE:
        raise FileFormatError(
            "not a Princeton Instruments SPE file (no check value 0x5555 at byte 4098)", src
        )
    xdim = struct.unpack_from("<H", raw, 42)[0]
    code = struct.unpack_from("<h", raw, 108)[0]
    ydim = struct.unpack_from("<H", raw, 656)[0]
    n_frames = struct.unpack_from("<i", raw, 1446)[0]
    version = round(float(struct.unpack_from("<f", raw, 1992)[0]), 3)
    exp = float(struct.unpack_from("<f", raw, 10)[0])
    if code not in _DTYPES:
        raise FileFormatError(f"unknown SPE data type {code} (known: {sorted(_DTYPES)})", src)
    if xdim < 2 or ydim < 1 or n_frames < 1:
        raise FileFormatError(
            f"SPE header gives {n_frames} frame(s) of {xdim} x {ydim} pixels", src
        )
    dtype = np.dtype(_DTYPES[code])
    frame_bytes = xdim * ydim * dtype.itemsize
    stride = frame_bytes
    footer = None
    if version >= 3.0:
        footer = _footer(raw, src)
        stride = _frame_stride(footer, frame_bytes, src)
    end = HEADER_BYTES + (n_frames - 1) * stride + frame_bytes
    if len(raw) < end:
        raise FileFormatError(
            f"truncated: {n_frames} frame(s) of {xdim} x {ydim} {dtype.name} values need {end} bytes, "
            f"the file has {len(raw)}",
            src,
        )
    frames = np.empty((n_frames, ydim, xdim))
    for k in range(n_frames):
        frames[k] = np.frombuffer(
            raw, dtype, count=xdim * ydim, offset=HEADER_BYTES + k * stride
        ).reshape(ydim, xdim)
    if footer is not None:
        x, label = _footer_wavelengths(footer, xdim, src)
    else:
        x, label = _winspec_axis(raw, xdim, src)
    return SpeFile(
        x=x,
        x_label=label,
        frames=frames,
        exposure_s=exp if exp > 0 else None,
        version=version,
        source=src,
    )


def _winspec_axis(raw: bytes, xdim: int, src: str) -> tuple[np.ndarray, str]:
    valid = raw[_XCAL + 98]
    order = raw[_XCAL + 101]
    count = min(raw[_XCAL + 102], 10)
    label = raw[_XCAL + 18 : _XCAL + 58].split(b"\x00", 1)[0].decode("latin-1").strip()
    if not valid or order < 1:
        raise FileFormatError(
            "the SPE file has no x calibration (its axis is pixel numbers); calibrate the spectrograph "
            "axis in WinSpec/LightField or export the spectrum as text with a wavelength column",
            src,
        )
    if order > 5:
        raise FileFormatError(
            f"SPE calibration polynomial of order {order} (at most 5 in the format)", src
        )
    coef = np.array(struct.unpack_from("<6d", raw, _XCAL + 263)[: order + 1])
    pix = np.arange(1, xdim + 1, dtype=float)
    x = np.polynomial.polynomial.polyval(pix, coef)
    if count >= 1:
        pp = np.array(struct.unpack_from("<10d", raw, _XCAL + 103)[:count])
        vv = np.array(struct.unpack_from("<10d", raw, _XCAL + 183)[:count])
        fit = np.polynomial.polynomial.polyval(pp, coef)
        step = abs(float(x[-1] - x[0])) / max(xdim - 1, 1)
        # the fitted polynomial passes through (or, with more pairs than terms, near) its own pairs
        if count <= order + 1 and np.any(np.abs(fit - vv) > 0.01 * step + 1e-9 * np.abs(vv)):
            raise FileFormatError(
                "the SPE x calibration does not reproduce its own calibration points "
                f"(pixel {pp[0]:g}: {fit[0]:.4f} vs {vv[0]:.4f}); the header is damaged",
                src,
            )
    if not np.all(np.isfinite(x)):
        raise FileFormatError("the SPE x calibration gives non-finite values", src)
    return x, label or "calibrated axis"


def _footer(raw: bytes, src: str) -> ET.Element:
    offset = struct.unpack_from("<Q", raw, 678)[0]
    if not HEADER_BYTES <= offset < len(raw):
        raise FileFormatError(
            f"SPE 3.0 file without its XML footer (offset {offset}, size {len(raw)})", src
        )
    try:
        root = ET.fromstring(raw[offset:].rstrip(b"\x00"))
    except ET.ParseError as exc:
        raise FileFormatError(f"SPE 3.0 XML footer is not valid XML ({exc})", src) from None
    return root


def _int_attr(el: ET.Element, name: str, default: int, src: str) -> int:
    text = el.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise FileFormatError(
            f"SPE 3.0 footer: <{_local(el.tag)} {name}={text!r}> is not a whole number", src
        ) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if _local(el.tag) == name]


def _frame_stride(root: ET.Element, frame_bytes: int, src: str) -> int:
    for block in _find(root, "DataBlock"):
        if block.get("type") == "Frame":
            stride = _int_attr(block, "stride", _int_attr(block, "size", frame_bytes, src), src)
            regions = [
                b for b in block if _local(b.tag) == "DataBlock" and b.get("type") == "Region"
            ]
            if len(regions) > 1:
                raise FileFormatError(
                    f"the SPE file holds {len(regions)} regions of interest per frame; "
                    "qdstack reads single-region spectra (export each region as text)",
                    src,
                )
            if stride < frame_bytes:
                raise FileFormatError(
                    f"SPE frame stride {stride} is smaller than a frame ({frame_bytes} bytes)", src
                )
            return stride
    return frame_bytes


def _footer_wavelengths(root: ET.Element, xdim: int, src: str) -> tuple[np.ndarray, str]:
    for name in ("Wavelength", "WavelengthError"):
        for el in _find(root, name):
            text = (el.text or "").strip()
            if not text:
                continue
            try:
                vals = np.array([float(v) for v in text.replace("\n", ",").split(",") if v.strip()])
            except ValueError:
                raise FileFormatError(f"SPE 3.0 <{name}> holds non-numbers", src) from None
            if name == "WavelengthError":
                vals = vals[0::2]  # wavelength,error pairs
            if vals.size == xdim:
                return vals, "Wavelength [nm]"
            # a mapping of the whole sensor: the region starts at its x offset (unbinned only)
            mapping = _find(root, "SensorMapping")
            x0 = _int_attr(mapping[0], "x", 0, src) if mapping else 0
            binned = bool(mapping) and _int_attr(mapping[0], "xBinning", 1, src) != 1
            if x0 < 0:
                raise FileFormatError(f"SPE 3.0 footer: sensor mapping starts at x = {x0}", src)
            if not binned and vals.size >= x0 + xdim:
                return vals[x0 : x0 + xdim], "Wavelength [nm]"
            raise FileFormatError(
                f"SPE 3.0 wavelength mapping has {vals.size} values for {xdim} pixels"
                + (" (binned along x)" if binned else ""),
                src,
            )
    raise FileFormatError(
        "the SPE 3.0 file has no wavelength calibration (no <Wavelength> in its XML footer); "
        "calibrate the axis in LightField or export the spectrum as text",
        src,
    )
