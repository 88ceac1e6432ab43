"""The command line's promises: version, help, one-line errors, exit codes."""

from __future__ import annotations

import subprocess
import sys

from qdstack import __version__


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"qdstack {__version__}"


def test_help_lists_commands(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    for name in ("absorption", "coupling"):
        assert name in out


def test_unknown_command_and_option(run_cli):
    code, out, err = run_cli("frobnicate")
    assert code == 2 and out == ""
    assert err.startswith("error:") and err.count("\n") == 1
    code, _, err = run_cli("absorption", "--no-such-option", "x.csv")
    assert code == 2 and err.startswith("error:") and err.count("\n") == 1
    assert "--help" in err


def test_traceback_flag_shows_more(run_cli, tmp_path):
    code, _, err = run_cli("absorption", tmp_path / "missing_N1.csv", "--traceback")
    assert code == 2
    assert "Traceback" in err and "error:" in err


def test_console_script_entry_point():
    """The installed `qdstack` script and `python -m qdstack` run the same main()."""
    r = subprocess.run([sys.executable, "-m", "qdstack", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and __version__ in r.stdout
