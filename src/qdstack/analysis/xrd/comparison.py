"""Comparisons of XRD periods.

A period against dot edge + linker gap, and the in-plane vs out-of-plane comparison
of two fits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qdstack._result import Result, pm_sig
from qdstack.analysis.xrd.results import XRDFit
from qdstack.errors import InputError

# ----------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class PeriodComparison(Result):
    """A measured period against dot edge + linker gap.

    Attributes
    ----------
    measured_nm, measured_nm_err : float
        d = 2 pi / q of the chosen peak [nm].
    peak : int
        1-based index (in q order) of the peak used.
    expected_nm, expected_nm_err : float
        L + D and its uncertainty sqrt(dL^2 + dD^2) [nm] (dL is the uncertainty of the mean edge).
    edge_nm, gap_nm : float
    gap_source : str
    difference_nm : float
        measured - expected [nm].
    z_score : float or None
        difference / combined error; None when no error is known.
    """

    measured_nm: float
    measured_nm_err: float
    peak: int
    expected_nm: float
    expected_nm_err: float
    edge_nm: float
    gap_nm: float
    gap_source: str
    difference_nm: float
    z_score: float | None

    def to_dict(self) -> dict:
        return {
            "measured_nm": self.measured_nm,
            "measured_nm_err": self.measured_nm_err,
            "peak": self.peak,
            "expected_nm": self.expected_nm,
            "expected_nm_err": self.expected_nm_err,
            "edge_nm": self.edge_nm,
            "gap_nm": self.gap_nm,
            "gap_source": self.gap_source,
            "difference_nm": self.difference_nm,
            "z_score": self.z_score,
        }

    def _plot(self, ax):
        from qdstack.plotting.xrd import plot_periods

        return plot_periods(self, ax=ax)

    def summary_blocks(self, prefix: str = ""):
        z = "n/a" if self.z_score is None else f"{self.z_score:+.1f}"
        expected = (
            pm_sig(self.expected_nm, self.expected_nm_err)
            if self.expected_nm_err > 0
            else f"{self.expected_nm:.3f}"
        )
        return (
            f"{prefix}period {pm_sig(self.measured_nm, self.measured_nm_err)} nm vs edge + gap = "
            f"{self.edge_nm:g} + {self.gap_nm:.3f} = {expected} nm ({self.gap_source}): "
            f"difference {self.difference_nm:+.3f} nm, z = {z}",
        )


def _choose_peak(fit: XRDFit, peak: int | None) -> int:
    if peak is None:
        return fit.strongest()
    if not 1 <= peak <= len(fit.peaks):
        raise InputError(f"peak {peak} requested but the fit has {len(fit.peaks)}", "--period-peak")
    return peak - 1


def compare_period(
    fit: XRDFit,
    edge_nm: float,
    gap_nm: float,
    *,
    edge_err_nm: float = 0.0,
    gap_err_nm: float = 0.0,
    gap_source: str = "--gap-nm",
    peak: int | None = None,
) -> PeriodComparison:
    """Compare the period d of a fitted peak with the stacking period L + D.

    Parameters
    ----------
    fit : XRDFit
    edge_nm, gap_nm : float
        Mean dot edge L and linker gap D [nm].
    edge_err_nm, gap_err_nm : float
        Uncertainties of the *mean* edge and of the gap [nm] (XRD averages over
        very many dots, so the size spread itself does not enter).
    peak : int, optional
        1-based peak (in q order); default the strongest (largest area).
    """
    i = _choose_peak(fit, peak)
    pk = fit.peaks[i]
    expected = float(edge_nm) + float(gap_nm)
    exp_err = math.hypot(edge_err_nm, gap_err_nm)
    diff = pk.d_nm - expected
    total = math.hypot(pk.d_nm_err if math.isfinite(pk.d_nm_err) else 0.0, exp_err)
    return PeriodComparison(
        measured_nm=pk.d_nm,
        measured_nm_err=pk.d_nm_err,
        peak=i + 1,
        expected_nm=expected,
        expected_nm_err=exp_err,
        edge_nm=float(edge_nm),
        gap_nm=float(gap_nm),
        gap_source=gap_source,
        difference_nm=diff,
        z_score=diff / total if total > 0 else None,
    )


@dataclass(frozen=True)
class DirectionComparison(Result):
    """In-plane vs out-of-plane periods of a film.

    Attributes
    ----------
    in_plane_nm, in_plane_nm_err : float
        d of the chosen in-plane peak [nm].
    out_of_plane_nm, out_of_plane_nm_err : float
        d of the chosen out-of-plane peak [nm].
    ratio, ratio_err : float
        out-of-plane / in-plane period (< 1: the stack is compressed along the normal).
    difference_nm, difference_nm_err : float
        in-plane - out-of-plane [nm].
    out_of_plane_vs_expected : PeriodComparison or None
        The out-of-plane period against edge + linker gap.
    """

    in_plane_nm: float
    in_plane_nm_err: float
    out_of_plane_nm: float
    out_of_plane_nm_err: float
    ratio: float
    ratio_err: float
    difference_nm: float
    difference_nm_err: float
    out_of_plane_vs_expected: PeriodComparison | None = None

    def to_dict(self) -> dict:
        return {
            "in_plane_period_nm": self.in_plane_nm,
            "in_plane_period_nm_err": self.in_plane_nm_err,
            "out_of_plane_period_nm": self.out_of_plane_nm,
            "out_of_plane_period_nm_err": self.out_of_plane_nm_err,
            "ratio": self.ratio,
            "ratio_err": self.ratio_err,
            "difference_nm": self.difference_nm,
            "difference_nm_err": self.difference_nm_err,
            "out_of_plane_vs_expected": None
            if self.out_of_plane_vs_expected is None
            else self.out_of_plane_vs_expected.to_dict(),
        }

    def _plot(self, ax):
        from qdstack.plotting.xrd import plot_periods

        return plot_periods(self, ax=ax)

    def summary_blocks(self):
        blocks = [
            f"in-plane period {pm_sig(self.in_plane_nm, self.in_plane_nm_err)} nm, out-of-plane "
            f"{pm_sig(self.out_of_plane_nm, self.out_of_plane_nm_err)} nm, ratio out/in = "
            f"{pm_sig(self.ratio, self.ratio_err)}"
        ]
        if self.out_of_plane_vs_expected is not None:
            blocks.extend(self.out_of_plane_vs_expected.summary_blocks(prefix="out-of-plane "))
        return tuple(blocks)


def compare_directions(
    in_plane: XRDFit,
    out_of_plane: XRDFit,
    *,
    in_plane_peak: int | None = None,
    out_of_plane_peak: int | None = None,
    expected: PeriodComparison | None = None,
) -> DirectionComparison:
    """Both periods, their ratio (out-of-plane / in-plane) and difference, with propagated errors.

    ``ratio_err = ratio sqrt((dd_out/d_out)^2 + (dd_in/d_in)^2)`` (independent profiles).
    """
    a = in_plane.peaks[_choose_peak(in_plane, in_plane_peak)]
    b = out_of_plane.peaks[_choose_peak(out_of_plane, out_of_plane_peak)]
    ratio = b.d_nm / a.d_nm
    ratio_err = ratio * math.hypot(b.d_nm_err / b.d_nm, a.d_nm_err / a.d_nm)
    return DirectionComparison(
        in_plane_nm=a.d_nm,
        in_plane_nm_err=a.d_nm_err,
        out_of_plane_nm=b.d_nm,
        out_of_plane_nm_err=b.d_nm_err,
        ratio=ratio,
        ratio_err=ratio_err,
        difference_nm=a.d_nm - b.d_nm,
        difference_nm_err=math.hypot(a.d_nm_err, b.d_nm_err),
        out_of_plane_vs_expected=expected,
    )
