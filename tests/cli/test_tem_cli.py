"""``qdstack tem`` and ``qdstack lattice`` from the command line: contract JSON, figures, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _png(path, img):
    from PIL import Image

    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def micrograph(tmp_path_factory):
    """A synthetic bright-field micrograph as a PNG with a burned-in 50 nm scale bar (100 px at 0.5 nm/px)."""
    from qdstack.synthetic.tem import tem_micrograph

    sim = tem_micrograph((400, 400), n_particles=80, size_nm=8.0, size_sd_nm=0.8, seed=9)
    img = sim.image / sim.image.max() * 200
    img[380:383, 20:120] = 255  # 100 px
    path = _png(tmp_path_factory.mktemp("tem") / "film.png", img)
    return path, sim


def test_tem_json_contract(run_json, micrograph):
    path, sim = micrograph
    d = run_json("tem", path, "--scale-bar-nm", "50")
    assert d["pixel_nm"] == pytest.approx(0.5)
    assert {"pixel_nm", "count", "excluded", "shape", "size_nm", "sizes_nm"} <= set(d)
    assert set(d["excluded"]) == {"border", "unsplit_clusters"}
    assert d["shape"] == "cube"
    assert isinstance(d["count"], int) and d["count"] == len(d["sizes_nm"])
    assert d["size_nm"]["mean"] == pytest.approx(sim.sizes_inside_nm.mean(), rel=0.03)
    assert d["image"]["scale_bar"]["length_px"] == 100


def test_tem_out_writes_results_and_figures(run_cli, micrograph, tmp_path):
    path, _ = micrograph
    code, out, err = run_cli(
        "tem", path, "--pixel-nm", "0.5", "--shape", "cube", "--out", tmp_path / "res"
    )
    assert code == 0, err
    assert "particles counted" in out
    for name in ("results.json", "tem_overlay.png", "tem_histogram.png"):
        assert (tmp_path / "res" / name).stat().st_size > 1000
    saved = json.loads((tmp_path / "res" / "results.json").read_text())
    assert saved["shape"] == "cube"


def test_tem_real_dm4(run_json, real_data):
    d = run_json("tem", real_data / "tem" / "JEOL_HAADF_Image.dm4")
    assert d["pixel_nm"] == pytest.approx(1.249, rel=1e-3)
    assert d["shape"] == "sphere"
    assert 8.5 <= d["size_nm"]["median"] <= 10.0


def test_tem_screenshot_crop(run_json, real_data):
    d = run_json(
        "tem",
        real_data / "tem" / "CsPbBr3_TEMNanocrystals_loaded.png",
        "--crop",
        "198,192,574,568",
        "--scale-bar-nm",
        "100",
        "--shape",
        "cube",
    )
    assert d["pixel_nm"] == pytest.approx(100 / 71)
    assert 9.0 <= d["size_nm"]["median"] <= 10.5


def _one_error_line(err, *words):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], err


def test_tem_bad_input(run_cli, micrograph, tmp_path):
    path, _ = micrograph
    code, _, err = run_cli("tem", path)
    assert code == 2
    _one_error_line(err, "film.png", "--pixel-nm")
    odd = tmp_path / "image.xyz"
    odd.write_text("nothing")
    code, _, err = run_cli("tem", odd, "--pixel-nm", "1")
    assert code == 2
    _one_error_line(err, "unknown image format")
    noise = _png(tmp_path / "noise.png", np.random.default_rng(0).normal(120, 25, (200, 200)))
    code, _, err = run_cli("tem", noise, "--scale-bar-nm", "100")
    assert code == 2
    _one_error_line(err, "no scale bar")
    flat = _png(tmp_path / "flat.png", np.full((100, 100), 90.0))
    code, _, err = run_cli("tem", flat, "--pixel-nm", "1")
    assert code == 2
    _one_error_line(err, "flat.png")
    code, _, err = run_cli("tem", path, "--pixel-nm", "0.5", "--crop", "1,2,3")
    assert code == 2
    _one_error_line(err, "--crop")
    code, _, err = run_cli("tem", path, "--pixel-nm", "0.5", "--shape", "rod")
    assert code == 2
    _one_error_line(err, "--shape")
    code, _, err = run_cli("tem", tmp_path / "missing.dm4")
    assert code == 2
    _one_error_line(err, "no such file")


@pytest.fixture(scope="module")
def lattice_png(tmp_path_factory):
    from qdstack.synthetic.tem import lattice_image

    img = lattice_image((256, 256), pixel_nm=0.02, a_nm=0.3905, seed=1)
    return _png(tmp_path_factory.mktemp("lat") / "sto.png", img / img.max() * 250)


def test_lattice_json_contract(run_json, lattice_png):
    d = run_json("lattice", lattice_png, "--pixel-nm", "0.02", "--crystal", "SrTiO3")
    assert {"pixel_nm", "spacings", "scale_factor"} <= set(d)
    assert d["spacings"][0]["hkl"] == "(100)"
    assert d["spacings"][0]["d_nm"] == pytest.approx(0.3905, rel=0.005)
    assert {"d_nm", "d_nm_err", "hkl"} <= set(d["spacings"][0])
    ds = [s["d_nm"] for s in d["spacings"]]
    assert ds == sorted(ds, reverse=True)
    assert d["scale_factor"] == pytest.approx(1.0, abs=0.005)
    d = run_json("lattice", lattice_png, "--pixel-nm", "0.02")
    assert d["scale_factor"] is None and d["spacings"][0]["hkl"] is None


def test_lattice_real_ser_and_figures(run_cli, real_data, tmp_path):
    code, out, err = run_cli(
        "lattice",
        real_data / "tem" / "16_STOimage_1.ser",
        "--crystal",
        "SrTiO3",
        "--out",
        tmp_path / "lat",
    )
    assert code == 0, err
    assert "scale factor" in out and "scaled by" in err
    for name in ("results.json", "lattice_fft.png", "lattice_profile.png"):
        assert (tmp_path / "lat" / name).stat().st_size > 1000


def test_lattice_bad_input(run_cli, lattice_png):
    code, _, err = run_cli("lattice", lattice_png, "--pixel-nm", "0.02", "--crystal", "Kryptonite")
    assert code == 2
    _one_error_line(err, "--crystal")
    code, _, err = run_cli("lattice", lattice_png)
    assert code == 2
    _one_error_line(err, "--pixel-nm")
