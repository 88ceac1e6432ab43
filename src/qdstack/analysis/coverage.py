"""Monolayer coverage from optical density: dots per µm² and the fraction of a close-packed layer.

A layer of ``n`` dots per area, each absorbing with cross section ``sigma`` at a
photon energy, has (Beer-Lambert, dilute layer, normal incidence)

    OD = n sigma / ln(10),      so      n = OD ln(10) / sigma .

Per-dot cross section (CsPbBr3)
    Maes et al. (J. Phys. Chem. Lett. 2018, 9, 3093) determined, by ICP-MS +
    TEM + absorption on 4-11 nm CsPbBr3 nanocrystals, that at high photon
    energy (3.1 eV, 400 nm) the *intrinsic absorption coefficient* mu_i (the
    absorption coefficient of the dot material inside the dispersion) does
    not depend on size, so the per-dot cross section scales with volume:

        sigma(3.1 eV) = mu_i,3.1eV * L^3        (cubes of edge L)

    qdstack uses ``mu_i,3.1eV = 1.25e5 cm^-1`` with a 30 % relative
    uncertainty (:data:`CSPBBR3_MU_I_3P1EV_PER_CM`).  That value is quoted from
    memory of the paper and could not be checked against its full text offline;
    it is consistent (within 30 %) with the local-field estimate from bulk
    optical constants, mu_i = (2 pi / lambda)(eps2 / n_s)|f_LF|^2 ~ 1e5 cm^-1
    with eps(400 nm) ~ 4.7 + 1.8i and a solvent index n_s = 1.5.  Measured
    CsPbBr3 cross sections in the literature spread by up to an order of
    magnitude (Nguyen, Blundell & Guet, Phys. Rev. B 2020), so treat absolute
    densities as +-30 % at best.  Validity: edges 4-11 nm (the sizes measured).
First excitonic peak
    The band-edge cross section is *not* size-independent per volume; it is
    taken from the sample's own spectrum:
    ``sigma_1S = sigma(3.1 eV) * OD(first peak) / OD(3.1 eV)`` (the ratio of
    the same film's or solution's absorbances).  Give the ratio, or the OD at
    3.1 eV directly, or a spectrum to read both from, or your own
    ``cross_section_cm2``.
Close packing
    A square monolayer of cubes of edge ``L`` with a ligand shell ``s`` on each
    face (neighbours' shells touching, not interdigitated) has
    ``1 / (L + 2 s)^2`` dots per area; the coverage is ``n (L + 2 s)^2``.
Sides
    Dip coating coats both faces of a substrate: give ``sides=2`` when the
    beam crosses two coated faces (the OD is then shared between them).

References
----------
J. Maes, L. Balcaen, E. Drijvers, Q. Zhao, J. De Roo, A. Vantomme, F. Vanhaecke,
P. Geiregat, Z. Hens, J. Phys. Chem. Lett. 9, 3093 (2018).
J. De Roo et al., ACS Nano 10, 2071 (2016) (first CsPbBr3 absorption coefficient, ~8 nm dots).
T. P. T. Nguyen, S. A. Blundell, C. Guet, Phys. Rev. B 101, 195414 (2020) (spread of measured values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from qdstack._result import Result, Table
from qdstack.errors import InputError, OptionError

__all__ = [
    "CSPBBR3_MU_I_3P1EV_PER_CM",
    "CSPBBR3_MU_I_REL_ERR",
    "CSPBBR3_VALID_EDGE_NM",
    "CoverageResult",
    "coverage_from_spectrum",
    "cross_section_3p1eV_cm2",
    "monolayer_coverage",
    "od_ratio_from_spectrum",
]

#: Intrinsic absorption coefficient of CsPbBr3 nanocrystals at 3.1 eV (400 nm) [cm^-1], Maes et al. 2018.
CSPBBR3_MU_I_3P1EV_PER_CM: float = 1.25e5
#: Its relative standard uncertainty used here (see the module docstring).
CSPBBR3_MU_I_REL_ERR: float = 0.30
#: Edge lengths [nm] over which Maes et al. measured it.
CSPBBR3_VALID_EDGE_NM: tuple[float, float] = (4.0, 11.0)
_LN10 = math.log(10.0)
_NM2_PER_UM2 = 1e6
_CM2_PER_NM2 = 1e-14


def cross_section_3p1eV_cm2(edge_nm: float) -> float:
    """Per-dot absorption cross section of a CsPbBr3 cube at 3.1 eV [cm^2]: ``mu_i L^3``."""
    return CSPBBR3_MU_I_3P1EV_PER_CM * (edge_nm * 1e-7) ** 3


@dataclass(frozen=True)
class CoverageResult(Result):
    """Result of :func:`monolayer_coverage` (``to_dict()`` is the JSON of ``qdstack coverage``).

    ``plot()`` draws the spectrum with the two ODs read from it when the result
    comes from :func:`coverage_from_spectrum` (which keeps the spectrum), and
    otherwise the coverage as a function of the assumed cube edge (the input it
    depends on most, as ``L^-3 (L + 2 s)^2``).
    """

    od: float
    od_err: float
    photon_energy: str  # "first_peak" or "3.1 eV"
    edge_nm: float
    edge_err_nm: float
    shell_nm: float
    sides: int
    cross_section_cm2: float
    cross_section_cm2_err: float
    cross_section_source: str
    od_ratio_first_peak_to_3p1eV: float | None
    dots_per_um2: float
    dots_per_um2_err: float
    close_packed_dots_per_um2: float
    coverage_fraction: float
    coverage_fraction_err: float
    warnings: tuple[str, ...] = ()
    #: where the OD ratio was read (set by :func:`coverage_from_spectrum`)
    od_ratio_source: str | None = None
    #: the absorption spectrum the ODs were read from, its first excitonic peak and its OD at 400 nm
    spectrum: object = field(default=None, repr=False, compare=False)
    peak: object = field(default=None, repr=False, compare=False)
    od_3p1eV_read: float | None = None
    #: the keyword arguments of :func:`monolayer_coverage` (to recompute for other edges)
    inputs: dict = field(default_factory=dict, repr=False, compare=False)

    def summary_blocks(self):
        rows = (
            ("dots per µm²", f"{self.dots_per_um2:,.0f}", f"{self.dots_per_um2_err:,.0f}"),
            ("close-packed dots per µm²", f"{self.close_packed_dots_per_um2:,.0f}", ""),
            (
                "coverage (fraction)",
                f"{self.coverage_fraction:.3f}",
                f"{self.coverage_fraction_err:.2g}",
            ),
            (
                "cross section (cm²)",
                f"{self.cross_section_cm2:.3e}",
                f"{self.cross_section_cm2_err:.2e}",
            ),
        )
        return (
            Table("Monolayer coverage", ("quantity", "value", "± 1 s.e."), rows),
            f"pitch {self.edge_nm + 2 * self.shell_nm:g} nm (edge {self.edge_nm:g} + 2 x shell {self.shell_nm:g}); "
            f"{self.sides} coated side(s); cross section: {self.cross_section_source}",
        )

    def to_dict(self) -> dict:
        return {
            "dots_per_um2": self.dots_per_um2,
            "dots_per_um2_err": self.dots_per_um2_err,
            "coverage_fraction": self.coverage_fraction,
            "coverage_fraction_err": self.coverage_fraction_err,
            "close_packed_dots_per_um2": self.close_packed_dots_per_um2,
            "pitch_nm": self.edge_nm + 2 * self.shell_nm,
            "od": self.od,
            "od_err": self.od_err,
            "od_at": self.photon_energy,
            "od_ratio_first_peak_to_3p1eV": self.od_ratio_first_peak_to_3p1eV,
            "edge_nm": self.edge_nm,
            "edge_err_nm": self.edge_err_nm,
            "shell_nm": self.shell_nm,
            "sides": self.sides,
            "cross_section_cm2": self.cross_section_cm2,
            "cross_section_cm2_err": self.cross_section_cm2_err,
            "cross_section_source": self.cross_section_source,
            "warnings": list(self.warnings),
        } | ({"od_ratio_source": self.od_ratio_source} if self.od_ratio_source else {})

    def _plot(self, ax):
        from qdstack.plotting.coverage import plot_coverage_edge, plot_coverage_spectrum

        if self.spectrum is not None:
            return plot_coverage_spectrum(self, ax=ax)
        return plot_coverage_edge(self, ax=ax)


def monolayer_coverage(
    od: float,
    edge_nm: float,
    *,
    od_err: float = 0.0,
    edge_err_nm: float = 0.0,
    shell_nm: float = 0.0,
    od_at: str = "first_peak",
    od_ratio: float | None = None,
    od_3p1eV: float | None = None,
    cross_section_cm2: float | None = None,
    cross_section_rel_err: float | None = None,
    sides: int = 1,
) -> CoverageResult:
    """Dots per µm² and the close-packed fraction of a monolayer from its OD.

    Parameters
    ----------
    od, od_err : float
        Optical density of the layer (and its standard error) at ``od_at``.
    edge_nm, edge_err_nm : float
        Cube edge [nm] (TEM mean) and its error.
    shell_nm : float
        Ligand shell thickness per face [nm] (pitch ``L + 2 s``).
    od_at : {"first_peak", "3.1eV"}
        Where ``od`` was read.
    od_ratio : float, optional
        OD(first peak) / OD(3.1 eV) of the same sample (needed for ``first_peak``
        unless ``od_3p1eV`` or ``cross_section_cm2`` is given).
    od_3p1eV : float, optional
        The OD at 3.1 eV of the same layer; then the density comes from it directly.
    cross_section_cm2, cross_section_rel_err : float, optional
        Your own per-dot cross section at ``od_at`` (overrides the CsPbBr3 relation).
    sides : {1, 2}
        Coated faces the beam crosses.

    Raises
    ------
    OptionError
        Impossible values, or a first-peak OD without a way to get its cross section.
    """
    for name, v, opt in (("od", od, "--od"), ("edge_nm", edge_nm, "--edge-nm")):
        if not (math.isfinite(v) and v > 0):
            raise OptionError(f"must be a positive number, got {v}", opt)
    for name, v, opt in (
        ("od_err", od_err, "--od-err"),
        ("edge_err_nm", edge_err_nm, "--edge-err-nm"),
        ("shell_nm", shell_nm, "--shell-nm"),
    ):
        if not (math.isfinite(v) and v >= 0):
            raise OptionError(f"must be zero or positive, got {v}", opt)
    if sides not in (1, 2):
        raise OptionError(f"must be 1 or 2, got {sides}", "--sides")
    if od_at not in ("first_peak", "3.1eV"):
        raise OptionError(f"unknown {od_at!r}; use first_peak or 3.1eV", "--od-at")
    warnings: list[str] = []
    ratio = None
    od_used, od_used_err = od, od_err
    if cross_section_cm2 is not None:
        if not (math.isfinite(cross_section_cm2) and cross_section_cm2 > 0):
            raise OptionError(
                f"must be a positive number, got {cross_section_cm2}", "--cross-section-cm2"
            )
        sigma = cross_section_cm2
        rel = cross_section_rel_err or 0.0
        source = "given by the user"
        edge_power = 0.0
    else:
        sigma = cross_section_3p1eV_cm2(edge_nm)
        rel = CSPBBR3_MU_I_REL_ERR
        edge_power = 3.0
        source = (
            f"CsPbBr3: sigma(3.1 eV) = mu_i L^3, mu_i = {CSPBBR3_MU_I_3P1EV_PER_CM:.3g} cm^-1 "
            f"(+-{100 * CSPBBR3_MU_I_REL_ERR:.0f} %), Maes et al., J. Phys. Chem. Lett. 9, 3093 (2018)"
        )
        lo, hi = CSPBBR3_VALID_EDGE_NM
        if not lo <= edge_nm <= hi:
            warnings.append(
                f"edge {edge_nm:g} nm is outside {lo:g}-{hi:g} nm, the sizes the CsPbBr3 absorption "
                "coefficient was measured on"
            )
        if od_at == "first_peak":
            if od_3p1eV is not None:
                if not (math.isfinite(od_3p1eV) and od_3p1eV > 0):
                    raise OptionError(f"must be a positive number, got {od_3p1eV}", "--od-3p1ev")
                ratio = od / od_3p1eV
                od_used = od_3p1eV
                od_used_err = od_err / ratio if od > 0 else 0.0
                source += "; density from the OD at 3.1 eV"
            elif od_ratio is not None:
                if not (math.isfinite(od_ratio) and od_ratio > 0):
                    raise OptionError(f"must be a positive number, got {od_ratio}", "--od-ratio")
                ratio = od_ratio
                sigma = sigma * od_ratio
                source += (
                    f"; first peak: x OD(first peak)/OD(3.1 eV) = {od_ratio:.4g} of this sample"
                )
            else:
                raise OptionError(
                    "the CsPbBr3 cross section is known at 3.1 eV (400 nm), not at the first excitonic "
                    "peak: give the sample's OD ratio first peak / 3.1 eV (--od-ratio), its OD at 3.1 eV "
                    "(--od-3p1ev), its spectrum (--spectrum), or --cross-section-cm2",
                    "--od",
                )
    sigma_nm2 = sigma / _CM2_PER_NM2
    n_per_nm2 = od_used * _LN10 / sigma_nm2 / sides
    n_per_um2 = n_per_nm2 * _NM2_PER_UM2
    rel_n = math.sqrt(
        (od_used_err / od_used) ** 2 + rel**2 + (edge_power * edge_err_nm / edge_nm) ** 2
    )
    pitch = edge_nm + 2.0 * shell_nm
    full = _NM2_PER_UM2 / pitch**2
    cov = n_per_um2 / full
    # coverage ~ L^-3 (L + 2s)^2 when sigma ~ L^3: d ln cov / d ln L = -edge_power + 2 L/(L+2s)
    dlnc_dlnl = -edge_power + 2.0 * edge_nm / pitch
    rel_c = math.sqrt(
        (od_used_err / od_used) ** 2 + rel**2 + (dlnc_dlnl * edge_err_nm / edge_nm) ** 2
    )
    if cov > 1.0:
        warnings.append(
            f"the OD implies {cov:.2f} close-packed monolayers: more than one layer, a larger cross section, "
            "or the wrong number of coated sides"
        )
    inputs = dict(
        od=od,
        edge_nm=edge_nm,
        od_err=od_err,
        edge_err_nm=edge_err_nm,
        shell_nm=shell_nm,
        od_at=od_at,
        od_ratio=od_ratio,
        od_3p1eV=od_3p1eV,
        cross_section_cm2=cross_section_cm2,
        cross_section_rel_err=cross_section_rel_err,
        sides=sides,
    )
    return CoverageResult(
        inputs=inputs,
        od=od,
        od_err=od_err,
        photon_energy=od_at,
        edge_nm=edge_nm,
        edge_err_nm=edge_err_nm,
        shell_nm=shell_nm,
        sides=sides,
        cross_section_cm2=sigma,
        cross_section_cm2_err=sigma * rel,
        cross_section_source=source,
        od_ratio_first_peak_to_3p1eV=ratio,
        dots_per_um2=n_per_um2,
        dots_per_um2_err=n_per_um2 * rel_n,
        close_packed_dots_per_um2=full,
        coverage_fraction=cov,
        coverage_fraction_err=cov * rel_c,
        warnings=tuple(warnings),
    )


def coverage_from_spectrum(
    spectrum,
    edge_nm: float,
    *,
    od: float | None = None,
    od_err: float = 0.0,
    edge_err_nm: float = 0.0,
    shell_nm: float = 0.0,
    cross_section_cm2: float | None = None,
    sides: int = 1,
) -> CoverageResult:
    """Coverage of a monolayer from its absorption spectrum (what ``qdstack coverage --spectrum`` does).

    The first-peak OD and the OD at 400 nm (3.1 eV) are read from the spectrum
    (:func:`od_ratio_from_spectrum`); their ratio turns the size-independent
    CsPbBr3 cross section at 3.1 eV into the first-peak one (see the module
    docstring). The result keeps the spectrum, so ``plot()`` shows where both
    ODs were read.

    Parameters
    ----------
    spectrum : str, Path or Spectrum
        The layer's absorption spectrum (a file, or a :class:`~qdstack.io.Spectrum`); it must
        reach 400 nm.
    edge_nm, edge_err_nm, shell_nm, cross_section_cm2, sides
        As in :func:`monolayer_coverage`.
    od, od_err : float, optional
        The layer's first-peak OD if measured otherwise (default: read from the spectrum).

    Returns
    -------
    CoverageResult

    Examples
    --------
    >>> from qdstack.analysis import coverage_from_spectrum
    >>> r = coverage_from_spectrum(EXAMPLES / "absorption_c3dt" / "C3DT_N1.csv", 6.8,
    ...                            edge_err_nm=0.5, shell_nm=0.5, sides=2)
    >>> round(r.coverage_fraction, 2), round(r.od_ratio_first_peak_to_3p1eV, 3)
    (0.97, 0.419)
    """
    from qdstack.io.spectrum import read_spectrum

    if not hasattr(spectrum, "energy_eV"):
        spectrum = read_spectrum(spectrum, kind="absorption")
    od_peak, od_31, ratio, src, peak = _ods_of_spectrum(spectrum)
    res = monolayer_coverage(
        od_peak if od is None else od,
        edge_nm,
        od_err=od_err,
        edge_err_nm=edge_err_nm,
        shell_nm=shell_nm,
        od_ratio=ratio,
        cross_section_cm2=cross_section_cm2,
        sides=sides,
    )
    note = f"OD ratio {ratio:.4g} (first peak {od_peak:.4g} / 400 nm {od_31:.4g}) from {src}"
    return replace(res, od_ratio_source=note, spectrum=spectrum, peak=peak, od_3p1eV_read=od_31)


def od_ratio_from_spectrum(path) -> tuple[float, float, float, str]:
    """OD at the first excitonic peak, OD at 3.1 eV and their ratio, from an absorption spectrum file.

    Returns (od_first_peak, od_3p1eV, ratio, source).
    """
    from qdstack.io.spectrum import read_spectrum

    return _ods_of_spectrum(read_spectrum(path, kind="absorption"))[:4]


def _ods_of_spectrum(s):
    import numpy as np

    from qdstack.analysis.absorption import first_excitonic_peak
    from qdstack.units import HC_EV_NM

    ref = HC_EV_NM / 400.0  # "3.1 eV" of Maes et al. is the 400 nm point
    if not (s.energy_eV.min() <= ref + 1e-9 and ref - 1e-9 <= s.energy_eV.max()):
        raise InputError(
            f"the spectrum covers {HC_EV_NM / s.energy_eV.max():.4g}-{HC_EV_NM / s.energy_eV.min():.4g} nm "
            "and not 400 nm (3.1 eV)",
            s.source,
        )
    peak = first_excitonic_peak(s.energy_eV, s.intensity, source=str(s.source))
    od_peak = float(peak.od)
    od_31 = float(
        np.interp(min(max(ref, s.energy_eV[0]), s.energy_eV[-1]), s.energy_eV, s.intensity)
    )
    if not od_31 > 0:
        raise InputError(f"the OD at 3.1 eV is {od_31:.3g}, not positive", s.source)
    return od_peak, od_31, od_peak / od_31, str(s.source), peak
