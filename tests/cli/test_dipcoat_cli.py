"""``qdstack dipcoat``: contract JSON, one-branch tables, the additive trend, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.synthetic.dipcoat import dipcoat_table, write_dipcoat_table


@pytest.fixture
def table(tmp_path):
    u, y, e = dipcoat_table(np.geomspace(0.01, 10, 12), seed=5)
    p = tmp_path / "dip.csv"
    write_dipcoat_table(p, u, y, e)
    return p


def test_contract_json(run_json, table):
    r = run_json("dipcoat", table, "--target-od", "0.05")
    keys = (
        "capillary_coef",
        "capillary_coef_err",
        "draining_coef",
        "draining_coef_err",
        "minimum_speed_mm_per_s",
        "regimes",
        "speed_for_target_mm_per_s",
    )
    assert all(k in r for k in keys)
    assert len(r["regimes"]) == 12 and set(r["regimes"]) == {"capillary", "draining"}
    assert 0.3 < r["minimum_speed_mm_per_s"] < 0.7
    assert len(r["speed_for_target_mm_per_s"]) == 2


def test_without_target_the_speed_is_null(run_json, table):
    assert run_json("dipcoat", table)["speed_for_target_mm_per_s"] is None


def test_one_branch_minimum_is_null(run_cli, tmp_path):
    u, y, e = dipcoat_table(np.geomspace(2, 10, 7), seed=1)
    p = tmp_path / "fast.csv"
    write_dipcoat_table(p, u, y, e)
    code, out, err = run_cli("dipcoat", p, "--json")
    import json

    r = json.loads(out)
    assert code == 0 and r["minimum_speed_mm_per_s"] is None and set(r["regimes"]) == {"draining"}
    assert "not determined" in err


def test_coverage_column_and_figure(run_cli, tmp_path):
    u, y, e = dipcoat_table(np.geomspace(0.01, 10, 10), seed=2)
    p = tmp_path / "cov.csv"
    write_dipcoat_table(p, u, y * 20, None, column="coverage")
    code, out, err = run_cli("dipcoat", p, "--target-coverage", "1.0", "--out", tmp_path / "o")
    assert code == 0, err
    assert (tmp_path / "o" / "dipcoat.png").stat().st_size > 10_000
    code, _, err = run_cli("dipcoat", p, "--target-od", "0.05")
    assert code == 2 and "coverage" in err


def test_additive_trend(run_json, tmp_path):
    p = tmp_path / "diglyme.csv"
    p.write_text(
        "diglyme_fraction,od\n0,0.010\n0.1,0.021\n0.2,0.027\n0.3,0.031\n0.4,0.030\n0.5,0.024\n"
    )
    r = run_json("dipcoat", p, "--x-column", "diglyme_fraction", "--target-od", "0.02")
    assert r["degree"] == 2 and 0.25 < r["x_at_maximum"] < 0.4 and len(r["x_for_target"]) == 1


@pytest.mark.parametrize(
    "text, msg",
    [
        ("speed_mm_per_s,thickness\n1,2\n2,3\n3,4\n", "missing column od"),
        ("speed_mm_per_s,od\n1,0.1\n2,0.2\n", "at least 3"),
        ("speed_mm_per_s,od\n-1,0.1\n2,0.2\n3,0.3\n", "positive"),
        ("speed_mm_per_s,od\n1,0.1\n2,abc\n3,0.3\n", "line 3"),
    ],
)
def test_bad_tables_exit_2(run_cli, tmp_path, text, msg):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    code, out, err = run_cli("dipcoat", p)
    assert code == 2 and out == "" and msg in err and "bad.csv" in err
    assert len(err.strip().splitlines()) == 1
