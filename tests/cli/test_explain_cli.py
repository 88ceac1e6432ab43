"""`qdstack explain` end to end: the paper's table, results.json inputs, figures, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "explain" / "enomoto2024_shifts.csv"


def test_paper_table_json(run_json):
    d = run_json("explain", EXAMPLE)
    assert set(d) >= {"mechanisms", "best"}
    names = {m["name"] for m in d["mechanisms"]}
    assert names == {
        "tunnelling",
        "dielectric",
        "surface",
        "fusion",
    }  # pairs: more parameters than 2 rows
    assert [m["name"] for m in d["mechanisms"]] == ["tunnelling", "dielectric", "surface", "fusion"]
    pairs = {s["name"] for s in d["not_fitted"]}
    assert len(pairs) == 6 and all("+" in p for p in pairs) and "tunnelling+dielectric" in pairs
    tun = next(m for m in d["mechanisms"] if m["name"] == "tunnelling")
    assert (
        tun["verdict"] == "cannot"
    )  # -44 meV is out of reach of the ideal chain even at zero barrier
    assert tun["parameters"]["barrier_eV"]["plausible_min"] == 0.5
    assert tun["parameters"]["barrier_eV"]["plausible_max"] == 5.0
    for m in d["mechanisms"]:
        assert m["dof"] == 2 - len(m["parameters"])
        assert m["aic"] == pytest.approx(m["chi2"] + 2 * len(m["parameters"]))
    assert [r["linker"] for r in d["data"]] == ["C3DT", "C10DT"]


def test_out_writes_table_and_one_figure_per_mechanism(run_cli, tmp_path):
    table = tmp_path / "shifts.csv"
    table.write_text(
        "gap_nm,layers,shift_meV,shift_meV_err,temperature_K\n"
        "0.55,2,-2.1,0.5,295\n0.55,4,-3.2,0.5,295\n0.55,8,-3.9,0.5,\n"
        "1.44,2,-0.9,0.5,295\n1.44,8,-1.6,0.5,295\n"
    )
    code, out, err = run_cli(
        "explain", table, "--mechanisms", "dielectric,surface", "--out", tmp_path / "o"
    )
    assert code == 0, err
    assert "verdict" in out and "best:" in out
    o = tmp_path / "o"
    d = json.loads((o / "results.json").read_text())
    assert {m["name"] for m in d["mechanisms"]} == {"dielectric", "surface", "dielectric+surface"}
    csv = (o / "explain_table.csv").read_text().splitlines()
    assert csv[0].startswith("mechanism,verdict,chi2") and len(csv) == 4
    for stem in ("explain_dielectric", "explain_surface", "explain_dielectric_surface"):
        assert (o / f"{stem}.png").stat().st_size > 10_000


def test_absorption_results_json_needs_a_linker(run_cli, run_json, tmp_path):
    res = {
        "spectra": [
            {"file": "a", "layers": 1, "peak_eV": 2.473},
            {"file": "b", "layers": 2, "peak_eV": 2.470},
            {"file": "c", "layers": 4, "peak_eV": 2.468},
        ],
        "shift_meV": [0.0, -3.0, -4.5],
    }
    f = tmp_path / "results.json"
    f.write_text(json.dumps(res))
    code, _, err = run_cli("explain", f)
    assert code == 2 and err.startswith("error: --linker") and err.count("\n") == 1
    d = run_json("explain", f, "--linker", "C3DT", "--mechanisms", "surface")
    assert [(r["layers"], r["shift_meV"]) for r in d["data"]] == [(2, -3.0), (4, -4.5)]


def test_study_results_json(run_json, tmp_path):
    res = {
        "analyses": {
            "absorption-C3DT": {
                "linker": "C3DT",
                "gap_nm": 0.55,
                "spectra": [{"layers": 1}, {"layers": 3}],
                "shift_meV": [0.0, -5.0],
                "shift_meV_err": [0.0, 0.8],
            },
            "absorption-C10DT": {
                "linker": "C10DT",
                "gap_nm": 1.44,
                "spectra": [{"layers": 1}, {"layers": 3}],
                "shift_meV": [0.0, -2.0],
                "shift_meV_err": [0.0, 0.8],
            },
            "xrd": {"peaks": []},
        }
    }
    f = tmp_path / "results.json"
    f.write_text(json.dumps(res))
    d = run_json("explain", f, "--mechanisms", "surface,dielectric", "--no-pairs")
    assert [(r["linker"], r["shift_meV_err"]) for r in d["data"]] == [("C3DT", 0.8), ("C10DT", 0.8)]


@pytest.mark.parametrize(
    "content, args, where, cause",
    [
        ("linker,layers\nC3DT,8\n", (), "shifts.csv", "missing column(s) shift_meV"),
        ("layers,shift_meV\n8,-4\n", (), "shifts.csv", "linker or gap_nm"),
        ("linker,layers,shift_meV\nC3DT,8,abc\n", (), "shifts.csv", "not a number"),
        ("linker,layers,shift_meV\nC99DT,8,-4\n", (), "shifts.csv", "C99DT"),
        (
            "linker,layers,shift_meV\nC3DT,8,-4\n",
            ("--mechanisms", "tunnelling"),
            "shifts.csv",
            "cannot fix the 2 parameters",
        ),
        ("linker,layers,shift_meV\nC3DT,8,-4\n", (), "shifts.csv", "cannot fix"),
        (
            "linker,layers,shift_meV\nC3DT,8,-4\nC10DT,8,-2\n",
            ("--mechanisms", "magic"),
            "--mechanisms",
            "unknown mechanism",
        ),
        ("linker,layers,shift_meV,shift_meV_err\nC3DT,8,-4,-1\n", (), "shifts.csv", "positive"),
        ("linker,layers,shift_meV\nC3DT,2.5,-4\n", (), "shifts.csv", "whole number"),
    ],
)
def test_bad_input_is_one_error_line(run_cli, tmp_path, content, args, where, cause):
    f = tmp_path / "shifts.csv"
    f.write_text(content)
    code, out, err = run_cli("explain", f, *args)
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert where in err and cause in err, err


def test_missing_file_and_bad_json(run_cli, tmp_path):
    code, _, err = run_cli("explain", tmp_path / "nope.csv")
    assert code == 2 and "nope.csv" in err and "no such file" in err
    f = tmp_path / "x.json"
    f.write_text("{not json")
    code, _, err = run_cli("explain", f)
    assert code == 2 and "x.json" in err and err.count("\n") == 1


def test_xrd_period_column_sets_the_gap(run_json, tmp_path):
    f = tmp_path / "shifts.csv"
    f.write_text("linker,period_nm,layers,shift_meV\nC3DT,7.35,2,-2\nC3DT,,8,-3\nC10DT,8.3,8,-1\n")
    d = run_json("explain", f, "--mechanisms", "surface", "--no-pairs")
    assert [round(r["gap_nm"], 3) for r in d["data"]] == [0.55, 0.55, 1.5]
    assert d["data"][0]["linker"] == "C3DT (XRD)" and d["data"][1]["linker"] == "C3DT"
