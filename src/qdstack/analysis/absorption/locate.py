"""Where the first excitonic peak of a spectrum is, before any fit (numpy only).

The first stage of :func:`~qdstack.analysis.absorption.peak.first_excitonic_peak`: the
spectrum sorted and cut to the search range, the lowest-energy persistent minimum of its
Savitzky-Golay second derivative (:mod:`qdstack.analysis.peaks`), its grid step and noise.
It imports no lmfit (nor scipy.optimize, scipy.stats or matplotlib, which lmfit brings), so
``qdstack absorption`` runs it for every file in a forked process while its own process
imports the fitting stack (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdstack.analysis.peaks import (
    PeakCandidate,
    lowest_persistent_minimum,
    noise_sigma,
    sorted_in_range,
)
from qdstack.errors import FitError, InputError

__all__: list[str] = []  # private: the public entry is first_excitonic_peak


@dataclass(frozen=True)
class _Located:
    """A located peak: what the fits of :func:`~qdstack.analysis.absorption.peak._refine_peak` start from."""

    e: np.ndarray  # energies [eV], ascending, inside the search range
    a: np.ndarray  # absorbance at e
    cand: PeakCandidate  # the lowest-energy persistent second-derivative minimum
    step: float  # the grid step of the fits (median spacing)
    sigma_noise: float  # white-noise standard deviation of a [OD]
    source: str  # name for messages


def _locate_peak(
    energy_eV,
    absorbance,
    *,
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    threshold: float = 5.0,
    source: str | None = None,
) -> _Located:
    """The first stage of :func:`~qdstack.analysis.absorption.peak.first_excitonic_peak`.

    Raises
    ------
    InputError
        Non-finite values (or what :func:`~qdstack.analysis.peaks.sorted_in_range` rejects).
    FitError
        Fewer than 15 points in the range, or no significant second-derivative minimum.
    """
    src = source or "<spectrum>"
    e, a = sorted_in_range(energy_eV, absorbance, emin_eV, emax_eV, "absorbance", src)
    if e.size < 15:
        raise FitError(
            f"only {e.size} points in the search range; at least 15 are needed to find a peak", src
        )
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(a))):
        raise InputError("energies and absorbances must be finite", src)

    cand, _ = lowest_persistent_minimum(e, a, threshold=threshold)
    step = float(np.median(np.diff(e)))  # the grid step of the fits (uniform_grid's default)
    sigma_noise = noise_sigma(a)
    if cand is None:
        raise FitError(
            "no excitonic peak found: the second derivative has no significant minimum "
            f"(noise about {sigma_noise:.2g} OD); check the energy range or the file",
            src,
        )
    return _Located(e=e, a=a, cand=cand, step=step, sigma_noise=sigma_noise, source=src)
