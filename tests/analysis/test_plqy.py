"""PLQY by the de Mello three-measurement method on synthetic sphere spectra with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.analysis.plqy import SphereSpectrum, de_mello_plqy
from qdstack.errors import FitError, InputError, OptionError
from qdstack.synthetic.plqy import sphere_photon_numbers, sphere_spectra


def _run(syn, response=True, **kw):
    x = syn.wavelength_nm
    spectra = [
        SphereSpectrum(x, y, "nm", name)
        for y, name in ((syn.empty, "A"), (syn.out_of_beam, "B"), (syn.in_beam, "C"))
    ]
    resp = (x, syn.correction, "response") if response else None
    return de_mello_plqy(*spectra, response=resp, **kw)


def test_photon_bookkeeping_gives_phi_by_hand():
    # the de Mello formula applied by hand to the generator's photon numbers returns phi exactly
    ph = sphere_photon_numbers(1.0, 0.7, 0.25, 0.1)
    a = 1 - ph["L_C"] / ph["L_B"]
    assert a == pytest.approx(0.25, rel=1e-12)
    assert (ph["P_C"] - (1 - a) * ph["P_B"]) / (ph["L_A"] * a) == pytest.approx(0.7, rel=1e-12)


@pytest.mark.parametrize("phi, a, mu", [(0.8, 0.3, 0.05), (0.3, 0.6, 0.15), (0.95, 0.1, 0.0)])
def test_noise_free_spectra_recover_the_truth(phi, a, mu):
    r = _run(sphere_spectra(phi, a, mu, noise=False))
    # residual bias: emission tails beyond the 0.5 %-of-peak window and in the dark-level region
    assert r.plqy == pytest.approx(phi, rel=5e-4)
    assert r.absorptance == pytest.approx(a, abs=1e-4)
    assert r.indirect_absorptance == pytest.approx(mu, abs=1e-4)
    assert r.laser_window_nm[0] < 405 < r.laser_window_nm[1]
    assert r.emission_window_nm[0] > r.laser_window_nm[1]
    assert r.emission_window_nm[0] < 514.5 < r.emission_window_nm[1]


def test_without_the_response_correction_the_plqy_is_wrong():
    # the generator's detector is less sensitive at the laser (405 nm) than at the emission: a check that can fail
    syn = sphere_spectra(0.8, 0.3, 0.05, noise=False)
    assert _run(syn, response=False).plqy > 1.2


def test_errors_are_calibrated_on_noisy_spectra():
    """Pulls (estimate - truth) / error over 60 noise draws: mean ~ 0, sd ~ 1."""
    pulls = []
    for seed in range(60):
        r = _run(sphere_spectra(0.8, 0.3, 0.05, seed=seed))
        pulls.append([(r.plqy - 0.8) / r.plqy_err, (r.absorptance - 0.3) / r.absorptance_err])
    p = np.array(pulls)
    assert np.all(
        np.abs(p.mean(axis=0)) < 0.45
    )  # 3 sigma of a 60-draw mean is 0.39 (+ the small bias)
    assert np.all((p.std(axis=0) > 0.7) & (p.std(axis=0) < 1.35))


def test_two_measurement_shortcut_agrees_without_indirect_absorption():
    # mu = 0: B equals A (no indirect term), both formulas give the same PLQY and absorptance
    r = _run(sphere_spectra(0.6, 0.4, 0.0, noise=False))
    assert r.plqy_two_measurement == pytest.approx(r.plqy, rel=1e-9)
    assert r.absorptance_two_measurement == pytest.approx(r.absorptance, rel=1e-6)
    noisy = _run(sphere_spectra(0.6, 0.4, 0.0, seed=4))
    assert abs(noisy.plqy_two_measurement - noisy.plqy) < 3 * noisy.plqy_err


def test_two_measurement_absorptance_counts_the_indirect_part():
    # with mu > 0 the shortcut's absorptance is a + mu - a mu, not a: the check can tell them apart
    r = _run(sphere_spectra(0.6, 0.4, 0.2, noise=False))
    assert r.absorptance == pytest.approx(0.4, abs=1e-4)
    assert r.absorptance_two_measurement == pytest.approx(0.4 + 0.2 - 0.08, abs=1e-4)


def test_window_overrides_are_used():
    syn = sphere_spectra(0.8, 0.3, 0.05, noise=False)
    r = _run(syn, laser_window_nm=(400.0, 410.0), emission_window_nm=(470.0, 580.0))
    assert r.laser_window_nm == (400.0, 410.0) and r.emission_window_nm == (470.0, 580.0)
    assert r.plqy == pytest.approx(0.8, rel=1e-3)
    with pytest.raises(OptionError, match="overlaps"):
        _run(syn, laser_window_nm=(400.0, 480.0), emission_window_nm=(470.0, 580.0))


def test_different_grids_are_refused():
    syn = sphere_spectra(0.8, 0.3, 0.05, noise=False)
    x = syn.wavelength_nm
    a = SphereSpectrum(x, syn.empty, "nm", "A.csv")
    b = SphereSpectrum(x, syn.out_of_beam, "nm", "B.csv")
    c = SphereSpectrum(x + 0.1, syn.in_beam, "nm", "C.csv")
    with pytest.raises(InputError, match="different grids") as info:
        de_mello_plqy(a, b, c)
    assert info.value.source == "C.csv"
    with pytest.raises(InputError, match="different grids"):
        de_mello_plqy(a, b, SphereSpectrum(x[:-5], syn.in_beam[:-5], "nm", "C.csv"))


def test_no_absorption_is_an_error():
    syn = sphere_spectra(0.8, 0.0, 0.0, seed=1)
    with pytest.raises((FitError, InputError)):
        _run(syn)


def test_no_laser_line_is_an_error():
    syn = sphere_spectra(0.8, 0.3, 0.05, noise=False)
    x = syn.wavelength_nm
    flat = SphereSpectrum(x, np.full(x.size, 200.0) + np.sin(x), "nm", "A.csv")
    with pytest.raises(InputError, match="no laser line"):
        de_mello_plqy(
            flat,
            SphereSpectrum(x, syn.out_of_beam, "nm", "B"),
            SphereSpectrum(x, syn.in_beam, "nm", "C"),
        )


def test_result_interface():
    r = _run(sphere_spectra(0.8, 0.3, 0.05, seed=3))
    assert "PLQY" in r.summary() and "laser window" in r.summary()
    fig = r.plot()
    assert len(fig.axes) == 2
    assert '"plqy"' in r.to_json()
