"""The report sections of ``qdstack reproduce``: saturation, structure, claims, what explains the shifts.

Part of :mod:`qdstack.study.reproduce`.
"""

from __future__ import annotations

import math

# ----------------------------------------------------------------------------- report sections


def _fig_png(builder) -> bytes:
    from matplotlib.figure import Figure

    from qdstack.study.tasks import figure_png

    fig = Figure(figsize=(6.4, 4.2))
    builder(fig.add_subplot(111))
    fig.tight_layout()
    return figure_png(fig)


def _saturation_section(comp, sim) -> dict:
    """Saturation: the S_inf - D/N fits and the probability of the paper's readings."""
    from qdstack.plotting.film_model import plot_saturation_readings

    s = comp.saturation
    rows = {
        "series": [],
        "S_inf (meV)": [],
        "D/S_inf": [],
        "D/S_inf 95 % CI": [],
        "noiseless N_sat": [],
        "paper N_sat": [],
        "P(paper reading)": [],
    }
    for name in ("C3DT", "C10DT"):
        for label, key in (("model", "model_fit"), ("simulated files, analysed", "measured_fit")):
            f = s[name][key]
            rows["series"].append(f"{name}, {label}")
            rows["S_inf (meV)"].append(f"{f['s_inf_meV']:.1f} ± {f['s_inf_meV_err']:.1f}")
            rows["D/S_inf"].append(f"{f['d_over_s_inf']:.3f} ± {f['d_over_s_inf_err']:.3f}")
            lo, hi = f["d_over_s_inf_ci95"]
            rows["D/S_inf 95 % CI"].append(f"{lo:.3f} – {hi:.3f}" if math.isfinite(lo) else "—")
            rows["noiseless N_sat"].append(s[name]["reading"]["noiseless"])
            rows["paper N_sat"].append(int(s[name]["paper_layers"]))
            rows["P(paper reading)"].append(f"{s[name]['probability_of_paper_reading']:.3f}")
    text = [
        f"Rule: {s['rule']}. Model: {s['model']}.",
        "For any model whose parameters do not change with N, r = D/S_inf stays near 1 and the 90 % rule reads "
        "N = 5 whatever the coupling; the integer reading itself is noisy. The figure shows how often series "
        f"drawn from the model, each film's peak read with the paper's ±{s['peak_sd_meV']:g} meV, read each N.",
        f"Probability that both paper readings (C3DT 6, C10DT 3) come out of the model: "
        f"{s['probability_both_paper_readings']:.3f}.",
    ]
    return {
        "id": "saturation",
        "title": "Saturation with the number of layers",
        "paragraphs": text,
        "tables": [("saturation fits", rows)],
        "figures": [
            (
                "saturation readings of noisy series",
                _fig_png(lambda ax: plot_saturation_readings(s, ax=ax)),
            )
        ],
    }


def _structure_section(comp, sim) -> dict:
    st = comp.structure
    m = st["model"]
    rows = {
        "linker": [],
        "S-S (nm)": [],
        "S-S x cos tilt (nm)": [],
        "surface term (nm)": [],
        "period (nm)": [],
    }
    for name, p in st["periods"].items():
        rows["linker"].append(name)
        rows["S-S (nm)"].append(f"{p['ss_distance_nm']:.3f}")
        rows["S-S x cos tilt (nm)"].append(f"{p['terms_nm']['ss_projection']:.3f}")
        rows["surface term (nm)"].append(f"{p['terms_nm']['surface']:+.3f}")
        rows["period (nm)"].append(f"{p['period_nm']:.3f} ± {p['period_nm_err']:.3f}")
    text = [
        "period = edge + d_SS cos(tilt) + 2 (d_PbS − a/2): the linker's S–S axis tilted from the face normal, each "
        "thiolate sulfur in a surface Br site at the Pb–S bond length. Parameters (never adjusted to a measured "
        f"period): tilt {m['tilt_deg']:g} ± {m['tilt_err_deg']:g}°, Pb–S {m['pb_s_nm']:g} ± {m['pb_s_err_nm']:g} nm, "
        f"a/2 = {m['pb_br_nm']:g} nm, {m['conformer']} conformer.",
    ] + [f"{k}: {v}" for k, v in m["sources"].items()]
    return {
        "id": "structure",
        "title": "Structural model of the stack (XRD periods, SEM thickness)",
        "paragraphs": text,
        "tables": [("periods", rows)],
        "figures": [],
    }


def _claims_section(comp, sim) -> dict:
    rows = {
        "statement of the paper": [c["claim"] for c in comp.claims],
        "qdstack": [c["qdstack"] for c in comp.claims],
        "holds": ["yes" if c["holds"] else "no" for c in comp.claims],
    }
    return {
        "id": "claims",
        "title": "Qualitative statements of the paper (no number stated; not counted)",
        "paragraphs": [
            "The paper states these without a number; they are checked but not counted in the "
            "headline."
        ],
        "tables": [("statements", rows)],
        "figures": [],
    }


