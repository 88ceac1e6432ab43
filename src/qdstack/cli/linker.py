"""``qdstack linker``: sulfur-sulfur distance (the inter-dot gap) of a dithiol linker."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, captured_warnings, emit, stderr_console
from qdstack.errors import OptionError


@contextmanager
def _progress_callback(enabled: bool):
    """A ``progress(stage, done, total)`` callback drawing a rich bar on stderr.

    The bar starts with the first report (table and cache hits draw nothing) and
    only on a terminal.
    """
    console = stderr_console()
    if not (enabled and console.is_terminal):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()


def _parse_anchors(text: str | None):
    if text is None:
        return None
    from qdstack.cli._common import parse_int_list

    values = parse_int_list(text, "--anchors")
    if len(values) != 2:
        raise OptionError(f"give exactly two atom indices (e.g. 0,4), got {text!r}", "--anchors")
    return (values[0], values[1])


def _fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def _list(json_output: bool, out: Path | None) -> None:
    from qdstack.linkers import METHODS, builtin_linkers

    entries = builtin_linkers()
    result = {
        "linkers": [b.to_dict() for b in entries],
        "conformer": "anti",
        "methods": list(METHODS),
    }

    def summary(console):
        from rich.table import Table

        table = Table(
            title="Built-in linkers: S-S distance of the all-anti conformer, in nm",
            title_justify="left",
        )
        for col in ("name", "full name", "SMILES", *METHODS, "paper"):
            table.add_column(col, justify="right" if col in (*METHODS, "paper") else "left")
        for b in entries:
            table.add_row(
                b.name,
                b.description,
                b.smiles,
                *(_fmt(b.ss_distance_nm(m)) for m in METHODS),
                _fmt(b.paper_ss_distance_nm, 2),
            )
        console.print(table)
        console.print(
            "mmff: RDKit ETKDG + MMFF94; gfn2: GFN2-xTB (tblite); b3lyp: B3LYP/6-31G(d) "
            "(PySCF + geomeTRIC); paper: Enomoto et al. 2024 (B3LYP/6-31G(d)); "
            "—: not in the shipped table (computed on request).",
            markup=False,
        )

    emit(result, json_output=json_output, out_dir=out, summary=summary)


def command(
    name_or_smiles: str = typer.Argument(
        None,
        metavar="NAME_OR_SMILES",
        help="Built-in linker (C2DT, C3DT, C4DT, C5DT, C6DT, C10DT, BDT, BPDT, or a full name "
        "such as "
        "1,3-propanedithiol) or any molecule as SMILES (e.g. 'SCCCCCCCS').",
        show_default=False,
    ),
    list_: bool = typer.Option(
        False, "--list", help="List the built-in linkers with their distances."
    ),
    method: str = typer.Option(
        "mmff",
        "--method",
        "-m",
        help="Level of theory: mmff (RDKit ETKDG + MMFF94, seconds), gfn2 (GFN2-xTB via tblite, "
        "extra qdstack[xtb]), b3lyp (B3LYP/6-31G(d), PySCF + geomeTRIC, extra qdstack[dft]; "
        "minutes to hours).",
    ),
    conformer: str = typer.Option(
        "anti",
        "--conformer",
        help="Which distance to report as ss_distance_nm: anti (extended all-anti chain, the "
        "default "
        "and what the film model uses), lowest (lowest-energy conformer found) or boltzmann "
        "(Boltzmann mean at --temperature).",
    ),
    temperature: float = typer.Option(
        298.15, "--temperature", help="Temperature of the Boltzmann mean, in K."
    ),
    offset_nm: float = typer.Option(
        0.0,
        "--offset-nm",
        help="Added to the S-S distance to give the inter-dot gap the models use, in nm "
        "(default 0, as in the paper; see below).",
    ),
    anchors: str = typer.Option(
        None,
        "--anchors",
        help="The two anchoring atoms as heavy-atom indices in SMILES order, 0-based (e.g. 0,4), "
        "when they are not two thiols or otherwise unambiguous.",
    ),
    timeout: float = typer.Option(
        None, "--timeout", help="Give up a computation after this many seconds."
    ),
    no_cache: bool = typer.Option(
        False,
        "--no-cache",
        help="Neither read nor write the disk cache ($QDSTACK_CACHE_DIR or ~/.cache/qdstack).",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = typer.Option(
        None,
        "--out",
        help="Folder for results.json (the same object as --json).",
        file_okay=False,
        dir_okay=True,
    ),
) -> None:
    """Sulfur-sulfur distance of a dithiol linker: the gap between two quantum-dot layers.

    In a layer-by-layer film the dots of neighbouring layers are bridged by
    dithiol molecules whose two thiol groups bind the dot surfaces (Pb sites).
    Enomoto et al. (Chem. Sci. 2024) take the inter-dot distance to be the
    distance between the linker's two sulfur atoms, from DFT at B3LYP/6-31G(d)
    (C3DT 0.55 nm, C10DT 1.46 nm). This command gives that S-S distance for the
    built-in linkers (instantly, from a table qdstack computed and ships) and for
    any molecule given as SMILES (computed on request, then cached on disk).

    Conformers: a flexible alkane chain has many. The default distance is that
    of the extended ALL-ANTI conformer (every C-C torsion at 180 deg; at the gfn2
    and b3lyp levels the thiol H anti too, see docs/guide/linker.md): it is what
    the paper's numbers are, and what a linker stretched between two facets in
    a packed film looks like, so the film model uses it. The lowest-energy
    conformer found in vacuum (often a gauche or folded chain, and which one
    depends on the level of theory) and the Boltzmann-weighted mean over all
    conformers found are printed beside it; --conformer picks another as the
    result. Aromatic linkers (BDT, BPDT) are rigid: all three coincide.

    Gap: the models use gap = S-S distance + offset. The offset (--offset-nm,
    default 0 as in the paper) stands for what the S-S distance leaves out: the
    S-Pb bonds, the tilt of the linker, surface relaxation.

    Anchors: the two anchoring atoms are found automatically (two thiols; else
    exactly two of thiol, thiolate, selenol, primary amine, carboxylic acid);
    otherwise name them with --anchors or as atom maps, e.g. [SH:1]CCC[SH:1].

    Examples:

    \b
      qdstack linker C3DT
      qdstack linker 1,10-decanedithiol --method gfn2 --json
      qdstack linker 'SCCCCCCCS' --conformer boltzmann --temperature 300
      qdstack linker C3DT --offset-nm 0.1
      qdstack linker --list
    """
    if list_:
        if name_or_smiles is not None:
            raise OptionError("give either a linker or --list, not both", "--list")
        _list(json_output, out)
        return
    if name_or_smiles is None:
        raise OptionError("give a linker name or SMILES (or --list)", "NAME_OR_SMILES")
    if timeout is not None and not timeout > 0:
        raise OptionError(f"must be a positive number of seconds, got {timeout:g}", "--timeout")
    from qdstack.errors import QdstackError
    from qdstack.linkers import get_linker, linker_gap_nm

    option_names = {
        "method": "--method",
        "conformer": "--conformer",
        "temperature_K": "--temperature",
        "offset_nm": "--offset-nm",
        "anchors": "--anchors",
        "timeout_s": "--timeout",
        "linker": "NAME_OR_SMILES",
    }
    anchor_pair = _parse_anchors(anchors)
    with captured_warnings() as warned:
        try:
            with _progress_callback(not json_output) as report:
                geometry = get_linker(
                    name_or_smiles,
                    method=method,
                    conformer=conformer,
                    temperature_K=temperature,
                    timeout_s=timeout,
                    anchors=anchor_pair,
                    use_cache=not no_cache,
                    progress=report,
                )
            gap = linker_gap_nm(geometry, offset_nm=offset_nm)
        except QdstackError as exc:  # name the option, not the library parameter
            if exc.source in option_names:
                raise type(exc)(exc.message, option_names[exc.source]) from None
            raise
    result = geometry.to_dict()
    result["offset_nm"] = float(offset_nm)
    result["gap_nm"] = gap
    result["warnings"] = sorted(set(result["warnings"]) | set(warned))

    def summary(console):
        from qdstack._result import Summary

        Summary(tuple(geometry.summary_blocks(offset_nm=offset_nm))).rich(console)

    emit(result, json_output=json_output, out_dir=out, summary=summary)
