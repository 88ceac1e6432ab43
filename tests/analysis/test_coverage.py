"""Monolayer coverage from OD: Beer-Lambert with the CsPbBr3 cross section of Maes et al. 2018."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from qdstack.analysis.coverage import (
    CSPBBR3_MU_I_3P1EV_PER_CM,
    coverage_from_spectrum,
    cross_section_3p1eV_cm2,
    monolayer_coverage,
)
from qdstack.errors import InputError, OptionError


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


# ----------------------------------------------------------------------------- from a spectrum

SPECTRUM = Path(__file__).resolve().parents[2] / "examples" / "absorption_c3dt" / "C3DT_N1.csv"


def _od_at_400nm_from_the_file() -> float:
    # the file itself, parsed here (header lines, then "wavelength,OD" rows)
    for line in SPECTRUM.read_text().splitlines():
        parts = line.split(",")
        if len(parts) == 2 and parts[0].strip() == "400.0":
            return float(parts[1])
    raise AssertionError("no 400.0 nm row")


def test_coverage_from_spectrum_reads_both_ods_and_keeps_the_spectrum():
    r = coverage_from_spectrum(SPECTRUM, 6.8, edge_err_nm=0.5, shell_nm=0.5, sides=2)
    assert r.od_3p1eV_read == pytest.approx(_od_at_400nm_from_the_file(), rel=1e-9)
    # the first-peak OD of this file, as docs/guide/coverage.md prints it (0.022715)
    assert r.od == pytest.approx(0.022715, rel=1e-4)
    assert r.od_ratio_first_peak_to_3p1eV == pytest.approx(r.od / r.od_3p1eV_read, rel=1e-12)
    # the same numbers through monolayer_coverage with the two ODs given by hand
    by_hand = monolayer_coverage(
        r.od, 6.8, edge_err_nm=0.5, shell_nm=0.5, sides=2, od_3p1eV=r.od_3p1eV_read
    )
    assert r.coverage_fraction == pytest.approx(by_hand.coverage_fraction, rel=1e-9)
    assert r.spectrum is not None and r.peak is not None
    d = r.to_dict()
    assert list(d)[-2:] == ["warnings", "od_ratio_source"]
    assert "400 nm" in d["od_ratio_source"] and "od_ratio_source" not in by_hand.to_dict()


def test_coverage_from_spectrum_that_misses_400_nm_is_refused(tmp_path):
    f = tmp_path / "short.csv"
    f.write_text("nm,od\n" + "".join(f"{w},{0.01 + 0.001 * (600 - w)}\n" for w in range(450, 601)))
    with pytest.raises(InputError, match="not 400 nm"):
        coverage_from_spectrum(f, 6.8)


def test_plot_shows_the_two_readings_of_the_spectrum():
    r = coverage_from_spectrum(SPECTRUM, 6.8, shell_nm=0.5)
    fig = r.plot()
    ax = fig.axes[0]
    points = {
        tuple(np.round(line.get_xydata()[0], 6)) for line in ax.lines if len(line.get_xdata()) == 1
    }
    assert (400.0, round(_od_at_400nm_from_the_file(), 6)) in points
    assert (round(r.peak.peak_nm, 6), round(r.od, 6)) in points


def test_plot_without_spectrum_is_coverage_vs_edge_with_the_analytic_scaling():
    edge, shell = 6.8, 0.5
    r = monolayer_coverage(0.02, edge, shell_nm=shell, od_at="3.1eV", edge_err_nm=0.4)
    ax = r.plot().axes[0]
    x, y = ax.lines[0].get_data()
    i = int(np.argmin(np.abs(x - edge)))
    assert x[i] == pytest.approx(edge) and y[i] == pytest.approx(r.coverage_fraction, rel=1e-12)
    # sigma ~ L^3 and the close-packed density ~ (L + 2s)^-2: coverage ~ L^-3 (L + 2s)^2
    expect = r.coverage_fraction * (edge / x) ** 3 * ((x + 2 * shell) / (edge + 2 * shell)) ** 2
    assert np.allclose(y, expect, rtol=1e-12)
