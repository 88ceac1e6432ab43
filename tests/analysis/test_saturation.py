"""Saturation of the shift with N: the S_inf (1 - r/N) fit and the noise Monte Carlo of N_sat readings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.analysis.absorption import saturation_layers
from qdstack.analysis.saturation import fit_saturation, saturation_reading_probability
from qdstack.errors import InputError


def ideal_chain_shift(n, beta_meV):
    """E(N) - E(1) of the chain E(N) = E1 - 2 beta cos(pi/(N+1)) (E(1) = E1 - 2 beta cos(pi/2) = E1)."""
    return -2.0 * beta_meV * np.cos(np.pi / (np.asarray(n) + 1.0))


def test_ideal_chain_reads_five_and_r_108():
    n = np.arange(1, 9)
    s = ideal_chain_shift(n, 12.0)
    # by hand: 90 % of |S(8)| = 0.9 * 2 beta cos(pi/9) = 1.691 beta; |S(4)| = 2 beta cos(pi/5) = 1.618 beta < it,
    # |S(5)| = 2 beta cos(pi/6) = 1.732 beta >= it  -> N_sat = 5, whatever beta
    assert 2 * math.cos(math.pi / 5) < 0.9 * 2 * math.cos(math.pi / 9) <= 2 * math.cos(math.pi / 6)
    assert saturation_layers(n, s) == 5
    # r = D / S_inf by ordinary least squares of |S| on 1/N over N = 2..8 (numpy, not lmfit)
    slope, intercept = np.polyfit(1.0 / n[1:], np.abs(s[1:]), 1)
    r_ref = -slope / intercept
    assert r_ref == pytest.approx(1.08, abs=0.005)
    fit = fit_saturation(n, s)
    assert fit.ratio == pytest.approx(r_ref, rel=1e-6)
    assert fit.s_inf_meV == pytest.approx(intercept, rel=1e-6)
    # beta-independent
    assert fit_saturation(n, ideal_chain_shift(n, 3.0)).ratio == pytest.approx(r_ref, rel=1e-6)


def test_confidence_intervals_cover_the_truth():
    # weighted fit of noisy series drawn around S_inf (1 - r/N): the 95 % interval holds r in ~95 % of them
    rng = np.random.default_rng(42)
    n = np.arange(1, 9)
    truth_s, truth_r, err = 30.0, 1.0, 1.5
    clean = truth_s * (1 - truth_r / n)
    clean[0] = 0.0
    hits = 0
    trials = 40
    for _ in range(trials):
        y = clean + rng.normal(0, err, n.size)
        f = fit_saturation(n, y, err)
        lo, hi = f.ratio_ci95
        assert lo < f.ratio < hi
        hits += lo <= truth_r <= hi
    assert hits >= 33  # binomial(40, 0.95): P(hits < 34) ~ 1 %


def test_reading_probability_matches_a_plain_loop():
    # independent reference: one series at a time, drawn with a different seed and count, read by saturation_layers
    n = np.arange(1, 9)
    s = ideal_chain_shift(n, 44.0 / (2 * math.cos(math.pi / 9)))  # |S(8)| = 44 meV
    mc = saturation_reading_probability(n, s, 2.0, draws=20000, seed=3)
    rng = np.random.default_rng(99)
    counts: dict = {}
    loops = 4000
    for _ in range(loops):
        peaks = s + rng.normal(0, 2.0, n.size)
        k = saturation_layers(n, peaks - peaks[0])
        counts[k] = counts.get(k, 0) + 1
    for k in range(2, 9):
        p_loop = counts.get(k, 0) / loops
        se = math.sqrt(max(p_loop * (1 - p_loop), 1e-4) / loops)
        assert mc.p(k) == pytest.approx(p_loop, abs=4 * se + 0.002), k
    assert mc.noiseless == 5
    assert sum(mc.probability.values()) == pytest.approx(1.0)
    assert saturation_reading_probability(n, s, 0.0, draws=100).probability == {5: 1.0}


def test_bad_input():
    with pytest.raises(InputError, match="3 layer counts"):
        fit_saturation([1, 2, 3], [0, -3, -4])
    with pytest.raises(InputError):
        saturation_reading_probability([2, 3], [1.0, 2.0], 1.0)
