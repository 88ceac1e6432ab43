"""Study analysis: bilayer shift vs linker distance (eqn 1), from the absorption series."""

from __future__ import annotations

import math

from qdstack.study.analyses._util import fmt, png
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    """A coupling task when at least two linkers have both a monolayer and a bilayer."""
    from qdstack.study.analyses import absorption

    series = [t for t in absorption.plan(study) if t.payload["group"] != "solution"]
    usable = [t for t in series if {1, 2} <= {f["layers"] for f in t.payload["films"]}]
    if len(usable) < 2:
        return []
    return [
        Task(
            "coupling",
            "coupling",
            "Bilayer shift vs linker length (eqn 1)",
            {"series": [t.name for t in usable]},
            depends=tuple(t.name for t in usable),
        )
    ]


def run(task: Task, deps: dict) -> TaskOutput:
    import numpy as np

    from qdstack.analysis.coupling import fit_tunnelling_decay
    from qdstack.plotting.absorption import plot_coupling
    from qdstack.study.analyses._util import sample_gap_nm

    out = TaskOutput(task.name, task.kind, task.title, result={})
    names, dist, shift, err, how = [], [], [], [], []
    for name in task.payload["series"]:
        r = deps[name]
        layers = np.array([s["layers"] for s in r["spectra"]])
        s = np.array(r["shift_meV"], dtype=float)
        e = np.array([np.nan if v is None else v for v in r["shift_meV_err"]], dtype=float)
        two = layers == 2
        d, source = sample_gap_nm(r["linker"], r["gap_nm"])
        if d is None:
            out.warnings.append(f"{r['group']}: no distance for this linker; left out")
            continue
        names.append(r["group"])
        dist.append(d)
        shift.append(float(s[two].mean()))
        err.append(float(np.sqrt(np.nansum(e[two] ** 2)) / two.sum()))
        how.append(source)
    errors = err if all(math.isfinite(x) and x > 0 for x in err) else None
    fit = fit_tunnelling_decay(dist, shift, errors, linkers=names)
    out.result = fit.to_dict()
    out.result["distance_source"] = how
    out.warnings.extend(fit.warnings)
    out.tables["bilayer_shifts"] = {
        "linker": names,
        "distance_nm": dist,
        "shift_meV": shift,
        "shift_meV_err": err,
    }
    out.figures["coupling"] = png(plot_coupling(fit))
    out.fit_reports["|shift| = A exp(-k d)"] = fit.fit.fit_report()
    out.summary = [
        (
            "decay constant k",
            f"{fmt(fit.decay_per_nm, '.3g')} ± {fmt(fit.decay_per_nm_err, '.2g')} nm⁻¹",
        ),
        (
            "barrier (transmission law)",
            f"{fmt(fit.barrier_eV, '.3g')} eV, plausible: {'yes' if fit.barrier_plausible else 'no'}",
        ),
        ("barrier (amplitude law)", f"{fmt(fit.other_law_barrier_eV, '.3g')} eV"),
    ]
    return out
