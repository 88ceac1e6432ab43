"""PicoQuant PTU (T2 and T3 records) and PHU histogram files, through :mod:`ptufile`."""

from __future__ import annotations

import logging
import math
import os
import re
import struct
import warnings
from contextlib import contextmanager

import numpy as np

from qdstack.errors import FileFormatError, OptionError, QdstackError, QdstackWarning
from qdstack.io.decay.histogram import DecayHistogram, _assemble, _channel_note, _pick_channel

#: at most this many bins per period when a T2 file is histogrammed (default bin width)
_T2_MAX_BINS = 1024


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
