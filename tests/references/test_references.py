"""The one copy of the paper's numbers: the reference file and its loader."""

from __future__ import annotations

import pytest

from qdstack.references import ReferenceFileError, load_reference, parse_reference

GOOD = """[reference]
id = "x"
citation = "A. Author, J. 1 (2000)"

[[number]]
id = "a_nm"
value = 0.82
uncertainty = "not stated"
unit = "nm"
quantity = "a"
where = "p. 1"

[[number]]
id = "b_nm"
range = [9.70, 9.97]
uncertainty = 0.1
unit = "nm"
quantity = "b"
where = "Fig. 2"
"""


def test_the_paper_numbers_as_stated():
    # hand-made table, read off the text of Enomoto et al. 2024
    ref = load_reference("enomoto2024")
    expected = {
        "edge_nm": 6.8,
        "solution_peak_eV": 2.477,
        "solution_pl_peak_eV": 2.446,
        "solution_pl_fwhm_meV": 77.0,
        "monolayer_peak_eV": 2.473,
        "shift_N8_C3DT_meV": -44.0,
        "shift_N8_C10DT_meV": -14.2,
        "saturation_C3DT_layers": 6,
        "saturation_C10DT_layers": 3,
        "ss_C3DT_nm": 0.55,
        "ss_C10DT_nm": 1.46,
        "thickness_sem_C3DT_20L_nm": 130.0,
        "period_out_of_plane_C3DT_nm": 7.7,
        "period_out_of_plane_C10DT_nm": 8.1,
        "q_out_of_plane_C3DT_per_nm": 0.82,
        "q_out_of_plane_C10DT_per_nm": 0.78,
    }
    for k, v in expected.items():
        assert ref.value(k) == v, k
    assert ref["edge_nm"].stated_uncertainty == 0.5
    assert ref["monolayer_peak_eV"].stated_uncertainty == 0.002
    assert ref["thickness_sem_C3DT_20L_nm"].stated_uncertainty == 10.0
    assert ref["shift_N8_C3DT_meV"].stated_uncertainty is None  # the paper states none
    assert ref["period_in_plane_nm"].range == (9.70, 9.97) and ref.value(
        "period_in_plane_nm"
    ) == pytest.approx(9.835)
    assert all(n.where and n.quantity for n in ref.number)


def test_value_range_and_precision():
    ref = parse_reference(GOOD, "x.toml")
    assert ref["a_nm"].last_digit_half == pytest.approx(0.005)
    assert ref["b_nm"].value == pytest.approx(9.835) and ref["b_nm"].half_range == pytest.approx(
        0.135
    )
    with pytest.raises(KeyError):
        ref["nope"]


@pytest.mark.parametrize(
    "edit, line, words",
    [
        (
            ("uncertainty = 0.1", 'uncertainty = "about 0.1"'),
            16,
            "number[2].uncertainty: must be a number or 'not stated'",
        ),
        (("range = [9.70, 9.97]", "range = [9.97, 9.70]"), 13, "low < high"),
        (('unit = "nm"\nquantity = "a"', 'quantity = "a"'), 5, "number[1].unit"),
        (('id = "b_nm"', 'id = "a_nm"'), None, "twice"),
        (("value = 0.82", "value = 0.82\nextra = 1"), 8, "extra"),
    ],
)
def test_schema_errors_name_the_line(edit, line, words):
    text = GOOD.replace(*edit)
    with pytest.raises(ReferenceFileError) as exc:
        parse_reference(text, "x.toml")
    msg = str(exc.value)
    assert words in msg and exc.value.source == "x.toml"
    if line is not None:
        assert f"line {line}:" in msg, msg


def test_unknown_reference_and_bad_toml(tmp_path):
    with pytest.raises(ReferenceFileError, match="known: .*enomoto2024"):
        load_reference("smith2023")
    p = tmp_path / "bad.toml"
    p.write_text("[reference\n")
    with pytest.raises(ReferenceFileError, match="not valid TOML"):
        load_reference(str(p))
