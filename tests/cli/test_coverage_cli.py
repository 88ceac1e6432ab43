"""``qdstack coverage``: OD -> dots per µm² and close-packed fraction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdstack.synthetic.absorption import film_absorbance


def test_json_with_ratio(run_json):
    r = run_json(
        "coverage", "--od", "0.012", "--edge-nm", "6.8", "--shell-nm", "0.5", "--od-ratio", "0.35"
    )
    assert (
        r["dots_per_um2"] > 0 and r["coverage_fraction"] > 0 and r["pitch_nm"] == pytest.approx(7.8)
    )
    assert r["coverage_fraction"] == pytest.approx(
        r["dots_per_um2"] / r["close_packed_dots_per_um2"]
    )
    assert "Maes" in r["cross_section_source"]


def test_od_alone_is_refused_with_advice(run_cli):
    code, out, err = run_cli("coverage", "--od", "0.012", "--edge-nm", "6.8")
    assert code == 2 and out == "" and "--od-ratio" in err and len(err.strip().splitlines()) == 1


def test_ratio_read_from_a_spectrum(run_json, tmp_path):
    e = np.linspace(2.2, 3.3, 400)
    a = film_absorbance(e, height_od=0.01)
    p = tmp_path / "mono.csv"
    p.write_text(
        "energy_eV,absorbance\n" + "\n".join(f"{x:.5f},{y:.6f}" for x, y in zip(e, a)) + "\n"
    )
    r = run_json("coverage", "--spectrum", p, "--od", "0.01", "--edge-nm", "6.8")
    # OD at the generator's first transition (2.473 eV) over the OD at 3.1 eV
    expected = float(np.interp(2.473, e, a) / np.interp(3.1, e, a))
    assert r["od_ratio_first_peak_to_3p1eV"] == pytest.approx(expected, rel=0.03)


def test_absorption_json(run_json, tmp_path):
    j = tmp_path / "results.json"
    j.write_text(
        json.dumps(
            {
                "spectra": [
                    {"file": "x.csv", "layers": 1, "od": 0.02},
                    {"file": "y.csv", "layers": 2, "od": 0.04},
                ]
            }
        )
    )
    r = run_json("coverage", "--absorption-json", j, "--edge-nm", "6.8", "--od-ratio", "0.4")
    assert r["od"] == 0.02
    r2 = run_json(
        "coverage", "--absorption-json", j, "--layers", "2", "--edge-nm", "6.8", "--od-ratio", "0.4"
    )
    assert r2["od"] == 0.04


@pytest.mark.parametrize(
    "args, text",
    [
        (["--od", "-1", "--edge-nm", "6.8", "--od-ratio", "0.4"], "--od"),
        (["--od", "0.01", "--edge-nm", "6.8", "--od-ratio", "0.4", "--sides", "3"], "--sides"),
    ],
)
def test_bad_values(run_cli, args, text):
    code, _, err = run_cli("coverage", *args)
    assert code == 2 and text in err
