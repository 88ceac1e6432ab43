"""Synthetic absorption spectra of quantum-dot films (continuum, scattering tail, noise)."""

from __future__ import annotations

import numpy as np

from qdstack.units import HC_EV_NM

from qdstack._random import rng_from

__all__ = ["film_absorbance", "film_background", "absorption_film_spectrum"]


def film_absorbance(
    energy_eV,
    peak_eV: float = 2.473,
    height_od: float = 0.005,
    fwhm_meV: float = 90.0,
    *,
    second_offset_meV: float = 160.0,
    second_ratio: float = 0.7,
    continuum_offset_meV: float = 120.0,
    continuum_width_meV: float = 60.0,
    continuum_od: float = 1.6,
    continuum_slope_per_eV: float = 1.5,
    scattering_od: float = 0.3,
    scattering_ref_eV: float = 2.0,
    scattering_power: float = 4.0,
    offset_od: float = 0.0,
):
    """Noise-free absorbance of a quantum-dot film, in units of the first-peak height.

    ``A(E) = h [ G(E; E1) + r G(E; E1 + d2) + c S(E) (1 + k (E - Ec)) + s (E / Eref)^p ] + offset``

    with Gaussian excitonic transitions ``G`` (peak value 1), a smooth step ``S``
    (logistic, centred ``continuum_offset_meV`` above the first peak) for the
    band-edge continuum that keeps rising, and a Rayleigh-like scattering tail
    ``(E/Eref)^p`` (p = 4 for small particles).  All terms scale with ``h``, as in a
    film whose OD grows with the number of layers.

    Parameters
    ----------
    energy_eV : array_like
        Photon energies [eV].
    peak_eV : float
        First excitonic transition energy [eV].
    height_od : float
        Peak value of the first excitonic Gaussian [OD].
    fwhm_meV : float
        Width of the excitonic Gaussians [meV].

    Returns
    -------
    ndarray
        Absorbance [OD].
    """
    e = np.asarray(energy_eV, dtype=float)
    sig = fwhm_meV * 1e-3 / (2 * np.sqrt(2 * np.log(2)))
    g1 = np.exp(-0.5 * ((e - peak_eV) / sig) ** 2)
    e2 = peak_eV + second_offset_meV * 1e-3
    g2 = second_ratio * np.exp(-0.5 * ((e - e2) / sig) ** 2)
    ec = peak_eV + continuum_offset_meV * 1e-3
    step = 1.0 / (1.0 + np.exp(-(e - ec) / (continuum_width_meV * 1e-3)))
    cont = continuum_od * step * (1.0 + continuum_slope_per_eV * np.clip(e - ec, 0, None))
    scat = scattering_od * (e / scattering_ref_eV) ** scattering_power
    return height_od * (g1 + g2 + cont + scat) + offset_od


def film_background(energy_eV, peak_eV: float, height_od: float, fwhm_meV: float = 90.0, **shape):
    """Everything of :func:`film_absorbance` except the first excitonic Gaussian.

    Used to put a model's first excitonic band (e.g. the film model's ensemble
    spectrum) on the higher transitions, continuum and scattering tail a real
    spectrometer records.
    """
    e = np.asarray(energy_eV, dtype=float)
    sig = fwhm_meV * 1e-3 / (2 * np.sqrt(2 * np.log(2)))
    first = height_od * np.exp(-0.5 * ((e - peak_eV) / sig) ** 2)
    return film_absorbance(e, peak_eV, height_od, fwhm_meV, **shape) - first


def absorption_film_spectrum(
    peak_eV: float,
    height_od: float,
    *,
    noise_od: float = 3e-4,
    wavelength_nm=None,
    seed=None,
    **shape,
):
    """A film absorbance spectrum sampled on a wavelength grid, with white noise.

    Parameters
    ----------
    peak_eV, height_od : float
        First excitonic transition energy [eV] and its peak height [OD].
    noise_od : float
        Standard deviation of additive Gaussian noise [OD].
    wavelength_nm : array_like, optional
        Wavelength grid [nm], default 400-600 nm in 0.5 nm steps (descending,
        as many spectrometers write it).
    seed : int, SeedSequence or Generator
    **shape
        Passed to :func:`film_absorbance`.

    Returns
    -------
    wavelength_nm, absorbance : ndarray
    """
    rng = rng_from(seed)
    lam = (
        np.arange(600.0, 399.99, -0.5)
        if wavelength_nm is None
        else np.asarray(wavelength_nm, float)
    )
    a = film_absorbance(HC_EV_NM / lam, peak_eV, height_od, **shape)
    return lam, a + rng.normal(0.0, noise_od, lam.size)
