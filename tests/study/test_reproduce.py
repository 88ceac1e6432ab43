"""`qdstack reproduce enomoto2024`: rows, roles and headline checked against hand-made tables."""

from __future__ import annotations

import json
import math

import pytest

from qdstack.references import load_reference
from qdstack.study.comparison import ModelInputs, derive_kind, headline, summarise

#: hand-made: every row the reproduction must have, the paper's number as printed in the text, and the
#: role a referee gives it with the shipped parameter set (fitted on the two N = 8 shifts and the solution
#: spectra, in-plane gap set from the in-plane period)
EXPECTED = {
    "first excitonic peak of 6.8 nm dots in solution, single-dot model": (2.477, "prediction"),
    "first excitonic peak in solution, read from the simulated spectrum": (
        2.477,
        "calibration input",
    ),
    "PL peak in solution": (2.446, "calibration input"),
    "PL FWHM in solution": (77.0, "calibration input"),
    "monolayer film first peak": (2.473, "prediction"),
    "shift N = 8, C3DT": (-44.0, "calibration input"),
    "shift N = 8, C10DT": (-14.2, "calibration input"),
    "saturation layer count, C3DT": (6.0, "prediction"),
    "saturation layer count, C10DT": (3.0, "prediction"),
    "S-S distance of C3DT": (0.55, "prediction"),
    "S-S distance of C10DT": (1.46, "prediction"),
    "out-of-plane period from XRD, C3DT": (7.7, "prediction"),
    "out-of-plane period from XRD, C10DT": (8.1, "prediction"),
    "out-of-plane period difference C10DT - C3DT": (0.4, "prediction"),
    "in-plane period from XRD": (9.835, "consistency"),
    "thickness of a 20-layer C3DT film vs SEM": (130.0, "prediction"),
}


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    from qdstack.cli.main import main

    out = tmp_path_factory.mktemp("repro")
    code = main(["reproduce", "enomoto2024", "--out", str(out), "--realisations", "400", "--json"])
    assert code == 0
    return out, json.loads((out / "results.json").read_text())


def _by_prefix(rows):
    out = {}
    for key in EXPECTED:
        hits = [r for r in rows if r["quantity"].startswith(key)]
        assert len(hits) == 1, (key, [r["quantity"] for r in rows])
        out[key] = hits[0]
    return out


def test_rows_paper_values_and_kinds(reproduced):
    _, r = reproduced
    rows = r["comparison"]
    assert len(rows) == len(
        EXPECTED
    )  # nothing the paper does not state (no spread 0, r2 1.0, ratio 1.0)
    by = _by_prefix(rows)
    for key, (paper, kind) in EXPECTED.items():
        row = by[key]
        assert row["paper"] == pytest.approx(paper, abs=1e-9), key
        assert row["kind"] == kind, key
        assert isinstance(row["paper"], float) and isinstance(row["qdstack"], float)
        assert isinstance(row["tolerance"], float) and isinstance(row["agrees"], bool)
        assert isinstance(row["depends_on"], list) and row["depends_on"]
        assert math.isfinite(row["qdstack"])
    # tolerances from the paper's own statements, computed by hand:
    # shift: sigma = sqrt(2) x 2 meV (per-film spread of the first peak); XRD: q quoted to 0.005 nm^-1
    assert by["shift N = 8, C3DT"]["paper_err"] == pytest.approx(2.8284, abs=1e-4)
    assert by["out-of-plane period from XRD, C3DT"]["paper_err"] == pytest.approx(
        7.7 * 0.005 / 0.82, rel=1e-9
    )
    assert by["out-of-plane period from XRD, C10DT"]["paper_err"] == pytest.approx(
        8.1 * 0.005 / 0.78, rel=1e-9
    )
    assert by["thickness of a 20-layer C3DT film vs SEM"]["paper_err"] == 10.0
    # the structural period is not edge + S-S (7.35 nm): the tilt shortens it
    assert by["out-of-plane period from XRD, C3DT"]["qdstack"] < 7.3
    # the default set keeps every parameter inside its literature range and was fitted to the two
    # shifts: they stay calibration inputs, but the films fall short of them (the disagreement shows)
    assert r["model"]["parameter_set"] == "enomoto2024-plausible" and r["model"]["plausible"]
    for name in ("C3DT", "C10DT"):
        row = by[f"shift N = 8, {name}"]
        assert not row["agrees"]
        assert row["paper"] / 2 < row["qdstack"] < 0.0  # less than half the paper's red shift


