"""The laser and emission windows of the PLQY integrals: :func:`find_windows`.

The rules are described in :mod:`qdstack.analysis.plqy`.
"""

from __future__ import annotations

import math

import numpy as np

from qdstack.analysis.plqy.spectra import SphereSpectrum
from qdstack.errors import InputError, OptionError

#: Fraction of the laser peak where the laser window stops (before the FWHM margin).
LASER_CUTOFF: float = 1e-3
#: Fraction of the emission maximum that bounds the emission window (before the 10 % margin).
EMISSION_CUTOFF: float = 5e-3


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
