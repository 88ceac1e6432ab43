"""Study analysis: PL decays of a sample (reconvolution fits) and lifetime vs temperature."""

from __future__ import annotations

import numpy as np

from qdstack.study.analyses._util import fmt, png, safe_name
from qdstack.study.tasks import Task, TaskOutput


def plan(study) -> list[Task]:
    tasks = []
    for s in study.sample:
        if not s.decays:
            continue
        payload = {
            "sample": s.name,
            "decays": [
                {
                    "file": str(study.path(d.file)),
                    "temperature_K": d.temperature_K,
                    "channel": d.channel,
                    "irf": str(study.path(d.irf or s.irf))
                    if (d.irf or s.irf) is not None
                    else None,
                }
                for d in s.decays
            ],
            "irf_fwhm_ns": s.irf_fwhm_ns,
            "components": s.decay_components,
        }
        tasks.append(Task("decays", f"decays_{safe_name(s.name)}", f"PL decays: {s.name}", payload))
    return tasks


def run(task: Task, deps: dict) -> TaskOutput:
    import numpy as np

    from qdstack.analysis.decay import ReconvolutionFitter
    from qdstack.io.decay import read_decay
    from qdstack.plotting.decay import plot_decay, plot_lifetime_series

    p = task.payload
    out = TaskOutput(task.name, task.kind, task.title, result={})
    rows = []
    fits = []
    for item in p["decays"]:
        d = read_decay(item["file"], item["channel"])
        irf_counts = None
        if item["irf"] is not None:
            irf = read_decay(item["irf"])
            if irf.counts.size != d.counts.size or not np.isclose(
                irf.bin_width_ns, d.bin_width_ns, rtol=1e-6
            ):
                from qdstack.errors import FileFormatError

                raise FileFormatError(
                    f"the IRF has {irf.counts.size} bins of {irf.bin_width_ns:g} ns but the decay "
                    f"{item['file']} has {d.counts.size} of {d.bin_width_ns:g} ns",
                    item["irf"],
                )
            irf_counts = irf.counts
        fitter = ReconvolutionFitter(
            d.time_ns,
            irf=irf_counts,
            irf_fwhm_ns=p["irf_fwhm_ns"] if irf_counts is None else None,
            components=p["components"],
            period_ns=d.period_ns,
            source=item["irf"],
        )
        fit = fitter.fit(d.counts, source=item["file"])
        fits.append((item, fit))
        out.warnings.extend(fit.warnings)
        rows.append({"file": item["file"], "temperature_K": item["temperature_K"], **fit.to_dict()})
    out.result = {"sample": p["sample"], "decays": rows}
    temps = [r["temperature_K"] for r in rows]
    if all(t is not None for t in temps) and len(set(temps)) > 1:
        from qdstack.analysis.decay import LifetimeSeries

        idx = sorted(range(len(fits)), key=lambda i: temps[i])
        series = LifetimeSeries(
            temperature_K=np.array([temps[i] for i in idx], dtype=float),
            fits=tuple(fits[i][1] for i in idx),
            files=tuple(fits[i][0]["file"] for i in idx),
        )
        table = series.table()
        out.tables["lifetime_vs_T"] = _compact_lifetime_table(table)
        out.figures["lifetime_vs_T"] = png(plot_lifetime_series(series))
    else:
        out.tables["lifetimes"] = {
            "file": [r["file"].rsplit("/", 1)[-1] for r in rows],
            "tau_amplitude_weighted_ns": [r["tau_amplitude_weighted_ns"] for r in rows],
            "tau_intensity_weighted_ns": [r["tau_intensity_weighted_ns"] for r in rows],
            "chi2_reduced": [r["chi2_reduced"] for r in rows],
        }
    order = sorted(range(len(fits)), key=lambda i: fits[i][0]["temperature_K"] or 0)
    for i in order[:: max(1, len(order) // 3)][:3]:
        item, fit = fits[i]
        title = item["file"].rsplit("/", 1)[-1] + (
            f" ({item['temperature_K']:g} K)" if item["temperature_K"] else ""
        )
        out.figures[f"fit_{safe_name(title)}"] = png(plot_decay(fit, title=title))
    shown = rows
    if len(rows) > 2 and all(r["temperature_K"] is not None for r in rows):
        ordered = sorted(rows, key=lambda r: r["temperature_K"])
        shown = [ordered[0], ordered[-1]]  # the trend: lowest and highest temperature
    out.summary = [
        (
            f"tau_avg at {r['temperature_K']:g} K"
            if r["temperature_K"]
            else r["file"].rsplit("/", 1)[-1],
            f"{fmt(r['tau_amplitude_weighted_ns'], '.3g')} ns (amplitude-weighted), "
            f"{fmt(r['tau_intensity_weighted_ns'], '.3g')} ns (intensity-weighted)",
        )
        for r in shown[:6]
    ]
    return out


def _pm(values, errors, spec=".3g"):
    out = []
    for v, e in zip(values, errors):
        if v is None:
            out.append("—")
        elif e is None or not np.isfinite(e):
            out.append(fmt(v, spec))
        else:
            out.append(f"{fmt(v, spec)} ± {fmt(e, '.2g')}")
    return out


def _compact_lifetime_table(table: dict) -> dict:
    """The lifetime-vs-temperature table with value ± error in one column (fits a page; the CSV has all columns)."""
    cols = {
        "T (K)": [fmt(t, "g") for t in table["temperature_K"]],
        "file": [f.rsplit("/", 1)[-1] for f in table["file"]],
        "τ amplitude-weighted (ns)": _pm(
            table["tau_amplitude_weighted_ns"], table["tau_amplitude_weighted_ns_err"]
        ),
        "τ intensity-weighted (ns)": _pm(
            table["tau_intensity_weighted_ns"], table["tau_intensity_weighted_ns_err"]
        ),
    }
    k = 1
    while f"tau{k}_ns" in table:
        cols[f"τ{k} (ns)"] = _pm(table[f"tau{k}_ns"], table[f"tau{k}_ns_err"])
        cols[f"a{k}"] = [fmt(a, ".3f") if a is not None else "—" for a in table[f"amplitude{k}"]]
        k += 1
    cols["χ²red"] = [fmt(c, ".3f") for c in table["chi2_reduced"]]
    return cols
