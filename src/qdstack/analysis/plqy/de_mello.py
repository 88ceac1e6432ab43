"""Photoluminescence quantum yield from three integrating-sphere spectra (de Mello et al. 1997).

The sample is measured in an integrating sphere under laser excitation three
times: **A** the empty sphere, **B** the sample in the sphere but out of the
beam (it sees only diffuse light), **C** the sample in the beam.  Integrating
each spectrum over the laser line gives ``L_A, L_B, L_C`` and over the emission
band ``P_A, P_B, P_C``.  Then (de Mello, Wittmann & Friend 1997, eqns 1-5)

    A    = 1 - L_C / L_B                       (direct absorptance)
    PLQY = (P_C - (1 - A) P_B) / (L_A A)

The second term removes the emission excited by light that missed the sample
the first time; with no indirect absorption (``L_B = L_A``, ``P_B = 0``) the
formula reduces to the two-measurement shortcut ``(P_C - P_A) / (L_A - L_C)``,
reported beside it (with its absorptance ``1 - L_C / L_A``, which counts direct
*and* indirect absorption).

Windows
    The laser window is centred on the strongest narrow line of the empty-sphere
    spectrum and reaches out until the line falls below 1e-3 of its peak (or five
    baseline standard deviations), plus one FWHM on each side.  The emission
    window is the band above the laser (longer wavelength) in the in-beam
    spectrum: the contiguous region around its maximum where the (lightly
    smoothed) signal exceeds 0.5 % of that maximum, widened by 10 % of its width,
    never overlapping the laser window.  ``laser_window_nm`` / ``emission_window_nm``
    override either.
Baseline
    Each spectrum's constant dark level is the mean of the points outside both
    windows (a guard of one laser FWHM around the laser window); its standard
    error is carried into the integrals as a fully correlated term.
Noise (how the errors are propagated)
    ``noise="counts"`` (default): the files hold raw detector counts per pixel;
    each point's variance is the baseline scatter (dark + read noise, the
    variance of the points outside the windows) plus the Poisson variance of
    the signal above the dark level.  ``noise="baseline"``: the values are
    scaled (not counts); only the baseline scatter is used, so shot noise of the
    signal is *not* represented (the errors are then lower bounds).  The
    variances of the six integrals and the covariance of each spectrum's two
    integrals (through its shared baseline) are propagated to A and PLQY to first
    order (numerical Jacobian).
Spectral response
    An optional correction factor c(lambda) (the file's second column; corrected
    signal = counts x c) is interpolated linearly onto the spectra's grid; it must
    cover both windows.
Grids
    The three spectra must share one wavelength grid (same points to 1e-6
    relative): anything else is refused, since re-sampling a narrow laser line
    changes its integral.  Integrals are sum(y_i c_i dlambda_i) with the local
    spacing dlambda_i (numpy.gradient), in the file's own x unit.

References
----------
J. C. de Mello, H. F. Wittmann, R. H. Friend, "An improved experimental
determination of external photoluminescence quantum efficiency",
Adv. Mater. 9, 230 (1997).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from qdstack._result import Result, Table
from qdstack.errors import FitError, InputError, OptionError
from qdstack.units import HC_EV_NM

__all__ = [
    "SphereSpectrum",
    "PLQYResult",
    "read_sphere_spectrum",
    "read_response",
    "find_windows",
    "de_mello_plqy",
    "plqy_from_files",
]

NoiseModel = Literal["counts", "baseline"]

#: Fraction of the laser peak where the laser window stops (before the FWHM margin).
LASER_CUTOFF: float = 1e-3
#: Fraction of the emission maximum that bounds the emission window (before the 10 % margin).
EMISSION_CUTOFF: float = 5e-3


@dataclass(frozen=True)
class SphereSpectrum:
    """One sphere spectrum: ascending wavelength [nm] and raw values, as in the file."""

    wavelength_nm: np.ndarray
    values: np.ndarray
    x_unit: str = "nm"
    source: str = "<spectrum>"

    @property
    def dx(self) -> np.ndarray:
        """Local spacing of the file's own x axis at each point (nm, or eV for energy files)."""
        x = self.wavelength_nm if self.x_unit == "nm" else HC_EV_NM / self.wavelength_nm
        return np.abs(np.gradient(x))


def read_sphere_spectrum(path: str | os.PathLike) -> SphereSpectrum:
    """Read a two-column sphere spectrum (x in nm or eV, raw detector values).

    No Jacobian is applied: the integrals are taken in the file's own x variable,
    the same for every spectrum of a measurement.
    """
    from qdstack.errors import FileFormatError
    from qdstack.io.spectrum import detect_x_unit
    from qdstack.io.table import checked_xy, read_numeric_table

    table = read_numeric_table(path)
    src = table.source
    unit = detect_x_unit(table)
    if unit not in ("nm", "eV"):
        raise FileFormatError(
            f"the x column is in {unit}; give wavelength (nm) or photon energy (eV)", src
        )
    x, y = checked_xy(
        table.data[:, 0],
        table.data[:, 1],
        src,
        y_name="intensity",
        min_points=20,
        what="sphere spectrum",
    )
    if np.any(x <= 0):
        raise FileFormatError("x values must be positive", src)
    lam = x if unit == "nm" else HC_EV_NM / x
    order = np.argsort(lam)
    return SphereSpectrum(lam[order], y[order], unit, src)


