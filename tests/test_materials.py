"""Material parameter sets: access, defaults, internal consistency, sources, user-defined sets."""

from __future__ import annotations

import dataclasses
import math

import pytest

from qdstack.errors import InputError
from qdstack.materials import (
    Material,
    default_parameter_set,
    get_material,
    list_materials,
    parameter_sets,
    register_material,
)

NUMERIC = (
    "band_gap_eV",
    "band_gap_low_T_eV",
    "electron_mass",
    "hole_mass",
    "eps_inf",
    "eps_static",
    "exciton_bohr_radius_nm",
    "exciton_binding_meV",
    "lo_phonon_meV",
)


def test_the_issue_materials_are_there():
    assert {"CsPbBr3", "CsPbI3", "CsPbCl3", "CdSe", "CdTe", "PbS"} <= set(list_materials())


def test_cspbbr3_ships_the_disputed_reduced_masses_with_a_default():
    sets = parameter_sets("CsPbBr3")
    assert sets[0] == default_parameter_set("cspbbr3") == "yang2017"
    mu = {s: get_material("CsPbBr3", s).reduced_mass for s in sets}
    assert mu["protesescu2015"] == pytest.approx(0.072, abs=0.001)
    assert mu["yang2017"] == pytest.approx(0.126, abs=0.001)
    assert mu["highfield2023"] == pytest.approx(0.18, abs=0.001)
    # the confinement 1/mu differs by ~2.5x between the extremes (the issue's point)
    assert mu["highfield2023"] / mu["protesescu2015"] == pytest.approx(2.5, rel=0.02)


@pytest.mark.parametrize("name", ["CsPbBr3", "CsPbI3", "CsPbCl3", "CdSe", "CdTe", "PbS"])
def test_every_set_is_consistent_and_sourced(name):
    for s in parameter_sets(name):
        m = get_material(name, s)
        # hydrogenic consistency of mass, dielectric constant, binding energy and Bohr radius
        assert m.hydrogenic_bohr_radius_nm == pytest.approx(m.exciton_bohr_radius_nm, rel=0.15)
        assert 1.0 < m.exciton_dielectric < 25.0
        assert m.band_gap_eV > 0 and m.electron_mass > 0 and m.hole_mass > 0
        for f in NUMERIC:
            v = getattr(m, f)
            if not math.isnan(v):
                assert m.source_of(f), f"{name}/{s}: {f} has no source"
        d = m.to_dict()
        assert d["name"] == m.name and set(NUMERIC) <= set(d)


def test_lookup_is_case_insensitive_and_errors_name_the_choices():
    assert get_material("cspbbr3") is get_material("CsPbBr3")
    assert get_material("CSPBBR3", "Protesescu2015").electron_mass == 0.15
    with pytest.raises(InputError, match="CsPbBr3"):
        get_material("CsPbBr4")
    with pytest.raises(InputError, match="yang2017"):
        get_material("CsPbBr3", "nonsense")
    m = get_material("CdSe")
    assert get_material(m) is m


def test_materials_are_frozen_and_users_define_their_own(monkeypatch):
    import qdstack.materials as materials

    # keep the registration local to this test
    monkeypatch.setattr(materials, "_LIBRARY", {k: dict(v) for k, v in materials._LIBRARY.items()})
    monkeypatch.setattr(materials, "_DEFAULT", dict(materials._DEFAULT))
    m = get_material("CsPbBr3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.electron_mass = 1.0
    mine = m.replace(electron_mass=0.2, hole_mass=0.2)
    assert mine.parameter_set == "custom" and mine.reduced_mass == pytest.approx(0.1)
    assert get_material("CsPbBr3").electron_mass == 0.252  # the library is untouched
    alloy = Material(
        name="CsPbBr2I",
        parameter_set="mine",
        band_gap_eV=2.0,
        band_gap_low_T_eV=math.nan,
        electron_mass=0.2,
        hole_mass=0.2,
        eps_inf=5.0,
        eps_static=math.nan,
        exciton_bohr_radius_nm=3.5,
        exciton_binding_meV=25.0,
        lo_phonon_meV=math.nan,
        sources=(("*", "my own estimate"),),
    )
    register_material(alloy, default=True)
    assert get_material("csPbBr2I") is alloy and "CsPbBr2I" in list_materials()
    with pytest.raises(InputError):
        Material(
            name="x",
            parameter_set="y",
            band_gap_eV=1.0,
            band_gap_low_T_eV=1.0,
            electron_mass=-0.1,
            hole_mass=0.1,
            eps_inf=5,
            eps_static=5,
            exciton_bohr_radius_nm=1,
            exciton_binding_meV=1,
            lo_phonon_meV=1,
        )
