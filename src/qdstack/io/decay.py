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
"""

from __future__ import annotations

import logging
import math
import os
import re
import struct
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError, OptionError, QdstackError, QdstackWarning
from qdstack.io.table import read_numeric_table

__all__ = ["DecayHistogram", "read_decay", "detect_decay_format", "detect_time_unit"]

_UNIT_NS = {"ps": 1e-3, "ns": 1.0, "us": 1e3}
_UNIT_PATTERNS = (
    ("ps", re.compile(r"(?<![a-z])ps(?![a-z])|pico", re.I)),
    ("us", re.compile(r"(?<![a-z])(?:us|µs|μs)(?![a-z])|micro", re.I)),
    ("ns", re.compile(r"(?<![a-z])ns(?![a-z])|nano", re.I)),
)
#: at most this many bins per period when a T2 file is histogrammed (default bin width)
_T2_MAX_BINS = 1024


@dataclass(frozen=True)
class DecayHistogram:
    """One TCSPC decay histogram in qdstack's units.

    Attributes
    ----------
    time_ns : ndarray, shape (n,)
        Start of each bin [ns], uniform, ascending.
    counts : ndarray, shape (n,)
        Photons per bin (non-negative integers, stored as float).
    bin_width_ns : float
    period_ns : float or None
        Laser (sync) repetition period, when the file records it.
    channel : int or None
        The channel (count column, detector channel or curve) this histogram is.
    channels : tuple of (int, int)
        Every channel in the file and its number of photons.
    source : str
        The file.
    format : str
        ``"text"``, ``"ptu-t3"``, ``"ptu-t2"``, ``"phu"`` or ``"sdt"``.
    notes : tuple of str
        Reader remarks (which channel was chosen, harmless header oddities).
    """

    time_ns: np.ndarray
    counts: np.ndarray
    bin_width_ns: float
    period_ns: float | None
    channel: int | None
    channels: tuple[tuple[int, int], ...]
    source: str
    format: str
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        for name in ("time_ns", "counts"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def photons(self) -> int:
        return int(round(float(self.counts.sum())))

    def __len__(self) -> int:
        return int(self.counts.size)

    def to_dict(self) -> dict:
        return {
            "file": self.source,
            "format": self.format,
            "channel": self.channel,
            "channels": [{"channel": c, "photons": p} for c, p in self.channels],
            "bins": len(self),
            "bin_width_ns": self.bin_width_ns,
            "period_ns": self.period_ns,
            "photons": self.photons,
            "notes": list(self.notes),
        }


# ----------------------------------------------------------------------------- helpers


def detect_decay_format(path: str | os.PathLike) -> str:
    """``"ptu"``, ``"phu"``, ``"sdt"`` or ``"text"`` from the magic bytes and the suffix."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            magic = fh.read(8)
    except FileNotFoundError:
        raise FileFormatError("no such file", os.fspath(path)) from None
    except IsADirectoryError:
        raise FileFormatError("is a directory, not a file", os.fspath(path)) from None
    except OSError as exc:
        raise FileFormatError(
            f"cannot read the file ({exc.strerror or exc})", os.fspath(path)
        ) from None
    if magic.startswith(b"PQTTTR"):
        return "ptu"
    if magic.startswith(b"PQHISTO"):
        return "phu"
    suffix = p.suffix.lower()
    if suffix == ".sdt":
        return "sdt"
    if suffix in (".ptu", ".phu"):
        raise FileFormatError(
            f"a {suffix} file must start with the PicoQuant magic "
            f"{'PQTTTR' if suffix == '.ptu' else 'PQHISTO'}; this one starts with {magic!r}",
            os.fspath(path),
        )
    return "text"


def detect_time_unit(names, header_text: str) -> str:
    """``"ps"``, ``"ns"`` or ``"us"`` from the time column's name, else the header; default ns."""

    def find(text: str) -> list[str]:
        return [unit for unit, pat in _UNIT_PATTERNS if pat.search(text)]

    if names:
        found = find(names[0])
        if found:
            return found[0]
    found = find(header_text)
    if len(set(found)) == 1:
        return found[0]
    return "ns"


