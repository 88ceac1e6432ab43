"""Dip-coating law (Faustini et al. 2010) fitted to synthetic tables with known coefficients."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.analysis.dipcoat import coating_law, fit_dipcoat, fit_trend, minimum_speed
from qdstack.errors import FitError, InputError
from qdstack.synthetic.dipcoat import coating_amount, dipcoat_table

C, D = 0.004, 0.02  # true coefficients; minimum at (3C/2D)^(3/5) = 0.486 mm/s
SPEEDS = np.geomspace(0.01, 10, 12)


def test_minimum_speed_is_where_the_derivative_vanishes():
    u = minimum_speed(C, D)
    h = 1e-6 * u
    assert (coating_law(u + h, C, D) - coating_law(u - h, C, D)) / (2 * h) == pytest.approx(
        0, abs=1e-8
    )
    assert np.all(coating_amount(np.geomspace(0.01, 10, 50), C, D) >= coating_law(u, C, D) - 1e-15)


def test_parameters_recovered_within_their_errors():
    pulls = []
    for seed in range(50):
        u, y, e = dipcoat_table(SPEEDS, C, D, rel_noise=0.03, seed=seed)
        f = fit_dipcoat(u, y, e)
        pulls.append(
            [
                (f.capillary_coef - C) / f.capillary_coef_err,
                (f.draining_coef - D) / f.draining_coef_err,
            ]
        )
        assert f.branch == "both"
    p = np.array(pulls)
    assert np.all(np.abs(p.mean(axis=0)) < 0.45)
    assert np.all((p.std(axis=0) > 0.7) & (p.std(axis=0) < 1.35))


def test_regimes_minimum_and_inverse():
    u, y, e = dipcoat_table(SPEEDS, C, D, rel_noise=0.02, seed=3)
    f = fit_dipcoat(u, y, e, target=0.05)
    truth = minimum_speed(C, D)
    assert abs(f.minimum_speed_mm_per_s - truth) < 3 * f.minimum_speed_mm_per_s_err
    assert list(f.regimes) == [
        "capillary" if v < f.minimum_speed_mm_per_s else "draining" for v in u
    ]
    # at the minimum c/U = (2/3) d U^(2/3), so y_min = (5/3) d U_min^(2/3)
    assert f.minimum_amount == pytest.approx(
        5 / 3 * f.draining_coef * f.minimum_speed_mm_per_s ** (2 / 3), rel=1e-9
    )
    assert [s["branch"] for s in f.solutions] == ["capillary", "draining"]
    for s in f.solutions:
        true_u = s["speed_mm_per_s"]
        assert coating_law(true_u, f.capillary_coef, f.draining_coef) == pytest.approx(
            0.05, rel=1e-9
        )
        lo, hi = s["interval95_mm_per_s"]
        assert lo < true_u < hi
    # the true speeds for OD 0.05 lie inside the 95 % intervals
    from scipy.optimize import brentq

    true = [
        brentq(lambda v: coating_amount(v, C, D) - 0.05, 1e-3, truth),
        brentq(lambda v: coating_amount(v, C, D) - 0.05, truth, 100),
    ]
    for s, t in zip(f.solutions, true):
        assert s["interval95_mm_per_s"][0] < t < s["interval95_mm_per_s"][1]
    d = f.to_dict()
    assert d["speed_for_target_mm_per_s"] == [s["speed_mm_per_s"] for s in f.solutions]


def test_target_below_the_minimum_has_no_speed():
    u, y, e = dipcoat_table(SPEEDS, C, D, seed=1)
    f = fit_dipcoat(u, y, e, target=0.01)
    assert f.solutions == () and f.to_dict()["speed_for_target_mm_per_s"] is None
    assert any("no speed" in w for w in f.warnings)


@pytest.mark.parametrize(
    "speeds, branch",
    [(np.geomspace(1.5, 10, 8), "draining"), (np.geomspace(0.005, 0.15, 8), "capillary")],
)
def test_all_points_on_one_branch_invent_no_minimum(speeds, branch):
    u, y, e = dipcoat_table(speeds, C, D, rel_noise=0.03, seed=2)
    f = fit_dipcoat(u, y, e, target=0.05)
    assert f.minimum_speed_mm_per_s is None and f.to_dict()["minimum_speed_mm_per_s"] is None
    assert f.branch == branch and set(f.regimes) == {branch}
    assert any(branch in w and "not determined" in w for w in f.warnings)
    assert all(s["branch"] == branch for s in f.solutions)


def test_pure_draining_law_leaves_the_capillary_term_unresolved():
    u = np.geomspace(0.5, 10, 8)
    y = coating_amount(u, 0.0, D) * (1 + 0.02 * np.random.default_rng(0).normal(size=u.size))
    f = fit_dipcoat(u, y)
    assert f.branch == "draining" and f.minimum_speed_mm_per_s is None


def test_bad_tables():
    with pytest.raises(InputError, match="at least 3"):
        fit_dipcoat([1, 2], [0.1, 0.2])
    with pytest.raises(InputError, match="positive"):
        fit_dipcoat([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(FitError):
        fit_dipcoat([1, 2, 3, 4], [0.0, 0.0, 0.0, 0.0])


def test_additive_trend_is_empirical_and_inverted_in_range():
    x = np.linspace(0, 0.5, 6)
    truth = 0.01 + 0.13 * x - 0.2 * x**2
    y = truth * (1 + 0.01 * np.random.default_rng(1).normal(size=x.size))
    f = fit_trend(x, y, x_column="diglyme_fraction", target=0.02)
    assert f.degree == 2
    assert f.x_at_maximum == pytest.approx(0.325, abs=0.03)
    assert len(f.x_for_target) == 1 and f.x_for_target[0] == pytest.approx(0.0878, abs=0.01)
    assert fit_trend(x, y, x_column="f", target=1.0).x_for_target == ()


def test_result_interface():
    from qdstack.analysis import DipcoatFit, fit_dipcoat as public_fit

    u, y, e = dipcoat_table(SPEEDS, C, D, seed=9)
    f = public_fit(u, y, e, target=0.05)
    assert isinstance(f, DipcoatFit)
    text = f.summary()
    assert "capillary_coef" in text and "draining" in text
    assert f.plot().axes and f.covariance["names"] == ["capillary_coef", "draining_coef"]
    assert '"speed_for_target_mm_per_s"' in f.to_json()
