"""Study analysis: scattering peaks of a sample, in-plane vs out-of-plane periods."""

from __future__ import annotations

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if not s.xrd:
            continue
        payload = {
            "sample": s.name,
            "profiles": [
                {
                    "file": str(study.path(x.file)),
                    "direction": x.direction,
                    "wavelength_nm": x.wavelength_nm,
                    "qmin_per_nm": x.qmin_per_nm,
                    "qmax_per_nm": x.qmax_per_nm,
                    "peaks": x.peaks,
                    "scan": x.scan,
                }
                for x in s.xrd
            ],
            "edge_nm": study.sample_edge_nm(s),
            "edge_sd_nm": study.sample_edge_sd_nm(s),
            "linker": s.linker,
            "gap_nm": s.gap_nm,
        }
        tasks.append(
            Task("xrd", f"xrd_{safe_name(s.name)}", f"X-ray scattering: {s.name}", payload)
        )
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    from qdstack.analysis.xrd import compare_directions, compare_period, fit_profile
    from qdstack.io.profile import read_profile
    from qdstack.plotting.xrd import plot_xrd_directions, plot_xrd_fit
    from qdstack.study.analyses._util import sample_gap_nm

    p = task.payload
    out = TaskOutput(task.name, task.kind, task.title, result={"sample": p["sample"]})
    fits = {}
    for prof in p["profiles"]:
        profile = read_profile(prof["file"], scan=prof["scan"], wavelength_nm=prof["wavelength_nm"])
        fit = fit_profile(
            profile,
            peaks=prof["peaks"],
            qmin_per_nm=prof["qmin_per_nm"],
            qmax_per_nm=prof["qmax_per_nm"],
        )
        key = prof["direction"]
        fits[key] = fit
        out.result[key] = {"file": prof["file"], **fit.to_dict()}
        out.warnings.extend(fit.warnings)
        out.figures[safe_name(key)] = png(plot_xrd_fit(fit, title=f"{p['sample']}: {key}"))
        out.fit_reports[f"{key} profile fit"] = (
            fit.fit.fit_report() if getattr(fit, "fit", None) is not None else ""
        )
    gap, source = sample_gap_nm(p["linker"], p["gap_nm"])
    expected = None
    if "out-of-plane" in fits and gap is not None:
        expected = compare_period(fits["out-of-plane"], p["edge_nm"], gap, gap_source=source)
        out.result["out_of_plane_vs_edge_plus_gap"] = expected.to_dict()
    if len(fits) == 2:
        comp = compare_directions(fits["in-plane"], fits["out-of-plane"], expected=expected)
        out.result["directions"] = comp.to_dict()
        out.figures["directions"] = png(
            plot_xrd_directions(comp, fits["in-plane"], fits["out-of-plane"])
        )
        d = comp.to_dict()
        out.summary = [
            (
                "in-plane period",
                f"{fmt(d['in_plane_period_nm'], '.3f')} ± {fmt(d['in_plane_period_nm_err'], '.2g')} nm",
            ),
            (
                "out-of-plane period",
                f"{fmt(d['out_of_plane_period_nm'], '.3f')} ± {fmt(d['out_of_plane_period_nm_err'], '.2g')} nm",
            ),
            ("ratio out-of-plane / in-plane", f"{fmt(d['ratio'], '.3f')}"),
        ]
    for key, fit in fits.items():
        peaks = fit.to_dict()["peaks"]
        out.tables[safe_name(key) + "_peaks"] = {
            k: [pk[k] for pk in peaks]
            for k in ("q_per_nm", "q_per_nm_err", "d_nm", "d_nm_err", "fwhm_per_nm")
        }
        if not out.summary or len(fits) == 1:
            out.summary.append(
                (f"{key} d", ", ".join(f"{fmt(pk['d_nm'], '.3f')} nm" for pk in peaks))
            )
    if expected is not None:
        e = expected.to_dict()
        out.summary.append(("edge + gap", f"{fmt(e.get('expected_nm'), '.3f')} nm ({source})"))
    return out
