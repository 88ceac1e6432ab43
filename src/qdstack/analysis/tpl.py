"""Temperature-dependent photoluminescence: peak energy (eqn 2) and width (eqn 3) vs T.

Models (Enomoto et al., Chem. Sci. 2024, 15, 13049, eqns 2-3)
--------------------------------------------------------------
Peak energy, band-gap renormalisation by thermal expansion and by one
effective optical phonon of energy ``hbar_omega``:

``E(T) = E0 + A_TE T + A_EP (2 n(hbar_omega, T) + 1)``                              (2)

Line width, a temperature-independent inhomogeneous part and scattering by
longitudinal-optical (LO) phonons of energy ``E_LO`` (the acoustic-phonon term
is neglected, as in the paper):

``Gamma(T) = Gamma0 + gamma_LO n(E_LO, T)``                                        (3)

with the Bose-Einstein occupation ``n(E, T) = 1 / (exp(E / k_B T) - 1)``,
``k_B = 8.617333e-5 eV/K``.  Units: E0 in eV, A_TE in meV/K, A_EP, hbar_omega,
Gamma0, gamma_LO and E_LO in meV, T in K.

Both are lmfit Models; any parameter can be held fixed.  Starting values come
from a scan of the phonon energy on a logarithmic grid, for each value of
which the model is linear in the other parameters (exact linear least
squares), so no user guess is needed.

The width fit is repeated with ``E_LO`` fixed at given values (Table S1 of the
paper: 10, 20, 30 meV), because ``gamma_LO`` and ``E_LO`` are strongly
correlated: over 80-300 K a free fit typically gives |corr| > 0.99, i.e. the
data constrain a curve, not the two numbers separately.  Every fit reports its
parameter correlations, and a warning is issued when |corr(gamma_LO, E_LO)|
exceeds 0.95.

References
----------
S. Rudin, T. L. Reinecke and B. Segall, "Temperature-dependent exciton
linewidths in semiconductors", *Phys. Rev. B* 1990, 42, 11218 (eqn 3).
J. Bhosale et al., *Phys. Rev. B* 2012, 86, 195208; J. Serrano et al.,
*Phys. Rev. B* 2002, 65, 125110 (thermal expansion and electron-phonon
renormalisation, eqn 2).
X. Zhang et al., *J. Phys. Chem. C* 2019, 123, 28893 (both for CsPbBr3
nanocrystals).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table, pm
from qdstack.analysis._fitting import (
    bound_warnings,
    convergence_warnings,
    correlation_warnings,
    param_error,
    param_value,
    r_squared,
)
from qdstack.errors import FitError, InputError, OptionError
from qdstack.units import K_B_MEV_PER_K

__all__ = [
    "bose_einstein",
    "peak_energy_eV",
    "linewidth_meV",
    "ENERGY_PARAMS",
    "WIDTH_PARAMS",
    "EnergyFit",
    "WidthFit",
    "TPLAnalysis",
    "fit_energy",
    "fit_width",
    "analyse_tpl",
]

#: names of the eqn (2) parameters, in the contract's order
ENERGY_PARAMS = ("E0_eV", "A_TE_meV_per_K", "A_EP_meV", "hbar_omega_meV")
#: names of the eqn (3) parameters
WIDTH_PARAMS = ("Gamma0_meV", "gamma_LO_meV", "E_LO_meV")
#: |correlation| above which two parameters are reported as not separately determined
CORRELATION_LIMIT = 0.95


def bose_einstein(T_K, energy_meV):
    """Bose-Einstein occupation ``1 / (exp(E / k_B T) - 1)`` (0 at T = 0, no overflow).

    Parameters
    ----------
    T_K : array_like
        Temperature [K].
    energy_meV : float or array_like
        Boson (phonon) energy [meV].
    """
    T = np.asarray(T_K, dtype=float)
    E = np.asarray(energy_meV, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.where(T > 0, E / (K_B_MEV_PER_K * np.where(T > 0, T, 1.0)), np.inf)
        out = np.where(x < 700, 1.0 / np.expm1(np.minimum(x, 700)), 0.0)
    return out


def peak_energy_eV(T_K, E0_eV, A_TE_meV_per_K, A_EP_meV, hbar_omega_meV):
    """Eqn (2): ``E(T) = E0 + A_TE T + A_EP (2 n(hbar_omega, T) + 1)`` [eV]."""
    T = np.asarray(T_K, dtype=float)
    return E0_eV + 1e-3 * (
        A_TE_meV_per_K * T + A_EP_meV * (2.0 * bose_einstein(T, hbar_omega_meV) + 1.0)
    )


def linewidth_meV(T_K, Gamma0_meV, gamma_LO_meV, E_LO_meV):
    """Eqn (3): ``Gamma(T) = Gamma0 + gamma_LO n(E_LO, T)`` [meV]."""
    return Gamma0_meV + gamma_LO_meV * bose_einstein(T_K, E_LO_meV)


# ----------------------------------------------------------------------------- results


def _corr(result, a: str, b: str) -> float | None:
    p = result.params[a]
    if p.correl and b in p.correl and p.correl[b] is not None and math.isfinite(p.correl[b]):
        return float(p.correl[b])
    return None


def _correlations(result) -> dict[str, float]:
    out = {}
    names = [n for n, p in result.params.items() if p.vary]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            c = _corr(result, a, b)
            if c is not None:
                out[f"{a}/{b}"] = c
    return out


@dataclass(frozen=True)
class EnergyFit(Result):
    """Fit of eqn (2) to the peak energies.

    Attributes
    ----------
    E0_eV, A_TE_meV_per_K, A_EP_meV, hbar_omega_meV : float
        Parameters (eV, meV/K, meV, meV); each with ``*_err`` (NaN when fixed or
        not estimated).
    fixed : tuple of str
        Parameters held at given values.
    r2 : float
        Coefficient of determination (weighted when errors were given).
    aic, redchi : float
        Akaike information criterion and reduced chi-square of the lmfit fit.
    correlations : dict
        ``"a/b" -> corr`` for every pair of varied parameters.
    fit : lmfit.model.ModelResult
    warnings : tuple of str
    """

    E0_eV: float
    E0_eV_err: float
    A_TE_meV_per_K: float
    A_TE_meV_per_K_err: float
    A_EP_meV: float
    A_EP_meV_err: float
    hbar_omega_meV: float
    hbar_omega_meV_err: float
    fixed: tuple[str, ...]
    r2: float
    aic: float
    redchi: float
    correlations: dict = field(default_factory=dict)
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()

    def energy_eV(self, T_K):
        """The fitted E(T) [eV]."""
        return peak_energy_eV(
            T_K, self.E0_eV, self.A_TE_meV_per_K, self.A_EP_meV, self.hbar_omega_meV
        )

    def to_dict(self) -> dict:
        out = {}
        for name in ENERGY_PARAMS:
            out[name] = getattr(self, name)
            out[f"{name}_err"] = getattr(self, f"{name}_err")
        out.update(
            r2=self.r2,
            r2_err=None,
            aic=self.aic,
            redchi=self.redchi,
            fixed=list(self.fixed),
            correlations=dict(self.correlations),
        )
        return out


@dataclass(frozen=True)
class WidthFit(Result):
    """One fit of eqn (3) (a row of Table S1).

    Attributes
    ----------
    E_LO_meV, E_LO_meV_err : float
        LO-phonon energy [meV] (error NaN when fixed).
    E_LO_fixed : bool
        Whether E_LO was held fixed.
    Gamma0_meV, gamma_LO_meV : float
        Inhomogeneous width and exciton-LO-phonon coupling [meV], with ``*_err``.
    r2, aic, redchi : float
    correlation : float or None
        corr(gamma_LO, E_LO) of a free fit; None when E_LO is fixed.
    fixed : tuple of str
        All parameters held fixed (E_LO among them for fixed rows).
    fit : lmfit.model.ModelResult
    warnings : tuple of str
    """

    E_LO_meV: float
    E_LO_meV_err: float
    E_LO_fixed: bool
    Gamma0_meV: float
    Gamma0_meV_err: float
    gamma_LO_meV: float
    gamma_LO_meV_err: float
    r2: float
    aic: float
    redchi: float
    correlation: float | None
    fixed: tuple[str, ...] = ()
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()

    def width_meV(self, T_K):
        """The fitted Gamma(T) [meV]."""
        return linewidth_meV(T_K, self.Gamma0_meV, self.gamma_LO_meV, self.E_LO_meV)

    def to_dict(self) -> dict:
        return {
            "E_LO_meV": self.E_LO_meV,
            "E_LO_fixed": self.E_LO_fixed,
            "Gamma0_meV": self.Gamma0_meV,
            "gamma_LO_meV": self.gamma_LO_meV,
            "r2": self.r2,
            "E_LO_meV_err": self.E_LO_meV_err,
            "Gamma0_meV_err": self.Gamma0_meV_err,
            "gamma_LO_meV_err": self.gamma_LO_meV_err,
            "aic": self.aic,
            "redchi": self.redchi,
            "corr_gamma_LO_E_LO": self.correlation,
            "fixed": list(self.fixed),
        }


@dataclass(frozen=True)
class TPLAnalysis(Result):
    """A temperature series of PL peak energies and widths with eqns (2) and (3) fitted.

    Attributes
    ----------
    temperature_K, peak_eV, peak_eV_err, fwhm_meV, fwhm_meV_err : ndarray
        The data, sorted by temperature (errors NaN when unknown).
    energy_fit : EnergyFit
    width_fits : tuple of WidthFit
        The free-E_LO fit first, then one per fixed E_LO.
    files : tuple of str or None
        Source of each point (spectra), in the same order.
    spectra : tuple of dict
        Per-spectrum measurements (peak, FWHM, intensity with errors) when the
        series was measured from spectra.
    warnings : tuple of str
    """

    temperature_K: np.ndarray
    peak_eV: np.ndarray
    peak_eV_err: np.ndarray
    fwhm_meV: np.ndarray
    fwhm_meV_err: np.ndarray
    energy_fit: EnergyFit
    width_fits: tuple[WidthFit, ...]
    files: tuple[str, ...] | None = None
    spectra: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the spectra themselves, by temperature (set by :func:`~qdstack.analysis.fit_tpl_spectra`)
    spectrum_data: tuple = field(default=(), repr=False, compare=False)

    def plot_spectra(self, ax=None):
        """The PL spectra of the series, normalised and coloured by temperature; returns the Figure."""
        from qdstack.plotting.tpl import plot_tpl_spectra

        if not self.spectrum_data:
            raise ValueError("this analysis keeps no spectra: use fit_tpl_spectra")
        return plot_tpl_spectra(self, self.spectrum_data, ax=ax).figure

    def to_dict(self) -> dict:
        out = {
            "energy_fit": self.energy_fit.to_dict(),
            "width_fits": [w.to_dict() for w in self.width_fits],
            "temperature_K": self.temperature_K,
            "peak_eV": self.peak_eV,
            "peak_eV_err": self.peak_eV_err,
            "fwhm_meV": self.fwhm_meV,
            "fwhm_meV_err": self.fwhm_meV_err,
            "warnings": list(self.warnings),
        }
        if self.files is not None:
            out["files"] = list(self.files)
        if self.spectra:
            out["spectra"] = [dict(s) for s in self.spectra]
        return out

    def summary_blocks(self):
        f = self.energy_fit
        blocks: list = ["Peak energy, eqn (2): E(T) = E0 + A_TE*T + A_EP*(2n(hbar_omega)+1)"]
        for name, unit, spec in (
            ("E0_eV", "eV", ".4f"),
            ("A_TE_meV_per_K", "meV/K", ".4f"),
            ("A_EP_meV", "meV", ".2f"),
            ("hbar_omega_meV", "meV", ".2f"),
        ):
            v, e = getattr(f, name), getattr(f, name + "_err")
            err = f" ± {e:{spec}}" if math.isfinite(e) else " (fixed)"
            blocks.append(f"  {name:16s} {v:{spec}}{err} {unit}")
        blocks.append(f"  r2 = {f.r2:.5f}")
        rows = []
        for w in self.width_fits:
            elo = f"{w.E_LO_meV:.2f}" + (
                ""
                if w.E_LO_fixed or not math.isfinite(w.E_LO_meV_err)
                else f" ± {w.E_LO_meV_err:.2f}"
            )
            rows.append(
                (
                    elo,
                    "yes" if w.E_LO_fixed else "no",
                    pm(w.Gamma0_meV, w.Gamma0_meV_err),
                    pm(w.gamma_LO_meV, w.gamma_LO_meV_err),
                    f"{w.r2:.4f}",
                    f"{w.aic:.1f}",
                    "" if w.correlation is None else f"{w.correlation:+.3f}",
                )
            )
        blocks.append(
            Table(
                "Width, eqn (3): Gamma(T) = Gamma0 + gamma_LO/(exp(E_LO/kT)-1)  (Table S1 style)",
                (
                    "E_LO (meV)",
                    "fixed",
                    "Gamma0 (meV)",
                    "gamma_LO (meV)",
                    "r2",
                    "AIC",
                    "corr(gLO,ELO)",
                ),
                tuple(rows),
                align=("r",) * 7,
            )
        )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.tpl import plot_linewidth, plot_peak_energy

        if ax is not None:
            return plot_peak_energy(self, ax=ax)
        fig, axes = new_figure(1, 2, figsize=(11.5, 4.4))
        plot_peak_energy(self, ax=axes[0])
        plot_linewidth(self, ax=axes[1])
        return fig


# ----------------------------------------------------------------------------- fits


def _check(T, y, err, name: str, unit: str):
    T = np.asarray(T, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if T.shape != y.shape:
        raise InputError(f"{T.size} temperatures but {y.size} {name} values", name)
    if not (np.all(np.isfinite(T)) and np.all(np.isfinite(y))):
        raise InputError(f"temperatures and {name} must be finite numbers", name)
    if np.any(T <= 0):
        raise InputError(
            f"temperatures must be positive kelvin (found {T.min():g} K)", "temperature_K"
        )
    e = None
    if err is not None:
        e = np.asarray(err, dtype=float).ravel()
        if e.shape != y.shape:
            raise InputError(f"{e.size} errors for {y.size} {name} values", name)
        if not (np.all(np.isfinite(e)) and np.all(e > 0)):
            e = None  # unusable (some unknown): fit unweighted
    return T, y, e


def _fixed_dict(fixed: Mapping[str, float] | None, allowed: Sequence[str]) -> dict[str, float]:
    out = {}
    for k, v in (fixed or {}).items():
        if k not in allowed:
            continue
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(float(v))):
            raise OptionError(f"fixed value of {k} must be a finite number (got {v!r})", k)
        out[k] = float(v)
    return out


def _model_fit(model, params, T, y, e, context: str):
    kwargs = {"weights": 1.0 / e} if e is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.fit(y, params, T_K=T, **kwargs)
    return result


def _scan_start(y, w, fixed: dict, grid, columns) -> tuple[float, dict]:
    """Starting values of a model linear in all parameters but one (an energy ``x``).

    For each ``x`` of ``grid``, ``columns(x)`` gives the design columns of the linear
    parameters; the fixed ones are moved to the right-hand side and the rest solved by
    weighted least squares.  Returns the ``x`` with the smallest residual and the
    linear parameters found there.
    """
    best = None
    for x in grid:
        rhs = y.copy()
        lin = []
        for name, col in columns(x).items():
            if name in fixed:
                rhs = rhs - fixed[name] * col
            else:
                lin.append((name, col))
        if lin:
            A = np.column_stack([c for _, c in lin]) * w[:, None]
            coef, *_ = np.linalg.lstsq(A, rhs * w, rcond=None)
            ssr = float(np.sum((A @ coef - rhs * w) ** 2))
        else:
            coef, ssr = np.array([]), float(np.sum((rhs * w) ** 2))
        if best is None or ssr < best[0]:
            best = (ssr, x, {n: float(c) for (n, _), c in zip(lin, coef)})
    return best[1], best[2]


def fit_energy(
    T_K,
    peak_eV,
    peak_eV_err=None,
    *,
    fixed: Mapping[str, float] | None = None,
    source: str | None = None,
) -> EnergyFit:
    """Fit eqn (2) to PL peak energies.

    Parameters
    ----------
    T_K : array_like, shape (n,)
        Temperatures [K].
    peak_eV : array_like, shape (n,)
        Peak energies [eV].
    peak_eV_err : array_like, shape (n,), optional
        Their standard errors [eV] (weights 1/err); unweighted without.
    fixed : mapping, optional
        Parameters to hold, e.g. ``{"hbar_omega_meV": 20.0}`` (names in
        :data:`ENERGY_PARAMS`; others are ignored).
    source : str, optional
        Name for messages.

    Returns
    -------
    EnergyFit

    Raises
    ------
    FitError
        Fewer points than free parameters + 1.
    """
    from lmfit import Model

    src = source or "energy fit"
    T, y, e = _check(T_K, peak_eV, peak_eV_err, "peak_eV", "eV")
    fx = _fixed_dict(fixed, ENERGY_PARAMS)
    free = [p for p in ENERGY_PARAMS if p not in fx]
    if T.size < len(free) + 1:
        raise FitError(
            f"{T.size} temperatures for {len(free)} free parameters of eqn (2); measure more "
            "temperatures or fix some parameters",
            src,
        )
    # start: scan hbar_omega; the rest is linear (in eV: E0, 1e-3 A_TE, 1e-3 A_EP)
    w = np.ones_like(y) if e is None else 1.0 / e
    grid = [fx["hbar_omega_meV"]] if "hbar_omega_meV" in fx else list(np.geomspace(2.0, 150.0, 40))
    hw0, lin0 = _scan_start(
        y,
        w,
        fx,
        grid,
        lambda hw: {
            "E0_eV": np.ones_like(T),
            "A_TE_meV_per_K": 1e-3 * T,
            "A_EP_meV": 1e-3 * (2.0 * bose_einstein(T, hw) + 1.0),
        },
    )
    model = Model(peak_energy_eV, independent_vars=["T_K"])
    params = model.make_params()
    start = {
        "E0_eV": lin0.get("E0_eV", float(np.mean(y))),
        "A_TE_meV_per_K": lin0.get("A_TE_meV_per_K", 0.0),
        "A_EP_meV": lin0.get("A_EP_meV", 0.0),
        "hbar_omega_meV": hw0,
    }
    for name in ENERGY_PARAMS:
        params[name].set(value=fx.get(name, start[name]), vary=name not in fx)
    params["hbar_omega_meV"].set(min=0.1, max=500.0)
    result = _model_fit(model, params, T, y, e, src)
    msgs = convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    msgs += correlation_warnings(result, CORRELATION_LIMIT, f"{src}: ")
    r2 = r_squared(y, result.best_fit, None if e is None else 1.0 / e)
    vals = {n: param_value(result, n) for n in ENERGY_PARAMS}
    errs = {n: param_error(result, n) for n in ENERGY_PARAMS}
    return EnergyFit(
        E0_eV=vals["E0_eV"],
        E0_eV_err=errs["E0_eV"],
        A_TE_meV_per_K=vals["A_TE_meV_per_K"],
        A_TE_meV_per_K_err=errs["A_TE_meV_per_K"],
        A_EP_meV=vals["A_EP_meV"],
        A_EP_meV_err=errs["A_EP_meV"],
        hbar_omega_meV=vals["hbar_omega_meV"],
        hbar_omega_meV_err=errs["hbar_omega_meV"],
        fixed=tuple(sorted(fx)),
        r2=r2,
        aic=float(result.aic),
        redchi=float(result.redchi),
        correlations=_correlations(result),
        fit=result,
        warnings=tuple(msgs),
    )


def fit_width(
    T_K,
    fwhm_meV,
    fwhm_meV_err=None,
    *,
    E_LO_meV: float | None = None,
    fixed: Mapping[str, float] | None = None,
    source: str | None = None,
) -> WidthFit:
    """Fit eqn (3) to PL widths, with E_LO free or fixed.

    Parameters
    ----------
    T_K : array_like, shape (n,)
        Temperatures [K].
    fwhm_meV : array_like, shape (n,)
        Full widths at half maximum [meV].
    fwhm_meV_err : array_like, optional
        Their standard errors [meV] (weights 1/err).
    E_LO_meV : float, optional
        Hold E_LO at this value (a Table S1 row); free when None (unless in ``fixed``).
    fixed : mapping, optional
        Other parameters to hold (names in :data:`WIDTH_PARAMS`).
    source : str, optional
        Name for messages.

    Returns
    -------
    WidthFit

    Raises
    ------
    FitError
        Fewer points than free parameters + 1.
    """
    from lmfit import Model

    T, y, e = _check(T_K, fwhm_meV, fwhm_meV_err, "fwhm_meV", "meV")
    fx = _fixed_dict(fixed, WIDTH_PARAMS)
    if E_LO_meV is not None:
        if not (math.isfinite(E_LO_meV) and E_LO_meV > 0):
            raise OptionError(
                f"E_LO must be a positive number of meV (got {E_LO_meV})", "--fix-elo"
            )
        fx["E_LO_meV"] = float(E_LO_meV)
    elo_fixed = "E_LO_meV" in fx
    src = source or (
        f"width fit (E_LO = {fx['E_LO_meV']:g} meV fixed)" if elo_fixed else "width fit (E_LO free)"
    )
    free = [p for p in WIDTH_PARAMS if p not in fx]
    if T.size < len(free) + 1:
        raise FitError(
            f"{T.size} temperatures for {len(free)} free parameters of eqn (3); measure more "
            "temperatures or fix E_LO",
            src,
        )
    w = np.ones_like(y) if e is None else 1.0 / e
    grid = [fx["E_LO_meV"]] if elo_fixed else list(np.geomspace(1.0, 200.0, 50))
    elo0, lin0 = _scan_start(
        y,
        w,
        fx,
        grid,
        lambda elo: {"Gamma0_meV": np.ones_like(T), "gamma_LO_meV": bose_einstein(T, elo)},
    )
    model = Model(linewidth_meV, independent_vars=["T_K"])
    params = model.make_params()
    start = {
        "Gamma0_meV": lin0.get("Gamma0_meV", float(np.min(y))),
        "gamma_LO_meV": max(lin0.get("gamma_LO_meV", 1.0), 1e-6),
        "E_LO_meV": elo0,
    }
    for name in WIDTH_PARAMS:
        params[name].set(value=fx.get(name, start[name]), vary=name not in fx)
    params["gamma_LO_meV"].set(min=0.0)
    params["E_LO_meV"].set(min=0.1, max=500.0)
    result = _model_fit(model, params, T, y, e, src)
    msgs = convergence_warnings(result, f"{src}: ") + bound_warnings(result, f"{src}: ")
    corr = None if elo_fixed else _corr(result, "gamma_LO_meV", "E_LO_meV")
    if corr is not None and abs(corr) > CORRELATION_LIMIT:
        msgs.append(
            f"{src}: gamma_LO and E_LO are strongly correlated (r = {corr:+.3f}): these data fix "
            "the curve, not the two numbers separately; compare the rows with E_LO fixed "
            "(--fix-elo) before quoting either"
        )
    others = [
        m
        for m in correlation_warnings(result, CORRELATION_LIMIT, f"{src}: ")
        if not ("gamma_LO_meV" in m and "E_LO_meV" in m)
    ]
    msgs += others
    r2 = r_squared(y, result.best_fit, None if e is None else 1.0 / e)
    return WidthFit(
        E_LO_meV=param_value(result, "E_LO_meV"),
        E_LO_meV_err=param_error(result, "E_LO_meV"),
        E_LO_fixed=elo_fixed,
        Gamma0_meV=param_value(result, "Gamma0_meV"),
        Gamma0_meV_err=param_error(result, "Gamma0_meV"),
        gamma_LO_meV=param_value(result, "gamma_LO_meV"),
        gamma_LO_meV_err=param_error(result, "gamma_LO_meV"),
        r2=r2,
        aic=float(result.aic),
        redchi=float(result.redchi),
        correlation=corr,
        fixed=tuple(sorted(fx)),
        fit=result,
        warnings=tuple(msgs),
    )


def analyse_tpl(
    T_K,
    peak_eV,
    fwhm_meV,
    *,
    peak_eV_err=None,
    fwhm_meV_err=None,
    fix_elo_meV: Sequence[float] = (),
    fixed: Mapping[str, float] | None = None,
    files: Sequence[str] | None = None,
    spectra: Sequence[dict] = (),
) -> TPLAnalysis:
    """Fit eqn (2) to the peak energies and eqn (3) to the widths (free, then each fixed E_LO).

    Parameters
    ----------
    T_K, peak_eV, fwhm_meV : array_like, shape (n,)
        Temperature [K], peak energy [eV], FWHM [meV].
    peak_eV_err, fwhm_meV_err : array_like, optional
        Standard errors (weights); NaN entries make that fit unweighted.
    fix_elo_meV : sequence of float
        E_LO values [meV] for the fixed rows of Table S1 (e.g. 10, 20, 30).
    fixed : mapping, optional
        Parameters of either model to hold fixed (``E_LO_meV`` here fixes it in
        the "free" row too).
    files, spectra : optional
        Provenance of each point (kept in the result).

    Returns
    -------
    TPLAnalysis
    """
    T = np.asarray(T_K, dtype=float).ravel()
    order = np.argsort(T, kind="stable")

    def arr(x):
        if x is None:
            return np.full(T.size, np.nan)
        a = np.asarray(x, dtype=float).ravel()
        if a.size != T.size:
            raise InputError(f"{a.size} values for {T.size} temperatures", "tpl")
        return a[order]

    T = T[order]
    E, G = arr(peak_eV), arr(fwhm_meV)
    Ee, Ge = arr(peak_eV_err), arr(fwhm_meV_err)
    ef = fit_energy(T, E, Ee, fixed=fixed)
    fits = [fit_width(T, G, Ge, fixed=fixed)]
    for elo in fix_elo_meV:
        fits.append(fit_width(T, G, Ge, E_LO_meV=float(elo), fixed=fixed))
    msgs = list(ef.warnings)
    for wf in fits:
        msgs += list(wf.warnings)
    return TPLAnalysis(
        temperature_K=T,
        peak_eV=E,
        peak_eV_err=Ee,
        fwhm_meV=G,
        fwhm_meV_err=Ge,
        energy_fit=ef,
        width_fits=tuple(fits),
        files=None if files is None else tuple(np.asarray(list(files), dtype=object)[order]),
        spectra=tuple(spectra[i] for i in order) if spectra else (),
        warnings=tuple(dict.fromkeys(msgs)),
    )
