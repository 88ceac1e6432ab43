"""Boltzmann averages (analytic) and the LinkerGeometry result object."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qdstack.errors import InputError
from qdstack.linkers import (
    LinkerGeometry,
    boltzmann_mean,
    boltzmann_weights,
    get_linker,
    linker_gap_nm,
)
from qdstack.units import K_B_MEV_PER_K


def test_two_level_populations_are_analytic():
    t = 300.0
    kt = K_B_MEV_PER_K * t
    w = boltzmann_weights([0.0, kt * math.log(2)], t)
    np.testing.assert_allclose(w, [2 / 3, 1 / 3], rtol=1e-12)
    assert boltzmann_mean([1.0, 4.0], [0.0, kt * math.log(2)], t) == pytest.approx(2.0)


def test_limits_and_shift_invariance():
    e = [0.0, 5.0, 30.0]
    d = [1.0, 2.0, 3.0]
    assert boltzmann_mean(d, e, 1e-3) == pytest.approx(1.0)
    assert boltzmann_mean(d, e, 1e9) == pytest.approx(2.0)
    assert boltzmann_mean(d, np.add(e, 1000.0), 298.15) == pytest.approx(
        boltzmann_mean(d, e, 298.15)
    )
    # large energies do not overflow
    assert boltzmann_mean(d, [0.0, 1e6, 1e7], 1.0) == 1.0


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "warm"])
def test_bad_temperatures(bad):
    with pytest.raises(InputError) as err:
        boltzmann_weights([0.0, 1.0], bad)
    assert err.value.source == "temperature_K"


def test_mismatched_lengths():
    with pytest.raises(InputError):
        boltzmann_mean([1.0], [0.0, 1.0], 300)


def test_to_dict_holds_the_contract_keys():
    g = get_linker("C3DT")
    d = g.to_dict()
    contract = {
        "name": str,
        "smiles": str,
        "method": str,
        "ss_distance_nm": float,
        "conformer": str,
    }
    for key, typ in contract.items():
        assert isinstance(d[key], typ), key
    assert (d["name"], d["smiles"], d["method"], d["conformer"]) == (
        "C3DT",
        "SCCCS",
        "mmff",
        "anti",
    )
    assert d["ss_distance_nm"] == g.anti_ss_distance_nm
    assert len(d["conformers"]) == d["n_conformers"] == g.n_conformers
    assert sum(c["population"] for c in d["conformers"]) == pytest.approx(1.0)
    assert d["anti_relative_energy_meV"] >= 0
    assert d["conformers"][0]["relative_energy_meV"] == 0.0


def test_geometry_is_frozen_and_copies_are_new_objects():
    g = get_linker("C4DT")
    with pytest.raises(AttributeError):
        g.ss_distance_nm = 1.0  # type: ignore[misc]
    b = g.with_conformer("boltzmann", 400.0)
    assert b is not g and g.conformer == "anti" and b.temperature_K == 400.0
    assert b.ss_distance_nm == pytest.approx(
        boltzmann_mean(g.ensemble_ss_distance_nm, g.ensemble_energy_meV, 400.0)
    )
    assert isinstance(b, LinkerGeometry)


def test_gap_nm_method():
    g = get_linker("BDT")
    assert linker_gap_nm(g) == g.ss_distance_nm
    assert linker_gap_nm(g, offset_nm=0.25) == pytest.approx(g.ss_distance_nm + 0.25)
    with pytest.raises(InputError) as err:
        linker_gap_nm(g, offset_nm=-2)
    assert err.value.source == "offset_nm"


@pytest.mark.parametrize(
    "args",
    [
        ("C3DT",),
        ("BDT", "--conformer", "lowest", "--offset-nm", "0.1"),
        ("C10DT", "--method", "gfn2", "--conformer", "boltzmann", "--temperature", "350"),
    ],
)
def test_summary_is_what_the_cli_prints(args, run_cli):
    """``LinkerGeometry.summary()`` reproduces ``qdstack linker`` line for line (the CLI's own code)."""
    opts = dict(zip(args[1::2], args[2::2]))
    g = get_linker(
        args[0],
        method=opts.get("--method", "mmff"),
        conformer=opts.get("--conformer", "anti"),
        temperature_K=float(opts.get("--temperature", 298.15)),
    )
    code, out, err = run_cli("linker", *args)
    assert code == 0, err
    offset = float(opts.get("--offset-nm", 0.0))
    text = "\n".join(g.summary_blocks(offset_nm=offset))
    assert text.splitlines() == out.rstrip("\n").splitlines()
    assert g.summary() == "\n".join(g.summary_blocks())


def test_summary_numbers_and_result_interface():
    g = get_linker("C4DT")
    lines = g.summary_blocks(offset_nm=0.25)
    assert f"S-S distance  {g.anti_ss_distance_nm:.4f} nm" in lines[3]
    assert lines[-1].startswith(f"gap used by the models  {g.ss_distance_nm + 0.25:.4f} nm")
    assert f"over {g.n_conformers} distinct minima" in g.summary()
    html = g._repr_html_()
    assert "C4DT" in html and "<script" not in html
    assert json.loads(g.to_json()) == json.loads(json.dumps(g.to_dict()))
    assert g.covariance is None and g.correl is None  # nothing fitted
    with pytest.raises(InputError):
        g.summary_blocks(offset_nm=-5.0)  # a non-positive gap, as linker_gap_nm says


def test_plot_shows_every_minimum_and_the_distances():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    g = get_linker("C10DT", method="gfn2")
    fig = g.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], g.ensemble_ss_distance_nm)
    np.testing.assert_allclose(points[:, 1], g.ensemble_energy_meV)
    vlines = [
        line.get_xdata()[0] for line in ax.lines if line.get_xdata()[0] == line.get_xdata()[1]
    ]
    assert g.anti_ss_distance_nm in vlines and g.boltzmann_ss_distance_nm in vlines
    assert g.paper_ss_distance_nm in vlines
    # a rigid linker is not magnified: its 0.0001 nm spread sits on a 0.1 nm wide axis
    lo, hi = get_linker("BDT").plot().axes[0].get_xlim()
    assert hi - lo == pytest.approx(0.1)
