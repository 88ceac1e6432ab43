"""Figures of the absorption series and of the tunnelling fit."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = [
    "plot_absorption_spectra",
    "plot_absorption_peak",
    "plot_shift_vs_layers",
    "plot_od_vs_layers",
    "plot_coupling",
    "plot_excitonic_peak",
    "plot_chain_fit",
    "plot_linear_fit",
]


def plot_absorption_spectra(series, spectra, ax=None, normalise: bool = False, labels=None):
    """Spectra of a series on an energy axis, with the first excitonic peak marked.

    Parameters
    ----------
    series : AbsorptionSeries
    spectra : sequence of Spectrum
        The spectra the series was computed from, in the same order.
    normalise : bool
        Divide each spectrum by its OD at the peak.
    labels : sequence of str, optional
        One legend label per spectrum (default ``N = <layers>``; the films' labels or
        file names when several films share a layer count, e.g. a density series).
    """
    ax = new_axes(ax)
    if labels is None:
        layers = [f.layers for f in series.films]
        if len(set(layers)) == len(layers):
            labels = [
                f"N = {f.layers}" + (f" ({f.label})" if f.label else "") for f in series.films
            ]
        else:
            labels = [f.label or str(f.file).rsplit("/", 1)[-1] for f in series.films]
    cmap = _cmap(len(spectra))
    lo = min(f.peak.window_eV[0] for f in series.films) - 0.15
    hi = max(f.peak.window_eV[1] for f in series.films) + 0.25
    for i, (film, spec) in enumerate(zip(series.films, spectra)):
        scale = 1.0 / film.peak.od if normalise and film.peak.od > 0 else 1.0
        keep = (spec.energy_eV >= lo) & (spec.energy_eV <= hi)
        ax.plot(
            spec.energy_eV[keep],
            spec.intensity[keep] * scale,
            color=cmap[i],
            lw=1.2,
            label=labels[i],
        )
        ax.plot(
            [film.peak.peak_eV], [film.peak.od * scale], "v", color=cmap[i], ms=7, mec="k", mew=0.5
        )
        top = film.peak.peak_top_eV
        if np.isfinite(top):  # the measured maximum, where the band has one
            y_top = float(np.interp(top, spec.energy_eV, spec.intensity)) * scale
            ax.plot([top], [y_top], "|", color="k", ms=12, mew=1.2)
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("Absorbance (normalised)" if normalise else "Absorbance (OD)")
    ax.set_title("First excitonic peak (▼ fitted transition energy, | measured maximum)")
    if len(spectra) <= 12:
        ax.legend(fontsize=8, frameon=False)
    _top_wavelength_axis(ax)
    return ax


def _mark_peak(ax, peak, name: str) -> None:
    """The fitted transition energy of ``peak`` as a ▼ at its OD, labelled with its error."""
    ax.plot(
        [peak.peak_eV],
        [peak.od],
        "v",
        color="C3",
        ms=8,
        mec="k",
        mew=0.5,
        label=f"{name} {peak.peak_eV:.4f} eV ± {peak.peak_eV_err * 1e3:.2f} meV",
    )


def plot_absorption_peak(spectrum, peak, ax=None, label: str | None = None):
    """One spectrum (e.g. dots in solution) with its first excitonic peak marked and labelled.

    Parameters
    ----------
    spectrum : Spectrum
    peak : ExcitonicPeak
        From :func:`qdstack.analysis.absorption.first_excitonic_peak`.
    """
    ax = new_axes(ax)
    lo, hi = peak.window_eV[0] - 0.15, peak.window_eV[1] + 0.35
    keep = (spectrum.energy_eV >= lo) & (spectrum.energy_eV <= hi)
    ax.plot(spectrum.energy_eV[keep], spectrum.intensity[keep], color="C0", lw=1.2, label=label)
    _mark_peak(ax, peak, "first excitonic peak")
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("Absorbance (OD)")
    ax.set_title("First excitonic peak", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    _top_wavelength_axis(ax)
    return ax


def plot_excitonic_peak(peak, ax=None, title: str | None = None):
    """The spectrum around the first excitonic peak with the fitted peak + background.

    Draws the measured spectrum the result keeps (``peak.spectrum_eV``, ``spectrum_od``),
    the lmfit model over the fit window (total, and the background alone, so the peak
    is the area between them), the transition energy (▼, the fitted centre) and the
    measured maximum (|, ``peak_top_eV``, where the band has one).

    Parameters
    ----------
    peak : ExcitonicPeak
    title : str, optional
    """
    ax = new_axes(ax)
    if peak.spectrum_eV is not None:
        ax.plot(peak.spectrum_eV, peak.spectrum_od, ".", color="0.35", ms=3, label="measured")
    lo, hi = peak.window_eV
    ax.axvspan(lo, hi, color="0.92", zorder=0, label="fit window")
    if peak.fit is not None:
        x = np.linspace(lo, hi, 300)
        comps = peak.fit.eval_components(x=x)
        bg = np.broadcast_to(comps["bg_"], x.shape)
        ax.plot(
            x, peak.fit.eval(x=x), "-", color="C3", lw=1.5, label=f"{peak.profile} + background"
        )
        ax.plot(x, bg, "--", color="C2", lw=1.2, label="background")
    _mark_peak(ax, peak, "peak")
    top = peak.peak_top_eV
    if np.isfinite(top) and peak.spectrum_eV is not None:
        y_top = float(np.interp(top, peak.spectrum_eV, peak.spectrum_od))
        ax.plot([top], [y_top], "|", color="k", ms=14, mew=1.5, label=f"peak top {top:.4f} eV")
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("Absorbance (OD)")
    fwhm = f", FWHM {peak.fwhm_meV:.0f} meV" if np.isfinite(peak.fwhm_meV) else ""
    ax.set_title(title or f"First excitonic peak{fwhm}", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    _top_wavelength_axis(ax)
    return ax


def plot_chain_fit(fit, ax=None):
    """Peak energy vs N (with errors) and the chain E(N) = E1 - 2 beta cos(pi/(N+1)).

    Parameters
    ----------
    fit : ChainFit
        With its points (``layers``, ``peak_eV``, ``peak_eV_err``); only the curve without.
    """
    ax = new_axes(ax)
    n = np.asarray(fit.layers, dtype=float)
    if n.size:
        err = np.asarray(fit.peak_eV_err, dtype=float)
        ax.errorbar(
            n,
            fit.peak_eV,
            yerr=np.where(np.isfinite(err), err, 0) if np.any(np.isfinite(err)) else None,
            fmt="o",
            color="C0",
            capsize=3,
            label="peak energy",
        )
    nn = np.linspace(1, max(float(n.max()) if n.size else 8.0, 2.0), 200)
    ax.plot(
        nn,
        fit.energy_eV(nn),
        "-",
        color="C3",
        label=(
            f"E1 − 2β cos(π/(N+1)): E1 = {fit.e1_eV:.4f} ± {fit.e1_eV_err:.4f} eV, "
            f"β = {fit.beta_meV:.1f} ± {fit.beta_meV_err:.1f} meV"
        ),
    )
    ax.axhline(fit.e1_eV - 2e-3 * fit.beta_meV, color="0.6", ls=":", lw=1, label="N → ∞: E1 − 2β")
    _integer_layer_axis(ax)
    ax.set_xlabel("Number of layers N")
    ax.set_ylabel("First excitonic peak (eV)")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_linear_fit(fit, ax=None):
    """OD at the first peak vs N (the points ``fit.x``, ``fit.y``) with the straight line."""
    return _plot_od(new_axes(ax), fit.x, fit.y, fit)


def _plot_od(ax, n, od, fit):
    """Points (n, od) and, with a fit, its line from N = 0; the axes of the OD figures."""
    n = np.asarray(n, dtype=float)
    if n.size:
        ax.plot(n, od, "o", color="C2", label="OD at first peak")
    if fit is not None:
        nn = np.linspace(0, float(n.max()) if n.size else 8.0, 50)
        r2 = f" (r² = {fit.r2:.3f})" if np.isfinite(fit.r2) else " (two points: no r²)"
        ax.plot(
            nn,
            fit.slope * nn + fit.intercept,
            "-",
            color="k",
            lw=1,
            label=f"OD = {fit.slope:.4f} N + {fit.intercept:.4f}{r2}",
        )
    ax.set_xlabel("Number of layers N")
    ax.set_ylabel("Optical density (OD)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    _integer_layer_axis(ax)
    ax.legend(fontsize=8, frameon=False)
    return ax


def _integer_layer_axis(ax):
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_shift_vs_layers(series, ax=None):
    """Peak shift vs number of layers with the tight-binding chain fit.

    The 90 % saturation line is drawn only for series of at least four layer counts
    (with fewer, "90 % of the largest shift" is reached at the last point by construction).
    """
    ax = new_axes(ax)
    n = series.layers
    shift = np.array(series.shift_meV)
    err = np.array(series.shift_meV_err)
    ax.errorbar(
        n,
        shift,
        yerr=np.where(np.isfinite(err), err, 0),
        fmt="o",
        color="C0",
        capsize=3,
        label="measured",
    )
    if series.chain_fit is not None:
        c = series.chain_fit
        nn = np.linspace(1, max(n.max(), 2), 200)
        model = (c.energy_eV(nn) - series.reference_eV) * 1e3
        ax.plot(
            nn,
            model,
            "-",
            color="C3",
            label=f"chain: beta = {c.beta_meV:.1f} ± {c.beta_meV_err:.1f} meV",
        )
    if series.saturation_layers is not None and len(set(np.asarray(n).tolist())) >= 4:
        ax.axvline(
            series.saturation_layers,
            color="0.6",
            ls=":",
            label=f"90 % of max shift at N = {series.saturation_layers}",
        )
    ax.axhline(0, color="0.8", lw=0.8)
    _integer_layer_axis(ax)
    ax.set_xlabel("Number of layers N")
    ax.set_ylabel(f"Shift from N = {series.reference_layers} (meV)")
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_od_vs_layers(series, ax=None):
    """OD at the first excitonic peak vs number of layers, with the straight line."""
    return _plot_od(new_axes(ax), series.layers, series.od, series.od_vs_layers)


def plot_coupling(fit, ax=None):
    """|shift| vs linker distance on a log axis, with the exponential fit."""
    ax = new_axes(ax)
    d = np.array(fit.distance_nm)
    s = np.abs(np.array(fit.shift_meV))
    yerr = None if fit.shift_meV_err is None else np.array(fit.shift_meV_err)
    ax.errorbar(d, s, yerr=yerr, fmt="o", color="C0", capsize=3, label="|shift|")
    if fit.linkers:
        for x, y, name in zip(d, s, fit.linkers):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    dd = np.linspace(0, d.max() * 1.1, 200)
    ax.plot(
        dd,
        fit.predict_meV(dd),
        "-",
        color="C3",
        label=(
            f"A exp(-k d): k = {fit.decay_per_nm:.2f} ± {fit.decay_per_nm_err:.2f} nm⁻¹\n"
            f"V = {fit.barrier_eV:.3g} eV ({fit.law}, m* = {fit.mass:g})"
        ),
    )
    ax.set_yscale("log")
    ax.set_xlabel("Linker S–S distance (nm)")
    ax.set_ylabel("|Shift| monolayer → bilayer (meV)")
    ax.legend(fontsize=8, frameon=False)
    return ax


def _cmap(n):
    from matplotlib import colormaps

    cm = colormaps["viridis"]
    return [cm(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


def _top_wavelength_axis(ax):
    from qdstack.units import HC_EV_NM

    sec = ax.secondary_xaxis(
        "top",
        functions=(
            lambda e: HC_EV_NM / np.clip(e, 1e-3, None),
            lambda w: HC_EV_NM / np.clip(w, 1e-3, None),
        ),
    )
    sec.set_xlabel("Wavelength (nm)")
