"""The real instrument files shipped in ``examples/real`` (issue 16, item 4).

Before, every real-file test and README example read ``../shared/data/real``, outside the
repository: in a clean clone about twenty tests skipped and the examples failed.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "examples" / "real"


def _listed_checksums() -> dict[str, str]:
    text = (SHIPPED / "README.md").read_text(encoding="utf-8")
    return {m.group(2): m.group(1) for m in re.finditer(r"^([0-9a-f]{64})  (\S+)$", text, re.M)}


def test_every_shipped_file_is_listed_with_its_checksum():
    listed = _listed_checksums()
    present = {
        p.relative_to(SHIPPED).as_posix()
        for p in SHIPPED.rglob("*")
        if p.is_file() and p.name != "README.md"
    }
    assert present == set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((SHIPPED / name).read_bytes()).hexdigest() == digest, name


def test_no_gpl_file_is_shipped():
    text = (SHIPPED / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == len(_listed_checksums())
    for row in rows:
        licence = row.rstrip(" |").rsplit("|", 1)[-1]
        assert "GPL" not in licence.replace("LGPL", ""), row
        assert any(word in licence for word in ("MIT", "BSD", "permission")), row


def test_real_data_fixture_reads_the_shipped_copies(real_data, monkeypatch):
    import os

    if os.environ.get("QDSTACK_REAL_DATA"):
        return  # an explicit folder was asked for
    assert real_data == SHIPPED


def test_shipped_files_stay_out_of_the_wheel():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert packages == ["src/qdstack"]
    assert not (REPO / "src" / "qdstack" / "examples").exists()
