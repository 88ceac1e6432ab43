"""Study analysis: film thickness N x (edge + gap) against the measured (SEM) thickness."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    rows = []
    for s in study.sample:
        if s.thickness_nm is None or s.layers < 1:
            continue
        rows.append(
            {
                "sample": s.name,
                "layers": s.layers,
                "edge_nm": study.sample_edge_nm(s),
                "edge_sd_nm": study.sample_edge_sd_nm(s),
                "linker": s.linker,
                "gap_nm": s.gap_nm,
                "measured_nm": s.thickness_nm,
                "measured_err_nm": s.thickness_err_nm,
            }
        )
    if not rows:
        return []
    return [
        Task(
            "thickness", "thickness", "Film thickness: layers x period vs measured", {"films": rows}
        )
    ]


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.thickness import film_thickness
    from qdstack.study.analyses._util import sample_gap_nm

    out = TaskOutput(task.name, task.kind, task.title, result={})
    results = []
    for f in task.payload["films"]:
        gap, source = sample_gap_nm(f["linker"], f["gap_nm"])
        if gap is None:
            out.warnings.append(f"{f['sample']}: no linker or gap_nm, so no period; left out")
            continue
        t = film_thickness(
            f["layers"],
            f["edge_nm"],
            gap,
            edge_sd_nm=f["edge_sd_nm"],
            measured_nm=f["measured_nm"],
            measured_err_nm=f["measured_err_nm"],
            gap_source=source,
        )
        results.append({"sample": f["sample"], **t.to_dict()})
        out.warnings.extend(t.warnings)
        out.summary.append(
            (
                f["sample"],
                f"{fmt(t.thickness_nm, '.1f')} ± {fmt(t.thickness_nm_err, '.2g')} nm estimated vs "
                f"{fmt(f['measured_nm'], '.1f')} nm measured (z = {fmt(t.z_score, '.2f')})",
            )
        )
    out.result = {"films": results}
    keys = (
        "sample",
        "layers",
        "period_nm",
        "thickness_nm",
        "thickness_nm_err",
        "measured_nm",
        "z_score",
    )
    out.tables["thickness"] = {k: [r[k] for r in results] for k in keys}
    return out
