"""Film period and thickness: the paper's numbers (Chem. Sci. 2024, 15, 13049, Fig. S4 and XRD text)."""

from __future__ import annotations

import math

import pytest

from qdstack.analysis.thickness import film_period_nm, film_thickness
from qdstack.linkers import linker_gap_nm
from qdstack.errors import InputError


def test_paper_thickness_and_z_score():
    """N = 20, L = 6.8 nm, C3DT 0.55 nm: 7.35 nm period, 147 nm vs 130 +- 10 nm by SEM."""
    r = film_thickness(20, 6.8, 0.55, measured_nm=130, measured_err_nm=10)
    assert r.period_nm == pytest.approx(7.35)
    assert r.thickness_nm == pytest.approx(147.0)
    assert r.z_score == pytest.approx(1.7)  # no size spread given: only the SEM error counts
    assert abs(r.z_score) < 2  # the paper's "in agreement"
    d = r.to_dict()
    for key in (
        "period_nm",
        "period_nm_err",
        "thickness_nm",
        "thickness_nm_err",
        "gap_nm",
        "measured_nm",
        "z_score",
    ):
        assert key in d


def test_paper_periods():
    assert film_period_nm(6.8, 0.55) == pytest.approx(7.35)  # C3DT
    assert film_period_nm(6.8, 1.46) == pytest.approx(8.26)  # C10DT


def test_size_spread_propagation():
    s, n = 0.5, 20
    col = film_thickness(n, 6.8, 0.55, edge_sd_nm=s, measured_nm=130, measured_err_nm=10)
    assert col.thickness_nm_err == pytest.approx(math.sqrt(n) * s)
    assert col.period_nm_err == pytest.approx(col.thickness_nm_err / n)
    assert col.period_spread_nm == pytest.approx(s)
    assert col.z_score == pytest.approx(17 / math.hypot(10, math.sqrt(n) * s))
    avg = film_thickness(n, 6.8, 0.55, edge_sd_nm=s, columns=100)
    assert avg.thickness_nm_err == pytest.approx(math.sqrt(n / 100) * s)
    sys_ = film_thickness(n, 6.8, 0.55, edge_sd_nm=s, propagation="systematic", gap_err_nm=0.05)
    assert sys_.thickness_nm_err == pytest.approx(math.hypot(n * s, n * 0.05))
    gap_only = film_thickness(n, 6.8, 0.55, gap_err_nm=0.05)
    assert gap_only.thickness_nm_err == pytest.approx(n * 0.05)  # the gap error is systematic


def test_no_errors_anywhere_gives_no_z():
    r = film_thickness(10, 6.8, 0.55, measured_nm=70)
    assert r.z_score is None and r.difference_nm == pytest.approx(3.5)
    assert any("z-score not computed" in w for w in r.warnings)


@pytest.mark.parametrize(
    "args, kwargs, source",
    [
        ((0, 6.8, 0.55), {}, "--layers"),
        ((2.5, 6.8, 0.55), {}, "--layers"),
        ((20, -1, 0.55), {}, "--edge-nm"),
        ((20, 6.8, -0.1), {}, "--gap-nm"),
        ((20, 6.8, 0.55), {"edge_sd_nm": float("nan")}, "--edge-sd-nm"),
        ((20, 6.8, 0.55), {"propagation": "quadrature"}, "--propagation"),
        ((20, 6.8, 0.55), {"columns": 0}, "--columns"),
        ((20, 6.8, 0.55), {"measured_err_nm": 3}, "--measured-err-nm"),
    ],
)
def test_bad_input(args, kwargs, source):
    with pytest.raises(InputError) as exc:
        film_thickness(*args, **kwargs)
    assert exc.value.source == source


@pytest.mark.parametrize("name, gap, period", [("C3DT", 0.55, 7.35), ("C10DT", 1.45, 8.25)])
def test_linker_gaps_give_the_paper_periods(name, gap, period):
    d = linker_gap_nm(name)
    assert d == pytest.approx(gap, abs=0.02)  # paper: C3DT 0.55 nm, C10DT 1.46 nm
    assert film_period_nm(6.8, d) == pytest.approx(period, abs=0.02)


def test_unknown_linker_is_an_input_error():
    with pytest.raises(InputError):
        linker_gap_nm("C99DT-not-a-linker")


def test_plot_is_n_times_the_period_with_the_measurement():
    r = film_thickness(20, 6.8, 0.55, edge_sd_nm=0.5, measured_nm=130, measured_err_nm=10)
    ax = r.plot().axes[0]
    n, t = ax.lines[0].get_data()
    assert list(n) == list(range(1, 31))
    assert t == pytest.approx([k * 7.35 for k in n], rel=1e-12)  # T = N (L + D), by hand
    band = ax.collections[0].get_paths()[0].vertices
    upper_at_20 = band[(band[:, 0] == 20) & (band[:, 1] > 147.0), 1]
    assert upper_at_20 == pytest.approx([147.0 + r.thickness_nm_err])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("measured 130 nm (z = ") for s in texts)
