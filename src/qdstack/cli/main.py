"""The ``qdstack`` command: wires the subcommands and turns errors into one line.

Exit codes (``CONTRACT.md``): 0 success; 2 bad input (unreadable or malformed
file, impossible option, a fit that cannot be made) with a single
``error: <file or option>: <cause>`` line on stderr; 1 only for a bug.
``--traceback`` (anywhere on the command line, or ``QDSTACK_TRACEBACK=1``)
shows the full traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback as _traceback
import warnings
from functools import lru_cache

import typer

from qdstack import __version__
from qdstack.errors import QdstackError


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"qdstack {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Print the version and exit.",
    ),
    traceback: bool = typer.Option(
        False,
        "--traceback",
        help="Show the full traceback when a command fails (also QDSTACK_TRACEBACK=1).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Let --out replace the results of another run: a results folder belongs to one run, so "
        "--out refuses a folder holding another command's (or other inputs') results; with --force the "
        "files that run wrote are removed first. Files qdstack did not write are never deleted.",
    ),
) -> None:
    """qdstack: analyse and model films of coupled quantum dots."""


#: the subcommands, in the order of ``qdstack --help``: name -> extra arguments of
#: ``app.command`` (one small module per subcommand under ``qdstack.cli``; ``study`` is a group)
_COMMANDS: dict[str, dict] = {
    "absorption": {},
    "coupling": {},
    "dots": {},
    "linker": {},
    "xrd": {},
    "film": {},
    "angle": {},
    "study": {},
    # the short help is given: click would cut the docstring's first sentence at "et al."
    "reproduce": {
        "short_help": "Reproduce Enomoto et al. 2024 from physics and compare with the paper."
    },
    "tpl": {},
    "decay": {},
    "simulate": {},
    "calibrate": {},
    "plqy": {},
    "coverage": {},
    "dipcoat": {},
    "tem": {},
    "lattice": {},
    "explain": {},
}


@lru_cache(maxsize=None)
def _app(only: str | None = None) -> typer.Typer:
    """The typer app with every subcommand, or with ``only`` that one (built once each).

    ``qdstack COMMAND ...`` needs only its own module: importing and building the other
    eighteen costs ~30 ms, which every command would wait for.
    """
    import importlib

    app = typer.Typer(
        name="qdstack",
        help=(
            "Analyse and model films of coupled quantum dots.\n\n"
            "Analyses of measurements (absorption series, temperature-dependent PL, "
            "PL decays, X-ray scattering, angle-dependent PL) and the physics behind them "
            "(effective-mass dots, linkers, exciton on an N-layer stack).\n\n"
            "Units everywhere: photon and band energies in eV, couplings/shifts/widths in meV, "
            "lengths in nm, wave numbers in nm^-1, times in ns, temperatures in K.\n\n"
            "Every command takes --json (one JSON object on stdout) and most take --out DIR "
            "(results.json + PNG figures). Add --traceback to see the full traceback of an error."
        ),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,  # help texts are plain text: units like [eV] must not be read as markup
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for name, kwargs in _COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"qdstack.cli.{name}")
        if name == "study":
            app.add_typer(module.app, name=name)
        else:
            app.command(name, no_args_is_help=True, **kwargs)(module.command)
    return app


def __getattr__(name: str):
    if name == "app":  # the whole command line (the docs' CLI reference reads it)
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _click_exception_classes():
    """Exit/Abort/UsageError/ClickException classes of click and of typer's vendored copy.

    typer >= 0.20 ships its own copy of click (``typer._click``); earlier releases use
    click itself.  Both are caught so that the error format never depends on the version.
    """
    modules = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        if modules and name == "click.exceptions" and name not in sys.modules:
            continue  # typer has its own copy and click is not loaded: none of its errors can come
        try:
            modules.append(__import__(name, fromlist=["UsageError"]))
        except ImportError:
            continue
    exit_ = (typer.Exit,) + tuple(m.Exit for m in modules if hasattr(m, "Exit"))
    abort = (typer.Abort,) + tuple(m.Abort for m in modules if hasattr(m, "Abort"))
    usage = tuple(m.UsageError for m in modules)
    click_exc = tuple(m.ClickException for m in modules)
    return exit_, abort, usage, click_exc


def _error_line(message: str) -> None:
    text = " ".join(str(message).split())  # exactly one line
    sys.stderr.write(f"error: {text}\n")
    sys.stderr.flush()


def _missing(ctx) -> str:
    """What a command called without arguments lacks: its required arguments/options, or a subcommand."""
    command = ctx.command
    if hasattr(command, "list_commands"):  # a group: ``qdstack study``
        return "missing command (one of: " + ", ".join(command.list_commands(ctx)) + ")"
    names = []
    for param in command.params:
        if getattr(param, "required", False):
            if getattr(param, "param_type_name", "") == "argument":
                names.append((getattr(param, "metavar", None) or param.name).upper())
            else:
                names.append("/".join(param.opts))
    if names:
        return "missing " + ", ".join(names)
    return "no input given"


def _no_args_help(exc, *, bare: bool) -> int:
    """Show the help a command was called bare for.

    ``qdstack`` alone prints the overview on stdout and succeeds (exit 0); a
    subcommand without its arguments (``qdstack film``, ``qdstack study check``)
    prints its help and one ``error:`` line naming what is missing on stderr and
    exits 2, like any other usage error.
    """
    ctx = getattr(exc, "ctx", None)
    text = exc.format_message() if ctx is None else ctx.get_help()
    if bare:
        sys.stdout.write(text.rstrip("\n") + "\n")
        sys.stdout.flush()
        return 0
    sys.stderr.write(text.rstrip("\n") + "\n\n")
    where = ctx.command_path if ctx is not None else "qdstack"
    _error_line(
        f"{where}: {_missing(ctx) if ctx is not None else 'no arguments given'} (see '{where} --help')"
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1 or 2).

    Without ``argv`` (the ``qdstack`` script, ``python -m qdstack``) this is the process's own
    command line, which exits next: the objects that exist then are frozen out of the cyclic
    garbage collector (:func:`gc.freeze`), so that the interpreter's shutdown does not scan
    them all (after an lmfit analysis, 0.13-0.15 s of CPU, a tenth of the command).  Their
    memory goes back to the system with the process; the ``atexit`` handlers still run, and
    every file qdstack writes is closed before this returns.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get("QDSTACK_TRACEBACK", "") not in (
        "",
        "0",
    )
    args = [a for a in args if a != "--traceback"]
    from qdstack.cli import _common

    _common.FORCE = "--force" in args  # like --traceback: accepted anywhere on the command line
    args = [a for a in args if a != "--force"]
    _common.INVOCATION = tuple(args)

    def _show_warning(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(f"warning: {message}\n")

    exit_exc, abort_exc, usage_exc, click_exc = _click_exception_classes()
    old_show = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        command = next((a for a in args if not a.startswith("-")), None)
        app = _app(command if command in _COMMANDS else None)
        rv = app(args=args, prog_name="qdstack", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except exit_exc as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except abort_exc:
        _error_line("aborted")
        return 130
    except usage_exc as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            return _no_args_help(exc, bare=not args)
        if show_traceback:
            _traceback.print_exc()
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "qdstack"
        _error_line(f"{where}: {exc.format_message()} (see '{where} --help')")
        return 2
    except click_exc as exc:
        if show_traceback:
            _traceback.print_exc()
        _error_line(exc.format_message())
        return 2
    except QdstackError as exc:
        if show_traceback:
            _traceback.print_exc()
        _error_line(str(exc))
        return 2
    except KeyboardInterrupt:
        _error_line("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so, and how to report it
        if show_traceback:
            _traceback.print_exc()
        _error_line(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in qdstack, "
            "rerun with --traceback and report it"
        )
        return 1
    finally:
        warnings.showwarning = old_show
        if argv is None:  # the process's own command line: it exits next
            import gc

            gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
