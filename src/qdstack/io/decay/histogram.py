"""The decay histogram, format detection and what every reader shares (:mod:`qdstack.io.decay`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError, OptionError

_UNIT_NS = {"ps": 1e-3, "ns": 1.0, "us": 1e3}
_UNIT_PATTERNS = (
    ("ps", re.compile(r"(?<![a-z])ps(?![a-z])|pico", re.I)),
    ("us", re.compile(r"(?<![a-z])(?:us|µs|μs)(?![a-z])|micro", re.I)),
    ("ns", re.compile(r"(?<![a-z])ns(?![a-z])|nano", re.I)),
)


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


def _axis(n: int, dt_ns: float, t0_ns: float = 0.0) -> np.ndarray:
    return t0_ns + np.arange(n) * dt_ns


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
