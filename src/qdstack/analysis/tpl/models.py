"""The model functions of eqns (2) and (3) and the names of their parameters.

Bose-Einstein occupation, peak energy (eqn 2) and line width (eqn 3); the models and their
references are described in :mod:`qdstack.analysis.tpl`.
"""

from __future__ import annotations

import numpy as np

from qdstack.units import K_B_MEV_PER_K

#: names of the eqn (2) parameters, in the contract's order
ENERGY_PARAMS = ("E0_eV", "A_TE_meV_per_K", "A_EP_meV", "hbar_omega_meV")
#: names of the eqn (3) parameters
WIDTH_PARAMS = ("Gamma0_meV", "gamma_LO_meV", "E_LO_meV")
#: |correlation| above which two parameters are reported as not separately determined
CORRELATION_LIMIT = 0.95


def bose_einstein(T_K, energy_meV):
    """Bose-Einstein occupation ``1 / (exp(E / k_B T) - 1)`` (0 at T = 0, no overflow).

    Parameters
    ----------
    T_K : array_like
        Temperature [K].
    energy_meV : float or array_like
        Boson (phonon) energy [meV].
    """
    T = np.asarray(T_K, dtype=float)
    E = np.asarray(energy_meV, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.where(T > 0, E / (K_B_MEV_PER_K * np.where(T > 0, T, 1.0)), np.inf)
        out = np.where(x < 700, 1.0 / np.expm1(np.minimum(x, 700)), 0.0)
    return out


def peak_energy_eV(T_K, E0_eV, A_TE_meV_per_K, A_EP_meV, hbar_omega_meV):
    """Eqn (2): ``E(T) = E0 + A_TE T + A_EP (2 n(hbar_omega, T) + 1)`` [eV]."""
    T = np.asarray(T_K, dtype=float)
    return E0_eV + 1e-3 * (
        A_TE_meV_per_K * T + A_EP_meV * (2.0 * bose_einstein(T, hbar_omega_meV) + 1.0)
    )


def linewidth_meV(T_K, Gamma0_meV, gamma_LO_meV, E_LO_meV):
    """Eqn (3): ``Gamma(T) = Gamma0 + gamma_LO n(E_LO, T)`` [meV]."""
    return Gamma0_meV + gamma_LO_meV * bose_einstein(T_K, E_LO_meV)
