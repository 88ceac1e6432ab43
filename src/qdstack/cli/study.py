"""``qdstack study``: run every analysis of a study manifest, write results and a report."""

from __future__ import annotations

from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, stderr_console

app = typer.Typer(
    help="Studies: a manifest (TOML) lists samples and their files; 'run' analyses them all.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    help="Address of a dask.distributed scheduler (e.g. tcp://10.0.0.5:8786); default: a local "
    "cluster in this process; 'serial': one analysis after the other in this process, no dask. "
    "Workers must see the study's files at the same paths.",
)


@app.command("run", no_args_is_help=True)
def run(
    manifest: Path = typer.Argument(
        ..., help="The study manifest (study.toml).", show_default=False
    ),
    out: Path = typer.Option(
        None,
        "--out",
        help="Output folder; default 'qdstack-results' beside the manifest. It belongs to this study: a "
        "re-run of the same manifest resumes from its cache; a folder holding another run's results is "
        "refused unless --force is given.",
    ),
    scheduler: str = SCHEDULER_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Run every analysis the manifest implies; write results.json, tables, figures and report.html.

    The manifest lists samples (linker, layer count, dot size, ...) and the files
    measured on each: absorption spectra (-> first excitonic peak, one series per
    linker, and the bilayer shift vs linker length), PL spectra vs temperature,
    decays, scattering profiles, angle series, measured thickness. See the README
    ('Manifest reference') for the schema and examples/ for a complete study.

    Each analysis is cached by the hash of its inputs and options under
    OUT/.cache: rerunning after an interruption (even a kill) redoes only what had
    not finished, and no file is ever half-written. The folder belongs to this study:
    re-running the same manifest into it is what the cache is for; a folder holding
    another study's (or another command's) results is refused unless --force is given,
    which first removes what that run wrote.

    Example: qdstack study run examples/study_c3dt_c10dt/study.toml --out results/
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from qdstack.errors import QdstackError
    from qdstack.io.writers import dumps_json
    from qdstack.study.manifest import load_manifest
    from qdstack.study.runner import run_loaded_study

    from qdstack.cli._common import claim_out
    from qdstack.io.outdir import run_identity

    study = load_manifest(manifest)  # validate before anything is drawn or written
    text = manifest.read_text(encoding="utf-8-sig")
    out_dir = out if out is not None else manifest.parent / "qdstack-results"
    # one folder, one study: a re-run of this manifest keeps its cache; another study is refused
    claimed = claim_out(
        out_dir, "study run", run_identity("study run", manifest.resolve()), keep=(".cache",)
    )
    console = stderr_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task("analyses", total=None)

        def on_progress(done, total, name):
            bar.update(task, completed=done, total=total, description=f"analyses ({name})")

        result = run_loaded_study(
            study, text, out_dir, scheduler=scheduler, on_progress=on_progress
        )
    claimed.finish(accumulate=True)
    for name, warns in result.results["warnings"].items():
        for w in warns:
            console.print(f"warning: {name}: {w}", markup=False)
    if json_output:
        import sys

        sys.stdout.write(dumps_json(result.results) + "\n")
    else:
        console.print(
            f"{len(result.outputs)} analyses ({len(result.cached)} from cache) -> {out_dir}/results.json, "
            f"{out_dir}/report.html",
            markup=False,
        )
    if result.errors:
        name, message = next(iter(result.errors.items()))
        more = (
            f" (and {len(result.errors) - 1} more; see report.html)"
            if len(result.errors) > 1
            else ""
        )
        raise QdstackError(f"{message}{more}", f"analysis {name}")


@app.command("check", no_args_is_help=True)
def check(
    manifest: Path = typer.Argument(
        ..., help="The study manifest (study.toml).", show_default=False
    ),
) -> None:
    """Validate a manifest and list the analyses it implies, without running them."""
    from qdstack.study.manifest import load_manifest
    from qdstack.study.runner import plan_study

    study = load_manifest(manifest)
    tasks = plan_study(study)
    typer.echo(f"{manifest}: {len(study.sample)} samples, {len(tasks)} analyses")
    for t in tasks:
        typer.echo(f"  {t.name}: {t.title}")
