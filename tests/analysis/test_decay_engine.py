"""The vectorised engine of the reconvolution fit against references written without its shortcuts.

* :func:`columns` (exponential tails in closed form, only the bins that still see the
  IRF gathered) against :func:`columns_reference` (every bin through the general
  formula), which the brute-force convolution tests in ``test_decay.py`` validate.
* :func:`compress` against the least-squares quantities of the full residuals.
* The Poisson amplitudes against a general bounded optimiser (scipy L-BFGS-B).
* Each decay's numbers do not depend on the other decays evaluated with it, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from qdstack.analysis.decay import ReconvolutionFitter
from qdstack.analysis.decay._stack import _Stack
from qdstack.analysis.decay.convolution import Geometry, columns, columns_reference
from qdstack.analysis.decay.projection import compress, poisson_amplitudes
from qdstack.synthetic.decay import measured_like_irf_shape, simulate_decay


def _random_geometry(rng):
    n = int(rng.integers(40, 300))
    dt = float(rng.choice([0.01, 0.05, 0.064, 0.1, 1.0]))
    g = np.zeros(n)
    a = int(rng.integers(0, n // 2))
    L = int(rng.integers(1, min(40, n - a)))
    g[a : a + L] = rng.random(L)
    g /= g.sum()
    period = None if rng.random() < 0.6 else float(n * dt * rng.uniform(1.0, 3.0))
    return Geometry(g, dt, period_ns=period, slopes=bool(rng.random() < 0.8)), n, dt


def test_fast_columns_equal_the_reference_formula():
    """Random IRFs, bins, windows (before, across and after the IRF), periodic or not,
    batches mixing whole-bin and fractional shifts: agreement to 1e-10 of each column's scale."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(200):
        geo, n, dt = _random_geometry(rng)
        B, K = int(rng.integers(1, 6)), int(rng.integers(1, 5))
        tau = np.exp(rng.uniform(np.log(0.1 * dt), np.log(5 * n * dt), size=(B, K)))
        s = rng.uniform(-10, 10, size=B)
        whole = rng.random(B) < 0.3
        s[whole] = np.round(s[whole])
        i0 = int(rng.integers(0, n - 5))
        nw = int(rng.integers(1, n - i0 + 1))
        for fast, ref in zip(columns(geo, tau, s, i0, nw, True), columns_reference(geo, tau, s, i0, nw, True)):
            scale = np.max(np.abs(ref), axis=-1, keepdims=True) + 1e-300
            worst = max(worst, float(np.max(np.abs(fast - ref) / scale)))
    assert worst < 1e-10


def test_compress_keeps_the_least_squares_geometry():
    """|c|^2 + rest^2 = |r|^2, R^T R = J^T J, R^T c = J^T r (so every Levenberg-Marquardt step is
    that of the full residuals), also for a rank-deficient Jacobian (a zero-amplitude component)."""
    rng = np.random.default_rng(3)
    Jt = rng.normal(size=(5, 4, 60)) * np.array([1.0, 30.0, 1e-3, 5.0])[None, :, None]
    Jt[2, 1] = 0.0  # rank deficient: handled by QR
    r = rng.normal(size=(5, 60))
    scale = rng.uniform(0.1, 10.0, size=(5, 4))
    c, rest, R = compress(Jt, r, scale)
    J = Jt.transpose(0, 2, 1) * scale[:, None, :]
    assert np.allclose(np.sum(c**2, axis=1) + rest**2, np.sum(r**2, axis=1), rtol=1e-10)
    for b in range(5):
        assert np.allclose(R[b].T @ R[b], J[b].T @ J[b], rtol=1e-9, atol=1e-9 * np.abs(J[b].T @ J[b]).max())
        assert np.allclose(R[b].T @ c[b], J[b].T @ r[b], rtol=1e-9, atol=1e-9 * np.abs(J[b].T @ r[b]).max())
        assert np.allclose(np.tril(R[b], -1), 0.0)


