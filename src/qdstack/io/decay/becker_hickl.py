"""Becker & Hickl SDT files, through :mod:`sdtfile`."""

from __future__ import annotations

import math
import os
import struct
import warnings

import numpy as np

from qdstack.errors import FileFormatError, QdstackError
from qdstack.io.decay.histogram import DecayHistogram, _assemble, _channel_note, _pick_channel


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
