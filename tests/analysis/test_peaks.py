"""Second-derivative peak location: the cached Savitzky-Golay operator against scipy, and the locator."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import savgol_coeffs, savgol_filter

from qdstack.analysis import peaks
from qdstack.analysis.peaks import (
    lowest_persistent_minimum,
    savgol_derivative,
    second_derivative,
    second_derivative_minima,
    uniform_grid,
)


@pytest.mark.parametrize(
    "n,m", [(n, m) for n in (15, 101, 601) for m in (5, 7, 15, 31, 101) if m <= n]
)
@pytest.mark.parametrize("deriv", [0, 1, 2])
@pytest.mark.parametrize("delta", [1.0, 0.00123])
def test_savgol_operator_equals_scipy_interp_mode(n, m, deriv, delta):
    # scipy.signal.savgol_filter(mode="interp") is the reference the operator replaces
    rng = np.random.default_rng(n * m + deriv)
    y = np.cumsum(rng.normal(size=n)) + np.sin(np.arange(n) / 7.0)
    ref = savgol_filter(y, m, 3, deriv=deriv, delta=delta, mode="interp")
    got = savgol_derivative(y, m, 3, deriv, delta)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10 * np.max(np.abs(ref)))


def test_second_derivative_gain_is_the_filter_norm():
    y = np.linspace(0, 1, 200) ** 3
    for scale in (0.05, 0.2):
        _, gain = second_derivative(y, 0.005, scale)
        m = peaks._window_points(scale, 0.005, 3)
        want = float(np.sqrt(np.sum(savgol_coeffs(m, 3, deriv=2, delta=0.005) ** 2)))
        assert gain == pytest.approx(want, rel=1e-10)


def test_bad_window_is_refused():
    with pytest.raises(ValueError):
        savgol_derivative(np.zeros(10), 4, 3, 2, 1.0)  # even
    with pytest.raises(ValueError):
        savgol_derivative(np.zeros(10), 11, 3, 2, 1.0)  # longer than the data


def _gaussian_on_slope(x, centre, sigma, rng, noise=2e-4):
    return (
        0.01 * np.exp(-0.5 * ((x - centre) / sigma) ** 2)
        + 0.05 * x
        + noise * rng.normal(size=x.size)
    )


def test_locator_finds_a_gaussian_on_a_non_uniform_grid():
    # wavelength steps of 1 nm make the energy grid non-uniform: the noise probe path
    rng = np.random.default_rng(3)
    e = np.sort(1239.84198 / np.arange(450.0, 560.0, 1.0))
    y = _gaussian_on_slope(e, 2.45, 0.035, rng)
    cand, sigma = lowest_persistent_minimum(e, y)
    assert cand is not None and abs(cand.position - 2.45) < 0.01
    assert sigma == pytest.approx(2e-4, rel=0.3)


def test_cached_probe_gains_equal_the_per_scale_probe():
    # the cache (one computation per grid) must give what each scale measured on the probe
    rng = np.random.default_rng(4)
    e = np.sort(1239.84198 / np.arange(450.0, 560.0, 1.0))
    y = _gaussian_on_slope(e, 2.45, 0.035, rng)
    xu, yu, step = uniform_grid(e, y)
    scales = np.geomspace(7 * step, (xu[-1] - xu[0]) / 4, 6)
    peaks._PROBE_GAINS.clear()
    cached = peaks._probe_gains(e, xu, step, scales)
    probe = np.interp(xu, e, np.random.default_rng(12345).standard_normal(e.size))
    sigma = peaks.noise_sigma(y)
    for sc, g in zip(scales, cached):
        direct = second_derivative_minima(xu, yu, step, sc, sigma, noise_probe=probe)
        via_cache = peaks._minima(
            xu, second_derivative(yu, step, sc)[0], g, step, sc, sigma, 5.0, 0.02
        )
        assert [c.position for c in direct] == [c.position for c in via_cache]
        assert [c.significance for c in direct] == pytest.approx(
            [c.significance for c in via_cache]
        )
    assert peaks._probe_gains(e, xu, step, scales) is cached  # second call: from the cache
