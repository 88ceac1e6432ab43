"""Emission of a thermalised exciton (all states, dark ones included): :func:`thermal_emission`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError
from qdstack.physics.exciton_stack.dense import (
    _LineHistogram,
    eigenstates,
    oscillator_strengths,
    participation_ratios,
)
from qdstack.physics.exciton_stack.hamiltonian import (
    _FWHM_PER_SIGMA,
    ExcitonStack,
    _single_thread_blas,
)
from qdstack.units import K_B_MEV_PER_K

# ----------------------------------------------------------------------------- emission


@dataclass(frozen=True)
class ThermalEmission:
    """Emission of a thermalised exciton, ensemble-averaged, at several temperatures.

    Attributes
    ----------
    temperatures_K : ndarray, shape (n_T,)
    energy_eV : ndarray, shape (n_E,)
    pl_per_eV : ndarray, shape (n_T, n_E)
        ``(1/R) sum_r sum_n p_n f_n g(E - E_n)``: photons per unit energy per
        unit time, in units of one isolated dot's radiative rate.
    radiative_rate : ndarray, shape (n_T,)
        ``<sum_n p_n f_n>``: thermal radiative rate of a column relative to one
        isolated dot (1 for a monolayer of identical dots).
    radiative_rate_err : ndarray, shape (n_T,)
        Standard error over realisations.
    participation_exciton, participation_electron, participation_hole : ndarray, shape (n_T,)
        Emission-weighted participation ratios ``sum p f PR / sum p f``: over
        how many dots the emitting states are spread.
    participation_populated : ndarray, shape (n_T,)
        Population-weighted exciton participation ratio ``sum p PR``.
    first_band_centroid_meV, first_band_centroid_meV_err : float
        Oscillator-strength-weighted mean energy of the lowest S states of each
        realisation (the exciton band of an S-dot stack), ensemble ratio of sums,
        and its standard error (delta method) [meV, relative to the reference].
    n_realisations : int
    sigma_meV : float
    """

    temperatures_K: np.ndarray
    energy_eV: np.ndarray
    pl_per_eV: np.ndarray
    radiative_rate: np.ndarray
    radiative_rate_err: np.ndarray
    participation_exciton: np.ndarray
    participation_electron: np.ndarray
    participation_hole: np.ndarray
    participation_populated: np.ndarray
    n_realisations: int
    sigma_meV: float
    first_band_centroid_meV: float = math.nan
    first_band_centroid_meV_err: float = math.nan

    def to_dict(self) -> dict:
        return {
            "first_band_centroid_meV": self.first_band_centroid_meV,
            "first_band_centroid_meV_err": self.first_band_centroid_meV_err,
            "temperatures_K": self.temperatures_K,
            "radiative_rate": self.radiative_rate,
            "radiative_rate_err": self.radiative_rate_err,
            "participation_exciton": self.participation_exciton,
            "participation_electron": self.participation_electron,
            "participation_hole": self.participation_hole,
            "participation_populated": self.participation_populated,
            "n_realisations": self.n_realisations,
            "sigma_meV": self.sigma_meV,
        }


def thermal_emission(
    stack: ExcitonStack,
    temperatures_K,
    energy_eV,
    *,
    fwhm_meV: float | np.ndarray,
    chunk: int = 128,
    progress=None,
) -> ThermalEmission:
    """Photoluminescence and radiative rate of an exciton thermalised within each column.

    The exciton relaxes to a Boltzmann distribution over the eigenstates of its
    own column before it recombines (relaxation fast against the ns radiative
    time; no transfer between columns); state ``n`` emits at the rate
    ``k_X f_n`` (``k_X``: one isolated dot's rate).  Then

    .. math::

        p_n = e^{-E_n / k T} / Z, \\qquad
        k_{rad}(T) / k_X = \\sum_n p_n f_n, \\qquad
        I(E, T) = \\sum_n p_n f_n\\, g(E - E_n).

    The photon-energy prefactor of spontaneous emission (``E^3``) is left out
    (it tilts a 60 meV-wide band by a few per cent and moves its peak by < 1 meV).
    The PL spectra are built by depositing every line on a fine grid (step
    <= sigma/25, moments of each line kept exactly) and convolving once with
    the Gaussian: within 2e-4 of the peak of the exact sum of Gaussians.

    Parameters
    ----------
    stack : ExcitonStack
    temperatures_K : array_like, shape (n_T,)
        Temperatures [K], > 0.
    energy_eV : array_like
        Energy grid of the PL spectra [eV].
    fwhm_meV : float or array_like, shape (n_T,)
        Homogeneous Gaussian FWHM [meV] at each temperature.
    chunk : int
        Realisations per batched eigensolve.
    progress : callable, optional
        Wraps the iteration over chunks (a progress bar).

    Returns
    -------
    ThermalEmission

    References
    ----------
    M. Kasha, Discuss. Faraday Soc. 9, 14 (1950) (emission from the lowest
    thermalised state); F. C. Spano and S. Mukamel, J. Chem. Phys. 91, 683 (1989)
    and S. Doria et al., ACS Nano 12, 4556 (2018) (thermal radiative rate of
    coherent aggregates, sum p_n f_n).
    """
    t = np.atleast_1d(np.asarray(temperatures_K, dtype=float))
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperatures must be positive numbers of kelvin", "temperatures_K")
    fw = np.broadcast_to(np.asarray(fwhm_meV, dtype=float), t.shape)
    if np.any(fw <= 0):
        raise InputError("the homogeneous line width must be positive", "fwhm_meV")
    sig = fw / _FWHM_PER_SIGMA
    e_eV = np.asarray(energy_eV, dtype=float)
    e_meV = (e_eV - stack.reference_eV) * 1e3
    kt = K_B_MEV_PER_K * t
    n_t = t.size
    pad = 10.0 * float(np.max(sig))
    step = min(
        float(np.min(sig)) / 25.0,
        max(float(np.min(np.diff(e_meV))) if e_meV.size > 1 else 1.0, 1e-3),
    )
    hists = [
        _LineHistogram(float(e_meV.min()) - pad, float(e_meV.max()) + pad, step) for _ in range(n_t)
    ]
    rate_sum = np.zeros(n_t)
    rate_sq = np.zeros(n_t)
    pr_num = {k: np.zeros(n_t) for k in ("exciton", "electron", "hole")}
    pop_pr = np.zeros(n_t)
    fb_num, fb_den = [], []
    s = stack.n_sites
    starts = list(range(0, stack.n_realisations, chunk))
    iterator = progress(starts) if progress is not None else starts
    for a in iterator:
        with _single_thread_blas():
            st = eigenstates(stack, slice(a, a + chunk))
        f = oscillator_strengths(st)
        prs = participation_ratios(st)
        w = st.energies_meV
        fb_num.append((f[:, :s] * w[:, :s]).sum(axis=1))
        fb_den.append(f[:, :s].sum(axis=1))
        for it in range(n_t):
            x = -(w - w[:, :1]) / kt[it]
            p = np.exp(x)
            p /= p.sum(axis=1, keepdims=True)
            pf = p * f
            per_column = pf.sum(axis=1)
            rate_sum[it] += per_column.sum()
            rate_sq[it] += np.sum(per_column**2)
            for k in pr_num:
                pr_num[k][it] += np.sum(pf * prs[k])
            pop_pr[it] += np.sum(p * prs["exciton"])
            hists[it].add(w, pf)
    pl = np.array([h.evaluate(e_meV, sig[it]) for it, h in enumerate(hists)])
    num, den = np.concatenate(fb_num), np.concatenate(fb_den)
    fb = float(num.sum() / den.sum())
    resid = (num - fb * den) / den.mean()
    fb_err = float(np.std(resid, ddof=1) / math.sqrt(num.size)) if num.size > 1 else math.nan
    r = stack.n_realisations
    mean = rate_sum / r
    var = np.clip(rate_sq / r - mean**2, 0.0, None)
    err = np.sqrt(var / max(r - 1, 1))
    return ThermalEmission(
        temperatures_K=t,
        energy_eV=e_eV,
        pl_per_eV=pl / r * 1e3,
        radiative_rate=mean,
        radiative_rate_err=err,
        participation_exciton=pr_num["exciton"] / rate_sum,
        participation_electron=pr_num["electron"] / rate_sum,
        participation_hole=pr_num["hole"] / rate_sum,
        participation_populated=pop_pr / r,
        n_realisations=r,
        sigma_meV=float(sig[0]),
        first_band_centroid_meV=fb,
        first_band_centroid_meV_err=fb_err,
    )
