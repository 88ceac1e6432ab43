"""The structural model of the stack period: geometry by hand, uncertainty by finite differences."""

from __future__ import annotations

import math

import pytest

from qdstack.errors import InputError
from qdstack.physics.stack_structure import DEFAULT_STRUCTURE, StackStructure, out_of_plane_period


def test_geometry_by_hand():
    # no tilt and Pb-S equal to the lattice's Pb-Br: the period is edge + S-S
    flat = StackStructure(tilt_deg=0.0, pb_s_nm=0.2937, pb_br_nm=0.2937)
    assert out_of_plane_period("x", 6.8, flat, ss_distance_nm=1.0).period_nm == pytest.approx(7.8)
    # 60 deg: half the S-S distance; a Pb-S bond 0.02 nm shorter pulls each sulfur in: -0.04 nm per gap
    s = StackStructure(tilt_deg=60.0, pb_s_nm=0.2737, pb_br_nm=0.2937)
    assert out_of_plane_period("x", 6.8, s, ss_distance_nm=1.0).period_nm == pytest.approx(
        6.8 + 0.5 - 0.04
    )


def test_uncertainty_is_the_propagated_parameter_spread():
    base = out_of_plane_period("C10DT", 6.8)
    h = 1e-4
    up = out_of_plane_period("C10DT", 6.8, StackStructure(tilt_deg=30.0 + h))
    d_tilt = (up.period_nm - base.period_nm) / math.radians(h)
    up2 = out_of_plane_period("C10DT", 6.8, StackStructure(pb_s_nm=0.280 + h))
    d_pbs = (up2.period_nm - base.period_nm) / h
    expected = math.hypot(
        d_tilt * math.radians(DEFAULT_STRUCTURE.tilt_err_deg), d_pbs * DEFAULT_STRUCTURE.pb_s_err_nm
    )
    assert base.period_nm_err == pytest.approx(expected, rel=1e-3)
    assert base.dperiod_dtilt_nm_per_rad == pytest.approx(d_tilt, rel=1e-3)


def test_library_linkers_and_literature_defaults():
    # the default structure is the literature one: 30 +- 10 deg tilt, Pb-S 0.280 +- 0.015 nm, a/2 = 0.2937 nm
    assert (DEFAULT_STRUCTURE.tilt_deg, DEFAULT_STRUCTURE.tilt_err_deg) == (30.0, 10.0)
    c3 = out_of_plane_period("C3DT", 6.8)
    c10 = out_of_plane_period("C10DT", 6.8)
    assert c3.ss_distance_nm == pytest.approx(0.55, abs=0.01)  # all-anti, linker library
    assert c10.period_nm - c3.period_nm == pytest.approx(
        (c10.ss_distance_nm - c3.ss_distance_nm) * math.cos(math.radians(30)), rel=1e-9
    )
    boltz = out_of_plane_period("C10DT", 6.8, StackStructure(conformer="boltzmann"))
    assert boltz.period_nm < c10.period_nm  # gauche conformers shorten the chain


def test_bad_structure():
    with pytest.raises(InputError):
        StackStructure(tilt_deg=95.0)
    with pytest.raises(InputError):
        StackStructure(conformer="folded")
    with pytest.raises(InputError):
        out_of_plane_period("C3DT", -1.0)
