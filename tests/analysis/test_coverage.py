"""Monolayer coverage from OD: Beer-Lambert with the CsPbBr3 cross section of Maes et al. 2018."""

from __future__ import annotations

import math

import pytest

from qdstack.analysis.coverage import (
    CSPBBR3_MU_I_3P1EV_PER_CM,
    cross_section_3p1eV_cm2,
    monolayer_coverage,
)
from qdstack.errors import OptionError


def test_a_close_packed_layer_round_trips():
    # build the OD of exactly one close-packed layer by hand, then read it back
    edge, shell = 6.8, 0.6
    pitch_cm = (edge + 2 * shell) * 1e-7
    n_cm2 = 1 / pitch_cm**2
    sigma = CSPBBR3_MU_I_3P1EV_PER_CM * (edge * 1e-7) ** 3
    od_31 = n_cm2 * sigma / math.log(10)
    r = monolayer_coverage(od_31, edge, shell_nm=shell, od_at="3.1eV")
    assert r.coverage_fraction == pytest.approx(1.0, rel=1e-12)
    assert r.dots_per_um2 == pytest.approx(n_cm2 * 1e-8, rel=1e-12)
    # the same layer read at the first peak with its OD ratio
    r2 = monolayer_coverage(0.4 * od_31, edge, shell_nm=shell, od_ratio=0.4)
    assert r2.coverage_fraction == pytest.approx(1.0, rel=1e-12)
    r3 = monolayer_coverage(0.4 * od_31, edge, shell_nm=shell, od_3p1eV=od_31)
    assert r3.coverage_fraction == pytest.approx(1.0, rel=1e-12)
    # two coated faces share the OD
    assert monolayer_coverage(
        od_31, edge, shell_nm=shell, od_at="3.1eV", sides=2
    ).coverage_fraction == pytest.approx(0.5, rel=1e-12)


def test_cross_section_scales_with_volume():
    assert cross_section_3p1eV_cm2(8.0) / cross_section_3p1eV_cm2(4.0) == pytest.approx(8.0)
    # 6.8 nm cube: 1.25e5 cm^-1 x (6.8e-7 cm)^3 = 3.93e-14 cm^2
    assert cross_section_3p1eV_cm2(6.8) == pytest.approx(3.930e-14, rel=1e-3)


def test_errors_combine_in_quadrature():
    r = monolayer_coverage(0.01, 6.8, od_err=0.001, od_at="3.1eV", edge_err_nm=0.0)
    assert r.dots_per_um2_err / r.dots_per_um2 == pytest.approx(math.hypot(0.1, 0.3), rel=1e-9)
    r = monolayer_coverage(0.01, 6.8, od_at="3.1eV", cross_section_cm2=4e-14)
    assert r.dots_per_um2_err == 0.0 and r.cross_section_source == "given by the user"


def test_first_peak_without_a_ratio_is_refused():
    with pytest.raises(OptionError, match="3.1 eV"):
        monolayer_coverage(0.01, 6.8)


def test_outside_the_measured_sizes_warns():
    assert any("outside" in w for w in monolayer_coverage(0.01, 14.0, od_at="3.1eV").warnings)
    with pytest.raises(OptionError):
        monolayer_coverage(-0.01, 6.8, od_at="3.1eV")
