"""Figures of scattering-peak fits: profile with fit and components, derivatives, in-plane vs out-of-plane."""

from __future__ import annotations

import math

import numpy as np

from qdstack.plotting._base import new_axes, new_figure

__all__ = ["plot_xrd_fit", "plot_xrd_derivatives", "plot_xrd_directions"]


def _d_axis(ax):
    """A top axis in d = 2 pi / q [nm]."""
    sec = ax.secondary_xaxis(
        "top",
        functions=(
            lambda q: 2 * np.pi / np.clip(q, 1e-6, None),
            lambda d: 2 * np.pi / np.clip(d, 1e-6, None),
        ),
    )
    sec.set_xlabel("d = 2π/q (nm)")
    return sec


def _fmt_err(value, err, digits=None):
    """``value ± err`` with two significant digits of the error (4 significant digits without one)."""
    if err is None or not math.isfinite(err) or err <= 0:
        return f"{value:.4g}"
    dec = int(min(max(1 - math.floor(math.log10(err)), 0), 10))
    return f"{value:.{dec}f} ± {err:.{dec}f}"


def _name(fit):
    from pathlib import Path

    return Path(fit.source).name if fit.source else "profile"


def plot_xrd_fit(fit, ax=None, title: str | None = None):
    """Profile, total fit, background and each Gaussian peak, with q and d of every peak.

    Parameters
    ----------
    fit : XRDFit
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the file name and the method.
    """
    ax = new_axes(ax, figsize=(7.0, 4.6))
    q = fit.q
    ax.plot(q, fit.y, ".", color="0.45", ms=3, label="data")
    ax.plot(
        q, fit.background_curve, "--", color="C2", lw=1.2, label=f"background ({fit.background})"
    )
    colours = ["C0", "C1", "C4", "C5", "C6", "C8"]
    for k, (pk, comp) in enumerate(zip(fit.peaks, fit.components)):
        col = colours[k % len(colours)]
        ax.fill_between(
            q, fit.background_curve, fit.background_curve + comp, color=col, alpha=0.25, lw=0
        )
        ax.axvline(pk.q_per_nm, color=col, lw=0.8, ls=":")
        ax.plot(
            [],
            [],
            color=col,
            lw=6,
            alpha=0.35,
            label=(
                f"peak {k + 1}: q = {_fmt_err(pk.q_per_nm, pk.q_per_nm_err, 4)} nm⁻¹, "
                f"d = {_fmt_err(pk.d_nm, pk.d_nm_err, 2)} nm, FWHM {pk.fwhm_per_nm:.3f} nm⁻¹"
            ),
        )
    ax.plot(q, fit.best_fit, "-", color="C3", lw=1.5, label="fit (Gaussians + background)")
    ax.set_xlabel("q (nm⁻¹)")
    ax.set_ylabel(f"Intensity ({fit.intensity_unit})")
    method = "profile + 1st/2nd derivatives, joint" if fit.method == "joint" else "raw profile"
    ax.set_title(title or f"{_name(fit)} — {method} fit, χ²ᵣ = {fit.chi2_reduced:.2f}", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    ax.set_xlim(q[0], q[-1])
    _d_axis(ax)
    return ax


def plot_xrd_derivatives(fit, axes=None):
    """Savitzky-Golay first and second derivatives of data and model (the joint fit's other data).

    Parameters
    ----------
    fit : XRDFit
        A joint fit (``fit.d1_data`` is not None).
    axes : pair of Axes, optional

    Returns
    -------
    ndarray of Axes, shape (2,)
    """
    if fit.d1_data is None:
        raise ValueError("this fit has no derivative data (method='raw')")
    if axes is None:
        _, axes = new_figure(nrows=2, ncols=1, figsize=(7.0, 5.6), sharex=True)
    qd = fit.q_deriv
    for ax, data, model, name in (
        (axes[0], fit.d1_data, fit.d1_model, "dI/dq"),
        (axes[1], fit.d2_data, fit.d2_model, "d²I/dq²"),
    ):
        ax.plot(qd, data, ".", color="0.45", ms=3, label=f"data, SG {name}")
        ax.plot(qd, model, "-", color="C3", lw=1.4, label="model through the same filter")
        ax.axhline(0, color="0.8", lw=0.8)
        for k, pk in enumerate(fit.peaks):
            ax.axvline(pk.q_per_nm, color="C0" if k == 0 else "C1", lw=0.8, ls=":")
        ax.set_ylabel(name)
        ax.legend(fontsize=8, frameon=False)
    axes[1].set_xlabel("q (nm⁻¹)")
    axes[0].set_title(
        f"{_name(fit)} — cubic Savitzky-Golay window of {fit.sg_window} points (fitted jointly)",
        fontsize=10,
    )
    return axes


def plot_xrd_directions(comparison, in_plane, out_of_plane, ax=None):
    """In-plane and out-of-plane profiles (background removed, peak normalised) on one q axis.

    Parameters
    ----------
    comparison : DirectionComparison
    in_plane, out_of_plane : XRDFit
    """
    ax = new_axes(ax, figsize=(7.0, 4.6))
    for fit, col, name, d, de in (
        (in_plane, "C0", "in-plane", comparison.in_plane_nm, comparison.in_plane_nm_err),
        (
            out_of_plane,
            "C3",
            "out-of-plane",
            comparison.out_of_plane_nm,
            comparison.out_of_plane_nm_err,
        ),
    ):
        net = fit.y - fit.background_curve
        model = fit.best_fit - fit.background_curve
        scale = float(np.max(model)) if np.max(model) > 0 else 1.0
        ax.plot(fit.q, net / scale, ".", color=col, ms=2.5, alpha=0.5)
        ax.plot(
            fit.q,
            model / scale,
            "-",
            color=col,
            lw=1.6,
            label=f"{name}: d = {_fmt_err(d, de, 2)} nm",
        )
        ax.axvline(2 * np.pi / d, color=col, lw=0.8, ls=":")
    exp = comparison.out_of_plane_vs_expected
    if exp is not None:
        ax.axvline(
            2 * np.pi / exp.expected_nm,
            color="k",
            lw=1.0,
            ls="--",
            label=f"edge + gap = {exp.edge_nm:.2f} + {exp.gap_nm:.2f} = {exp.expected_nm:.2f} nm",
        )
    ax.axhline(0, color="0.85", lw=0.8)
    ax.set_xlabel("q (nm⁻¹)")
    ax.set_ylabel("Intensity − background (normalised)")
    ax.set_title(
        f"Out-of-plane / in-plane period = {_fmt_err(comparison.ratio, comparison.ratio_err, 3)}",
        fontsize=10,
    )
    ax.legend(fontsize=8, frameon=False)
    _d_axis(ax)
    return ax
