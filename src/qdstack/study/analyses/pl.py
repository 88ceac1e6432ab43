"""Study analysis: peak energy, FWHM and intensity of each sample's PL spectrum."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    rows = [
        {"sample": s.name, "file": str(study.path(s.pl)), "column": s.pl_column}
        for s in study.sample
        if s.pl is not None
    ]
    if not rows:
        return []
    return [Task("pl", "pl", "Photoluminescence: peak and width", {"spectra": rows})]


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.pl import pl_peak
    from qdstack.io.spectrum import read_spectrum
    from qdstack.plotting._base import new_axes

    out = TaskOutput(task.name, task.kind, task.title, result={})
    rows = []
    ax = new_axes()
    for item in task.payload["spectra"]:
        spec = read_spectrum(item["file"], kind="emission", column=item.get("column"))
        pk = pl_peak(spec.energy_eV, spec.intensity, source=item["file"])
        out.warnings.extend(pk.warnings)
        rows.append({"sample": item["sample"], "file": item["file"], **pk.to_dict()})
        out.fit_reports[item["sample"]] = pk.fit.fit_report()
        scale = pk.height if pk.height > 0 else 1.0
        ax.plot(
            spec.energy_eV, (spec.intensity - pk.background) / scale, lw=1.2, label=item["sample"]
        )
        ax.axvline(pk.peak_eV, color=ax.lines[-1].get_color(), ls=":", lw=0.8)
        out.summary.append(
            (
                item["sample"],
                f"peak {fmt(pk.peak_eV, '.4f')} eV, FWHM {fmt(pk.fwhm_meV, '.1f')} meV",
            )
        )
    ax.set_xlabel("Photon energy (eV)")
    ax.set_ylabel("PL per unit energy (normalised)")
    ax.set_title("PL spectra (dotted: fitted peak)")
    ax.legend(fontsize=8, frameon=False)
    out.figures["spectra"] = png(ax)
    out.result = {"spectra": rows}
    out.tables["pl"] = {
        k: [r[k] for r in rows]
        for k in ("sample", "peak_eV", "peak_eV_err", "fwhm_meV", "fwhm_meV_err", "intensity")
    }
    return out
