"""Manifest entries ``tem`` and ``lattice``: validation with line numbers, tasks, results, report section."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from qdstack.study.manifest import ManifestError, parse_manifest

BASE = """
[study]
name = "sizes"

[[sample]]
name = "dots"
layers = 1
"""


@pytest.mark.parametrize(
    "extra, line, needle",
    [
        ("tem = [{file = 'a.dm4', shape = 'rod'}]", 8, "shape"),
        ("tem = [{file = 'a.png', pixel_nm = 1, scale_bar_nm = 50}]", 8, "not both"),
        ("tem = [{file = 'a.png', crop = [10, 0, 5, 9]}]", 8, "crop"),
        ("lattice = [{file = 'a.dm4', crystal = 'Kryptonite'}]", 8, "unknown crystal"),
        ("lattice = [{file = 'a.dm4', pixel_nm = -1}]", 8, "pixel_nm"),
    ],
)
def test_bad_entries_name_line_and_key(extra, line, needle):
    with pytest.raises(ManifestError) as info:
        parse_manifest(BASE + extra + "\n", "study.toml")
    assert f"line {line}" in str(info.value)
    assert needle in str(info.value)


def test_shorthand_and_files_listed():
    study = parse_manifest(BASE + "tem = 'tem/a.dm4'\nlattice = ['hr/b.emd']\n")
    s = study.sample[0]
    assert s.tem[0].file.name == "a.dm4" and s.tem[0].shape == "auto"
    assert s.lattice[0].file.name == "b.emd"
    assert [p.name for p in study.input_files()] == ["a.dm4", "b.emd"]


def test_study_runs_tem_and_lattice(tmp_path, real_data):
    from qdstack.study.runner import run_study
    from qdstack.synthetic.tem import lattice_image

    tem_dir = tmp_path / "tem"
    tem_dir.mkdir()
    shutil.copy(real_data / "tem" / "JEOL_HAADF_Image.dm4", tem_dir / "particles.dm4")
    import tifffile

    img = lattice_image((256, 256), pixel_nm=0.02, a_nm=0.5874, seed=3).astype(np.float32)
    tifffile.imwrite(
        tem_dir / "fringes.tif",
        img,
        imagej=True,
        resolution=(1 / 0.02, 1 / 0.02),
        metadata={"unit": "nm"},
    )
    manifest = tmp_path / "study.toml"
    manifest.write_text(
        BASE + 'tem = [{file = "tem/particles.dm4"}]\n'
        'lattice = [{file = "tem/fringes.tif", crystal = "CsPbBr3"}]\n'
    )
    run = run_study(manifest, tmp_path / "out")
    assert not run.errors, run.errors
    results = json.loads((tmp_path / "out" / "results.json").read_text())["analyses"]
    t = results["tem_dots"]
    assert {"pixel_nm", "count", "excluded", "shape", "size_nm", "sizes_nm"} <= set(t)
    assert 8.5 <= t["size_nm"]["median"] <= 10.0
    lat = results["lattice_dots"]
    assert lat["spacings"][0]["hkl"] == "(100)"
    assert lat["spacings"][0]["d_nm"] == pytest.approx(0.5874, rel=0.005)
    assert lat["scale_factor"] == pytest.approx(1.0, abs=0.005)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Particle sizes (TEM): dots" in html and "Lattice spacings: dots" in html
