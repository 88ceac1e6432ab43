"""Figures of the multilayer film model: shift vs N, simulated spectra, emission, calibration."""

from __future__ import annotations

import math

import numpy as np

from qdstack.plotting._base import new_axes

__all__ = [
    "plot_film",
    "plot_model_shift_vs_layers",
    "plot_simulated_spectra",
    "plot_radiative_lifetime",
    "plot_channel_shifts",
    "plot_calibration",
    "plot_saturation_readings",
]


def _reference_shifts(reference: str = "enomoto2024") -> dict:
    """``{linker: (N, shift meV)}`` of the shifts a reference study states (qdstack.references)."""
    from qdstack.physics.film_model.calibration import reference_shifts

    return {m.linker: (m.layers, m.shift_meV) for m in reference_shifts(reference)}


def plot_model_shift_vs_layers(series_list, ax=None, paper: dict | None = None, chain: bool = True):
    """Simulated first-peak shift vs N for one or more series (FilmSeries), with the ideal chain.

    Parameters
    ----------
    series_list : FilmSeries or sequence of FilmSeries
    paper : dict, optional
        ``{linker: (N, shift [meV])}`` to mark (default: the shifts the reference study states,
        read from :mod:`qdstack.references`).
    chain : bool
        Draw the chain fit E1 - 2 beta cos(pi/(N+1)) of each series (dashed).
    """
    ax = new_axes(ax)
    if not isinstance(series_list, (list, tuple)):
        series_list = [series_list]
    paper = _reference_shifts() if paper is None else paper
    for k, s in enumerate(series_list):
        color = f"C{k}"
        n = np.array(s.layers)
        shift = np.array(s.shift_meV)
        err = np.nan_to_num(np.array(s.shift_meV_err))
        label = f"{s.linker or 'gap'} ({s.gap_nm:.2f} nm)"
        ax.errorbar(
            n, shift, yerr=err, fmt="o-", color=color, capsize=2, ms=5, label=f"model: {label}"
        )
        c = s.chain_fit() if chain else None
        if c is not None:
            nn = np.linspace(1, n.max(), 100)
            ref = s.films[0].peak_eV
            ax.plot(
                nn,
                (c.energy_eV(nn) - ref) * 1e3 + 0 * nn,
                "--",
                color=color,
                lw=0.9,
                alpha=0.8,
                label=f"chain fit: beta = {c.beta_meV:.1f} meV",
            )
        sat = s.saturation_layers
        if sat is not None:
            ax.plot(
                [sat],
                [shift[list(n).index(sat)]],
                marker="s",
                mfc="none",
                mec=color,
                ms=11,
                mew=1.2,
            )
        if s.linker in paper:
            n_ref, v_ref = paper[s.linker]
            ax.plot(
                [n_ref],
                [v_ref],
                marker="*",
                color=color,
                ms=15,
                mec="k",
                mew=0.6,
                label=f"paper, {s.linker} N = {n_ref}: {v_ref:+.1f} meV (calibration input)",
            )
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel("Number of layers N")
    ax.set_ylabel("First-peak shift from N = 1 (meV)")
    ax.set_title(
        "Simulated first-peak shift (squares: first N reaching 90 % of the largest shift)",
        fontsize=9.5,
    )
    ax.legend(fontsize=7.5, frameon=False, loc="center right")
    return ax


def plot_simulated_spectra(series, ax=None, normalise: bool = True):
    """Simulated absorption spectra of a series with the first peak marked (as read by the analysis)."""
    ax = new_axes(ax)
    from matplotlib import colormaps

    cm = colormaps["viridis"]
    films = series.films
    top = np.max([f.absorption_per_eV for f in films], axis=0)
    keep = np.nonzero(top > 2e-3 * top.max())[0]
    lo, hi = films[0].energy_eV[keep[0]], films[0].energy_eV[keep[-1]]
    for k, f in enumerate(films):
        color = cm(0.05 + 0.85 * k / max(len(films) - 1, 1))
        y = f.absorption_per_eV if normalise else f.absorbance
        ax.plot(f.energy_eV, y, color=color, lw=1.2, label=f"N = {f.layers}")
        yp = np.interp(f.peak_eV, f.energy_eV, y)
        ax.plot([f.peak_eV], [yp], "v", color=color, mec="k", mew=0.5, ms=6)
    if series.solution is not None:
        s = series.solution
        ax.plot(
            s.energy_eV,
            s.absorption_per_eV if normalise else s.absorbance,
            ":",
            color="0.4",
            lw=1.0,
            label="solution",
        )
    ax.set_xlim(lo, hi)
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("Absorption per dot (1/eV)" if normalise else "Absorbance (OD, display scale)")
    ax.set_title(
        f"{series.linker or 'film'}: simulated band-edge exciton band (markers: first peak)\n"
        "the model has no higher transitions and no continuum",
        fontsize=9,
    )
    ax.legend(fontsize=7.5, frameon=False, ncol=2)
    return ax


