"""``qdstack simulate --sizes``: the film model draws its dot edges from a measured size list."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdstack.errors import FileFormatError, InputError
from qdstack.io.sizes import MeasuredSizes, edge_pool, read_sizes
from qdstack.physics.film_model.ensemble import sample_edges
from qdstack.physics.film_model.parameters import FilmSpec


def test_sample_edges_resamples_the_pool():
    pool = np.array([6.0, 6.5, 9.0])
    e = sample_edges(3000, 4, 7.0, 0.5, seed=1, pool_nm=pool)
    assert e.shape == (3000, 4)
    assert set(np.unique(e)) <= set(pool)
    for v in pool:  # each value drawn about a third of the time
        assert np.mean(e == v) == pytest.approx(1 / 3, abs=0.02)
    # the first columns do not depend on how many dots are drawn (common random numbers)
    assert np.array_equal(
        sample_edges(50, 2, 7.0, 0.5, seed=3, pool_nm=pool),
        sample_edges(50, 5, 7.0, 0.5, seed=3, pool_nm=pool)[:, :2],
    )


def test_filmspec_checks_the_pool():
    FilmSpec(2, 0.5, 7.0, 3.0, edge_pool_nm=(5.0, 9.0))  # a wide pool is allowed
    with pytest.raises(InputError):
        FilmSpec(2, 0.5, 7.0, 0.5, edge_pool_nm=(7.0,))
    with pytest.raises(InputError):
        FilmSpec(2, 0.5, 7.0, 0.5, edge_pool_nm=(7.0, 0.5))


def test_lognormal_pool_follows_the_fit():
    rng = np.random.default_rng(2)
    sizes = rng.lognormal(np.log(8.0), 0.1, 500)
    pool = edge_pool(MeasuredSizes(sizes, "cube", "x", {"centre": 8.0, "width": 0.1}), "lognormal")
    assert np.median(pool) == pytest.approx(8.0, rel=1e-3)
    assert np.std(np.log(pool)) == pytest.approx(0.1, rel=0.01)
    assert np.array_equal(edge_pool(MeasuredSizes(sizes, None, "x"), "empirical"), sizes)


def test_read_sizes_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError, match="JSON"):
        read_sizes(bad)
    few = tmp_path / "few.json"
    few.write_text(json.dumps({"sizes_nm": [7.0, 7.1]}))
    with pytest.raises(FileFormatError, match="at least 10"):
        read_sizes(few)
    neg = tmp_path / "neg.json"
    neg.write_text(json.dumps([7.0] * 10 + [-1.0]))
    with pytest.raises(FileFormatError, match="positive"):
        read_sizes(neg)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"count": 3}))
    with pytest.raises(FileFormatError, match="sizes_nm"):
        read_sizes(other)


def test_simulate_uses_the_measured_sizes(run_json, run_cli, tmp_path):
    # dots all ~7.5 nm: the monolayer peak must be that of 7.5 nm dots (a narrow normal law at 7.5 nm),
    # not the default 6.8 +- 0.5 nm
    rng = np.random.default_rng(0)
    path = tmp_path / "tem_results.json"
    path.write_text(json.dumps({"sizes_nm": list(7.5 + rng.normal(0, 0.05, 200)), "shape": "cube"}))
    common = (
        "simulate",
        "--gap-nm",
        "0.5",
        "--layers",
        "1",
        "--realisations",
        "300",
        "--no-emission",
    )
    measured = run_json(*common, "--sizes", path)
    narrow = run_json(*common, "--edge-nm", "7.5", "--edge-sd-nm", "0.05")
    default = run_json(*common)
    assert measured["edge_distribution"]["law"] == "empirical"
    assert measured["edge_distribution"]["n_sizes"] == 200
    assert measured["peak_eV"][0] == pytest.approx(narrow["peak_eV"][0], abs=1.5e-3)
    assert abs(measured["peak_eV"][0] - default["peak_eV"][0]) > 0.01  # 6.8 nm dots absorb higher
    code, _, err = run_cli(*common, "--sizes", tmp_path / "missing.json")
    assert code == 2 and err.startswith("error: ") and "missing.json" in err


def test_read_sizes_from_a_study_results_file(tmp_path):
    sizes = [7.0 + 0.01 * i for i in range(20)]
    study = {
        "analyses": {
            "tem_a": {"sizes_nm": sizes, "shape": "cube"},
            "tem_b": {"sizes_nm": sizes[:12], "shape": "sphere"},
            "coupling": {"x": 1},
        }
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(study))
    with pytest.raises(FileFormatError, match="FILE::NAME"):
        read_sizes(path)
    assert read_sizes(f"{path}::tem_b").sizes_nm.size == 12
    with pytest.raises(FileFormatError, match="tem_c"):
        read_sizes(f"{path}::tem_c")
    del study["analyses"]["tem_b"]
    path.write_text(json.dumps(study))
    assert read_sizes(path).shape == "cube"
