"""Synthetic integrating-sphere spectra for a PLQY measurement (de Mello et al. 1997).

Three measurements of the same excitation laser in an integrating sphere:

``A``  empty sphere: only the laser, ``L_A = L0``.
``B``  sample in the sphere, out of the beam: the laser first hits the wall;
       of the diffuse light the sample absorbs a fraction ``mu`` (the indirect
       absorption), so ``L_B = L0 (1 - mu)`` and ``P_B = phi mu L0``.
``C``  sample in the beam: it absorbs a fraction ``a`` directly; the transmitted
       and reflected rest becomes diffuse, of which it absorbs ``mu``, so
       ``L_C = L0 (1 - a)(1 - mu)`` and ``P_C = phi L0 (a + (1 - a) mu)``.

``phi`` is the quantum yield (photons emitted per photon absorbed).  These are
photon numbers; the generator draws them as line shapes on a wavelength grid
(a Gaussian laser line, a Gaussian emission band in energy), multiplies by the
detector's spectral response, and adds a dark level and Poisson noise (counts)
plus Gaussian read noise.  The correction file it returns is ``1 / response``.

This module knows nothing of the analysis in :mod:`qdstack.analysis.plqy`; it
only encodes the photon bookkeeping above.

References
----------
J. C. de Mello, H. F. Wittmann, R. H. Friend, Adv. Mater. 9, 230 (1997).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdstack._random import rng_from
from qdstack.units import HC_EV_NM

__all__ = ["SyntheticPLQY", "sphere_spectra", "sphere_photon_numbers"]


@dataclass(frozen=True)
class SyntheticPLQY:
    """Three sphere spectra (counts per pixel) on one wavelength grid, and the truth.

    Attributes
    ----------
    wavelength_nm : ndarray, shape (n,)
    empty, out_of_beam, in_beam : ndarray, shape (n,)
        Counts per pixel of measurements A, B and C (dark level included).
    correction : ndarray, shape (n,)
        Spectral-response correction factor (multiply counts by it); ``1/response``.
    plqy, absorptance, indirect : float
        The true phi, a (direct absorptance) and mu (indirect absorptance).
    photons : dict
        Expected photon numbers (before the response): L_A, L_B, L_C, P_B, P_C.
    """

    wavelength_nm: np.ndarray
    empty: np.ndarray
    out_of_beam: np.ndarray
    in_beam: np.ndarray
    correction: np.ndarray
    plqy: float
    absorptance: float
    indirect: float
    photons: dict

    def write(self, folder) -> dict[str, str]:
        """Write ``empty.csv``, ``out_of_beam.csv``, ``in_beam.csv``, ``response.csv``; returns the paths."""
        from pathlib import Path

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, y, head in (
            ("empty", self.empty, "counts"),
            ("out_of_beam", self.out_of_beam, "counts"),
            ("in_beam", self.in_beam, "counts"),
            ("response", self.correction, "correction_factor"),
        ):
            p = folder / f"{name}.csv"
            rows = "\n".join(f"{x:.4f},{v:.6g}" for x, v in zip(self.wavelength_nm, y))
            p.write_text(f"wavelength_nm,{head}\n{rows}\n", encoding="utf-8")
            paths[name] = str(p)
        return paths


def sphere_photon_numbers(l0: float, plqy: float, absorptance: float, indirect: float) -> dict:
    """Expected photon numbers of the three measurements (see the module docstring)."""
    a, mu = absorptance, indirect
    return {
        "L_A": l0,
        "L_B": l0 * (1 - mu),
        "L_C": l0 * (1 - a) * (1 - mu),
        "P_A": 0.0,
        "P_B": plqy * mu * l0,
        "P_C": plqy * l0 * (a + (1 - a) * mu),
    }


def _unit_area(y, x):
    return y / np.trapezoid(y, x)


def sphere_spectra(
    plqy: float = 0.8,
    absorptance: float = 0.3,
    indirect: float = 0.05,
    *,
    laser_nm: float = 405.0,
    laser_fwhm_nm: float = 1.5,
    emission_eV: float = 2.41,
    emission_fwhm_meV: float = 90.0,
    wavelength_nm=None,
    laser_photons: float = 2e7,
    dark_counts: float = 200.0,
    read_noise: float = 5.0,
    response: bool = True,
    noise: bool = True,
    seed=0,
) -> SyntheticPLQY:
    """Spectra A, B, C of a de Mello measurement with known PLQY.

    Parameters
    ----------
    plqy, absorptance, indirect : float
        phi, a and mu of the module docstring (each in [0, 1]).
    laser_nm, laser_fwhm_nm : float
        Gaussian laser line [nm].
    emission_eV, emission_fwhm_meV : float
        Gaussian emission band in photon energy (converted to per-nm with the Jacobian).
    wavelength_nm : array_like, optional
        Detector grid; default 380-650 nm every 0.25 nm.
    laser_photons : float
        Photons of the laser line reaching the detector in A (before the response).
    dark_counts, read_noise : float
        Dark level per pixel and Gaussian read noise (counts).
    response : bool
        Apply a smooth detector response (falling towards the blue); the
        correction factor returned undoes it.
    noise : bool
        Draw Poisson counts and read noise; False gives the expected counts.
    seed : int, SeedSequence or Generator
    """
    for name, v in (("plqy", plqy), ("absorptance", absorptance), ("indirect", indirect)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be within [0, 1], got {v}")
    rng = rng_from(seed)
    x = (
        np.arange(380.0, 650.0 + 1e-9, 0.25)
        if wavelength_nm is None
        else np.asarray(wavelength_nm, float)
    )
    sig_l = laser_fwhm_nm / (2 * np.sqrt(2 * np.log(2)))
    laser = _unit_area(np.exp(-0.5 * ((x - laser_nm) / sig_l) ** 2), x)
    e = HC_EV_NM / x
    sig_e = emission_fwhm_meV * 1e-3 / (2 * np.sqrt(2 * np.log(2)))
    band = np.exp(-0.5 * ((e - emission_eV) / sig_e) ** 2) * HC_EV_NM / x**2  # per nm
    band = _unit_area(band, x)
    if response:
        r = 0.35 + 0.65 / (1 + np.exp(-(x - 430.0) / 25.0))  # relative detector efficiency
    else:
        r = np.ones_like(x)
    ph = sphere_photon_numbers(laser_photons, plqy, absorptance, indirect)
    dx = np.gradient(x)

    def counts(lam, pl):
        expected = (lam * laser + pl * band) * dx * r + dark_counts
        if not noise:
            return expected
        return rng.poisson(expected).astype(float) + rng.normal(0.0, read_noise, x.size)

    return SyntheticPLQY(
        wavelength_nm=x,
        empty=counts(ph["L_A"], ph["P_A"]),
        out_of_beam=counts(ph["L_B"], ph["P_B"]),
        in_beam=counts(ph["L_C"], ph["P_C"]),
        correction=1.0 / r,
        plqy=float(plqy),
        absorptance=float(absorptance),
        indirect=float(indirect),
        photons=ph,
    )
