"""A structural model of a dithiol-linked stack of cubic dots: the out-of-plane period.

The period of a stack of cubes of edge L joined face to face by dithiol
linkers is the edge plus the gap between facing inorganic surfaces.  The gap is
*not* the S-S distance of the free molecule: the molecule is tilted from the
face normal and each thiolate sulfur sits on the surface at its own bond
length.  With the sulfur in the halide site of the surface (a thiolate
replacing a surface Br and bound to the Pb below it, the picture of thiols
passivating Pb sites) and the S-S axis tilted by theta from the normal::

    period = L + d_SS cos(theta) + 2 (d_PbS - a/2)

where ``a/2`` is the Pb-Br distance of the lattice (the outermost Br plane is
the surface a TEM edge measures) and ``d_PbS`` the Pb-S bond that replaces
it.  Every parameter has a literature source (:data:`DEFAULT_STRUCTURE`);
none is adjusted to a measured period.  The uncertainty is propagated from the
parameters' stated ranges (first order, independent parameters).

References
----------
.. [1] M. D. Porter, T. B. Bright, D. L. Allara, C. E. D. Chidsey, J. Am. Chem. Soc.
   109, 3559 (1987): alkanethiol monolayers on gold, all-trans chains tilted ~30 deg from the normal.
.. [2] P. E. Laibinis et al., J. Am. Chem. Soc. 113, 7152 (1991): on silver and copper ~12 deg.
.. [3] C. C. Stoumpos et al., Cryst. Growth Des. 13, 2722 (2013): CsPbBr3, cubic a = 0.5874 nm
   (Pb-Br = a/2 = 0.294 nm).
.. [4] Rock-salt PbS, a = 0.5936 nm (Pb-S = 0.297 nm); Pb(II) thiolate complexes 0.26-0.29 nm
   (e.g. the lead alkanethiolates of the Cambridge Structural Database).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qdstack.errors import InputError

__all__ = ["StackStructure", "DEFAULT_STRUCTURE", "PeriodPrediction", "out_of_plane_period"]


@dataclass(frozen=True)
class StackStructure:
    """Parameters of the structural model, each with its standard uncertainty and source.

    Attributes
    ----------
    tilt_deg, tilt_err_deg : float
        Tilt of the linker's S-S axis from the face normal [deg].
    pb_s_nm, pb_s_err_nm : float
        Pb-S bond length of the surface thiolate [nm].
    pb_br_nm : float
        Pb-Br distance of the lattice, a/2 [nm] (the surface plane the edge is measured to).
    conformer : {"anti", "boltzmann"}
        The linker's S-S distance: the all-trans chain (dense monolayers hold few
        gauche defects [1]) or the free molecule's Boltzmann mean at 298 K (gauche
        populations as in the gas phase).
    sources : dict
        Parameter name -> literature source (see the module references).
    """

    tilt_deg: float = 30.0
    tilt_err_deg: float = 10.0
    pb_s_nm: float = 0.280
    pb_s_err_nm: float = 0.015
    pb_br_nm: float = 0.2937
    conformer: str = "anti"
    sources: dict = field(
        default_factory=lambda: {
            "tilt_deg": "alkanethiol monolayers: ~30 deg on Au (Porter et al. JACS 1987), ~12 deg on Ag/Cu "
            "(Laibinis et al. JACS 1991); 30 +- 10 deg covers both",
            "pb_s_nm": "Pb(II) thiolates 0.26-0.29 nm, rock-salt PbS 0.297 nm: 0.280 +- 0.015 nm",
            "pb_br_nm": "CsPbBr3 cubic a = 0.5874 nm (Stoumpos et al. Cryst. Growth Des. 2013): a/2",
            "conformer": "all-trans chain (dense alkanethiol monolayers, Porter et al. 1987)",
            "ss_distance_nm": "qdstack linker library (RDKit ETKDG + MMFF94 conformer search)",
        }
    )

    def __post_init__(self):
        if not 0.0 <= self.tilt_deg < 90.0:
            raise InputError(f"tilt must be in [0, 90) deg, got {self.tilt_deg}", "tilt_deg")
        if self.conformer not in ("anti", "boltzmann"):
            raise InputError(
                f"conformer must be 'anti' or 'boltzmann', got {self.conformer!r}", "conformer"
            )
        for name in ("tilt_err_deg", "pb_s_nm", "pb_s_err_nm", "pb_br_nm"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise InputError(f"{name} must be a non-negative number", name)

    def to_dict(self) -> dict:
        return {
            "tilt_deg": self.tilt_deg,
            "tilt_err_deg": self.tilt_err_deg,
            "pb_s_nm": self.pb_s_nm,
            "pb_s_err_nm": self.pb_s_err_nm,
            "pb_br_nm": self.pb_br_nm,
            "conformer": self.conformer,
            "sources": dict(self.sources),
        }


#: the literature structure (never adjusted to a measured period)
DEFAULT_STRUCTURE = StackStructure()


@dataclass(frozen=True)
class PeriodPrediction:
    """Out-of-plane period of a stack from :func:`out_of_plane_period`.

    Attributes
    ----------
    period_nm, period_nm_err : float
        Period and its standard uncertainty from the structure's parameters [nm]
        (the edge is taken as exact: it is the same number for every linker).
    gap_nm : float
        Face-to-face gap between neighbouring dots [nm].
    ss_distance_nm : float
        The linker's S-S distance used [nm].
    terms_nm : dict
        edge, S-S projection, surface term (2 (d_PbS - a/2)).
    dperiod_dtilt_nm_per_rad : float
        d period / d tilt (for correlated differences between linkers).
    """

    linker: str
    edge_nm: float
    period_nm: float
    period_nm_err: float
    gap_nm: float
    ss_distance_nm: float
    terms_nm: dict
    dperiod_dtilt_nm_per_rad: float
    structure: StackStructure

    def to_dict(self) -> dict:
        return {
            "linker": self.linker,
            "edge_nm": self.edge_nm,
            "period_nm": self.period_nm,
            "period_nm_err": self.period_nm_err,
            "gap_nm": self.gap_nm,
            "ss_distance_nm": self.ss_distance_nm,
            "terms_nm": dict(self.terms_nm),
            "structure": self.structure.to_dict(),
        }


def out_of_plane_period(
    linker: str,
    edge_nm: float,
    structure: StackStructure = DEFAULT_STRUCTURE,
    ss_distance_nm: float | None = None,
) -> PeriodPrediction:
    """Period of a stack of cubes of edge ``edge_nm`` joined by ``linker``.

    ``period = L + d_SS cos(theta) + 2 (d_PbS - a/2)`` (module docstring);
    sigma^2 = (d_SS sin(theta) sigma_theta)^2 + (2 sigma_PbS)^2.

    Parameters
    ----------
    linker : str
        A linker of the library (its S-S distance, ``structure.conformer``).
    edge_nm : float
        Mean edge of the cubes [nm].
    structure : StackStructure
    ss_distance_nm : float, optional
        Use this S-S distance instead of the library's.
    """
    if not (math.isfinite(edge_nm) and edge_nm > 0):
        raise InputError(f"edge must be a positive number of nm, got {edge_nm}", "edge_nm")
    if ss_distance_nm is None:
        from qdstack.linkers import get_linker

        g = get_linker(linker)
        ss = g.anti_ss_distance_nm if structure.conformer == "anti" else g.boltzmann_ss_distance_nm
        name = g.name
    else:
        ss, name = float(ss_distance_nm), linker
    th = math.radians(structure.tilt_deg)
    proj = ss * math.cos(th)
    surface = 2.0 * (structure.pb_s_nm - structure.pb_br_nm)
    gap = proj + surface
    d_tilt = -ss * math.sin(th)
    err = math.hypot(d_tilt * math.radians(structure.tilt_err_deg), 2.0 * structure.pb_s_err_nm)
    return PeriodPrediction(
        name,
        float(edge_nm),
        float(edge_nm + gap),
        float(err),
        float(gap),
        float(ss),
        {"edge": float(edge_nm), "ss_projection": float(proj), "surface": float(surface)},
        float(d_tilt),
        structure,
    )
