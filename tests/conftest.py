"""Shared fixtures: the real instrument files, a temporary output folder, the CLI runner."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Real instrument files (see their README for sources and licenses); CI has them beside the clone.
REAL_DATA = Path(os.environ.get("QDSTACK_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
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
