"""Linker tests never touch the user's cache: every test gets its own cache folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "qdstack-cache"
    monkeypatch.setenv("QDSTACK_CACHE_DIR", str(cache))
    return cache
