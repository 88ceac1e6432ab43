"""Study analyses: one module per kind, each with ``plan(study) -> [Task]`` and ``run(task, deps)``.

``plan`` reads the manifest and returns the tasks its samples imply; ``run``
executes one task (in a dask worker) and returns a
:class:`~qdstack.study.tasks.TaskOutput` of plain data.  The runner knows
nothing about the physics; adding an analysis is adding a module here.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["KINDS", "get"]

#: analysis kinds in the order they are planned and reported
KINDS: tuple[str, ...] = (
    "absorption",
    "coupling",
    "pl",
    "tpl",
    "decays",
    "xrd",
    "thickness",
    "angle",
    "tem",
    "lattice",
    "plqy",
    "dipcoat",
)


def get(kind: str):
    """The module implementing an analysis kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    return import_module(f"qdstack.study.analyses.{kind}")
