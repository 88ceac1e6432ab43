"""Optics kernels of the angle-dependent PL models (see :mod:`qdstack.analysis.angle`).

theta is the detection angle from the film normal in air; inside a film of index n
the light travelled at theta_i with ``sin(theta) = n sin(theta_i)`` (Snell).  The film
is a half-space radiating through one planar interface into air.

References
----------
W. Lukosz, J. Opt. Soc. Am. 71, 744 (1981) (dipole emission through an interface);
M. Born, E. Wolf, Principles of Optics, ch. 1.5 (Fresnel formulae).
"""

from __future__ import annotations

import numpy as np

from qdstack.errors import InputError

__all__ = [
    "internal_angle_rad",
    "fresnel_power_transmittance",
    "dipole_emission",
    "op_ip_ratio",
    "escape_fraction",
]


def internal_angle_rad(theta_deg, n_film: float):
    """Angle inside the film [rad] of light leaving into air at ``theta_deg``: sin(theta) = n sin(theta_i)."""
    s = np.sin(np.deg2rad(np.abs(np.asarray(theta_deg, dtype=float)))) / n_film
    return np.arcsin(np.clip(s, 0.0, 1.0))


def fresnel_power_transmittance(theta_i_rad, n1: float, n2: float = 1.0):
    """Fresnel power transmittances (T_s, T_p) from medium n1 into n2 at incidence theta_i (below the critical angle).

    ``T = 1 - |r|^2`` with ``r_s = (n1 cos_i - n2 cos_t) / (n1 cos_i + n2 cos_t)`` and
    ``r_p = (n2 cos_i - n1 cos_t) / (n2 cos_i + n1 cos_t)`` (Born & Wolf 1.5).
    """
    ti = np.asarray(theta_i_rad, dtype=float)
    ci = np.cos(ti)
    st = n1 * np.sin(ti) / n2
    if np.any(st > 1 + 1e-12):
        raise InputError("angle beyond the critical angle: no transmitted wave", "theta")
    ct = np.sqrt(np.clip(1.0 - st**2, 0.0, 1.0))
    rs = (n1 * ci - n2 * ct) / (n1 * ci + n2 * ct)
    rp = (n2 * ci - n1 * ct) / (n2 * ci + n1 * ct)
    return 1.0 - rs**2, 1.0 - rp**2


def dipole_emission(theta_deg, n_film: float):
    """Radiant intensity in air of in-plane (random azimuth) and out-of-plane dipoles in a film.

    Parameters
    ----------
    theta_deg : array_like
        Detection angle from the normal in air [deg], |theta| < 90.
    n_film : float
        Refractive index of the film (> 1).

    Returns
    -------
    w_ip, w_op : ndarray
        Power per unit solid angle in air (same arbitrary unit):
        ``w_ip = [T_s / 2 + cos^2(theta_i) T_p / 2] J``, ``w_op = sin^2(theta_i) T_p J``,
        ``J = cos(theta) / (n^2 cos(theta_i))``.

    References
    ----------
    W. Lukosz, J. Opt. Soc. Am. 71, 744 (1981).
    """
    th = np.deg2rad(np.abs(np.asarray(theta_deg, dtype=float)))
    ti = internal_angle_rad(theta_deg, n_film)
    ts, tp = fresnel_power_transmittance(ti, n_film, 1.0)
    jac = np.cos(th) / (n_film**2 * np.cos(ti))
    w_ip = (0.5 * ts + 0.5 * np.cos(ti) ** 2 * tp) * jac
    w_op = np.sin(ti) ** 2 * tp * jac
    return w_ip, w_op


def op_ip_ratio(theta_deg, n_film: float):
    """r(theta) = w_op / w_ip = 2 sin^2(theta_i) T_p / (T_s + cos^2(theta_i) T_p) (0 at the normal)."""
    ti = internal_angle_rad(theta_deg, n_film)
    ts, tp = fresnel_power_transmittance(ti, n_film, 1.0)
    return 2 * np.sin(ti) ** 2 * tp / (ts + np.cos(ti) ** 2 * tp)


def escape_fraction(optical_depth):
    """Depth-averaged escaping fraction ``(1 - exp(-x)) / x`` of uniformly distributed emitters (1 at x = 0)."""
    x = np.asarray(optical_depth, dtype=float)
    small = np.abs(x) < 1e-6
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2, -np.expm1(-safe) / safe)
