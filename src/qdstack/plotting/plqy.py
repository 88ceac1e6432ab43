"""Figures of the integrating-sphere PLQY analysis (:mod:`qdstack.analysis.plqy`)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_figure

__all__ = ["plot_plqy"]

_COLORS = {"A": "#555555", "B": "#2a5caa", "C": "#c0392b"}
_LABELS = {"A": "A: empty sphere", "B": "B: sample out of beam", "C": "C: sample in beam"}


def plot_plqy(result, axes=None):
    """Laser line (left) and emission band (right) of the three spectra, windows shaded.

    Baselines are subtracted and the response correction applied, i.e. what is
    integrated.  Returns the Figure.
    """
    if axes is None:
        fig, axes = new_figure(1, 2, figsize=(10.5, 4.2))
    fig = axes[0].figure
    s = result.spectra
    x = s["wavelength_nm"]
    corr = s["correction"]
    lw, ew = result.laser_window_nm, result.emission_window_nm
    pad_l = max(lw[1] - lw[0], 1.0)
    for key in ("A", "B", "C"):
        y = (np.asarray(s[key]) - s["baselines"][key]) * corr
        m = (x >= lw[0] - pad_l) & (x <= lw[1] + pad_l)
        axes[0].plot(x[m], y[m], color=_COLORS[key], lw=1.2, label=_LABELS[key])
        pad_e = 0.15 * (ew[1] - ew[0])
        m = (x >= ew[0] - pad_e) & (x <= ew[1] + pad_e)
        axes[1].plot(x[m], y[m], color=_COLORS[key], lw=1.2, label=_LABELS[key])
    axes[0].axvspan(*lw, color="#f1c40f", alpha=0.18, lw=0, label="laser window")
    axes[1].axvspan(*ew, color="#27ae60", alpha=0.12, lw=0, label="emission window")
    axes[0].set_title(f"laser line (A = {result.absorptance:.3f} ± {result.absorptance_err:.2g})")
    axes[1].set_title(f"emission (PLQY = {result.plqy:.3f} ± {result.plqy_err:.2g})")
    for ax in axes:
        ax.set_xlabel("wavelength (nm)")
        ax.axhline(0, color="k", lw=0.5)
    axes[0].set_ylabel(
        "signal − dark level" + (" (response-corrected)" if result.response_corrected else "")
    )
    axes[0].legend(fontsize=8, loc="upper right")
    axes[1].legend(fontsize=8, loc="upper right")
    return fig
