"""Figure of one PL peak measurement (:class:`~qdstack.analysis.pl.PLPeak`)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = ["plot_pl_peak"]


def plot_pl_peak(peak, ax=None, title: str | None = None):
    """The PL spectrum with the profile fitted to its top, the background and the FWHM.

    Draws the spectrum the result keeps, the fitted profile + background over the
    fitted points, the constant background, the peak energy, and the reported FWHM
    as a bar at half maximum (``background + height / 2``) between the half-maximum
    crossings of the spectrum (the bar's length is the reported ``fwhm_meV``, centred
    on the crossings' midpoint).

    Parameters
    ----------
    peak : PLPeak
    title : str, optional
    """
    from qdstack.analysis.pl import half_max_width

    ax = new_axes(ax)
    e = peak.spectrum_eV
    if e is not None:
        ax.plot(e, peak.spectrum, "-", color="0.35", lw=1.0, label="spectrum")
    if peak.fit is not None:
        x = np.asarray(peak.fit.userkws["x"], dtype=float)
        xf = np.linspace(x[0], x[-1], 300)
        ax.plot(
            xf,
            peak.fit.eval(x=xf),
            "-",
            color="C3",
            lw=1.8,
            label=f"{peak.profile} fitted to the top ({x[0]:.3f}–{x[-1]:.3f} eV)",
        )
    ax.axhline(peak.background, color="C2", ls="--", lw=1.0, label="background")
    half = peak.background + 0.5 * peak.height
    width_eV = peak.fwhm_meV * 1e-3
    mid = peak.peak_eV
    if e is not None:
        left, right, _ = half_max_width(
            e, np.asarray(peak.spectrum) - peak.background, 0.5 * peak.height
        )
        if np.isfinite(left) and np.isfinite(right):
            mid = 0.5 * (left + right)
            ax.plot([left, right], [half, half], "|", color="C0", ms=12, mew=1.5)
    if np.isfinite(width_eV):
        ax.annotate(
            "",
            xy=(mid - width_eV / 2, half),
            xytext=(mid + width_eV / 2, half),
            arrowprops=dict(arrowstyle="<->", color="C0", lw=1.3),
        )
        ax.plot(
            [],
            [],
            color="C0",
            lw=1.3,
            label=f"FWHM {peak.fwhm_meV:.1f} ± {peak.fwhm_meV_err:.1f} meV",
        )
    ax.axvline(
        peak.peak_eV,
        color="C3",
        ls=":",
        lw=1.0,
        label=f"peak {peak.peak_eV:.4f} eV ± {peak.peak_eV_err * 1e3:.2f} meV",
    )
    if e is not None and np.isfinite(width_eV):  # the band, not the empty wings
        ax.set_xlim(max(e[0], peak.peak_eV - 3 * width_eV), min(e[-1], peak.peak_eV + 3 * width_eV))
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("PL intensity per eV (arb.)")
    ax.set_title(title or "PL peak", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax
