"""Result objects of the absorption analysis: one spectrum's peak, the series and its fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack._result import Result, Table, fmt

__all__ = ["ExcitonicPeak", "LinearFit", "ChainFit", "FilmPeak", "AbsorptionSeries"]


@dataclass(frozen=True)
class ExcitonicPeak(Result):
    """The first excitonic absorption peak of one spectrum.

    Attributes
    ----------
    peak_eV, peak_eV_err : float
        Transition energy (centre of the fitted peak) and its standard error [eV].
    peak_nm : float
        The same as a vacuum wavelength [nm].
    peak_top_eV : float
        The measured maximum inside the fit window (the vertex of a parabola through the
        points around the highest one), the raw "peak top"; NaN when the peak is a
        shoulder without a maximum.
    peak_top_eV_err : float
        Its standard error (from the parabola's covariance) [eV].
    od, od_err : float
        Absorbance (optical density) of the spectrum at ``peak_eV`` (peak + background).
    height_od : float
        Height of the excitonic peak above the local background.
    fwhm_meV : float
        Full width at half maximum of the fitted peak [meV]; NaN when undefined
        (width at its bound or determined to worse than 50 %).
    window_eV : tuple of float
        Energy range of the refinement fit.
    profile : str
        ``"gaussian"`` or ``"voigt"``.
    noise_od : float
        Estimated white-noise level of the spectrum.
    fit : lmfit.model.ModelResult
        The refinement fit (``fit.fit_report()`` for the details).
    warnings : tuple of str
    spectrum_eV, spectrum_od : ndarray
        The measured spectrum around the peak (the fit window widened by half its
        width on each side), kept for :meth:`plot`.
    """

    peak_eV: float
    peak_eV_err: float
    peak_nm: float
    peak_top_eV: float
    od: float
    od_err: float
    height_od: float
    fwhm_meV: float
    window_eV: tuple[float, float]
    profile: str
    noise_od: float
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()
    peak_top_eV_err: float = float("nan")
    spectrum_eV: np.ndarray | None = field(default=None, repr=False, compare=False)
    spectrum_od: np.ndarray | None = field(default=None, repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_excitonic_peak

        return plot_excitonic_peak(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "peak_eV": self.peak_eV,
            "peak_eV_err": self.peak_eV_err,
            "peak_nm": self.peak_nm,
            "peak_top_eV": self.peak_top_eV,
            "peak_top_eV_err": self.peak_top_eV_err,
            "od": self.od,
            "od_err": self.od_err,
            "height_od": self.height_od,
            "fwhm_meV": self.fwhm_meV,
            "window_eV": list(self.window_eV),
            "profile": self.profile,
            "noise_od": self.noise_od,
        }


@dataclass(frozen=True)
class LinearFit(Result):
    """y = slope * x + intercept, with standard errors and r^2.

    ``x`` and ``y`` keep the fitted points (the layer counts and the ODs at the first
    peak, for :func:`~qdstack.analysis.absorption.fit_od_vs_layers`).
    """

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    r2: float
    fit: object = field(repr=False, compare=False, default=None)
    x: tuple[float, ...] = field(default=(), repr=False, compare=False)
    y: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_linear_fit

        return plot_linear_fit(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "slope": self.slope,
            "slope_err": self.slope_err,
            "intercept": self.intercept,
            "intercept_err": self.intercept_err,
            "r2": self.r2,
        }


@dataclass(frozen=True)
class ChainFit(Result):
    """Fit of E(N) = E1 - 2 beta cos(pi/(N+1)) to peak energies.

    ``layers``, ``peak_eV`` and ``peak_eV_err`` keep the fitted points.
    """

    e1_eV: float
    e1_eV_err: float
    beta_meV: float
    beta_meV_err: float
    r2: float
    fit: object = field(repr=False, compare=False, default=None)
    layers: tuple[float, ...] = field(default=(), repr=False, compare=False)
    peak_eV: tuple[float, ...] = field(default=(), repr=False, compare=False)
    peak_eV_err: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_chain_fit

        return plot_chain_fit(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "e1_eV": self.e1_eV,
            "e1_eV_err": self.e1_eV_err,
            "beta_meV": self.beta_meV,
            "beta_meV_err": self.beta_meV_err,
            "r2": self.r2,
        }

    def energy_eV(self, layers):
        from qdstack.analysis.absorption.series import chain_energy_eV

        return chain_energy_eV(layers, self.e1_eV, self.beta_meV)


@dataclass(frozen=True)
class FilmPeak(Result):
    """One film of a series: its file, layer count and first excitonic peak."""

    file: str
    layers: int
    peak: ExcitonicPeak
    label: str | None = None

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_excitonic_peak

        name = Path(self.file).name + (f" [{self.label}]" if self.label else "")
        return plot_excitonic_peak(self.peak, ax=ax, title=f"{name}: N = {self.layers}")

    def to_dict(self) -> dict:
        d = {"file": self.file, "layers": self.layers}
        d.update(
            {
                "peak_eV": self.peak.peak_eV,
                "peak_eV_err": self.peak.peak_eV_err,
                "peak_nm": self.peak.peak_nm,
                "od": self.peak.od,
                "fwhm_meV": self.peak.fwhm_meV,
                "peak_top_eV": self.peak.peak_top_eV,
                "peak_top_eV_err": self.peak.peak_top_eV_err,
                "od_err": self.peak.od_err,
                "height_od": self.peak.height_od,
            }
        )
        if self.label is not None:
            d["label"] = self.label
        return d


@dataclass(frozen=True)
class AbsorptionSeries(Result):
    """Result of :func:`analyse_absorption_series` (``to_dict()`` is the contract JSON).

    Keeps the spectra it was computed from (``spectra``, in the order of ``films``).
    ``summary()`` is the table ``qdstack absorption`` prints; ``plot()`` draws the shift vs
    N with the chain fit (or the spectra, for a density series); the chain fit's
    covariance is ``chain_fit.covariance``.

    Examples
    --------
    >>> from qdstack.analysis import fit_absorption_series
    >>> from qdstack.io import read_spectrum
    >>> files = sorted(EXAMPLES.glob("absorption_c3dt/C3DT_N*.csv"))
    >>> series = fit_absorption_series([read_spectrum(f) for f in files], range(1, 9))
    >>> round(series.chain_fit.beta_meV)
    23
    >>> fig = series.plot()          # shift vs N with the chain fit; inline in Jupyter
    """

    films: tuple[FilmPeak, ...]
    reference_layers: int
    reference_eV: float
    shift_meV: tuple[float, ...]
    shift_meV_err: tuple[float, ...]
    peak_top_shift_meV: tuple[float, ...]
    od_vs_layers: LinearFit | None
    chain_fit: ChainFit | None
    saturation_layers: int | None
    warnings: tuple[str, ...] = ()
    spectra: tuple = field(default=(), repr=False, compare=False)

    @property
    def layers(self) -> np.ndarray:
        return np.array([f.layers for f in self.films], dtype=int)

    @property
    def peak_eV(self) -> np.ndarray:
        return np.array([f.peak.peak_eV for f in self.films])

    @property
    def od(self) -> np.ndarray:
        return np.array([f.peak.od for f in self.films])

    def to_dict(self) -> dict:
        peaks = self.peak_eV
        return {
            "spectra": [f.to_dict() for f in self.films],
            "shift_meV": list(self.shift_meV),
            "shift_meV_err": list(self.shift_meV_err),
            "peak_top_shift_meV": list(self.peak_top_shift_meV),
            "reference_layers": self.reference_layers,
            "reference_eV": self.reference_eV,
            "od_vs_layers": None if self.od_vs_layers is None else self.od_vs_layers.to_dict(),
            "chain_fit": None if self.chain_fit is None else self.chain_fit.to_dict(),
            "saturation_layers": self.saturation_layers,
            "peak_spread": {
                "mean_eV": float(np.mean(peaks)),
                "std_meV": float(np.std(peaks, ddof=1) * 1e3) if peaks.size > 1 else 0.0,
                "range_meV": float(np.ptp(peaks) * 1e3),
            },
            "warnings": list(self.warnings),
        }

    def summary_blocks(self):
        rows = []
        for f, sh in zip(self.films, self.shift_meV):
            p = f.peak
            rows.append(
                (
                    Path(f.file).name + (f" [{f.label}]" if f.label else ""),
                    str(f.layers),
                    f"{p.peak_eV:.4f}",
                    f"{p.peak_eV_err * 1e3:.2f}",
                    f"{p.peak_nm:.1f}",
                    f"{p.od:.4f}",
                    fmt(p.fwhm_meV, ".0f"),
                    f"{sh:+.1f}",
                )
            )
        blocks: list = [
            Table(
                "First excitonic absorption peak",
                ("file", "N", "peak eV", "± meV", "peak nm", "OD", "FWHM meV", "shift meV"),
                tuple(rows),
            )
        ]
        if self.chain_fit is not None:
            c, o = self.chain_fit, self.od_vs_layers
            blocks.append(
                f"chain fit E(N) = E1 - 2 beta cos(pi/(N+1)): E1 = {c.e1_eV:.4f} eV, "
                f"beta = {c.beta_meV:.2f} ± {c.beta_meV_err:.2f} meV, r2 = {fmt(c.r2, '.3f')}"
            )
            blocks.append(
                f"OD vs N: slope {o.slope:.4g} per layer, intercept {o.intercept:.4g}, "
                f"r2 = {fmt(o.r2, '.3f')}"
            )
            blocks.append(f"saturation (90 % of the largest shift) at N = {self.saturation_layers}")
        else:
            ps = self.to_dict()["peak_spread"]
            blocks.append(
                f"peak {ps['mean_eV']:.4f} eV, spread {ps['std_meV']:.2f} meV (std) over "
                f"{len(self.films)} films; OD {min(self.od):.4g}..{max(self.od):.4g}"
            )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.absorption import plot_absorption_spectra, plot_shift_vs_layers

        if self.chain_fit is not None:
            return plot_shift_vs_layers(self, ax=ax)
        return plot_absorption_spectra(self, self.spectra, ax=ax)