def test_poisson_amplitudes_match_a_general_optimiser():
    """Projected Newton (warm and cold starts) == L-BFGS-B on sum(m - y ln m), a >= 0,
    including decays where a component is pushed to its bound."""
    rng = np.random.default_rng(5)
    n, P, B = 120, 4, 6
    Bm = np.abs(rng.normal(size=(B, P, n))) + 0.05
    Bm[:, -1] = 1.0
    truth = rng.uniform(5, 50, size=(B, P))
    truth[1, 0] = 0.0
    truth[4, 2] = 0.0
    Y = rng.poisson((truth[:, None, :] @ Bm)[:, 0, :]).astype(float)
    pos = Y > 0
    a_cold, _ = poisson_amplitudes(Bm, Y, pos, None)
    a_warm, _ = poisson_amplitudes(Bm, Y, pos, truth * 1.05)
    for b in range(B):
        def nll(a, b=b):
            m = a @ Bm[b]
            return float(np.sum(m - Y[b] * np.log(np.maximum(m, 1e-300))))

        def grad(a, b=b):
            m = a @ Bm[b]
            return Bm[b] @ (1.0 - Y[b] / np.maximum(m, 1e-300))

        ref = minimize(nll, truth[b] + 1.0, jac=grad, method="L-BFGS-B", bounds=[(0, None)] * P,
                       options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10000})
        for a in (a_cold[b], a_warm[b]):
            assert np.all(a >= 0)
            assert nll(a) <= ref.fun + 1e-7 * abs(ref.fun)


def test_a_decay_evaluates_the_same_whatever_its_batch():
    """Bit for bit: the numbers of one decay (amplitudes, residuals, Jacobian, compressed
    form) evaluated with eleven others equal those of the decay alone, also on the second
    (warm-started) evaluation.  So a fit does not depend on how decays are grouped for the
    vectorised arithmetic, only on the groups of its joint minimisation."""
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.2, tail_ns=0.1, echo_delay_ns=1.2)
    sds = [simulate_decay((0.3, 0.4, 0.3), (0.4, 1.6, 5.0), signal_counts=1e5, background=2.0, n_bins=256,
                          bin_width_ns=0.064, irf=irf, seed=30 + i, irf_counts=1e5 if i == 0 else None)
           for i in range(12)]
    Y = np.array([s.counts for s in sds])[:, 6:256]
    f = ReconvolutionFitter(sds[0].time_ns, irf=sds[0].irf_counts, components=3)
    rng = np.random.default_rng(1)
    th = np.column_stack([rng.uniform(0.05, 0.9, 12), rng.uniform(1, 2, 12), rng.uniform(4, 6, 12),
                          rng.uniform(-0.3, 0.3, 12)])
    th[3, 3] = 0.0  # a whole-bin shift among fractional ones
    together = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 6)
    evs = [together.evaluate(None, th, True), together.evaluate(None, th * 1.01, True)]
    for i in range(12):
        alone = _Stack(f, f._geo, Y[i : i + 1], np.ones((1, Y.shape[1]), bool), 6)
        for ev, point in zip(evs, (th, th * 1.01)):
            ev1 = alone.evaluate(None, point[i : i + 1], True)
            for name in ("a", "m", "r", "Jt", "dA", "c", "rest", "R"):
                assert np.array_equal(getattr(ev, name)[i : i + 1], getattr(ev1, name)), (i, name)


@pytest.mark.parametrize("statistic, period, fixed", [("poisson", 30.0, None), ("neyman", None, None),
                                                      ("poisson", None, 0.02)])
def test_subset_evaluation_matches_the_jacobian_by_finite_differences(statistic, period, fixed):
    """The evaluation of a subset of a stack (the path of fit_many, periodic, Neyman and fixed
    shift included) has the Jacobian of its residuals."""
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=2.0, tail_ns=0.1)
    sds = [simulate_decay((0.3, 0.4, 0.3), (0.5, 2.5, 10.0), signal_counts=1e5, background=1.0, n_bins=256,
                          bin_width_ns=0.05, irf=irf, seed=50 + i, period_ns=period,
                          irf_counts=1e5 if i == 0 else None) for i in range(3)]
    f = ReconvolutionFitter(sds[0].time_ns, irf=sds[0].irf_counts, components=3, statistic=statistic,
                            period_ns=period, fix_shift_ns=fixed)
    Y = np.array([s.counts for s in sds])[:, 20:256]
    th = np.array([[0.45, 2.2, 9.0, 0.037 if fixed is None else fixed]] * 3)
    nth = 3 if fixed is not None else 4
    J = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20).evaluate(np.array([1, 2]), th[1:], True).J
    for j in range(nth):
        e = np.zeros_like(th)
        e[:, j] = 1e-6 * (th[:, j] if j < 3 else 1.0)
        rp = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20).evaluate(np.array([1, 2]), (th + e)[1:]).r
        rm = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20).evaluate(np.array([1, 2]), (th - e)[1:]).r
        num = (rp - rm) / (2 * e[1:, j : j + 1])
        tol = 1e-4 if statistic == "poisson" else 1e-6
        assert np.max(np.abs(J[:, :, j] - num)) <= tol * np.max(np.abs(num))
