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
    r = subprocess.run(
        [sys.executable, "-m", "qdstack", "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0 and __version__ in r.stdout


def test_bare_qdstack_prints_the_overview(run_cli):
    """``qdstack`` alone used to exit 0 with no output at all."""
    code, out, err = run_cli()
    assert code == 0 and err == ""
    assert out.startswith("Usage: qdstack") and "absorption" in out and "study" in out


def test_bare_subcommands_show_help_and_what_is_missing(run_cli):
    """``qdstack film`` etc. without arguments used to exit 2 silently."""
    cases = {
        ("film",): "missing --layers, --edge-nm",
        ("absorption",): "missing FILES",
        ("study",): "missing command (one of: run, check)",
        ("study", "check"): "missing MANIFEST",
        ("study", "run"): "missing MANIFEST",
        ("reproduce",): "missing STUDY",
    }
    for args, missing in cases.items():
        code, out, err = run_cli(*args)
        where = "qdstack " + " ".join(args)
        assert code == 2, args
        assert out == ""
        assert err.startswith(f"Usage: {where}"), (args, err[:80])
        last = err.rstrip("\n").splitlines()[-1]
        assert last == f"error: {where}: {missing} (see '{where} --help')"
        assert sum(line.startswith("error:") for line in err.splitlines()) == 1


def test_overview_lists_every_command_without_cutting_a_sentence(run_cli):
    """The reproduce line was cut to "Reproduce the reference study (Enomoto et al."."""
    code, out, _ = run_cli("--help")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("reproduce"))
    assert "2024" in line and "(Enomoto et al.\n" not in out


def test_heap_frozen_only_for_the_process_own_command_line():
    """main() without argv (the script, python -m qdstack) freezes the heap before the
    process exits, so the interpreter's shutdown does not scan it; main(args) leaves it."""
    code = (
        "import gc, sys\n"
        "from qdstack.cli.main import main\n"
        "assert main(['--version']) == 0 and gc.get_freeze_count() == 0\n"
        "sys.argv = ['qdstack', '--version']\n"
        "assert main() == 0 and gc.get_freeze_count() > 0\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"qdstack {__version__}\n" * 2
