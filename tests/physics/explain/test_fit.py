"""explain's fitter on synthetic shift tables with known truth.

Each table is made by a mechanism's prediction at chosen parameters plus Gaussian
noise drawn here (numpy, seeded): the fit code never sees the truth.
"""

import math
import zlib

import numpy as np
import pytest

from qdstack.errors import InputError, OptionError
from qdstack.physics.explain import (
    Conditions,
    Mechanism,
    ParameterSpec,
    context_from_parameters,
    explain,
    fit_mechanism,
    get_mechanism,
    make_table,
    register_mechanism,
)
from qdstack.physics.explain import base as explain_base

LAYERS = (2, 3, 4, 6, 8)


@pytest.fixture(scope="module")
def ctx():
    return context_from_parameters()


@pytest.fixture(scope="module")
def gaps():
    from qdstack.linkers import linker_gap_nm

    return linker_gap_nm("C3DT"), linker_gap_nm("C10DT")


def synthetic(ctx, gaps, truth: dict, sigma: float, rng, layers=LAYERS):
    """Table of shifts from the sum of the named mechanisms at `truth`, plus noise of `sigma` meV."""
    g = [gaps[0]] * len(layers) + [gaps[1]] * len(layers)
    cond = Conditions(g, list(layers) * 2, 295.0)
    clean = np.zeros(len(cond))
    for name, values in truth.items():
        clean += get_mechanism(name).predict(cond, ctx, **values)
    y = clean + rng.normal(0.0, sigma, clean.size)
    return make_table(list(cond.layers), y, [sigma] * len(y), gap_nm=g), clean


CASES = [
    ("tunnelling", {"barrier_eV": 0.5, "barrier_mass": 0.1}, 0.03),
    ("tunnelling", {"barrier_eV": 0.8, "barrier_mass": 0.2}, 0.01),
    ("dielectric", {"eps_dot": 5.0, "eps_linker": 2.1}, 0.3),
    ("dielectric", {"eps_dot": 8.0, "eps_linker": 2.5}, 0.2),
    ("surface", {"delta_nm": 0.2}, 0.2),
    ("surface", {"delta_nm": 0.08}, 0.1),
    ("fusion", {"fused_fraction": 0.15, "neck_nm": 2.2}, 0.02),
    ("fusion", {"fused_fraction": 0.08, "neck_nm": 2.4}, 0.01),
]


@pytest.mark.parametrize("name, truth, sigma", CASES)
def test_generating_mechanism_explains_at_least_90_percent(ctx, gaps, name, truth, sigma):
    # a seed fixed across processes (str hash() is salted per process: draws differed run to run)
    rng = np.random.default_rng(zlib.crc32(repr((name, sorted(truth.items()))).encode()))
    draws = 10
    explains = 0
    for _ in range(draws):
        table, _ = synthetic(ctx, gaps, {name: truth}, sigma, rng)
        fit = fit_mechanism(name, table, ctx)
        explains += fit.verdict == "explains"
    assert explains >= 0.9 * draws, f"{name} {truth}: explains in {explains}/{draws} draws"


@pytest.mark.parametrize("name, truth, sigma", CASES[::2])
def test_other_mechanisms_score_worse_or_are_reported_as_indistinguishable(
    ctx, gaps, name, truth, sigma
):
    rng = np.random.default_rng(7)
    table, clean = synthetic(ctx, gaps, {name: truth}, sigma, rng)
    res = explain(table, pairs=False, context=ctx)
    gen = res.get(name)
    assert gen.verdict == "explains"
    ties = [set(t["mechanisms"]) for t in res.indistinguishable]
    for other in res.mechanisms:
        if other.name == name:
            continue
        if other.aic <= gen.aic + 1e-9 and other.verdict == "explains":
            # as good as the truth with plausible parameters: the table cannot tell them apart,
            # and explain must say so (a rival that needs implausible parameters is told apart
            # by its verdict)
            assert {name, other.name} in ties, (other.name, other.aic, gen.aic)
        # a mechanism whose best curve misses the data by much more than the noise scores worse
        miss = np.max(np.abs(np.asarray(other.prediction_meV) - clean)) / sigma
        if miss > 5 and other.verdict != "explains":
            assert other.aic > gen.aic


def test_separating_measurement_is_what_the_mechanisms_predict(ctx, gaps):
    rng = np.random.default_rng(11)
    # small shifts under large errors: both mechanisms fit with plausible parameters
    table, _ = synthetic(ctx, gaps, {"surface": {"delta_nm": 0.1}}, 2.0, rng)
    res = explain(table, ["surface", "dielectric"], pairs=False, context=ctx)
    assert res.get("surface").verdict == res.get("dielectric").verdict == "explains"
    assert res.indistinguishable, "surface and dielectric both fit this table"
    tie = res.indistinguishable[0]
    kinds = {s["kind"] for s in tie["separating_measurements"]}
    assert kinds == {"more layers", "another linker", "temperature"}
    for s in tie["separating_measurements"]:
        cond = Conditions([s["gap_nm"]], [s["layers"]], [s["temperature_K"]])
        for mname, pred in s["predictions_meV"].items():
            f = res.get(mname)
            direct = get_mechanism(mname).predict(cond, ctx, **f.values())[0]
            assert pred == pytest.approx(direct, abs=1e-9)
        assert s["difference_meV"] == pytest.approx(
            abs(np.subtract(*s["predictions_meV"].values()))
        )


