"""Results of the XRD peak fit: one peak (:class:`XRDPeak`) and the whole fit (:class:`XRDFit`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table, pm_sig

# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class XRDPeak(Result):
    """One scattering peak.

    Attributes
    ----------
    q_per_nm, q_per_nm_err : float
        Peak centre q and its standard error [nm^-1].
    d_nm, d_nm_err : float
        Real-space period d = 2 pi / q and its error 2 pi q_err / q^2 [nm].
    fwhm_per_nm, fwhm_per_nm_err : float
        Full width at half maximum of the Gaussian [nm^-1].
    area, area_err : float
        Integrated intensity (intensity unit x nm^-1).
    height : float
        Peak value above the background.
    window_q, window_y, window_background, window_fit, window_peak : ndarray or None
        The profile within three FWHM of the centre: q, measured intensity, the
        fitted background, the total fit and this peak's Gaussian (for :meth:`plot`).
    intensity_unit : str
    """

    q_per_nm: float
    q_per_nm_err: float
    d_nm: float
    d_nm_err: float
    fwhm_per_nm: float
    fwhm_per_nm_err: float
    area: float
    area_err: float
    height: float
    window_q: np.ndarray | None = field(default=None, repr=False, compare=False)
    window_y: np.ndarray | None = field(default=None, repr=False, compare=False)
    window_background: np.ndarray | None = field(default=None, repr=False, compare=False)
    window_fit: np.ndarray | None = field(default=None, repr=False, compare=False)
    window_peak: np.ndarray | None = field(default=None, repr=False, compare=False)
    intensity_unit: str = field(default="arb.", repr=False, compare=False)

    def _plot(self, ax):
        from qdstack.plotting.xrd import plot_xrd_peak

        return plot_xrd_peak(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "q_per_nm": self.q_per_nm,
            "q_per_nm_err": self.q_per_nm_err,
            "d_nm": self.d_nm,
            "d_nm_err": self.d_nm_err,
            "fwhm_per_nm": self.fwhm_per_nm,
            "fwhm_per_nm_err": self.fwhm_per_nm_err,
            "area": self.area,
            "area_err": self.area_err,
            "height": self.height,
        }


@dataclass(frozen=True)
class XRDFit(Result):
    """Peaks of one profile, how they were fitted, and the curves for figures.

    Attributes
    ----------
    peaks : tuple of XRDPeak
        Sorted by q.
    method : {"joint", "raw"}
    background : str
        ``"poly2"`` (polynomial of degree 2), ..., or ``"powerlaw"``.
    q_range_per_nm : tuple of float
        The fitted range.
    sg_window : int or None
        Savitzky-Golay window [points] of the joint fit.
    noise : str
        ``"given"`` (the file's Poisson counts or error column) or ``"estimated"`` (white
        noise from the second differences of the data).
    chi2_reduced : float
        Reduced chi^2 of the raw-profile part at the best fit.
    raw_q_per_nm : tuple of float
        Centres of the plain raw-profile fit (the cross-check of the joint fit).
    background_bic : dict
        With ``background="auto"``: the BIC of the raw fit on each background tried
        (the lowest is used); empty otherwise.
    q, y, y_err, best_fit, background_curve : ndarray
        The fitted data and curves (shape (n,)).
    components : tuple of ndarray
        Each peak's curve, in the order of ``peaks``.
    d1_data, d1_model, d2_data, d2_model, q_deriv : ndarray or None
        Filtered derivatives of data and model on the valid points (joint fit only).
    source : str or None
    intensity_unit : str
        ``"counts"``, ``"cps"`` or ``"arb."`` (for axis labels).
    fit : lmfit.model.ModelResult
    warnings : tuple of str
    """

    peaks: tuple[XRDPeak, ...]
    method: str
    background: str
    q_range_per_nm: tuple[float, float]
    sg_window: int | None
    noise: str
    chi2_reduced: float
    raw_q_per_nm: tuple[float, ...]
    background_bic: dict = field(compare=False)
    q: np.ndarray = field(repr=False, compare=False)
    y: np.ndarray = field(repr=False, compare=False)
    y_err: np.ndarray = field(repr=False, compare=False)
    best_fit: np.ndarray = field(repr=False, compare=False)
    background_curve: np.ndarray = field(repr=False, compare=False)
    components: tuple = field(repr=False, compare=False, default=())
    d1_data: np.ndarray | None = field(repr=False, compare=False, default=None)
    d1_model: np.ndarray | None = field(repr=False, compare=False, default=None)
    d2_data: np.ndarray | None = field(repr=False, compare=False, default=None)
    d2_model: np.ndarray | None = field(repr=False, compare=False, default=None)
    q_deriv: np.ndarray | None = field(repr=False, compare=False, default=None)
    source: str | None = None
    intensity_unit: str = "arb."
    fit: object = field(repr=False, compare=False, default=None)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "peaks": [p.to_dict() for p in self.peaks],
            "method": self.method,
            "background": self.background,
            "q_range_per_nm": list(self.q_range_per_nm),
            "sg_window_points": self.sg_window,
            "noise": self.noise,
            "chi2_reduced": self.chi2_reduced,
            "raw_fit_q_per_nm": list(self.raw_q_per_nm),
            "background_bic": dict(self.background_bic),
            "source": self.source,
            "warnings": list(self.warnings),
        }

    def strongest(self) -> int:
        """0-based index (in q order) of the peak with the largest area."""
        return int(np.argmax([p.area for p in self.peaks]))

    # ----------------------------------------------------------------------------- candidates

    def summary_blocks(self, label: str | None = None):
        """The table ``qdstack xrd`` prints for this fit (``label``: e.g. ``in-plane``)."""
        title = (
            f"Scattering peaks{' (' + label + ')' if label else ''}: {self.source} — "
            f"{self.method} fit, background {self.background}"
        )
        rows = tuple(
            (
                str(k),
                pm_sig(p.q_per_nm, p.q_per_nm_err),
                pm_sig(p.d_nm, p.d_nm_err),
                pm_sig(p.fwhm_per_nm, p.fwhm_per_nm_err),
                f"{rq:.5g}",
            )
            for k, (p, rq) in enumerate(zip(self.peaks, self.raw_q_per_nm), start=1)
        )
        return (
            Table(
                title,
                ("peak", "q (nm⁻¹)", "d (nm)", "FWHM (nm⁻¹)", "plain-fit q (nm⁻¹)"),
                rows,
                align=("r",) * 5,
            ),
        )

    def _plot(self, ax):
        from qdstack.plotting.xrd import plot_xrd_fit

        return plot_xrd_fit(self, ax=ax)
