"""An exciton on a stack of coupled quantum dots: the two-particle Hamiltonian and its spectra.

The model
---------
A stack of ``S`` dots (a column of ``N`` layers, or a small in-plane block) holds
one electron-hole pair.  Each dot ``i`` has one electron level ``e_i`` and one
hole level ``h_i`` (the lowest confined states of that dot, whose size may
differ from its neighbours').  The basis is the ``S**2`` pair states
``|i, j> = |electron on dot i, hole on dot j>`` and the Hamiltonian is

.. math::

    H = \\sum_{ij} (e_i + h_j - U_{ij}) |ij\\rangle\\langle ij|
        - \\sum_{\\langle ab \\rangle} \\beta^e_{ab} \\sum_j (|aj\\rangle\\langle bj| + h.c.)
        - \\sum_{\\langle ab \\rangle} \\beta^h_{ab} \\sum_i (|ia\\rangle\\langle ib| + h.c.)
        + \\sum_{i \\ne k} J_{ik} |ii\\rangle\\langle kk|

with ``U_ii`` the exciton binding energy of dot ``i`` (on-site attraction),
``U_ij`` (i != j) the screened attraction of an electron and a hole on
different dots, ``beta^e``, ``beta^h`` the single-carrier tunnelling couplings
of neighbouring dots (positive beta lowers the bonding state), and ``J_ik`` the
dipolar (Foerster) transfer of a whole exciton between dots.  The Frenkel limit
(``beta -> 0``: the exciton moves only by ``J``) and the charge-transfer /
Wannier limit (``U -> 0``: electron and hole move independently) are both
inside it (Agranovich 2009; Hoffmann 2000; Hestand & Spano 2018).

Light couples to the pair states with the electron and hole on the same dot,
coherently: the transition amplitude of eigenstate ``n`` is
``<n|B>`` with the *bright vector* ``B = sum_i |ii>``, so its oscillator
strength, in units of one isolated dot's, is

.. math:: f_n = |\\sum_i c_n(i, i)|^2, \\qquad \\sum_n f_n = S.

The absorption per dot of one realisation is
``A(E) = (1/S) sum_n f_n g(E - E_n)`` with a homogeneous line shape ``g``
(area 1): ``A`` has area 1 and is the spectral density of ``B/sqrt(S)``.

How the ensemble spectrum is computed
-------------------------------------
Films are ensembles of disordered columns; what is measured is the average of
``A(E)`` over realisations.  Because ``A(E) = <b| g(E - H) |b>``
(``b = B/sqrt(S)``) is linear in the spectral measure of ``b``, the average
is taken on the *Chebyshev moments* ``mu_m = <b| T_m(H~) |b>`` of the measure
(``H~ = (H - c)/a`` maps every realisation's spectrum into [-1, 1]); each
moment needs only sparse matrix-vector products, done for all realisations at
once on ``(R, S, S)`` arrays, two moments per product (Weisse et al. 2006).
The spectrum is then

.. math:: \\bar A(E) = \\sum_{m<M} c_m(E)\\, \\bar\\mu_m,

where ``c_m(E)`` are the exact Chebyshev coefficients of the Gaussian line
shape ``x -> g(E - c - a x)`` on [-1, 1] (computed by a discrete cosine
transform).  Nothing is approximated but the truncation at ``M`` moments, and
because ``|T_m| <= 1`` and the weights sum to one its error is bounded by
``sum_{m>=M} max_E |c_m(E)|``; ``M`` is chosen so that this bound is below a
tolerance (default 1e-9 of the peak height of one line).  No eigenvalue of any
realisation is computed.  The recursion runs in a compiled kernel
(:mod:`qdstack.physics._stack_kernels`, numba: one fused pass per product over
cache-sized blocks of realisations) or, without numba, in numpy array
operations; for a column of 8 layers (64 pair states) and 1e5 realisations
this is about 200x (numpy: 35x) faster than a per-realisation
``numpy.linalg.eigh`` loop, each single-threaded (``benchmarks/bench_film.py``,
``docs/guide/performance.md``), and all give the same spectrum (tested).

Emission needs the thermal populations of *all* states (dark ones included),
so it uses batched dense eigensolves on a (smaller) number of realisations:
:func:`thermal_emission`.

References
----------
V. M. Agranovich, *Excitations in Organic Solids*, Oxford (2009), ch. 2-3
(Frenkel and charge-transfer excitons).
M. Hoffmann, in *Electronic Excitations in Organic Based Nanostructures*,
Thin Films and Nanostructures 31, 221 (2003) (mixing of Frenkel and CT excitons).
N. J. Hestand and F. C. Spano, Chem. Rev. 118, 7069 (2018) (Frenkel-CT
Hamiltonians, effective exciton coupling 2 t_e t_h / (E_CT - E_F)).
A. Weisse, G. Wellein, A. Alvermann and H. Fehske, Rev. Mod. Phys. 78, 275
(2006) (kernel polynomial method, Chebyshev moments, doubling trick).
R. Haydock, V. Heine and M. J. Kelly, J. Phys. C 5, 2845 (1972) (recursion
method: local spectral densities from a starting vector).
G. H. Golub and G. Meurant, *Matrices, Moments and Quadrature with
Applications*, Princeton (2010) (moments, Lanczos and Gauss quadrature).

Layout
------
:mod:`~qdstack.physics.exciton_stack.hamiltonian` (:class:`ExcitonStack`, bonds, the dense
Hamiltonian), :mod:`~qdstack.physics.exciton_stack.kpm` (spectral bounds, the matrix-free
operator, Chebyshev moments), :mod:`~qdstack.physics.exciton_stack.spectra`
(:func:`bright_spectrum`), :mod:`~qdstack.physics.exciton_stack.dense` (the dense reference
path) and :mod:`~qdstack.physics.exciton_stack.emission` (:func:`thermal_emission`); the
compiled kernel is :mod:`qdstack.physics._stack_kernels`.
"""

