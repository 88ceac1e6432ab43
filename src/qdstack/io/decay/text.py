"""Text exports (CSV, TSV, ...): a time column and one or more count columns."""

from __future__ import annotations

import os

import numpy as np

from qdstack.errors import FileFormatError, OptionError
from qdstack.io.decay.histogram import (
    DecayHistogram,
    _axis,
    _check_counts,
    _pick_channel,
    _UNIT_NS,
    detect_time_unit,
)
from qdstack.io.table import read_numeric_table


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
