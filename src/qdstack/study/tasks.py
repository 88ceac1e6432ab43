"""What a study runs: tasks (plain descriptions) and their outputs (plain data).

A :class:`Task` is a picklable description of one analysis (its kind, the files
and options it needs, the tasks it depends on); running it returns a
:class:`TaskOutput` holding only JSON-able results, CSV tables, PNG bytes and
lmfit reports, so a task can run in a dask worker on another machine and the
client writes every file itself, atomically.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Task", "TaskOutput", "task_key", "figure_png"]


@dataclass(frozen=True)
class Task:
    """One analysis of a study.

    Attributes
    ----------
    kind : str
        Analysis kind (``"absorption"``, ``"coupling"``, ...): selects the runner.
    name : str
        Unique id within the study, also the stem of its output files.
    title : str
        Human-readable title for the report.
    payload : dict
        Plain data the runner needs (file paths as str, options, sample metadata).
    depends : tuple of str
        Names of tasks whose results this one reads.
    """

    kind: str
    name: str
    title: str
    payload: dict
    depends: tuple[str, ...] = ()


@dataclass
class TaskOutput:
    """What a task produced (plain data only; written to disk by the client)."""

    name: str
    kind: str
    title: str
    result: dict
    tables: dict[str, dict[str, list]] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    fit_reports: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)

    def to_cache(self) -> dict:
        import base64

        return {
            "name": self.name,
            "kind": self.kind,
            "title": self.title,
            "result": self.result,
            "tables": self.tables,
            "figures": {k: base64.b64encode(v).decode("ascii") for k, v in self.figures.items()},
            "fit_reports": self.fit_reports,
            "warnings": self.warnings,
            "summary": [list(x) for x in self.summary],
        }

    @classmethod
    def from_cache(cls, d: dict) -> "TaskOutput":
        import base64

        return cls(
            name=d["name"],
            kind=d["kind"],
            title=d["title"],
            result=d["result"],
            tables=d.get("tables", {}),
            figures={k: base64.b64decode(v) for k, v in d.get("figures", {}).items()},
            fit_reports=d.get("fit_reports", {}),
            warnings=list(d.get("warnings", [])),
            summary=[tuple(x) for x in d.get("summary", [])],
        )


def task_key(
    task: Task, file_hashes: dict[str, str], dep_keys: dict[str, str], version: str
) -> str:
    """Cache key: hash of the task's kind, payload, input-file contents, dependencies and version."""

    def sub(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: sub(v) for k, v in sorted(obj.items())}
        if isinstance(obj, (list, tuple)):
            return [sub(v) for v in obj]
        if isinstance(obj, str) and obj in file_hashes:
            return {"file": obj.rsplit("/", 1)[-1], "sha256": file_hashes[obj]}
        return obj

    blob = json.dumps(
        {
            "kind": task.kind,
            "name": task.name,
            "payload": sub(task.payload),
            "depends": {d: dep_keys[d] for d in task.depends},
            "version": version,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def figure_png(fig, dpi: int = 130) -> bytes:
    """PNG bytes of a matplotlib Figure."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()
