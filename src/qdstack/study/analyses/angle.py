"""Study analysis: angle-dependent PL of a sample and which mechanism explains it."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if len(s.angle) < 2:
            continue
        payload = {
            "sample": s.name,
            "spectra": [
                {"file": str(study.path(a.file)), "angle_deg": a.angle_deg, "column": s.pl_column}
                for a in s.angle
            ],
        }
        tasks.append(
            Task("angle", f"angle_{safe_name(s.name)}", f"Angle-dependent PL: {s.name}", payload)
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.angle import analyse_angle_series
    from qdstack.io.spectrum import read_spectrum
    from qdstack.plotting.angle import plot_angle_shift, plot_angle_spectra

    p = task.payload
    items = sorted(p["spectra"], key=lambda x: x["angle_deg"])
    spectra = [read_spectrum(i["file"], kind="emission", column=i.get("column")) for i in items]
    series = analyse_angle_series(
        spectra, [i["angle_deg"] for i in items], files=[i["file"] for i in items]
    )
    out = TaskOutput(
        task.name, task.kind, task.title, result={"sample": p["sample"], **series.to_dict()}
    )
    out.warnings.extend(series.warnings)
    d = out.result
    out.tables["angles"] = {
        k: d[k] for k in ("angles_deg", "peak_eV", "fwhm_meV", "intensity", "shift_meV")
    }
    out.figures["spectra"] = png(plot_angle_spectra(series))
    out.figures["shift"] = png(plot_angle_shift(series))
    sel = d["selection"]
    out.summary = [
        (
            "largest shift",
            f"{fmt(max(d['shift_meV'], key=abs), '.2f')} meV (vs {d['reference_angle_deg']:g} deg)",
        ),
        ("preferred model", f"{sel['preferred']} ({sel['evidence']})"),
    ]
    return out
