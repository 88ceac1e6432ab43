"""--out: a results folder belongs to one run (issue 16, item 3).

Before: ``qdstack absorption ... --out results/`` silently replaced the results.json of a
``reproduce`` run in the same folder, and ``study run`` left the old study's tables and
figures beside the new ones.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qdstack.io.outdir import MARKER

EXAMPLES = Path(__file__).parents[2] / "examples"
COUPLING = EXAMPLES / "coupling" / "bilayer_shifts.csv"
ABS = sorted((EXAMPLES / "absorption_c3dt").glob("C3DT_N*.csv"))


def _marker(folder: Path) -> dict:
    return json.loads((folder / MARKER).read_text())


def test_another_command_is_refused_and_force_replaces_it(run_cli, tmp_path):
    out = tmp_path / "results"
    code, _, err = run_cli("coupling", COUPLING, "--out", out)
    assert code == 0, err
    film_json = (out / "results.json").read_text()
    assert _marker(out)["command"] == "coupling"
    code, stdout, err = run_cli("absorption", *ABS[:3], "--out", out)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1 and err.startswith("error: --out: ")
    assert f"qdstack coupling {COUPLING}" in err and "--force" in err
    assert (out / "results.json").read_text() == film_json  # nothing was written
    code, _, err = run_cli("absorption", *ABS[:3], "--out", out, "--force")
    assert code == 0, err
    assert "decay_per_nm" in film_json and json.loads((out / "results.json").read_text())["spectra"]
    m = _marker(out)
    assert m["command"] == "absorption" and "results.json" in m["files"]
    assert {p.name for p in out.iterdir()} == {MARKER, *m["files"]}


def test_the_same_command_again_replaces_its_own_results(run_cli, tmp_path):
    out = tmp_path / "r"
    args = ("absorption", *ABS[:3], "--out", out)
    assert run_cli(*args)[0] == 0
    first = _marker(out)
    code, _, err = run_cli(*args, "--json")  # --json does not make it another run
    assert code == 0, err
    assert _marker(out)["identity"] == first["identity"]
    code, _, err = run_cli("absorption", *ABS[:4], "--out", out)  # other inputs: another run
    assert code == 2 and "another run" in err


def test_files_qdstack_did_not_write_are_refused_and_never_deleted(run_cli, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    code, _, err = run_cli("coupling", COUPLING, "--out", out)
    assert code == 2 and "did not write" in err
    code, _, err = run_cli("coupling", COUPLING, "--out", out, "--force")
    assert code == 0, err
    code, _, err = run_cli("absorption", *ABS[:2], "--out", out, "--force")
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "my notes"


PL_STUDY = """[study]
name = "{name}"

[[sample]]
name = "{sample}"
pl = "pl.csv"
"""


def _pl_study(folder: Path, name: str, sample: str) -> Path:
    from qdstack.synthetic.tpl import pl_spectrum_nm

    folder.mkdir(parents=True, exist_ok=True)
    lam, counts = pl_spectrum_nm(2.40, 80.0, counts=3e4, seed=1)
    (folder / "pl.csv").write_text(
        "Wavelength (nm),Counts\n" + "".join(f"{a:.2f},{int(b)}\n" for a, b in zip(lam, counts))
    )
    m = folder / "study.toml"
    m.write_text(PL_STUDY.format(name=name, sample=sample))
    return m


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_study_run_keeps_its_folder_for_its_own_manifest(run_cli, tmp_path):
    one = _pl_study(tmp_path / "one", "first study", "a")
    two = _pl_study(tmp_path / "two", "second study", "b")
    out = tmp_path / "out"
    code, _, err = run_cli("study", "run", one, "--out", out)
    assert code == 0, err
    tables = {p.name for p in (out / "tables").iterdir()}
    assert (out / ".cache").is_dir() and tables
    code, _, err = run_cli("study", "run", one, "--out", out)  # re-run: from the cache
    assert code == 0 and "(1 from cache)" in err
    code, _, err = run_cli("study", "run", two, "--out", out)
    assert code == 2 and "another run" in err and f"study run {one}" in err
    assert json.loads((out / "results.json").read_text())["study"]["name"] == "first study"
    code, _, err = run_cli("study", "run", two, "--out", out, "--force")
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["study"]["name"] == "second study"
    assert "(0 from cache)" in err  # the first study's cache went with its results
    shutil.rmtree(out / ".cache")
    assert _marker(out)["command"] == "study run"


def test_reproduce_refuses_another_commands_folder_before_any_work(run_cli, tmp_path):
    out = tmp_path / "results"
    assert run_cli("coupling", COUPLING, "--out", out)[0] == 0
    code, _, err = run_cli("reproduce", "enomoto2024", "--out", out)
    assert code == 2 and err.startswith("error: --out: ") and "qdstack coupling" in err
    assert not (out / "simulated").exists()


def test_nested_results_folders_of_other_runs_do_not_block_the_parent(run_cli, tmp_path):
    """The README's examples write results/absorption, results/tpl, ... and reproduce writes results/."""
    assert run_cli("coupling", COUPLING, "--out", tmp_path / "results" / "coupling")[0] == 0
    code, _, err = run_cli("absorption", *ABS[:2], "--out", tmp_path / "results")
    assert code == 0, err
    assert (tmp_path / "results" / "coupling" / "results.json").is_file()  # left alone
