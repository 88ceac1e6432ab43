"""What every subcommand shares: option parsing, output, figures, progress.

Subcommand modules parse their options into plain values, call the library and
hand the result to :func:`emit`.  Heavy imports (lmfit, matplotlib, RDKit) stay
inside the command functions so that ``qdstack --help`` starts fast.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from qdstack.errors import OptionError

__all__ = [
    "JSON_OPTION",
    "OUT_OPTION",
    "stdout_console",
    "stderr_console",
    "parse_int_list",
    "parse_float_list",
    "parse_layer_range",
    "value_from_name",
    "emit",
    "progress",
    "captured_warnings",
]

T = TypeVar("T")

JSON_OPTION = typer.Option(
    False,
    "--json",
    help="Print exactly one JSON object on stdout (logs and progress go to stderr).",
)
OUT_OPTION = typer.Option(
    None,
    "--out",
    help="Folder for results.json (the same object as --json) and the figures (PNG). A results folder "
    "belongs to one run: a folder holding another command's results (or this command's on other "
    "inputs) is refused unless --force is given, which first removes what that run wrote; the same "
    "command run again replaces its own results.",
    file_okay=False,
    dir_okay=True,
)


def stdout_console() -> Console:
    """Console for results; 120 columns when stdout is not a terminal (pipes, files, tests)."""
    width = None if sys.stdout.isatty() else 120
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, width=width)


def stderr_console() -> Console:
    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def parse_float_list(text: str | None, option: str) -> list[float] | None:
    """``"10,20,30"`` -> ``[10.0, 20.0, 30.0]``; None stays None."""
    if text is None:
        return None
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not items:
        raise OptionError("expected a comma-separated list of numbers", option)
    out = []
    for item in items:
        try:
            out.append(float(item))
        except ValueError:
            raise OptionError(f"{item!r} is not a number", option) from None
    return out


def parse_int_list(text: str | None, option: str) -> list[int] | None:
    """``"1,2,3"`` or ``"1-3"`` -> ``[1, 2, 3]``; None stays None."""
    if text is None:
        return None
    out: list[int] = []
    for item in [t for t in re.split(r"[,\s]+", text.strip()) if t]:
        m = re.fullmatch(r"(\d+)\s*(?:-|\.\.|:)\s*(\d+)", item)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise OptionError(f"range {item!r} runs backwards", option)
            out.extend(range(a, b + 1))
            continue
        if not re.fullmatch(r"[+-]?\d+", item):
            raise OptionError(f"{item!r} is not a whole number", option)
        out.append(int(item))
    if not out:
        raise OptionError("expected a comma-separated list of whole numbers", option)
    return out


def value_from_name(
    path: str, patterns, what: str, option: str, convert=float, name: str | None = None
):
    """The one number a file name states through any of ``patterns`` (group 1), else None.

    Parameters
    ----------
    path : str
        File path (named in errors); its stem is searched unless ``name`` is given.
    patterns : iterable of compiled regex
        Each with the number in group 1.
    what : str
        Plural noun for the message ("temperatures", "angles", "layer counts").
    option : str
        The option that gives the values explicitly (named in the message).
    convert : callable
        Turns the matched text into the value (float, int, ...).
    name : str, optional
        The text to search instead of the stem (when the suffix needs other handling).

    Raises
    ------
    OptionError
        If the name holds two different values.
    """
    stem = Path(path).stem if name is None else name
    found = {convert(m.group(1)) for pattern in patterns for m in pattern.finditer(stem)}
    if len(found) > 1:
        raise OptionError(
            f"the file name holds several {what} {sorted(found)}; give them with {option}", path
        )
    return found.pop() if found else None


def parse_layer_range(text: str, option: str = "--layers") -> list[int]:
    """``"1-8"`` or ``"1,2,4"`` -> sorted unique layer counts, each >= 1."""
    values = parse_int_list(text, option) or []
    if any(v < 1 for v in values):
        raise OptionError("layer counts must be >= 1", option)
    return sorted(set(values))


#: the command line of this invocation (set by ``main``; --traceback/--force removed)
INVOCATION: tuple[str, ...] = ()
#: ``--force`` was given: --out may replace another run's results
FORCE = False


def invocation_identity(args=None) -> tuple[str, str, tuple[str, ...]]:
    """(command, identity, shown arguments) of this command line for the --out folder rule.

    The identity hashes the arguments without --json and the --out folder itself, so
    the same command on the same inputs is the same run wherever its output goes.
    """
    from qdstack.io.outdir import run_identity

    args = list(INVOCATION if args is None else args)
    kept: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "--out":
            skip = True
            continue
        if a.startswith("--out=") or a == "--json":
            continue
        kept.append(a)
    command = " ".join(kept[:2]) if kept[:1] == ["study"] else (kept[0] if kept else "qdstack")
    return command, run_identity(*kept), tuple(args)


def claim_out(out_dir, command: str | None = None, identity: str | None = None, keep=()):
    """Claim ``out_dir`` for this run (:func:`qdstack.io.outdir.claim_out_dir`) with --force."""
    from qdstack.io.outdir import claim_out_dir

    cmd, ident, shown = invocation_identity()
    return claim_out_dir(
        out_dir, command or cmd, identity or ident, arguments=shown, force=FORCE, keep=keep
    )


#: warnings captured during this command, printed once by :func:`emit`
_PENDING_WARNINGS: list[str] = []


@contextmanager
def captured_warnings():
    """Collect warnings raised inside the block; yields the list of messages.

    Merge the list into the result's ``"warnings"``; :func:`emit` prints every
    warning of the result (and any captured here) on stderr as ``warning: ...``
    lines, once, so a user sees them whether or not they read the JSON.
    """
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            for w in caught:
                text = str(w.message)
                if text not in messages:
                    messages.append(text)
            _PENDING_WARNINGS.extend(messages)


def progress(
    items: Iterable[T],
    description: str,
    total: int | None = None,
) -> Iterable[T]:
    """Iterate with a rich progress bar on stderr (nothing is drawn when stderr is not a terminal)."""
    console = stderr_console()
    if not console.is_terminal:  # the bar would be disabled: spare the import of rich.progress
        yield from items
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    if total is None and isinstance(items, Sequence):
        total = len(items)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def emit(
    result: Mapping[str, Any],
    *,
    json_output: bool,
    out_dir: Path | None = None,
    figures: Mapping[str, Callable[[], Any]] | None = None,
    summary: Callable[[Console], None] | None = None,
    extra_files: Mapping[str, Callable[[Path], Any]] | None = None,
) -> None:
    """Print and/or write a command's result.

    Parameters
    ----------
    result : mapping
        The contract's JSON object (already ``to_dict()``-ed).
    json_output : bool
        Print exactly ``result`` as JSON on stdout.
    out_dir : Path, optional
        Write ``results.json`` and the figures there.
    figures : mapping of file stem -> callable returning a matplotlib Figure
        Built only when ``out_dir`` is given.
    summary : callable(Console), optional
        Human-readable rendering for the terminal when ``--json`` is not given.
    extra_files : mapping of name -> callable(Path), optional
        Other writers (CSV tables, spectra) run with the output folder.
    """
    from qdstack.io.writers import dumps_json, save_figure, write_json

    text = dumps_json(result)  # validates before anything is written
    claimed = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise OptionError("exists and is not a folder", str(out_dir))
        claimed = claim_out(out_dir)  # refused before any warning is printed or file written
    shown = set()
    err_console = stderr_console()
    for message in list(result.get("warnings") or []) + _PENDING_WARNINGS:
        if message not in shown:
            shown.add(message)
            err_console.print(f"warning: {message}", markup=False)
    _PENDING_WARNINGS.clear()
    if claimed is not None:
        write_json(out_dir / "results.json", result)
        for stem, build in (figures or {}).items():
            fig = build()
            if fig is not None:
                save_figure(fig, out_dir / f"{stem}.png")
        for _name, writer in (extra_files or {}).items():
            writer(out_dir)
        claimed.finish()
    if json_output:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        if summary is not None:
            summary(stdout_console())
        if out_dir is not None:
            stderr_console().print(f"wrote {out_dir}/results.json and figures", markup=False)


def run_on_image(
    image: Path,
    analyse: Callable[[Any], Any],
    *,
    json_output: bool,
    out_dir: Path | None,
    figures: Callable[[Any], Mapping[str, Callable[[], Any]]],
    pixel_nm: float | None = None,
    scale_bar_nm: float | None = None,
    crop: tuple[int, int, int, int] | None = None,
) -> None:
    """Read a micrograph, analyse it and emit the result (``qdstack tem``, ``qdstack lattice``).

    Warnings of the reading and the analysis are merged with the result's own
    ``warnings``, the image's description goes under the ``"image"`` key, and the
    terminal summary ends with the calibration line of the micrograph.

    Parameters
    ----------
    image : Path
        The micrograph file (:func:`qdstack.io.image.read_image`).
    analyse : callable(Micrograph) -> result
        The analysis; its result has ``to_dict()``, ``warnings`` and ``print_summary(console)``.
    json_output, out_dir
        As in :func:`emit`.
    figures : callable(result) -> mapping of file stem -> callable returning a Figure
        Called only when ``out_dir`` is given.
    pixel_nm, scale_bar_nm, crop
        Passed to :func:`qdstack.io.image.read_image`.
    """
    from qdstack.io.image import read_image

    with captured_warnings() as warned:
        micro = read_image(image, pixel_nm=pixel_nm, scale_bar_nm=scale_bar_nm, crop=crop)
        result = analyse(micro)
    data = result.to_dict()
    data["image"] = micro.info()
    data["warnings"] = list(dict.fromkeys(list(result.warnings) + list(warned)))

    def summary(console):
        result.print_summary(console)
        console.print(f"calibration: {micro.calibration}", markup=False, highlight=False)

    emit(
        data,
        json_output=json_output,
        out_dir=out_dir,
        figures=figures(result) if out_dir else None,
        summary=summary,
    )
