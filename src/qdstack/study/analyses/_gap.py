"""The inter-dot gap of a sample: its gap_nm, else its linker's S-S distance."""

from __future__ import annotations

__all__ = ["sample_gap_nm"]


def sample_gap_nm(linker: str | None, gap_nm: float | None) -> tuple[float | None, str | None]:
    """(gap [nm], where it came from); (None, None) when the sample names neither."""
    if gap_nm is not None:
        return float(gap_nm), "gap_nm from the manifest"
    if linker:
        from qdstack.analysis.film import linker_gap

        return float(linker_gap(linker)), f"linker {linker} (S-S distance, mmff all-anti)"
    return None, None
