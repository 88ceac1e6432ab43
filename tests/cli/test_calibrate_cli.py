"""`qdstack calibrate` end to end."""

from __future__ import annotations

import json

import pytest


def test_shift_options_json(run_json):
    d = run_json(
        "calibrate", "--shift", "C3DT:3:-35", "--shift", "C10DT:3:-12:1.5", "--realisations", "150"
    )
    assert d["fit"] == "barrier" and d["coupling"] == "exponential"
    for key in (
        "barrier_eV",
        "barrier_eV_err",
        "coupling_amplitude_meV",
        "coupling_amplitude_meV_err",
        "barrier_plausible",
        "model_shift_meV",
        "residual_meV",
        "linkers",
        "warnings",
    ):
        assert key in d, key
    assert d["model_shift_meV"] == pytest.approx(
        [-35.0, -12.0], abs=0.05
    )  # two numbers, two parameters
    assert d["data"][1]["shift_meV_err"] == 1.5 and d["data"][0]["shift_meV_err"] == 2.0
    assert d["barrier_plausible"]["barrier_eV"] is False
    names = [r["linker"] for r in d["linkers"]]
    assert names[:2] == ["C10DT", "C3DT"] and "BPDT" in names


def test_table_engine_and_saved_parameters(run_cli, run_json, tmp_path):
    table = tmp_path / "shifts.csv"
    table.write_text("linker,layers,shift_meV,shift_meV_err\nC3DT,2,-4.0,0.5\nC4DT,2,-3.0,0.5\n")
    saved = tmp_path / "mine.json"
    code, out, err = run_cli(
        "calibrate",
        table,
        "--coupling",
        "engine",
        "--realisations",
        "150",
        "--save-parameters",
        saved,
        "--out",
        tmp_path / "cal",
    )
    assert code == 0, err
    assert "plausible" in out and "implied couplings" in out
    d = json.loads((tmp_path / "cal" / "results.json").read_text())
    assert d["coupling"] == "engine" and d["reach_meV"] is not None
    assert (tmp_path / "cal" / "calibration.png").stat().st_size > 10_000
    sim = run_json(
        "simulate",
        "--linker",
        "C3DT",
        "--layers",
        "1,2",
        "--parameters",
        saved,
        "--realisations",
        "150",
        "--no-emission",
    )
    assert sim["coupling"] == "engine"
    assert sim["parameter_values"]["barrier_e_eV"] == pytest.approx(d["barrier_eV"])


@pytest.mark.parametrize(
    "args, where",
    [
        (("--shift", "C3DT-8--44"), "--shift"),
        (("--shift", "C3DT:x:-44"), "--shift"),
        (("--shift", "C3DT:1:-44"), "--shift"),
        (("--shift", "NOPE:8:-44", "--shift", "C3DT:8:-44"), "NOPE"),
        (("missing.csv",), "missing.csv"),
        (("--shift", "C3DT:8:-44", "--fit", "all"), "--fit"),
        (
            (
                "--shift",
                "C3DT:8:-44",
            ),
            "calibrate",
        ),  # one number cannot fix barrier and amplitude
    ],
)
def test_bad_input_exits_2(run_cli, args, where):
    code, out, err = run_cli("calibrate", *args, "--realisations", "100")
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and where in lines[0], err
