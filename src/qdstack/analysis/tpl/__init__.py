"""Temperature-dependent photoluminescence: peak energy (eqn 2) and width (eqn 3) vs T.

Models (Enomoto et al., Chem. Sci. 2024, 15, 13049, eqns 2-3)
--------------------------------------------------------------
Peak energy, band-gap renormalisation by thermal expansion and by one
effective optical phonon of energy ``hbar_omega``:

``E(T) = E0 + A_TE T + A_EP (2 n(hbar_omega, T) + 1)``                              (2)

Line width, a temperature-independent inhomogeneous part and scattering by
longitudinal-optical (LO) phonons of energy ``E_LO`` (the acoustic-phonon term
is neglected, as in the paper):

``Gamma(T) = Gamma0 + gamma_LO n(E_LO, T)``                                        (3)

with the Bose-Einstein occupation ``n(E, T) = 1 / (exp(E / k_B T) - 1)``,
``k_B = 8.617333e-5 eV/K``.  Units: E0 in eV, A_TE in meV/K, A_EP, hbar_omega,
Gamma0, gamma_LO and E_LO in meV, T in K.

Both are lmfit Models; any parameter can be held fixed.  Starting values come
from a scan of the phonon energy on a logarithmic grid, for each value of
which the model is linear in the other parameters (exact linear least
squares), so no user guess is needed.

The width fit is repeated with ``E_LO`` fixed at given values (Table S1 of the
paper: 10, 20, 30 meV), because ``gamma_LO`` and ``E_LO`` are strongly
correlated: over 80-300 K a free fit typically gives |corr| > 0.99, i.e. the
data constrain a curve, not the two numbers separately.  Every fit reports its
parameter correlations, and a warning is issued when |corr(gamma_LO, E_LO)|
exceeds 0.95.

References
----------
S. Rudin, T. L. Reinecke and B. Segall, "Temperature-dependent exciton
linewidths in semiconductors", *Phys. Rev. B* 1990, 42, 11218 (eqn 3).
J. Bhosale et al., *Phys. Rev. B* 2012, 86, 195208; J. Serrano et al.,
*Phys. Rev. B* 2002, 65, 125110 (thermal expansion and electron-phonon
renormalisation, eqn 2).
X. Zhang et al., *J. Phys. Chem. C* 2019, 123, 28893 (both for CsPbBr3
nanocrystals).

Layout
------
:mod:`~qdstack.analysis.tpl.models` (eqns (2)-(3) and the Bose-Einstein occupation),
:mod:`~qdstack.analysis.tpl.fit` (:func:`fit_energy`, :func:`fit_width`, :func:`analyse_tpl`),
:mod:`~qdstack.analysis.tpl.results` (:class:`EnergyFit`, :class:`WidthFit`,
:class:`TPLAnalysis`) and :mod:`~qdstack.analysis.tpl.spectra` (:func:`fit_tpl_spectra`: a
series of PL spectra, each peak measured first).
"""

from qdstack.analysis.tpl.fit import analyse_tpl, fit_energy, fit_width
from qdstack.analysis.tpl.models import (
    CORRELATION_LIMIT,  # noqa: F401 (a module-level name of the former tpl.py)
    ENERGY_PARAMS,
    WIDTH_PARAMS,
    bose_einstein,
    linewidth_meV,
    peak_energy_eV,
)
from qdstack.analysis.tpl.results import EnergyFit, TPLAnalysis, WidthFit

__all__ = [
    "bose_einstein",
    "peak_energy_eV",
    "linewidth_meV",
    "ENERGY_PARAMS",
    "WIDTH_PARAMS",
    "EnergyFit",
    "WidthFit",
    "TPLAnalysis",
    "fit_energy",
    "fit_width",
    "analyse_tpl",
]
