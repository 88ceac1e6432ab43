"""Physical constants and the few unit conversions qdstack needs.

qdstack's internal units are fixed: photon and band energies in eV, couplings,
shifts and widths in meV, lengths in nm, wave numbers in nm^-1, times in ns,
temperatures in K, effective masses in units of the free-electron mass.
Constants come from :mod:`scipy.constants` (CODATA) and carry their unit in
the name.  Conversions happen only at the edges (readers, CLI).
"""

from __future__ import annotations

import numpy as np
from scipy import constants as _c

__all__ = [
    "HC_EV_NM",
    "HBAR_EV_S",
    "HBAR_EV_NS",
    "K_B_EV_PER_K",
    "K_B_MEV_PER_K",
    "HBAR2_OVER_2ME_EV_NM2",
    "ELECTRON_MASS_KG",
    "E_CHARGE_C",
    "EPS0_F_PER_M",
    "COULOMB_EV_NM",
    "BOHR_RADIUS_NM",
    "RYDBERG_EV",
    "CU_KALPHA1_NM",
    "CU_KALPHA_NM",
    "nm_to_eV",
    "eV_to_nm",
    "q_to_d_nm",
    "d_to_q_per_nm",
    "two_theta_to_q_per_nm",
    "q_to_two_theta_deg",
]

#: Planck constant times speed of light [eV nm] (1239.84...)
HC_EV_NM: float = _c.h * _c.c / _c.e * 1e9
#: Reduced Planck constant [eV s]
HBAR_EV_S: float = _c.hbar / _c.e
#: Reduced Planck constant [eV ns]
HBAR_EV_NS: float = HBAR_EV_S * 1e9
#: Boltzmann constant [eV/K] (8.617333e-5)
K_B_EV_PER_K: float = _c.k / _c.e
#: Boltzmann constant [meV/K]
K_B_MEV_PER_K: float = K_B_EV_PER_K * 1e3
#: hbar^2 / (2 m_e) [eV nm^2] (0.0380998...): kinetic-energy prefactor for masses in m_e
HBAR2_OVER_2ME_EV_NM2: float = _c.hbar**2 / (2 * _c.m_e) / _c.e * 1e18
#: Free-electron mass [kg]
ELECTRON_MASS_KG: float = _c.m_e
#: Elementary charge [C]
E_CHARGE_C: float = _c.e
#: Vacuum permittivity [F/m]
EPS0_F_PER_M: float = _c.epsilon_0
#: e^2 / (4 pi eps0) [eV nm] (1.439964...): Coulomb energy of two charges 1 nm apart in vacuum
COULOMB_EV_NM: float = _c.e / (4 * np.pi * _c.epsilon_0) * 1e9
#: Bohr radius [nm]
BOHR_RADIUS_NM: float = _c.physical_constants["Bohr radius"][0] * 1e9
#: Rydberg energy [eV] (13.6057)
RYDBERG_EV: float = _c.physical_constants["Rydberg constant times hc in eV"][0]
#: Cu K-alpha1 wavelength [nm]
CU_KALPHA1_NM: float = 0.1540562
#: Cu K-alpha weighted mean wavelength [nm] (the contract's default, 0.15406)
CU_KALPHA_NM: float = 0.15406


def nm_to_eV(wavelength_nm):
    """Photon energy [eV] of a vacuum wavelength [nm]: E = hc / lambda."""
    return HC_EV_NM / np.asarray(wavelength_nm, dtype=float)


def eV_to_nm(energy_eV):
    """Vacuum wavelength [nm] of a photon energy [eV]: lambda = hc / E."""
    return HC_EV_NM / np.asarray(energy_eV, dtype=float)


def q_to_d_nm(q_per_nm):
    """Real-space period [nm] of a scattering vector [nm^-1]: d = 2 pi / q."""
    return 2 * np.pi / np.asarray(q_per_nm, dtype=float)


def d_to_q_per_nm(d_nm):
    """Scattering vector [nm^-1] of a real-space period [nm]: q = 2 pi / d."""
    return 2 * np.pi / np.asarray(d_nm, dtype=float)


def two_theta_to_q_per_nm(two_theta_deg, wavelength_nm: float = CU_KALPHA_NM):
    """Scattering vector q = 4 pi sin(theta) / lambda [nm^-1] from 2theta [deg]."""
    theta = np.deg2rad(np.asarray(two_theta_deg, dtype=float) / 2)
    return 4 * np.pi * np.sin(theta) / wavelength_nm


def q_to_two_theta_deg(q_per_nm, wavelength_nm: float = CU_KALPHA_NM):
    """Scattering angle 2theta [deg] of q [nm^-1] at a wavelength [nm]."""
    s = np.asarray(q_per_nm, dtype=float) * wavelength_nm / (4 * np.pi)
    return 2 * np.rad2deg(np.arcsin(s))
