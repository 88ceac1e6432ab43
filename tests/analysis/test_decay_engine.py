"""The vectorised engine of the reconvolution fit against references written without its shortcuts.

* :func:`columns` (exponential tails in closed form, only the bins that still see the
  IRF gathered) against :func:`columns_reference` (every bin through the general
  formula), which the brute-force convolution tests in ``test_decay.py`` validate.
* The batch solver's objective, gradient and Gauss-Newton matrix against finite differences.
* The Poisson amplitudes against a general bounded optimiser (scipy L-BFGS-B).
* Each decay's numbers do not depend on the other decays evaluated with it, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from qdstack.analysis.decay import ReconvolutionFitter
from qdstack.analysis.decay._stack import _Stack
from qdstack.analysis.decay.batch import _Chunk
from qdstack.analysis.decay.convolution import Geometry, columns, columns_reference
from qdstack.analysis.decay.projection import poisson_amplitudes
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
        for fast, ref in zip(
            columns(geo, tau, s, i0, nw, True), columns_reference(geo, tau, s, i0, nw, True)
        ):
            scale = np.max(np.abs(ref), axis=-1, keepdims=True) + 1e-300
            worst = max(worst, float(np.max(np.abs(fast - ref) / scale)))
    assert worst < 1e-10


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

        ref = minimize(
            nll,
            truth[b] + 1.0,
            jac=grad,
            method="L-BFGS-B",
            bounds=[(0, None)] * P,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 10000},
        )
        for a in (a_cold[b], a_warm[b]):
            assert np.all(a >= 0)
            assert nll(a) <= ref.fun + 1e-7 * abs(ref.fun)


def test_a_decay_evaluates_the_same_whatever_its_batch():
    """Bit for bit: the numbers of one decay (amplitudes, residuals, Jacobian) evaluated with
    eleven others equal those of the decay alone, also on the second (warm-started)
    evaluation; the same for the batch solver's objective, gradient and Gauss-Newton
    matrix.  So a fit does not depend on how decays are grouped for the vectorised
    arithmetic."""
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.2, tail_ns=0.1, echo_delay_ns=1.2)
    sds = [
        simulate_decay(
            (0.3, 0.4, 0.3),
            (0.4, 1.6, 5.0),
            signal_counts=1e5,
            background=2.0,
            n_bins=256,
            bin_width_ns=0.064,
            irf=irf,
            seed=30 + i,
            irf_counts=1e5 if i == 0 else None,
        )
        for i in range(12)
    ]
    Y = np.array([s.counts for s in sds])[:, 6:256]
    f = ReconvolutionFitter(sds[0].time_ns, irf=sds[0].irf_counts, components=3)
    rng = np.random.default_rng(1)
    th = np.column_stack(
        [
            rng.uniform(0.05, 0.9, 12),
            rng.uniform(1, 2, 12),
            rng.uniform(4, 6, 12),
            rng.uniform(-0.3, 0.3, 12),
        ]
    )
    th[3, 3] = 0.0  # a whole-bin shift among fractional ones
    together = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 6)
    evs = [together.evaluate(None, th), together.evaluate(None, th * 1.01)]
    for i in range(12):
        alone = _Stack(f, f._geo, Y[i : i + 1], np.ones((1, Y.shape[1]), bool), 6)
        for ev, point in zip(evs, (th, th * 1.01)):
            ev1 = alone.evaluate(None, point[i : i + 1])
            for name in ("a", "m", "r", "Jt", "dA"):
                assert np.array_equal(getattr(ev, name)[i : i + 1], getattr(ev1, name)), (i, name)
    # the batch solver: parameters (ln tau, shift, amplitudes, background)
    x = np.column_stack([np.log(th[:, :3]), th[:, 3], np.full((12, 3), 1e4), np.full(12, 2.0)])
    mask = np.ones(Y.shape, bool)
    tb = (np.full(12, 0.0064), np.full(12, 80.0))
    ch = _Chunk(f, f._geo, Y, mask, 1.0 / np.maximum(Y, 1.0), 6, *tb)
    together = ch.evaluate(x, np.arange(12))
    for i in range(12):
        alone = _Chunk(
            f,
            f._geo,
            Y[i : i + 1],
            mask[:1],
            1.0 / np.maximum(Y[i : i + 1], 1.0),
            6,
            tb[0][:1],
            tb[1][:1],
        ).evaluate(x[i : i + 1], np.arange(1))
        for k in (1, 2, 3):
            assert np.array_equal(together[k][i : i + 1], alone[k]), (i, k)


@pytest.mark.parametrize(
    "statistic, period, fixed",
    [("poisson", 30.0, None), ("neyman", None, None), ("poisson", None, 0.02)],
)
def test_subset_evaluation_matches_the_jacobian_by_finite_differences(statistic, period, fixed):
    """The evaluation of a subset of a stack (the path of fit_many, periodic, Neyman and fixed
    shift included) has the Jacobian of its residuals."""
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=2.0, tail_ns=0.1)
    sds = [
        simulate_decay(
            (0.3, 0.4, 0.3),
            (0.5, 2.5, 10.0),
            signal_counts=1e5,
            background=1.0,
            n_bins=256,
            bin_width_ns=0.05,
            irf=irf,
            seed=50 + i,
            period_ns=period,
            irf_counts=1e5 if i == 0 else None,
        )
        for i in range(3)
    ]
    f = ReconvolutionFitter(
        sds[0].time_ns,
        irf=sds[0].irf_counts,
        components=3,
        statistic=statistic,
        period_ns=period,
        fix_shift_ns=fixed,
    )
    Y = np.array([s.counts for s in sds])[:, 20:256]
    th = np.array([[0.45, 2.2, 9.0, 0.037 if fixed is None else fixed]] * 3)
    nth = 3 if fixed is not None else 4
    J = _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20).evaluate(np.array([1, 2]), th[1:]).J
    for j in range(nth):
        e = np.zeros_like(th)
        e[:, j] = 1e-6 * (th[:, j] if j < 3 else 1.0)
        rp = (
            _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20)
            .evaluate(np.array([1, 2]), (th + e)[1:])
            .r
        )
        rm = (
            _Stack(f, f._geo, Y, np.ones(Y.shape, bool), 20)
            .evaluate(np.array([1, 2]), (th - e)[1:])
            .r
        )
        num = (rp - rm) / (2 * e[1:, j : j + 1])
        tol = 1e-4 if statistic == "poisson" else 1e-6
        assert np.max(np.abs(J[:, :, j] - num)) <= tol * np.max(np.abs(num))


@pytest.mark.parametrize(
    "statistic, period, fixed",
    [("poisson", 30.0, None), ("neyman", None, None), ("poisson", None, 0.02)],
)
def test_batch_solver_gradient_and_gauss_newton_matrix(statistic, period, fixed):
    """The batch solver's gradient of its objective (half the Poisson deviance up to a constant,
    or half the Neyman chi2) equals central finite differences of that objective, and its
    Gauss-Newton matrix equals J^T diag(1/m) J (Neyman: J^T W J) with J = dm/dx by finite
    differences of the model; on windows of different lengths (a mask), periodic and fixed shift
    included."""
    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=2.0, tail_ns=0.1)
    sds = [
        simulate_decay(
            (0.3, 0.4, 0.3),
            (0.5, 2.5, 10.0),
            signal_counts=1e5,
            background=1.0,
            n_bins=256,
            bin_width_ns=0.05,
            irf=irf,
            seed=50 + i,
            period_ns=period,
            irf_counts=1e5 if i == 0 else None,
        )
        for i in range(3)
    ]
    f = ReconvolutionFitter(
        sds[0].time_ns,
        irf=sds[0].irf_counts,
        components=3,
        statistic=statistic,
        period_ns=period,
        fix_shift_ns=fixed,
    )
    Y = np.array([s.counts for s in sds])[:, 20:256]
    mask = np.ones(Y.shape, bool)
    mask[1, 200:] = False
    Y = np.where(mask, Y, 0.0)
    W = np.where(mask, 1.0 / np.maximum(Y, 1.0), 0.0)
    ch = _Chunk(f, f._geo, Y, mask, W, 20, np.full(3, 0.005), np.full(3, 100.0))
    nth = 3 if fixed is not None else 4
    x0 = [np.log(0.45), np.log(2.2), np.log(9.0)] + ([0.037] if fixed is None else [])
    x = np.array([x0 + [3e4, 1e4, 3e3, 1.2]] * 3)
    rows = np.arange(3)
    ev, A, g, fv = ch.evaluate(x, rows)
    steps = np.array([1e-6] * nth + [1e-3, 1e-3, 1e-3, 1e-5])
    Jn = np.empty((3, x.shape[1], Y.shape[1]))
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = steps[j]
        evp, _, _, fp = ch.evaluate(x + e, rows)
        evm, _, _, fm = ch.evaluate(x - e, rows)
        num = (fp - fm) / (2 * steps[j])
        assert np.allclose(g[:, j], num, rtol=1e-5, atol=1e-6 * np.abs(g).max()), j
        Jn[:, j] = (evp.m - evm.m) / (2 * steps[j])
    w = np.where(mask, 1.0 / np.where(mask, ev.m, 1.0), 0.0) if statistic == "poisson" else W
    An = (Jn * w[:, None, :]) @ Jn.transpose(0, 2, 1)
    assert np.allclose(A, An, rtol=1e-5, atol=1e-7 * np.abs(An).max())
