"""The notebook side of explain: reading a shift table in Python, one figure per mechanism."""

from pathlib import Path

import numpy as np
import pytest

from qdstack.physics import explain_shifts, read_shift_table
from qdstack.physics.explain import mechanism_curves

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "explain" / "enomoto2024_shifts.csv"


@pytest.fixture(scope="module")
def paper():
    table = read_shift_table(EXAMPLE)
    return explain_shifts(table, ["surface", "tunnelling"], pairs=False)


def test_read_shift_table_reads_the_paper_csv():
    t = read_shift_table(EXAMPLE)
    # the numbers as the CSV states them (Enomoto et al. 2024, N = 8)
    assert list(t.labels) == ["C3DT", "C10DT"]
    assert t.shift_meV.tolist() == [-44.0, -14.2]
    assert t.shift_meV_err.tolist() == [2.83, 2.83]
    assert t.conditions.layers.tolist() == [8, 8]


def test_plot_draws_the_named_mechanism_with_its_plausible_fit_dashed(paper):
    tun = paper.get("tunnelling")
    assert tun.verdict == "cannot"  # so the bounded fit is drawn dashed beside the unbounded one
    ax = paper.plot(mechanism="tunnelling").axes[0]
    assert ax.get_title().startswith("tunnelling: cannot")
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 2]
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(solid) == 2 and len(dashed) == 2  # one curve per linker, each fit
    # the solid curves are the reported fit's S(N); at N = 8 they are its predictions
    curves = mechanism_curves(paper, "tunnelling")
    for ln, (n, s) in zip(solid, curves.values()):
        assert np.allclose(ln.get_ydata(), s)
    assert [float(c[1][7]) for c in curves.values()] == pytest.approx(list(tun.prediction_meV))
    # without the plausible fit: solid lines only; the default is the best mechanism
    assert not [
        ln
        for ln in paper.plot(mechanism="tunnelling", plausible=False).axes[0].lines
        if ln.get_linestyle() == "--"
    ]
    assert paper.plot().axes[0].get_title().startswith(f"{paper.best}:")


def test_an_unfitted_mechanism_is_named(paper):
    with pytest.raises(KeyError, match="fitted: surface, tunnelling"):
        paper.plot(mechanism="fusion")
