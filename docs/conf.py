"""Sphinx configuration of the qdstack documentation.

Build (from the repository root, after ``pip install ".[docs]"``)::

    sphinx-build -W -b html docs docs/_build/html

Why Sphinx (and not MkDocs): the field's own libraries (lmfit, Kwant, SciPy, scikit-rf) document
with Sphinx, numpydoc docstrings render natively (napoleon), the CLI reference is generated
from the typer app at every build (``cli.md``), and myst-nb executes the tutorial notebooks (MyST Markdown, diff-friendly) at build
time, so every number on the site is recomputed by every build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the repository (src/, examples/); QDSTACK_ROOT when the docs are built from a copy (the test does)
ROOT = Path(os.environ.get("QDSTACK_ROOT", HERE.parent)).resolve()
os.environ["QDSTACK_ROOT"] = str(ROOT)
sys.path.insert(0, str(ROOT / "src"))
# the tutorials' kernels must import the same qdstack as the build
os.environ["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")

import qdstack  # noqa: E402

project = "qdstack"
author = "qdstack developers"
copyright = "2026, qdstack developers"
release = qdstack.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "img/README.md"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# notebooks (tutorials/*.md with a jupytext header) run at every build, from their own folder
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

html_theme = "pydata_sphinx_theme"
html_title = "qdstack"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []

# reference docs of other projects are not fetched (the build runs offline)
suppress_warnings = ["myst.header", "myst.xref_missing", "autosummary.import_cycle"]
nitpicky = False


# ----------------------------------------------------------------------------- CLI reference


def _help_text(args: list[str]) -> str:
    import contextlib
    import io

    from qdstack.cli.main import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        main(args + ["--help"])
    return buf.getvalue().rstrip()


def _commands() -> list[list[str]]:
    from qdstack.cli.main import app

    out = [[c.name] for c in app.registered_commands if c.name]
    for g in app.registered_groups:
        out.append([g.name])
        out.extend([g.name, c.name] for c in g.typer_instance.registered_commands if c.name)
    return sorted(out)


def write_cli_reference(*_args) -> None:
    """docs/cli.md: ``qdstack --help`` and every subcommand's ``--help``, from the typer app itself."""
    parts = [
        "# Command-line reference",
        "",
        "Generated at every build from the `qdstack` typer app (what `qdstack COMMAND --help` prints).",
        "Conventions shared by every command (units, `--json`, `--out`, exit codes) are in",
        "[the conventions page](guide/conventions.md).",
        "",
        "## qdstack",
        "",
        "```text",
        _help_text([]),
        "```",
    ]
    for cmd in _commands():
        parts += ["", f"## qdstack {' '.join(cmd)}", "", "```text", _help_text(cmd), "```"]
    text = "\n".join(parts) + "\n"
    target = HERE / "cli.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


# ----------------------------------------------------------------------------- API reference

_API_PACKAGES = {
    "qdstack.analysis": "Fits of measurements",
    "qdstack.physics": "Physics models",
    "qdstack.io": "Files in and out",
    "qdstack.study": "Studies and the reference study",
}


def write_api_reference(*_args) -> None:
    """docs/api.md: one autosummary table per subpackage, from its ``__all__`` (the public API)."""
    import importlib

    parts = [
        "# Python API",
        "",
        "The public names of each subpackage (its `__all__`), with their docstrings. Every result",
        "object also has `summary()`, `plot()`, `to_dict()`, `to_json()` and, in Jupyter, an HTML",
        "table (`qdstack._result.Result`).",
    ]
    for pkg, title in _API_PACKAGES.items():
        mod = importlib.import_module(pkg)
        parts += [
            "",
            f"## {title}: `{pkg}`",
            "",
            "```{eval-rst}",
            f".. automodule:: {pkg}",
            "   :no-members:",
            "",
            f".. currentmodule:: {pkg}",
            "",
            ".. autosummary::",
            "   :toctree: api/generated",
            "",
        ]
        parts += [f"   {name}" for name in sorted(mod.__all__)]
        parts += ["```"]
    text = "\n".join(parts) + "\n"
    target = HERE / "api.md"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


# generated when the configuration is read, before autosummary looks for its tables
write_cli_reference()
write_api_reference()
