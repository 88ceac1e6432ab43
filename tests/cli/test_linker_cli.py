"""``qdstack linker``: the contract JSON, the list, the gap, and one-line errors."""

from __future__ import annotations

import json

import pytest

CONTRACT = {"name": str, "smiles": str, "method": str, "ss_distance_nm": float, "conformer": str}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "qdstack-cache"
    monkeypatch.setenv("QDSTACK_CACHE_DIR", str(cache))
    return cache


def _one_error_line(code, out, err, *needles):
    assert code == 2, err
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err


def test_builtin_json_follows_the_contract(run_json):
    d = run_json("linker", "C3DT")
    for key, typ in CONTRACT.items():
        assert isinstance(d[key], typ), key
    assert d["name"] == "C3DT" and d["smiles"] == "SCCCS"
    assert d["method"] == "mmff" and d["conformer"] == "anti"
    assert d["ss_distance_nm"] == pytest.approx(0.55, abs=0.03)
    assert d["gap_nm"] == d["ss_distance_nm"] and d["offset_nm"] == 0.0
    assert d["source"] == "table" and d["warnings"] == []


def test_full_names_and_json_for_c10dt(run_json):
    d = run_json("linker", "1,10-decanedithiol")
    assert d["name"] == "C10DT"
    assert d["ss_distance_nm"] == pytest.approx(1.46, abs=0.03)
    assert d["paper_ss_distance_nm"] == 1.46


def test_human_output_explains_the_numbers(run_cli):
    code, out, err = run_cli("linker", "C3DT")
    assert code == 0, err
    assert "S-S distance" in out and "0.550" in out
    assert "all-anti" in out and "Boltzmann" in out and "gap used by the models" in out


def test_list_json_and_table(run_cli, run_json):
    d = run_json("linker", "--list")
    names = [e["name"] for e in d["linkers"]]
    assert names == ["C2DT", "C3DT", "C4DT", "C5DT", "C6DT", "C10DT", "BDT", "BPDT"]
    c3 = d["linkers"][1]
    assert c3["ss_distance_nm"]["mmff"] == pytest.approx(0.55, abs=0.03)
    assert set(c3["ss_distance_nm"]) == {"mmff", "gfn2", "b3lyp"}
    code, out, _ = run_cli("linker", "--list")
    assert code == 0 and "BPDT" in out and "4,4'-biphenyldithiol" in out


def test_offset_gives_the_gap(run_json):
    d = run_json("linker", "C3DT", "--offset-nm", "0.2")
    assert d["gap_nm"] == pytest.approx(d["ss_distance_nm"] + 0.2)
    assert d["offset_nm"] == 0.2


def test_conformer_and_temperature(run_json):
    b = run_json("linker", "C4DT", "--conformer", "boltzmann", "--temperature", "400")
    assert b["conformer"] == "boltzmann" and b["temperature_K"] == 400.0
    assert b["ss_distance_nm"] == b["boltzmann_ss_distance_nm"] < b["anti_ss_distance_nm"]
    low = run_json("linker", "C4DT", "--conformer", "lowest")
    assert low["ss_distance_nm"] == low["lowest_ss_distance_nm"]


def test_any_smiles_is_computed(run_json, _isolated_cache):
    d = run_json("linker", "CC(CS)CS")
    assert d["source"] == "computed" and d["smiles"] == "CC(CS)CS"
    assert 0.4 < d["ss_distance_nm"] < 0.6
    assert run_json("linker", "CC(CS)CS")["source"] == "cache"


def test_anchors_option(run_json):
    d = run_json("linker", "SCC(S)CS", "--anchors", "0,5")
    assert d["anchor_elements"] == ["S", "S"]


def test_out_writes_results_json(run_cli, tmp_path):
    code, _, err = run_cli("linker", "BDT", "--out", tmp_path / "res")
    assert code == 0, err
    saved = json.loads((tmp_path / "res" / "results.json").read_text())
    assert saved["name"] == "BDT" and 0.63 <= saved["ss_distance_nm"] <= 0.64


@pytest.mark.parametrize(
    "args, needles",
    [
        (["C7DT"], ["error: C7DT:", "unknown linker", "C3DT"]),
        (["C1CC"], ["C1CC", "not a valid SMILES"]),
        (["CCCC"], ["CCCC", "no anchoring atoms"]),
        (["SCC(S)CS"], ["ambiguous anchoring atoms", "--anchors"]),
        (["C3DT", "--method", "pm7"], ["--method", "unknown method"]),
        (["C3DT", "--conformer", "folded"], ["--conformer"]),
        (["C3DT", "--temperature", "-5"], ["--temperature", "positive"]),
        (["C3DT", "--offset-nm", "-1"], ["--offset-nm", "not a positive gap"]),
        (["SCC(S)CS", "--anchors", "0"], ["--anchors", "two atom indices"]),
        (["SCC(S)CS", "--anchors", "0,99"], ["--anchors", "out of range"]),
        (["C3DT", "--list"], ["--list"]),
        (["--timeout", "0", "C3DT"], ["--timeout"]),
    ],
)
def test_bad_input_is_one_error_line(run_cli, args, needles):
    _one_error_line(*run_cli("linker", *args), *needles)


def test_help_teaches(run_cli):
    code, out, _ = run_cli("linker", "--help")
    assert code == 0
    text = " ".join(out.split())
    for needle in (
        "S-S distance",
        "all-anti",
        "--offset-nm",
        "--method",
        "B3LYP/6-31G(d)",
        "Boltzmann",
        "--list",
        "gap = S-S distance + offset",
    ):
        assert needle in text, needle