def _check_counts(counts: np.ndarray, src: str, where=None) -> np.ndarray:
    """Counts must be finite, non-negative integers; ``where(i)`` names row i in messages."""
    c = np.asarray(counts, dtype=float)
    label = where or (lambda i: f"bin {i}")
    bad = np.nonzero(~np.isfinite(c))[0]
    if bad.size:
        raise FileFormatError(f"{label(int(bad[0]))}: counts are not finite", src)
    neg = np.nonzero(c < 0)[0]
    if neg.size:
        i = int(neg[0])
        raise FileFormatError(
            f"{label(i)}: negative counts ({c[i]:g}); a TCSPC histogram counts photons "
            "(was a background subtracted?)",
            src,
        )
    frac = np.nonzero(np.abs(c - np.round(c)) > 1e-6)[0]
    if frac.size:
        i = int(frac[0])
        raise FileFormatError(
            f"{label(i)}: non-integer counts ({c[i]:g}); a TCSPC histogram counts whole photons "
            "(was it normalised or smoothed?)",
            src,
        )
    return np.round(c)


def _pick_channel(totals: list[tuple[int, int]], channel: int | None, src: str) -> tuple[int, int]:
    """(row index, channel number): the requested channel, else the one with most photons."""
    numbers = [c for c, _ in totals]
    if channel is None:
        row = int(np.argmax([p for _, p in totals]))
        return row, numbers[row]
    if channel not in numbers:
        raise OptionError(
            f"channel {channel} is not in {src}; it has channel(s) "
            + ", ".join(f"{c} ({p} photons)" for c, p in totals),
            "--channel",
        )
    return numbers.index(channel), channel


def _channel_note(totals, chosen, requested) -> list[str]:
    if len(totals) <= 1 or requested is not None:
        return []
    listing = ", ".join(f"{c}: {p}" for c, p in totals)
    return [f"channel {chosen} has the most photons ({listing}); choose another with channel=K"]


@contextmanager
def _quiet_ptufile(notes: list[str]):
    """Collect ptufile's log records instead of printing them.

    Real SymPhoTime files carry indexed tags that ptufile reports as "tag with
    index not in tags" or "tag index out of order" (e.g. ``UsrHeadName``); they
    do not affect the photon data and become notes.  Any other message is
    re-issued as a :class:`~qdstack.errors.QdstackWarning`.
    """
    logger = logging.getLogger("ptufile")
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = _Collect(level=logging.DEBUG)
    old_propagate, old_level = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate
        logger.setLevel(old_level)
        harmless = ("tag with index not in tags", "tag index out of order", "duplicate tag")
        for rec in records:
            msg = rec.getMessage()
            if any(h in msg for h in harmless):
                tag = re.search(r"tagid='([^']*)'", msg)
                note = f"header tag {tag.group(1) if tag else '?'}: {msg.split(' @ ')[0]} (ignored; no effect on the data)"
                if note not in notes:
                    notes.append(note)
            else:
                warnings.warn(f"ptufile: {msg}", QdstackWarning, stacklevel=4)


def _axis(n: int, dt_ns: float, t0_ns: float = 0.0) -> np.ndarray:
    return t0_ns + np.arange(n) * dt_ns


# ----------------------------------------------------------------------------- readers


