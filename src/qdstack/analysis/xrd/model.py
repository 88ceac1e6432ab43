"""The lmfit model of a scattering profile and the derivative filters.

Gaussian peaks on a polynomial or power-law background, and the Savitzky-Golay
derivative filters that data and model both go through (:mod:`qdstack.analysis.xrd`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.signal import savgol_coeffs

from qdstack.errors import FitError, InputError

Method = Literal["joint", "raw"]
Background = Literal["auto", "poly", "powerlaw"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_MAX_DEGREE = 5
_POLYORDER = 3
#: backgrounds tried by background="auto", the one with the lowest BIC is kept
_AUTO_BACKGROUNDS = (("powerlaw", 0), ("poly", 1), ("poly", 2), ("poly", 3), ("poly", 4))


# ----------------------------------------------------------------------------- model pieces


@dataclass(frozen=True)
class _Filters:
    """Savitzky-Golay derivative filters applied to data and model alike ('valid' points only)."""

    c1: np.ndarray
    c2: np.ndarray
    window: int

    @classmethod
    def make(cls, window: int, step: float) -> "_Filters":
        c1 = savgol_coeffs(window, _POLYORDER, deriv=1, delta=step, use="conv")
        c2 = savgol_coeffs(window, _POLYORDER, deriv=2, delta=step, use="conv")
        return cls(c1=c1, c2=c2, window=window)

    def d1(self, f):
        return np.convolve(f, self.c1, mode="valid")

    def d2(self, f):
        return np.convolve(f, self.c2, mode="valid")

    def stack(self, f):
        return np.concatenate([f, self.d1(f), self.d2(f)])

    def stacked_sigma(self, sigma):
        """Standard errors of [y, S1 y, S2 y] for independent points of standard error ``sigma``."""
        var = np.asarray(sigma, dtype=float) ** 2
        return np.concatenate(
            [
                np.sqrt(var),
                np.sqrt(np.convolve(var, self.c1**2, mode="valid")),
                np.sqrt(np.convolve(var, self.c2**2, mode="valid")),
            ]
        )

    def transpose(self, v, n: int):
        """A^T v for A = [1; S1; S2] and a stacked vector (or matrix of columns) v."""
        m = n - self.window + 1
        v = np.asarray(v, dtype=float)
        v0, v1, v2 = v[:n], v[n : n + m], v[n + m :]
        out = v0.copy()
        for vk, c in ((v1, self.c1), (v2, self.c2)):
            if vk.ndim == 1:
                out += np.convolve(vk, c[::-1], mode="full")
            else:
                out += np.stack(
                    [np.convolve(vk[:, j], c[::-1], mode="full") for j in range(vk.shape[1])], 1
                )
        return out


def gaussian_peak(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Area-normalised Gaussian: ``A / (s sqrt(2 pi)) exp(-(x - c)^2 / (2 s^2))``."""
    return (
        amplitude
        / (max(sigma, 1e-300) * _SQRT_2PI)
        * np.exp(-0.5 * ((x - center) / max(sigma, 1e-300)) ** 2)
    )


def _gaussian(x, amplitude=1.0, center=0.0, sigma=1.0, filters=None):
    f = gaussian_peak(x, amplitude, center, sigma)
    return f if filters is None else filters.stack(f)


def _poly_background(
    x, c0=0.0, c1=0.0, c2=0.0, c3=0.0, c4=0.0, c5=0.0, x0=0.0, xscale=1.0, filters=None
):
    u = (x - x0) / xscale
    f = c0 + u * (c1 + u * (c2 + u * (c3 + u * (c4 + u * c5))))
    f = np.broadcast_to(f, np.shape(x)).astype(float)
    return f if filters is None else filters.stack(f)


def _powerlaw_background(x, amplitude=1.0, exponent=2.0, const=0.0, x0=1.0, filters=None):
    f = amplitude * (np.asarray(x, dtype=float) / x0) ** (-exponent) + const
    return f if filters is None else filters.stack(f)


def _peak_model(prefix: str):
    from lmfit import Model

    model = Model(_gaussian, independent_vars=["x", "filters"], prefix=prefix)
    model.set_param_hint("sigma", min=0)
    model.set_param_hint("amplitude", min=0)
    model.set_param_hint("fwhm", expr=f"{_FWHM_PER_SIGMA:.15f}*{prefix}sigma")
    model.set_param_hint("height", expr=f"{prefix}amplitude/({prefix}sigma*{_SQRT_2PI:.15f})")
    return model


def _background_model(kind: Background):
    from lmfit import Model

    if kind == "poly":
        return Model(_poly_background, independent_vars=["x", "filters"], prefix="bg_")
    if kind == "powerlaw":
        return Model(_powerlaw_background, independent_vars=["x", "filters"], prefix="bg_")
    raise InputError(f"unknown background {kind!r}; use poly or powerlaw", "--background")


def _sg_window(fwhm_points: float, n: int) -> int:
    w = int(round(0.5 * fwhm_points))
    w = max(w, _POLYORDER + 2)
    if w % 2 == 0:
        w += 1
    w = min(w, (n // 4) * 2 - 1)
    if w < _POLYORDER + 2:
        raise FitError(
            f"only {n} points in the range; the derivative fit needs at least {4 * (_POLYORDER + 2)}"
        )
    return w