#: the report's extra sections, in order: (results key they read, builder(comparison, sim) -> section dict).
#: A further part of the reproduction appends one here (and its key to the results).
REPORT_SECTIONS = [
    ("saturation", _saturation_section),
    ("structure", _structure_section),
    ("claims", _claims_section),
]


# ----------------------------------------------------------------------------- what explains the shifts


def _explain_section(used: dict | None = None) -> dict:
    """The explain table of the paper's two N = 8 shifts, for results.json and the report.

    Every mechanism of :mod:`qdstack.physics.explain` fitted inside its plausible
    ranges and, where that fails, inside what physics allows; ``used`` (a row of
    :func:`~qdstack.study.reproduce.parameter_sets.compare_parameter_sets`) names the
    parameter set that makes the simulated films and whether it is plausible.
    """
    from qdstack.physics.explain.paper import explain_paper, explain_rows

    res = explain_paper()
    d = res.to_dict()
    rows = explain_rows(res)
    explains = [r["mechanism"] for r in rows if r["verdict"] == "explains"]
    if explains:
        headline = (
            f"explained with plausible parameters by: {', '.join(explains)} (best: {res.best})"
        )
    else:
        least = min(rows, key=lambda r: r["plausible_chi2"])
        headline = (
            "no mechanism explains the two N = 8 shifts with plausible parameters, nor with implausible ones "
            f"(verdicts: {', '.join(r['mechanism'] + ' ' + r['verdict'] for r in rows)}); inside the plausible "
            f"ranges the closest is {least['mechanism']} ({least['plausible_parameters']}: "
            f"{', '.join(f'{v:+.1f}' for v in least['plausible_prediction_meV'])} meV vs -44.0, -14.2 meV)."
        )
    if used is not None:
        m = used["model_shift_N8_meV"]
        shifts = f"{m['C3DT']:+.1f}, {m['C10DT']:+.1f} meV at N = 8 from the film model"
        if used["plausible"]:
            headline += (
                f" The simulated films use {used['name']}: the terms of {used['chosen_terms'] or 'its mechanisms'}"
                f" with every parameter inside its literature range ({shifts})."
            )
        else:
            headline += (
                f" The simulated films use {used['name']} ({', '.join(used['outside'])} outside the literature "
                f"range; {shifts}): a labelled description of the data, not a mechanism."
            )
    return {
        "headline": headline,
        "rows": rows,
        "result": d,
        "simulated_films_parameters": {
            "name": used["name"] if used else None,
            "plausible": used["plausible"] if used else None,
        },
    }


def _explain_report_section(explained: dict) -> dict:
    """The report section "What explains the shifts" from :func:`_explain_section`'s results."""
    rows: dict[str, list] = {
        "mechanism": [],
        "verdict": [],
        "chi2 (dof)": [],
        "AIC": [],
        "parameters of the verdict's fit": [],
        "C3DT, C10DT N = 8 (meV)": [],
        "best plausible parameters": [],
        "their C3DT, C10DT (meV)": [],
        "bilayer shift decays exponentially with S-S": [],
    }
    for r in explained["rows"]:
        rows["mechanism"].append(r["mechanism"])
        rows["verdict"].append(r["verdict"])
        rows["chi2 (dof)"].append(f"{r['chi2']:.3g} ({r['dof']})")
        rows["AIC"].append(f"{r['aic']:.3g}")
        rows["parameters of the verdict's fit"].append(r["parameters"])
        rows["C3DT, C10DT N = 8 (meV)"].append(", ".join(f"{v:+.1f}" for v in r["prediction_meV"]))
        rows["best plausible parameters"].append(r["plausible_parameters"])
        rows["their C3DT, C10DT (meV)"].append(
            ", ".join(f"{v:+.1f}" for v in r["plausible_prediction_meV"])
        )
        k = r["bilayer_decay_per_nm"]
        rows["bilayer shift decays exponentially with S-S"].append(
            ("yes" if r["bilayer_exponential_decrease"] else "no")
            + (f" (k = {k:.2g} nm^-1)" if k is not None else "")
        )
    text = [
        "qdstack explain on the paper's two N = 8 shifts (C3DT -44.0 meV, C10DT -14.2 meV): every mechanism fitted "
        "inside its plausible ranges, then inside what physics allows (docs/guide/explain.md).",
        explained["headline"],
    ]
    nf = explained["result"].get("not_fitted") or []
    if nf:
        text.append(
            "Not fitted (more parameters than the paper gives numbers): "
            + ", ".join(x["name"] for x in nf)
        )
    return {
        "id": "explain",
        "title": "What explains the shifts",
        "paragraphs": text,
        "tables": [("mechanisms", rows)],
        "figures": [],
    }