def _read_text(path, channel, time_unit) -> DecayHistogram:
    src = os.fspath(path)
    table = read_numeric_table(path)
    if table.n_columns < 2:
        raise FileFormatError("a decay needs two columns: time and counts", src)
    unit = time_unit or detect_time_unit(table.names, table.header_text())
    if unit not in _UNIT_NS:
        raise OptionError(f"unknown time unit {unit!r}; use ns, ps or us", "--time-unit")
    t = table.data[:, 0] * _UNIT_NS[unit]
    if t.size < 8:
        raise FileFormatError(f"only {t.size} rows; a decay needs at least 8 time bins", src)
    dt = np.diff(t)
    step = float(t[-1] - t[0]) / (t.size - 1)
    if not (step > 0 and np.all(dt > 0)):
        raise FileFormatError("the time column must be strictly ascending", src)
    # exports print times rounded (0.0488, 0.0977, ...): allow 10 % of a bin between rows and
    # 5 % of a bin from the straight line through the first and last time
    off = np.nonzero((np.abs(dt - step) > 0.1 * step))[0]
    drift = np.abs(t - (t[0] + step * np.arange(t.size)))
    if off.size or drift.max() > 0.05 * step:
        i = int(off[0]) if off.size else max(0, int(np.argmax(drift)) - 1)
        raise FileFormatError(
            f"line {table.first_line + i + 1}: the time column is not uniformly spaced "
            f"({t[i]:g} then {t[i + 1]:g} ns, mean step {step:g} ns); TCSPC bins must be equal",
            src,
        )

    def where(row):
        return f"line {table.first_line + row}"

    cols = [_check_counts(table.data[:, j], src, where) for j in range(1, table.n_columns)]
    totals = [(j, int(round(float(c.sum())))) for j, c in enumerate(cols)]
    row, chosen = _pick_channel(totals, channel, src)
    notes = []
    if len(cols) > 1 and channel is None:
        name = table.names[row + 1] if table.names else f"column {row + 2}"
        notes.append(
            f"{len(cols)} count columns; using {name!r} (channel {chosen}, the most photons); "
            "choose another with channel=K (0 = the first count column)"
        )
    if unit != "ns":
        notes.append(f"time column in {unit}, converted to ns")
    return DecayHistogram(
        time_ns=_axis(t.size, step, float(t[0])),
        counts=cols[row],
        bin_width_ns=step,
        period_ns=None,
        channel=chosen if len(cols) > 1 else None,
        channels=tuple(totals),
        source=src,
        format="text",
        notes=tuple(notes),
    )


def _t2_histogram(ptu, src: str, bin_ns: float | None, notes: list[str]):
    """Histogram of photon delays after the preceding sync event for a T2 file, per channel."""
    from ptufile import PtuRecordType

    rectype = PtuRecordType(ptu.tags["TTResultFormat_TTTRRecType"])
    raw = ptu.read_records()
    rec = ptu.decode_records(raw)
    res_s = float(ptu.tags.get("MeasDesc_Resolution", ptu.global_resolution))
    glob_s = float(ptu.global_resolution)
    times = rec["time"].astype(np.int64)
    ch = rec["channel"].astype(np.int64)
    if rectype == PtuRecordType.PicoHarpT2:
        # PicoHarp 300 in T2 mode records the sync input as channel 0
        is_sync = ch == 0
        photon = ch > 0
        notes.append("PicoHarp T2: channel 0 is the sync input, photons on channel 1")
    else:
        # HydraHarp, TimeHarp 260, MultiHarp (generic) T2: special records with channel field 0
        raw = np.asarray(raw, dtype=np.uint32)
        special = (raw >> 31) == 1
        chan_field = (raw >> 25) & 0x3F
        is_sync = special & (chan_field == 0)
        photon = ~special & (ch >= 0)
    sync_t = times[is_sync]
    if sync_t.size < 2:
        raise FileFormatError(
            "this T2 file has no sync events, so photon delays cannot be histogrammed", src
        )
    period_ticks = float(np.median(np.diff(sync_t)))
    period_ns = period_ticks * glob_s * 1e9
    res_ns = res_s * 1e9
    if bin_ns is None:
        factor = max(1, math.ceil(period_ns / res_ns / _T2_MAX_BINS))
        bin_ns = factor * res_ns
    elif not bin_ns > 0:
        raise OptionError("the T2 bin width must be positive", "--t2-bin-ns")
    n_bins = max(8, int(math.ceil(period_ns / bin_ns)))
    ph_t = times[photon]
    ph_c = ch[photon]
    k = np.searchsorted(sync_t, ph_t, side="right") - 1
    ok = k >= 0
    delay_ns = (ph_t[ok] - sync_t[k[ok]]) * glob_s * 1e9
    ph_c = ph_c[ok]
    idx = np.floor(delay_ns / bin_ns).astype(np.int64)
    inside = idx < n_bins
    channels = sorted(set(int(c) for c in np.unique(ph_c)))
    hist = np.zeros((len(channels), n_bins))
    for r, c in enumerate(channels):
        sel = inside & (ph_c == c)
        hist[r] = np.bincount(idx[sel], minlength=n_bins)[:n_bins]
    notes.append(f"T2 records: delays after the preceding sync histogrammed in {bin_ns:g} ns bins")
    return hist, channels, bin_ns, period_ns


