"""Manifest entries ``plqy`` and ``dipcoat``: run in a study, reported, line-numbered errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdstack.study.manifest import ManifestError, load_manifest, parse_manifest
from qdstack.study.runner import run_study
from qdstack.synthetic.dipcoat import dipcoat_table, write_dipcoat_table
from qdstack.synthetic.plqy import sphere_spectra


def _study(tmp_path, extra_sample=""):
    d = tmp_path / "study"
    sphere_spectra(0.8, 0.3, 0.05, seed=11).write(d / "plqy")
    u, y, e = dipcoat_table(np.geomspace(0.01, 10, 10), seed=3)
    write_dipcoat_table(d / "dip.csv", u, y, e)
    (d / "study.toml").write_text(
        '[study]\nname = "sample preparation"\n\n'
        '[[sample]]\nname = "QDs in solution"\nlayers = 0\n'
        'plqy = {empty = "plqy/empty.csv", out_of_beam = "plqy/out_of_beam.csv", in_beam = "plqy/in_beam.csv", '
        'response = "plqy/response.csv"}\n\n'
        '[[sample]]\nname = "first layer"\nlayers = 1\n'
        'dipcoat = {table = "dip.csv", target_od = 0.05}\n' + extra_sample
    )
    return d / "study.toml"


def test_study_runs_plqy_and_dipcoat(tmp_path):
    m = _study(tmp_path)
    run = run_study(m, tmp_path / "out")
    assert not run.errors, run.errors
    r = json.loads((tmp_path / "out" / "results.json").read_text())["analyses"]
    q = r["plqy_QDs_in_solution"]
    assert abs(q["plqy"] - 0.8) < 4 * q["plqy_err"]
    dc = r["dipcoat_first_layer"]
    assert dc["minimum_speed_mm_per_s"] is not None and len(dc["speed_for_target_mm_per_s"]) == 2
    html = (tmp_path / "out" / "report.html").read_text()
    assert "PLQY: QDs in solution" in html and "Dip coating: first layer" in html
    assert "PLQY (sphere)" in html and "dip coating" in html


def test_unknown_key_has_a_line_number(tmp_path):
    text = _study(tmp_path).read_text().replace("target_od = 0.05", "target_odd = 0.05")
    with pytest.raises(ManifestError, match=r"line 12: .*dipcoat"):
        parse_manifest(text, "study.toml")


def test_missing_plqy_file_is_named(tmp_path):
    m = _study(tmp_path)
    (m.parent / "plqy" / "in_beam.csv").unlink()
    with pytest.raises(ManifestError, match=r"line 7: file 'plqy/in_beam.csv' does not exist"):
        load_manifest(m)


def test_bad_window_is_refused(tmp_path):
    text = (
        _study(tmp_path)
        .read_text()
        .replace('response = "plqy/response.csv"}', "laser_window_nm = [405, 405]}")
    )
    with pytest.raises(ManifestError, match="laser_window_nm needs two different"):
        parse_manifest(text, "study.toml")
