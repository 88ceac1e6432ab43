"""``qdstack reproduce enomoto2024``: the reference study, simulated and measured again.

The raw data of Enomoto et al. (Chem. Sci. 2024, 15, 13049) are not public, so
the reproduction is honest about what it is:

1. The film model (:mod:`qdstack.physics.film_model`, parameter set ``enomoto2024``)
   is calibrated on the two N = 8 shifts (-44.0 meV for C3DT, -14.2 meV for
   C10DT); its energy offset, homogeneous width and intrinsic Stokes shift come
   from the solution spectra (2.477 eV, 2.446 eV, 77 meV).  Those five numbers
   are *inputs*; everything else is a prediction.
2. The model's films are turned into the files an experimentalist would record
   (:mod:`qdstack.synthetic`): absorption spectra with the higher transitions,
   continuum, scattering tail and spectrometer noise; the solution PL; X-ray
   profiles with Poisson counts; TCSPC decays with a measured-like IRF.
3. Those files, and a manifest listing them, go through ``qdstack study run`` —
   the same analyses a user runs on real files.
4. Every number of the paper the model or the analyses predict is put beside the
   paper's, with a tolerance and whether they agree.  Rows that disagree stay in
   the table; the report discusses them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from qdstack.errors import OptionError

__all__ = ["PAPER", "reproduce_enomoto2024", "STUDIES"]

#: Numbers stated in the text of Enomoto et al., Chem. Sci. 2024, 15, 13049.
PAPER = {
    "edge_nm": 6.8,
    "edge_sd_nm": 0.5,
    "solution_peak_eV": 2.477,
    "solution_pl_peak_eV": 2.446,
    "solution_pl_fwhm_meV": 77.0,
    "monolayer_peak_eV": 2.473,
    "monolayer_peak_err_eV": 0.002,
    "shift_N8_C3DT_meV": -44.0,
    "shift_N8_C10DT_meV": -14.2,
    "saturation_C3DT": 6,
    "saturation_C10DT": 3,
    "ss_C3DT_nm": 0.55,
    "ss_C10DT_nm": 1.46,
    "period_estimate_C3DT_nm": 7.35,
    "period_estimate_C10DT_nm": 8.26,
    "period_xrd_C3DT_nm": 7.7,
    "period_xrd_C10DT_nm": 8.1,
    "period_in_plane_nm": (9.70, 9.97),
    "thickness_estimate_nm": 147.0,
    "thickness_sem_nm": 130.0,
    "thickness_sem_err_nm": 10.0,
}

#: what ``qdstack reproduce`` knows how to reproduce
STUDIES = ("enomoto2024",)

# Assumptions of the simulated measurements (not numbers of the paper; documented in the report).
_OD_NOISE = 2e-4  #: spectrometer noise [OD]
_WAVELENGTHS_NM = np.arange(600.0, 399.99, -0.5)  #: 0.5 nm steps, descending as instruments write
_TAU_DOT_NS = 5.0  #: radiative lifetime of an isolated dot at 295 K [ns] (assumed; only ratios are compared)
_XRD_FWHM_PER_NM = 0.10  #: scattering peak width [nm^-1] (finite stacks + paracrystalline disorder)
_OTHER_LINKERS = ("C2DT", "C4DT", "C5DT", "C6DT", "BDT", "BPDT")


# ----------------------------------------------------------------------------- simulated files


def _write_absorbance(path: Path, film, rng, *, scale: float = 1.0, title: str) -> None:
    """Film model's first band + higher transitions, continuum, scattering, noise -> a UV-vis export."""
    from qdstack.synthetic import film_background
    from qdstack.units import HC_EV_NM

    e = HC_EV_NM / _WAVELENGTHS_NM
    band = np.interp(e, film.energy_eV, film.absorbance, left=0.0, right=0.0) * scale
    height = float(band.max())
    a = band + film_background(e, film.peak_eV, height) + rng.normal(0.0, _OD_NOISE, e.size)
    lines = [f'"{title} - simulated by qdstack (film model + spectrometer)"', '"Wavelength nm.","Abs."']
    lines += [f"{x:.1f},{y:.6f}" for x, y in zip(_WAVELENGTHS_NM, a)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_pl(path: Path, energy_eV, pl_per_eV, rng, peak_counts: float = 2e4) -> None:
    """A PL spectrum as a CCD records it: per wavelength (inverse Jacobian), Poisson counts, dark level."""
    from qdstack.units import HC_EV_NM

    lam = np.arange(560.0, 460.0, -0.25)
    e = HC_EV_NM / lam
    per_ev = np.interp(e, energy_eV, pl_per_eV, left=0.0, right=0.0)
    per_nm = per_ev * HC_EV_NM / lam**2
    counts = rng.poisson(per_nm / per_nm.max() * peak_counts + 300.0)
    lines = ["# simulated solution PL (qdstack film model, 295 K)", "Wavelength (nm)\tIntensity (counts)"]
    lines += [f"{x:.2f}\t{int(c)}" for x, c in zip(lam, counts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_xrd(path: Path, period_nm: float, rng, *, two_theta: bool) -> None:
    from qdstack.synthetic import xrd_profile

    prof = xrd_profile([(2 * np.pi / period_nm, _XRD_FWHM_PER_NM, 600.0)], q_range_per_nm=(0.35, 1.25),
                       points=450, x_unit="2theta" if two_theta else "nm^-1", seed=rng)
    head = "2theta (deg)\tcounts" if two_theta else "q (nm^-1)\tcounts"
    lines = [f"# simulated scattering profile, period {period_nm:.3f} nm", head]
    lines += [f"{x:.5f}\t{int(c)}" for x, c in zip(prof.x, prof.counts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_decays(folder: Path, emission, rng) -> list[dict]:
    """TCSPC decays at the model's temperatures: lifetime tau_dot / (radiative rate relative to a dot)."""
    from qdstack.synthetic import decay_expected_counts, measured_like_irf_shape, simulate_irf_counts

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(1024) * 0.05  # 0.05 ns bins, 51.2 ns window
    irf_shape = measured_like_irf_shape(fwhm_ns=0.12, t0_ns=2.0)
    irf = simulate_irf_counts(t, irf_shape, 1e5, 0.5, seed=rng)
    (folder / "irf.csv").write_text("Time (ns)\tCounts\n" + "".join(f"{a:.3f}\t{int(b)}\n" for a, b in zip(t, irf)))
    entries = []
    for T, rate in zip(emission.temperatures_K, emission.radiative_rate):
        tau = _TAU_DOT_NS / rate
        mu = decay_expected_counts(t, irf_shape, (1.0,), (tau,), signal_counts=2e5, background=2.0, period_ns=200.0)
        name = f"PL_{T:03.0f}K.csv"
        (folder / name).write_text(
            f"# simulated decay, {T:g} K, lifetime {tau:.3f} ns (= {_TAU_DOT_NS} ns / radiative rate {rate:.3f})\n"
            "Time (ns)\tCounts\n" + "".join(f"{a:.3f}\t{int(b)}\n" for a, b in zip(t, rng.poisson(mu)))
        )
        entries.append({"file": name, "temperature_K": float(T), "true_tau_ns": tau})
    return entries


def _toml_str(s: str) -> str:
    return json.dumps(s)


def write_simulated_study(sim, solution, folder: Path, seed: int = 0) -> Path:
    """Write the simulated measurements and their manifest; returns the manifest path."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2024]))
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[str] = []

    def sample(**kv) -> None:
        lines = ["[[sample]]"]
        for k, v in kv.items():
            if v is None:
                continue
            if isinstance(v, str):
                lines.append(f"{k} = {_toml_str(v)}")
            elif isinstance(v, list):
                items = ", ".join("{ " + ", ".join(f"{a} = {_toml_str(b) if isinstance(b, str) else b}" for a, b in it.items()) + " }" for it in v)
                lines.append(f"{k} = [ {items} ]")
            else:
                lines.append(f"{k} = {v}")
        samples.append("\n".join(lines))

    # dots in solution: absorption and PL
    _write_absorbance(folder / "absorption" / "solution.csv", solution, rng, scale=20.0, title="CsPbBr3 QDs in toluene")
    i295 = int(np.argmin(np.abs(np.array(solution.emission.temperatures_K) - 295.0)))
    _write_pl(folder / "pl" / "solution_PL.csv", solution.emission.energy_eV, solution.emission.pl_per_eV[i295], rng)
    sample(name="QDs in toluene", layers=0, absorption="absorption/solution.csv", pl="pl/solution_PL.csv")

    # monolayers of different packing density (Fig. 2): OD ~ 1/(in-plane period)^2
    edge = PAPER["edge_nm"]
    g0 = sim.density[0][0]
    for g, series in sim.density:
        scale = ((edge + g0) / (edge + g)) ** 2
        name = f"monolayer_gap{g:.1f}nm.csv"
        _write_absorbance(folder / "absorption" / name, series.films[0], rng, scale=scale,
                          title=f"monolayer, in-plane gap {g:.1f} nm")
        sample(name=f"monolayer, in-plane gap {g:.1f} nm", layers=1, absorption=f"absorption/{name}")

    # C3DT and C10DT films of N = 1..8 (Fig. 3), decays of C3DT N = 1, 3, 6 (Fig. 6)
    for series in (sim.c3dt, sim.c10dt):
        for film in series.films:
            n = film.layers
            name = f"{series.linker}_N{n}.csv"
            _write_absorbance(folder / "absorption" / name, film, rng, title=f"{series.linker} film, {n} layer(s)")
            decays = None
            irf = None
            if series.linker == "C3DT" and film.emission is not None:
                entries = _write_decays(folder / "trpl" / f"C3DT_N{n}", film.emission, rng)
                decays = [{"file": f"trpl/C3DT_N{n}/{e['file']}", "temperature_K": e["temperature_K"]} for e in entries]
                irf = f"trpl/C3DT_N{n}/irf.csv"
            sample(name=f"{series.linker} {n}L", linker=series.linker, layers=n, absorption=f"absorption/{name}",
                   decays=decays, irf=irf, decay_components=1 if decays else None)

    # monolayers and bilayers of the other linkers (Fig. 4)
    for series in sim.bilayers:
        if series.linker not in _OTHER_LINKERS:
            continue
        for film in series.films:
            name = f"{series.linker}_N{film.layers}.csv"
            _write_absorbance(folder / "absorption" / name, film, rng, title=f"{series.linker} film, {film.layers} layer(s)")
            sample(name=f"{series.linker} {film.layers}L", linker=series.linker, layers=film.layers,
                   absorption=f"absorption/{name}")

    # X-ray scattering of 30-layer films (Fig. S5): out-of-plane period = edge + S-S, in-plane = edge + oleyl gap
    in_plane = edge + sim.params.in_plane_gap_nm
    for series, with_ip in ((sim.c3dt, True), (sim.c10dt, False)):
        oop = edge + series.gap_nm
        _write_xrd(folder / "xrd" / f"{series.linker}_out_of_plane.xy", oop, rng, two_theta=True)
        xrd = [{"file": f"xrd/{series.linker}_out_of_plane.xy", "direction": "out-of-plane",
                "qmin_per_nm": 0.4, "qmax_per_nm": 1.2}]
        if with_ip:
            _write_xrd(folder / "xrd" / f"{series.linker}_in_plane.xy", in_plane, rng, two_theta=False)
            xrd.append({"file": f"xrd/{series.linker}_in_plane.xy", "direction": "in-plane",
                        "qmin_per_nm": 0.4, "qmax_per_nm": 1.2})
        sample(name=f"{series.linker} 30L (XRD)", linker=series.linker, layers=30, xrd=xrd)

    # a 20-layer C3DT film measured by cross-sectional SEM (Fig. S4)
    sample(name="C3DT 20L (SEM)", linker="C3DT", layers=20, thickness_nm=PAPER["thickness_sem_nm"],
           thickness_err_nm=PAPER["thickness_sem_err_nm"])

    manifest = folder / "study.toml"
    head = (
        "# Simulated measurements of Enomoto et al., Chem. Sci. 2024 (written by qdstack reproduce).\n"
        "[study]\n"
        f'name = "Enomoto et al. 2024, reproduced (film model {sim.params.name})"\n'
        'material = "CsPbBr3"\n'
        f"edge_nm = {PAPER['edge_nm']}\nedge_sd_nm = {PAPER['edge_sd_nm']}\n"
        'description = "CsPbBr3 quantum-dot multilayers with dithiol linkers: the paper\'s films simulated by '
        'the qdstack film model and measured again through the analyses a user runs on real files."\n'
    )
    manifest.write_text(head + "\n" + "\n\n".join(samples) + "\n")
    return manifest


# ----------------------------------------------------------------------------- comparison


def _row(quantity, paper, value, unit, tolerance, kind, how, agrees=None, relation="="):
    # the contract types paper, qdstack and tolerance as floats (a layer count of 6 is 6.0 here)
    paper, value, tolerance = (None if v is None else float(v) for v in (paper, value, tolerance))
    if agrees is None:
        agrees = (value is not None and paper is not None and math.isfinite(value)
                  and abs(value - paper) <= tolerance)
    return {"quantity": quantity, "paper": paper, "qdstack": value, "unit": unit, "tolerance": tolerance,
            "agrees": bool(agrees), "kind": kind, "relation": relation, "source": how}


def _lifetime_ratio(analysis: dict, low_K: float = 10.0, high_K: float = 295.0) -> float:
    rows = analysis["decays"]
    by_t = {r["temperature_K"]: r["tau_amplitude_weighted_ns"] for r in rows}
    lo = min(by_t, key=lambda t: abs(t - low_K))
    hi = min(by_t, key=lambda t: abs(t - high_K))
    return float(by_t[lo] / by_t[hi])


def build_comparison(results: dict, sim) -> tuple[list[dict], list[dict], list[str]]:
    """(comparison rows, predictions without a paper number, discussion of disagreements)."""
    from qdstack.linkers import get_linker
    from qdstack.materials import get_material
    from qdstack.physics.single_dot import first_exciton_energy_eV

    a = results["analyses"]
    rows: list[dict] = []
    mat = get_material("CsPbBr3")
    e_dot = float(first_exciton_energy_eV(PAPER["edge_nm"], mat))
    rows.append(_row("first excitonic peak of 6.8 nm dots in solution, single-dot model (no calibration)",
                     PAPER["solution_peak_eV"], e_dot, "eV", 0.030, "prediction",
                     f"qdstack.physics.single_dot, CsPbBr3 parameter set {mat.parameter_set}; tolerance: the "
                     "model's accuracy (effective masses disputed, see README)"))
    sol = a["absorption_solution"]["peaks"][0]
    rows.append(_row("first excitonic peak in solution, measured on the simulated spectrum", PAPER["solution_peak_eV"],
                     sol["peak_eV"], "eV", 0.002, "calibration input",
                     "film model energy offset set on 2.477 eV; read back by qdstack absorption"))
    mono = a["absorption_no_linker"]["peak_spread"]
    rows.append(_row("monolayer film first peak (density series mean)", PAPER["monolayer_peak_eV"], mono["mean_eV"],
                     "eV", PAPER["monolayer_peak_err_eV"], "prediction",
                     "film model: dielectric environment term only; tolerance: the paper's spread"))
    rows.append(_row("monolayer peak spread over packing density (standard deviation)", 0.0, mono["std_meV"], "meV",
                     1e3 * PAPER["monolayer_peak_err_eV"], "prediction",
                     "three monolayers, in-plane gap 3-6 nm (3 x 3 blocks with in-plane coupling and Coulomb)"))
    c3, c10 = a["absorption_C3DT"], a["absorption_C10DT"]
    rows.append(_row("shift N = 8, C3DT", PAPER["shift_N8_C3DT_meV"], c3["shift_meV"][-1], "meV", 2.0,
                     "calibration input", "the film model is calibrated on it; measured back through qdstack absorption"))
    rows.append(_row("shift N = 8, C10DT", PAPER["shift_N8_C10DT_meV"], c10["shift_meV"][-1], "meV", 2.0,
                     "calibration input", "the film model is calibrated on it; measured back through qdstack absorption"))
    rows.append(_row("saturation layer count, C3DT (90 % of the N = 8 shift)", PAPER["saturation_C3DT"],
                     c3["saturation_layers"], "layers", 1, "prediction", "paper: 'nearly saturated' at N = 6"))
    rows.append(_row("saturation layer count, C10DT (90 % of the N = 8 shift)", PAPER["saturation_C10DT"],
                     c10["saturation_layers"], "layers", 1, "prediction", "paper: 'nearly saturated' at N = 3"))
    diff = c3["saturation_layers"] - c10["saturation_layers"]
    rows.append(_row("C3DT saturates later than C10DT (difference of saturation layer counts)",
                     PAPER["saturation_C3DT"] - PAPER["saturation_C10DT"], diff, "layers", 0, "prediction",
                     "agrees when the difference is > 0 (the paper's claim)", agrees=diff > 0, relation=">0"))
    cp = a["coupling"]
    rows.append(_row("bilayer shift vs S-S distance is exponential (r2 of |shift| = A exp(-k d), 8 linkers)", 1.0,
                     cp["r2"], "r2", 0.05, "prediction", f"decay constant k = {cp['decay_per_nm']:.2f} nm^-1"))
    for name, key in (("C3DT", "ss_C3DT_nm"), ("C10DT", "ss_C10DT_nm")):
        g = get_linker(name)
        rows.append(_row(f"S-S distance of {name}", PAPER[key], g.ss_distance_nm, "nm", 0.03, "prediction",
                         f"qdstack linker library, {g.method} ({g.conformer}); paper: B3LYP/6-31G(d)"))
    for name, key_est, key_xrd in (("C3DT", "period_estimate_C3DT_nm", "period_xrd_C3DT_nm"),
                                   ("C10DT", "period_estimate_C10DT_nm", "period_xrd_C10DT_nm")):
        x = a[f"xrd_{name}_30L_XRD"]
        exp = x["out_of_plane_vs_edge_plus_gap"]
        rows.append(_row(f"out-of-plane period estimate edge + S-S, {name}", PAPER[key_est], exp["expected_nm"], "nm",
                         0.05, "prediction", "6.8 nm + the linker library's S-S distance"))
        d = x["out-of-plane"]["peaks"][0]["d_nm"]
        rows.append(_row(f"out-of-plane period from XRD, {name}", PAPER[key_xrd], d, "nm", PAPER["edge_sd_nm"],
                         "prediction", "simulated profile (period = edge + S-S) fitted by qdstack xrd; tolerance: "
                         "the edge-length spread of the dots (TEM)"))
    ip = a["xrd_C3DT_30L_XRD"]["in-plane"]["peaks"][0]["d_nm"]
    lo, hi = PAPER["period_in_plane_nm"]
    rows.append(_row("in-plane period from XRD", 0.5 * (lo + hi), ip, "nm", 0.5 * (hi - lo) + 0.1, "prediction",
                     f"edge + {sim.params.in_plane_gap_nm:g} nm oleyl ligand gap (2 x {sim.params.ligand_shell_nm:g} nm "
                     "shells, a model parameter); paper: 9.70-9.97 nm"))
    th = a["thickness"]["films"][0]
    rows.append(_row("20-layer thickness estimate, N x (edge + S-S)", PAPER["thickness_estimate_nm"], th["thickness_nm"],
                     "nm", 1.0, "prediction", "qdstack film with the linker library's C3DT distance"))
    tol = 2.0 * math.hypot(PAPER["thickness_sem_err_nm"], th["thickness_nm_err"] or 0.0)
    rows.append(_row("20-layer thickness vs SEM (130 +- 10 nm)", PAPER["thickness_sem_nm"], th["thickness_nm"], "nm",
                     tol, "prediction", f"agrees within 2 sigma (z = {th['z_score']:.2f})"))
    pl = a["pl"]["spectra"][0]
    rows.append(_row("PL peak in solution", PAPER["solution_pl_peak_eV"], pl["peak_eV"], "eV", 0.003,
                     "calibration input", "intrinsic Stokes shift set on it; read back by the PL analysis"))
    rows.append(_row("PL FWHM in solution", PAPER["solution_pl_fwhm_meV"], pl["fwhm_meV"], "meV", 3.0,
                     "calibration input", "homogeneous width set on it; read back by the PL analysis"))
    for n in (1, 3, 6):
        ratio = _lifetime_ratio(a[f"decays_C3DT_{n}L"])
        if n == 1:
            rows.append(_row("PL lifetime 10 K / 295 K, monolayer (flat: 0D excitons)", 1.0, ratio, "ratio", 0.1,
                             "prediction", "decays simulated from the model's radiative rate, fitted by qdstack decay"))
        else:
            rows.append(_row(f"PL lifetime 10 K / 295 K, C3DT N = {n} (paper: longer at low T, > 1)", 1.0, ratio,
                             "ratio", 0.0, "prediction",
                             "decays simulated from the model's radiative rate, fitted by qdstack decay",
                             agrees=ratio > 1.0, relation=">"))
    predictions = []
    for n in range(2, 8):
        for label, an in (("C3DT", c3), ("C10DT", c10)):
            predictions.append({"quantity": f"shift N = {n}, {label}", "qdstack": an["shift_meV"][n - 1], "unit": "meV",
                                "note": "Fig. 3d has no number in the text"})
    for lk, d_nm, s in zip(cp["data"]["linker"], cp["data"]["distance_nm"], cp["data"]["shift_meV"]):
        predictions.append({"quantity": f"bilayer shift, {lk} (S-S {d_nm:.3f} nm)", "qdstack": s, "unit": "meV",
                            "note": "Fig. 4 has no number in the text"})
    predictions.append({"quantity": "bilayer shift decay constant k", "qdstack": cp["decay_per_nm"], "unit": "nm^-1",
                        "note": f"implied barrier {cp['barrier_eV']:.3g} eV ({cp['law']} law, m* = {cp['mass']:g})"})
    predictions.append({"quantity": "in-plane coupling beta_e through 3 nm oleyl", "qdstack": sim.c3dt.films[0].beta_e_in_meV,
                        "unit": "meV", "note": f"out-of-plane beta_e {sim.c3dt.films[0].beta_e_meV:.2f} meV (C3DT)"})
    cal = sim.params.to_dict().get("provenance", {}).get("calibration", {})
    discussion = _discussion(rows, cal)
    return rows, predictions, discussion


def _discussion(rows: list[dict], cal: dict) -> list[str]:
    out = []
    for r in rows:
        if r["agrees"]:
            continue
        q = r["quantity"]
        if q.startswith("monolayer film first peak"):
            out.append(
                f"Monolayer peak: the model puts the film at {r['qdstack']:.4f} eV, the paper at 2.473 eV. The only "
                "solution-to-film term in the model is the dielectric environment, which moves the peak by a fraction "
                "of a meV; the paper's ~4 meV red shift needs more than that (e.g. the substrate/PEI environment or "
                "ligand changes), which the model does not contain."
            )
        elif q.startswith("saturation layer count, C10DT") or q.startswith("C3DT saturates later"):
            if not any(s.startswith("Saturation") for s in out):
                out.append(
                    "Saturation: in the model both linkers saturate where an ideal chain does (N = 5 by the 90 % "
                    "rule), and neither a larger size disorder nor a narrower line makes that linker-dependent "
                    "(try qdstack simulate --linker C10DT --edge-sd-nm 1.5): disorder of the dots' site energies "
                    "does not stop the C10DT shift at N = 3 as the paper's explanation needs. A linker-dependent "
                    "saturation needs something the model lacks, e.g. disorder in the coupling itself "
                    "(incomplete or tilted linkers)."
                )
        elif q.startswith("PL lifetime 10 K / 295 K, C3DT"):
            if not any(s.startswith("Lifetimes") for s in out):
                out.append(
                    "Lifetimes: the model's coherent exciton in a coupled column is superradiant, so its radiative "
                    "lifetime gets *shorter* at low temperature (the lowest state carries the oscillator strength), "
                    "the opposite of the paper's longer lifetimes. Longer low-temperature lifetimes point to a dark "
                    "lowest state (e.g. a bright-dark exciton splitting or an H-aggregate-like arrangement of the "
                    "transition dipoles), which the model does not include."
                )
        else:
            out.append(f"{q}: paper {r['paper']}, qdstack {r['qdstack']:.4g} {r['unit']} (tolerance {r['tolerance']}).")
    warnings = cal.get("warnings") or []
    if warnings:
        out.append(
            "Mechanism: the calibration itself is flagged: " + "; ".join(w.rstrip(".") for w in warnings)
            + ". Effective-mass tunnelling "
            "through any plausible organic barrier gives a coupling of a few meV; the paper's shifts need ~20 meV "
            "(see the simulate section of the README for the channel-by-channel numbers)."
        )
    return out


# ----------------------------------------------------------------------------- driver


def reproduce_enomoto2024(
    out_dir,
    *,
    realisations: int = 3000,
    seed: int = 1,
    scheduler: str | None = None,
    on_stage=None,
    on_progress=None,
):
    """Simulate the reference study, analyse the simulated files, compare with the paper.

    Parameters
    ----------
    out_dir : path
        Output folder: ``results.json`` (with ``comparison``), ``report.html``,
        tables, figures, and ``simulated/`` (the simulated files and their manifest).
    realisations : int
        Disorder realisations per simulated film.
    seed : int
        Root seed of every random stream (model disorder and measurement noise).
    scheduler : str, optional
        dask.distributed scheduler address for the analyses (default local).
    on_stage : callable(str), optional
        Called with a description as each stage starts.
    on_progress : callable(done, total, name), optional
        Progress of the study's analyses.

    Returns
    -------
    StudyRun
    """
    from qdstack.io.writers import atomic_write_text, write_json
    from qdstack.physics.film_model.calibration import simulate_paper
    from qdstack.physics.film_model import FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film
    from qdstack.study.manifest import load_manifest
    from qdstack.study.report import render_report
    from qdstack.study.runner import run_loaded_study

    if realisations < 200:
        raise OptionError("at least 200 realisations are needed for a stable ensemble spectrum", "--realisations")
    out_dir = Path(out_dir)
    stage = on_stage or (lambda text: None)
    stage("simulating the films (film model, parameter set enomoto2024)")
    params = load_parameter_set("enomoto2024")
    sim = simulate_paper(params, realisations=realisations, seed=seed)
    solution = simulate_film(
        FilmSpec(layers=1, gap_nm=sim.c3dt.gap_nm, linker="C3DT", environment="solution"), params,
        realisations=realisations, seed=seed, emission=True,
    )
    stage("writing the simulated measurements")
    manifest = write_simulated_study(sim, solution, out_dir / "simulated", seed=seed)
    study = load_manifest(manifest)
    stage("analysing the simulated measurements (qdstack study run)")
    run = run_loaded_study(study, manifest.read_text(), out_dir, scheduler=scheduler, on_progress=on_progress,
                           report=False)
    if run.errors:
        name, message = next(iter(run.errors.items()))
        raise RuntimeError(f"an analysis of the simulated study failed ({name}: {message})")
    stage("comparing with the paper")
    rows, predictions, discussion = build_comparison(run.results, sim)
    run.results["comparison"] = rows
    run.results["predictions"] = predictions
    run.results["discussion"] = discussion
    run.results["model"] = {
        "parameters": params.to_dict(),
        "realisations": realisations,
        "seed": seed,
        "assumptions": {
            "spectrometer_noise_od": _OD_NOISE,
            "isolated_dot_radiative_lifetime_ns": _TAU_DOT_NS,
            "xrd_peak_fwhm_per_nm": _XRD_FWHM_PER_NM,
        },
    }
    write_json(out_dir / "results.json", run.results)
    n_ok = sum(r["agrees"] for r in rows)
    intro = (
        "The raw data of the paper are not public. qdstack's film model (parameter set enomoto2024) was calibrated "
        "on the two N = 8 shifts, with its energy scale, line width and Stokes shift taken from the solution spectra; "
        "its films were turned into simulated instrument files (with noise) and analysed by the same commands a user "
        f"runs on real files. {n_ok} of {len(rows)} numbers of the paper agree within their tolerance; the others are "
        "discussed below."
    )
    html = render_report(
        run, comparison=rows, discussion=discussion, intro=intro,
        comparison_intro=(
            "'calibration input' rows are numbers the model was set on (they test that the pipeline reads them "
            "back); 'prediction' rows are not. Tolerances: measurement spread stated in the paper, or the model's "
            "accuracy where it is the limit (see 'how qdstack gets it')."
        ),
    )
    atomic_write_text(out_dir / "report.html", html)
    return run
