"""`qdstack film` end to end."""

from __future__ import annotations

import pytest


def test_paper_check(run_json):
    d = run_json(
        "film",
        "--layers",
        20,
        "--edge-nm",
        6.8,
        "--gap-nm",
        0.55,
        "--measured-nm",
        130,
        "--measured-err-nm",
        10,
    )
    for key in (
        "period_nm",
        "period_nm_err",
        "thickness_nm",
        "thickness_nm_err",
        "gap_nm",
        "measured_nm",
        "z_score",
    ):
        assert key in d
    assert d["period_nm"] == pytest.approx(7.35) and d["thickness_nm"] == pytest.approx(147.0)
    assert d["z_score"] == pytest.approx(1.7)


def test_spread_and_text_output(run_cli):
    code, out, err = run_cli(
        "film",
        "--layers",
        20,
        "--edge-nm",
        6.8,
        "--gap-nm",
        0.55,
        "--edge-sd-nm",
        0.5,
        "--measured-nm",
        130,
        "--measured-err-nm",
        10,
    )
    assert code == 0, err
    assert "147.0 ± 2.2 nm" in out and "agrees" in out


def test_linker(run_json):
    try:
        from qdstack.linkers import linker_gap_nm  # noqa: F401
    except ImportError:
        pytest.skip("qdstack.linkers.linker_gap_nm not available yet")
    d = run_json("film", "--layers", 20, "--edge-nm", 6.8, "--linker", "C10DT")
    assert d["gap_nm"] == pytest.approx(1.45, abs=0.02)
    assert d["period_nm"] == pytest.approx(8.26, abs=0.03)
    code_ok = d["gap_source"].startswith("linker C10DT")
    assert code_ok


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--layers", 20, "--edge-nm", 6.8], "--gap-nm"),
        (["--layers", 20, "--edge-nm", 6.8, "--gap-nm", 0.5, "--linker", "C3DT"], "not both"),
        (["--layers", 0, "--edge-nm", 6.8, "--gap-nm", 0.5], "--layers"),
        (["--layers", 20, "--edge-nm", -6.8, "--gap-nm", 0.5], "--edge-nm"),
        (
            ["--layers", 20, "--edge-nm", 6.8, "--gap-nm", 0.5, "--propagation", "random"],
            "--propagation",
        ),
        (
            ["--layers", 20, "--edge-nm", 6.8, "--gap-nm", 0.5, "--measured-err-nm", 3],
            "--measured-nm",
        ),
    ],
)
def test_bad_options_exit_2(run_cli, args, needle):
    code, out, err = run_cli("film", *args)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_unknown_linker_exit_2(run_cli):
    try:
        from qdstack.linkers import linker_gap_nm  # noqa: F401
    except ImportError:
        pytest.skip("qdstack.linkers.linker_gap_nm not available yet")
    code, out, err = run_cli(
        "film", "--layers", 20, "--edge-nm", 6.8, "--linker", "NOT-A-LINKER-XYZ"
    )
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
