"""Figures of decay fits: data, IRF, fit and residuals; lifetime vs temperature (Fig. 6)."""

from __future__ import annotations

import numpy as np

from qdstack.plotting._base import new_axes, new_figure

__all__ = ["plot_decay", "plot_lifetime_series", "plot_decay_series"]


def plot_decay(fit, ax=None, residual_ax=None, title: str | None = None):
    """A decay on a log scale with its IRF and fit, and the weighted residuals below.

    Parameters
    ----------
    fit : DecayFit
    ax : Axes, optional
        Axes for the decay; with ``ax=None`` a new figure with a residual panel is made.
    residual_ax : Axes, optional
        Axes for the residuals (none drawn when ``ax`` is given without it).
    title : str, optional

    Returns
    -------
    Axes
        The decay axes.
    """
    if ax is None:
        fig, (ax, residual_ax) = new_figure(
            2, 1, figsize=(6.6, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    t = fit.time_ns
    i0, i1 = fit.window
    y = fit.counts
    ax.semilogy(
        t,
        np.where(y > 0, y, np.nan),
        ".",
        ms=2.5,
        color="0.6",
        label="data (outside the fit window)",
    )
    ax.semilogy(
        t[i0:i1], np.where(y[i0:i1] > 0, y[i0:i1], np.nan), ".", ms=2.5, color="C0", label="data"
    )
    peak = float(np.max(fit.model)) if np.max(fit.model) > 0 else 1.0
    irf = fit.irf * (peak / fit.irf.max()) if fit.irf.max() > 0 else fit.irf
    ax.semilogy(
        t,
        np.where(irf > peak * 1e-4, irf, np.nan),
        "-",
        lw=1.0,
        color="0.35",
        label=f"IRF ({fit.irf_description}), shifted {fit.shift_ns * 1e3:+.0f} ps",
    )
    ax.semilogy(t[i0:i1], fit.model[i0:i1], "-", lw=1.6, color="C3", label=_fit_label(fit))
    ax.axhline(
        fit.background,
        color="C2",
        lw=0.8,
        ls=":",
        label=f"background {fit.background:.3g} counts/bin",
    )
    pos = y[y > 0]
    lo = max(0.3, float(np.percentile(pos, 1)) * 0.5) if pos.size else 0.3
    ax.set_ylim(lo, float(np.max(y)) * 2.0 if np.max(y) > 0 else 10)
    ax.set_ylabel(f"Counts per {fit.bin_width_ns * 1e3:.3g} ps bin")
    ax.legend(fontsize=7.5, frameon=False, loc="upper right")
    if title:
        ax.set_title(title, fontsize=10)
    if residual_ax is not None:
        r = fit.residuals
        residual_ax.plot(t, r, "-", lw=0.6, color="C0")
        residual_ax.axhline(0, color="k", lw=0.6)
        for v in (-2, 2):
            residual_ax.axhline(v, color="0.6", lw=0.5, ls="--")
        kind = "deviance" if fit.statistic == "poisson" else "(y-m)/σ"
        residual_ax.set_ylabel(f"residual\n({kind})")
        lim = max(4.0, float(np.nanmax(np.abs(r))) * 1.1) if np.any(np.isfinite(r)) else 4.0
        residual_ax.set_ylim(-lim, lim)
        residual_ax.set_xlabel("Time (ns)")
        stat = "χ²_red" if fit.statistic == "neyman" else "Pearson χ²_red"
        residual_ax.text(
            0.99,
            0.95,
            f"{stat} = {fit.chi2_reduced:.3f}",
            transform=residual_ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    else:
        ax.set_xlabel("Time (ns)")
    return ax


def _fit_label(fit) -> str:
    parts = []
    for c in fit.components:
        err = f" ± {c.tau_ns_err:.2g}" if np.isfinite(c.tau_ns_err) else ""
        parts.append(f"τ = {c.tau_ns:.3g}{err} ns (a = {c.amplitude:.2f})")
    head = "fit (Poisson ML)" if fit.statistic == "poisson" else "fit (Neyman χ²)"
    avg = (
        f"⟨τ⟩_amp = {fit.tau_amplitude_weighted_ns:.3g} ± {fit.tau_amplitude_weighted_ns_err:.2g} ns, "
        f"⟨τ⟩_int = {fit.tau_intensity_weighted_ns:.3g} ± {fit.tau_intensity_weighted_ns_err:.2g} ns"
    )
    return head + ":\n" + "\n".join(parts) + "\n" + avg


def plot_lifetime_series(series, ax=None):
    """Average lifetimes vs temperature (Fig. 6d), both averages with their errors.

    Parameters
    ----------
    series : LifetimeSeries
    """
    ax = new_axes(ax)
    T = series.temperature_K
    for name, label, color, marker in (
        ("tau_amplitude_weighted_ns", "amplitude-weighted Σaτ/Σa (±1σ)", "C0", "o"),
        ("tau_intensity_weighted_ns", "intensity-weighted Σaτ²/Σaτ (±1σ)", "C3", "s"),
    ):
        v = series.column(name)
        e = series.column(name + "_err")
        ax.errorbar(
            T,
            v,
            yerr=np.where(np.isfinite(e), e, 0.0),
            fmt=marker + "-",
            ms=5,
            lw=1,
            capsize=3,
            color=color,
            label=label,
        )
    ax.set_xlabel("Temperature (K)")
    ax.set_ylabel("Average PL lifetime (ns)")
    top = max(
        (
            np.nanmax(series.column(n) + np.nan_to_num(series.column(n + "_err")))
            for n in ("tau_amplitude_weighted_ns", "tau_intensity_weighted_ns")
        ),
        default=1.0,
    )
    ax.set_ylim(
        0, 1.45 * top if np.isfinite(top) and top > 0 else None
    )  # headroom: the legend sits above the data
    K = len(series.fits[0].components) if series.fits else 0
    ax.set_title(f"PL lifetime vs temperature ({K}-exponential reconvolution fits)", fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=1)
    return ax


def plot_decay_series(series, ax=None):
    """Decays of a temperature series, each normalised to its peak, on a log scale (Fig. 6a-c)."""
    from matplotlib import colormaps

    ax = new_axes(ax)
    cm = colormaps["plasma"]
    T = series.temperature_K
    span = (T.max() - T.min()) or 1.0
    for Tk, fit in zip(T, series.fits):
        y = fit.counts - fit.background
        peak = float(np.max(fit.model - fit.background)) or 1.0
        t = fit.time_ns - fit.time_ns[int(np.argmax(fit.model))]
        color = cm(0.85 * (Tk - T.min()) / span)
        ax.semilogy(t, np.where(y > 0, y / peak, np.nan), ".", ms=1.5, color=color, alpha=0.5)
        ax.semilogy(
            t, (fit.model - fit.background) / peak, "-", lw=1.2, color=color, label=f"{Tk:g} K"
        )
    ax.set_ylim(1e-3, 2)
    ax.set_xlabel("Time after the peak (ns)")
    ax.set_ylabel("PL (normalised, background removed)")
    if len(T) <= 12:
        ax.legend(fontsize=7, frameon=False, ncol=2)
    return ax
