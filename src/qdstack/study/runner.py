"""Run a study: plan the tasks, run them through dask, cache, write results and the report.

* Every task runs as a dask task: on a local in-process cluster by default, or
  on a dask.distributed scheduler given by address (``--scheduler
  tcp://host:8786``; workers must see the study's files at the same paths, as
  on a shared file system).
* Each task's output is cached under ``DIR/.cache/`` by the hash of its kind,
  options, input-file *contents*, the results it depends on and the qdstack
  version.  The cache entry is written last and atomically, after the task's
  own files; a rerun after an interruption (even a kill) therefore redoes only
  the tasks that had not finished, and no file is ever half-written.
* ``results.json`` is deterministic (no timestamps), so an interrupted and
  resumed run gives exactly the file an uninterrupted run gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from qdstack import __version__
from qdstack._result import Result, Table, fmt
from qdstack.errors import OptionError, QdstackError
from qdstack.io.writers import (
    atomic_write_bytes,
    atomic_write_text,
    to_jsonable,
    write_csv,
    write_json,
)
from qdstack.study import analyses
from qdstack.study.manifest import Study, load_manifest
from qdstack.study.tasks import Task, TaskOutput, task_key

__all__ = ["StudyRun", "plan_study", "run_study", "run_loaded_study", "provenance", "file_sha256"]

CACHE_DIR = ".cache"


class PNG(bytes):
    """PNG bytes that Jupyter displays as an image (``_repr_png_``)."""

    def _repr_png_(self) -> bytes:
        return bytes(self)


@dataclass
class StudyRun(Result):
    """Everything a study run produced (what the report is made from).

    In Jupyter it shows as a table: the comparison with the paper for
    ``reproduce_enomoto2024``, otherwise one row per analysis with its key numbers.
    ``figures`` holds every figure of the report (each displays inline), ``plot(figure=...)``
    draws one on a matplotlib Figure, ``to_dict()`` is ``results.json``.
    """

    study: Study
    manifest_text: str
    outputs: dict[str, TaskOutput]
    errors: dict[str, str]
    results: dict
    out_dir: Path
    cached: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return self.results

    @property
    def figures(self) -> dict[str, PNG]:
        """Every figure of the run, ``"analysis/figure" -> PNG`` (displayed inline by Jupyter)."""
        return {f"{n}/{k}": PNG(v) for n, o in self.outputs.items() for k, v in o.figures.items()}

    def summary_blocks(self):
        r = self.results
        if "comparison" in r:
            ref = r.get("reference", {}).get("citation", "the reference study")
            label = (
                "Enomoto et al. 2024" if r.get("reference", {}).get("id") == "enomoto2024" else ref
            )
            rows = tuple(
                (
                    c["quantity"],
                    fmt(c["paper"], missing="—"),
                    fmt(c["qdstack"], missing="—"),
                    c["unit"],
                    f"± {fmt(c['tolerance'], missing='—')}",
                    "yes" if c["agrees"] else "NO",
                    c["kind"] + ("" if c.get("counted", True) else " (not counted)"),
                )
                for c in r["comparison"]
            )
            table = Table(
                f"{label} vs qdstack",
                ("quantity", "paper", "qdstack", "unit", "tolerance", "agrees", "kind"),
                rows,
                align=("l", "r", "r", "l", "r", "r", "l"),
            )
            return (
                table,
                f"{r['headline']}. See {self.out_dir}/report.html for the discussion.",
            )
        rows = []
        for name, o in self.outputs.items():
            for i, (what, value) in enumerate(o.summary):
                rows.append((name if i == 0 else "", what, value))
            if not o.summary:
                rows.append((name, "", ""))
        blocks: list = [
            Table(
                f"study: {r['study'].get('name', '')}",
                ("analysis", "quantity", "value"),
                tuple(rows),
                align=("l", "l", "l"),
            )
        ]
        blocks += [f"error: {n}: {e}" for n, e in self.errors.items()]
        blocks.append(
            f"{len(self.outputs)} analyses ({len(self.cached)} from cache) -> "
            f"{self.out_dir}/results.json, {self.out_dir}/report.html"
        )
        return tuple(blocks)

    def plot(self, ax=None, *, figure: str | None = None):
        """One figure of the run on a matplotlib Figure (default: the first of ``figures``).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        figure : str, optional
            A key of :attr:`figures` (``"absorption_C3DT/shift_vs_layers"``).
        """
        import io

        from matplotlib.image import imread

        figs = self.figures
        if not figs:
            raise ValueError("this run made no figures")
        name = figure or next(iter(figs))
        if name not in figs:
            raise KeyError(f"no figure {name!r}; the run has: {', '.join(figs)}")
        img = imread(io.BytesIO(figs[name]), format="png")
        if ax is None:
            from qdstack.plotting._base import new_figure

            h, w = img.shape[:2]
            _, ax = new_figure(figsize=(w / 100, h / 100))
        ax.imshow(img)
        ax.set_axis_off()
        return ax.figure


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def plan_study(study: Study) -> list[Task]:
    """All tasks the manifest implies, dependencies before dependants."""
    tasks: list[Task] = []
    for kind in analyses.KINDS:
        tasks.extend(analyses.get(kind).plan(study))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):  # pragma: no cover - planners keep names unique
        raise RuntimeError(f"duplicate task names: {names}")
    return tasks


def _execute(task: Task, deps: dict) -> TaskOutput | dict:
    """Run one task (in a worker): its output, or ``{"error": ...}`` for bad input."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    delay = float(os.environ.get("QDSTACK_STUDY_TASK_DELAY_S", "0") or 0)
    if delay > 0:  # testing aid: makes a run slow enough to be interrupted midway
        import time

        time.sleep(delay)
    dep_results = {k: (v.result if isinstance(v, TaskOutput) else v) for k, v in deps.items()}
    failed = [k for k, v in deps.items() if isinstance(v, dict) and "error" in v and len(v) == 1]
    if failed:
        return {"error": f"skipped: it needs {', '.join(failed)}, which failed"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = analyses.get(task.kind).run(task, dep_results)
        except QdstackError as exc:
            return {"error": str(exc)}
        except Exception:  # a bug: carry the traceback to the client instead of worker logs
            import traceback

            return {"bug": traceback.format_exc()}
    for w in caught:
        text = str(w.message)
        if text not in out.warnings:
            out.warnings.append(text)
    # plain JSON types (NaN -> None) so that the cache, results.json and a remote client agree
    out.result = to_jsonable(out.result)
    out.tables = to_jsonable(out.tables)
    out.warnings = list(dict.fromkeys(str(w) for w in out.warnings))
    return out


def relative_paths(obj, root: Path):
    """``obj`` with every string that is an absolute path inside ``root`` made relative to it.

    Applied to the results before they are written: the analyses name their input
    files by absolute path, which would tie results.json to one machine's folders.
    Paths outside ``root`` stay absolute (they are not part of the study folder).
    """
    prefix = str(Path(root).resolve()) + os.sep
    if isinstance(obj, str):
        return Path(obj[len(prefix) :]).as_posix() if obj.startswith(prefix) else obj
    if isinstance(obj, dict):
        return {relative_paths(k, root): relative_paths(v, root) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [relative_paths(v, root) for v in obj]
    return obj


def provenance(study: Study, file_hashes: dict[str, str]) -> dict:
    """Versions of qdstack and its dependencies, and the input files' hashes (deterministic)."""
    from importlib import metadata

    deps = {}
    for name in (
        "numpy",
        "scipy",
        "lmfit",
        "matplotlib",
        "dask",
        "distributed",
        "pydantic",
        "jinja2",
        "ptufile",
        "sdtfile",
        "rdkit",
        "xrayutilities",
        "pyamg",
    ):
        try:
            deps[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            deps[name] = None
    files = {}
    for path, digest in file_hashes.items():
        try:
            rel = str(Path(path).relative_to(study.root))
        except ValueError:
            rel = path
        files[rel] = digest
    return {
        "qdstack": __version__,
        "python": platform.python_version(),
        "dependencies": deps,
        "input_files_sha256": files,
    }


def _load_cached(tasks, keys: dict[str, str], cache: Path):
    """Outputs of the tasks already in the cache, and the tasks still to run."""
    outputs: dict[str, TaskOutput] = {}
    todo: list[Task] = []
    for t in tasks:
        entry = cache / f"{keys[t.name]}.json"
        if entry.is_file():
            try:
                outputs[t.name] = TaskOutput.from_cache(json.loads(entry.read_text()))
                continue
            except (ValueError, KeyError, TypeError):
                pass  # a damaged entry is recomputed, never trusted
        todo.append(t)
    return outputs, todo


def run_study(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    scheduler: str | None = None,
    on_progress=None,
    report: bool = True,
) -> StudyRun:
    """Run every analysis a manifest implies and write results.json, CSV tables, figures, report.html.

    Parameters
    ----------
    manifest : path
        The study manifest (TOML).
    out_dir : path
        Output folder (created).
    scheduler : str, optional
        Address of a dask.distributed scheduler; default a local in-process cluster.
    on_progress : callable(done: int, total: int, name: str), optional
        Called as tasks finish (the CLI draws a progress bar with it).
    report : bool
        Also write ``report.html``.

    Returns
    -------
    StudyRun
    """
    manifest = Path(manifest)
    study = load_manifest(manifest)
    text = manifest.read_text(encoding="utf-8-sig")
    return run_loaded_study(
        study, text, out_dir, scheduler=scheduler, on_progress=on_progress, report=report
    )


def run_loaded_study(
    study: Study,
    manifest_text: str,
    out_dir,
    *,
    scheduler=None,
    on_progress=None,
    report: bool = True,
    extra_results: dict | None = None,
) -> StudyRun:
    """:func:`run_study` for an already validated :class:`Study` (used by ``reproduce``)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OptionError("exists and is not a folder", str(out_dir))
    cache = out_dir / CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    for folder in (out_dir, cache, out_dir / "figures", out_dir / "tables"):
        for stale in folder.glob(".*.tmp"):  # left by a run killed while writing
            stale.unlink(missing_ok=True)
    tasks = plan_study(study)
    file_hashes = {str(p): file_sha256(p) for p in study.input_files()}
    keys: dict[str, str] = {}
    for t in tasks:
        keys[t.name] = task_key(t, file_hashes, keys, __version__)

    outputs, todo = _load_cached(tasks, keys, cache)
    cached = list(outputs)
    errors: dict[str, str] = {}
    total = len(tasks)
    done = len(outputs)
    if on_progress:
        on_progress(done, total, "cached")
    for name in cached:
        _write_task_files(out_dir, outputs[name])  # restore files a user may have deleted
    if todo:
        from qdstack._parallel import dask_client

        # analyses run in single-threaded worker processes, never as threads of one process:
        # lmfit silences a warning with the process-global warnings.catch_warnings while it
        # builds a fit's uncertainties, and a second fit in another thread races that (the
        # flaky 'UFloat std_dev==0' of issue 16); processes also sidestep the GIL
        with dask_client(
            scheduler,
            n_workers=max(1, min(4, os.cpu_count() or 1)),
            processes=True,
            threads_per_worker=1,
            n_tasks=len(todo),
        ) as client:

            def finish(name, res):
                nonlocal done
                if isinstance(res, dict) and "bug" in res:
                    raise RuntimeError(f"analysis {name} failed with a bug:\n{res['bug']}")
                if isinstance(res, dict):
                    errors[name] = res["error"]
                else:
                    outputs[name] = res
                    _write_task_files(out_dir, res)
                    atomic_write_text(cache / f"{keys[name]}.json", json.dumps(res.to_cache()))
                done += 1
                if on_progress:
                    on_progress(done, total, name)

            if client is None:  # scheduler "serial": one analysis after the other, in this process
                for t in todo:  # planned in dependency order
                    deps = {d: outputs.get(d) or {"error": errors[d]} for d in t.depends}
                    finish(t.name, _execute(t, deps))
            else:
                from dask.distributed import as_completed

                futures = {}
                for t in todo:
                    deps = {d: (outputs[d] if d in outputs else futures[d]) for d in t.depends}
                    futures[t.name] = client.submit(
                        _execute, t, deps, key=f"qdstack-{t.name}-{keys[t.name]}", pure=False
                    )
                by_key = {f.key: name for name, f in futures.items()}
                for fut in as_completed(list(futures.values())):
                    finish(by_key[fut.key], fut.result())

    ordered = {t.name: outputs[t.name] for t in tasks if t.name in outputs}
    results = {
        "study": study.study.model_dump(mode="json"),
        "samples": [s.model_dump(mode="json", exclude_defaults=True) for s in study.sample],
        "analyses": {name: o.result for name, o in ordered.items()},
        "warnings": {name: o.warnings for name, o in ordered.items() if o.warnings},
        "errors": {t.name: errors[t.name] for t in tasks if t.name in errors},
        "provenance": provenance(study, file_hashes),
    }
    if extra_results:
        results.update(extra_results)
    # input paths relative to the manifest's folder, so results.json stays valid when the study moves
    results = relative_paths(results, study.root)
    write_json(out_dir / "results.json", results)
    run = StudyRun(
        study,
        manifest_text,
        ordered,
        {k: errors[k] for k in results["errors"]},
        results,
        out_dir,
        cached,
    )
    if report:
        from qdstack.study.report import render_report

        atomic_write_text(out_dir / "report.html", render_report(run))
    return run


def _write_task_files(out_dir: Path, out: TaskOutput) -> None:
    for table, columns in out.tables.items():
        write_csv(out_dir / "tables" / f"{out.name}_{table}.csv", columns)
    for fig, data in out.figures.items():
        atomic_write_bytes(out_dir / "figures" / f"{out.name}_{fig}.png", data)
