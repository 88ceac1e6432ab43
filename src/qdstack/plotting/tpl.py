"""Figures of temperature-dependent PL: E(T) with eqn (2), Gamma(T) with the eqn (3) family."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = ["plot_peak_energy", "plot_linewidth", "plot_tpl_spectra"]


def _fine_T(T):
    return np.linspace(max(1.0, 0.5 * float(np.min(T))), float(np.max(T)) * 1.05, 300)


def plot_peak_energy(analysis, ax=None):
    """Peak energy vs temperature with the eqn (2) fit and its parameters.

    ``analysis``: a :class:`TPLAnalysis` or one :class:`EnergyFit` (its own points).
    """
    ax = new_axes(ax)
    T = np.asarray(analysis.temperature_K, dtype=float)
    E = np.asarray(analysis.peak_eV, dtype=float)
    err = np.asarray(analysis.peak_eV_err, dtype=float)
    yerr = np.where(np.isfinite(err), err, 0.0) * 1e3 if np.any(np.isfinite(err)) else None
    ax.errorbar(
        T,
        E,
        yerr=None if yerr is None else yerr * 1e-3,
        fmt="o",
        color="C0",
        ms=5,
        capsize=3,
        label="PL peak",
    )
    f = getattr(analysis, "energy_fit", analysis)
    Tf = _fine_T(T)

    def pm(v, e, fmt):
        return f"{v:{fmt}}" + (f" ± {e:{fmt}}" if np.isfinite(e) else " (fixed)")

    label = (
        "eqn (2): E0 + A_TE·T + A_EP(2n(ħω)+1)\n"
        f"E0 = {pm(f.E0_eV, f.E0_eV_err, '.4f')} eV\n"
        f"A_TE = {pm(f.A_TE_meV_per_K, f.A_TE_meV_per_K_err, '.3f')} meV/K\n"
        f"A_EP = {pm(f.A_EP_meV, f.A_EP_meV_err, '.1f')} meV, "
        f"ħω = {pm(f.hbar_omega_meV, f.hbar_omega_meV_err, '.1f')} meV\n"
        f"r² = {f.r2:.4f}"
    )
    ax.plot(Tf, f.energy_eV(Tf), "-", color="C3", lw=1.5, label=label)
    ax.set_xlabel("Temperature (K)")
    ax.set_ylabel("PL peak energy (eV)")
    ax.set_title("Peak energy vs temperature", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    return ax


def plot_linewidth(analysis, ax=None):
    """FWHM vs temperature with the free eqn (3) fit and the fixed-E_LO family (Table S1).

    ``analysis``: a :class:`TPLAnalysis` (all its width fits) or one :class:`WidthFit`.
    """
    ax = new_axes(ax)
    T = np.asarray(analysis.temperature_K, dtype=float)
    G = np.asarray(analysis.fwhm_meV, dtype=float)
    err = np.asarray(analysis.fwhm_meV_err, dtype=float)
    ax.errorbar(
        T,
        G,
        yerr=np.where(np.isfinite(err), err, 0.0) if np.any(np.isfinite(err)) else None,
        fmt="o",
        color="C0",
        ms=5,
        capsize=3,
        label="PL FWHM",
    )
    Tf = _fine_T(T)
    styles = ["-", "--", "-.", ":", (0, (5, 1, 1, 1))]
    for i, w in enumerate(getattr(analysis, "width_fits", (analysis,))):
        if w.E_LO_fixed:
            head = f"E_LO = {w.E_LO_meV:g} meV fixed"
        else:
            corr = f", corr(γ_LO, E_LO) = {w.correlation:+.3f}" if w.correlation is not None else ""
            err = f" ± {w.E_LO_meV_err:.2g}" if np.isfinite(w.E_LO_meV_err) else ""
            head = f"E_LO free = {w.E_LO_meV:.1f}{err} meV{corr}"
        label = f"{head}: Γ0 = {w.Gamma0_meV:.1f}, γ_LO = {w.gamma_LO_meV:.1f} meV, r² = {w.r2:.4f}"
        ax.plot(
            Tf,
            w.width_meV(Tf),
            linestyle=styles[i % len(styles)],
            lw=1.6 if i == 0 else 1.1,
            color="C3" if i == 0 else f"C{(i % 8) + 1 if (i % 8) + 1 != 3 else 9}",
            label=label,
        )
    ax.set_xlabel("Temperature (K)")
    ax.set_ylabel("PL FWHM (meV)")
    ax.set_title("Line width vs temperature: eqn (3), Γ0 + γ_LO/(exp(E_LO/kT) − 1)", fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return ax


def plot_tpl_spectra(analysis, spectra, ax=None):
    """The PL spectra of the series (per unit energy, normalised), coloured by temperature."""
    from matplotlib import colormaps

    ax = new_axes(ax)
    cm = colormaps["plasma"]
    T = analysis.temperature_K
    span = (T.max() - T.min()) or 1.0
    wmax = float(np.nanmax(analysis.fwhm_meV)) * 1e-3
    ax.set_xlim(
        float(np.nanmin(analysis.peak_eV)) - 2.5 * wmax,
        float(np.nanmax(analysis.peak_eV)) + 2.5 * wmax,
    )
    for Tk, spec in zip(T, spectra):
        y = spec.intensity - np.median(spec.intensity[: max(3, len(spec) // 20)])
        peak = float(np.max(y)) or 1.0
        ax.plot(
            spec.energy_eV,
            y / peak,
            lw=1.0,
            color=cm(0.85 * (Tk - T.min()) / span),
            label=f"{Tk:g} K",
        )
    ax.plot(analysis.peak_eV, np.ones_like(analysis.peak_eV), "k|", ms=8, label="fitted peaks")
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("PL per unit energy (normalised)")
    ax.set_title("PL spectra (wavelength data converted with the Jacobian)", fontsize=10)
    if len(T) <= 14:
        ax.legend(fontsize=7, frameon=False, ncol=2)
    return ax