def read_response(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, str]:
    """Spectral-response correction (wavelength [nm] or energy [eV], factor); ascending nm."""
    s = read_sphere_spectrum(path)
    if np.any(s.values <= 0):
        from qdstack.errors import FileFormatError

        raise FileFormatError("correction factors must be positive", s.source)
    return s.wavelength_nm, s.values, s.source


@dataclass(frozen=True)
class PLQYResult(Result):
    """Result of :func:`de_mello_plqy` (``to_dict()`` is the contract JSON plus extras)."""

    plqy: float
    plqy_err: float
    absorptance: float
    absorptance_err: float
    indirect_absorptance: float
    indirect_absorptance_err: float
    plqy_two_measurement: float
    plqy_two_measurement_err: float
    absorptance_two_measurement: float
    absorptance_two_measurement_err: float
    laser_window_nm: tuple[float, float]
    emission_window_nm: tuple[float, float]
    laser_peak_nm: float
    laser_fwhm_nm: float
    integrals: dict
    baselines: dict
    noise: str
    response_corrected: bool
    files: dict
    warnings: tuple[str, ...] = ()
    spectra: dict = field(repr=False, compare=False, default_factory=dict)

    def summary_blocks(self):
        rows = (
            ("PLQY", f"{self.plqy:.4f}", f"{self.plqy_err:.2g}"),
            (
                "absorptance A = 1 - L_C/L_B",
                f"{self.absorptance:.4f}",
                f"{self.absorptance_err:.2g}",
            ),
            (
                "indirect absorptance 1 - L_B/L_A",
                f"{self.indirect_absorptance:.4f}",
                f"{self.indirect_absorptance_err:.2g}",
            ),
            (
                "two-measurement PLQY",
                f"{self.plqy_two_measurement:.4f}",
                f"{self.plqy_two_measurement_err:.2g}",
            ),
            (
                "two-measurement absorptance",
                f"{self.absorptance_two_measurement:.4f}",
                f"{self.absorptance_two_measurement_err:.2g}",
            ),
        )
        lw, ew = self.laser_window_nm, self.emission_window_nm
        return (
            Table("PLQY (de Mello et al. 1997)", ("quantity", "value", "± 1 s.e."), rows),
            f"laser window {lw[0]:.2f}-{lw[1]:.2f} nm (peak {self.laser_peak_nm:.2f} nm, FWHM "
            f"{self.laser_fwhm_nm:.2g} nm); emission window {ew[0]:.2f}-{ew[1]:.2f} nm; noise model "
            f"{self.noise}; response {'corrected' if self.response_corrected else 'not corrected'}",
        )

    def _plot(self, ax):
        from qdstack.plotting.plqy import plot_plqy

        return plot_plqy(self, axes=ax)

    def to_dict(self) -> dict:
        return {
            "plqy": self.plqy,
            "plqy_err": self.plqy_err,
            "absorptance": self.absorptance,
            "absorptance_err": self.absorptance_err,
            "laser_window_nm": list(self.laser_window_nm),
            "emission_window_nm": list(self.emission_window_nm),
            "indirect_absorptance": self.indirect_absorptance,
            "indirect_absorptance_err": self.indirect_absorptance_err,
            "two_measurement": {
                "plqy": self.plqy_two_measurement,
                "plqy_err": self.plqy_two_measurement_err,
                "absorptance": self.absorptance_two_measurement,
                "absorptance_err": self.absorptance_two_measurement_err,
            },
            "laser_peak_nm": self.laser_peak_nm,
            "laser_fwhm_nm": self.laser_fwhm_nm,
            "integrals": dict(self.integrals),
            "baselines": dict(self.baselines),
            "noise": self.noise,
            "response_corrected": self.response_corrected,
            "method": "de Mello, Wittmann & Friend, Adv. Mater. 9, 230 (1997)",
            "files": dict(self.files),
            "warnings": list(self.warnings),
        }


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


def _fwhm(x, y, i_peak) -> float:
    """Full width at half maximum of the peak at ``i_peak`` (linear interpolation)."""
    half = y[i_peak] / 2
    lo = i_peak
    while lo > 0 and y[lo] > half:
        lo -= 1
    hi = i_peak
    while hi < y.size - 1 and y[hi] > half:
        hi += 1

    def cross(i, j):
        if y[i] == y[j]:
            return x[i]
        return x[i] + (half - y[i]) * (x[j] - x[i]) / (y[j] - y[i])

    left = cross(lo, lo + 1) if lo < i_peak else x[i_peak]
    right = cross(hi - 1, hi) if hi > i_peak else x[i_peak]
    return float(max(right - left, np.min(np.diff(x))))


