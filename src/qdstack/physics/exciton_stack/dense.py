"""The dense reference path: batched eigensolves of the two-particle Hamiltonian.

Oscillator strengths, participation ratios and :func:`bright_spectrum_dense` (the check
of the Chebyshev spectra of :mod:`qdstack.physics.exciton_stack.spectra`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdstack.physics.exciton_stack.hamiltonian import (
    ExcitonStack,
    gaussian_sigma_meV,
    hamiltonian_matrix,
)
from qdstack.physics.exciton_stack.spectra import BrightSpectrum, bright_centroid_meV

# ----------------------------------------------------------------------------- dense path


@dataclass(frozen=True)
class EigenStates:
    """Eigenstates of a chunk of realisations.

    Attributes
    ----------
    energies_meV : ndarray, shape (R, S**2)
        Ascending per realisation [meV, relative to the stack's reference].
    vectors : ndarray, shape (R, S**2, S**2)
        Columns are eigenvectors (basis index ``i * S + j``).
    n_sites : int
    """

    energies_meV: np.ndarray
    vectors: np.ndarray
    n_sites: int


def eigenstates(stack: ExcitonStack, rows: slice | np.ndarray = slice(None)) -> EigenStates:
    """All eigenstates of the realisations ``rows`` (batched dense ``numpy.linalg.eigh``)."""
    h = hamiltonian_matrix(stack, rows)
    w, v = np.linalg.eigh(h)
    return EigenStates(energies_meV=w, vectors=v, n_sites=stack.n_sites)


def oscillator_strengths(states: EigenStates) -> np.ndarray:
    """``f_n = |sum_i c_n(i, i)|^2`` in units of one isolated dot's, shape (R, S**2); sum S."""
    s = states.n_sites
    diag = np.arange(s) * (s + 1)
    amp = states.vectors[:, diag, :].sum(axis=1)
    return amp * amp


def participation_ratios(states: EigenStates) -> dict[str, np.ndarray]:
    """Participation ratios of each eigenstate over the dots, shape (R, S**2) each.

    ``PR = 1 / sum_i P(i)^2`` for the electron density ``P_e(i) = sum_j |c(i,j)|^2``,
    the hole density ``P_h(j) = sum_i |c(i,j)|^2`` and the exciton density
    ``(P_e + P_h) / 2``: 1 for a state on one dot, N for one spread evenly over N.

    References
    ----------
    R. J. Bell and P. Dean, Discuss. Faraday Soc. 50, 55 (1970); F. Wegner,
    Z. Phys. B 36, 209 (1980) (inverse participation ratio).
    """
    s = states.n_sites
    r, d, _ = states.vectors.shape
    p = (states.vectors**2).reshape(r, s, s, d)
    pe = p.sum(axis=2)  # (R, S, n)
    ph = p.sum(axis=1)
    px = 0.5 * (pe + ph)
    return {
        "exciton": 1.0 / np.sum(px**2, axis=1),
        "electron": 1.0 / np.sum(pe**2, axis=1),
        "hole": 1.0 / np.sum(ph**2, axis=1),
    }


def _gaussian_sum(energy_meV, centres_meV, weights, sigma):
    """sum_k w_k g(E - centre_k) on a grid, by blocks (exact; for tests and modest sizes)."""
    e = np.asarray(energy_meV, dtype=float)
    c = np.asarray(centres_meV, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    keep = w != 0
    c, w = c[keep], w[keep]
    out = np.zeros(e.size)
    norm = 1.0 / (math.sqrt(2.0 * math.pi) * sigma)
    step = max(1, 4_000_000 // max(e.size, 1))
    for a in range(0, c.size, step):
        u = (e[:, None] - c[None, a : a + step]) / sigma
        out += np.exp(-0.5 * u * u) @ w[a : a + step]
    return out * norm


class _LineHistogram:
    """Lines (energy, weight) deposited on a fine grid, convolved with a Gaussian at the end.

    Cloud-in-cell deposit (each line split linearly between its two nearest
    bins) keeps the zeroth and first moments of every line exactly; the
    convolution with a Gaussian of ``sigma >= 25`` bins then differs from the
    exact sum of Gaussians by less than ``(h / sigma)^2 / 8 < 2e-4`` of the peak.
    """

    def __init__(self, lo_meV: float, hi_meV: float, step_meV: float):
        self.lo = float(lo_meV)
        self.h = float(step_meV)
        self.n = int(math.ceil((hi_meV - lo_meV) / step_meV)) + 2
        self.hist = np.zeros(self.n)

    def add(self, centres_meV, weights):
        x = (np.asarray(centres_meV, float).ravel() - self.lo) / self.h
        w = np.asarray(weights, float).ravel()
        keep = (x >= 0) & (x < self.n - 1)
        x, w = x[keep], w[keep]
        k = np.floor(x).astype(np.intp)
        frac = x - k
        self.hist += np.bincount(k, w * (1 - frac), minlength=self.n)
        self.hist += np.bincount(k + 1, w * frac, minlength=self.n)

    def evaluate(self, energy_meV, sigma: float) -> np.ndarray:
        from scipy.signal import fftconvolve

        half = int(math.ceil(8 * sigma / self.h))
        u = np.arange(-half, half + 1) * self.h / sigma
        kernel = np.exp(-0.5 * u * u) / (math.sqrt(2 * math.pi) * sigma)
        smooth = fftconvolve(self.hist, kernel, mode="same")
        return np.interp(
            energy_meV, self.lo + self.h * np.arange(self.n), smooth, left=0.0, right=0.0
        )


def bright_spectrum_dense(
    stack: ExcitonStack, energy_eV, *, fwhm_meV: float, chunk: int = 256
) -> BrightSpectrum:
    """The same spectrum as :func:`bright_spectrum` from full diagonalisation (reference path).

    Exact sum of Gaussians over every eigenstate of every realisation; cost
    ``O(R S^6)``.  Used to check the Chebyshev path and for small problems.
    """
    sigma = gaussian_sigma_meV(fwhm_meV)
    e_eV = np.asarray(energy_eV, dtype=float)
    e_meV = (e_eV - stack.reference_eV) * 1e3
    total = np.zeros(e_eV.size)
    s = stack.n_sites
    for a in range(0, stack.n_realisations, chunk):
        st = eigenstates(stack, slice(a, a + chunk))
        f = oscillator_strengths(st) / s
        total += _gaussian_sum(e_meV, st.energies_meV, f, sigma)
    spec = total / stack.n_realisations * 1e3
    centroid = float(np.mean(bright_centroid_meV(stack))) * 1e-3 + stack.reference_eV
    return BrightSpectrum(
        energy_eV=e_eV,
        absorption_per_eV=spec,
        sigma_meV=sigma,
        n_realisations=stack.n_realisations,
        n_moments=0,
        truncation_bound=0.0,
        centroid_eV=centroid,
        method="dense",
    )
