"""Shared fixtures: the real instrument files, a temporary output folder, the CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
def _find_real_data() -> Path:
    """Real instrument files (see their README for sources and licenses): $QDSTACK_REAL_DATA, else
    ``shared/data/real`` beside the clone (or beside any folder above it)."""
    if os.environ.get("QDSTACK_REAL_DATA"):
        return Path(os.environ["QDSTACK_REAL_DATA"])
    for folder in REPO.parents:
        candidate = folder / "shared" / "data" / "real"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "data" / "real"


REAL_DATA = _find_real_data()
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of real instrument files (``../shared/data/real``); skips when absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real instrument files not found at {REAL_DATA} (set QDSTACK_REAL_DATA)")
    return REAL_DATA


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
