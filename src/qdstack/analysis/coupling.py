"""Tunnelling fit of the bilayer shift vs linker length: eqn (1) of the reference study.

Enomoto et al. (Chem. Sci. 2024, 15, 13049) write the coupling between
quantum-dot layers as (eqn 1, after Hanrath, J. Vac. Sci. Technol. A 2012, 30,
030802)

    beta ~ exp(-2 dx sqrt(2 m* V) / hbar)

and read the monolayer-to-bilayer shift of the first excitonic peak as a
measure of beta.  This module fits ``|shift| = A exp(-k d)`` to shifts vs
linker (S-S) distance and converts the decay constant ``k`` to a barrier
height ``V`` for a chosen effective mass, by one of two laws:

``transmission`` (eqn 1 as printed)
    k = 2 sqrt(2 m* V) / hbar, i.e. ``V = (hbar k)^2 / (8 m*)``.  The factor 2
    is that of a *transmission probability* |t|^2 through a rectangular barrier.
``amplitude``
    k = sqrt(2 m* V) / hbar, i.e. ``V = (hbar k)^2 / (2 m*)``.  A coupling
    *energy* (half the bonding-antibonding splitting of a double well) decays like
    the tunnelling *amplitude*, the evanescent wave function exp(-kappa d), not
    its square (e.g. Landau & Lifshitz, QM, section 50).

The two differ by a factor of 4 in V.  Molecular-junction measurements of
alkane chains give a conductance (transmission) decay of about 1 per CH2
(~0.8-1.0 per Angstrom, i.e. 8-10 nm^-1; Wold & Frisbie JACS 2001, 123, 5549;
Engelkes et al. JACS 2004, 126, 14287), which for m* ~ 1 means barriers of
1-4 eV; decays far weaker than that imply barriers far below what an alkane
chain offers, and the fit says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from qdstack.analysis._fitting import param_error, param_value, r_squared
from qdstack.errors import FitError, InputError
from qdstack._result import Result
from qdstack.units import HBAR2_OVER_2ME_EV_NM2

__all__ = [
    "CouplingFit",
    "fit_tunnelling_decay",
    "barrier_from_decay_eV",
    "decay_from_barrier_per_nm",
    "tunnelling_shift_meV",
    "PLAUSIBLE_BARRIER_EV",
]

Law = Literal["transmission", "amplitude"]

#: Range of tunnel barriers [eV] an alkane/aromatic linker plausibly offers to
#: carriers of a lead-halide perovskite or II-VI dot (HOMO/LUMO offsets of
#: alkanethiols are several eV; molecular junctions give effective barriers of
#: ~1-4 eV).  Outside it the fitted barrier is flagged.
PLAUSIBLE_BARRIER_EV: tuple[float, float] = (0.5, 5.0)

_LAW_FACTOR = {"transmission": 4.0, "amplitude": 1.0}


def tunnelling_shift_meV(distance_nm, amplitude_meV, decay_per_nm):
    """Magnitude of the coupling shift, ``|shift| = A exp(-k d)`` [meV].

    Parameters
    ----------
    distance_nm : array_like
        Inter-dot (linker S-S) distance [nm].
    amplitude_meV : float
        Shift extrapolated to zero distance [meV].
    decay_per_nm : float
        Decay constant k [nm^-1].
    """
    return amplitude_meV * np.exp(-decay_per_nm * np.asarray(distance_nm, dtype=float))


def barrier_from_decay_eV(decay_per_nm, mass: float, law: Law = "transmission"):
    """Barrier height [eV] implied by a decay constant [nm^-1].

    ``transmission``: V = (hbar k)^2 / (8 m*);  ``amplitude``: V = (hbar k)^2 / (2 m*),
    with ``hbar^2 / (2 m_e) = 0.0381 eV nm^2`` and ``m* = mass m_e``.
    """
    if law not in _LAW_FACTOR:
        raise InputError(f"unknown law {law!r}; use 'transmission' or 'amplitude'", "--law")
    k = np.asarray(decay_per_nm, dtype=float)
    return HBAR2_OVER_2ME_EV_NM2 * k**2 / (mass * _LAW_FACTOR[law])


def decay_from_barrier_per_nm(barrier_eV, mass: float, law: Law = "transmission"):
    """Decay constant [nm^-1] of a barrier [eV]: the inverse of :func:`barrier_from_decay_eV`."""
    if law not in _LAW_FACTOR:
        raise InputError(f"unknown law {law!r}; use 'transmission' or 'amplitude'", "--law")
    v = np.asarray(barrier_eV, dtype=float)
    return np.sqrt(_LAW_FACTOR[law] * mass * v / HBAR2_OVER_2ME_EV_NM2)


@dataclass(frozen=True)
class CouplingFit(Result):
    """Result of :func:`fit_tunnelling_decay` (``to_dict()`` is the contract JSON)."""

    amplitude_meV: float
    amplitude_meV_err: float
    decay_per_nm: float
    decay_per_nm_err: float
    barrier_eV: float
    barrier_eV_err: float
    mass: float
    law: str
    r2: float
    barrier_plausible: bool
    distance_nm: tuple[float, ...] = ()
    shift_meV: tuple[float, ...] = ()
    shift_meV_err: tuple[float, ...] | None = None
    linkers: tuple[str, ...] | None = None
    warnings: tuple[str, ...] = ()
    fit: object = field(repr=False, compare=False, default=None)

    @property
    def other_law_barrier_eV(self) -> float:
        other = "amplitude" if self.law == "transmission" else "transmission"
        return float(barrier_from_decay_eV(self.decay_per_nm, self.mass, other))

    def predict_meV(self, distance_nm):
        """Fitted ``|shift|`` at other distances [meV]."""
        return tunnelling_shift_meV(distance_nm, self.amplitude_meV, self.decay_per_nm)

    def to_dict(self) -> dict:
        other = "amplitude" if self.law == "transmission" else "transmission"
        return {
            "amplitude_meV": self.amplitude_meV,
            "amplitude_meV_err": self.amplitude_meV_err,
            "decay_per_nm": self.decay_per_nm,
            "decay_per_nm_err": self.decay_per_nm_err,
            "barrier_eV": self.barrier_eV,
            "barrier_eV_err": self.barrier_eV_err,
            "mass": self.mass,
            "law": self.law,
            "r2": self.r2,
            "barrier_plausible": self.barrier_plausible,
            "plausible_barrier_eV": list(PLAUSIBLE_BARRIER_EV),
            f"barrier_eV_{other}_law": self.other_law_barrier_eV,
            "decay_length_nm": 1.0 / self.decay_per_nm if self.decay_per_nm > 0 else None,
            "data": {
                "distance_nm": list(self.distance_nm),
                "shift_meV": list(self.shift_meV),
                "shift_meV_err": None if self.shift_meV_err is None else list(self.shift_meV_err),
                "linker": None if self.linkers is None else list(self.linkers),
            },
            "warnings": list(self.warnings),
        }

    def summary_blocks(self):
        return (
            f"|shift| = A exp(-k d): A = {self.amplitude_meV:.3g} ± {self.amplitude_meV_err:.2g} meV, "
            f"k = {self.decay_per_nm:.3g} ± {self.decay_per_nm_err:.2g} nm^-1 (decay length "
            f"{1 / self.decay_per_nm:.3g} nm), r2 = {self.r2:.3f}",
            f"barrier V = {self.barrier_eV:.3g} ± {self.barrier_eV_err:.2g} eV ({self.law} law, "
            f"m* = {self.mass:g} m_e); the other law gives {self.other_law_barrier_eV:.3g} eV; "
            f"plausible: {'yes' if self.barrier_plausible else 'NO'}",
        )

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_coupling

        return plot_coupling(self, ax=ax)


def fit_tunnelling_decay(
    distance_nm,
    shift_meV,
    shift_meV_err=None,
    *,
    mass: float = 0.15,
    law: Law = "transmission",
    linkers=None,
) -> CouplingFit:
    """Fit ``|shift| = A exp(-k d)`` and convert k to a barrier height.

    Parameters
    ----------
    distance_nm : array_like
        Linker (S-S) distances [nm].
    shift_meV : array_like
        Bilayer minus monolayer peak energy [meV], negative or positive; the
        magnitudes are fitted.
    shift_meV_err : array_like, optional
        Standard errors of the shifts; used as weights (then the covariance is
        not rescaled by the reduced chi-square).
    mass : float
        Effective mass of the tunnelling carrier in units of m_e (default 0.15,
        the DFT electron mass of CsPbBr3).
    law : {"transmission", "amplitude"}
        How the decay constant maps to a barrier (module docstring).
    linkers : sequence of str, optional
        Names for the points (kept in the result).

    Returns
    -------
    CouplingFit

    Raises
    ------
    InputError
        Mismatched arrays, non-positive mass, zero shifts.
    FitError
        Fewer than two distinct distances.
    """
    from lmfit import Model

    d = np.asarray(distance_nm, dtype=float)
    s = np.abs(np.asarray(shift_meV, dtype=float))
    if d.ndim != 1 or d.shape != s.shape:
        raise InputError("distance_nm and shift_meV must be columns of equal length")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(s))):
        raise InputError("distances and shifts must be finite numbers")
    if not mass > 0:
        raise InputError(f"the effective mass must be positive, got {mass}", "--mass")
    if law not in _LAW_FACTOR:
        raise InputError(f"unknown law {law!r}; use 'transmission' or 'amplitude'", "--law")
    if np.any(d < 0):
        raise InputError("distances must be >= 0 nm")
    if np.any(s == 0):
        raise InputError("a shift of exactly 0 meV cannot be on an exponential")
    if np.unique(d).size < 2:
        raise FitError("the exponential needs at least two different distances")
    err = None
    if shift_meV_err is not None:
        err = np.asarray(shift_meV_err, dtype=float)
        if err.shape != s.shape or np.any(~np.isfinite(err)) or np.any(err <= 0):
            raise InputError("shift_meV_err must be positive numbers, one per row")

    # start from the straight line of log|shift| vs d
    slope, intercept = np.polyfit(d, np.log(s), 1)
    model = Model(tunnelling_shift_meV, independent_vars=["distance_nm"])
    params = model.make_params(amplitude_meV=float(np.exp(intercept)), decay_per_nm=float(-slope))
    params["amplitude_meV"].set(min=0)
    exact = d.size == 2
    result = model.fit(
        s,
        params,
        distance_nm=d,
        weights=None if err is None else 1.0 / err,
        scale_covar=(err is None) and not exact,
    )
    k = param_value(result, "decay_per_nm")
    k_err = param_error(result, "decay_per_nm")
    v = float(barrier_from_decay_eV(k, mass, law))
    v_err = abs(2.0 * v * k_err / k) if (k != 0 and math.isfinite(k_err)) else float("nan")
    msgs = []
    lo, hi = PLAUSIBLE_BARRIER_EV
    plausible = lo <= v <= hi
    if k <= 0:
        msgs.append(
            f"the shift does not decay with distance (k = {k:.3g} nm^-1): no tunnelling barrier "
            "can explain it"
        )
        plausible = False
    elif not plausible:
        k_alkane = 8.0  # ~1 per CH2 (0.8 per Angstrom) in molecular junctions
        msgs.append(
            f"implied barrier {v:.3g} eV ({law} law, m* = {mass:g} m_e) is outside the plausible "
            f"{lo:g}-{hi:g} eV of an organic linker; tunnelling through alkane chains decays "
            f"~{k_alkane:.0f} nm^-1 (about 1 per CH2) in molecular junctions, far faster than "
            f"the fitted {k:.3g} nm^-1, so this decay is too weak for single-carrier tunnelling "
            "alone"
        )
    a_err = param_error(result, "amplitude_meV")
    if exact:
        msgs.append("two points define the exponential exactly: r2 is undefined")
        if err is None:  # no scatter and no given errors: nothing to propagate
            a_err = k_err = v_err = float("nan")
    return CouplingFit(
        amplitude_meV=param_value(result, "amplitude_meV"),
        amplitude_meV_err=a_err,
        decay_per_nm=k,
        decay_per_nm_err=k_err,
        barrier_eV=v,
        barrier_eV_err=v_err,
        mass=float(mass),
        law=law,
        r2=r_squared(s, result.best_fit) if d.size > 2 else float("nan"),
        barrier_plausible=bool(plausible),
        distance_nm=tuple(map(float, d)),
        shift_meV=tuple(map(float, np.asarray(shift_meV, dtype=float))),
        shift_meV_err=None if err is None else tuple(map(float, err)),
        linkers=None if linkers is None else tuple(str(x) for x in linkers),
        warnings=tuple(msgs),
        fit=result,
    )
