"""The repository passes the same ruff checks as the pre-commit hooks (lint and format).

Skips with the reason when ruff is not installed (it is part of the ``test`` extra).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "examples", "docs"]


def _ruff() -> list[str]:
    try:
        import ruff  # noqa: F401
    except ImportError:
        exe = shutil.which("ruff")
        if exe is None:
            pytest.skip("ruff is not installed: pip install '.[test]'")
        return [exe]
    return [sys.executable, "-m", "ruff"]


def test_ruff_lint():
    proc = subprocess.run(_ruff() + ["check", *PATHS], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_format():
    proc = subprocess.run(
        _ruff() + ["format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, "run 'ruff format' (or pre-commit):\n" + proc.stdout[-4000:]
