"""Figures of scattering-peak fits: profile with fit and components, derivatives, in-plane vs out-of-plane."""

from __future__ import annotations

import math

import numpy as np

from qdstack.plotting._base import new_axes, new_figure

__all__ = [
    "plot_xrd_fit",
    "plot_xrd_derivatives",
    "plot_xrd_directions",
    "plot_xrd_peak",
    "plot_periods",
]


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


def plot_xrd_peak(peak, ax=None, title: str | None = None):
    """One peak: the profile within three FWHM of its centre, the background + this
    Gaussian, the total fit, and the centre with its uncertainty.

    Parameters
    ----------
    peak : XRDPeak
        From :func:`~qdstack.analysis.xrd.fit_xrd_peaks` (which keeps the window);
        without the window only the Gaussian of the fitted parameters is drawn.
    """
    ax = new_axes(ax, figsize=(6.4, 4.4))
    c, fwhm = peak.q_per_nm, peak.fwhm_per_nm
    if peak.window_q is not None and len(peak.window_q):
        q = np.asarray(peak.window_q)
        bg = np.asarray(peak.window_background)
        ax.plot(q, peak.window_y, ".", color="0.45", ms=4, label="data")
        ax.plot(q, bg, "--", color="C2", lw=1.2, label="background")
        ax.fill_between(q, bg, bg + np.asarray(peak.window_peak), color="C0", alpha=0.3, lw=0)
        ax.plot([], [], color="C0", lw=6, alpha=0.4, label="this peak (Gaussian)")
        ax.plot(q, peak.window_fit, "-", color="C3", lw=1.5, label="total fit")
        ax.set_xlim(q[0], q[-1])
        unit = peak.intensity_unit
    else:
        q = np.linspace(c - 3 * fwhm, c + 3 * fwhm, 300)
        sigma = fwhm / (2 * np.sqrt(2 * np.log(2)))
        ax.plot(
            q,
            peak.height * np.exp(-0.5 * ((q - c) / sigma) ** 2),
            color="C0",
            label="fitted Gaussian",
        )
        ax.set_xlim(q[0], q[-1])
        unit = peak.intensity_unit + ", above background"
    ax.axvline(c, color="k", lw=0.8, ls=":")
    if np.isfinite(peak.q_per_nm_err):
        ax.axvspan(c - peak.q_per_nm_err, c + peak.q_per_nm_err, color="k", alpha=0.12, lw=0)
    ax.plot(
        [],
        [],
        color="k",
        lw=0.8,
        ls=":",
        label=(
            f"q = {_fmt_err(c, peak.q_per_nm_err, 4)} nm⁻¹, d = {_fmt_err(peak.d_nm, peak.d_nm_err, 2)} nm\n"
            f"FWHM {_fmt_err(fwhm, peak.fwhm_per_nm_err, 3)} nm⁻¹"
        ),
    )
    ax.set_xlabel("q (nm⁻¹)")
    ax.set_ylabel(f"Intensity ({unit})")
    ax.set_title(title or "Scattering peak", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="best")
    _d_axis(ax)
    return ax


def plot_periods(comparison, ax=None):
    """Periods of a :class:`PeriodComparison` or :class:`DirectionComparison`, with errors.

    A period comparison: the measured period beside the expected stacking period
    edge + linker gap.  A direction comparison: the in-plane and out-of-plane periods
    (and the expected stacking period when it was compared).  Points with standard
    errors on a common period axis (zoomed to the values: the differences matter).
    """
    ax = new_axes(ax, figsize=(6.4, 3.4))
    rows = []  # (label, value, error, colour, marker)
    if hasattr(comparison, "in_plane_nm"):
        c = comparison
        rows.append(("in-plane", c.in_plane_nm, c.in_plane_nm_err, "C0", "o"))
        rows.append(("out-of-plane", c.out_of_plane_nm, c.out_of_plane_nm_err, "C1", "o"))
        expected = c.out_of_plane_vs_expected
        title = (
            f"out/in = {_fmt_err(c.ratio, c.ratio_err, 3)}, "
            f"in − out = {_fmt_err(c.difference_nm, c.difference_nm_err, 3)} nm"
        )
    else:
        c = comparison
        rows.append((f"measured (peak {c.peak})", c.measured_nm, c.measured_nm_err, "C0", "o"))
        expected = c
        z = "n/a" if c.z_score is None else f"{c.z_score:+.1f}"
        title = f"measured − expected = {c.difference_nm:+.3f} nm (z = {z})"
    if expected is not None:
        rows.append(
            (
                f"L + D = {expected.edge_nm:g} + {expected.gap_nm:.3f}\n({expected.gap_source})",
                expected.expected_nm,
                expected.expected_nm_err,
                "k",
                "s",
            )
        )
    y = np.arange(len(rows))[::-1]
    lo, hi = np.inf, -np.inf
    for yi, (_, v, e, col, mk) in zip(y, rows):
        e = e if np.isfinite(e) and e > 0 else 0.0
        ax.errorbar(v, yi, xerr=e or None, fmt=mk, color=col, ms=7, capsize=5)
        ax.annotate(
            f"{_fmt_err(v, e or float('nan'), 3)} nm",
            (v, yi),
            textcoords="offset points",
            xytext=(0, 9),
            ha="center",
            fontsize=8,
        )
        lo, hi = min(lo, v - e), max(hi, v + e)
    pad = max(0.25 * (hi - lo), 0.02 * hi)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", color="0.9")
    ax.set_xlabel("Period d (nm)")
    ax.set_title(title, fontsize=10)
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
