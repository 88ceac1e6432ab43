"""Results of the temperature-dependent PL fits: :class:`EnergyFit`, :class:`WidthFit`, :class:`TPLAnalysis`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table, pm
from qdstack.analysis.tpl.models import ENERGY_PARAMS, linewidth_meV, peak_energy_eV

# ----------------------------------------------------------------------------- results


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
    temperature_K, peak_eV, peak_eV_err : tuple of float
        The fitted points (errors NaN when the fit was unweighted).
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
    temperature_K: tuple[float, ...] = field(default=(), repr=False, compare=False)
    peak_eV: tuple[float, ...] = field(default=(), repr=False, compare=False)
    peak_eV_err: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.tpl import plot_peak_energy

        return plot_peak_energy(self, ax=ax)

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
    temperature_K, fwhm_meV, fwhm_meV_err : tuple of float
        The fitted points (errors NaN when the fit was unweighted).
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
    temperature_K: tuple[float, ...] = field(default=(), repr=False, compare=False)
    fwhm_meV: tuple[float, ...] = field(default=(), repr=False, compare=False)
    fwhm_meV_err: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.tpl import plot_linewidth

        return plot_linewidth(self, ax=ax)

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
