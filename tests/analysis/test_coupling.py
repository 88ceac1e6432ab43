"""Tunnelling fit |shift| = A exp(-k d) and the two barrier laws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.analysis.coupling import (
    barrier_from_decay_eV,
    decay_from_barrier_per_nm,
    fit_tunnelling_decay,
)
from qdstack.errors import FitError, InputError
from qdstack.units import HBAR2_OVER_2ME_EV_NM2


def test_barrier_laws_analytic():
    # hbar^2/(2 m_e) = 0.0380998 eV nm^2: k = 2 nm^-1, m* = 0.15
    assert HBAR2_OVER_2ME_EV_NM2 == pytest.approx(0.0380998, rel=1e-5)
    v_t = barrier_from_decay_eV(2.0, 0.15, "transmission")
    v_a = barrier_from_decay_eV(2.0, 0.15, "amplitude")
    assert v_t == pytest.approx(0.0380998 * 4 / (4 * 0.15), rel=1e-5)
    assert v_a == pytest.approx(4 * v_t)
    for law in ("transmission", "amplitude"):
        assert decay_from_barrier_per_nm(
            barrier_from_decay_eV(3.3, 0.2, law), 0.2, law
        ) == pytest.approx(3.3)
    # eqn (1) as printed: exp(-2 dx sqrt(2 m V)/hbar); V = 1 eV, m = 1 -> k = 2 * 5.123 nm^-1
    assert decay_from_barrier_per_nm(1.0, 1.0, "transmission") == pytest.approx(
        2 * 5.1231, rel=1e-4
    )


@pytest.mark.parametrize("seed", range(5))
def test_recovers_synthetic_decay(seed):
    rng = np.random.default_rng(seed)
    d = np.array([0.42, 0.55, 0.67, 0.79, 0.92, 1.46, 0.63, 1.06])
    truth = 60.0 * np.exp(-1.3 * d)
    err = 0.03 * truth
    s = -(truth + rng.normal(0, err))
    fit = fit_tunnelling_decay(d, s, err, mass=0.15, law="amplitude")
    assert fit.decay_per_nm == pytest.approx(1.3, abs=4 * fit.decay_per_nm_err)
    assert fit.decay_per_nm_err < 0.15
    assert fit.barrier_eV == pytest.approx(HBAR2_OVER_2ME_EV_NM2 * fit.decay_per_nm**2 / 0.15)
    assert fit.barrier_eV_err == pytest.approx(
        2 * fit.barrier_eV * fit.decay_per_nm_err / fit.decay_per_nm
    )
    assert fit.r2 > 0.95


def test_paper_like_decay_is_flagged_implausible():
    """A decay of ~1 nm^-1 (two linkers of the paper) implies a barrier of tens of meV."""
    fit = fit_tunnelling_decay([0.55, 1.46], [-20.0, -8.0], [1.0, 1.0], mass=0.15)
    assert fit.decay_per_nm == pytest.approx(math.log(20 / 8) / 0.91, rel=1e-6)
    assert not fit.barrier_plausible
    assert any("per CH2" in w for w in fit.warnings)
    assert np.isnan(fit.r2)
    assert fit.decay_per_nm_err > 0  # propagated from the given errors


def test_alkane_like_decay_is_plausible():
    d = np.linspace(0.4, 1.5, 6)
    fit = fit_tunnelling_decay(d, 100 * np.exp(-9.0 * d), mass=1.0, law="transmission")
    assert fit.decay_per_nm == pytest.approx(9.0, rel=1e-6)
    assert fit.barrier_plausible and fit.barrier_eV == pytest.approx(HBAR2_OVER_2ME_EV_NM2 * 81 / 4)


def test_growing_shift_has_no_barrier():
    fit = fit_tunnelling_decay([0.5, 1.0, 1.5], [5.0, 8.0, 12.0])
    assert fit.decay_per_nm < 0 and not fit.barrier_plausible


def test_bad_inputs():
    with pytest.raises(FitError):
        fit_tunnelling_decay([0.5, 0.5], [10, 9])
    with pytest.raises(InputError, match="mass"):
        fit_tunnelling_decay([0.5, 1.0], [10, 9], mass=0)
    with pytest.raises(InputError, match="law"):
        fit_tunnelling_decay([0.5, 1.0], [10, 9], law="probability")
    with pytest.raises(InputError, match="0 meV"):
        fit_tunnelling_decay([0.5, 1.0], [10, 0])
    with pytest.raises(InputError, match="err"):
        fit_tunnelling_decay([0.5, 1.0], [10, 9], [1.0, -1.0])