def test_summary_is_a_referees_count(reproduced):
    _, r = reproduced
    s = r["comparison_summary"]
    # by hand from EXPECTED: 5 calibration inputs, 1 consistency row, 10 prediction rows of which the period
    # difference compares numbers the two period rows already count
    assert s["calibration_inputs"] == 5
    assert s["consistency_checks"] == 1
    assert s["independent_predictions"] == 9
    assert s["rows_not_counted"] == ["out-of-plane period difference C10DT - C3DT (XRD)"]
    agree = sum(
        1
        for row in r["comparison"]
        if row["kind"] == "prediction" and row["counted"] and row["agrees"]
    )
    assert s["predictions_agree"] == agree
    assert r["headline"].startswith(headline(s) + ". ")
    assert r["headline"].startswith(f"{agree} of 9 independent predictions agree; ")
    # the headline names the set and puts its N = 8 shifts (the rows' values) beside the paper's
    by = _by_prefix(r["comparison"])
    assert "enomoto2024-plausible" in r["headline"]
    for name in ("C3DT", "C10DT"):
        row = by[f"shift N = 8, {name}"]
        assert f"{name} {row['qdstack']:+.1f} meV (paper {row['paper']:+.1f} meV)" in r["headline"]


def test_roles_flip_when_the_inputs_change(reproduced):
    _, r = reproduced
    ref = load_reference("enomoto2024")
    inputs = ModelInputs(r["model_inputs"]["fitted"], r["model_inputs"]["set_from"])
    rows = r["comparison"]
    by = _by_prefix(rows)

    def kinds(inp):
        return {
            k: derive_kind(row["paper_ids"], row["depends_on"], inp, ref) for k, row in by.items()
        }

    assert kinds(inputs) == {k: v[1] for k, v in EXPECTED.items()}
    # the in-plane gap from a ligand-shell model instead of the paper's period: the period is predicted
    k = kinds(inputs.with_(set_from={"in_plane_gap_nm": ["linker library: oleyl shell"]}))
    assert k["in-plane period from XRD"] == "prediction"
    # the set's own parameters fitted to the shifts (eps_dot, eps_ligand, thiolate_leak_nm for the
    # plausible set) are what the shift rows depend on
    shift_ids = ["shift_N8_C3DT_meV", "shift_N8_C10DT_meV"]
    free = [p for p, src in inputs.fitted.items() if src == shift_ids]
    assert free and all(f"param:{p}" in by["shift N = 8, C3DT"]["depends_on"] for p in free)
    # calibrated on the C3DT shift only: the C10DT shift becomes a prediction, C3DT stays an input
    only = ["shift_N8_C3DT_meV"]
    k = kinds(inputs.with_(fitted={p: only for p in free}))
    assert k["shift N = 8, C10DT"] == "prediction" and k["shift N = 8, C3DT"] == "calibration input"
    # the energy offset set on the monolayer film instead of the solution: the roles swap
    k = kinds(inputs.with_(fitted={"energy_offset_meV": ["monolayer_peak_eV"]}))
    assert k["monolayer film first peak"] == "calibration input"
    assert k["first excitonic peak in solution, read from the simulated spectrum"] == "prediction"
    # and the summary counts what the flipped roles say
    flipped = [
        dict(
            row,
            kind=derive_kind(
                row["paper_ids"],
                row["depends_on"],
                inputs.with_(set_from={"in_plane_gap_nm": ["oleyl"]}),
                ref,
            ),
        )
        for row in rows
    ]
    s = summarise(flipped)
    assert s["independent_predictions"] == 10 and s["consistency_checks"] == 0


def test_saturation_and_claims(reproduced):
    _, r = reproduced
    sat = r["saturation"]
    for name in ("C3DT", "C10DT"):
        s = sat[name]
        assert 0.0 <= s["probability_of_paper_reading"] <= 1.0
        assert sum(s["reading"]["probability"].values()) == pytest.approx(1.0)
        for key in ("model_fit", "measured_fit"):
            f = s[key]
            lo, hi = f["d_over_s_inf_ci95"]
            assert lo < f["d_over_s_inf"] < hi
            assert (
                0.5 < f["d_over_s_inf"] < 1.6
            )  # near the ideal chain's 1.08: parameters do not change with N
    assert {c["claim"].split(" (")[0] for c in r["claims"]} >= {
        "C3DT saturates at more layers than C10DT",
        "monolayer PL lifetime independent of temperature",
    }


def test_outputs_are_the_users_outputs(reproduced):
    out, r = reproduced
    assert (out / "report.html").stat().st_size > 100_000
    html = (out / "report.html").read_text()
    assert "Paper vs qdstack" in html and "Where they disagree" in html
    assert r["headline"] in html
    assert "'" not in r["headline"]  # (an apostrophe would be escaped in the HTML)
    for section in (
        "Saturation with the number of layers",
        "Structural model of the stack",
        "Qualitative statements of the paper",
    ):
        assert section in html
    from qdstack.study.manifest import load_manifest

    study = load_manifest(out / "simulated" / "study.toml")
    assert len(study.sample) > 20
    assert all(
        s.thickness_nm is None for s in study.sample
    )  # the SEM number is compared, not simulated
    assert r["reference"]["id"] == "enomoto2024"
    # what the paper only plots is listed without a paper value, not compared
    assert sum(p["quantity"].startswith("shift N = ") for p in r["predictions"]) == 12
    assert all("paper" not in p for p in r["predictions"])


def test_unknown_study(run_cli, tmp_path):
    code, _, err = run_cli("reproduce", "smith2023", "--out", tmp_path)
    assert code == 2 and "smith2023" in err


