"""Calibration of the film model: synthetic truth recovered, flags, the shipped parameter sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.errors import InputError, OptionError
from qdstack.physics.film_model.calibration import (
    ShiftMeasurement,
    calibrate,
    model_shifts_meV,
    reference_shifts,
)
from qdstack.physics.film_model import available_parameter_sets, load_parameter_set

R = 600  # realisations per film in the fit (seed 0)
R_TRUTH, SEED_TRUTH = 1500, 11  # the truth: other dots (another seed) and six times as many
#: the fit's own ensemble error at R = 600 realisations (std over seeds 0-5: 0.31-0.45 meV for these
#: films); it is part of the data's error because truth and fit see different dots
SAMPLING_MEV = 0.45


def synthetic(params, layout, noise_meV, seed):
    truth = model_shifts_meV(
        [ShiftMeasurement(k, n, -1.0) for k, n in layout],
        params,
        realisations=R_TRUTH,
        seed=SEED_TRUTH,
    )
    rng = np.random.default_rng(seed)
    err = math.hypot(noise_meV, SAMPLING_MEV)
    return [
        ShiftMeasurement(k, n, float(t + rng.normal(0, noise_meV)), err)
        for (k, n), t in zip(layout, truth)
    ]


def test_recovers_an_engine_barrier():
    base = load_parameter_set("enomoto2024-tunnelling")
    truth = base.with_(barrier_e_eV=0.12, barrier_h_eV=0.12)
    data = synthetic(truth, [("C3DT", 2), ("C6DT", 2)], 0.2, seed=1)
    res = calibrate(data, base.with_(barrier_e_eV=0.2, barrier_h_eV=0.2), realisations=R, seed=0)
    assert res.success
    v, e = res.values["barrier_eV"], res.errors["barrier_eV"]
    assert 0 < e < 0.1
    assert v == pytest.approx(0.12, abs=3 * e)
    assert res.dof == 1
    assert res.plausible["barrier_eV"] is False  # 0.12 eV is far below an alkane barrier
    assert any("outside" in w for w in res.warnings)
    assert res.reach_meV is not None and all(x < 0 for x in res.reach_meV.values())


def test_recovers_the_exponential_law():
    base = load_parameter_set("enomoto2024")
    truth = base.with_(barrier_e_eV=0.05, barrier_h_eV=0.05, coupling_amplitude_meV=30.0)
    data = synthetic(truth, [("C3DT", 3), ("C10DT", 3)], 0.1, seed=2)
    res = calibrate(
        data,
        base.with_(barrier_e_eV=0.07, barrier_h_eV=0.07, coupling_amplitude_meV=25.0),
        realisations=R,
        seed=0,
    )
    for k, t in (("barrier_eV", 0.05), ("coupling_amplitude_meV", 30.0)):
        assert res.values[k] == pytest.approx(t, abs=max(3 * res.errors[k], 1e-3 * t))
    assert {r["linker"] for r in res.linkers} >= {"C3DT", "C10DT", "BDT", "BPDT"}


def test_a_shift_beyond_tunnelling_is_reported_out_of_reach():
    base = load_parameter_set("enomoto2024-tunnelling")
    data = [ShiftMeasurement("C3DT", 6, -44.0, 2.0)]
    res = calibrate(data, base, realisations=150, seed=0)
    assert res.values["barrier_eV"] < 1e-3  # driven to the bound
    assert math.isnan(res.errors["barrier_eV"])
    assert any("out of reach" in w for w in res.warnings)
    assert res.reach_meV["C3DT N=6"] > -30.0


def test_shipped_parameter_sets_reproduce_their_calibration():
    # the sets were written by qdstack.physics.parameter_sets.make_enomoto2024; evaluated with
    # the realisations and seed the script used, the default set returns the two N = 8 shifts
    assert {"enomoto2024", "enomoto2024-tunnelling"} <= set(available_parameter_sets())
    p = load_parameter_set("enomoto2024")
    cal = p.provenance["calibration"]
    assert [(m["linker"], m["layers"], m["shift_meV"]) for m in cal["data"]] == [
        ("C3DT", 8, -44.0),
        ("C10DT", 8, -14.2),
    ]
    got = model_shifts_meV(
        reference_shifts("enomoto2024"), p, realisations=cal["realisations"], seed=cal["seed"]
    )
    np.testing.assert_allclose(got, [-44.0, -14.2], atol=0.05)
    t = load_parameter_set("enomoto2024-tunnelling")
    assert t.coupling == "engine" and t.barrier_e_eV < 0.05
    assert t.provenance["calibration"]["model_shift_meV"][0] > -30.0  # cannot reach -44 meV


def test_bad_calibration_input():
    with pytest.raises(InputError):
        ShiftMeasurement("C3DT", 1, -3.0)
    with pytest.raises(InputError):
        ShiftMeasurement("C3DT", 2, -3.0, 0.0)
    base = load_parameter_set("enomoto2024")
    with pytest.raises(InputError):  # two parameters, one number
        calibrate([ShiftMeasurement("C3DT", 8, -44.0)], base, realisations=100)
    with pytest.raises(OptionError):
        calibrate(reference_shifts(), base, fit="everything", realisations=100)
    with pytest.raises(InputError):
        calibrate([ShiftMeasurement("no-such-linker", 2, -3.0)] * 2, base, realisations=100)


def test_calibration_on_the_paper_readout_reaches_the_numbers_by_peak_top():
    """Calibrated on the paper's definition (peak top), the model's peak-top shifts are the data."""
    from qdstack.physics.film_model import load_parameter_set
    from qdstack.physics.film_model.calibration import calibrate, model_shifts_meV, reference_shifts

    PAPER_SHIFTS = reference_shifts("enomoto2024")
    base = load_parameter_set("enomoto2024")
    res = calibrate(PAPER_SHIFTS, base, realisations=400, seed=3, readout="peak_top")
    top = model_shifts_meV(
        PAPER_SHIFTS, res.parameters, realisations=400, seed=3, readout="peak_top"
    )
    assert top == pytest.approx([-44.0, -14.2], abs=0.3)
    fit = model_shifts_meV(PAPER_SHIFTS, res.parameters, realisations=400, seed=3, readout="fit")
    assert fit[0] < top[0]  # the fit centre sits below the peak top (the 4-5 meV of the issue)


def test_reference_shifts_come_from_the_reference_file():
    # hand-made: the paper's text states -44.0 (C3DT) and -14.2 meV (C10DT) at N = 8, and a per-film
    # peak spread of +-0.002 eV, so each shift has sigma = sqrt(2) x 2 meV = 2.828 meV
    got = [
        (m.linker, m.layers, m.shift_meV, round(m.shift_meV_err, 3))
        for m in reference_shifts("enomoto2024")
    ]
    assert got == [("C3DT", 8, -44.0, 2.828), ("C10DT", 8, -14.2, 2.828)]
