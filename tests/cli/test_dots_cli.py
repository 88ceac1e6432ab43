"""``qdstack dots``: the contract JSON, figures, and clean errors."""

from __future__ import annotations

import json
import math

import pytest

CONTRACT = {"energies_meV", "coupling_meV", "grid_nm", "converged_meV"}
FAST = ("--grid-nm", "0.45")


def test_contract_json_for_the_pair(run_cli):
    code, out, err = run_cli(
        "dots",
        "--count",
        2,
        "--edge-nm",
        6.8,
        "--gap-nm",
        0.55,
        "--barrier-eV",
        1,
        "--mass",
        0.15,
        *FAST,
        "--json",
    )
    assert code == 0, err
    d = json.loads(out)  # exactly one JSON object on stdout
    assert CONTRACT <= set(d)
    e = d["energies_meV"]
    assert len(e) == 2 and e == sorted(e) and all(isinstance(v, float) for v in e)
    assert d["coupling_meV"] == pytest.approx((e[1] - e[0]) / 2)
    assert 0 < d["converged_meV"] < 0.3 and 0 < d["grid_nm"] <= 0.45
    assert d["barrier_mass"] == 0.15 and d["parities"] == ["+++", "++-"]


def test_chain_coupling_and_states(run_json):
    d = run_json(
        "dots",
        "--count",
        3,
        "--edge-nm",
        6.8,
        "--gap-nm",
        0.8,
        "--barrier-eV",
        1,
        "--mass",
        0.15,
        "--barrier-mass",
        0.2,
        "--states",
        3,
        *FAST,
    )
    e = d["energies_meV"]
    assert len(e) == 3
    # N > 2: beta = (E_N - E_1) / (4 cos(pi/(N+1))) from the lowest N states
    assert d["coupling_meV"] == pytest.approx((e[2] - e[0]) / (4 * math.cos(math.pi / 4)))
    assert d["barrier_mass"] == 0.2


def test_single_dot_has_no_coupling(run_json):
    d = run_json("dots", "--count", 1, "--edge-nm", 6.8, "--barrier-eV", 1, "--mass", 0.15, *FAST)
    assert d["coupling_meV"] is None and len(d["energies_meV"]) == 1


def test_out_writes_results_and_figures(run_cli, tmp_path):
    out = tmp_path / "dots"
    code, stdout, err = run_cli("dots", "--barrier-eV", 1, "--mass", 0.15, *FAST, "--out", out)
    assert code == 0, err
    assert "coupling beta" in stdout
    saved = json.loads((out / "results.json").read_text())
    assert CONTRACT <= set(saved)
    assert (out / "dots_levels.png").stat().st_size > 1000
    assert (out / "dots_wavefunctions.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "args, option",
    [
        (("--barrier-eV", -1, "--mass", 0.15), "--barrier-eV"),
        (("--barrier-eV", 1, "--mass", 0), "--mass"),
        (("--barrier-eV", 1, "--mass", 0.15, "--count", 0), "--count"),
        (("--barrier-eV", 1, "--mass", 0.15, "--gap-nm", -0.2), "--gap-nm"),
        (("--barrier-eV", 0.01, "--mass", 0.15, "--states", 30), "--states"),
        (("--barrier-eV", 1, "--mass", 0.15, "--backend", "tpu"), "--backend"),
        (("--barrier-eV", 1, "--mass", 0.15, "--grid-nm", 5), "--grid-nm"),
        (("--barrier-eV", 1, "--mass", 0.15, "--edge-sd-nm", -0.5), "--edge-sd-nm"),
        (("--barrier-eV", 1, "--mass", 0.15, "--in-plane", 0), "--in-plane"),
        (("--barrier-eV", 1, "--mass", 0.15, "--barrier-resolution", 0), "--barrier-resolution"),
        (("--barrier-eV", 1, "--mass", 0.15, "--merge-faces-nm", -0.1), "--merge-faces-nm"),
        (("--barrier-eV", 1, "--mass", 0.15, "--multipliers", "2,x"), "--multipliers"),
        (("--barrier-eV", 1, "--mass", 0.15, "--multipliers", "3,3"), "--multipliers"),
        (("--barrier-eV", 1, "--mass", 0.15, "--multipliers", "0,1"), "--multipliers"),
        (
            ("--barrier-eV", 1, "--mass", 0.15, "--in-plane", 2, "--in-plane-gap-nm", 0),
            "--in-plane-gap-nm",
        ),
        (
            ("--barrier-eV", 1, "--mass", 0.15, "--count", 1, "--in-plane", 2)
            + ("--in-plane-gap-nm", 0.05, "--edge-sd-nm", 2.5, "--seed", 0),
            "--edge-sd-nm",
        ),
    ],
)
def test_bad_options_exit_2_with_one_error_line(run_cli, args, option):
    code, out, err = run_cli("dots", *args, "--json")
    assert code == 2
    assert out == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and option in lines[0]


