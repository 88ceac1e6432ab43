"""`qdstack angle` end to end: angles from names or --angles, contract JSON, figures, bad input."""

from __future__ import annotations

import json

import pytest

from qdstack.cli.angle import angle_from_name
from qdstack.errors import OptionError
from qdstack.synthetic import angle_pl_series


@pytest.fixture(scope="module")
def series_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("angle")
    s = angle_pl_series(
        (0, 20, 40, 60), mechanism="anisotropic", fraction=0.3, offset_meV=25, seed=9
    )
    paths = []
    for i, a in enumerate(s.angles_deg):
        p = d / f"film_{int(a)}deg.csv"
        p.write_text(s.to_text(i))
        paths.append(p)
    return paths


@pytest.mark.parametrize(
    "name, angle",
    [
        ("pl_30deg.csv", 30.0),
        ("pl_30 deg.txt", 30.0),
        ("pl_45°.csv", 45.0),
        ("angle15.csv", 15.0),
        ("theta_-20.csv", -20.0),
        ("N6_C3DT_60deg.csv", 60.0),
        ("sample.csv", None),
        ("pl_7.5deg.csv", 7.5),
    ],
)
def test_angle_from_name(name, angle):
    assert angle_from_name(name) == angle


def test_ambiguous_name():
    with pytest.raises(OptionError):
        angle_from_name("angle10_20deg.csv")


def test_contract_and_figures(run_cli, series_files, tmp_path):
    out = tmp_path / "res"
    code, stdout, err = run_cli("angle", *series_files, "--out", out, "--json")
    assert code == 0, err
    d = json.loads(stdout)
    assert d == json.loads((out / "results.json").read_text())
    assert d["angles_deg"] == [0.0, 20.0, 40.0, 60.0]
    for key in ("peak_eV", "fwhm_meV", "intensity", "shift_meV"):
        assert len(d[key]) == 4
    assert d["shift_meV"][0] == 0.0 and d["shift_meV"][-1] < 0
    m = d["model"]
    assert m["name"] == "anisotropic-emission"
    assert {"fraction", "fraction_err", "offset_meV", "offset_meV_err"} <= set(m)
    assert d["selection"]["preferred"] == m["name"]
    for fig in ("angle_spectra", "angle_shift"):
        assert (out / f"{fig}.png").stat().st_size > 10_000


def test_angles_option_overrides_names(run_json, series_files):
    d = run_json("angle", *series_files[:3], "--angles", "0,10,20")
    assert d["angles_deg"] == [0.0, 10.0, 20.0]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--angles", "0,10"], "3 spectra but 2 angles"),
        (["--angles", "0,10,95"], "between -90 and 90"),
        (["--n-film", "0.5"], "--n-film"),
    ],
)
def test_bad_options(run_cli, series_files, args, needle):
    code, out, err = run_cli("angle", *series_files[:3], *args)
    assert code == 2 and out == ""
    assert err.startswith("error:") and needle in err and len(err.strip().splitlines()) == 1


def test_missing_angle_and_bad_file(run_cli, tmp_path, series_files):
    p = tmp_path / "sample.csv"
    p.write_text(series_files[0].read_text())
    code, _, err = run_cli("angle", p, series_files[1])
    assert code == 2 and "no angle in the file name" in err and str(p) in err
    bad = tmp_path / "bad_10deg.csv"
    bad.write_text("wavelength_nm,counts\n500,1\n501,x\n502,3\n503,4\n504,5\n")
    code, _, err = run_cli("angle", bad, series_files[1])
    assert code == 2 and str(bad) in err and "line 3" in err
