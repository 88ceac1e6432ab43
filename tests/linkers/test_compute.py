"""On-demand computation of any SMILES: anchors, errors, cache, timeout (mmff level, RDKit)."""

from __future__ import annotations

import json

import pytest

from qdstack.errors import InputError, OptionError, QdstackWarning
from qdstack.linkers import (
    LinkerTimeoutError,
    compute_linker_level,
    default_cache_dir,
    get_linker,
)
from qdstack.linkers import cache as linker_cache

C7DT = "SCCCCCCCS"  # 1,7-heptanedithiol: not built in
SMALL = "CC(CS)CS"  # 2-methylpropane-1,3-dithiol: not built in, two torsions, fast


def test_any_dithiol_is_computed_and_lies_between_its_neighbours():
    g = get_linker(C7DT)
    assert g.source == "computed" and g.name == C7DT and g.smiles == C7DT
    assert g.anchor_elements == ("S", "S") and g.chain_torsions == 6
    assert get_linker("C6DT").ss_distance_nm < g.ss_distance_nm < get_linker("C10DT").ss_distance_nm
    # all-anti chain: about 0.126 nm per CH2 along the axis
    assert g.ss_distance_nm == pytest.approx(get_linker("C6DT").ss_distance_nm + 0.126, abs=0.02)


def test_result_is_cached_on_disk_and_reused(_isolated_cache):
    first = get_linker(SMALL)
    files = list((_isolated_cache / "linkers").glob("mmff-*.json"))
    assert len(files) == 1
    second = get_linker(SMALL, conformer="boltzmann", temperature_K=500)
    assert second.source == "cache"
    assert second.anti_ss_distance_nm == first.anti_ss_distance_nm
    assert second.ensemble_energy_meV == first.ensemble_energy_meV
    # a different temperature needs no recomputation: the ensemble is stored
    assert second.ss_distance_nm == pytest.approx(
        first.with_conformer("boltzmann", 500).ss_distance_nm
    )
    # no cache: computed again, nothing new written
    assert get_linker(SMALL, use_cache=False).source == "computed"
    assert len(list((_isolated_cache / "linkers").glob("*.json"))) == 1