def plot_film(film, ax=None):
    """One simulated film: its absorbance with the first peak and, with emission, its PL.

    The absorbance (display OD) is drawn with the fitted first peak (▼) and the peak
    top (|); the PL at the measurement temperature, scaled to the absorbance's
    maximum, with its peak (▲) and the Stokes shift.
    """
    ax = new_axes(ax)
    e, od = np.asarray(film.energy_eV), np.asarray(film.absorbance)
    ax.plot(e, od, color="C0", lw=1.4, label="absorbance")
    yp = float(np.interp(film.peak_eV, e, od))
    ax.plot(
        [film.peak_eV],
        [yp],
        "v",
        color="C0",
        mec="k",
        mew=0.5,
        ms=8,
        label=f"first peak {film.peak_eV:.4f} eV ± {film.peak_eV_err * 1e3:.2f} meV",
    )
    if np.isfinite(film.peak_top_eV):
        yt = float(np.interp(film.peak_top_eV, e, od))
        ax.plot(
            [film.peak_top_eV],
            [yt],
            "|",
            color="k",
            ms=14,
            mew=1.5,
            label=f"peak top {film.peak_top_eV:.4f} eV",
        )
    shown = od
    em = film.emission
    if em is not None and em.pl_per_eV is not None and len(em.temperatures_K):
        k = em.measurement_index
        pl = np.asarray(em.pl_per_eV)[k]
        scale = od.max() / pl.max() if pl.max() > 0 else 1.0
        ax.plot(
            em.energy_eV,
            pl * scale,
            color="C3",
            lw=1.2,
            ls="--",
            label=f"PL at {em.temperatures_K[k]:g} K (scaled)",
        )
        if np.isfinite(em.pl_peak_eV):
            ax.plot(
                [em.pl_peak_eV],
                [float(np.interp(em.pl_peak_eV, em.energy_eV, pl * scale))],
                "^",
                color="C3",
                mec="k",
                mew=0.5,
                ms=8,
                label=f"PL peak {em.pl_peak_eV:.4f} eV, Stokes shift {em.stokes_shift_meV:.1f} meV",
            )
        shown = np.maximum(od, pl * scale)
    keep = np.nonzero(shown > 2e-3 * shown.max())[0]
    if keep.size:
        ax.set_xlim(e[keep[0]], e[keep[-1]])
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("Absorbance (OD, display scale)")
    spec = film.spec
    ax.set_title(
        f"{spec.linker or f'gap {spec.gap_nm:g} nm'}, N = {film.layers}, edge {spec.edge_nm:g} ± "
        f"{spec.edge_sd_nm:g} nm ({film.parameters}): simulated band-edge band",
        fontsize=9,
    )
    ax.legend(fontsize=7.5, frameon=False)
    return ax


