"""The calibrated film model against the reference study: predictions side by side with the paper.

The ``enomoto2024`` parameter set was calibrated on the two N = 8 shifts the paper
states (C3DT -44.0 meV, C10DT -14.2 meV) and nothing else; everything below is a
prediction.  The test writes the comparison as a Markdown table and a CSV file
(``film_model_report.md`` / ``.csv`` in its tmp_path; set ``QDSTACK_REPORT_DIR``
to keep a copy) -- the README quotes that table.  Where the model disagrees with
the paper the report says so with numbers; the assertions below check what the
model does, not that it agrees.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qdstack.physics.film_model.calibration import paper_comparison
from qdstack.physics.film_model import load_parameter_set

REALISATIONS = 3000


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def write_report(cmp: dict, folder: Path) -> Path:
    rows = cmp["rows"]
    md = [f"Film model `{cmp['parameters']}` vs Enomoto et al. 2024 ({cmp['realisations']} realisations per film, "
          f"seed {cmp['seed']})", "",
          "| quantity | paper | qdstack | unit | agrees | kind | note |",
          "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(_fmt(r[k]) for k in ("quantity", "paper", "qdstack", "unit", "agrees", "kind",
                                                          "note")) + " |")
    s3, s10 = cmp["series"]["C3DT"], cmp["series"]["C10DT"]
    md += ["", "Channel budget at N = 8 (each channel alone, meV): "
           + "; ".join(f"{k} C3DT {s3['channel_shifts_meV'][k][-1]:+.1f} / C10DT {s10['channel_shifts_meV'][k][-1]:+.1f}"
                       for k in ("tunnelling", "dielectric", "dipolar"))]
    path = folder / "film_model_report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    with open(folder / "film_model_report.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["quantity", "paper", "qdstack", "unit", "tolerance", "agrees", "kind",
                                           "note"])
        w.writeheader()
        w.writerows(rows)
    keep = os.environ.get("QDSTACK_REPORT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("film_model_report.md", "film_model_report.csv"):
            shutil.copy(folder / name, Path(keep) / name)
    return path


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    cmp = paper_comparison(load_parameter_set("enomoto2024"), realisations=REALISATIONS, seed=1)
    write_report(cmp, tmp_path_factory.mktemp("report"))
    return cmp


def rows_by_name(cmp):
    return {r["quantity"]: r for r in cmp["rows"]}


def test_report_is_written_with_every_row(comparison, tmp_path):
    path = write_report(comparison, tmp_path)
    text = path.read_text()
    assert "| shift N=8, C3DT | -44 |" in text and "saturation" in text and "bilayer shift, BPDT" in text
    for r in comparison["rows"]:
        assert r["qdstack"] is None or isinstance(r["qdstack"], (int, float))
        assert r["kind"] in ("calibration input", "prediction")


def test_calibration_inputs_are_reproduced(comparison):
    rows = rows_by_name(comparison)
    # other realisations than the calibration's: the monolayer reference samples REALISATIONS dots
    # of a ~15 meV-wide distribution (~0.5 meV); 4 standard errors, at least 1.5 meV
    for linker, paper in (("C3DT", -44.0), ("C10DT", -14.2)):
        err = comparison["series"][linker]["shift_meV_err"][-1]
        assert rows[f"shift N=8, {linker}"]["qdstack"] == pytest.approx(paper, abs=max(1.5, 4 * err))
    assert rows["solution first peak"]["qdstack"] == pytest.approx(2.477, abs=0.0015)


def test_shift_vs_n_curves_grow_and_saturate(comparison):
    for linker in ("C3DT", "C10DT"):
        s = np.array(comparison["series"][linker]["shift_meV"])
        steps = np.diff(s)
        assert np.all(steps < 0.3)  # red shift grows with N (within the statistics) ...
        assert abs(steps[-1]) < 0.25 * abs(steps[0])  # ... and saturates
        sat = comparison["series"][linker]["saturation_layers"]
        # the ideal chain reaches 90 % of its N = 8 shift at N = 5; the model stays close to it for
        # both linkers: it does NOT reproduce the paper's N ~ 6 (C3DT) vs N ~ 3 (C10DT) (see report)
        assert 4 <= sat <= 6


def test_bilayer_shift_decays_exponentially_with_linker_length(comparison):
    b = comparison["bilayer"]
    d = np.array(b["gap_nm"])
    s = np.abs(np.array(b["shift_meV"]))
    alkanes = [b["linkers"].index(n) for n in ("C2DT", "C3DT", "C4DT", "C5DT", "C6DT", "C10DT")]
    assert np.all(np.diff(s[alkanes]) < 0)
    assert np.all(np.diff(d[alkanes]) > 0)
    assert b["fit"]["r2"] > 0.95
    # decay constant of the bilayer shift: of the order of the coupling law's kappa = sqrt(2 m_B V)/hbar
    p = load_parameter_set("enomoto2024")
    assert 0.5 * p.decay_per_nm() < b["fit"]["decay_per_nm"] < 2.5 * p.decay_per_nm()


def test_no_in_plane_coupling_and_constant_monolayer(comparison):
    rows = rows_by_name(comparison)
    s3 = comparison["series"]["C3DT"]
    assert s3["beta_e_in_meV"] < 1e-6 * s3["beta_e_meV"]
    assert rows["monolayer peak change, in-plane gap 3 -> 6 nm (packing density)"]["agrees"]
    mono = rows["monolayer film first peak"]["qdstack"]
    sol = rows["solution first peak"]["qdstack"]
    # the environment term: a few meV at most, of either sign (the paper: -4 +- 2 meV)
    assert abs(mono - sol) * 1e3 < 5.0


def test_channel_budget_shows_what_makes_the_shift(comparison):
    s3 = comparison["series"]["C3DT"]["channel_shifts_meV"]
    # dipolar (Foerster) transfer of in-plane dipoles stacked along z is H-type: no red shift
    assert s3["dipolar"][-1] > -1.0
    # added-layer screening: a few meV (C3DT -4.4, C10DT -1.9 at 1e4 realisations; ~1 meV noise
    # at the report's 1200): far from the 30 meV difference between the linkers
    s10 = comparison["series"]["C10DT"]["channel_shifts_meV"]
    assert -10.0 < s3["dielectric"][-1] < 0 and -10.0 < s10["dielectric"][-1] < 0
    assert abs(s3["dielectric"][-1] - s10["dielectric"][-1]) < 6.0
    # tunnelling carries the linker dependence
    assert s3["tunnelling"][-1] < 2.5 * s10["tunnelling"][-1] < 0


def test_emission_predictions(comparison):
    rows = rows_by_name(comparison)
    assert rows["radiative lifetime 10 K / 295 K, C3DT N=1"]["qdstack"] == pytest.approx(1.0)  # flat, as measured
    # multilayers: the model's coherent exciton is superradiant at low T (shorter lifetime),
    # the opposite of Fig. 6d; the report states the disagreement
    r6 = rows["radiative lifetime 10 K / 295 K, C3DT N=6"]
    assert r6["qdstack"] < 1.0 and r6["agrees"] is False
    em = [e for e in comparison["series"]["C3DT"]["emission"] if e and e["layers"] == 6][0]
    assert em["participation_exciton"][-1] > 1.5  # the emitting state spans several dots
    assert math.isfinite(em["stokes_shift_meV"])
