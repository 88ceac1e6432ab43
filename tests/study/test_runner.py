"""Study runs: outputs, cache reuse, interruption, bad files, escaping."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qdstack.study.runner import run_study

EXAMPLE_DIR = Path(__file__).parents[2] / "examples" / "study_c3dt_c10dt"


def _small_study(tmp_path, n_series=2, names=None, extra=""):
    """A copy of part of the example study: C3DT films N = 1..3 (and more series of them)."""
    d = tmp_path / "study"
    (d / "abs").mkdir(parents=True)
    for n in (1, 2, 3):
        shutil.copy(EXAMPLE_DIR / "absorption" / f"C3DT_N{n}.csv", d / "abs" / f"N{n}.csv")
    lines = ['[study]\nname = "small <b>study</b>"\n']
    names = names or [f"gap {k}" for k in range(n_series)]
    for k, label in enumerate(names):
        for n in (1, 2, 3):
            lines.append(
                f"[[sample]]\nname = {json.dumps(f'{label} {n}L')}\ngap_nm = {0.5 + 0.3 * k}\nlayers = {n}\n"
                f'absorption = "abs/N{n}.csv"\n'
            )
    (d / "study.toml").write_text("\n".join(lines) + extra)
    return d / "study.toml"


def _results(path):
    return json.loads(Path(path).read_text())


def test_outputs_and_cache(tmp_path):
    m = _small_study(tmp_path)
    out = tmp_path / "out"
    first = run_study(m, out)
    assert set(first.outputs) == {"absorption_gap_0_5_nm", "absorption_gap_0_8_nm", "coupling"}
    assert not first.errors and not first.cached
    r = _results(out / "results.json")
    assert len(r["analyses"]["absorption_gap_0_5_nm"]["spectra"]) == 3
    assert r["analyses"]["coupling"]["data"]["distance_nm"] == [0.5, 0.8]
    assert (out / "report.html").stat().st_size > 50_000
    assert (out / "tables" / "absorption_gap_0_5_nm_films.csv").is_file()
    assert len(list((out / "figures").glob("*.png"))) >= 5
    # input files named relative to the manifest's folder: results.json does not tie the study to this machine
    text = (out / "results.json").read_text()
    assert str(m.parent.resolve()) not in text
    assert '"abs/N2.csv"' in text
    before = (out / "results.json").read_bytes()
    (out / "figures" / "coupling_coupling.png").unlink()  # a user deleted a figure
    second = run_study(m, out)
    assert sorted(second.cached) == sorted(first.outputs)  # everything from the cache
    assert (out / "results.json").read_bytes() == before  # deterministic
    assert (out / "figures" / "coupling_coupling.png").is_file()  # restored from the cache


def test_changed_input_invalidates_only_its_analyses(tmp_path):
    m = _small_study(tmp_path)
    out = tmp_path / "out"
    run_study(m, out)
    text = m.read_text().replace("gap_nm = 0.8", "gap_nm = 0.9")
    m.write_text(text)
    again = run_study(m, out)
    assert "absorption_gap_0_5_nm" in again.cached
    assert "absorption_gap_0_9_nm" not in again.cached and "coupling" not in again.cached


def test_bad_file_fails_its_analysis_only(tmp_path, run_cli):
    m = _small_study(tmp_path)
    (m.parent / "abs" / "N3.csv").write_text("nm,abs\n500,0.1\n501,\n502,0.3\n503,0.4\n")
    out = tmp_path / "out"
    code, _, err = run_cli("study", "run", m, "--out", out)
    assert code == 2 and err.strip().splitlines()[-1].startswith(
        "error: analysis absorption_gap_0_5_nm"
    )
    assert "N3.csv" in err and "line 3" in err
    r = _results(out / "results.json")
    assert "absorption_gap_0_5_nm" in r["errors"] and "coupling" in r["errors"]
    assert "skipped" in r["errors"]["coupling"]
    assert "Errors" in (out / "report.html").read_text()


def test_user_strings_are_escaped(tmp_path):
    m = _small_study(tmp_path, n_series=1, names=['<script>alert("x")</script>'])
    out = tmp_path / "out"
    run_study(m, out)
    html = (out / "report.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(" in html
    assert "small &lt;b&gt;study&lt;/b&gt;" in html


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    """Kill a run (SIGKILL) after its first analysis is cached; the rerun finishes the rest and
    gives exactly the results of an uninterrupted run; no file is left half-written."""
    m = _small_study(tmp_path, n_series=3)
    clean = tmp_path / "clean"
    run_study(m, clean)
    out = tmp_path / "out"
    env = dict(os.environ, QDSTACK_STUDY_TASK_DELAY_S="1.5")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qdstack", "study", "run", str(m), "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if len(list((out / ".cache").glob("*.json"))) >= 1:
                break
            if proc.poll() is not None:
                pytest.fail("the run finished before it could be interrupted")
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    n_cached = len(list((out / ".cache").glob("*.json")))
    assert 1 <= n_cached < 4, "the kill must come midway (some, not all, analyses finished)"
    assert not (out / "results.json").exists()
    for png in (out / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resumed = run_study(m, out)
    assert len(resumed.cached) == n_cached
    assert (out / "results.json").read_bytes() == (clean / "results.json").read_bytes()
    assert not [p for p in out.rglob(".*.tmp")]


def test_remote_scheduler_gives_the_same_results(tmp_path):
    """Through a real dask.distributed cluster (worker processes on loopback) the study gives
    exactly the results of the default in-process run."""
    from dask.distributed import LocalCluster

    m = _small_study(tmp_path)
    local = run_study(m, tmp_path / "local")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        remote = run_study(m, tmp_path / "remote", scheduler=cluster.scheduler_address)
    assert not remote.cached
    assert (tmp_path / "remote" / "results.json").read_bytes() == (
        tmp_path / "local" / "results.json"
    ).read_bytes()
    assert local.results == remote.results


def test_unreachable_scheduler_is_a_clear_error(tmp_path, run_cli):
    m = _small_study(tmp_path, n_series=1)
    code, _, err = run_cli(
        "study", "run", m, "--out", tmp_path / "o", "--scheduler", "tcp://127.0.0.1:9"
    )
    assert code == 2 and "--scheduler" in err and err.count("\n") == 1


def test_serial_scheduler_gives_the_same_results(tmp_path, run_cli):
    """``scheduler="serial"`` (no dask: one analysis after the other, in this process) gives the
    results of the default local cluster, also when an analysis fails and its dependants are
    skipped; it crashed with an AttributeError before."""
    m = _small_study(tmp_path)
    local = run_study(m, tmp_path / "local")
    serial = run_study(m, tmp_path / "serial", scheduler="serial")
    assert (tmp_path / "serial" / "results.json").read_bytes() == (
        tmp_path / "local" / "results.json"
    ).read_bytes()
    assert serial.results == local.results and not serial.errors
    (m.parent / "abs" / "N3.csv").write_text("nm,abs\n500,0.1\n501,\n502,0.3\n503,0.4\n")
    code, _, err = run_cli("study", "run", m, "--out", tmp_path / "bad", "--scheduler", "serial")
    assert code == 2 and "N3.csv" in err
    r = _results(tmp_path / "bad" / "results.json")
    assert "line 3" in r["errors"]["absorption_gap_0_5_nm"]
    assert r["errors"]["coupling"].startswith("skipped: it needs absorption_gap_0_5_nm")


def test_the_run_in_a_notebook(tmp_path):
    """summary() lists each analysis with its numbers; figures display inline; plot() draws one."""
    m = _small_study(tmp_path)
    run = run_study(m, tmp_path / "out", scheduler="serial")
    text = run.summary()
    for name in run.outputs:
        assert name in text
    assert "chain coupling beta" in text and "3 analyses (0 from cache)" in text
    figs = run.figures
    assert "coupling/coupling" in figs
    png = figs["coupling/coupling"]
    assert png._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == (tmp_path / "out" / "figures" / "coupling_coupling.png").read_bytes()
    fig = run.plot(figure="coupling/coupling")
    img = fig.axes[0].get_images()[0].get_array()
    from matplotlib.image import imread

    assert img.shape == imread(tmp_path / "out" / "figures" / "coupling_coupling.png").shape
    with pytest.raises(KeyError, match="coupling/coupling"):
        run.plot(figure="nope")
    assert run.to_dict() == _results(tmp_path / "out" / "results.json")
