"""Study analysis: PLQY from three integrating-sphere spectra (de Mello et al. 1997), per sample."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if s.plqy is None:
            continue
        p = s.plqy
        tasks.append(
            Task(
                "plqy",
                f"plqy_{safe_name(s.name)}",
                f"PLQY: {s.name}",
                {
                    "sample": s.name,
                    "empty": str(study.path(p.empty)),
                    "out_of_beam": str(study.path(p.out_of_beam)),
                    "in_beam": str(study.path(p.in_beam)),
                    "response": None if p.response is None else str(study.path(p.response)),
                    "laser_window_nm": None
                    if p.laser_window_nm is None
                    else list(p.laser_window_nm),
                    "emission_window_nm": None
                    if p.emission_window_nm is None
                    else list(p.emission_window_nm),
                    "noise": p.noise,
                },
            )
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.plqy import plqy_from_files
    from qdstack.plotting.plqy import plot_plqy

    p = task.payload
    res = plqy_from_files(
        p["empty"],
        p["out_of_beam"],
        p["in_beam"],
        response=p["response"],
        laser_window_nm=None if p["laser_window_nm"] is None else tuple(p["laser_window_nm"]),
        emission_window_nm=None
        if p["emission_window_nm"] is None
        else tuple(p["emission_window_nm"]),
        noise=p["noise"],
    )
    out = TaskOutput(
        task.name, task.kind, task.title, result={"sample": p["sample"], **res.to_dict()}
    )
    out.warnings.extend(res.warnings)
    out.figures["plqy"] = png(plot_plqy(res))
    out.summary = [
        ("PLQY", f"{fmt(res.plqy, '.3f')} ± {fmt(res.plqy_err, '.2g')}"),
        ("absorptance", f"{fmt(res.absorptance, '.3f')} ± {fmt(res.absorptance_err, '.2g')}"),
        (
            "two-measurement PLQY",
            f"{fmt(res.plqy_two_measurement, '.3f')} ± {fmt(res.plqy_two_measurement_err, '.2g')}",
        ),
    ]
    ints = res.integrals
    out.tables["sphere_integrals"] = {
        "quantity": ["L_A", "L_B", "L_C", "P_A", "P_B", "P_C"],
        "value": [ints[k] for k in ("L_A", "L_B", "L_C", "P_A", "P_B", "P_C")],
        "err": [ints[f"{k}_err"] for k in ("L_A", "L_B", "L_C", "P_A", "P_B", "P_C")],
    }
    return out
