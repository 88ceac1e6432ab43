"""Shared fixtures: the real instrument files, a temporary output folder, the CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the permissively licensed real files shipped in the repository (examples/real/README.md)
SHIPPED_REAL_DATA = REPO / "examples" / "real"


def _find_external_real_data() -> Path:
    """All real instrument files, GPL ones included (see their README for sources and licenses):
    $QDSTACK_REAL_DATA, else ``shared/data/real`` beside the clone (or beside any folder above it)."""
    if os.environ.get("QDSTACK_REAL_DATA"):
        return Path(os.environ["QDSTACK_REAL_DATA"])
    for folder in REPO.parents:
        candidate = folder / "shared" / "data" / "real"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data" / "real"


EXTERNAL_REAL_DATA = _find_external_real_data()
REAL_DATA = SHIPPED_REAL_DATA if SHIPPED_REAL_DATA.is_dir() else EXTERNAL_REAL_DATA
EXAMPLES = REPO / "examples"


class RealData:
    """``real_data / "xrd" / "Cu3Au-1.raw"``: the shipped copy when there is one, else the external file.

    Joining parts gives another ``RealData`` until a part names an existing file (or
    folder) in one of the roots, in order (shipped first); a file that is in no root skips
    the test (the GPL-licensed files are not shipped and need ``../shared/data/real``).
    """

    def __init__(self, roots):
        self.roots = [Path(r) for r in roots]

    def __truediv__(self, part):
        joined = [r / part for r in self.roots]
        for path in joined:
            if path.is_file():
                return path
        if any(path.is_dir() for path in joined):
            return RealData([path for path in joined if path.is_dir()])
        pytest.skip(
            f"real file {part} not found in {', '.join(map(str, self.roots))} (GPL-licensed files are "
            "not shipped: they need ../shared/data/real or $QDSTACK_REAL_DATA)"
        )

    def __fspath__(self):
        return str(self.roots[0])

    def __eq__(self, other):
        return Path(self.roots[0]) == Path(other)

    def __hash__(self):
        return hash(self.roots[0])


@pytest.fixture(scope="session")
def real_data() -> RealData:
    """The real instrument files: the copies shipped in ``examples/real`` (permissive licences)
    first, then the external folder; skips when neither exists."""
    roots = [r for r in (SHIPPED_REAL_DATA, EXTERNAL_REAL_DATA) if r.is_dir()]
    if not roots:
        pytest.skip(f"real instrument files not found at {REAL_DATA} (set QDSTACK_REAL_DATA)")
    return RealData(roots)


@pytest.fixture(scope="session")
def real_data_gpl() -> Path:
    """Folder of the GPL-licensed real files, which are not shipped (``../shared/data/real`` or
    $QDSTACK_REAL_DATA); skips when absent."""
    if not EXTERNAL_REAL_DATA.is_dir():
        pytest.skip(
            f"GPL-licensed real files are not shipped; not found at {EXTERNAL_REAL_DATA} "
            "(set QDSTACK_REAL_DATA)"
        )
    return EXTERNAL_REAL_DATA


@pytest.fixture
def run_cli(capsys):
    """Run ``qdstack ARGS...`` in-process; returns (exit code, stdout, stderr)."""
    from qdstack.cli.main import main

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture
def run_json(run_cli):
    """Run ``qdstack ARGS... --json`` and return the parsed object (asserts exit 0)."""

    def run(*args):
        code, out, err = run_cli(*args, "--json")
        assert code == 0, err
        return json.loads(out)

    return run


@pytest.fixture
def forkable(request) -> bool:
    """Make a test of the forked worker path run where ``fork_map`` can fork.

    ``fork_map`` stays in one process when this process runs other Python threads (earlier
    tests leave dask's threads behind), so in the full suite a test of the worker path would
    quietly test the loop.  If this process runs other threads, the test is run again in a
    fresh ``pytest`` process (asserting it passes there) and the fixture returns True: the
    body here then returns at once.  Otherwise it returns False and the body runs here.
    """
    import subprocess
    import sys
    import threading

    if threading.active_count() == 1 or os.environ.get("QDSTACK_FRESH_TEST"):
        return False
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        cwd=request.config.rootpath,
        env={**os.environ, "QDSTACK_FRESH_TEST": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"{request.node.nodeid} in a fresh process:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
    )
    return True
