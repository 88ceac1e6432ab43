"""Figures of an angle-dependent PL series: normalised spectra, peak shift and width vs angle."""

from __future__ import annotations

import math

import numpy as np

from qdstack.plotting._base import new_axes
from qdstack.units import HC_EV_NM

__all__ = ["plot_angle_spectra", "plot_angle_shift", "plot_angle_width", "plot_angle_model"]

_STYLE = {
    "isotropic": dict(color="0.45", ls=":"),
    "anisotropic-emission": dict(color="C3", ls="-"),
    "reabsorption": dict(color="C0", ls="--"),
}
_LABEL = {
    "isotropic": "isotropic (no change)",
    "anisotropic-emission": "(a) out-of-plane dipoles",
    "reabsorption": "(b) re-absorption",
}


def _cmap(n):
    from matplotlib import colormaps

    cm = colormaps["viridis"]
    return [cm(x) for x in np.linspace(0.0, 0.9, max(n, 1))]


def plot_angle_spectra(series, ax=None, span_fwhm: float = 2.5):
    """PL spectra normalised to their maximum, coloured by detection angle, peaks marked.

    Parameters
    ----------
    series : AngleSeries
    span_fwhm : float
        Energy window shown, in FWHMs of the reference band on each side of its peak.
    """
    ax = new_axes(ax, figsize=(7.0, 4.6))
    cols = _cmap(len(series.angles_deg))
    ref = int(np.nanargmin(np.abs(np.array(series.angles_deg))))
    centre = (
        series.peak_eV[ref]
        if math.isfinite(series.peak_eV[ref])
        else float(np.mean(series.energy_eV))
    )
    width = series.fwhm_meV[ref] * 1e-3 if math.isfinite(series.fwhm_meV[ref]) else 0.1
    lo, hi = centre - span_fwhm * width, centre + span_fwhm * width
    for i, (a, spec) in enumerate(zip(series.angles_deg, series.raw_spectra)):
        keep = (spec.energy_eV >= lo) & (spec.energy_eV <= hi)
        e, y = spec.energy_eV[keep], spec.intensity[keep]
        if e.size == 0:
            continue
        base = float(np.min(y))
        top = float(np.max(y)) - base or 1.0
        ax.plot(e, (y - base) / top, color=cols[i], lw=1.1, label=f"{a:g}°")
        pk = series.peak_eV[i]
        if math.isfinite(pk):
            ax.plot([pk], [1.02], "v", color=cols[i], ms=5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(-0.03, 1.08)
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("PL (normalised to maximum)")
    ax.set_title("Angle-dependent PL (angle from the film normal; ▼ fitted peak)", fontsize=10)
    ax.legend(title="detection angle", fontsize=8, title_fontsize=8, frameon=False, ncols=2)
    sec = ax.secondary_xaxis(
        "top",
        functions=(
            lambda x: HC_EV_NM / np.clip(x, 1e-3, None),
            lambda x: HC_EV_NM / np.clip(x, 1e-3, None),
        ),
    )
    sec.set_xlabel("Wavelength (nm)")
    return ax


def _model_curves(ax, series, attr):
    best = series.model.name
    for m in series.models:
        angles = np.array(m.curve_angles_deg)
        values = np.array(getattr(m, attr))
        if angles.size == 0:
            continue
        order = np.argsort(angles)
        style = dict(_STYLE[m.name])
        dbic = series.delta_bic[m.name]
        label = f"{_LABEL[m.name]}, ΔBIC = {dbic:.1f}" + (" (preferred)" if m.name == best else "")
        ax.plot(
            angles[order],
            values[order],
            lw=2.2 if m.name == best else 1.2,
            alpha=1.0 if m.name == best else 0.8,
            label=label,
            **style,
        )


def plot_angle_shift(series, ax=None):
    """Measured peak shift vs angle with the shift each model predicts (preferred model bold).

    The model curves are the peak energies of the fitted model spectra, measured with the
    same peak fit as the data.
    """
    ax = new_axes(ax, figsize=(6.4, 4.4))
    a = np.array(series.angles_deg)
    s = np.array(series.shift_meV)
    e = np.array(series.shift_meV_err)
    _model_curves(ax, series, "curve_shift_meV")
    ax.errorbar(
        a,
        s,
        yerr=np.where(np.isfinite(e), e, 0),
        fmt="o",
        color="k",
        ms=5,
        capsize=3,
        zorder=5,
        label="measured",
    )
    ax.axhline(0, color="0.85", lw=0.8)
    ax.set_xlabel("Detection angle from the normal (°)")
    ax.set_ylabel(f"Peak shift from {series.reference_angle_deg:g}° (meV)")
    m = series.model
    if m.name == "anisotropic-emission":
        p = m.params
        detail = f"f = {p['fraction']:.2f} ± {p['fraction_err']:.2f}, Δ = {p['offset_meV']:.1f} ± {p['offset_meV_err']:.1f} meV"
    elif m.name == "reabsorption":
        detail = f"αd = {m.params['tau']:.3f} ± {m.params['tau_err']:.3f}"
    else:
        detail = "no angle dependence"
    ax.set_title(f"Preferred: {_LABEL[m.name]} ({detail}); evidence {series.evidence}", fontsize=9)
    ax.legend(fontsize=7.5, frameon=False)
    return ax


def plot_angle_width(series, ax=None):
    """FWHM vs angle, measured and as each fitted model predicts it (measured the same way)."""
    ax = new_axes(ax, figsize=(6.4, 4.4))
    a = np.array(series.angles_deg)
    w = np.array(series.fwhm_meV)
    we = np.array(series.fwhm_meV_err)
    _model_curves(ax, series, "curve_fwhm_meV")
    ax.errorbar(
        a,
        w,
        yerr=np.where(np.isfinite(we), we, 0),
        fmt="s",
        color="k",
        ms=4,
        capsize=3,
        zorder=5,
        label="measured",
    )
    ax.set_xlabel("Detection angle from the normal (°)")
    ax.set_ylabel("FWHM (meV)")
    ax.set_title("Band width vs angle: the models change the band's shape differently", fontsize=9)
    ax.legend(fontsize=7.5, frameon=False)
    return ax


def plot_angle_model(model, ax=None):
    """One fitted model: the peak shift (left axis) and FWHM (right axis) it predicts vs angle.

    The curves are the model's fitted spectra measured with the same peak fit as the
    data (``curve_*``); the markers are its predicted shifts at the measured angles.
    The measured points belong to the series (:func:`plot_angle_shift`).
    """
    ax = new_axes(ax, figsize=(6.4, 4.4))
    a = np.array(model.curve_angles_deg)
    order = np.argsort(a)
    style = dict(_STYLE.get(model.name, {"color": "C3", "ls": "-"}))
    colour = style.pop("color")
    p = model.params
    if model.name == "anisotropic-emission":
        detail = f"f = {p['fraction']:.2f} ± {p['fraction_err']:.2f}, Δ = {p['offset_meV']:.1f} ± {p['offset_meV_err']:.1f} meV"
    elif model.name == "reabsorption":
        detail = f"αd = {p['tau']:.3f} ± {p['tau_err']:.3f}"
    else:
        detail = "no angle dependence"
    lines = ax.plot(
        a[order],
        np.array(model.curve_shift_meV)[order],
        color=colour,
        lw=1.8,
        label="peak shift",
        **style,
    )
    if model.angles_deg:
        lines += ax.plot(
            model.angles_deg,
            model.predicted_shift_meV,
            "o",
            color=colour,
            mec="k",
            mew=0.5,
            label="at the measured angles",
        )
    ax.axhline(0, color="0.85", lw=0.8)
    ax.set_xlabel("Detection angle from the normal (°)")
    ax.set_ylabel(f"Peak shift from {model.reference_angle_deg:g}° (meV)")
    width = np.array(model.curve_fwhm_meV)
    if width.size and np.any(np.isfinite(width)):
        tw = ax.twinx()
        lines += tw.plot(
            a[order], width[order], color="0.4", ls="-.", lw=1.2, label="FWHM (right axis)"
        )
        tw.set_ylabel("FWHM (meV)")
    ax.legend(lines, [ln.get_label() for ln in lines], fontsize=8, frameon=False, loc="center left")
    ax.set_title(
        f"{_LABEL.get(model.name, model.name)}: {detail}\nχ²ᵣ = {model.chi2_reduced:.2f}, BIC = {model.bic:.1f}",
        fontsize=9,
    )
    return ax
