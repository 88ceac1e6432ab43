"""TCSPC decay histograms from text exports and instrument files.

Supported inputs
----------------
* **Text** (CSV, TSV, ...): a time column and one or more count columns, read by
  :func:`qdstack.io.table.read_numeric_table` (any delimiter, header lines,
  decimal commas).  The time unit comes from the header (``ns``, ``ps``, ``us``/
  ``µs``), default ns.  Several count columns are channels (``channel=`` picks
  one by 0-based index among them; default the one with most photons).
* **PicoQuant PTU** (``PQTTTR``) through :mod:`ptufile`: T3 records give the
  histogram of micro-times of one period per detector channel
  (``PtuFile.decode_histogram``), the period being the sync period.  T2 records
  carry no micro-time: the delay of each photon after the preceding sync event
  is histogrammed here (bin width ``t2_bin_ns``, default the finest multiple of
  the resolution with at most 1024 bins per period).
* **PicoQuant PHU** (``PQHISTO``) through :mod:`ptufile`: one curve per channel,
  bin width from ``HistResDscr_MDescResolution`` and period from
  ``HistResDscr_SyncRate``.
* **Becker & Hickl SDT** through :mod:`sdtfile`: every decay curve of every data
  block is a channel (images are summed over their pixels); bin width
  ``tac_r / (tac_g * adc_re)``; period from the sync rate recorded at the stop.

Counts must be non-negative integers (a TCSPC histogram counts photons); the
time axis must be uniform.  Anything else is a
:class:`~qdstack.errors.FileFormatError` naming the file and the cause.

Modules (one per vendor format; every name is importable from ``qdstack.io.decay``):

:mod:`~qdstack.io.decay.histogram`
    :class:`DecayHistogram`, :func:`detect_decay_format`, :func:`detect_time_unit` and the
    helpers the readers share.
:mod:`~qdstack.io.decay.text`
    text exports.
:mod:`~qdstack.io.decay.picoquant`
    PicoQuant PTU (T2, T3) and PHU.
:mod:`~qdstack.io.decay.becker_hickl`
    Becker & Hickl SDT.
"""

from __future__ import annotations

import os

from qdstack.errors import FileFormatError

# the readers and the helpers they share, private names included, so that every name of the
# former single module stays importable from here
from qdstack.io.decay.becker_hickl import _read_sdt
from qdstack.io.decay.histogram import (  # noqa: F401
    _UNIT_NS,
    _UNIT_PATTERNS,
    DecayHistogram,
    _assemble,
    _axis,
    _channel_note,
    _check_counts,
    _pick_channel,
    detect_decay_format,
    detect_time_unit,
)
from qdstack.io.decay.picoquant import (  # noqa: F401
    _T2_MAX_BINS,
    _quiet_ptufile,
    _read_phu,
    _read_ptu,
    _t2_histogram,
)
from qdstack.io.decay.text import _read_text

__all__ = ["DecayHistogram", "read_decay", "detect_decay_format", "detect_time_unit"]


def read_decay(
    path: str | os.PathLike,
    channel: int | None = None,
    *,
    time_unit: str | None = None,
    t2_bin_ns: float | None = None,
) -> DecayHistogram:
    """Read a TCSPC decay histogram (text, PicoQuant PTU/PHU or Becker & Hickl SDT).

    Parameters
    ----------
    path : path-like
        The file; the format is found from its first bytes and its suffix.
    channel : int, optional
        Which channel: the count column (0 = the first count column) of a text
        file, the detector channel of a PTU file, the curve of a PHU file, the
        curve (in file order) of an SDT file.  Default: the one with most photons.
    time_unit : {"ns", "ps", "us"}, optional
        Override the time unit of a text file (default from its header, else ns).
    t2_bin_ns : float, optional
        Bin width for histogramming T2 files [ns].

    Returns
    -------
    DecayHistogram

    Raises
    ------
    FileFormatError
        Unreadable or malformed file: negative or non-integer counts, a
        non-uniform time axis, too few bins, no photons.
    OptionError
        A channel the file does not have.
    """
    fmt = detect_decay_format(path)
    if fmt == "ptu":
        hist = _read_ptu(path, channel, t2_bin_ns)
    elif fmt == "phu":
        hist = _read_phu(path, channel)
    elif fmt == "sdt":
        hist = _read_sdt(path, channel)
    else:
        hist = _read_text(path, channel, time_unit)
    if not hist.counts.sum() > 0:
        raise FileFormatError(
            f"channel {hist.channel} has no photons"
            if hist.channel is not None
            else "the histogram has no photons",
            hist.source,
        )
    return hist