def _rough_background(y) -> tuple[float, float]:
    """Robust level and scatter of a spectrum that is mostly background (median, MAD)."""
    med = float(np.median(y))
    mad = float(np.median(np.abs(y - med))) * 1.4826
    return med, mad


def find_windows(
    empty: SphereSpectrum,
    in_beam: SphereSpectrum,
    laser_window_nm: tuple[float, float] | None = None,
    emission_window_nm: tuple[float, float] | None = None,
) -> tuple[tuple[float, float], tuple[float, float], float, float, list[str]]:
    """Laser and emission windows [nm] (see the module docstring for the rules).

    Returns
    -------
    laser_window_nm, emission_window_nm, laser_peak_nm, laser_fwhm_nm, warnings
    """
    x = empty.wavelength_nm
    warnings: list[str] = []
    a_level, a_scatter = _rough_background(empty.values)
    ya = empty.values - a_level
    if laser_window_nm is None:
        i = int(np.argmax(ya))
        peak = float(ya[i])
        if not peak > 20 * max(a_scatter, 1e-300):
            raise InputError(
                "no laser line in the empty-sphere spectrum (its maximum is not above the noise)",
                empty.source,
            )
        fw = _fwhm(x, ya, i)
        floor = max(LASER_CUTOFF * peak, 5 * a_scatter)
        lo = i
        while lo > 0 and ya[lo - 1] > floor:
            lo -= 1
        hi = i
        while hi < x.size - 1 and ya[hi + 1] > floor:
            hi += 1
        laser = (float(max(x[lo] - fw, x[0])), float(min(x[hi] + fw, x[-1])))
        if fw > 10.0:
            warnings.append(
                f"the strongest line of the empty-sphere spectrum is {fw:.1f} nm wide (FWHM), not a "
                "narrow laser line; check the files or give --laser-window-nm"
            )
        laser_peak = float(x[i])
    else:
        laser = (float(min(laser_window_nm)), float(max(laser_window_nm)))
        inside = (x >= laser[0]) & (x <= laser[1])
        if inside.sum() < 2:
            raise OptionError(
                f"the laser window {laser[0]:g}-{laser[1]:g} nm holds fewer than 2 points",
                "--laser-window-nm",
            )
        j = np.nonzero(inside)[0]
        i = int(j[np.argmax(ya[j])])
        fw = _fwhm(x, np.where(inside, ya, 0.0), i)
        laser_peak = float(x[i])
    if emission_window_nm is None:
        c_level, c_scatter = _rough_background(in_beam.values)
        above = x > laser[1]
        if above.sum() < 5:
            raise InputError(
                "no part of the spectrum lies above (longer than) the laser window", in_beam.source
            )
        # subtract the laser's own wing as scaled from the empty sphere, then smooth lightly
        yc = in_beam.values - c_level
        k = 5
        smooth = np.convolve(yc, np.ones(k) / k, mode="same")
        idx = np.nonzero(above)[0]
        j = int(idx[np.argmax(smooth[idx])])
        top = float(smooth[j])
        if not top > 10 * max(c_scatter, 1e-300) / math.sqrt(k):
            raise InputError(
                "no emission band above the laser in the in-beam spectrum (nothing rises above the noise)",
                in_beam.source,
            )
        floor = max(EMISSION_CUTOFF * top, 3 * c_scatter / math.sqrt(k))
        lo = j
        while lo - 1 > idx[0] and smooth[lo - 1] > floor:
            lo -= 1
        hi = j
        while hi < x.size - 1 and smooth[hi + 1] > floor:
            hi += 1
        width = x[hi] - x[lo]
        emission = (
            float(max(x[lo] - 0.1 * width, laser[1])),
            float(min(x[hi] + 0.1 * width, x[-1])),
        )
        if hi >= x.size - 2:
            warnings.append(
                "the emission band runs off the long-wavelength end of the spectra; the PLQY is "
                "underestimated by the part that was not recorded"
            )
    else:
        emission = (float(min(emission_window_nm)), float(max(emission_window_nm)))
        if ((x >= emission[0]) & (x <= emission[1])).sum() < 2:
            raise OptionError(
                f"the emission window {emission[0]:g}-{emission[1]:g} nm holds fewer than 2 points",
                "--emission-window-nm",
            )
    if emission[0] < laser[1] and emission[1] > laser[0]:
        raise OptionError(
            f"the emission window {emission[0]:g}-{emission[1]:g} nm overlaps the laser window "
            f"{laser[0]:g}-{laser[1]:g} nm",
            "--emission-window-nm" if emission_window_nm is not None else "--laser-window-nm",
        )
    return laser, emission, laser_peak, float(fw), warnings


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
