"""Ensemble bright (absorption) spectra from the Chebyshev moments: :func:`bright_spectrum`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import InputError
from qdstack.physics.exciton_stack.hamiltonian import ExcitonStack, gaussian_sigma_meV
from qdstack.physics.exciton_stack.kpm import (
    _TYPICAL_MOMENTS,
    _compiled_kernels,
    _use_compiled,
    chebyshev_moments,
    gaussian_chebyshev_coefficients,
    spectral_bounds_meV,
)

# ----------------------------------------------------------------------------- spectra


@dataclass(frozen=True)
class BrightSpectrum:
    """Ensemble-averaged absorption of the bright vector (per dot).

    Attributes
    ----------
    energy_eV : ndarray, shape (n_E,)
        Photon energies [eV], ascending.
    absorption_per_eV : ndarray, shape (n_E,)
        ``(1/R) sum_r (1/S) sum_n f_n g(E - E_n)`` [1/eV]; area 1 (per dot, in
        units of one isolated dot's oscillator strength).
    sigma_meV : float
        Standard deviation of the homogeneous Gaussian line [meV].
    n_realisations : int
    n_moments : int
        Chebyshev moments used (0 for the dense path).
    truncation_bound : float
        Upper bound of the truncation error of ``absorption_per_eV`` [1/eV]
        (0 for the dense path).
    centroid_eV : float
        Exact first moment ``<b|H|b>`` averaged over realisations [eV]: the
        oscillator-strength-weighted mean energy of all bright weight.
    method : str
        ``"chebyshev"`` or ``"dense"``.
    moments : ndarray
        The averaged Chebyshev moments (empty for the dense path).
    """

    energy_eV: np.ndarray
    absorption_per_eV: np.ndarray
    sigma_meV: float
    n_realisations: int
    n_moments: int
    truncation_bound: float
    centroid_eV: float
    method: str
    moments: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict:
        return {
            "energy_eV": self.energy_eV,
            "absorption_per_eV": self.absorption_per_eV,
            "sigma_meV": self.sigma_meV,
            "n_realisations": self.n_realisations,
            "n_moments": self.n_moments,
            "truncation_bound": self.truncation_bound,
            "centroid_eV": self.centroid_eV,
            "method": self.method,
        }


def bright_centroid_meV(stack: ExcitonStack) -> np.ndarray:
    """Exact first moment ``<b|H|b>`` of each realisation [meV], shape (R,).

    .. math:: \\bar E = \\frac{1}{S}\\sum_i (e_i + h_i - U_{ii})
              + \\frac{1}{S}\\sum_{i \\ne k} J_{ik}

    Tunnelling does not enter: it moves bright weight between states (a red
    shift of the lowest ones, weight pushed into the charge-transfer states
    above) but leaves the oscillator-strength-weighted mean where it was.
    Only the dipolar term moves it: for uniform nearest-neighbour ``J`` on a
    column of N dots, by ``2 J (N - 1) / N`` (the Frenkel-chain sum rule).
    """
    s = stack.n_sites
    i = np.arange(s)
    d = stack.electron_meV + stack.hole_meV - stack.coulomb_meV[:, i, i]
    c = d.mean(axis=1)
    if stack.dipolar_meV is not None:
        c = c + stack.dipolar_meV.sum(axis=(1, 2)) / s
    return c


def _choose_moments(energy_meV, centre, half, sigma, tolerance, max_moments: int):
    """Smallest M whose truncation bound is below ``tolerance * g(0)``."""
    g0 = 1.0 / (math.sqrt(2.0 * math.pi) * sigma)
    # the coefficients decay like exp(-(m sigma / a)^2 / 2): guess, then verify
    guess = int(math.ceil(math.sqrt(2.0 * math.log(1.0 / tolerance) + 8.0) * half / sigma)) + 8
    m_try = min(max(guess, 16), max_moments)
    while True:
        m_big = min(int(m_try * 1.5) + 16, max_moments + 16)
        coeffs, tail = gaussian_chebyshev_coefficients(energy_meV, centre, half, sigma, m_big)
        ok = np.nonzero(tail <= tolerance * g0)[0]
        if ok.size and ok[0] <= max_moments:
            m = max(int(ok[0]), 2)
            return m, coeffs[:m], float(tail[m])
        if m_try >= max_moments:
            m = max_moments
            return m, coeffs[:m], float(tail[m])
        m_try = min(2 * m_try, max_moments)


def bright_spectrum(
    stack: ExcitonStack,
    energy_eV,
    *,
    fwhm_meV: float,
    tolerance: float = 1e-9,
    max_moments: int = 4096,
    chunk: int | None = None,
    threads: int = 1,
    engine: str = "auto",
) -> BrightSpectrum:
    """Ensemble-averaged bright (absorption) spectrum by Chebyshev moments.

    Parameters
    ----------
    stack : ExcitonStack
    energy_eV : array_like, shape (n_E,)
        Photon energies where the spectrum is wanted [eV].
    fwhm_meV : float
        FWHM of the homogeneous Gaussian line of every state [meV].
    tolerance : float
        Truncation-error bound, relative to the peak height of one line
        ``g(0) = 1 / (sqrt(2 pi) sigma)``.
    max_moments : int
        Hard cap on the number of moments (the bound is reported).
    chunk, threads, engine
        See :func:`chebyshev_moments`.

    Returns
    -------
    BrightSpectrum

    Notes
    -----
    The cost is ``M/2`` sparse matrix-vector products per realisation with
    ``M ~ 7 a / sigma`` (``a`` the half width of the ensemble's spectral range);
    no eigenvalue problem is solved.
    """
    if not fwhm_meV > 0:
        raise InputError("the homogeneous line width must be positive", "fwhm_meV")
    e_eV = np.asarray(energy_eV, dtype=float)
    if e_eV.ndim != 1 or e_eV.size < 2:
        raise InputError("energy_eV must be a 1-D grid", "energy_eV")
    sigma = gaussian_sigma_meV(fwhm_meV)
    if _use_compiled(engine, float(stack.n_realisations) * stack.dimension * _TYPICAL_MOMENTS):
        lo, hi, mean_centroid = _compiled_kernels().bounds_and_centroid(stack)
    else:
        lo, hi = spectral_bounds_meV(stack, engine="numpy")
        mean_centroid = float(np.mean(bright_centroid_meV(stack)))
    pad = 1e-3 * max(hi - lo, sigma) + 1e-9
    centre = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo) + pad
    e_meV = (e_eV - stack.reference_eV) * 1e3
    m, coeffs, bound = _choose_moments(e_meV, centre, half, sigma, tolerance, max_moments)
    mu = chebyshev_moments(stack, m, centre, half, chunk=chunk, threads=threads, engine=engine)
    spec = (mu @ coeffs) * 1e3  # 1/meV -> 1/eV
    centroid = mean_centroid * 1e-3 + stack.reference_eV
    return BrightSpectrum(
        energy_eV=e_eV,
        absorption_per_eV=spec,
        sigma_meV=sigma,
        n_realisations=stack.n_realisations,
        n_moments=m,
        truncation_bound=bound * 1e3,
        centroid_eV=centroid,
        method="chebyshev",
        moments=mu,
    )