def _read_ptu(path, channel, t2_bin_ns) -> DecayHistogram:
    import ptufile

    src = os.fspath(path)
    notes: list[str] = []
    try:
        with _quiet_ptufile(notes):
            with ptufile.PtuFile(path) as ptu:
                if ptu.is_t3:
                    hist = np.asarray(ptu.decode_histogram(dtime=0), dtype=float)
                    if hist.ndim != 2:
                        raise FileFormatError(f"unexpected histogram shape {hist.shape}", src)
                    coords = ptu.coords.get("C") if isinstance(ptu.coords, dict) else None
                    numbers = (
                        [int(c) for c in coords]
                        if coords is not None and len(coords) == hist.shape[0]
                        else list(range(hist.shape[0]))
                    )
                    dt_ns = float(ptu.tcspc_resolution) * 1e9
                    period_ns = float(ptu.global_resolution) * 1e9
                    fmt = "ptu-t3"
                    if ptu.is_image:
                        notes.append("T3 image: the decay is summed over all pixels and frames")
                else:
                    hist, numbers, dt_ns, period_ns = _t2_histogram(ptu, src, t2_bin_ns, notes)
                    fmt = "ptu-t2"
    except QdstackError:
        raise
    except (ptufile.PqFileError, ValueError, OSError, KeyError, struct.error) as exc:
        raise FileFormatError(f"not a readable PicoQuant PTU file ({exc})", src) from None
    return _assemble(hist, numbers, dt_ns, period_ns, channel, src, fmt, notes)


def _read_phu(path, channel) -> DecayHistogram:
    import ptufile

    src = os.fspath(path)
    notes: list[str] = []
    try:
        with _quiet_ptufile(notes):
            with ptufile.PhuFile(path) as phu:
                curves = [np.asarray(h, dtype=float) for h in phu.histograms()]
                tags = phu.tags
                n = len(curves)
                res = tags.get("HistResDscr_MDescResolution")
                res_list = (
                    list(res)
                    if isinstance(res, (list, tuple))
                    else [tags.get("MeasDesc_Resolution")] * n
                )
                sync = tags.get("HistResDscr_SyncRate")
                sync_list = list(sync) if isinstance(sync, (list, tuple)) else [sync] * n
    except QdstackError:
        raise
    except (ptufile.PqFileError, ValueError, OSError, KeyError, struct.error) as exc:
        raise FileFormatError(f"not a readable PicoQuant PHU file ({exc})", src) from None
    if n == 0:
        raise FileFormatError("the PHU file holds no histograms", src)
    totals = [(i, int(round(float(c.sum())))) for i, c in enumerate(curves)]
    row, chosen = _pick_channel(totals, channel, src)
    res_s = res_list[row] if row < len(res_list) else None
    if res_s is None or not (1e-14 < float(res_s) < 1e-6):
        raise FileFormatError(
            f"curve {chosen}: implausible bin width {res_s!r} s in HistResDscr_MDescResolution", src
        )
    sr = sync_list[row] if row < len(sync_list) else None
    period_ns = 1e9 / float(sr) if sr and float(sr) > 0 else None
    if period_ns is None:
        notes.append(
            "no sync rate in the file: the repetition period is unknown (give it with period_ns)"
        )
    return _assemble(
        np.array([curves[row]]),
        [chosen],
        float(res_s) * 1e9,
        period_ns,
        None,
        src,
        "phu",
        notes + _channel_note(totals, chosen, channel),
        channels=totals,
    )


