"""Roles derived from dependencies: hand-made rows and inputs, the roles flip when the inputs change."""

from __future__ import annotations

import pytest

from qdstack.references import parse_reference
from qdstack.study.comparison import (
    ModelInputs,
    derive_kind,
    headline,
    make_row,
    paper_closure,
    summarise,
)

REF = parse_reference(
    """[reference]
id = "toy"
citation = "toy paper"
"""
    + "".join(
        f"""
[[number]]
id = "{i}"
value = {v}
uncertainty = {u}
unit = "u"
quantity = "{q}"
where = "p. 1"
"""
        for i, v, u, q in [
            ("shift_A", -40.0, '"not stated"', "shift A"),
            ("shift_B", -10.0, '"not stated"', "shift B"),
            ("period_ip", 9.8, 0.1, "in-plane period"),
            ("period_ip_q", 0.64, '"not stated"', "in-plane period"),
            ("edge", 6.8, 0.5, "edge"),
            ("peak_sol", 2.477, '"not stated"', "solution peak"),
        ]
    ),
    "toy.toml",
)

INPUTS = ModelInputs(
    fitted={"coupling": ["shift_A", "shift_B"], "offset": ["peak_sol"]},
    set_from={"gap_ip": ["period_ip", "edge"], "edge": ["edge"]},
)


def test_closure_follows_parameters():
    used, fitted = paper_closure(["param:gap_ip", "param:coupling", "text: a library"], INPUTS)
    assert used == {"period_ip", "edge", "shift_A", "shift_B"}
    assert fitted == {"shift_A", "shift_B"}


@pytest.mark.parametrize(
    "paper_ids, depends_on, inputs, kind",
    [
        # the model was fitted to the number the row compares with
        (["shift_B"], ["param:coupling"], INPUTS, "calibration input"),
        # calibrated on A only: B is predicted
        (
            ["shift_B"],
            ["param:coupling"],
            INPUTS.with_(fitted={"coupling": ["shift_A"]}),
            "prediction",
        ),
        (
            ["shift_A"],
            ["param:coupling"],
            INPUTS.with_(fitted={"coupling": ["shift_A"]}),
            "calibration input",
        ),
        # in-plane gap set from the in-plane period: reading the period back is consistency ...
        (["period_ip"], ["param:gap_ip", "paper:edge"], INPUTS, "consistency"),
        # ... also when compared with a number of the same quantity (the q of the same peak)
        (["period_ip_q"], ["param:gap_ip", "paper:edge"], INPUTS, "consistency"),
        # ... and a prediction when the gap comes from somewhere else
        (
            ["period_ip"],
            ["param:gap_ip", "paper:edge"],
            INPUTS.with_(set_from={"gap_ip": ["library: oleyl shell"]}),
            "prediction",
        ),
        # an edge (a different quantity) going in does not make a row consistency
        (["shift_A"], ["paper:edge", "text: structure"], INPUTS, "prediction"),
        # energy offset fitted to another number: the solution peak becomes a prediction
        (
            ["peak_sol"],
            ["param:offset"],
            INPUTS.with_(fitted={"offset": ["shift_A"]}),
            "prediction",
        ),
    ],
)
def test_kind_follows_from_the_inputs(paper_ids, depends_on, inputs, kind):
    assert derive_kind(paper_ids, depends_on, inputs, REF) == kind


def _row(q, pid, value, inputs=INPUTS, deps=("param:coupling",), **kw):
    return make_row(
        q,
        paper_ids=pid,
        paper=REF.value(pid[0]),
        paper_err=1.0,
        paper_err_means="",
        qdstack=value,
        qdstack_err=0.5,
        unit="u",
        depends_on=list(deps),
        inputs=inputs,
        reference=REF,
        how="",
        **kw,
    )


def test_rows_and_summary_by_hand():
    rows = [
        _row("A", ["shift_A"], -40.5),  # calibration input, |d| 0.5 <= 2.24
        _row("B", ["shift_B"], -14.0),  # calibration input, disagrees (4 > 2.24)
        _row("ip", ["period_ip"], 9.9, deps=("param:gap_ip",)),  # consistency
        _row(
            "ip again", ["period_ip_q"], 0.65, deps=("param:gap_ip",)
        ),  # consistency, a new paper number
        _row("edge", ["edge"], 3.0, deps=("text: TEM model",)),  # prediction, disagrees
        _row(
            "edge twice", ["edge"], 6.8, deps=("text: TEM model",)
        ),  # same paper number: not counted
    ]
    # tolerance = 2 sqrt(paper_err^2 + qdstack_err^2) = 2 sqrt(1 + 0.25) = 2.236
    assert rows[0]["tolerance"] == pytest.approx(2.2360679)
    assert [r["agrees"] for r in rows] == [True, False, True, True, False, True]
    s = summarise(rows)
    assert [r["counted"] for r in rows] == [True, True, True, True, True, False]
    assert {
        k: s[k]
        for k in (
            "independent_predictions",
            "predictions_agree",
            "consistency_checks",
            "consistency_agree",
            "calibration_inputs",
        )
    } == {
        "independent_predictions": 1,
        "predictions_agree": 0,
        "consistency_checks": 2,
        "consistency_agree": 2,
        "calibration_inputs": 2,
    }
    assert headline(s) == (
        "0 of 1 independent predictions agree; 2 of 2 consistency checks pass; 2 calibration inputs"
    )
