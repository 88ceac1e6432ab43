"""``qdstack plqy``: contract JSON, figures, bad input."""

from __future__ import annotations

import json

import pytest

from qdstack.synthetic.plqy import sphere_spectra


@pytest.fixture
def sphere_files(tmp_path):
    return sphere_spectra(0.8, 0.3, 0.05, seed=7).write(tmp_path / "sphere")


def _args(p, response=True):
    a = [
        "plqy",
        "--empty",
        p["empty"],
        "--out-of-beam",
        p["out_of_beam"],
        "--in-beam",
        p["in_beam"],
    ]
    return a + (["--response", p["response"]] if response else [])


def test_contract_json(run_json, sphere_files):
    r = run_json(*_args(sphere_files))
    for key in (
        "plqy",
        "plqy_err",
        "absorptance",
        "absorptance_err",
        "laser_window_nm",
        "emission_window_nm",
    ):
        assert key in r
    assert len(r["laser_window_nm"]) == 2 and len(r["emission_window_nm"]) == 2
    assert abs(r["plqy"] - 0.8) < 4 * r["plqy_err"]
    assert abs(r["absorptance"] - 0.3) < 4 * r["absorptance_err"]
    assert r["response_corrected"] is True


def test_out_folder_and_summary(run_cli, sphere_files, tmp_path):
    code, out, err = run_cli(*_args(sphere_files), "--out", tmp_path / "o")
    assert code == 0, err
    assert "PLQY" in out and "laser window" in out
    assert (tmp_path / "o" / "plqy.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "o" / "results.json").read_text())["plqy"] > 0


def test_window_overrides(run_json, sphere_files):
    r = run_json(
        *_args(sphere_files), "--laser-window-nm", "400,410", "--emission-window-nm", "470,580"
    )
    assert r["laser_window_nm"] == [400.0, 410.0] and r["emission_window_nm"] == [470.0, 580.0]


def test_different_grids_exit_2(run_cli, sphere_files, tmp_path):
    from pathlib import Path

    lines = Path(sphere_files["in_beam"]).read_text().splitlines()
    bad = tmp_path / "in_beam_short.csv"
    bad.write_text("\n".join(lines[:-10]) + "\n")
    p = dict(sphere_files, in_beam=str(bad))
    code, out, err = run_cli(*_args(p))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "different grids" in err and "in_beam_short.csv" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "opt, value, text",
    [("--laser-window-nm", "400", "two different"), ("--noise", "poisson", "unknown noise model")],
)
def test_bad_options(run_cli, sphere_files, opt, value, text):
    code, _, err = run_cli(*_args(sphere_files), opt, value)
    assert code == 2 and text in err and len(err.strip().splitlines()) == 1


def test_missing_file(run_cli, sphere_files, tmp_path):
    p = dict(sphere_files, empty=str(tmp_path / "nope.csv"))
    code, _, err = run_cli(*_args(p))
    assert code == 2 and "nope.csv" in err
