"""The de Mello three-measurement PLQY and the error propagation of its six integrals.

The method is described in :mod:`qdstack.analysis.plqy`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from qdstack.analysis.plqy.results import PLQYResult
from qdstack.analysis.plqy.spectra import SphereSpectrum, read_response, read_sphere_spectrum
from qdstack.analysis.plqy.windows import find_windows
from qdstack.errors import FitError, InputError, OptionError

NoiseModel = Literal["counts", "baseline"]


def _same_grid(spectra: list[SphereSpectrum]) -> None:
    ref = spectra[0]
    for s in spectra[1:]:
        if s.wavelength_nm.size != ref.wavelength_nm.size:
            raise InputError(
                f"spectra on different grids: {s.wavelength_nm.size} points here, "
                f"{ref.wavelength_nm.size} in {ref.source}; measure all three on one grid",
                s.source,
            )
        tol = 1e-6 * np.abs(ref.wavelength_nm) + 1e-9
        bad = np.abs(s.wavelength_nm - ref.wavelength_nm) > tol
        if np.any(bad):
            i = int(np.argmax(bad))
            raise InputError(
                f"spectra on different grids: point {i + 1} is at {s.wavelength_nm[i]:.6g} nm here and "
                f"{ref.wavelength_nm[i]:.6g} nm in {ref.source}; measure all three on one grid",
                s.source,
            )
        if s.x_unit != ref.x_unit:
            raise InputError(f"x in {s.x_unit} here but {ref.x_unit} in {ref.source}", s.source)


def _integrals(s: SphereSpectrum, corr, masks, bg_mask, noise: NoiseModel):
    """[L, P] of one spectrum, their 2x2 covariance, the baseline and its error."""
    y = s.values
    bg = y[bg_mask]
    b = float(np.mean(bg))
    s_bg2 = float(np.var(bg, ddof=1))
    s_b2 = s_bg2 / bg.size
    dx = s.dx
    w = corr * dx
    vals, var_stat, sums = [], [], []
    for m in masks:
        vals.append(float(np.sum((y[m] - b) * w[m])))
        v_pt = np.full(m.sum(), s_bg2)
        if noise == "counts":
            v_pt = v_pt + np.clip(y[m] - b, 0.0, None)
        var_stat.append(float(np.sum(v_pt * w[m] ** 2)))
        sums.append(float(np.sum(w[m])))
    sums = np.array(sums)
    cov = np.diag(var_stat) + s_b2 * np.outer(sums, sums)
    return np.array(vals), cov, b, math.sqrt(s_b2), math.sqrt(s_bg2)


def _propagate(f, values, cov):
    """f(values) and its first-order standard error from ``cov`` (central differences)."""
    v = np.asarray(values, dtype=float)
    f0 = f(v)
    grad = np.zeros_like(v)
    for k in range(v.size):
        h = 1e-6 * max(abs(v[k]), 1e-12 * max(np.max(np.abs(v)), 1.0))
        up, dn = v.copy(), v.copy()
        up[k] += h
        dn[k] -= h
        grad[k] = (f(up) - f(dn)) / (2 * h)
    var = float(grad @ cov @ grad)
    return float(f0), math.sqrt(max(var, 0.0))


def de_mello_plqy(
    empty: SphereSpectrum,
    out_of_beam: SphereSpectrum,
    in_beam: SphereSpectrum,
    *,
    response: tuple[np.ndarray, np.ndarray, str] | None = None,
    laser_window_nm: tuple[float, float] | None = None,
    emission_window_nm: tuple[float, float] | None = None,
    noise: NoiseModel = "counts",
) -> PLQYResult:
    """PLQY and absorptance from spectra A (empty), B (out of beam), C (in beam).

    Parameters
    ----------
    empty, out_of_beam, in_beam : SphereSpectrum
        The three measurements on one wavelength grid.
    response : tuple, optional
        Spectral-response correction as ``(wavelength [nm], factor, file name)`` (what
        :func:`read_response` returns); the factor multiplies the signal.
    laser_window_nm, emission_window_nm : (float, float), optional
        Override the automatic windows [nm].
    noise : {"counts", "baseline"}
        How each point's variance is estimated (module docstring).

    Returns
    -------
    PLQYResult

    Raises
    ------
    InputError
        Different grids, no laser line, no emission band, no absorption.
    """
    if noise not in ("counts", "baseline"):
        raise OptionError(f"unknown noise model {noise!r}; use counts or baseline", "--noise")
    spectra = [empty, out_of_beam, in_beam]
    _same_grid(spectra)
    x = empty.wavelength_nm
    laser, emission, laser_peak, laser_fw, warnings = find_windows(
        empty, in_beam, laser_window_nm, emission_window_nm
    )
    m_l = (x >= laser[0]) & (x <= laser[1])
    m_p = (x >= emission[0]) & (x <= emission[1])
    guard = max(laser_fw, 0.0)
    bg_mask = ~((x >= laser[0] - guard) & (x <= laser[1] + guard)) & ~m_p
    if bg_mask.sum() < 10:
        raise InputError(
            f"only {int(bg_mask.sum())} points lie outside the laser and emission windows; the dark "
            "level cannot be estimated (record a wider range or narrow the windows)",
            in_beam.source,
        )
    if response is not None:
        rx, ry, rsrc = response
        need = (min(laser[0], emission[0]), max(laser[1], emission[1]))
        if rx[0] > need[0] + 1e-9 or rx[-1] < need[1] - 1e-9:
            raise InputError(
                f"the correction covers {rx[0]:.4g}-{rx[-1]:.4g} nm but the windows span "
                f"{need[0]:.4g}-{need[1]:.4g} nm",
                rsrc,
            )
        corr = np.interp(x, rx, ry)
    else:
        corr = np.ones_like(x)
    vals, covs, bases = [], [], {}
    for key, s in zip(("A", "B", "C"), spectra):
        v, c, b, b_err, scatter = _integrals(s, corr, (m_l, m_p), bg_mask, noise)
        vals.append(v)
        covs.append(c)
        bases[key] = {"level": b, "level_err": b_err, "scatter": scatter}
    # order: L_A, P_A, L_B, P_B, L_C, P_C
    values = np.concatenate(vals)
    cov = np.zeros((6, 6))
    for k, c in enumerate(covs):
        cov[2 * k : 2 * k + 2, 2 * k : 2 * k + 2] = c
    err = np.sqrt(np.diag(cov))
    names = ("L_A", "P_A", "L_B", "P_B", "L_C", "P_C")
    integrals = {n: float(v) for n, v in zip(names, values)}
    integrals.update({f"{n}_err": float(e) for n, e in zip(names, err)})
    l_a, p_a, l_b, p_b, l_c, p_c = values
    for name, v, e in (("L_A", l_a, err[0]), ("L_B", l_b, err[2])):
        if not v > 5 * e:
            raise InputError(
                f"the laser integral {name} = {v:.4g} ± {e:.2g} is not above the noise",
                empty.source if name == "L_A" else out_of_beam.source,
            )

    def absorptance(v):
        return 1.0 - v[4] / v[2]

    def plqy(v):
        a = 1.0 - v[4] / v[2]
        return (v[5] - (1.0 - a) * v[3]) / (v[0] * a)

    def indirect(v):
        return 1.0 - v[2] / v[0]

    def abs2(v):
        return 1.0 - v[4] / v[0]

    def plqy2(v):
        return (v[5] - v[1]) / (v[0] - v[4])

    a, a_err = _propagate(absorptance, values, cov)
    if not a > 2 * a_err or a <= 0:
        raise FitError(
            f"the sample absorbs no measurable laser light (A = 1 - L_C/L_B = {a:.3g} ± {a_err:.2g}); "
            "the PLQY is undefined",
            in_beam.source,
        )
    eta, eta_err = _propagate(plqy, values, cov)
    mu, mu_err = _propagate(indirect, values, cov)
    a2, a2_err = _propagate(abs2, values, cov)
    eta2, eta2_err = _propagate(plqy2, values, cov)
    if a < 0.05:
        warnings.append(f"the absorptance is only {a:.3f}: the PLQY error is large ({eta_err:.2g})")
    if p_a > 5 * err[1] and p_a > 0.01 * p_c:
        warnings.append(
            f"the empty sphere shows signal in the emission window (P_A = {p_a:.3g} ± {err[1]:.2g}, "
            f"{100 * p_a / p_c:.1f} % of P_C): stray light or sphere fluorescence"
        )
    if eta > 1 + 3 * eta_err:
        warnings.append(
            f"PLQY {eta:.3f} ± {eta_err:.2g} exceeds 1: check the correction file and windows"
        )
    if noise == "baseline":
        warnings.append(
            "noise model 'baseline': shot noise of the signal is not included; errors are lower bounds"
        )
    return PLQYResult(
        plqy=eta,
        plqy_err=eta_err,
        absorptance=a,
        absorptance_err=a_err,
        indirect_absorptance=mu,
        indirect_absorptance_err=mu_err,
        plqy_two_measurement=eta2,
        plqy_two_measurement_err=eta2_err,
        absorptance_two_measurement=a2,
        absorptance_two_measurement_err=a2_err,
        laser_window_nm=laser,
        emission_window_nm=emission,
        laser_peak_nm=laser_peak,
        laser_fwhm_nm=laser_fw,
        integrals=integrals,
        baselines=bases,
        noise=noise,
        response_corrected=response is not None,
        files={
            "empty": empty.source,
            "out_of_beam": out_of_beam.source,
            "in_beam": in_beam.source,
            "response": None if response is None else response[2],
        },
        warnings=tuple(warnings),
        spectra={
            "wavelength_nm": x,
            "A": empty.values,
            "B": out_of_beam.values,
            "C": in_beam.values,
            "correction": corr,
            "baselines": {k: v["level"] for k, v in bases.items()},
        },
    )


def plqy_from_files(
    empty,
    out_of_beam,
    in_beam,
    *,
    response=None,
    laser_window_nm=None,
    emission_window_nm=None,
    noise: NoiseModel = "counts",
) -> PLQYResult:
    """:func:`de_mello_plqy` on files (paths); errors name the file."""
    spectra = [read_sphere_spectrum(p) for p in (empty, out_of_beam, in_beam)]
    resp = read_response(response) if response is not None else None
    return de_mello_plqy(
        *spectra,
        response=resp,
        laser_window_nm=laser_window_nm,
        emission_window_nm=emission_window_nm,
        noise=noise,
    )
