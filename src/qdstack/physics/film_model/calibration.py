"""Calibrating the film model on measured shifts.

:func:`calibrate` fits the barrier parameters of the film model to measured
first-peak shifts (film of N layers minus monolayer, one or more linkers): the
simulated *ensemble* (disorder, Coulomb, first peak read like a measured one)
is fitted, not the ideal chain formula.  The fit is an lmfit ``Model`` of the
measurement index; each evaluation simulates the films it needs with common
random numbers (one seed), so the model is a smooth function of the
parameters and the finite-difference Jacobian is meaningful.

What is fitted (``fit``):

``"barrier"``
    one barrier height V for electrons and holes (the barrier mass fixed);
    with the exponential coupling law also its zero-gap amplitude A.
``"barriers"``
    separate barriers for electrons and holes (+ A for the exponential law).

Every fitted barrier is compared with what an organic linker plausibly offers
(:data:`qdstack.analysis.coupling.PLAUSIBLE_BARRIER_EV`) and flagged outside
it; the engine model also reports the largest shift any barrier can give, so a
shift beyond it is reported as out of reach rather than fitted badly in silence.

:func:`reference_shifts` reads the shifts a reference study states (from
:mod:`qdstack.references`, the one copy of the paper's numbers); the comparison
of a whole simulated study with its paper lives in :mod:`qdstack.study.comparison`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import FitError, InputError, OptionError, QdstackError
from qdstack._result import Result, Table
from qdstack.physics.film_model import FilmParameters, FilmSpec, dot_tables

__all__ = [
    "ShiftMeasurement",
    "CalibrationResult",
    "calibrate",
    "model_shifts_meV",
    "reference_shifts",
]


@dataclass(frozen=True)
class ShiftMeasurement:
    """A measured first-peak shift of an N-layer film relative to its monolayer.

    Attributes
    ----------
    linker : str
    layers : int
    shift_meV : float
        Peak(N) - peak(1) [meV] (negative: red shift).
    shift_meV_err : float
        One standard error [meV].
    """

    linker: str
    layers: int
    shift_meV: float
    shift_meV_err: float = 2.0

    def __post_init__(self):
        if not (isinstance(self.layers, (int, np.integer)) and self.layers >= 2):
            raise InputError(f"a shift needs N >= 2 layers, got {self.layers!r}", "layers")
        if not math.isfinite(self.shift_meV):
            raise InputError("the shift must be a finite number of meV", "shift_meV")
        if not (math.isfinite(self.shift_meV_err) and self.shift_meV_err > 0):
            raise InputError("the shift error must be a positive number of meV", "shift_meV_err")

    def to_dict(self) -> dict:
        return {
            "linker": self.linker,
            "layers": self.layers,
            "shift_meV": self.shift_meV,
            "shift_meV_err": self.shift_meV_err,
        }


def reference_shifts(reference: str = "enomoto2024") -> tuple[ShiftMeasurement, ...]:
    """The N-layer shifts a reference study states, as measurements to calibrate on.

    Every number ``shift_N<n>_<linker>_meV`` of the reference file.  The error of
    a shift is sqrt(2) x the paper's per-film spread of the first peak (for
    Enomoto et al. 2024 the monolayer peak's 2.473 +- 0.002 eV, Fig. 2b): a shift
    is the difference of two peaks, each read with that spread.  Where the paper
    states an error for the shift itself, that is used.
    """
    import re

    from qdstack.references import load_reference

    ref = load_reference(reference)
    peak_sd_meV = None
    if "monolayer_peak_eV" in ref and ref["monolayer_peak_eV"].stated_uncertainty is not None:
        peak_sd_meV = 1e3 * ref["monolayer_peak_eV"].stated_uncertainty
    out = []
    for n in ref.number:
        m = re.fullmatch(r"shift_N(\d+)_(\w+)_meV", n.id)
        if not m:
            continue
        err = (
            n.stated_uncertainty
            if n.stated_uncertainty is not None
            else (math.sqrt(2.0) * peak_sd_meV if peak_sd_meV else None)
        )
        if err is None:
            raise InputError(
                f"{n.id}: no uncertainty stated and no per-film peak spread to derive one",
                reference,
            )
        out.append(ShiftMeasurement(m.group(2), int(m.group(1)), float(n.value), float(err)))
    return tuple(out)


@dataclass(frozen=True)
class CalibrationResult(Result):
    """Result of :func:`calibrate`.

    Attributes
    ----------
    parameters : FilmParameters
        The calibrated parameter set.
    fit : str
        ``"barrier"`` or ``"barriers"``.
    values, errors : dict
        Fitted parameters and their standard errors (NaN when the fit gives none).
    data : tuple of ShiftMeasurement
    model_shift_meV, residual_meV : tuple of float
        Simulated shift of each measurement at the optimum, and model - data.
    chi2, dof : float, int
    plausible : dict
        Per barrier: whether it lies in the plausible range of an organic linker.
    linkers : list of dict
        Implied beta_e/beta_h and gap per linker (the data's and the built-ins).
    reach_meV : dict or None
        Engine coupling only: the shift of each measurement at zero barrier,
        the most tunnelling can give.
    success : bool
    message : str
    warnings : tuple of str
    fit_result : lmfit.model.ModelResult
    """

    parameters: FilmParameters
    fit: str
    values: dict
    errors: dict
    data: tuple[ShiftMeasurement, ...]
    model_shift_meV: tuple[float, ...]
    residual_meV: tuple[float, ...]
    chi2: float
    dof: int
    plausible: dict
    linkers: list
    reach_meV: dict | None
    success: bool
    message: str
    realisations: int
    seed: int
    warnings: tuple[str, ...] = ()
    fit_result: object = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        from qdstack.analysis.coupling import PLAUSIBLE_BARRIER_EV

        d = {
            "fit": self.fit,
            "coupling": self.parameters.coupling,
            "barrier_mass": self.parameters.barrier_mass,
        }
        for k, v in self.values.items():
            d[k] = v
            d[f"{k}_err"] = self.errors.get(k, math.nan)
        d.update(
            {
                "plausible_barrier_eV": list(PLAUSIBLE_BARRIER_EV),
                "barrier_plausible": self.plausible,
                "data": [m.to_dict() for m in self.data],
                "model_shift_meV": list(self.model_shift_meV),
                "residual_meV": list(self.residual_meV),
                "chi2": self.chi2,
                "dof": self.dof,
                "linkers": self.linkers,
                "reach_meV": self.reach_meV,
                "success": self.success,
                "message": self.message,
                "realisations": self.realisations,
                "seed": self.seed,
                "parameters": self.parameters.to_dict(),
                "warnings": list(self.warnings),
            }
        )
        d["parameters"].pop("provenance", None)
        return d

    def summary_blocks(self):
        res = self
        blocks: list = [
            f"calibrated ({res.parameters.coupling} coupling, barrier mass "
            f"{res.parameters.barrier_mass:g} m_e, {res.realisations} realisations per film):"
        ]
        for k, v in res.values.items():
            e = res.errors[k]
            unit = "meV" if k.endswith("meV") else "eV"
            flag = (
                ""
                if k not in res.plausible
                else ("  plausible: yes" if res.plausible[k] else "  plausible: NO")
            )
            blocks.append(
                f"  {k} = {v:.4g} ± {e:.2g} {unit}{flag}"
                if math.isfinite(e)
                else f"  {k} = {v:.4g} {unit} (no error: at a bound or exact){flag}"
            )
        reach = list(res.reach_meV.values()) if res.reach_meV else None
        rows = []
        for i, m in enumerate(res.data):
            row = [
                m.linker,
                str(m.layers),
                f"{m.shift_meV:+.1f} ± {m.shift_meV_err:.1f}",
                f"{res.model_shift_meV[i]:+.1f}",
                f"{res.residual_meV[i]:+.1f}",
            ]
            if reach:
                row.append(f"{reach[i]:+.1f}")
            rows.append(tuple(row))
        cols = ("linker", "N", "measured meV", "model meV", "residual meV") + (
            ("zero-barrier meV",) if res.reach_meV else ()
        )
        blocks.append(
            Table("measured vs calibrated model", cols, tuple(rows), align=("r",) * len(cols))
        )
        rows = tuple(
            (
                r["linker"],
                f"{r['gap_nm']:.3f}",
                f"{r['beta_e_meV']:.3g}",
                f"{r['beta_h_meV']:.3g}",
                "data" if r["in_data"] else "",
            )
            for r in res.linkers
        )
        blocks.append(
            Table(
                "implied couplings per linker",
                ("linker", "gap nm", "beta_e meV", "beta_h meV", ""),
                rows,
                align=("r",) * 5,
            )
        )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.film_model import plot_calibration

        return plot_calibration(self, ax=ax)


def _apply(base: FilmParameters, fit: str, **p) -> FilmParameters:
    ch = dict(
        barrier_e_eV=p.get("barrier_e_eV", p.get("barrier_eV")),
        barrier_h_eV=p.get("barrier_h_eV", p.get("barrier_eV")),
    )
    if base.coupling == "exponential":
        ch["coupling_amplitude_meV"] = p["coupling_amplitude_meV"]
    return base.with_(**ch)


def model_shifts_meV(
    measurements: Sequence[ShiftMeasurement],
    params: FilmParameters,
    *,
    realisations: int = 3000,
    seed: int = 0,
    edge_nm: float = 6.8,
    edge_sd_nm: float = 0.5,
    readout: str = "fit",
) -> np.ndarray:
    """Simulated shifts (peak(N) - peak(1), meV) of the films the measurements are about.

    Films of one linker share their dots (common random numbers), so the
    shifts are smooth functions of the parameters.  ``readout``: ``"fit"`` (the
    fitted centre of the first peak) or ``"peak_top"`` (the paper's "peak top
    energy", :func:`~qdstack.physics.film_model.spectra.peak_top_eV`).
    """
    if readout not in ("fit", "peak_top"):
        raise OptionError(f"unknown readout {readout!r}; use fit or peak_top", "readout")
    from qdstack.physics.film_model.spectra import simulate_film

    out = np.empty(len(measurements))
    by_linker: dict[str, list[int]] = {}
    for i, m in enumerate(measurements):
        by_linker.setdefault(m.linker, []).append(i)
    for linker, idx in by_linker.items():
        base = FilmSpec.from_linker(linker, 1, edge_nm=edge_nm, edge_sd_nm=edge_sd_nm)
        tables = dot_tables(base, params)
        peaks = {}
        for n in sorted({1} | {measurements[i].layers for i in idx}):
            spec = FilmSpec(n, base.gap_nm, edge_nm, edge_sd_nm, linker=base.linker)
            r = simulate_film(
                spec,
                params,
                realisations=realisations,
                seed=seed,
                blocks=1,
                tables=tables,
                emission=False,
            )
            peaks[n] = r.peak_eV if readout == "fit" else r.peak_top_eV
        for i in idx:
            out[i] = (peaks[measurements[i].layers] - peaks[1]) * 1e3
    return out


def calibrate(
    measurements: Sequence[ShiftMeasurement],
    base: FilmParameters,
    *,
    fit: str = "barrier",
    realisations: int = 3000,
    seed: int = 0,
    edge_nm: float = 6.8,
    edge_sd_nm: float = 0.5,
    start: dict | None = None,
    progress=None,
    readout: str = "fit",
) -> CalibrationResult:
    """Fit the film model's barrier parameters to measured shifts (an lmfit Model).

    Parameters
    ----------
    measurements : sequence of ShiftMeasurement
        Shifts of N-layer films relative to the monolayer, with errors.
    base : FilmParameters
        Everything that is not fitted (coupling law, barrier mass, line width, ...).
    fit : {"barrier", "barriers"}
        One barrier for both carriers, or one each (module docstring); the
        exponential coupling law also fits its amplitude.
    realisations, seed
        Disorder realisations per film and the seed (common random numbers).
    edge_nm, edge_sd_nm : float
        Size distribution of the dots [nm].
    start : dict, optional
        Starting values (``barrier_eV``, ``coupling_amplitude_meV``, ...).
    progress : callable, optional
        Called with the number of model evaluations so far.
    readout : {"fit", "peak_top"}
        How the simulated first peak is read: its fitted centre, or the paper's
        "peak top energy" (:func:`model_shifts_meV`).

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InputError
        Unknown linker, fewer measurements than parameters.
    FitError
        The fit fails outright.

    Notes
    -----
    The weights are 1 / shift_meV_err and the covariance is not rescaled by the
    reduced chi-square (the errors are taken as given), so the parameter errors
    are those the measurement errors imply; with as many data as parameters
    the fit is exact and chi2 = 0.
    """
    from lmfit import Model

    from qdstack.analysis._fitting import param_error, param_value
    from qdstack.analysis.coupling import PLAUSIBLE_BARRIER_EV

    if fit not in ("barrier", "barriers"):
        raise OptionError(f"unknown fit {fit!r}; use barrier or barriers", "--fit")
    meas = tuple(measurements)
    if not meas:
        raise InputError("no measured shifts given", "calibrate")
    names = ["barrier_eV"] if fit == "barrier" else ["barrier_e_eV", "barrier_h_eV"]
    if base.coupling == "exponential":
        names.append("coupling_amplitude_meV")
    if len(meas) < len(names):
        raise InputError(
            f"{len(meas)} measured shift(s) cannot fix {len(names)} parameters ({', '.join(names)}); "
            "give more shifts or fit one barrier",
            "calibrate",
        )
    from qdstack.linkers import get_linker

    for name in {m.linker for m in meas}:
        get_linker(name)  # an unknown linker is an InputError naming it, before any fitting
    y = np.array([m.shift_meV for m in meas])
    err = np.array([m.shift_meV_err for m in meas])
    cache: dict = {}
    calls = [0]

    def model(index, **p):
        key = tuple(round(float(p[k]), 12) for k in sorted(p))
        if key not in cache:
            params = _apply(base, fit, **p)
            cache[key] = model_shifts_meV(
                meas,
                params,
                realisations=realisations,
                seed=seed,
                edge_nm=edge_nm,
                edge_sd_nm=edge_sd_nm,
                readout=readout,
            )
            calls[0] += 1
            if progress is not None:
                progress(calls[0])
        return cache[key][np.asarray(index, dtype=int)]

    start = dict(start or {})
    func = _make_signature(model, names)
    lm = Model(func, independent_vars=["index"])
    pars = lm.make_params()
    v0 = start.get("barrier_eV", base.barrier_e_eV if base.coupling == "engine" else 0.1)
    for n in names:
        if n.startswith("barrier"):
            pars[n].set(value=start.get(n, v0), min=0.0, max=10.0)
        else:
            pars[n].set(
                value=start.get(n, max(base.coupling_amplitude_meV, 20.0)), min=0.0, max=1000.0
            )
    try:
        result = lm.fit(
            y,
            pars,
            index=np.arange(len(meas)),
            weights=1.0 / err,
            scale_covar=False,
            fit_kws={"epsfcn": 1e-5, "xtol": 1e-7, "ftol": 1e-9},
        )
    except QdstackError:
        raise
    except (ValueError, RuntimeError) as exc:
        raise FitError(f"the calibration fit failed ({exc})", "calibrate") from None

    values = {n: param_value(result, n) for n in names}
    errors = {n: param_error(result, n) for n in names}
    params = _apply(base, fit, **values)
    best = model(np.arange(len(meas)), **values)
    resid = best - y
    msgs: list[str] = []
    lo, hi = PLAUSIBLE_BARRIER_EV
    plausible = {}
    for n in names:
        if not n.startswith("barrier"):
            continue
        v = values[n]
        ok = lo <= v <= hi
        plausible[n] = bool(ok)
        if not ok:
            msgs.append(
                f"{n} = {v:.3g} eV is outside the {lo:g}-{hi:g} eV an organic linker plausibly offers "
                f"(barrier mass {base.barrier_mass:g} m_e): the shifts need a far leakier linker than "
                "an alkane chain"
            )
        par = result.params[n]
        if abs(v - par.min) < 1e-4 or abs(v - par.max) < 1e-4:
            msgs.append(
                f"{n} ended at its bound ({v:g} eV): the data want a value the model cannot take"
            )
            errors[n] = math.nan
    reach = None
    if base.coupling == "engine":
        zero = _apply(base, fit, **{n: 0.0 for n in names})
        r = model_shifts_meV(
            meas,
            zero,
            realisations=realisations,
            seed=seed,
            edge_nm=edge_nm,
            edge_sd_nm=edge_sd_nm,
            readout=readout,
        )
        reach = {f"{m.linker} N={m.layers}": float(v) for m, v in zip(meas, r)}
        for m, v in zip(meas, r):
            if abs(m.shift_meV) > abs(v) + 2 * m.shift_meV_err:
                msgs.append(
                    f"{m.linker} N = {m.layers}: the measured {m.shift_meV:+.1f} meV is out of reach of "
                    f"single-carrier tunnelling in this model: even a zero barrier gives {v:+.1f} meV"
                )
    else:
        a = values["coupling_amplitude_meV"]
        eng = base.with_(coupling="engine", barrier_e_eV=0.0, barrier_h_eV=0.0)
        mat_spec = FilmSpec(1, 1e-6, edge_nm, edge_sd_nm)
        zero_gap = float(dot_tables(mat_spec, eng).interpolate("beta_e_meV", edge_nm))
        if a > zero_gap:
            msgs.append(
                f"the fitted zero-gap coupling A = {a:.1f} meV exceeds what effective-mass tunnelling "
                f"between two {edge_nm:g} nm cubes can give ({zero_gap:.1f} meV per carrier, touching "
                "dots): the exponential law is a description of the data, not single-carrier tunnelling"
            )
    if len(meas) > len(names) and np.any(np.abs(resid) > 3 * err):
        msgs.append(
            "some measured shifts are more than 3 errors from the calibrated model: "
            + ", ".join(
                f"{m.linker} N={m.layers}: model {b:+.1f} vs {m.shift_meV:+.1f} meV"
                for m, b, r_ in zip(meas, best, resid)
                if abs(r_) > 3 * m.shift_meV_err
            )
        )
    linkers = _linker_table(params, sorted({m.linker for m in meas}), edge_nm, edge_sd_nm)
    chi2 = float(np.sum((resid / err) ** 2))
    provenance = {
        "calibrated_on": [m.to_dict() for m in meas],
        "fit": fit,
        "values": values,
        "errors": errors,
        "readout": readout,
        "chi2": chi2,
        "realisations": realisations,
        "seed": seed,
        "edge_nm": edge_nm,
        "edge_sd_nm": edge_sd_nm,
    }
    params = params.with_(provenance={**base.provenance, "calibration": provenance}, name=base.name)
    return CalibrationResult(
        parameters=params,
        fit=fit,
        values=values,
        errors=errors,
        data=meas,
        model_shift_meV=tuple(map(float, best)),
        residual_meV=tuple(map(float, resid)),
        chi2=chi2,
        dof=len(meas) - len(names),
        plausible=plausible,
        linkers=linkers,
        reach_meV=reach,
        success=bool(result.success),
        message=str(result.message),
        realisations=int(realisations),
        seed=int(seed),
        warnings=tuple(msgs),
        fit_result=result,
    )


def _make_signature(func, names):
    """A function with explicit keyword parameters (lmfit reads parameter names from the signature)."""
    import inspect

    def wrapped(index, **kw):
        return func(index, **kw)

    params = [inspect.Parameter("index", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=1.0) for n in names]
    wrapped.__signature__ = inspect.Signature(params)
    wrapped.__name__ = "film_model_shift"
    return wrapped


def _linker_table(params: FilmParameters, data_linkers, edge_nm, edge_sd_nm) -> list[dict]:
    from qdstack.linkers import builtin_linkers

    names = list(dict.fromkeys(list(data_linkers) + [b.name for b in builtin_linkers()]))
    rows = []
    for name in names:
        spec = FilmSpec.from_linker(name, 1, edge_nm=edge_nm, edge_sd_nm=edge_sd_nm)
        t = dot_tables(spec, params)
        rows.append(
            {
                "linker": spec.linker,
                "gap_nm": spec.gap_nm,
                "beta_e_meV": float(t.interpolate("beta_e_meV", edge_nm)),
                "beta_h_meV": float(t.interpolate("beta_h_meV", edge_nm)),
                "in_data": name in data_linkers,
            }
        )
    return rows
