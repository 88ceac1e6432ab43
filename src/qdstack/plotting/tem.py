"""Figures of particle sizing and lattice spacings: outlines on the micrograph, size histogram, FFT."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = [
    "plot_lattice_fft",
    "plot_lattice_profile",
    "plot_size_fit",
    "plot_tem_histogram",
    "plot_tem_overlay",
]


def _stretch(img):
    lo, hi = np.percentile(img, [0.5, 99.5])
    return np.clip((img - lo) / (hi - lo if hi > lo else 1.0), 0, 1)


def _scale_bar(ax, shape, pixel_nm, colour="yellow"):
    """A round-number scale bar (about a fifth of the width) in the lower left corner."""
    rows, cols = shape
    target = 0.2 * cols * pixel_nm
    exp = 10 ** math.floor(math.log10(target))
    length = max(m * exp for m in (1, 2, 5) if m * exp <= target)
    px = length / pixel_nm
    x0, y0 = 0.95 * cols - px, 0.93 * rows
    ax.plot([x0, x0 + px], [y0, y0], color=colour, lw=3, solid_capstyle="butt")
    label = f"{length:g} nm" if length >= 1 else f"{length * 10:g} Å"
    ax.text(
        x0 + px / 2, y0 - 0.02 * rows, label, color=colour, ha="center", va="bottom", fontsize=9
    )


def plot_tem_overlay(result, ax=None, title: str | None = None):
    """The micrograph with the outline of every counted particle and the excluded objects marked.

    Counted particles: their sub-pixel outline (cyan).  Cut by the border or
    the scale bar: grey boundary.  Unsplit clusters: red boundary.
    """
    from skimage.segmentation import find_boundaries

    img = result.image
    rows, cols = img.shape
    size = 7.0
    ax = new_axes(ax, figsize=(size, size * rows / cols + 0.5))
    ax.imshow(_stretch(img), cmap="gray", interpolation="nearest")
    labels = result.labels
    if labels is not None and result.status:
        status = np.zeros(int(labels.max()) + 1, int)
        for k, s in result.status.items():
            status[k] = {"counted": 1, "border": 2, "cluster": 3}[s]
        kind = status[labels]
        edges = find_boundaries(labels, mode="inner")
        overlay = np.zeros((rows, cols, 4))
        overlay[edges & (kind == 2)] = (0.65, 0.65, 0.65, 0.9)
        overlay[edges & (kind == 3)] = (1.0, 0.15, 0.1, 0.95)
        ax.imshow(overlay, interpolation="nearest")
    lw = 0.8 if len(result.outlines) < 300 else 0.45
    for pts in result.outlines:
        ax.plot(pts[:, 1], pts[:, 0], color="cyan", lw=lw)
    _scale_bar(ax, img.shape, result.pixel_nm)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    name = Path(result.source).name if result.source else "image"
    ax.set_title(
        title
        or (
            f"{name}: {result.count} counted (cyan), {result.excluded_border} at the border (grey), "
            f"{result.excluded_clusters} unsplit clusters (red)"
        ),
        fontsize=9,
    )
    return ax


def plot_tem_histogram(result, ax=None, title: str | None = None):
    """Histogram of the sizes with the fitted normal and log-normal laws."""
    from qdstack.analysis.tem import _hist

    ax = new_axes(ax, figsize=(6.4, 4.4))
    sizes = np.asarray(result.sizes_nm, float)
    counts, edges = _hist(sizes, None)
    ax.stairs(counts, edges, fill=True, color="0.75", label=f"{result.count} particles")
    ax.stairs(counts, edges, color="0.3", lw=0.8)
    x = np.linspace(edges[0] - 0.5 * np.ptp(edges), edges[-1] + 0.5 * np.ptp(edges), 400)
    x = x[x > 0]
    for f, col in zip(result.fits, ("C0", "C3")):
        if f.fit is None:
            continue
        y = f.fit.eval(x=x)
        if f.law == "normal":
            lab = f"normal: {f.centre:.2f} ± {f.centre_err:.2f} nm, sd {f.width:.2f} ± {f.width_err:.2f} nm"
        else:
            lab = (
                f"log-normal: median {f.centre:.2f} ± {f.centre_err:.2f} nm, s = {f.width:.3f} ± {f.width_err:.3f}"
                f" (mean {f.mean:.2f}, sd {f.sd:.2f} nm)"
            )
        ax.plot(x, y, color=col, lw=1.5, label=lab)
    ax.axvline(
        result.mean_nm,
        color="k",
        ls="--",
        lw=0.8,
        label=f"mean {result.mean_nm:.2f} ± {result.mean_err_nm:.2f} nm, sd {result.sd_nm:.2f} nm",
    )
    what = "edge (face to face)" if result.shape == "cube" else "diameter (equivalent circle)"
    ax.set_xlabel(f"{what} (nm)")
    ax.set_ylabel("particles per bin")
    ax.set_xlim(max(0.0, edges[0] - 0.3 * np.ptp(edges)), edges[-1] + 0.3 * np.ptp(edges))
    ax.set_ylim(0, 1.45 * max(counts.max(), 1))
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    name = Path(result.source).name if result.source else "image"
    ax.set_title(title or f"{name}: {result.shape} sizes", fontsize=10)
    return ax


def plot_size_fit(fit, ax=None):
    """The histogram one :class:`SizeFit` was fitted to, with its law (counts per bin)."""
    ax = new_axes(ax, figsize=(6.4, 4.4))
    counts, edges = np.asarray(fit.counts, float), np.asarray(fit.edges, float)
    ax.stairs(counts, edges, fill=True, color="0.75", label=f"{int(counts.sum())} particles")
    ax.stairs(counts, edges, color="0.3", lw=0.8)
    x = np.linspace(edges[0] - 0.5 * np.ptp(edges), edges[-1] + 0.5 * np.ptp(edges), 400)
    x = x[x > 0]
    if fit.law == "normal":
        lab = f"normal: mean {fit.centre:.2f} ± {fit.centre_err:.2f} nm, sd {fit.width:.2f} ± {fit.width_err:.2f} nm"
    else:
        lab = (
            f"log-normal: median {fit.centre:.2f} ± {fit.centre_err:.2f} nm, s = {fit.width:.3f} ± "
            f"{fit.width_err:.3f}\n(mean {fit.mean:.2f}, sd {fit.sd:.2f} nm)"
        )
    lab += f", χ²ᵣ = {fit.redchi:.2f}" + ("" if fit.converged else " (not converged)")
    ax.plot(
        x, fit.counts_per_bin(x), color="C0" if fit.law == "normal" else "C3", lw=1.5, label=lab
    )
    ax.set_xlabel("size (nm)")
    ax.set_ylabel("particles per bin")
    ax.set_xlim(max(0.0, edges[0] - 0.3 * np.ptp(edges)), edges[-1] + 0.3 * np.ptp(edges))
    ax.set_ylim(0, 1.4 * max(counts.max(), 1))
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    return ax


def plot_lattice_fft(result, ax=None, title: str | None = None):
    """Log power spectrum of the windowed image with the spots and rings found (in 1/d, nm^-1)."""
    ax = new_axes(ax, figsize=(6.0, 6.0))
    power = result.power
    k_nyq = 0.5 / result.pixel_nm
    kmax = min(k_nyq, 1.6 / min(s.d_nm for s in result.spacings)) if result.spacings else k_nyq
    ext = [-k_nyq, k_nyq, k_nyq, -k_nyq]
    shown = np.log10(power + power.max() * 1e-9)
    lo, hi = np.percentile(shown, [50, 99.98])
    ax.imshow(shown, cmap="magma", extent=ext, vmin=lo, vmax=hi, interpolation="nearest")
    for s in result.spots:  # each spot and its Friedel mate
        ax.plot(
            [s["kx_per_nm"], -s["kx_per_nm"]],
            [s["ky_per_nm"], -s["ky_per_nm"]],
            "o",
            mfc="none",
            mec="cyan",
            ms=9,
            mew=0.9,
        )
    theta = np.linspace(0, 2 * np.pi, 300)
    for k, sp in enumerate(result.spacings):
        r = 1.0 / sp.d_nm
        ax.plot(
            r * np.cos(theta),
            r * np.sin(theta),
            "--",
            color=f"C{k % 10}",
            lw=0.8,
            alpha=0.8,
            label=f"d = {sp.d_nm:.4f} nm" + (f" {sp.hkl}" if sp.hkl else ""),
        )
    ax.set_xlim(-kmax, kmax)
    ax.set_ylim(kmax, -kmax)
    ax.set_xlabel("k_x = 1/d (nm⁻¹)")
    ax.set_ylabel("k_y (nm⁻¹)")
    ax.legend(fontsize=7, loc="lower right", framealpha=0.6)
    name = Path(result.source).name if result.source else "image"
    ax.set_title(title or f"{name}: Hann-windowed power spectrum", fontsize=10)
    return ax


def plot_lattice_profile(result, ax=None, title: str | None = None):
    """Radial average of the power spectrum against 1/d, with the peaks found and the crystal's planes."""
    ax = new_axes(ax, figsize=(7.0, 4.2))
    k = result.radial_k_per_nm
    ax.semilogy(k, result.radial_power, color="0.3", lw=1, label="radial average")
    for j, sp in enumerate(result.spacings):
        ax.axvline(
            1.0 / sp.d_nm,
            color=f"C{j % 10}",
            lw=1,
            label=f"{sp.d_nm:.4f} ± {sp.d_nm_err:.4f} nm" + (f" {sp.hkl}" if sp.hkl else ""),
        )
    if result.crystal is not None and result.expected:
        for e in result.expected:
            ax.axvline(1.0 / e["d_nm"], color="k", ls=":", lw=0.7)
        ax.plot([], [], "k:", lw=0.7, label=f"{result.crystal} planes at the stored calibration")
    if result.spacings:
        ax.set_xlim(0, min(k.max(), 1.5 / min(s.d_nm for s in result.spacings)))
    ax.set_xlabel("1/d (nm⁻¹)")
    ax.set_ylabel("power (a.u.)")
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    name = Path(result.source).name if result.source else "image"
    ax.set_title(title or f"{name}: radial power spectrum", fontsize=10)
    return ax
