"""Study analysis: first excitonic peak of every absorption spectrum, one series per linker."""

from __future__ import annotations

from collections import defaultdict

from qdstack.study.analyses._util import fmt, group_label, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    """One task per linker (films) and one for solution samples (layers = 0)."""
    groups: dict[str, list] = defaultdict(list)
    solution = []
    for s in study.sample:
        if s.absorption is None:
            continue
        entry = {
            "sample": s.name,
            "file": str(study.path(s.absorption)),
            "column": s.absorption_column,
            "layers": s.layers,
            "linker": s.linker,
            "gap_nm": s.gap_nm,
        }
        if s.layers == 0:
            solution.append(entry)
        else:
            groups[group_label(s.linker, s.gap_nm)].append(entry)
    tasks = []
    if solution:
        tasks.append(
            Task(
                "absorption",
                "absorption_solution",
                "Absorption: dots in solution",
                {"group": "solution", "films": solution},
            )
        )
    for label, films in groups.items():
        films = sorted(films, key=lambda f: f["layers"])
        tasks.append(
            Task(
                "absorption",
                f"absorption_{safe_name(label)}",
                f"Absorption series: {label}",
                {"group": label, "films": films},
            )
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.absorption import analyse_absorption_series, first_excitonic_peak
    from qdstack.io.spectrum import read_spectrum
    from qdstack.plotting.absorption import (
        plot_absorption_peak,
        plot_absorption_spectra,
        plot_od_vs_layers,
        plot_shift_vs_layers,
    )

    films = task.payload["films"]
    spectra = [read_spectrum(f["file"], kind="absorption", column=f["column"]) for f in films]
    out = TaskOutput(task.name, task.kind, task.title, result={})
    if task.payload["group"] == "solution":
        rows = []
        for f, spec in zip(films, spectra):
            p = first_excitonic_peak(spec.energy_eV, spec.intensity, source=f["file"])
            rows.append({"sample": f["sample"], "file": f["file"], **p.to_dict()})
            out.figures[f"spectrum_{safe_name(f['sample'])}"] = png(
                plot_absorption_peak(spec, p, label=f["sample"])
            )
            out.fit_reports[f["sample"]] = p.fit.fit_report()
            out.warnings.extend(p.warnings)
        out.result = {"group": "solution", "peaks": rows}
        out.tables["peaks"] = {
            k: [r[k] for r in rows]
            for k in ("sample", "peak_eV", "peak_eV_err", "peak_nm", "od", "fwhm_meV")
        }
        out.summary = [
            (
                r["sample"],
                f"first peak {fmt(r['peak_eV'], '.4f')} eV ± {fmt(r['peak_eV_err'] * 1e3, '.2f')} meV",
            )
            for r in rows
        ]
        return out

    layers = [f["layers"] for f in films]
    ref = 1 if 1 in layers else min(layers)
    if ref != 1:
        out.warnings.append(
            f"{task.payload['group']}: no monolayer (N = 1); shifts are relative to N = {ref}"
        )
    series = analyse_absorption_series(
        spectra,
        layers,
        reference_layers=ref,
        files=[f["file"] for f in films],
    )
    result = series.to_dict()
    for row, f in zip(result["spectra"], films):
        row["sample"] = f["sample"]
    result["group"] = task.payload["group"]
    if sum(1 for n in set(layers) if n > ref) >= 3:
        # how the shift saturates: |S(N)| = S_inf (1 - r/N) (ideal chain r = 1.08), more telling than N_sat
        from qdstack.analysis.saturation import fit_saturation
        from qdstack.errors import QdstackError

        try:
            sat = fit_saturation(layers, series.shift_meV, series.shift_meV_err)
        except QdstackError as exc:
            out.warnings.append(f"saturation fit: {exc}")
        else:
            result["saturation_fit"] = sat.to_dict()
            out.warnings.extend(sat.warnings)
    result["linker"] = films[0]["linker"]
    result["gap_nm"] = films[0]["gap_nm"]
    out.result = result
    out.warnings.extend(series.warnings)
    out.tables["films"] = {
        "sample": [f["sample"] for f in films],
        "layers": layers,
        "peak_eV": [f.peak.peak_eV for f in series.films],
        "peak_eV_err": [f.peak.peak_eV_err for f in series.films],
        "peak_nm": [f.peak.peak_nm for f in series.films],
        "od": [f.peak.od for f in series.films],
        "fwhm_meV": [f.peak.fwhm_meV for f in series.films],
        "shift_meV": list(series.shift_meV),
        "shift_meV_err": list(series.shift_meV_err),
    }
    out.figures["spectra"] = png(
        plot_absorption_spectra(
            series,
            spectra,
            labels=None if len(set(layers)) == len(layers) else [f["sample"] for f in films],
        )
    )
    if series.chain_fit is not None:
        out.figures["shift_vs_layers"] = png(plot_shift_vs_layers(series))
        out.figures["od_vs_layers"] = png(plot_od_vs_layers(series))
        out.fit_reports["chain fit E(N) = E1 - 2 beta cos(pi/(N+1))"] = (
            series.chain_fit.fit.fit_report()
        )
        c = series.chain_fit
        if len(set(layers)) >= 3:
            out.summary = [
                (
                    "chain coupling beta",
                    f"{fmt(c.beta_meV, '.2f')} ± {fmt(c.beta_meV_err, '.2f')} meV",
                ),
                ("largest shift", f"{fmt(min(series.shift_meV), '.1f')} meV"),
                ("saturation (90 %)", f"N = {series.saturation_layers}"),
                *(
                    [
                        (
                            "saturation fit D/S_inf (ideal chain 1.08)",
                            f"{fmt(result['saturation_fit']['d_over_s_inf'], '.2f')} ± "
                            f"{fmt(result['saturation_fit']['d_over_s_inf_err'], '.2f')}",
                        )
                    ]
                    if "saturation_fit" in result
                    else []
                ),
                (
                    "OD per layer",
                    f"{fmt(series.od_vs_layers.slope, '.4g')} (r² {fmt(series.od_vs_layers.r2, '.4f')})",
                ),
            ]
        else:
            shift = series.shift_meV[-1]
            out.summary = [
                (
                    f"shift N = {layers[-1]}",
                    f"{fmt(shift, '.1f')} ± {fmt(series.shift_meV_err[-1], '.1f')} meV",
                )
            ]
    else:
        ps = result["peak_spread"]
        out.summary = [
            (
                "peak",
                f"{fmt(ps['mean_eV'], '.4f')} eV, spread {fmt(ps['std_meV'], '.2f')} meV over {len(films)} films",
            )
        ]
    for film, f in zip(series.films, films):
        out.fit_reports[f"peak fit: {f['sample']}"] = film.peak.fit.fit_report()
    return out
