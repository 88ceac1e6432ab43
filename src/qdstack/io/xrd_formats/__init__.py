"""Diffractometer files: PANalytical ``.xrdml``, Rigaku ``.ras``, Bruker ``.brml`` and ``.raw``.

Each reader returns every scan of a file as a :class:`RawScan` (2theta in
degrees, intensities as the instrument states them, their Poisson standard
errors, the wavelength the file states); :mod:`qdstack.io.profile` turns a scan
into a :class:`~qdstack.io.profile.Profile` in q.

Where a maintained library reads a format it is used, and only what it leaves
out is read here.

Modules (one per vendor family; every public name is importable from
``qdstack.io.xrd_formats``):

:mod:`~qdstack.io.xrd_formats.scan`
    :class:`RawScan`, :func:`sniff_format` and the helpers the readers share.
:mod:`~qdstack.io.xrd_formats.panalytical`
    ``.xrdml`` (PANalytical XRDML 1.0-2.x), :func:`read_xrdml_scans`.
:mod:`~qdstack.io.xrd_formats.rigaku`
    ``.ras`` (Rigaku SmartLab / RAS), :func:`read_ras_scans`.
:mod:`~qdstack.io.xrd_formats.bruker`
    ``.brml`` (DIFFRAC.SUITE) and ``.raw`` (``RAW1.01``), :func:`read_brml_scans`,
    :func:`read_bruker_raw_scans`.

Each module's docstring says how its format is read and which wavelength it reports.

References
----------
PANalytical XRDML schema, http://www.xrdml.com; D. Kriegner, E. Wintersberger,
J. Stangl, J. Appl. Cryst. 46, 1162 (2013) (xrayutilities); M. Wojdyr, xylib
(``bruker_raw.cpp``, ``brml`` notes) for the Bruker layouts; B. Maranville et
al., reductus (``rigaku.py``) for the RAS attenuator and count-time conventions.
"""

from qdstack.io.xrd_formats.bruker import read_brml_scans, read_bruker_raw_scans
from qdstack.io.xrd_formats.panalytical import read_xrdml_scans
from qdstack.io.xrd_formats.rigaku import read_ras_scans
from qdstack.io.xrd_formats.scan import RawScan, sniff_format

__all__ = [
    "RawScan",
    "read_xrdml_scans",
    "read_ras_scans",
    "read_brml_scans",
    "read_bruker_raw_scans",
    "sniff_format",
]
