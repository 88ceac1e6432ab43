"""One scan of a diffractometer file (:class:`RawScan`), format sniffing, and helpers the readers share.

See :mod:`qdstack.io.xrd_formats` for the formats.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError

__all__ = ["RawScan", "sniff_format"]

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
        The wavelength the file states [nm] (which line: see the reader's module docstring).
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


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _quietly(func, *args):
    """Call a third-party reader with its stdout captured (it may print); returns (value, printed)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        value = func(*args)
    return value, buf.getvalue().strip()


def _float_or_none(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
