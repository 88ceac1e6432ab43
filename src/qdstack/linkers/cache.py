"""Disk cache of computed linker geometries.

One JSON file per (molecule with its anchors, level, software versions,
pipeline version), named by a hash of that key, in ``<cache dir>/linkers/``.
The cache directory is ``$QDSTACK_CACHE_DIR`` when set, else the platform's user
cache folder (``$XDG_CACHE_HOME/qdstack`` or ``~/.cache/qdstack`` on Linux,
``~/Library/Caches/qdstack`` on macOS, ``%LOCALAPPDATA%\\qdstack\\Cache`` on
Windows).  Nothing is ever written in the current folder.

Entries are written atomically (temporary file + rename).  An entry that cannot
be parsed, whose key does not match, or whose numbers fail validation is
*corrupt*: it is reported with a :class:`~qdstack.errors.QdstackWarning`,
ignored, and overwritten by the recomputed result.  A cache that cannot be
written (read-only disk) costs a warning, never the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from qdstack.errors import QdstackWarning

from ._data import PIPELINE_VERSION, CorruptRecord, LevelData

__all__ = ["CACHE_ENV", "default_cache_dir", "cache_key", "entry_path", "load_entry", "store_entry"]

#: Environment variable that overrides the cache directory.
CACHE_ENV: str = "QDSTACK_CACHE_DIR"

_PACKAGES: dict[str, tuple[str, ...]] = {
    "mmff": ("rdkit",),
    "gfn2": ("rdkit", "tblite", "scipy"),
    "b3lyp": ("rdkit", "pyscf", "geometric"),
}


def default_cache_dir() -> Path:
    """The cache directory: ``$QDSTACK_CACHE_DIR``, else the platform user cache dir."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "qdstack"
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "qdstack" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else home / ".cache") / "qdstack"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def cache_key(key_smiles: str, method: str) -> dict[str, Any]:
    """What identifies a cached result: molecule + anchors, level, versions."""
    return {
        "key_smiles": key_smiles,
        "method": method,
        "pipeline_version": PIPELINE_VERSION,
        "software": {p: _version(p) for p in _PACKAGES[method]},
    }


def entry_path(key: dict[str, Any], cache_dir: Path | None = None) -> Path:
    """File of the cache entry for ``key``."""
    root = default_cache_dir() if cache_dir is None else Path(cache_dir)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()[:32]
    return root / "linkers" / f"{key['method']}-{digest}.json"


def load_entry(key: dict[str, Any], cache_dir: Path | None = None) -> LevelData | None:
    """The cached record for ``key``; None when absent or corrupt (corrupt: with a warning)."""
    path = entry_path(key, cache_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # no entry (yet)
        return None
    except OSError as exc:
        warnings.warn(
            QdstackWarning(f"cannot read linker cache entry {path} ({exc}); recomputing"),
            stacklevel=3,
        )
        return None
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise CorruptRecord("not a JSON object")
        if raw.get("key") != key:
            raise CorruptRecord("its key does not match the request")
        record = LevelData.from_dict(raw.get("result"))
        if record.key_smiles != key["key_smiles"] or record.method != key["method"]:
            raise CorruptRecord("its molecule or method does not match its key")
    except (ValueError, CorruptRecord) as exc:  # json errors are ValueErrors
        warnings.warn(
            QdstackWarning(f"ignored corrupt linker cache entry {path} ({exc}); recomputing"),
            stacklevel=3,
        )
        return None
    return record


def store_entry(
    key: dict[str, Any], record: LevelData, cache_dir: Path | None = None
) -> Path | None:
    """Write ``record`` atomically; returns the path, or None (with a warning) on failure."""
    from qdstack.io.writers import atomic_write_text

    path = entry_path(key, cache_dir)
    text = json.dumps({"key": key, "result": record.to_dict()}, indent=1, allow_nan=False)
    try:
        atomic_write_text(path, text + "\n")
    except OSError as exc:
        warnings.warn(
            QdstackWarning(f"cannot write linker cache entry {path} ({exc})"), stacklevel=3
        )
        return None
    return path
