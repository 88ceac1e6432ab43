"""Thickness and stacking period of a layer-by-layer quantum-dot film.

A film of N layers built layer by layer (Enomoto et al., Chem. Sci. 2024, 15,
13049) stacks, in every column normal to the substrate, N dots of edge L
separated by the linker gap D.  Its period and thickness are

    P = L + D,        T = N P = N (L + D).

The paper checks this against a cross-sectional SEM thickness: N = 20 layers,
L = 6.8 nm (mean edge), D = 0.55 nm (C3DT) give P = 7.35 nm and T = 147 nm, vs
130 +- 10 nm measured (Fig. S4); with C10DT (D = 1.46 nm) P = 8.26 nm.

How the size distribution propagates
------------------------------------
``edge_sd_nm`` (S) is the standard deviation of the dot-edge *distribution*
(the width of a TEM size histogram), not the uncertainty of the mean edge.  Its
effect on a thickness depends on what the thickness is an average of:

``"column"`` (default)
    One column holds N independent dots, so its thickness scatters by
    ``sqrt(N) S`` about ``N (L + D)``.  A thickness averaged over M independent
    columns (``columns=M``) scatters by ``sqrt(N / M) S``.  This is the right
    comparison for a local thickness (an SEM cross-section read at one place,
    whose quoted error is the scatter of such readings); it is the default
    because the paper's 130 +- 10 nm is such a reading.
``"systematic"``
    Every layer is off by the same amount: ``N S``.  Use it when S is the
    uncertainty of the mean edge (e.g. of a TEM calibration), which no amount
    of averaging over columns removes.

The gap's uncertainty ``gap_err_nm`` is always systematic (the same molecule
links every layer): it adds ``N dD`` in quadrature.  ``period_nm_err`` is
``thickness_nm_err / N``, the uncertainty of the mean period of the stack, so
that ``T = N P`` holds for values and errors alike; ``period_spread_nm`` is the
scatter of a single dot-to-dot period, ``sqrt(S^2 + dD^2)``.

The z-score compares the prediction with a measurement,
``z = (T - T_meas) / sqrt(dT^2 + dT_meas^2)``: |z| < 2 is agreement at about
95 % confidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from qdstack._result import Result
from qdstack.errors import InputError

__all__ = ["FilmThickness", "film_thickness", "film_period_nm", "Propagation"]

Propagation = Literal["column", "systematic"]


def film_period_nm(edge_nm: float, gap_nm: float) -> float:
    """Stacking period P = L + D [nm] of dots of edge ``edge_nm`` separated by ``gap_nm``."""
    return float(edge_nm) + float(gap_nm)


@dataclass(frozen=True)
class FilmThickness(Result):
    """Predicted period and thickness of an N-layer film, optionally against a measurement.

    Attributes
    ----------
    layers : int
        Number of dot layers N.
    edge_nm, edge_sd_nm : float
        Mean dot edge L and the standard deviation S of the edge distribution [nm].
    gap_nm, gap_err_nm : float
        Linker gap D and its (systematic) uncertainty [nm].
    gap_source : str
        Where D came from (``"--gap-nm"`` or ``"linker C3DT (mmff)"``).
    period_nm, period_nm_err : float
        P = L + D and the uncertainty of the stack's mean period (``thickness_nm_err / N``) [nm].
    period_spread_nm : float
        Scatter of a single period, sqrt(S^2 + dD^2) [nm].
    thickness_nm, thickness_nm_err : float
        T = N P and its uncertainty under ``propagation`` [nm].
    propagation : {"column", "systematic"}
    columns : int
        Number of independent columns the thickness is averaged over (``"column"`` only).
    measured_nm, measured_err_nm : float or None
        A measured thickness (SEM, profilometry, ellipsometry) and its error [nm].
    difference_nm : float or None
        T - T_meas [nm].
    z_score : float or None
        (T - T_meas) / sqrt(dT^2 + dT_meas^2); None without a measurement or with no error at all.
    warnings : tuple of str
    """

    layers: int
    edge_nm: float
    edge_sd_nm: float
    gap_nm: float
    gap_err_nm: float
    gap_source: str
    period_nm: float
    period_nm_err: float
    period_spread_nm: float
    thickness_nm: float
    thickness_nm_err: float
    propagation: str
    columns: int
    measured_nm: float | None = None
    measured_err_nm: float | None = None
    difference_nm: float | None = None
    z_score: float | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {
            "period_nm": self.period_nm,
            "period_nm_err": self.period_nm_err,
            "thickness_nm": self.thickness_nm,
            "thickness_nm_err": self.thickness_nm_err,
            "gap_nm": self.gap_nm,
            "measured_nm": self.measured_nm,
            "z_score": self.z_score,
            "layers": self.layers,
            "edge_nm": self.edge_nm,
            "edge_sd_nm": self.edge_sd_nm,
            "gap_err_nm": self.gap_err_nm,
            "gap_source": self.gap_source,
            "period_spread_nm": self.period_spread_nm,
            "propagation": self.propagation,
            "columns": self.columns,
            "measured_err_nm": self.measured_err_nm,
            "difference_nm": self.difference_nm,
            "warnings": list(self.warnings),
        }

    def summary_blocks(self):
        blocks = [
            f"period = L + D = {self.edge_nm:g} + {self.gap_nm:.3f} = {self.period_nm:.3f} ± "
            f"{self.period_nm_err:.3f} nm (gap from {self.gap_source})",
            f"thickness = N × period = {self.layers} × {self.period_nm:.3f} = {self.thickness_nm:.1f} ± "
            f"{self.thickness_nm_err:.1f} nm ({self.propagation} propagation of the edge s.d. {self.edge_sd_nm:g} nm)",
        ]
        if self.measured_nm is not None:
            z = "n/a" if self.z_score is None else f"{self.z_score:+.2f}"
            verdict = (
                ""
                if self.z_score is None
                else ("agrees (|z| < 2)" if abs(self.z_score) < 2 else "disagrees (|z| >= 2)")
            )
            err = "" if self.measured_err_nm is None else f" ± {self.measured_err_nm:g}"
            blocks.append(
                f"measured {self.measured_nm:g}{err} nm: difference {self.difference_nm:+.1f} nm, "
                f"z = {z} {verdict}"
            )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.thickness import plot_thickness

        return plot_thickness(self, ax=ax)


def _check(value, name, *, positive=False, allow_none=False):
    if value is None and allow_none:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a number", name) from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise InputError(
            f"must be a finite {'positive' if positive else 'non-negative'} number, got {value!r}",
            name,
        )
    return v


def film_thickness(
    layers: int,
    edge_nm: float,
    gap_nm: float,
    *,
    edge_sd_nm: float = 0.0,
    gap_err_nm: float = 0.0,
    propagation: Propagation = "column",
    columns: int = 1,
    measured_nm: float | None = None,
    measured_err_nm: float | None = None,
    gap_source: str = "--gap-nm",
) -> FilmThickness:
    """Period and thickness of an N-layer film, and its z-score against a measured thickness.

    Parameters
    ----------
    layers : int
        Number of dot layers N >= 1.
    edge_nm : float
        Mean dot edge L [nm].
    gap_nm : float
        Linker gap D between neighbouring dots [nm] (S-S distance for a dithiol).
    edge_sd_nm : float
        Standard deviation S of the dot-edge distribution [nm].
    gap_err_nm : float
        Uncertainty of D [nm] (systematic: the same in every layer).
    propagation : {"column", "systematic"}
        How S enters the thickness (module docstring): ``sqrt(N / M) S`` or ``N S``.
    columns : int
        M, the number of independent columns a measured thickness averages (``"column"``).
    measured_nm, measured_err_nm : float, optional
        Measured thickness and its standard error [nm].
    gap_source : str
        Label of where D came from, for the report.

    Returns
    -------
    FilmThickness

    Raises
    ------
    InputError
        Non-positive layers, edge or columns; negative gap, s.d. or errors; unknown propagation.

    References
    ----------
    K. Enomoto et al., Chem. Sci. 2024, 15, 13049 (text around Fig. S4: 20 layers,
    6.8 nm + 0.55 nm = 7.35 nm period, 147 nm estimated vs 130 +- 10 nm by SEM).
    """
    if isinstance(layers, bool) or int(layers) != layers or int(layers) < 1:
        raise InputError(
            f"the number of layers must be a whole number >= 1, got {layers!r}", "--layers"
        )
    n = int(layers)
    edge = _check(edge_nm, "--edge-nm", positive=True)
    gap = _check(gap_nm, "--gap-nm")
    s = _check(edge_sd_nm, "--edge-sd-nm")
    dgap = _check(gap_err_nm, "--gap-err-nm")
    if isinstance(columns, bool) or int(columns) != columns or int(columns) < 1:
        raise InputError(f"must be a whole number >= 1, got {columns!r}", "--columns")
    m = int(columns)
    if propagation not in ("column", "systematic"):
        raise InputError(
            f"unknown propagation {propagation!r}; use column or systematic", "--propagation"
        )
    measured = _check(measured_nm, "--measured-nm", positive=True, allow_none=True)
    measured_err = _check(measured_err_nm, "--measured-err-nm", allow_none=True)
    msgs: list[str] = []
    if measured_err is not None and measured is None:
        raise InputError(
            "a measurement error needs the measured thickness (--measured-nm)", "--measured-err-nm"
        )
    if s > 0.5 * edge:
        msgs.append(
            f"the edge s.d. ({s:g} nm) is more than half the edge ({edge:g} nm); the dots are too "
            "polydisperse for a stack of one dot per layer"
        )
    if propagation == "systematic" and m != 1:
        msgs.append("columns is ignored with systematic propagation")

    period = film_period_nm(edge, gap)
    thickness = n * period
    if propagation == "column":
        size_part = math.sqrt(n / m) * s
    else:
        size_part = n * s
    thickness_err = math.hypot(size_part, n * dgap)
    period_err = thickness_err / n
    spread = math.hypot(s, dgap)

    diff = z = None
    if measured is not None:
        diff = thickness - measured
        total = math.hypot(thickness_err, measured_err or 0.0)
        if total > 0:
            z = diff / total
        else:
            msgs.append(
                "no uncertainty on either side (give --measured-err-nm or --edge-sd-nm); z-score not computed"
            )
    return FilmThickness(
        layers=n,
        edge_nm=edge,
        edge_sd_nm=s,
        gap_nm=gap,
        gap_err_nm=dgap,
        gap_source=gap_source,
        period_nm=period,
        period_nm_err=period_err,
        period_spread_nm=spread,
        thickness_nm=thickness,
        thickness_nm_err=thickness_err,
        propagation=propagation,
        columns=m if propagation == "column" else 1,
        measured_nm=measured,
        measured_err_nm=measured_err,
        difference_nm=diff,
        z_score=z,
        warnings=tuple(msgs),
    )