def test_ideal_chain_with_plausible_barrier_on_a_full_table_explains(ctx, gaps):
    rng = np.random.default_rng(3)
    table, _ = synthetic(
        ctx,
        gaps,
        {"tunnelling": {"barrier_eV": 1.0, "barrier_mass": 0.3}},
        0.005,
        rng,
        layers=range(2, 9),
    )
    fit = fit_mechanism("tunnelling", table, ctx)
    assert fit.verdict == "explains"
    assert all(p.plausible for p in fit.parameters.values())


def test_leaky_linker_is_implausible_and_names_the_barrier(ctx, gaps):
    rng = np.random.default_rng(4)
    table, _ = synthetic(
        ctx, gaps, {"tunnelling": {"barrier_eV": 0.05, "barrier_mass": 0.3}}, 0.1, rng
    )
    fit = fit_mechanism("tunnelling", table, ctx)
    assert fit.verdict == "implausible"
    p = fit.parameters["barrier_eV"]
    assert not p.plausible and p.value < p.plausible_min
    assert fit.parameters["barrier_eV"].at_bound  # the bounded fit sat on 0.5 eV
    assert fit.unbounded["chi2"] < fit.bounded["chi2"]


def test_shifts_out_of_reach_cannot_be_explained(ctx):
    table = make_table([8, 8], [-44.0, -14.2], linker=["C3DT", "C10DT"])
    fit = fit_mechanism("tunnelling", table, ctx)
    assert fit.verdict == "cannot"
    assert fit.chi2 > 50


def test_pairs_add_their_shifts(ctx, gaps):
    rng = np.random.default_rng(5)
    truth = {"dielectric": {"eps_dot": 5.0, "eps_linker": 2.1}, "surface": {"delta_nm": 0.25}}
    table, clean = synthetic(ctx, gaps, truth, 0.1, rng)
    res = explain(table, ["dielectric", "surface"], context=ctx)
    pair = res.get("dielectric+surface")
    assert pair.verdict == "explains"
    assert res.best == "dielectric+surface"
    for single in ("dielectric", "surface"):
        assert res.get(single).aic > pair.aic
    # the pair's prediction is the sum of its components' at its parameters
    v = pair.values()
    cond = table.conditions
    s = get_mechanism("dielectric").predict(
        cond, ctx, eps_dot=v["eps_dot"], eps_linker=v["eps_linker"]
    ) + get_mechanism("surface").predict(cond, ctx, delta_nm=v["delta_nm"])
    assert np.allclose(s, pair.prediction_meV)


def test_too_few_rows(ctx):
    table = make_table([8], [-10.0], linker=["C3DT"])
    with pytest.raises(InputError, match="cannot fix the 2 parameters"):
        fit_mechanism("tunnelling", table, ctx)
    with pytest.raises(InputError):
        explain(table, ["tunnelling"], strict=True, context=ctx)
    res = explain(table, ["surface", "tunnelling"], context=ctx)
    assert [m.name for m in res.mechanisms] == ["surface"]
    assert {s["name"] for s in res.not_fitted} == {"tunnelling", "surface+tunnelling"}


def test_unknown_linker_is_named():
    with pytest.raises(InputError, match="C99DT"):
        make_table([8], [-10.0], linker=["C99DT"])


def test_contract_keys(ctx):
    table = make_table(
        [3, 8, 3, 8], [-2.0, -3.0, -1.0, -1.5], linker=["C3DT", "C3DT", "C10DT", "C10DT"]
    )
    d = explain(table, ["surface", "dielectric"], context=ctx).to_dict()
    assert set(d) >= {"mechanisms", "best"}
    for m in d["mechanisms"]:
        assert set(m) >= {"name", "components", "parameters", "chi2", "dof", "aic", "verdict"}
        assert m["verdict"] in ("explains", "implausible", "cannot")
        for p in m["parameters"].values():
            assert set(p) >= {"value", "err", "plausible_min", "plausible_max", "at_bound"}
    assert d["best"] in [m["name"] for m in d["mechanisms"]]
    res = explain(table, ["surface"], context=ctx)
    text = res.summary()
    assert "surface" in text and "verdict" in text and "data and predictions" in text
    assert res.plot().axes  # the standard figure: data with the best mechanism's curves


class _Rigid(Mechanism):
    """A user's mechanism: every film layer shifted by the same amount (a test plug-in)."""

    name = "rigid_test"
    summary = "constant shift"
    parameters = (ParameterSpec("offset_meV", (-5.0, 0.0), (-100.0, 0.0), "test"),)

    def predict(self, conditions, context, *, offset_meV):
        return np.full(len(conditions), offset_meV)


def test_a_user_mechanism_plugs_in(ctx):
    register_mechanism(_Rigid(), replace=True)
    try:
        with pytest.raises(OptionError, match="already registered"):
            register_mechanism(_Rigid())
        table = make_table([2, 8], [-20.0, -20.0], [1.0, 1.0], linker=["C3DT", "C3DT"])
        res = explain(table, ["rigid_test", "surface"], context=ctx)
        rigid = res.get("rigid_test")
        assert rigid.verdict == "implausible"
        assert rigid.parameters["offset_meV"].value == pytest.approx(-20.0, abs=1e-3)
        assert math.isfinite(res.get("rigid_test+surface").chi2)
    finally:
        explain_base._REGISTRY.pop("rigid_test", None)