def plot_radiative_lifetime(series, ax=None):
    """Radiative lifetime relative to an isolated dot vs temperature (the quantity behind Fig. 6d)."""
    ax = new_axes(ax)
    for f in series.films:
        e = f.emission
        if e is None:
            continue
        t = np.array(e.temperatures_K)
        rate = np.array(e.radiative_rate)
        err = np.array(e.radiative_rate_err)
        ax.errorbar(
            t, 1.0 / rate, yerr=err / rate**2, fmt="o-", ms=4, capsize=2, label=f"N = {f.layers}"
        )
    ax.axhline(1.0, color="0.8", lw=0.8)
    ax.set_xlabel("Temperature (K)")
    ax.set_ylabel("Radiative lifetime / isolated dot")
    ax.set_title(f"{series.linker or 'film'}: thermalised exciton, radiative lifetime", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_channel_shifts(series, ax=None):
    """Shift vs N with every channel alone (tunnelling, dielectric, dipolar) and all together."""
    ax = new_axes(ax)
    n = np.array(series.layers)
    ax.plot(n, series.shift_meV, "o-", color="k", label="all channels")
    for k, (name, shifts) in enumerate(series.channel_shifts_meV.items()):
        ax.plot(n, shifts, "s--", color=f"C{k + 1}", ms=4, label=f"{name} only")
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel("Number of layers N")
    ax.set_ylabel("First-peak shift from N = 1 (meV)")
    ax.set_title(f"{series.linker or 'film'}: which channel makes the shift", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_calibration(result, ax=None):
    """Measured shifts and the calibrated model's, per measurement, with the model's reach."""
    ax = new_axes(ax)
    labels = [f"{m.linker}\nN = {m.layers}" for m in result.data]
    x = np.arange(len(labels))
    y = np.array([m.shift_meV for m in result.data])
    err = np.array([m.shift_meV_err for m in result.data])
    ax.errorbar(x - 0.08, y, yerr=err, fmt="o", color="C0", capsize=3, label="measured")
    ax.plot(x + 0.08, result.model_shift_meV, "s", color="C3", label="calibrated model")
    if result.reach_meV:
        ax.plot(
            x + 0.08,
            list(result.reach_meV.values()),
            "_",
            color="0.3",
            ms=18,
            mew=2,
            label="model at zero barrier (most tunnelling can give)",
        )
    ax.set_xticks(x, labels, fontsize=8)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_ylabel("Shift from N = 1 (meV)")
    vals = ", ".join(
        f"{k} = {v:.3g}" + (f" ± {result.errors[k]:.2g}" if math.isfinite(result.errors[k]) else "")
        for k, v in result.values.items()
    )
    notes = []
    if not all(result.plausible.values()):
        notes.append("barrier outside the plausible 0.5-5 eV of an organic linker")
    if any("out of reach" in w for w in result.warnings):
        notes.append("a measured shift is out of reach of tunnelling")
    title = f"calibration ({result.parameters.coupling} coupling): {vals}"
    ax.set_title(title + ("\n" + "; ".join(notes) if notes else ""), fontsize=8.5)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_saturation_readings(saturation: dict, ax=None):
    """How often noisy series drawn from the model read each saturation layer count, with the paper's reading.

    Parameters
    ----------
    saturation : dict
        ``results["saturation"]`` of ``qdstack reproduce`` (per linker: ``reading`` with
        ``probability``, ``noiseless``; ``paper_layers``).
    """
    ax = new_axes(ax)
    names = [
        k for k in saturation if isinstance(saturation[k], dict) and "reading" in saturation[k]
    ]
    width = 0.8 / max(len(names), 1)
    all_n = sorted({int(n) for k in names for n in saturation[k]["reading"]["probability"]})
    for i, name in enumerate(names):
        r = saturation[name]["reading"]
        n = np.array([int(k) for k in r["probability"]])
        p = np.array(list(r["probability"].values()))
        x = n + (i - (len(names) - 1) / 2) * width
        ax.bar(
            x,
            p,
            width=width,
            color=f"C{i}",
            alpha=0.8,
            label=f"{name}: model series reads {r['noiseless']} without noise",
        )
        paper = int(saturation[name]["paper_layers"])
        pp = float(r["probability"].get(str(paper), 0.0))
        ax.plot(
            [paper + (i - (len(names) - 1) / 2) * width],
            [pp + 0.02],
            marker="v",
            color=f"C{i}",
            mec="k",
            ms=10,
            ls="none",
            label=f"{name}: paper reads {paper} (P = {pp:.2f})",
        )
    ax.set_xticks(all_n)
    ax.set_xlabel("Saturation layer count read from a noisy series (90 % rule)")
    ax.set_ylabel("Probability")
    sd = saturation.get("peak_sd_meV")
    ax.set_title(
        f"Series drawn from the model, each film's peak ±{sd:g} meV" if sd else "Noisy readings",
        fontsize=10,
    )
    ax.set_ylim(0, max(0.6, ax.get_ylim()[1]))
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    return ax
