"""Results of an angle-dependent PL series: one model (:class:`AngleModel`) and the series (:class:`AngleSeries`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack._result import Result, Table, fmt

__all__ = ["AngleModel", "AngleSeries", "MODEL_NAMES"]

MODEL_NAMES = ("isotropic", "anisotropic-emission", "reabsorption")


@dataclass(frozen=True)
class AngleModel(Result):
    """One model of an angle series, fitted to all spectra.

    Attributes
    ----------
    name : str
        ``"isotropic"``, ``"anisotropic-emission"`` or ``"reabsorption"``.
    params : dict
        Fitted parameters with ``_err`` (``fraction``, ``offset_meV``; ``tau``) and fixed ones
        (``n_film``, ``urbach_meV``).
    chi2, chi2_reduced : float
    n_points, n_params : int
        Data points and parameters (amplitudes included).
    aic, bic : float
    predicted_shift_meV : tuple of float
        Peak shift the model predicts at each measured angle (measured the same way as the data).
    curve_angles_deg, curve_shift_meV, curve_fwhm_meV : tuple of float
        The model's peak shift and FWHM on a fine angle grid (measured angles included), for figures.
    success : bool
    angles_deg : tuple of float
        The measured angles (where ``predicted_shift_meV`` applies).
    reference_angle_deg : float
        The angle shifts are measured from.
    """

    name: str
    params: dict
    chi2: float
    chi2_reduced: float
    n_points: int
    n_params: int
    aic: float
    bic: float
    predicted_shift_meV: tuple[float, ...] = ()
    curve_angles_deg: tuple[float, ...] = field(default=(), repr=False)
    curve_shift_meV: tuple[float, ...] = field(default=(), repr=False)
    curve_fwhm_meV: tuple[float, ...] = field(default=(), repr=False)
    success: bool = True
    fit: object = field(repr=False, compare=False, default=None)
    angles_deg: tuple[float, ...] = field(default=(), repr=False, compare=False)
    reference_angle_deg: float = field(default=0.0, repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.angle import plot_angle_model

        return plot_angle_model(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            **self.params,
            "chi2_reduced": self.chi2_reduced,
            "n_params": self.n_params,
            "aic": self.aic,
            "bic": self.bic,
            "predicted_shift_meV": list(self.predicted_shift_meV),
            "success": self.success,
        }


@dataclass(frozen=True)
class AngleSeries(Result):
    """Peaks of an angle series and the model comparison.

    Attributes
    ----------
    angles_deg : tuple of float
        Detection angles, ascending.
    files : tuple of str
    peak_eV, peak_eV_err, fwhm_meV, fwhm_meV_err, intensity, intensity_err : tuple of float
        From :func:`~qdstack.analysis.pl.pl_peak` (NaN where a spectrum has no fit).
    shift_meV, shift_meV_err : tuple of float
        ``peak - peak(reference)`` [meV].
    reference_angle_deg : float
        The smallest absolute angle with a fit.
    model : AngleModel
        The preferred model (lowest BIC).
    models : tuple of AngleModel
        All three, in ``MODEL_NAMES`` order.
    delta_bic, delta_aic : dict
        Differences to the best model.
    evidence : str
        Kass-Raftery wording of the BIC difference between the best and the next model.
    energy_eV : ndarray
        Energy grid of the model fit; ``spectra`` the background-subtracted data on it,
        ``model_spectra`` the preferred model (shape (n_used, n_energy): the spectra whose
        peak could be measured, in angle order).
    raw_spectra : tuple of Spectrum
        The input spectra in angle order.
    warnings : tuple of str
    """

    angles_deg: tuple[float, ...]
    files: tuple[str, ...]
    peak_eV: tuple[float, ...]
    peak_eV_err: tuple[float, ...]
    fwhm_meV: tuple[float, ...]
    fwhm_meV_err: tuple[float, ...]
    intensity: tuple[float, ...]
    intensity_err: tuple[float, ...]
    shift_meV: tuple[float, ...]
    shift_meV_err: tuple[float, ...]
    reference_angle_deg: float
    model: AngleModel
    models: tuple[AngleModel, ...]
    delta_bic: dict
    delta_aic: dict
    evidence: str
    n_film: float
    energy_eV: np.ndarray = field(repr=False, compare=False, default=None)
    spectra: np.ndarray = field(repr=False, compare=False, default=None)
    model_spectra: np.ndarray = field(repr=False, compare=False, default=None)
    raw_spectra: tuple = field(repr=False, compare=False, default=())
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "angles_deg": list(self.angles_deg),
            "peak_eV": list(self.peak_eV),
            "fwhm_meV": list(self.fwhm_meV),
            "intensity": list(self.intensity),
            "shift_meV": list(self.shift_meV),
            "model": self.model.to_dict(),
            "files": list(self.files),
            "peak_eV_err": list(self.peak_eV_err),
            "fwhm_meV_err": list(self.fwhm_meV_err),
            "intensity_err": list(self.intensity_err),
            "shift_meV_err": list(self.shift_meV_err),
            "reference_angle_deg": self.reference_angle_deg,
            "models": [m.to_dict() for m in self.models],
            "selection": {
                "preferred": self.model.name,
                "criterion": "BIC",
                "delta_bic": dict(self.delta_bic),
                "delta_aic": dict(self.delta_aic),
                "evidence": self.evidence,
            },
            "n_film": self.n_film,
            "warnings": list(self.warnings),
        }

    def summary_blocks(self):
        rows = []
        for a, f, pk, sh, sh_e, w, i in zip(
            self.angles_deg,
            self.files,
            self.peak_eV,
            self.shift_meV,
            self.shift_meV_err,
            self.fwhm_meV,
            self.intensity,
        ):
            rows.append(
                (
                    f"{a:g}",
                    Path(f).name,
                    fmt(pk, ".4f"),
                    f"{fmt(sh, '+.2f')} ± {fmt(sh_e, '.2f')}",
                    fmt(w, ".1f"),
                    fmt(i, ".4g"),
                )
            )
        blocks: list = [
            Table(
                "Angle-dependent PL",
                ("angle (°)", "file", "peak (eV)", "shift (meV)", "FWHM (meV)", "intensity"),
                tuple(rows),
                align=("r", "l", "r", "r", "r", "r"),
            )
        ]
        rows = []
        for m in self.models:
            p = m.params
            if m.name == "anisotropic-emission":
                text = (
                    f"f = {p['fraction']:.3f} ± {fmt(p['fraction_err'], '.3f')}, "
                    f"Δ = {p['offset_meV']:.1f} ± {fmt(p['offset_meV_err'], '.1f')} meV"
                )
            elif m.name == "reabsorption":
                text = f"αd = {p['tau']:.3f} ± {fmt(p['tau_err'], '.3f')}"
            else:
                text = "-"
            rows.append(
                (
                    m.name + (" *" if m.name == self.model.name else ""),
                    text,
                    f"{m.chi2_reduced:.3f}",
                    f"{self.delta_aic[m.name]:.1f}",
                    f"{self.delta_bic[m.name]:.1f}",
                )
            )
        blocks.append(
            Table(
                "Models of the whole series (lowest BIC preferred)",
                ("model", "fitted parameters", "χ²ᵣ", "ΔAIC", "ΔBIC"),
                tuple(rows),
                align=("l", "l", "r", "r", "r"),
            )
        )
        blocks.append(
            f"preferred: {self.model.name} (evidence against the next model: {self.evidence})"
        )
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.angle import plot_angle_shift, plot_angle_width

        if ax is not None:
            return plot_angle_shift(self, ax=ax)
        fig, axes = new_figure(1, 2, figsize=(11.5, 4.4))
        plot_angle_shift(self, ax=axes[0])
        plot_angle_width(self, ax=axes[1])
        return fig
