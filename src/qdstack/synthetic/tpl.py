"""Synthetic temperature-dependent PL: E(T) and Gamma(T) tables and PL spectra.

The truth follows eqns (2) and (3) of Enomoto et al., Chem. Sci. 2024, 15, 13049
(see :mod:`qdstack.analysis.tpl`).  Defaults are typical of CsPbBr3 quantum-dot
films (band-gap blue shift with temperature, ~45 meV inhomogeneous width,
LO-phonon broadening of a few tens of meV at room temperature); they are
illustrative, not fitted to the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qdstack._random import rng_from
from qdstack.units import HC_EV_NM

__all__ = ["TPL_TRUTH", "TEMPERATURES_K", "TPLTable", "tpl_table", "pl_spectrum_nm"]

#: default parameters of eqns (2) and (3)
TPL_TRUTH = {
    "E0_eV": 2.395,
    "A_TE_meV_per_K": 0.35,
    "A_EP_meV": -25.0,
    "hbar_omega_meV": 18.0,
    "Gamma0_meV": 45.0,
    "gamma_LO_meV": 60.0,
    "E_LO_meV": 25.0,
}
#: a 10-300 K series like the paper's (Fig. S9-S10)
TEMPERATURES_K = (
    10.0,
    20.0,
    40.0,
    60.0,
    80.0,
    100.0,
    120.0,
    150.0,
    180.0,
    210.0,
    240.0,
    270.0,
    300.0,
)


@dataclass(frozen=True)
class TPLTable:
    """A simulated temperature series: the table ``qdstack tpl`` reads, and the truth.

    Attributes
    ----------
    temperature_K, peak_eV, fwhm_meV : ndarray
        Noisy data.
    peak_eV_true, fwhm_meV_true : ndarray
        Noise-free values.
    noise_eV, noise_meV : float
        Standard deviations of the added Gaussian noise.
    truth : dict
        The eqn (2)/(3) parameters.
    """

    temperature_K: np.ndarray
    peak_eV: np.ndarray
    fwhm_meV: np.ndarray
    peak_eV_true: np.ndarray
    fwhm_meV_true: np.ndarray
    noise_eV: float
    noise_meV: float
    truth: dict = field(default_factory=dict)

    def columns(self) -> dict:
        """Columns for :func:`qdstack.io.writers.write_csv` (the ``qdstack tpl`` table format)."""
        return {
            "temperature_K": self.temperature_K,
            "peak_eV": self.peak_eV,
            "fwhm_meV": self.fwhm_meV,
        }


def tpl_table(
    temperatures_K=TEMPERATURES_K,
    *,
    noise_eV: float = 1e-3,
    noise_meV: float = 1.0,
    seed=None,
    **params,
) -> TPLTable:
    """Peak energies and widths vs temperature from eqns (2) and (3), with Gaussian noise.

    Parameters
    ----------
    temperatures_K : sequence of float
        Temperatures [K].
    noise_eV : float
        Standard deviation of the peak-energy noise [eV].
    noise_meV : float
        Standard deviation of the width noise [meV].
    seed : int, SeedSequence or Generator
    **params
        Overrides of :data:`TPL_TRUTH` (E0_eV, A_TE_meV_per_K, A_EP_meV,
        hbar_omega_meV, Gamma0_meV, gamma_LO_meV, E_LO_meV).

    Returns
    -------
    TPLTable
    """
    from qdstack.analysis.tpl import linewidth_meV, peak_energy_eV

    unknown = set(params) - set(TPL_TRUTH)
    if unknown:
        raise ValueError(f"unknown parameter(s) {sorted(unknown)}; use {sorted(TPL_TRUTH)}")
    truth = {**TPL_TRUTH, **params}
    rng = rng_from(seed)
    T = np.asarray(temperatures_K, dtype=float)
    E = peak_energy_eV(
        T, truth["E0_eV"], truth["A_TE_meV_per_K"], truth["A_EP_meV"], truth["hbar_omega_meV"]
    )
    G = linewidth_meV(T, truth["Gamma0_meV"], truth["gamma_LO_meV"], truth["E_LO_meV"])
    return TPLTable(
        temperature_K=T,
        peak_eV=E + rng.normal(0.0, noise_eV, T.size),
        fwhm_meV=G + rng.normal(0.0, noise_meV, T.size),
        peak_eV_true=E,
        fwhm_meV_true=G,
        noise_eV=float(noise_eV),
        noise_meV=float(noise_meV),
        truth=truth,
    )


def pl_spectrum_nm(
    peak_eV: float,
    fwhm_meV: float,
    *,
    wavelength_nm=None,
    counts: float = 2e4,
    dark: float = 50.0,
    seed=None,
):
    """A PL spectrum as a spectrometer records it: counts per wavelength bin, with shot noise.

    The band is a Gaussian in photon energy (centre ``peak_eV``, full width
    ``fwhm_meV``).  A spectrometer with a uniform wavelength grid collects
    ``I(lambda) = I(E) hc / lambda^2`` per wavelength interval, so reading the
    file back with ``kind="emission"`` (which multiplies by ``lambda^2 / hc``)
    restores the Gaussian in energy.

    Parameters
    ----------
    peak_eV, fwhm_meV : float
    wavelength_nm : array_like, optional
        Grid [nm]; default 450-560 nm in 0.25 nm steps.
    counts : float
        Peak height [counts].
    dark : float
        Flat dark level [counts].
    seed : int, SeedSequence or Generator

    Returns
    -------
    wavelength_nm, counts : ndarray
    """
    rng = rng_from(seed)
    lam = (
        np.arange(450.0, 560.0001, 0.25)
        if wavelength_nm is None
        else np.asarray(wavelength_nm, dtype=float)
    )
    E = HC_EV_NM / lam
    sigma = fwhm_meV * 1e-3 / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    per_eV = np.exp(-0.5 * ((E - peak_eV) / sigma) ** 2)
    per_nm = per_eV * HC_EV_NM / lam**2
    mu = counts * per_nm / per_nm.max() + dark
    return lam, rng.poisson(mu).astype(float)