def test_cache_key_is_the_canonical_smiles(_isolated_cache):
    get_linker(SMALL)
    assert get_linker("SCC(C)CS").source == "cache"  # same molecule, other spelling


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # truncated
        lambda text: "not json at all",
        lambda text: text.replace(
            '"anti_ss_distance_nm": ', '"anti_ss_distance_nm": -'
        ),  # negative
        lambda text: json.dumps({**json.loads(text), "key": {"key_smiles": "SCCS"}}),  # wrong key
    ],
)
def test_a_corrupt_cache_entry_is_recomputed_never_trusted(_isolated_cache, damage):
    good = get_linker(SMALL)
    (path,) = list((_isolated_cache / "linkers").glob("mmff-*.json"))
    path.write_text(damage(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.warns(QdstackWarning, match="corrupt linker cache entry"):
        again = get_linker(SMALL)
    assert again.source == "computed"
    assert again.anti_ss_distance_nm == good.anti_ss_distance_nm
    # and the entry was repaired
    assert get_linker(SMALL).source == "cache"


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("QDSTACK_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("QDSTACK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    import sys

    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "xdg" / "qdstack"


def test_unwritable_cache_warns_but_returns_the_result(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    with pytest.warns(QdstackWarning, match="cannot write linker cache entry"):
        g = get_linker(SMALL, cache_dir=blocker)
    assert g.ss_distance_nm > 0


def test_smiles_of_a_builtin_is_served_from_the_table():
    g = get_linker("C(S)CCS")
    assert g.name == "C3DT" and g.source == "table"


@pytest.mark.parametrize(
    "text, message",
    [
        ("C7DT", "unknown linker"),
        ("C1CC", "not a valid SMILES"),
        ("hello", "unknown linker"),
        ("C(C)(C)(C)(C)CS", "not a valid SMILES"),
        ("CCCC", "no anchoring atoms"),
        ("CCCS", "only one anchoring atom"),
        ("SCC(S)CS", "ambiguous anchoring atoms"),
        ("SCCS.SCCS", "disconnected fragments"),
        ("SCC=CCS", "stereochemistry not specified"),
        ("[S]CCCS", "unpaired electron"),
    ],
)
def test_bad_linkers_raise_input_error_naming_the_input(text, message):
    with pytest.raises(InputError, match=message) as err:
        get_linker(text)
    assert err.value.source == text


def test_user_anchors_and_atom_maps():
    three = "SCC(S)CS"
    g = get_linker(three, anchors=(0, 5))  # the two terminal sulfurs
    assert g.anchor_elements == ("S", "S")
    mapped = get_linker("[SH:1]CC(S)C[SH:1]")
    assert mapped.ss_distance_nm == pytest.approx(g.ss_distance_nm, abs=1e-3)
    assert mapped.smiles == "SCC(S)CS"
    with pytest.raises(InputError, match="out of range") as err:
        get_linker(three, anchors=(0, 9))
    assert err.value.source == "anchors"
    with pytest.raises(InputError, match="different atoms"):
        get_linker(three, anchors=(2, 2))


def test_other_anchoring_groups_are_found():
    diamine = get_linker("NCCCCCCN")  # 1,6-hexanediamine
    assert diamine.anchor_elements == ("N", "N")
    assert diamine.ss_distance_nm == pytest.approx(get_linker("C6DT").ss_distance_nm, abs=0.08)
    mixed = get_linker("Nc1ccc(S)cc1")  # 4-aminothiophenol: one amine + one thiol
    assert sorted(mixed.anchor_elements) == ["N", "S"] and mixed.rigid
    assert get_linker("[S-]CCC[S-]").anchor_elements == ("S", "S")  # thiolates


def test_specified_stereo_is_accepted():
    trans = get_linker("SC/C=C/CS")  # (E)-but-2-ene-1,4-dithiol
    cis = get_linker("SC/C=C\\CS")
    assert trans.smiles != cis.smiles
    # no sp3-sp3 torsion between the sulfurs (allylic C-C bonds), yet not rigid
    assert trans.chain_torsions == 0 and not trans.rigid
    assert trans.anti_ss_distance_nm == trans.lowest_ss_distance_nm
    # the E isomer reaches further than the Z isomer
    assert max(trans.ensemble_ss_distance_nm) > max(cis.ensemble_ss_distance_nm) + 0.03


def test_conformer_choice_and_temperature():
    anti = get_linker("C4DT")
    low = get_linker("C4DT", conformer="lowest")
    hot = get_linker("C4DT", conformer="boltzmann", temperature_K=5000)
    cold = get_linker("C4DT", conformer="boltzmann", temperature_K=1)
    assert low.ss_distance_nm == anti.lowest_ss_distance_nm
    assert cold.ss_distance_nm == pytest.approx(anti.lowest_ss_distance_nm, abs=1e-4)
    assert hot.ss_distance_nm == pytest.approx(
        sum(anti.ensemble_ss_distance_nm) / anti.n_conformers, abs=0.01
    )
    with pytest.raises(OptionError) as err:
        get_linker("C4DT", conformer="folded")
    assert err.value.source == "conformer"
    with pytest.raises(InputError) as err:
        get_linker("C4DT", temperature_K=-3)
    assert err.value.source == "temperature_K"


def test_unknown_method_is_an_option_error():
    with pytest.raises(OptionError, match="unknown method") as err:
        get_linker("C3DT", method="pm7")
    assert err.value.source == "method"


def test_missing_extra_is_a_clear_error(monkeypatch):
    from qdstack.linkers import _qm

    monkeypatch.setattr(_qm, "gfn2_available", lambda: False)
    monkeypatch.setattr(_qm, "b3lyp_available", lambda: False)
    with pytest.raises(OptionError, match=r"qdstack\[xtb\]"):
        get_linker(SMALL, method="gfn2")
    with pytest.raises(OptionError, match=r"qdstack\[dft\]"):
        get_linker(SMALL, method="b3lyp")


def test_timeout_gives_up_with_a_clear_error():
    with pytest.raises(LinkerTimeoutError, match="timeout") as err:
        get_linker("SCCCCCCCCCCCCCCCCCCCS", timeout_s=1e-9)
    assert err.value.source == "SCCCCCCCCCCCCCCCCCCCS"
    with pytest.raises(OptionError):
        get_linker(SMALL, timeout_s=0)


def test_compute_linker_level_is_reproducible():
    a = compute_linker_level("C3DT")
    b = compute_linker_level("SCCCS")
    assert a.ensemble_energy_meV == b.ensemble_energy_meV
    assert a.ensemble_ss_distance_nm == b.ensemble_ss_distance_nm
    assert a.anti_ss_distance_nm == pytest.approx(0.550, abs=0.002)


def test_cache_entry_roundtrip(tmp_path):
    rec = compute_linker_level(SMALL)
    key = linker_cache.cache_key(rec.key_smiles, "mmff")
    path = linker_cache.store_entry(key, rec, tmp_path)
    assert path.parent == tmp_path / "linkers"
    assert linker_cache.load_entry(key, tmp_path) == rec
    assert not list(tmp_path.glob("linkers/.*.tmp"))  # atomic write left no temp file


def test_builtin_name_with_anchors():
    # the thiol sulfurs named explicitly: still the built-in entry
    assert get_linker("C3DT", anchors=(0, 4)).source == "table"
    # a carbon-carbon distance of the same molecule: computed, not the built-in linker
    g = get_linker("C3DT", anchors=(1, 3))
    assert g.source == "computed" and g.name == "C3DT" and g.anchor_elements == ("C", "C")
    assert g.description is None
    assert 0.24 < g.anti_ss_distance_nm < 0.27  # C1...C3 across one sp3 carbon


@pytest.mark.parametrize(
    "field, value",
    [
        ("ensemble_energy_meV", [5.0, 0.0]),  # not ascending
        ("ensemble_ss_distance_nm", [0.5]),  # wrong length
        ("settings", ["not", "a", "dict"]),
        ("warnings", 3),
        ("anchor_atoms", [0]),
        ("method", "pm7"),
        ("lowest_energy_eV", float("inf")),
        ("n_sampled", True),
    ],
)
def test_level_records_are_validated(field, value):
    from qdstack.linkers._data import CorruptRecord, LevelData

    good = compute_linker_level(SMALL).to_dict()
    good["ensemble_energy_meV"] = good["ensemble_energy_meV"][:2]
    good["ensemble_ss_distance_nm"] = good["ensemble_ss_distance_nm"][:2]
    LevelData.from_dict(good)  # the unmodified record is fine
    with pytest.raises(CorruptRecord):
        LevelData.from_dict({**good, field: value})
