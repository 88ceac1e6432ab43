"""Result dataclasses of a decay fit."""

from __future__ import annotations

from qdstack._result import Result, Table

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DecayComponent", "DecayFit"]


@dataclass(frozen=True)
class DecayComponent:
    """One exponential component ``a exp(-t/tau)`` of a fitted decay.

    Attributes
    ----------
    amplitude, amplitude_err : float
        Pre-exponential factor as a fraction of the sum over components (the
        fractions sum to 1), and its standard error.
    tau_ns, tau_ns_err : float
        Lifetime and its standard error [ns] (NaN when not determined).
    intensity_fraction : float
        ``a tau / sum(a tau)``: the fraction of the emitted photons.
    counts_per_ns : float
        The un-normalised pre-exponential factor [counts/ns].
    """

    amplitude: float
    amplitude_err: float
    tau_ns: float
    tau_ns_err: float
    intensity_fraction: float
    counts_per_ns: float

    def to_dict(self) -> dict:
        return {
            "amplitude": self.amplitude,
            "tau_ns": self.tau_ns,
            "tau_ns_err": self.tau_ns_err,
            "amplitude_err": self.amplitude_err,
            "intensity_fraction": self.intensity_fraction,
            "counts_per_ns": self.counts_per_ns,
        }


@dataclass(frozen=True)
class DecayFit(Result):
    """Result of a reconvolution fit of one decay (see the module docstring).

    Attributes
    ----------
    components : tuple of DecayComponent
        Sorted by lifetime, shortest first.
    tau_amplitude_weighted_ns, tau_amplitude_weighted_ns_err : float
        ``sum(a tau)/sum(a)`` [ns].
    tau_intensity_weighted_ns, tau_intensity_weighted_ns_err : float
        ``sum(a tau^2)/sum(a tau)`` [ns].
    shift_ns, shift_ns_err : float
        Delay of the IRF that best matches the decay [ns] (positive: later).
    background, background_err : float
        Constant background [counts per bin].
    chi2_reduced : float
        Pearson chi2 per degree of freedom (Poisson fits) or Neyman chi2 per
        degree of freedom (``neyman`` fits); about 1 for a good fit.
    deviance_per_dof : float
        Poisson deviance per degree of freedom.
    statistic : str
        ``"poisson"`` or ``"neyman"``.
    dof : int
        Fitted bins minus fitted parameters (2K + 2).
    window_ns : tuple of float
        Start of the first and end of the last fitted bin [ns].
    window : tuple of int
        The same as bin indices ``[start, stop)``.
    bin_width_ns : float
    period_ns : float or None
        Laser repetition period, when known.
    periodic : bool
        Whether the tails of earlier pulses were part of the model.
    irf_description : str
        ``"measured"`` or ``"gaussian FWHM x ns"``.
    signal_counts : float
        Photons of the decay without background in the fit window.
    converged : bool
        Whether Levenberg-Marquardt reported success.
    nfev : int
        Number of model evaluations.
    time_ns, counts, model : ndarray
        The full histogram (bin starts), the data and the fitted model.
    residuals : ndarray
        Weighted residuals in the window (signed deviance for Poisson,
        ``(y - m)/sigma`` for Neyman); NaN outside the window.
    irf : ndarray
        The IRF (normalised to sum 1) shifted by ``shift_ns``.
    fit : lmfit.minimizer.MinimizerResult
        The Levenberg-Marquardt run over the nonlinear parameters.
    warnings : tuple of str
    source : str or None
    """

    components: tuple[DecayComponent, ...]
    tau_amplitude_weighted_ns: float
    tau_amplitude_weighted_ns_err: float
    tau_intensity_weighted_ns: float
    tau_intensity_weighted_ns_err: float
    shift_ns: float
    shift_ns_err: float
    background: float
    background_err: float
    chi2_reduced: float
    deviance_per_dof: float
    statistic: str
    dof: int
    window_ns: tuple[float, float]
    window: tuple[int, int]
    bin_width_ns: float
    period_ns: float | None
    periodic: bool
    irf_description: str
    signal_counts: float
    converged: bool
    nfev: int
    time_ns: np.ndarray = field(repr=False, compare=False)
    counts: np.ndarray = field(repr=False, compare=False)
    model: np.ndarray = field(repr=False, compare=False)
    residuals: np.ndarray = field(repr=False, compare=False)
    irf: np.ndarray = field(repr=False, compare=False)
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()
    source: str | None = None

    @property
    def taus_ns(self) -> np.ndarray:
        return np.array([c.tau_ns for c in self.components])

    @property
    def amplitudes(self) -> np.ndarray:
        return np.array([c.amplitude for c in self.components])

    def to_dict(self, curves: bool = True) -> dict:
        """The contract's JSON object (plus extras); ``curves=False`` drops the arrays."""
        out = {
            "components": [c.to_dict() for c in self.components],
            "tau_amplitude_weighted_ns": self.tau_amplitude_weighted_ns,
            "tau_intensity_weighted_ns": self.tau_intensity_weighted_ns,
            "shift_ns": self.shift_ns,
            "background": self.background,
            "chi2_reduced": self.chi2_reduced,
            "tau_amplitude_weighted_ns_err": self.tau_amplitude_weighted_ns_err,
            "tau_intensity_weighted_ns_err": self.tau_intensity_weighted_ns_err,
            "shift_ns_err": self.shift_ns_err,
            "background_err": self.background_err,
            "deviance_per_dof": self.deviance_per_dof,
            "statistic": self.statistic,
            "dof": self.dof,
            "window_ns": list(self.window_ns),
            "bin_width_ns": self.bin_width_ns,
            "period_ns": self.period_ns,
            "periodic": self.periodic,
            "irf": self.irf_description,
            "signal_counts": self.signal_counts,
            "converged": self.converged,
            "nfev": self.nfev,
            "warnings": list(self.warnings),
        }
        if self.source is not None:
            out["file"] = self.source
        if curves:
            i0, i1 = self.window
            out["curve"] = {
                "time_ns": self.time_ns[i0:i1],
                "counts": self.counts[i0:i1],
                "model": self.model[i0:i1],
                "residuals": self.residuals[i0:i1],
            }
        return out

    def summary_blocks(self):
        def pm_(v, e, spec=".4g"):
            return f"{v:{spec}}" + (f" ± {e:.2g}" if np.isfinite(e) else "")

        rows = tuple(
            (
                str(i),
                pm_(c.amplitude, c.amplitude_err, ".3f"),
                pm_(c.tau_ns, c.tau_ns_err),
                f"{c.intensity_fraction:.3f}",
            )
            for i, c in enumerate(self.components, 1)
        )
        mode = f"periodic (T = {self.period_ns:.4g} ns)" if self.periodic else "single pulse"
        return (
            Table(
                f"{self.source}: {len(self.components)}-exponential reconvolution fit ({self.statistic})",
                ("component", "amplitude", "tau (ns)", "intensity fraction"),
                rows,
                align=("r",) * 4,
            ),
            f"amplitude-weighted <tau> = {pm_(self.tau_amplitude_weighted_ns, self.tau_amplitude_weighted_ns_err)} ns",
            f"intensity-weighted <tau> = {pm_(self.tau_intensity_weighted_ns, self.tau_intensity_weighted_ns_err)} ns",
            f"shift = {self.shift_ns * 1e3:+.1f} ps, background = {self.background:.3g} counts/bin, "
            f"chi2_red = {self.chi2_reduced:.3f}, deviance/dof = {self.deviance_per_dof:.3f}, "
            f"window {self.window_ns[0]:.3g}-{self.window_ns[1]:.3g} ns, {mode}",
        )

    def _plot(self, ax):
        from qdstack.plotting.decay import plot_decay

        return plot_decay(self, ax=ax)