def test_what_explains_the_shifts_section(reproduced):
    """Issue 13: results.json carries the explain table of the paper's numbers and the report shows it."""
    out, r = reproduced
    ex = r["explain"]
    names = [row["mechanism"] for row in ex["rows"]]
    assert names == ["tunnelling", "dielectric", "surface", "fusion"]
    for row in ex["rows"]:
        assert row["verdict"] in ("explains", "implausible", "cannot")
        assert len(row["prediction_meV"]) == 2
    assert set(ex["result"]) >= {"mechanisms", "best"}
    assert ex["simulated_films_parameters"] == {"name": "enomoto2024-plausible", "plausible": True}
    assert "enomoto2024-plausible" in ex["headline"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "What explains the shifts" in html and ex["rows"][0]["mechanism"] in html


def test_parameter_sets_table(reproduced):
    """The report's "Parameter sets": the set used, the calibrated alternative, plausibility, N = 8 shifts."""
    from qdstack.physics.explain.film_terms import film_plausibility
    from qdstack.physics.film_model import load_parameter_set

    out, r = reproduced
    sets = r["parameter_sets"]
    assert [s["name"] for s in sets] == ["enomoto2024-plausible", "enomoto2024"]
    assert [s["used"] for s in sets] == [True, False]
    for s in sets:
        assert s["plausible"] == film_plausibility(load_parameter_set(s["name"]))["plausible"]
        assert s["paper_shift_N8_meV"] == {"C3DT": -44.0, "C10DT": -14.2}
    assert sets[0]["plausible"] and not sets[1]["plausible"]
    assert set(sets[1]["outside"]) == {"barrier_e_eV", "barrier_h_eV"}
    assert sets[0]["at_bound"] == load_parameter_set("enomoto2024-plausible").provenance["at_bound"]
    # the film model alone: the calibrated set comes within its calibration's reach of the paper,
    # the plausible one far short of it
    m_cal, m_pl = sets[1]["model_shift_N8_meV"], sets[0]["model_shift_N8_meV"]
    assert m_cal["C3DT"] == pytest.approx(-44.0, abs=3.0)
    assert m_cal["C10DT"] == pytest.approx(-14.2, abs=3.0)
    assert -44.0 / 2 < m_pl["C3DT"] < 0 and -14.2 / 2 < m_pl["C10DT"] < 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Parameter sets" in html and "no (alternative)" in html
    assert f"{m_pl['C3DT']:+.1f} / -44.0" in html


@pytest.fixture(scope="module")
def reproduced_calibrated(tmp_path_factory):
    from qdstack.cli.main import main

    out = tmp_path_factory.mktemp("repro_cal")
    code = main(
        [
            "reproduce",
            "enomoto2024",
            "--out",
            str(out),
            "--parameters",
            "enomoto2024",
            "--realisations",
            "200",
            "--json",
        ]
    )
    assert code == 0
    return out, json.loads((out / "results.json").read_text())


def test_the_calibrated_alternative_end_to_end(reproduced_calibrated):
    """--parameters enomoto2024: the films reproduce the two shifts, and everything says the set is implausible."""
    out, r = reproduced_calibrated
    assert r["model"]["parameter_set"] == "enomoto2024" and not r["model"]["plausible"]
    by = _by_prefix(r["comparison"])
    for key, (_, kind) in EXPECTED.items():
        assert by[key]["kind"] == kind, key  # the roles follow from the set's own provenance
    for name in ("C3DT", "C10DT"):
        assert by[f"shift N = 8, {name}"]["agrees"]  # the calibration input comes back
    assert "enomoto2024 (calibrated, with barrier_e_eV, barrier_h_eV outside" in r["headline"]
    assert [s["name"] for s in r["parameter_sets"]] == ["enomoto2024", "enomoto2024-plausible"]
    assert r["explain"]["simulated_films_parameters"] == {"name": "enomoto2024", "plausible": False}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "a description of the data, not an explanation" in html


def test_unknown_parameter_set(run_cli, tmp_path):
    code, _, err = run_cli("reproduce", "enomoto2024", "--parameters", "nosuch", "--out", tmp_path)
    assert code == 2 and "nosuch" in err and err.count("error:") == 1


def test_the_run_shows_the_comparison_table(reproduced):
    """What 'qdstack reproduce' prints (and a notebook shows): one row per comparison row."""
    from qdstack.study.runner import StudyRun

    out, r = reproduced
    run = StudyRun(None, "", {}, {}, r, out)
    d = run.summary_data()
    table = d.blocks[0]
    assert table.title == "Enomoto et al. 2024 vs qdstack"
    assert len(table.rows) == len(r["comparison"])
    for row, c in zip(table.rows, r["comparison"]):
        assert row[0] == c["quantity"] and row[5] == ("yes" if c["agrees"] else "NO")
        assert float(row[1]) == pytest.approx(c["paper"], rel=1e-3)
    assert d.blocks[1] == f"{r['headline']}. See {out}/report.html for the discussion."
    assert "<table>" in run._repr_html_() and run.to_dict() is r
