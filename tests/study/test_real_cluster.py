"""The study runner on a real dask.distributed cluster (issue 16, item 10).

The other runner tests use a ``LocalCluster``; this one starts what a user starts on a
cluster -- ``dask scheduler`` and two ``dask worker`` processes, here on 127.0.0.1 with
free ports -- runs ``qdstack study run --scheduler tcp://127.0.0.1:PORT`` on the example
study, kills one worker with SIGKILL while the analyses run, and checks that the run
still finishes with exactly the results.json of a local run.  Every process the test
started is stopped in the fixture's teardown, whatever happened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qdstack.study.runner import run_study

EXAMPLE_DIR = Path(__file__).parents[2] / "examples" / "study_c3dt_c10dt"
REPO = Path(__file__).parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask_cli() -> list[str]:
    exe = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if exe is None:
        pytest.skip("the 'dask' command (dask.distributed) is not installed")
    return [exe]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers (no nanny, so a killed worker stays dead)."""
    dask = _dask_cli()
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    started: list[subprocess.Popen] = []
    try:
        started.append(
            subprocess.Popen(
                dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=open(logs / "scheduler.log", "w"),
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
        workers = []
        for k in range(2):
            w = subprocess.Popen(
                dask
                + [
                    "worker",
                    address,
                    "--host",
                    "127.0.0.1",
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--name",
                    f"w{k}",
                ],
                stdout=open(logs / f"worker{k}.log", "w"),
                stderr=subprocess.STDOUT,
                env=env,
            )
            started.append(w)
            workers.append(w)
        from dask.distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=max(deadline - time.monotonic(), 1))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                    raise RuntimeError(
                        "the dask cluster did not start: "
                        + " | ".join(
                            (logs / f).read_text()[-400:]
                            for f in ("scheduler.log", "worker0.log", "worker1.log")
                        )
                    )
                time.sleep(1)
        yield address, workers
    finally:
        for proc in reversed(started):
            _stop(proc)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_study_on_a_dask_cluster_survives_a_killed_worker(cluster, tmp_path):
    address, workers = cluster
    manifest = EXAMPLE_DIR / "study.toml"
    local = run_study(manifest, tmp_path / "local")
    n_tasks = len(local.outputs)
    assert n_tasks >= 5

    out = tmp_path / "remote"
    env = dict(
        os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qdstack",
            "study",
            "run",
            str(manifest),
            "--out",
            str(out),
            "--scheduler",
            address,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        cache = out / ".cache"
        done_at_kill = None
        deadline = time.monotonic() + 600
        while run.poll() is None and time.monotonic() < deadline:
            finished = len(list(cache.glob("*.json"))) if cache.is_dir() else 0
            if finished >= 1:  # analyses are running on the cluster: kill one worker outright
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(timeout=30)
                done_at_kill = finished
                break
            time.sleep(0.05)
        stdout, stderr = run.communicate(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if run.poll() is None:
            run.kill()
            run.wait(timeout=30)
    assert run.returncode == 0, stderr
    assert done_at_kill is not None and done_at_kill < n_tasks, (
        "the worker was not killed while the study ran"
    )
    assert workers[0].returncode == -signal.SIGKILL and workers[1].poll() is None
    assert (out / "results.json").read_bytes() == (tmp_path / "local" / "results.json").read_bytes()
    assert f"{n_tasks} analyses (0 from cache)" in stderr
    assert json.loads((out / "results.json").read_text())["errors"] == {}
