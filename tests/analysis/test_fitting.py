"""No fit creates a zero-width ``uncertainties`` value (issue 16, item 1).

The first test run of a fresh clone failed with ``UserWarning: Using UFloat objects with
std_dev==0`` (uncertainties, via lmfit's ``create_uvars``, from ``simulate_film`` ->
``first_excitonic_peak``), raised by ``filterwarnings = error``, and did not recur.

The trigger: lmfit gives every fixed parameter (the absorption background's reference energy
``bg_e_ref``, the PL background level) and every derived one (``fwhm``/``height`` of
``GaussianModel`` and friends) a standard error of exactly 0 and wraps it in
``ufloat(value, 0)``, silencing the warning with ``warnings.catch_warnings()``.  That context
manager swaps the process-wide filter list and is not thread-safe: the film model runs its films
as dask tasks in threads, and one thread leaving its ``catch_warnings`` block restores the filter
list under another thread's fit, which then sees the warning unsilenced.  Timing decides, hence
"did not recur".

The fix makes the warning impossible instead of racing to silence it: the fits of
``first_excitonic_peak`` and ``pl_peak`` (what the film model runs in threads) have every
parameter varied and none derived, so lmfit never builds a zero-width value.  The tests spy on
lmfit's ``ufloat`` (deterministic, where the race is not) and re-run the fits with lmfit's own
silencing disabled, as the other thread leaves it.
"""

from __future__ import annotations

import contextlib
import types
import warnings

import numpy as np
import pytest

from qdstack.analysis.absorption import first_excitonic_peak
from qdstack.analysis.pl import pl_peak
from qdstack.synthetic.absorption import absorption_film_spectrum
from qdstack.units import HC_EV_NM


@pytest.fixture
def zero_width_ufloats(monkeypatch):
    """Every ``ufloat(value, 0)`` lmfit creates during the test, with lmfit's silencing switched off."""
    import lmfit.parameter

    made = []
    real = lmfit.parameter.ufloat

    def spy(value, std_dev, *args, **kwargs):
        if std_dev == 0:
            made.append(value)
        return real(value, std_dev, *args, **kwargs)

    # what another thread leaving its catch_warnings block does to this thread's fit
    shim = types.SimpleNamespace(
        catch_warnings=contextlib.nullcontext, simplefilter=lambda *a, **k: None, warn=warnings.warn
    )
    monkeypatch.setattr(lmfit.parameter, "ufloat", spy)
    monkeypatch.setattr(lmfit.parameter, "warnings", shim)
    return made


def _absorption(seed=1):
    lam, a = absorption_film_spectrum(2.45, 0.05, noise_od=2e-4, seed=seed)
    return HC_EV_NM / lam, a


@pytest.mark.parametrize("profile", ["gaussian", "voigt"])
def test_first_excitonic_peak_makes_no_zero_width_value(zero_width_ufloats, profile):
    e, a = _absorption()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        peak = first_excitonic_peak(e, a, profile=profile)
    assert zero_width_ufloats == []
    assert (
        abs(peak.peak_eV - 2.45) < 0.01 and np.isfinite(peak.fwhm_meV) and np.isfinite(peak.od_err)
    )


@pytest.mark.parametrize("profile", ["gaussian", "voigt", "pseudovoigt"])
def test_pl_peak_makes_no_zero_width_value(zero_width_ufloats, profile):
    rng = np.random.default_rng(3)
    e = np.linspace(2.2, 2.7, 400)
    y = 5e3 * np.exp(-0.5 * ((e - 2.44) / 0.035) ** 2) + 50 + rng.normal(0, 20, e.size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pk = pl_peak(e, y, profile=profile)
    assert zero_width_ufloats == []
    assert abs(pk.peak_eV - 2.44) < 3e-3


def test_fwhm_without_derived_parameters_matches_lmfits_expression():
    """The FWHM is now FWHM_PER_SIGMA * sigma: the same numbers lmfit's fwhm expressions gave."""
    from lmfit.models import GaussianModel, PseudoVoigtModel, VoigtModel

    from qdstack.analysis._fitting import FWHM_PER_SIGMA

    for name, cls in (
        ("gaussian", GaussianModel),
        ("voigt", VoigtModel),
        ("pseudovoigt", PseudoVoigtModel),
    ):
        with warnings.catch_warnings():  # asteval evaluates the expressions at default values first
            warnings.simplefilter("ignore", RuntimeWarning)
            params = cls().make_params(amplitude=1.0, center=0.0, sigma=0.0371)
            params.update_constraints()
            fwhm = params["fwhm"].value
        assert fwhm == pytest.approx(FWHM_PER_SIGMA[name] * 0.0371, rel=1e-6), name


def test_film_model_threads_make_no_zero_width_value(zero_width_ufloats):
    """The path of the original failure: films simulated as dask tasks in threads."""
    from qdstack.physics.film_model import load_parameter_set
    from qdstack.physics.film_model.series import simulate_series

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        series = simulate_series(
            "C3DT", [1, 2, 3], load_parameter_set("enomoto2024"), realisations=300, seed=2
        )
    assert zero_width_ufloats == []
    assert len(series.films) == 3 and series.films[2].peak_eV < series.films[0].peak_eV
