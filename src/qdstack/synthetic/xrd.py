"""Synthetic scattering profiles: Gaussian peaks in q on smooth backgrounds, with Poisson counts.

What a diffractometer or a small-angle camera records from a quantum-dot
superlattice: one or more broad Gaussian peaks in q (the inter-dot periods) on
a steep background (the dots' form factor and diffuse scattering, a power law
in q, or any smooth polynomial), counted with Poisson statistics.  Profiles can
be sampled on a uniform q grid (an integrated 2D-detector cut) or on a uniform
2theta grid (a theta-2theta scan) at a given wavelength.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qdstack._random import rng_from
from qdstack.units import CU_KALPHA_NM, q_to_two_theta_deg, two_theta_to_q_per_nm

__all__ = ["XRDPeakSpec", "SyntheticProfile", "xrd_expected_counts", "xrd_profile"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


@dataclass(frozen=True)
class XRDPeakSpec:
    """One Gaussian peak in q.

    Attributes
    ----------
    q_per_nm : float
        Centre [nm^-1] (d = 2 pi / q).
    fwhm_per_nm : float
        Full width at half maximum [nm^-1].
    height : float
        Peak value above the background [counts per point].
    """

    q_per_nm: float
    fwhm_per_nm: float
    height: float


@dataclass(frozen=True)
class SyntheticProfile:
    """A simulated profile and its truth.

    Attributes
    ----------
    x : ndarray
        The sampled axis: q [nm^-1] (``x_unit="nm^-1"``) or 2theta [deg] (``"2theta"``).
    q_per_nm : ndarray
        q of every point [nm^-1].
    counts : ndarray
        Poisson counts (float array of whole numbers; noise-free expectation if ``noise=False``).
    expected : ndarray
        Noise-free expected counts.
    background : ndarray
        Expected background counts.
    peaks : tuple of XRDPeakSpec
        The truth.
    x_unit : str
    wavelength_nm : float or None
    """

    x: np.ndarray
    q_per_nm: np.ndarray
    counts: np.ndarray
    expected: np.ndarray
    background: np.ndarray
    peaks: tuple[XRDPeakSpec, ...]
    x_unit: str
    wavelength_nm: float | None = None
    meta: dict = field(default_factory=dict, compare=False)

    def to_text(self, header: bool = True) -> str:
        """Two-column text (x, counts) with a header naming the unit, as an export would be."""
        name = "q_nm^-1" if self.x_unit == "nm^-1" else "2theta_deg"
        lines = []
        if header:
            if self.wavelength_nm is not None:
                lines.append(f"# synthetic scan, wavelength {self.wavelength_nm * 10:.5f} A")
            lines.append(f"{name} counts")
        lines += [f"{x:.6f} {int(round(c))}" for x, c in zip(self.x, self.counts)]
        return "\n".join(lines) + "\n"


def _background(q, kind: str, params: dict) -> np.ndarray:
    if kind == "powerlaw":
        a = params.get("amplitude", 2000.0)
        n = params.get("exponent", 3.0)
        q0 = params.get("q0_per_nm", 0.5)
        c = params.get("const", 20.0)
        return a * (q / q0) ** (-n) + c
    if kind == "poly":
        coeffs = params.get("coeffs", (200.0, -150.0, 60.0))
        q0 = params.get("q0_per_nm", 0.0)
        u = q - q0
        return sum(c * u**i for i, c in enumerate(coeffs))
    if kind == "flat":
        return np.full_like(q, params.get("const", 10.0))
    raise ValueError(f"unknown background {kind!r}; use powerlaw, poly or flat")


def xrd_expected_counts(q_per_nm, peaks: Sequence[XRDPeakSpec], background: str = "powerlaw", **bg):
    """Noise-free counts ``sum_k h_k exp(-(q - q_k)^2 / (2 s_k^2)) + B(q)``.

    Parameters
    ----------
    q_per_nm : array_like
        Scattering vector [nm^-1].
    peaks : sequence of XRDPeakSpec
    background : {"powerlaw", "poly", "flat"}
        ``amplitude (q / q0)^-exponent + const`` (defaults 2000, 3, 0.5 nm^-1, 20),
        ``sum_i coeffs[i] (q - q0)^i`` or a constant.
    **bg
        Background parameters (see above).

    Returns
    -------
    expected, background : ndarray
    """
    q = np.asarray(q_per_nm, dtype=float)
    b = _background(q, background, bg)
    y = b.copy()
    for p in peaks:
        s = p.fwhm_per_nm / _FWHM_PER_SIGMA
        y = y + p.height * np.exp(-0.5 * ((q - p.q_per_nm) / s) ** 2)
    if np.any(y < 0):
        raise ValueError("the expected counts are negative somewhere; change the background")
    return y, b


def xrd_profile(
    peaks: Sequence[XRDPeakSpec] | Sequence[tuple[float, float, float]],
    *,
    q_range_per_nm: tuple[float, float] = (0.3, 1.3),
    points: int = 400,
    x_unit: str = "nm^-1",
    wavelength_nm: float = CU_KALPHA_NM,
    background: str = "powerlaw",
    background_params: dict | None = None,
    noise: bool = True,
    seed=None,
) -> SyntheticProfile:
    """A profile with known peaks, sampled uniformly in q or in 2theta, with Poisson counts.

    Parameters
    ----------
    peaks : sequence of XRDPeakSpec or (q_per_nm, fwhm_per_nm, height) tuples
    q_range_per_nm : (float, float)
        Range of q [nm^-1].
    points : int
        Number of points.
    x_unit : {"nm^-1", "2theta"}
        Uniform grid in q, or in 2theta at ``wavelength_nm`` (a theta-2theta scan).
    wavelength_nm : float
        X-ray wavelength [nm] for the 2theta grid.
    background : {"powerlaw", "poly", "flat"}
    background_params : dict, optional
        Passed to :func:`xrd_expected_counts`.
    noise : bool
        Draw Poisson counts (else return the expectation).
    seed : int, SeedSequence or Generator

    Returns
    -------
    SyntheticProfile
    """
    specs = tuple(p if isinstance(p, XRDPeakSpec) else XRDPeakSpec(*map(float, p)) for p in peaks)
    lo, hi = map(float, q_range_per_nm)
    if not 0 < lo < hi:
        raise ValueError("q_range_per_nm must be (low, high) with 0 < low < high")
    if x_unit == "nm^-1":
        x = np.linspace(lo, hi, int(points))
        q = x
        wl = None
    elif x_unit == "2theta":
        x = np.linspace(
            q_to_two_theta_deg(lo, wavelength_nm),
            q_to_two_theta_deg(hi, wavelength_nm),
            int(points),
        )
        q = two_theta_to_q_per_nm(x, wavelength_nm)
        wl = float(wavelength_nm)
    else:
        raise ValueError(f"unknown x_unit {x_unit!r}; use nm^-1 or 2theta")
    expected, bgr = xrd_expected_counts(q, specs, background, **(background_params or {}))
    if noise:
        counts = rng_from(seed).poisson(expected).astype(float)
    else:
        counts = expected.copy()
    return SyntheticProfile(
        x=x,
        q_per_nm=q,
        counts=counts,
        expected=expected,
        background=bgr,
        peaks=specs,
        x_unit=x_unit,
        wavelength_nm=wl,
    )
