"""Study analysis: PL peak energy and width vs temperature, eqns (2) and (3), per sample."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if not s.tpl and s.tpl_table is None:
            continue
        payload = {
            "sample": s.name,
            "spectra": [
                {
                    "file": str(study.path(t.file)),
                    "temperature_K": t.temperature_K,
                    "column": s.pl_column,
                }
                for t in s.tpl
            ],
            "table": str(study.path(s.tpl_table)) if s.tpl_table is not None else None,
            "fix_elo_meV": list(s.tpl_fix_elo_meV),
        }
        tasks.append(
            Task("tpl", f"tpl_{safe_name(s.name)}", f"PL vs temperature: {s.name}", payload)
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    import numpy as np

    from qdstack.analysis.pl import pl_peak
    from qdstack.analysis.tpl import analyse_tpl
    from qdstack.io.columns import read_columns
    from qdstack.io.spectrum import read_spectrum
    from qdstack.plotting.tpl import plot_linewidth, plot_peak_energy, plot_tpl_spectra

    p = task.payload
    out = TaskOutput(task.name, task.kind, task.title, result={})
    spectra, measurements = [], []
    if p["table"] is not None:
        cols = read_columns(
            p["table"],
            ("temperature_K", "peak_eV", "fwhm_meV"),
            optional=("peak_eV_err", "fwhm_meV_err"),
        )
        T, E, G = cols["temperature_K"], cols["peak_eV"], cols["fwhm_meV"]
        Ee, Ge = cols.get("peak_eV_err"), cols.get("fwhm_meV_err")
        files = None
    else:
        items = sorted(p["spectra"], key=lambda x: x["temperature_K"])
        E, G, Ee, Ge, T = [], [], [], [], []
        for item in items:
            spec = read_spectrum(item["file"], kind="emission", column=item.get("column"))
            pk = pl_peak(spec.energy_eV, spec.intensity, source=item["file"])
            out.warnings.extend(pk.warnings)
            spectra.append(spec)
            T.append(item["temperature_K"])
            E.append(pk.peak_eV)
            G.append(pk.fwhm_meV)
            Ee.append(pk.peak_eV_err)
            Ge.append(pk.fwhm_meV_err)
            measurements.append(
                {"file": item["file"], "temperature_K": item["temperature_K"], **pk.to_dict()}
            )
        T = np.array(T)
        files = [m["file"] for m in measurements]
    analysis = analyse_tpl(
        T,
        E,
        G,
        peak_eV_err=Ee,
        fwhm_meV_err=Ge,
        fix_elo_meV=p["fix_elo_meV"],
        files=files,
        spectra=measurements,
    )
    out.result = {"sample": p["sample"], **analysis.to_dict()}
    out.warnings.extend(out.result.get("warnings", []))
    out.tables["measurements"] = {
        "temperature_K": list(map(float, T)),
        "peak_eV": list(map(float, E)),
        "fwhm_meV": list(map(float, G)),
    }
    rows = out.result["width_fits"]
    out.tables["width_fits"] = {
        k: [r.get(k) for r in rows]
        for k in ("E_LO_meV", "E_LO_fixed", "Gamma0_meV", "gamma_LO_meV", "r2")
    }
    out.figures["peak_energy"] = png(plot_peak_energy(analysis))
    out.figures["linewidth"] = png(plot_linewidth(analysis))
    if spectra:
        out.figures["spectra"] = png(plot_tpl_spectra(analysis, spectra))
    for name, fit in (("eqn (2) E(T)", getattr(analysis.energy_fit, "fit", None)),):
        if fit is not None:
            out.fit_reports[name] = fit.fit_report()
    for wf in analysis.width_fits:
        if getattr(wf, "fit", None) is not None:
            label = f"eqn (3) Gamma(T), E_LO {'fixed at ' + format(wf.E_LO_meV, '.0f') + ' meV' if wf.E_LO_fixed else 'free'}"
            out.fit_reports[label] = wf.fit.fit_report()
    ef = out.result["energy_fit"]
    free = rows[0]
    out.summary = [
        ("E0", f"{fmt(ef.get('E0_eV'), '.4f')} ± {fmt(ef.get('E0_eV_err'), '.1g')} eV"),
        ("A_EP", f"{fmt(ef.get('A_EP_meV'), '.3g')} ± {fmt(ef.get('A_EP_meV_err'), '.2g')} meV"),
        (
            "gamma_LO (E_LO free)",
            f"{fmt(free.get('gamma_LO_meV'), '.3g')} meV at E_LO = {fmt(free.get('E_LO_meV'), '.3g')} meV",
        ),
        ("Gamma0", f"{fmt(free.get('Gamma0_meV'), '.3g')} meV"),
    ]
    return out
