"""The Examples sections of the public docstrings run (doctest), as a notebook user would run them.

``EXAMPLES`` in the examples is the repository's ``examples/`` folder.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import qdstack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# modules that need an optional extra to import at all
OPTIONAL = {"qdstack.linkers._qm", "qdstack.linkers._xtb"}


def _with_examples(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(mod, name, globs={"EXAMPLES": EXAMPLES}) if t.examples]
    return tests


def _modules():
    out = []
    for info in pkgutil.walk_packages(qdstack.__path__, "qdstack."):
        if (
            info.name in OPTIONAL
            or ".parameter_sets.make_" in info.name
            or info.name.endswith("regenerate")
            or info.name.endswith("__main__")
        ):
            continue
        if _with_examples(info.name):
            out.append(info.name)
    return sorted(out)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    tests = _with_examples(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, (
        f"{failed} of {attempted} docstring examples of {name} failed (run with -s to see them)"
    )


def test_public_names_resolve():
    """Every name in a subpackage's ``__all__`` imports (the lazy exports are not stale)."""
    for pkg in ("qdstack.analysis", "qdstack.physics", "qdstack.io"):
        mod = importlib.import_module(pkg)
        for n in mod.__all__:
            assert getattr(mod, n) is not None, f"{pkg}.{n}"