def test_help_teaches(run_cli):
    code, out, _ = run_cli("dots", "--help")
    assert code == 0
    for word in ("BenDaniel-Duke", "Richardson", "--barrier-mass", "coupling_meV", "Example"):
        assert word in out


def test_disordered_column_reports_the_drawn_edges(run_json):
    args = ("dots", "--count", 2, "--edge-sd-nm", 0.4, "--seed", 5)
    args += ("--barrier-eV", 1, "--mass", 0.15, "--grid-nm", 0.6)
    d = run_json(*args)
    assert d["shape"] == [1, 1, 2] and len(d["edges_nm"]) == 2
    assert d["edges_nm"][0] != d["edges_nm"][1]
    assert len(d["energies_meV"]) == 2 and d["energies_meV"][0] < d["energies_meV"][1]
    again = run_json(*args)  # the same seed draws the same edges
    assert again["energies_meV"] == d["energies_meV"]


def test_disordered_text_summary(run_cli):
    code, out, err = run_cli(
        "dots",
        "--count",
        2,
        "--edge-sd-nm",
        0.4,
        "--seed",
        5,
        "--barrier-eV",
        1,
        "--mass",
        0.15,
        "--grid-nm",
        0.6,
    )
    assert code == 0, err
    assert "2 cube(s) of " in out and "chain formula" in out


def _agree_within_estimates(a: dict, b: dict) -> None:
    """Every level of two runs' JSON within the sum of their error estimates."""
    ea, eb = a["energies_converged_meV"], b["energies_converged_meV"]
    for x, y, dx, dy in zip(a["energies_meV"], b["energies_meV"], ea, eb):
        assert abs(x - y) <= dx + dy


def test_merge_faces_option_reaches_the_solver(run_json):
    """--merge-faces-nm 0 (grid aligned with every face) vs 0.2 on a disordered pair at
    0.6 nm: the same levels within the two error estimates, and the aligned grid has more
    unknowns (the two edges, 6.48 and 6.27 nm, put faces 0.1 nm apart)."""
    args = ("dots", "--count", 2, "--edge-sd-nm", 0.4, "--seed", 5)
    args += ("--barrier-eV", 1, "--mass", 0.15, "--grid-nm", 0.6)
    merged = run_json(*args, "--merge-faces-nm", 0.2)
    aligned = run_json(*args, "--merge-faces-nm", 0)
    n = [max(lv["unknowns"] for lv in d["levels"]) for d in (merged, aligned)]
    assert n[1] > n[0]
    _agree_within_estimates(merged, aligned)


def test_multipliers_option_reaches_the_solver(run_json):
    """--multipliers 1,2,3 on a disordered pair: three grids with those multipliers (the
    coarsest cell three times --grid-nm), and the levels within the error estimates of the
    default family's."""
    args = ("dots", "--count", 2, "--edge-sd-nm", 0.4, "--seed", 5)
    args += ("--barrier-eV", 1, "--mass", 0.15, "--grid-nm", 0.6)
    fast = run_json(*args, "--multipliers", "1,2,3")
    default = run_json(*args)
    assert [lv["multiplier"] for lv in fast["levels"]] == [1, 2, 3]
    assert [lv["multiplier"] for lv in default["levels"]] == [2, 3, 4]
    _agree_within_estimates(fast, default)
