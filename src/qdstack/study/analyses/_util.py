"""Helpers shared by the study analyses."""

from __future__ import annotations

from qdstack.study.tasks import figure_png

__all__ = ["group_label", "png", "fmt", "safe_name", "sample_gap_nm"]


def group_label(linker: str | None, gap_nm: float | None) -> str:
    """Series label of a sample: its linker, else its gap, else 'no linker'."""
    if linker:
        return linker
    if gap_nm is not None:
        return f"gap {gap_nm:g} nm"
    return "no linker"


def png(ax_or_fig) -> bytes:
    """PNG bytes of the Figure an Axes (or a Figure) belongs to."""
    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    return figure_png(fig)


def fmt(value, spec: str = ".4g", unit: str = "") -> str:
    """Format a number for the report summary ('n/a' for None/NaN)."""
    import math

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{format(value, spec)}{(' ' + unit) if unit else ''}"


def safe_name(text: str) -> str:
    """A file-name-safe stem of a user string (letters, digits and underscores)."""
    out = "".join(c if c.isalnum() else "_" for c in text)
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_") or "x"


def sample_gap_nm(linker: str | None, gap_nm: float | None) -> tuple[float | None, str | None]:
    """(gap [nm], where it came from) of a manifest entry; (None, None) when it names neither.

    The manifest's ``gap_nm`` wins; else the linker's gap from
    :func:`qdstack.linkers.linker_gap_nm` (the one function that turns a linker into a gap).
    """
    if gap_nm is not None:
        return float(gap_nm), "gap_nm from the manifest"
    if linker:
        from qdstack.linkers import linker_gap_nm

        return float(linker_gap_nm(linker)), f"linker {linker} (S-S distance, mmff all-anti)"
    return None, None
