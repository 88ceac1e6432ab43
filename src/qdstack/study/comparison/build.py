"""The comparison of a simulated study with its paper: every row built, the qualitative claims, the discussion.

Part of :mod:`qdstack.study.comparison` (roles in :mod:`.roles`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import QdstackError
from qdstack.study.comparison.roles import ModelInputs, headline, make_row, summarise  # noqa: F401

# ----------------------------------------------------------------------------- the comparison

#: film-model parameters that move only the emission, not the absorption of a film
_EMISSION_ONLY = ("intrinsic_stokes_meV",)


@dataclass(frozen=True)
class Comparison:
    """Rows, qualitative claims, the saturation analysis and the summary of a reproduced study."""

    rows: list
    claims: list
    saturation: dict
    structure: dict
    summary: dict
    inputs: ModelInputs
    discussion: list = field(default_factory=list)
    predictions: list = field(default_factory=list)

    @property
    def headline(self) -> str:
        return headline(self.summary)

    def to_results(self) -> dict:
        """The keys ``qdstack reproduce`` adds to results.json."""
        return {
            "comparison": self.rows,
            "comparison_summary": self.summary,
            "headline": self.headline,
            "claims": self.claims,
            "saturation": self.saturation,
            "structure": self.structure,
            "model_inputs": self.inputs.to_dict(),
            "discussion": self.discussion,
            "predictions": self.predictions,
        }


def _p(ref, pid: str) -> tuple[float, float, str]:
    """(value, standard uncertainty, what it means) of a paper number."""
    n = ref[pid]
    if n.stated_uncertainty is not None:
        return float(n.value), float(n.stated_uncertainty), n.uncertainty_means or "stated"
    if n.half_range is not None:
        return float(n.value), float(n.half_range), "half the stated range"
    return float(n.value), n.last_digit_half, "not stated: half a unit of the last quoted digit"


def _single_dot_spread_eV(edge_nm: float) -> tuple[float, float, str]:
    """First exciton of a dot of the given edge, default CsPbBr3 set, and the spread over the sets."""
    from qdstack.materials import get_material, parameter_sets
    from qdstack.physics.single_dot import first_exciton_energy_eV

    sets = parameter_sets("CsPbBr3")
    e = [float(first_exciton_energy_eV(edge_nm, get_material("CsPbBr3", s))) for s in sets]
    return e[0], float(np.std(e, ddof=1)) if len(e) > 1 else 0.0, ", ".join(sets)


def _lifetime_ratio(analysis: dict, low_K: float = 10.0, high_K: float = 295.0) -> float:
    by_t = {r["temperature_K"]: r["tau_amplitude_weighted_ns"] for r in analysis["decays"]}
    lo = min(by_t, key=lambda t: abs(t - low_K))
    hi = min(by_t, key=lambda t: abs(t - high_K))
    return float(by_t[lo] / by_t[hi])


def build_comparison(
    results: dict,
    sim,
    *,
    reference,
    inputs: ModelInputs | None = None,
    structure=None,
    draws: int = 20000,
    seed: int = 0,
) -> Comparison:
    """Every number of the paper the simulated study speaks to, beside the paper's.

    Parameters
    ----------
    results : dict
        ``results.json`` of the simulated study (``analyses``).
    sim : PaperSimulation
        The model's films (:func:`qdstack.study.reproduce.simulate_paper`).
    reference : qdstack.references.Reference
    inputs : ModelInputs, optional
        Default: from the parameter set's provenance.
    structure : qdstack.physics.stack_structure.StackStructure, optional
        The structural model of the periods (default: the literature one).
    draws, seed : int
        Noise Monte Carlo of the saturation readings.
    """
    from qdstack.analysis.saturation import fit_saturation, saturation_reading_probability
    from qdstack.linkers import get_linker
    from qdstack.physics.stack_structure import DEFAULT_STRUCTURE, out_of_plane_period

    ref = reference
    inputs = ModelInputs.from_parameters(sim.params) if inputs is None else inputs
    structure = DEFAULT_STRUCTURE if structure is None else structure
    a = results["analyses"]
    rows: list[dict] = []
    edge = ref.value("edge_nm")
    film_params = [
        "param:energy_offset_meV",
        "param:homogeneous_fwhm_meV",
        "param:coupling_amplitude_meV",
        "param:barrier_e_eV",
        "param:barrier_h_eV",
        "param:edge_nm",
        "param:edge_sd_nm",
    ]
    # every other parameter the set fitted moves the films too (a plausible set fits e.g. eps_ligand,
    # thiolate_leak_nm); the intrinsic Stokes shift only moves the emission and is added where it enters
    film_params += [
        f"param:{k}"
        for k in inputs.fitted
        if f"param:{k}" not in film_params and k not in _EMISSION_ONLY
    ]

    def row(
        quantity,
        pid,
        value,
        value_err,
        unit,
        depends_on,
        how,
        paper_err=None,
        paper_err_means=None,
        **kw,
    ):
        pv, pe, pm = _p(ref, pid)
        if paper_err is not None:
            pe, pm = paper_err, paper_err_means
        rows.append(
            make_row(
                quantity,
                paper_ids=[pid],
                paper=pv,
                paper_err=pe,
                paper_err_means=pm,
                qdstack=value,
                qdstack_err=value_err,
                unit=unit,
                depends_on=depends_on,
                inputs=inputs,
                reference=ref,
                how=how,
                **kw,
            )
        )

    # --- the dots in solution
    e_dot, e_sd, sets = _single_dot_spread_eV(edge)
    row(
        "first excitonic peak of 6.8 nm dots in solution, single-dot model (no calibration)",
        "solution_peak_eV",
        e_dot,
        e_sd,
        "eV",
        ["paper:edge_nm", "materials: CsPbBr3 effective-mass parameter sets"],
        f"qdstack.physics.single_dot, default CsPbBr3 set; qdstack_err: spread over the sets ({sets})",
    )
    sol = a["absorption_solution"]["peaks"][0]
    row(
        "first excitonic peak in solution, read from the simulated spectrum",
        "solution_peak_eV",
        sol["peak_eV"],
        sol.get("peak_eV_err"),
        "eV",
        film_params + ["analysis: qdstack absorption"],
        "film model (energy offset) -> simulated spectrum -> qdstack absorption",
    )
    pl = a["pl"]["spectra"][0]
    row(
        "PL peak in solution",
        "solution_pl_peak_eV",
        pl["peak_eV"],
        pl.get("peak_eV_err"),
        "eV",
        film_params + ["param:intrinsic_stokes_meV", "analysis: PL peak fit"],
        "film model emission (intrinsic Stokes shift) -> simulated PL -> PL analysis",
    )
    row(
        "PL FWHM in solution",
        "solution_pl_fwhm_meV",
        pl["fwhm_meV"],
        pl.get("fwhm_meV_err"),
        "meV",
        film_params + ["analysis: PL peak fit"],
        "film model homogeneous width x size distribution -> PL analysis",
    )

    # --- films: monolayer and the two series
    c3, c10 = a["absorption_C3DT"], a["absorption_C10DT"]
    mono = c3["spectra"][0]
    row(
        "monolayer film first peak (C3DT series, N = 1)",
        "monolayer_peak_eV",
        mono["peak_eV"],
        mono.get("peak_eV_err"),
        "eV",
        film_params + ["model: dielectric environment of a film", "analysis: qdstack absorption"],
        "film model: the solution-to-film change is the dielectric environment term only",
    )
    peak_sd = 1e3 * ref["monolayer_peak_eV"].stated_uncertainty
    for name, an in (("C3DT", c3), ("C10DT", c10)):
        errs = [s.get("peak_eV_err") or 0.0 for s in an["spectra"]]
        row(
            f"shift N = 8, {name}",
            f"shift_N8_{name}_meV",
            an["shift_meV"][-1],
            1e3 * math.hypot(errs[0], errs[-1]),
            "meV",
            film_params + [f"linker library: {name} S-S distance", "analysis: qdstack absorption"],
            "film model calibrated on it; read back through qdstack absorption",
            paper_err=math.sqrt(2.0) * peak_sd,
            paper_err_means=f"not stated: sqrt(2) x the per-film peak spread (+-{peak_sd:g} meV, monolayer_peak_eV); "
            "a shift is the difference of two peaks",
        )

    # --- saturation: fits and the noise Monte Carlo
    saturation = {
        "peak_sd_meV": peak_sd,
        "rule": "smallest N whose |shift| reaches 90 % of the largest in the series",
        "model": "|S(N)| = S_inf (1 - r/N), r = D/S_inf, fitted over N = 2..8 (ideal chain: r = 1.08)",
    }
    for name, an, series in (("C3DT", c3, sim.c3dt), ("C10DT", c10, sim.c10dt)):
        model_fit = fit_saturation(
            series.layers, series.shift_meV, np.nan_to_num(series.shift_meV_err, nan=0.1)
        )
        errs = 1e3 * np.array([s.get("peak_eV_err") or 0.0 for s in an["spectra"]])
        meas_err = np.hypot(errs, errs[0])
        meas_fit = fit_saturation(
            [s["layers"] for s in an["spectra"]], an["shift_meV"], np.maximum(meas_err, 1e-3)
        )
        reading = saturation_reading_probability(
            series.layers, series.shift_meV, peak_sd, draws=draws, seed=seed
        )
        pid = f"saturation_{name}_layers"
        pv = ref.value(pid)
        lo, hi = reading.interval(0.95)
        tol = float(hi - reading.noiseless if pv >= reading.noiseless else reading.noiseless - lo)
        p_paper = reading.p(int(pv))
        row(
            f"saturation layer count, {name} (90 % rule; 95 % range of noisy readings)",
            pid,
            reading.noiseless,
            0.0,
            "layers",
            film_params + [f"linker library: {name} S-S distance", "paper:monolayer_peak_eV"],
            f"the model's series reads N = {reading.noiseless}; series drawn from it with the paper's "
            f"+-{peak_sd:g} meV per film read {pv:g} with probability {p_paper:.2f} "
            f"(95 % of readings in {lo}..{hi})",
            tolerance=tol,
            agrees=lo <= pv <= hi,
            relation="95 % range of noisy readings",
            probability=p_paper,
        )
        saturation[name] = {
            "paper_layers": pv,
            "model_fit": model_fit.to_dict(),
            "measured_fit": meas_fit.to_dict(),
            "reading": reading.to_dict(),
            "probability_of_paper_reading": p_paper,
        }
    sat3 = saturation_reading_probability(
        sim.c3dt.layers, sim.c3dt.shift_meV, peak_sd, draws=draws, seed=seed + 1
    )
    sat10 = saturation_reading_probability(
        sim.c10dt.layers, sim.c10dt.shift_meV, peak_sd, draws=draws, seed=seed + 2
    )
    p_joint = sat3.p(int(ref.value("saturation_C3DT_layers"))) * sat10.p(
        int(ref.value("saturation_C10DT_layers"))
    )
    saturation["probability_both_paper_readings"] = p_joint

    # --- the linkers and the structure of the stack
    struct = {}
    for name in ("C3DT", "C10DT"):
        # the paper's level, B3LYP/6-31G(d), from the shipped table; MMFF94 where it is missing
        try:
            g = get_linker(name, method="b3lyp")
            spread = 0.0  # the paper's own computation, repeated: no method spread
            err_means = "0 (the paper's level of theory)"
        except QdstackError:
            g = get_linker(name)
            try:
                other = get_linker(name, method="gfn2").anti_ss_distance_nm
                spread = abs(other - g.anti_ss_distance_nm)
            except QdstackError:  # a missing level only removes the spread
                spread = 0.0
            err_means = "|MMFF94 - GFN2-xTB| (B3LYP not available: MMFF94 fallback)"
        row(
            f"S-S distance of {name} (all-anti conformer)",
            f"ss_{name}_nm",
            g.anti_ss_distance_nm,
            spread,
            "nm",
            [f"linker library: {name} ({g.method})"],
            f"qdstack linker library, {g.method}; qdstack_err: {err_means}; paper: B3LYP/6-31G(d)",
        )
        struct[name] = out_of_plane_period(name, edge, structure)
    for name in ("C3DT", "C10DT"):
        pred = struct[name]
        x = a[f"xrd_{name}_30L_XRD"]["out-of-plane"]["peaks"][0]
        q_id = f"q_out_of_plane_{name}_per_nm"
        q = ref.value(q_id)
        d_paper = ref.value(f"period_out_of_plane_{name}_nm")
        sigma_d = d_paper * ref[q_id].last_digit_half / q
        rows.append(
            make_row(
                f"out-of-plane period from XRD, {name}",
                paper_ids=[f"period_out_of_plane_{name}_nm", q_id],
                paper=d_paper,
                paper_err=sigma_d,
                paper_err_means=f"not stated: q = {q:g} nm^-1 quoted to +-{ref[q_id].last_digit_half:g} nm^-1",
                qdstack=x["d_nm"],
                qdstack_err=math.hypot(pred.period_nm_err, x.get("d_nm_err") or 0.0),
                unit="nm",
                depends_on=[
                    "paper:edge_nm",
                    f"linker library: {name} S-S distance",
                    "structure: chain tilt (literature)",
                    "structure: Pb-S in the Br site (literature)",
                    "analysis: qdstack xrd",
                ],
                inputs=inputs,
                reference=ref,
                how=f"structural model: {edge:g} + {pred.terms_nm['ss_projection']:.3f} (S-S x cos tilt) "
                f"{pred.terms_nm['surface']:+.3f} (thiolate in the Br site) = {pred.period_nm:.3f} nm -> simulated "
                "profile -> qdstack xrd",
            )
        )
    diff_pred = struct["C10DT"].period_nm - struct["C3DT"].period_nm
    diff_err = abs(
        struct["C10DT"].dperiod_dtilt_nm_per_rad - struct["C3DT"].dperiod_dtilt_nm_per_rad
    ) * math.radians(structure.tilt_err_deg)
    d3, d10 = rows[-2], rows[-1]
    rows.append(
        make_row(
            "out-of-plane period difference C10DT - C3DT (XRD)",
            paper_ids=[
                "period_out_of_plane_C3DT_nm",
                "period_out_of_plane_C10DT_nm",
                "q_out_of_plane_C3DT_per_nm",
                "q_out_of_plane_C10DT_per_nm",
            ],
            paper=d10["paper"] - d3["paper"],
            paper_err=math.hypot(d3["paper_err"], d10["paper_err"]),
            paper_err_means="the two periods' uncertainties in quadrature",
            qdstack=d10["qdstack"] - d3["qdstack"],
            qdstack_err=diff_err,
            unit="nm",
            depends_on=[
                "linker library: C3DT and C10DT S-S distances",
                "structure: chain tilt (literature)",
                "analysis: qdstack xrd",
            ],
            inputs=inputs,
            reference=ref,
            how=f"structural model {diff_pred:.3f} nm (the edge and the surface term cancel; the linkers' S-S "
            f"difference {struct['C10DT'].ss_distance_nm - struct['C3DT'].ss_distance_nm:.3f} nm x cos tilt)",
        )
    )
    ip = a["xrd_C3DT_30L_XRD"]["in-plane"]["peaks"][0]
    row(
        "in-plane period from XRD",
        "period_in_plane_nm",
        ip["d_nm"],
        ip.get("d_nm_err"),
        "nm",
        ["paper:edge_nm", "param:in_plane_gap_nm", "analysis: qdstack xrd"],
        f"edge + in-plane gap {sim.params.in_plane_gap_nm:g} nm -> simulated profile -> qdstack xrd",
    )
    n_sem = 20
    t = n_sem * struct["C3DT"].period_nm
    t_err = math.hypot(
        n_sem * struct["C3DT"].period_nm_err, math.sqrt(n_sem) * ref["edge_nm"].stated_uncertainty
    )
    row(
        f"thickness of a {n_sem}-layer C3DT film vs SEM",
        "thickness_sem_C3DT_20L_nm",
        t,
        t_err,
        "nm",
        [
            "paper:edge_nm",
            "linker library: C3DT S-S distance",
            "structure: chain tilt (literature)",
            "structure: Pb-S in the Br site (literature)",
        ],
        f"N x structural period ({n_sem} x {struct['C3DT'].period_nm:.3f} nm); qdstack_err: the structure's "
        "uncertainty x N and the edge spread of N independent layers",
    )

    summary = summarise(rows)

    # --- qualitative statements of the paper (no number stated: not counted)
    claims = []
    dens = a["absorption_no_linker"]["peak_spread"] if "absorption_no_linker" in a else None
    if dens:
        claims.append(
            {
                "claim": "the monolayer peak does not change with packing density (Fig. 2b: constant "
                f"within the +-{1e3 * ref['monolayer_peak_eV'].stated_uncertainty:g} meV spread)",
                "qdstack": f"spread over in-plane gaps 3-6 nm: {dens['std_meV']:.2f} meV",
                "holds": bool(dens["std_meV"] <= 1e3 * ref["monolayer_peak_eV"].stated_uncertainty),
            }
        )
    claims.append(
        {
            "claim": "C3DT saturates at more layers than C10DT (text on Fig. 6)",
            "qdstack": f"model series: C3DT N = {sat3.noiseless}, C10DT N = {sat10.noiseless}; "
            f"P(both paper readings, 6 and 3) = {p_joint:.3f}",
            "holds": bool(sat3.noiseless > sat10.noiseless),
        }
    )
    for n in (1, 3, 6):
        key = f"decays_C3DT_{n}L"
        if key not in a:
            continue
        ratio = _lifetime_ratio(a[key])
        if n == 1:
            claims.append(
                {
                    "claim": "monolayer PL lifetime independent of temperature (Fig. 6d)",
                    "qdstack": f"tau(10 K)/tau(295 K) = {ratio:.3f}",
                    "holds": bool(abs(ratio - 1.0) < 0.1),
                }
            )
        else:
            claims.append(
                {
                    "claim": f"C3DT N = {n}: PL lifetime longer at low temperature (Fig. 6d)",
                    "qdstack": f"tau(10 K)/tau(295 K) = {ratio:.3f}",
                    "holds": bool(ratio > 1.0),
                }
            )

    structure_out = {
        "model": structure.to_dict(),
        "periods": {k: v.to_dict() for k, v in struct.items()},
        "difference_nm": diff_pred,
        "difference_nm_err": diff_err,
    }
    # numbers the paper only plots (no value in its text): the model's, for a reader with the figures
    predictions = []
    for n in range(2, 8):
        for name, an in (("C3DT", c3), ("C10DT", c10)):
            predictions.append(
                {
                    "quantity": f"shift N = {n}, {name}",
                    "qdstack": an["shift_meV"][n - 1],
                    "unit": "meV",
                    "note": "Fig. 3d (no number in the text)",
                }
            )
    cp = a.get("coupling")
    if cp:
        for lk, d_nm, sh in zip(
            cp["data"]["linker"], cp["data"]["distance_nm"], cp["data"]["shift_meV"]
        ):
            predictions.append(
                {
                    "quantity": f"bilayer shift, {lk} (S-S {d_nm:.3f} nm)",
                    "qdstack": sh,
                    "unit": "meV",
                    "note": "Fig. 4 (no number in the text)",
                }
            )
    comp = Comparison(
        rows, claims, saturation, structure_out, summary, inputs, predictions=predictions
    )
    from qdstack.study.comparison.discussion import _discussion

    comp.discussion.extend(_discussion(comp, sim))
    return comp
