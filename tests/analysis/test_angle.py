"""Angle-dependent PL: optics kernels against closed forms, and the models on synthetic series.

The synthetic series (:func:`qdstack.synthetic.angle_pl_series`) compute the dipole patterns
numerically (field projection on s/p, Fresnel *amplitude* coefficients, azimuthal average) and
re-absorption by integrating over depth -- an independent route from the closed forms fitted here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.analysis.angle import (
    analyse_angle_series,
    dipole_emission,
    escape_fraction,
    fresnel_power_transmittance,
    internal_angle_rad,
    op_ip_ratio,
)
from qdstack.errors import InputError
from qdstack.io.spectrum import Spectrum
from qdstack.synthetic import angle_pl_series, dipole_pattern_numeric

ANGLES = (0, 15, 30, 45, 60, 75)


def test_fresnel_closed_forms():
    n = 1.8
    ts, tp = fresnel_power_transmittance(0.0, n, 1.0)
    assert ts == pytest.approx(4 * n / (n + 1) ** 2) and tp == pytest.approx(ts)
    brewster = math.atan(1.0 / n)  # inside the film, towards air
    assert fresnel_power_transmittance(brewster, n, 1.0)[1] == pytest.approx(1.0)
    with pytest.raises(InputError):
        fresnel_power_transmittance(math.asin(1 / n) + 0.01, n, 1.0)


def test_dipole_patterns_without_an_interface():
    """n = 1: no refraction, T = 1: in-plane (1 + cos^2)/2, out-of-plane sin^2 (azimuth-averaged dipoles)."""
    th = np.array([0.0, 20.0, 45.0, 70.0, 89.0])
    w_ip, w_op = dipole_emission(th, 1.0 + 1e-12)
    np.testing.assert_allclose(w_ip, (1 + np.cos(np.deg2rad(th)) ** 2) / 2, rtol=1e-8)
    np.testing.assert_allclose(w_op, np.sin(np.deg2rad(th)) ** 2, atol=1e-8)


def test_closed_form_matches_the_numerical_route():
    th = np.linspace(0, 85, 18)
    for n in (1.5, 1.8, 2.3):
        a, b = dipole_emission(th, n)
        c, d = dipole_pattern_numeric(th, n)
        np.testing.assert_allclose(a, c, rtol=1e-10)
        np.testing.assert_allclose(b, d, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(op_ip_ratio(th, n), d / c, rtol=1e-10, atol=1e-15)
    assert op_ip_ratio(0.0, 1.8) == 0.0
    assert math.degrees(float(internal_angle_rad(90.0, 2.0))) == pytest.approx(30.0)


def test_escape_fraction_limits():
    assert escape_fraction(0.0) == 1.0
    assert escape_fraction(1e-8) == pytest.approx(1.0)
    assert escape_fraction(1.0) == pytest.approx(1 - math.exp(-1))
    assert escape_fraction(50.0) == pytest.approx(1 / 50)
    z = (np.arange(20000) + 0.5) / 20000
    assert escape_fraction(2.0) == pytest.approx(np.mean(np.exp(-2.0 * z)), rel=1e-6)


def _series(mechanism, seed, angles=ANGLES, **kw):
    s = angle_pl_series(angles, mechanism=mechanism, seed=seed, **kw)
    spectra = [Spectrum.from_xy(s.wavelength_nm, c, "nm", kind="emission") for c in s.counts]
    return s, analyse_angle_series(spectra, s.angles_deg)


def test_anisotropic_emission_identified_and_recovered():
    s, r = _series("anisotropic", 1, fraction=0.3, offset_meV=25.0)
    assert r.model.name == "anisotropic-emission"
    assert sorted(r.delta_bic.values())[1] > 100 and r.evidence == "very strong"
    p = r.model.params
    assert p["fraction"] == pytest.approx(0.3, abs=max(0.03, 3 * p["fraction_err"]))
    assert p["offset_meV"] == pytest.approx(25.0, abs=max(2.0, 3 * p["offset_meV_err"]))
    assert r.shift_meV[0] == 0.0 and r.shift_meV[-1] < -2.0  # lower energy towards the plane
    np.testing.assert_allclose(r.model.predicted_shift_meV, r.shift_meV, atol=0.6)
    assert r.fwhm_meV[-1] > r.fwhm_meV[0]  # the red side grows
    assert 0.8 < r.model.chi2_reduced < 2.0


def test_reabsorption_identified_and_recovered():
    s, r = _series("reabsorption", 2, tau=0.5)
    assert r.model.name == "reabsorption"
    assert sorted(r.delta_bic.values())[1] > 30
    # tau is defined at the measured peak of the normal spectrum: tau_true exp((E_ref - E0) / E_U)
    expected = 0.5 * math.exp((r.peak_eV[0] - 2.44) / 0.020)
    p = r.model.params
    assert p["tau"] == pytest.approx(expected, abs=max(0.05, 3 * p["tau_err"]))
    assert r.shift_meV[-1] < 0


def test_isotropic_series_prefers_no_model():
    s, r = _series("isotropic", 3)
    assert r.model.name == "isotropic"
    assert sorted(r.delta_bic.values())[1] > 2
    assert all(abs(x) < 0.3 for x in r.shift_meV)
    assert r.model.to_dict()["name"] == "isotropic"


def test_sub_meV_shifts_are_still_told_apart():
    """Shifts below 1 meV at 1e4 counts, five angles, an asymmetric band (12 of 12 such series were
    attributed correctly in a survey of seeds; at 3e3 counts 23 of 24 -- see the module docstring)."""
    five = (0, 15, 30, 45, 60)
    _, a = _series(
        "anisotropic",
        50,
        angles=five,
        counts_peak=10000,
        shape="asymmetric",
        fraction=0.15,
        offset_meV=15.0,
    )
    _, b = _series("reabsorption", 51, angles=five, counts_peak=10000, shape="asymmetric", tau=0.2)
    assert abs(a.shift_meV[-1]) < 1 and abs(b.shift_meV[-1]) < 1
    assert a.model.name == "anisotropic-emission" and a.delta_bic["reabsorption"] > 10
    assert b.model.name == "reabsorption" and b.delta_bic["anisotropic-emission"] > 10


def test_contract_keys_order_and_bad_input():
    s = angle_pl_series((30, 0, 15), mechanism="isotropic", seed=4)
    spectra = [Spectrum.from_xy(s.wavelength_nm, c, "nm", kind="emission") for c in s.counts]
    r = analyse_angle_series(spectra, s.angles_deg, files=["a", "b", "c"])
    d = r.to_dict()
    assert d["angles_deg"] == [0.0, 15.0, 30.0] and d["files"] == ["b", "c", "a"]
    for key in ("angles_deg", "peak_eV", "fwhm_meV", "intensity", "shift_meV", "model"):
        assert len(d[key]) == 3 or key == "model"
    assert {"name", "aic", "bic"} <= set(d["model"])
    assert {m["name"] for m in d["models"]} == {"isotropic", "anisotropic-emission", "reabsorption"}
    with pytest.raises(InputError, match="angles"):
        analyse_angle_series(spectra, [0, 15])
    with pytest.raises(InputError, match="between -90 and 90"):
        analyse_angle_series(spectra, [0, 15, 95])
    with pytest.raises(InputError, match="index"):
        analyse_angle_series(spectra, [0, 15, 30], n_film=0.9)


def test_a_spectrum_without_a_peak_is_left_out():
    s = angle_pl_series(
        (0, 20, 40, 60), mechanism="anisotropic", fraction=0.3, offset_meV=25.0, seed=21
    )
    spectra = [Spectrum.from_xy(s.wavelength_nm, c, "nm", kind="emission") for c in s.counts]
    flat = np.random.default_rng(0).poisson(50, s.wavelength_nm.size).astype(float)
    spectra[2] = Spectrum.from_xy(s.wavelength_nm, flat, "nm", kind="emission", source="dark.csv")
    r = analyse_angle_series(spectra, s.angles_deg)
    assert math.isnan(r.peak_eV[2]) and math.isnan(r.shift_meV[2])
    assert any("no PL peak measured" in w for w in r.warnings)
    assert r.model_spectra.shape[0] == 3
    assert r.model.name == "anisotropic-emission"
    assert len(r.model.predicted_shift_meV) == 4


def test_per_angle_errors_match_the_scatter():
    """pl_peak's errors of peak, FWHM and intensity against 30 shot-noise-limited spectra (ratio 0.6-1.6)."""
    from qdstack.analysis.pl import pl_peak

    vals, errs = [], []
    for seed in range(30):
        s = angle_pl_series((0,), mechanism="isotropic", counts_peak=20000, seed=300 + seed)
        sp = Spectrum.from_xy(s.wavelength_nm, s.counts[0], "nm", kind="emission")
        p = pl_peak(sp.energy_eV, sp.intensity)
        vals.append((p.peak_eV, p.fwhm_meV, p.intensity))
        errs.append((p.peak_eV_err, p.fwhm_meV_err, p.intensity_err))
    ratio = np.std(vals, axis=0, ddof=1) / np.mean(errs, axis=0)
    assert np.all((ratio > 0.6) & (ratio < 1.6)), ratio
