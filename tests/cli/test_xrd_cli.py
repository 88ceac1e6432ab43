"""`qdstack xrd` end to end: contract JSON, two directions, figures, bad input (exit 2, one line)."""

from __future__ import annotations

import json

import pytest

from qdstack.synthetic import xrd_profile

CONTRACT_PEAK_KEYS = {"q_per_nm", "q_per_nm_err", "d_nm", "d_nm_err", "fwhm_per_nm"}


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    d = tmp_path_factory.mktemp("xrd")
    oop = d / "oop.xy"
    oop.write_text(xrd_profile([(0.82, 0.12, 300)], seed=1).to_text())
    ip = d / "ip_2theta.xy"
    ip.write_text(xrd_profile([(0.64, 0.09, 350)], x_unit="2theta", seed=2).to_text())
    return oop, ip


def test_contract_json(run_json, profiles):
    oop, _ = profiles
    d = run_json("xrd", oop, "--qmin", 0.45, "--qmax", 1.2, "--peaks", 1)
    assert set(d["peaks"][0]) >= CONTRACT_PEAK_KEYS
    pk = d["peaks"][0]
    assert pk["q_per_nm"] == pytest.approx(0.82, abs=0.005)
    assert pk["d_nm"] == pytest.approx(7.66, rel=0.01)
    assert d["method"] == "joint" and d["background"] == "powerlaw"
    assert d["x_unit"] == "nm^-1" and d["wavelength_nm"] is None


def test_raw_method_two_peaks_sorted(run_json, tmp_path):
    p = tmp_path / "two.xy"
    p.write_text(xrd_profile([(0.63, 0.08, 250), (0.82, 0.12, 300)], seed=5).to_text())
    d = run_json(
        "xrd",
        p,
        "--qmin",
        0.4,
        "--qmax",
        1.2,
        "--peaks",
        2,
        "--method",
        "raw",
        "--background",
        "powerlaw",
    )
    qs = [x["q_per_nm"] for x in d["peaks"]]
    assert qs == sorted(qs) and d["method"] == "raw" and d["sg_window_points"] is None
    assert qs[0] == pytest.approx(0.63, abs=0.005)


def test_directions_and_comparison_with_figures(run_cli, profiles, tmp_path):
    oop, ip = profiles
    out = tmp_path / "res"
    code, stdout, err = run_cli(
        "xrd",
        "--in-plane",
        ip,
        "--out-of-plane",
        oop,
        "--qmin",
        0.4,
        "--qmax",
        1.2,
        "--edge-nm",
        6.8,
        "--gap-nm",
        0.55,
        "--out",
        out,
    )
    assert code == 0, err
    d = json.loads((out / "results.json").read_text())
    assert [p["direction"] for p in d["peaks"]] == ["in-plane", "out-of-plane"]
    c = d["directions"]
    assert c["in_plane_period_nm"] == pytest.approx(9.82, rel=0.01)
    assert c["out_of_plane_period_nm"] == pytest.approx(7.66, rel=0.01)
    assert c["ratio"] == pytest.approx(0.78, abs=0.015)
    assert c["out_of_plane_vs_expected"]["expected_nm"] == pytest.approx(7.35)
    assert (
        d["in_plane"]["wavelength_source"] == "file"
    )  # the 2theta file states Cu K-alpha in its header
    for fig in (
        "xrd_in_plane_fit",
        "xrd_out_of_plane_fit",
        "xrd_in_plane_derivatives",
        "xrd_directions",
    ):
        assert (out / f"{fig}.png").stat().st_size > 10_000
    assert "ratio out/in" in stdout


def test_real_multiscan_file(run_cli, real_data_gpl):
    code, out, err = run_cli(
        "xrd",
        real_data_gpl / "xrd" / "inas_layer_radial_002_004.ras",
        "--scan",
        2,
        "--qmin",
        41.2,
        "--qmax",
        42.2,
        "--json",
    )
    assert code == 0, err
    d = json.loads(out)
    assert d["scan"] == 2 and d["n_scans"] == 2 and d["format"] == "ras"
    assert d["peaks"][0]["d_nm"] == pytest.approx(0.60583 / 4, rel=2e-3)  # InAs (004)


def test_linker_option(run_json, profiles):
    try:
        from qdstack.linkers import linker_gap_nm  # noqa: F401
    except ImportError:
        pytest.skip("qdstack.linkers.linker_gap_nm not available yet")

    oop, _ = profiles
    d = run_json("xrd", oop, "--qmin", 0.45, "--qmax", 1.2, "--edge-nm", 6.8, "--linker", "C3DT")
    assert d["comparison"]["gap_nm"] == pytest.approx(0.55, abs=0.02)
    assert d["comparison"]["gap_source"].startswith("linker C3DT")


@pytest.mark.parametrize(
    "content, args, needle",
    [
        ("q I\n0.1 5\n0.2 6\n0.3 x\n0.4 8\n0.5 9\n0.6 1\n0.7 2\n0.8 3\n", [], "line 4"),
        ("1 2\n3 4\n5 6\n7 8\n9 10\n11 12\n", [], "x unit is not named"),
        ("q I\n0.1 5\n0.2 6\n0.2 7\n0.3 8\n0.4 9\n0.5 3\n", [], "strictly ascending"),
        (None, ["--peaks", 9], "1-6"),
        (None, ["--edge-nm", 6.8], "needs the gap"),
        (
            None,
            ["--gap-nm", 0.5, "--linker", "C3DT", "--edge-nm", 6.8],
            "either --linker or --gap-nm",
        ),
        (None, ["--qmin", 5.0], "points in the q range"),
        (None, ["--wavelength-nm", 15.4], "not an X-ray wavelength"),
    ],
)
def test_bad_input_exit_2(run_cli, tmp_path, profiles, content, args, needle):
    path = profiles[0] if content is None else tmp_path / "bad.xy"
    if content is not None:
        path.write_text(content)
    if "--wavelength-nm" in args:
        path = profiles[1]
    code, out, err = run_cli("xrd", path, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert out == ""


def test_binary_and_missing_files(run_cli, tmp_path):
    b = tmp_path / "blob.dat"
    b.write_bytes(b"\x00\x01\x02" * 50)
    code, _, err = run_cli("xrd", b)
    assert code == 2 and "binary" in err and str(b) in err
    code, _, err = run_cli("xrd", tmp_path / "nope.xy")
    assert code == 2 and "no such file" in err
    code, _, err = run_cli("xrd", "--in-plane", b)
    assert code == 2 and "--out-of-plane" in err


def test_help_teaches(run_cli):
    code, out, _ = run_cli("xrd", "--help")
    assert code == 0
    for word in ("Savitzky-Golay", "--in-plane", "--wavelength-nm", "2 pi / q", "Example"):
        assert word in out