def _read_sdt(path, channel) -> DecayHistogram:
    import sdtfile

    src = os.fspath(path)
    notes: list[str] = []
    try:
        # sdtfile leaves a file it opened itself unclosed when the header is bad: open it here
        with open(path, "rb") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with sdtfile.SdtFile(fh) as sdt:
                curves = []
                dts = []
                periods = []
                for b, data in enumerate(sdt.data):
                    arr = np.asarray(data, dtype=float)
                    mi = sdt.block_measure_info(b)
                    adc = int(mi.adc_re) or 65536
                    tac_g = float(mi.tac_g)
                    dt_s = float(mi.tac_r) / (tac_g * adc) if tac_g else float("nan")
                    rows = arr.reshape(-1, arr.shape[-1])
                    if arr.ndim > 2:
                        rows = rows.sum(axis=0, keepdims=True)
                        notes.append(
                            f"data block {b} is an image: its decay is summed over the pixels"
                        )
                    try:
                        lo = float(mi.StopInfo.min_sync_rate)
                        hi = float(mi.StopInfo.max_sync_rate)
                    except (AttributeError, ValueError):
                        lo = hi = 0.0
                    per = 1e9 / hi if lo > 0 and hi > 0 and abs(hi - lo) <= 0.01 * hi else None
                    for r in rows:
                        curves.append(r)
                        dts.append(dt_s)
                        periods.append(per)
    except QdstackError:
        raise
    except (
        ValueError,
        OSError,
        NotImplementedError,
        AssertionError,
        IndexError,
        struct.error,
    ) as exc:
        raise FileFormatError(f"not a readable Becker & Hickl SDT file ({exc})", src) from None
    if not curves:
        raise FileFormatError("the SDT file holds no decay curves", src)
    totals = [(i, int(round(float(np.sum(c))))) for i, c in enumerate(curves)]
    row, chosen = _pick_channel(totals, channel, src)
    dt_s = dts[row]
    if not (math.isfinite(dt_s) and 1e-14 < dt_s < 1e-6):
        raise FileFormatError(
            f"curve {chosen}: implausible bin width {dt_s!r} s (tac_r / (tac_g adc_re))", src
        )
    if periods[row] is None:
        notes.append(
            "no stable sync rate in the file: the repetition period is unknown (give it with period_ns)"
        )
    return _assemble(
        np.array([curves[row]]),
        [chosen],
        dt_s * 1e9,
        periods[row],
        None,
        src,
        "sdt",
        notes + _channel_note(totals, chosen, channel),
        channels=totals,
    )


def _assemble(
    hist, numbers, dt_ns, period_ns, channel, src, fmt, notes, channels=None
) -> DecayHistogram:
    """Pick the channel (unless already picked), check the counts, build the histogram."""
    hist = np.asarray(hist, dtype=float)
    if channels is None:
        totals = [(int(c), int(round(float(h.sum())))) for c, h in zip(numbers, hist)]
        row, chosen = _pick_channel(totals, channel, src)
        notes = notes + _channel_note(totals, chosen, channel)
    else:
        totals, row, chosen = channels, 0, numbers[0]
    counts = _check_counts(hist[row], src)
    if counts.size < 8:
        raise FileFormatError(f"only {counts.size} bins; a decay needs at least 8", src)
    if not dt_ns > 0:
        raise FileFormatError(f"implausible bin width {dt_ns!r} ns", src)
    return DecayHistogram(
        time_ns=_axis(counts.size, dt_ns),
        counts=counts,
        bin_width_ns=float(dt_ns),
        period_ns=None if period_ns is None else float(period_ns),
        channel=int(chosen),
        channels=tuple((int(c), int(p)) for c, p in totals),
        source=src,
        format=fmt,
        notes=tuple(notes),
    )


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
