"""`qdstack reproduce enomoto2024`: the comparison table is complete, consistent and honest."""

from __future__ import annotations

import json
import math

import pytest

REQUIRED = [
    "first excitonic peak of 6.8 nm dots in solution",
    "monolayer film first peak",
    "monolayer peak spread over packing density",
    "shift N = 8, C3DT",
    "shift N = 8, C10DT",
    "saturation layer count, C3DT",
    "saturation layer count, C10DT",
    "bilayer shift vs S-S distance is exponential",
    "out-of-plane period from XRD, C3DT",
    "out-of-plane period from XRD, C10DT",
    "out-of-plane period estimate edge + S-S, C3DT",
    "in-plane period from XRD",
    "20-layer thickness estimate",
    "20-layer thickness vs SEM",
    "PL peak in solution",
    "PL FWHM in solution",
    "PL lifetime 10 K / 295 K, monolayer",
    "PL lifetime 10 K / 295 K, C3DT N = 6",
]


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    from qdstack.cli.main import main

    out = tmp_path_factory.mktemp("repro")
    code = main(["reproduce", "enomoto2024", "--out", str(out), "--realisations", "400", "--json"])
    assert code == 0
    return out


def test_comparison_rows(reproduced):
    r = json.loads((reproduced / "results.json").read_text())
    rows = r["comparison"]
    quantities = [row["quantity"] for row in rows]
    assert len(set(quantities)) == len(quantities)
    for needle in REQUIRED:
        assert any(q.startswith(needle) for q in quantities), needle
    for row in rows:
        assert set(row) >= {"quantity", "paper", "qdstack", "unit", "tolerance", "agrees"}
        # floats, as the contract types them (JSON 6 would come back as a Python int)
        assert isinstance(row["paper"], float) and isinstance(row["qdstack"], float)
        assert isinstance(row["tolerance"], float) and isinstance(row["agrees"], bool)
        assert row["kind"] in ("prediction", "calibration input")
        if row["relation"] == "=":  # agrees is exactly |qdstack - paper| <= tolerance
            assert row["agrees"] == (abs(row["qdstack"] - row["paper"]) <= row["tolerance"])
    # the calibration inputs come back through the analysis pipeline
    by = {row["quantity"]: row for row in rows}
    assert by["shift N = 8, C3DT"]["agrees"] and by["shift N = 8, C10DT"]["agrees"]
    # disagreements are kept and discussed, not dropped
    assert all(not math.isnan(row["qdstack"]) for row in rows)
    if not all(row["agrees"] for row in rows):
        assert r["discussion"]


def test_outputs_are_the_users_outputs(reproduced):
    assert (reproduced / "report.html").stat().st_size > 100_000
    assert (reproduced / "simulated" / "study.toml").is_file()
    html = (reproduced / "report.html").read_text()
    assert "Paper vs qdstack" in html and "Where they disagree" in html
    from qdstack.study.manifest import load_manifest

    study = load_manifest(reproduced / "simulated" / "study.toml")
    assert len(study.sample) > 20


def test_unknown_study(run_cli, tmp_path):
    code, _, err = run_cli("reproduce", "smith2023", "--out", tmp_path)
    assert code == 2 and "smith2023" in err


def test_what_explains_the_shifts_section(reproduced):
    """Issue 13: results.json carries the explain table of the paper's numbers and the report shows it."""
    r = json.loads((reproduced / "results.json").read_text())
    ex = r["explain"]
    names = [row["mechanism"] for row in ex["rows"]]
    assert names == ["tunnelling", "dielectric", "surface", "fusion"]
    for row in ex["rows"]:
        assert row["verdict"] in ("explains", "implausible", "cannot")
        assert len(row["prediction_meV"]) == 2
    assert set(ex["result"]) >= {"mechanisms", "best"}
    assert ex["simulated_films_parameters"]["name"] == "enomoto2024"
    html = (reproduced / "report.html").read_text(encoding="utf-8")
    assert "What explains the shifts" in html and ex["rows"][0]["mechanism"] in html