from qdstack.physics.exciton_stack.dense import (
    EigenStates,
    bright_spectrum_dense,
    eigenstates,
    oscillator_strengths,
    participation_ratios,
)
from qdstack.physics.exciton_stack.emission import ThermalEmission, thermal_emission
from qdstack.physics.exciton_stack.hamiltonian import (
    ExcitonStack,
    _single_thread_blas,  # noqa: F401 (film_model and explain import it from here)
    block_bonds,
    chain_bonds,
    effective_exciton_hopping_meV,
    gaussian_sigma_meV,
    hamiltonian_matrix,
    tight_binding_chain_meV,
)
from qdstack.physics.exciton_stack.kpm import (
    _ScaledOperator,  # noqa: F401 (tests import it from here)
    _use_compiled,  # noqa: F401 (tests import it from here)
    chebyshev_moments,
    gaussian_chebyshev_coefficients,
    spectral_bounds_meV,
)
from qdstack.physics.exciton_stack.spectra import (
    BrightSpectrum,
    _choose_moments,  # noqa: F401 (film_model.spectra imports it from here)
    bright_centroid_meV,
    bright_spectrum,
)

__all__ = [
    "ExcitonStack",
    "chain_bonds",
    "block_bonds",
    "hamiltonian_matrix",
    "spectral_bounds_meV",
    "chebyshev_moments",
    "gaussian_chebyshev_coefficients",
    "BrightSpectrum",
    "bright_spectrum",
    "bright_spectrum_dense",
    "EigenStates",
    "eigenstates",
    "oscillator_strengths",
    "participation_ratios",
    "bright_centroid_meV",
    "ThermalEmission",
    "thermal_emission",
    "gaussian_sigma_meV",
    "tight_binding_chain_meV",
    "effective_exciton_hopping_meV",
]
