"""Synthetic angle-dependent PL series of a quantum-dot film under each mechanism.

A film is rotated and its emission recorded at detection angles theta from the
normal (Enomoto et al., Chem. Sci. 2024, 15, 13049, Fig. 5).  Three mechanisms:

``"isotropic"``
    Randomly oriented dipoles, one emission band: the spectrum does not change shape.
``"anisotropic"``
    In-plane dipoles (random azimuth) emit the band at ``peak_eV``; a fraction
    ``fraction`` of out-of-plane dipoles emits it ``offset_meV`` lower.  Each
    dipole's field is projected on the s and p polarisations of the ray inside
    the film (index ``n_film``), transmitted into air with the Fresnel *amplitude*
    coefficients and the ray-tube factor, and averaged numerically over the
    in-plane azimuth.  (An independent route from the closed forms that
    :mod:`qdstack.analysis.angle` fits.)
``"reabsorption"``
    Isotropic emitters spread through the depth of a film of optical depth
    ``tau exp((E - tau_ref_eV) / E_U)`` at normal incidence (an Urbach tail); the
    light leaving at theta_i is attenuated along ``z / cos(theta_i)``, integrated
    numerically over depth.

Spectra are made per unit energy, converted to counts per wavelength bin on a
wavelength grid (Jacobian ``hc / lambda^2``), scaled to ``counts_peak`` at the
strongest point of the series, and drawn with Poisson noise on a dark level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qdstack._random import rng_from
from qdstack.units import HC_EV_NM

__all__ = ["SyntheticAngleSeries", "angle_pl_series", "dipole_pattern_numeric"]


def _fresnel_amplitudes(cos_i, n1, n2):
    sin_i = np.sqrt(np.clip(1 - cos_i**2, 0, 1))
    sin_t = n1 * sin_i / n2
    cos_t = np.sqrt(np.clip(1 - sin_t**2, 0, 1))
    t_s = 2 * n1 * cos_i / (n1 * cos_i + n2 * cos_t)
    t_p = 2 * n1 * cos_i / (n2 * cos_i + n1 * cos_t)
    return t_s, t_p, cos_t


def dipole_pattern_numeric(theta_deg, n_film: float, n_azimuth: int = 360):
    """Radiant intensity in air of in-plane (azimuth-averaged) and out-of-plane dipoles, computed numerically.

    The field of a dipole p radiating along the internal unit vector k is the
    part of p perpendicular to k; its s and p components (s normal to the plane
    of k and the film normal) are transmitted with the Fresnel amplitude
    coefficients; the power per external solid angle carries
    ``(n_air cos_t / (n cos_i)) |t|^2`` (power transmittance) times the ray-tube
    factor ``cos(theta) / (n^2 cos_i)``.

    Returns
    -------
    w_ip, w_op : ndarray
    """
    theta = np.deg2rad(np.abs(np.asarray(theta_deg, dtype=float)))
    sin_i = np.sin(theta) / n_film
    cos_i = np.sqrt(1 - sin_i**2)
    t_s, t_p, cos_t = _fresnel_amplitudes(cos_i, n_film, 1.0)
    power_s = (1.0 * cos_t) / (n_film * cos_i) * t_s**2
    power_p = (1.0 * cos_t) / (n_film * cos_i) * t_p**2
    tube = np.cos(theta) / (n_film**2 * cos_i)
    phi = (np.arange(n_azimuth) + 0.5) * 2 * np.pi / n_azimuth
    # k = (sin_i, 0, cos_i); s = (0, 1, 0); p_hat = (cos_i, 0, -sin_i)
    ps_ip = np.sin(phi)[None, :] ** 2  # (p . s)^2 for p = (cos phi, sin phi, 0)
    pp_ip = (np.cos(phi)[None, :] * cos_i[..., None]) ** 2
    w_ip = np.mean(ps_ip * power_s[..., None] + pp_ip * power_p[..., None], axis=-1) * tube
    w_op = sin_i**2 * power_p * tube  # p = (0, 0, 1): p . s = 0, p . p_hat = -sin_i
    return w_ip, w_op


def _line(e, peak_eV, fwhm_meV, shape):
    s = fwhm_meV * 1e-3 / (2 * math.sqrt(2 * math.log(2)))
    g = np.exp(-0.5 * ((e - peak_eV) / s) ** 2)
    if (
        shape == "asymmetric"
    ):  # a weaker, broader low-energy shoulder (phonon side band / trap states)
        g = g + 0.25 * np.exp(-0.5 * ((e - peak_eV + 0.035) / (1.6 * s)) ** 2)
    elif shape != "gaussian":
        raise ValueError(f"unknown line shape {shape!r}; use gaussian or asymmetric")
    return g


@dataclass(frozen=True)
class SyntheticAngleSeries:
    """Simulated PL spectra at several detection angles.

    Attributes
    ----------
    angles_deg : ndarray, shape (k,)
    wavelength_nm : ndarray, shape (m,)
        Ascending wavelength grid [nm].
    counts : ndarray, shape (k, m)
        Counts per wavelength bin (Poisson, whole numbers).
    expected : ndarray, shape (k, m)
        Noise-free expectation.
    mechanism : str
    truth : dict
        The parameters used.
    """

    angles_deg: np.ndarray
    wavelength_nm: np.ndarray
    counts: np.ndarray
    expected: np.ndarray
    mechanism: str
    truth: dict = field(default_factory=dict, compare=False)

    def to_text(self, i: int) -> str:
        """CSV text of spectrum ``i`` (header ``wavelength_nm,counts``), as a spectrometer export."""
        rows = "\n".join(
            f"{w:.3f},{int(round(c))}" for w, c in zip(self.wavelength_nm, self.counts[i])
        )
        return f"# synthetic PL at {self.angles_deg[i]:g} deg ({self.mechanism})\nwavelength_nm,counts\n{rows}\n"


def angle_pl_series(
    angles_deg: Sequence[float] = (0, 10, 20, 30, 40, 50, 60, 70),
    mechanism: str = "anisotropic",
    *,
    peak_eV: float = 2.44,
    fwhm_meV: float = 80.0,
    shape: str = "gaussian",
    fraction: float = 0.3,
    offset_meV: float = 25.0,
    tau: float = 1.0,
    tau_ref_eV: float | None = None,
    urbach_meV: float = 20.0,
    n_film: float = 1.8,
    counts_peak: float = 20000.0,
    dark_counts: float = 20.0,
    wavelength_nm: np.ndarray | None = None,
    seed=None,
) -> SyntheticAngleSeries:
    """PL spectra of a rotated film under one mechanism (module docstring), with Poisson noise.

    Parameters
    ----------
    angles_deg : sequence of float
        Detection angles from the normal [deg].
    mechanism : {"isotropic", "anisotropic", "reabsorption"}
    peak_eV, fwhm_meV : float
        In-plane (or only) emission band [eV], its FWHM [meV].
    shape : {"gaussian", "asymmetric"}
        Line shape (``asymmetric`` adds a low-energy shoulder).
    fraction, offset_meV : float
        Out-of-plane dipole fraction and their emission offset below ``peak_eV`` (anisotropic).
    tau, tau_ref_eV, urbach_meV : float
        Optical depth alpha*d at ``tau_ref_eV`` (default ``peak_eV``) and the Urbach energy of
        the absorption tail (reabsorption).
    n_film : float
        Film index.
    counts_peak, dark_counts : float
        Counts at the strongest point of the series and the dark level per bin.
    wavelength_nm : array, optional
        Grid [nm]; default 460-560 nm in 0.25 nm steps.
    seed : int, SeedSequence or Generator

    Returns
    -------
    SyntheticAngleSeries
    """
    ang = np.asarray(angles_deg, dtype=float)
    lam = (
        np.arange(460.0, 560.0001, 0.25)
        if wavelength_nm is None
        else np.asarray(wavelength_nm, dtype=float)
    )
    e = HC_EV_NM / lam
    jac = HC_EV_NM / lam**2
    w_ip, w_op = dipole_pattern_numeric(ang, n_film)
    g0 = _line(e, peak_eV, fwhm_meV, shape)
    rows = []
    if mechanism == "isotropic":
        for a, b in zip(w_ip, w_op):
            rows.append((2 / 3 * a + 1 / 3 * b) * g0)
    elif mechanism == "anisotropic":
        g1 = _line(e, peak_eV - offset_meV * 1e-3, fwhm_meV, shape)
        for a, b in zip(w_ip, w_op):
            rows.append((1 - fraction) * a * g0 + fraction * b * g1)
    elif mechanism == "reabsorption":
        e_ref = peak_eV if tau_ref_eV is None else tau_ref_eV
        alpha_d = tau * np.exp((e - e_ref) / (urbach_meV * 1e-3))
        z = (np.arange(400) + 0.5) / 400  # depth / thickness, midpoint rule
        cos_i = np.sqrt(1 - (np.sin(np.deg2rad(np.abs(ang))) / n_film) ** 2)
        for a, b, c in zip(w_ip, w_op, cos_i):
            escape = np.mean(np.exp(-alpha_d[:, None] * z[None, :] / c), axis=1)
            rows.append((2 / 3 * a + 1 / 3 * b) * g0 * escape)
    else:
        raise ValueError(
            f"unknown mechanism {mechanism!r}; use isotropic, anisotropic or reabsorption"
        )
    per_nm = np.array(rows) * jac[None, :]
    expected = per_nm / per_nm.max() * counts_peak + dark_counts
    counts = rng_from(seed).poisson(expected).astype(float)
    truth = dict(peak_eV=peak_eV, fwhm_meV=fwhm_meV, shape=shape, n_film=n_film)
    if mechanism == "anisotropic":
        truth.update(fraction=fraction, offset_meV=offset_meV)
    if mechanism == "reabsorption":
        truth.update(
            tau=tau, tau_ref_eV=peak_eV if tau_ref_eV is None else tau_ref_eV, urbach_meV=urbach_meV
        )
    return SyntheticAngleSeries(
        angles_deg=ang,
        wavelength_nm=lam,
        counts=counts,
        expected=expected,
        mechanism=mechanism,
        truth=truth,
    )
