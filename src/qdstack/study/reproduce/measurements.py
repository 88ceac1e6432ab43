"""The simulated measurements of a reproduced study: the model's films written as the files instruments record, and their manifest.

Part of :mod:`qdstack.study.reproduce`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REFERENCE = "enomoto2024"

# Assumptions of the simulated measurements (not numbers of the paper; documented in the report).
_OD_NOISE = 2e-4  #: spectrometer noise [OD]
_WAVELENGTHS_NM = np.arange(600.0, 399.99, -0.5)  #: 0.5 nm steps, descending as instruments write
_TAU_DOT_NS = (
    5.0  #: radiative lifetime of an isolated dot at 295 K [ns] (assumed; only ratios are compared)
)
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
    lines = [
        f'"{title} - simulated by qdstack (film model + spectrometer)"',
        '"Wavelength nm.","Abs."',
    ]
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
    lines = [
        "# simulated solution PL (qdstack film model, 295 K)",
        "Wavelength (nm)\tIntensity (counts)",
    ]
    lines += [f"{x:.2f}\t{int(c)}" for x, c in zip(lam, counts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_xrd(path: Path, period_nm: float, rng, *, two_theta: bool) -> None:
    from qdstack.synthetic import xrd_profile

    prof = xrd_profile(
        [(2 * np.pi / period_nm, _XRD_FWHM_PER_NM, 600.0)],
        q_range_per_nm=(0.35, 1.25),
        points=450,
        x_unit="2theta" if two_theta else "nm^-1",
        seed=rng,
    )
    head = "2theta (deg)\tcounts" if two_theta else "q (nm^-1)\tcounts"
    lines = [f"# simulated scattering profile, period {period_nm:.3f} nm", head]
    lines += [f"{x:.5f}\t{int(c)}" for x, c in zip(prof.x, prof.counts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_decays(folder: Path, emission, rng) -> list[dict]:
    """TCSPC decays at the model's temperatures: lifetime tau_dot / (radiative rate relative to a dot)."""
    from qdstack.synthetic import (
        decay_expected_counts,
        measured_like_irf_shape,
        simulate_irf_counts,
    )

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(1024) * 0.05  # 0.05 ns bins, 51.2 ns window
    irf_shape = measured_like_irf_shape(fwhm_ns=0.12, t0_ns=2.0)
    irf = simulate_irf_counts(t, irf_shape, 1e5, 0.5, seed=rng)
    (folder / "irf.csv").write_text(
        "Time (ns)\tCounts\n" + "".join(f"{a:.3f}\t{int(b)}\n" for a, b in zip(t, irf))
    )
    entries = []
    for T, rate in zip(emission.temperatures_K, emission.radiative_rate):
        tau = _TAU_DOT_NS / rate
        mu = decay_expected_counts(
            t, irf_shape, (1.0,), (tau,), signal_counts=2e5, background=2.0, period_ns=200.0
        )
        name = f"PL_{T:03.0f}K.csv"
        (folder / name).write_text(
            f"# simulated decay, {T:g} K, lifetime {tau:.3f} ns (= {_TAU_DOT_NS} ns / radiative rate {rate:.3f})\n"
            "Time (ns)\tCounts\n"
            + "".join(f"{a:.3f}\t{int(b)}\n" for a, b in zip(t, rng.poisson(mu)))
        )
        entries.append({"file": name, "temperature_K": float(T), "true_tau_ns": tau})
    return entries


def _toml_str(s: str) -> str:
    return json.dumps(s)


def write_simulated_study(
    sim, solution, folder: Path, seed: int = 0, *, reference=None, structure=None
) -> Path:
    """Write the simulated measurements and their manifest; returns the manifest path.

    The dots' size is the reference's (``edge_nm``); the X-ray profiles are
    simulated at the periods of the structural model (``structure``, default
    the literature one) and, in plane, at edge + the parameter set's in-plane gap.
    """
    from qdstack.physics.stack_structure import DEFAULT_STRUCTURE, out_of_plane_period
    from qdstack.references import load_reference

    ref = load_reference(REFERENCE) if reference is None else reference
    structure = DEFAULT_STRUCTURE if structure is None else structure
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
                items = ", ".join(
                    "{ "
                    + ", ".join(
                        f"{a} = {_toml_str(b) if isinstance(b, str) else b}" for a, b in it.items()
                    )
                    + " }"
                    for it in v
                )
                lines.append(f"{k} = [ {items} ]")
            else:
                lines.append(f"{k} = {v}")
        samples.append("\n".join(lines))

    # dots in solution: absorption and PL
    _write_absorbance(
        folder / "absorption" / "solution.csv",
        solution,
        rng,
        scale=20.0,
        title="CsPbBr3 QDs in toluene",
    )
    i295 = int(np.argmin(np.abs(np.array(solution.emission.temperatures_K) - 295.0)))
    _write_pl(
        folder / "pl" / "solution_PL.csv",
        solution.emission.energy_eV,
        solution.emission.pl_per_eV[i295],
        rng,
    )
    sample(
        name="QDs in toluene",
        layers=0,
        absorption="absorption/solution.csv",
        pl="pl/solution_PL.csv",
    )

    # monolayers of different packing density (Fig. 2): OD ~ 1/(in-plane period)^2
    edge = ref.value("edge_nm")
    edge_sd = ref["edge_nm"].stated_uncertainty
    g0 = sim.density[0][0]
    for g, series in sim.density:
        scale = ((edge + g0) / (edge + g)) ** 2
        name = f"monolayer_gap{g:.1f}nm.csv"
        _write_absorbance(
            folder / "absorption" / name,
            series.films[0],
            rng,
            scale=scale,
            title=f"monolayer, in-plane gap {g:.1f} nm",
        )
        sample(
            name=f"monolayer, in-plane gap {g:.1f} nm", layers=1, absorption=f"absorption/{name}"
        )

    # C3DT and C10DT films of N = 1..8 (Fig. 3), decays of C3DT N = 1, 3, 6 (Fig. 6)
    for series in (sim.c3dt, sim.c10dt):
        for film in series.films:
            n = film.layers
            name = f"{series.linker}_N{n}.csv"
            _write_absorbance(
                folder / "absorption" / name, film, rng, title=f"{series.linker} film, {n} layer(s)"
            )
            decays = None
            irf = None
            if series.linker == "C3DT" and film.emission is not None:
                entries = _write_decays(folder / "trpl" / f"C3DT_N{n}", film.emission, rng)
                decays = [
                    {"file": f"trpl/C3DT_N{n}/{e['file']}", "temperature_K": e["temperature_K"]}
                    for e in entries
                ]
                irf = f"trpl/C3DT_N{n}/irf.csv"
            sample(
                name=f"{series.linker} {n}L",
                linker=series.linker,
                layers=n,
                absorption=f"absorption/{name}",
                decays=decays,
                irf=irf,
                decay_components=1 if decays else None,
            )

    # monolayers and bilayers of the other linkers (Fig. 4)
    for series in sim.bilayers:
        if series.linker not in _OTHER_LINKERS:
            continue
        for film in series.films:
            name = f"{series.linker}_N{film.layers}.csv"
            _write_absorbance(
                folder / "absorption" / name,
                film,
                rng,
                title=f"{series.linker} film, {film.layers} layer(s)",
            )
            sample(
                name=f"{series.linker} {film.layers}L",
                linker=series.linker,
                layers=film.layers,
                absorption=f"absorption/{name}",
            )

    # X-ray scattering of 30-layer films (Fig. S5): out-of-plane period from the structural model of the
    # stack, in-plane = edge + the parameter set's in-plane gap
    in_plane = edge + sim.params.in_plane_gap_nm
    for series, with_ip in ((sim.c3dt, True), (sim.c10dt, False)):
        oop = out_of_plane_period(series.linker, edge, structure).period_nm
        _write_xrd(folder / "xrd" / f"{series.linker}_out_of_plane.xy", oop, rng, two_theta=True)
        xrd = [
            {
                "file": f"xrd/{series.linker}_out_of_plane.xy",
                "direction": "out-of-plane",
                "qmin_per_nm": 0.4,
                "qmax_per_nm": 1.2,
            }
        ]
        if with_ip:
            _write_xrd(
                folder / "xrd" / f"{series.linker}_in_plane.xy", in_plane, rng, two_theta=False
            )
            xrd.append(
                {
                    "file": f"xrd/{series.linker}_in_plane.xy",
                    "direction": "in-plane",
                    "qmin_per_nm": 0.4,
                    "qmax_per_nm": 1.2,
                }
            )
        sample(name=f"{series.linker} 30L (XRD)", linker=series.linker, layers=30, xrd=xrd)

    # (the SEM thickness of Fig. S4 is a measurement of the paper, not of the model: it is compared
    # directly with the structural model in qdstack.study.comparison, not written here as a sample)

    manifest = folder / "study.toml"
    head = (
        "# Simulated measurements of Enomoto et al., Chem. Sci. 2024 (written by qdstack reproduce).\n"
        "[study]\n"
        f'name = "Enomoto et al. 2024, reproduced (film model {sim.params.name})"\n'
        'material = "CsPbBr3"\n'
        f"edge_nm = {edge}\nedge_sd_nm = {edge_sd}\n"
        "description = \"CsPbBr3 quantum-dot multilayers with dithiol linkers: the paper's films simulated by "
        'the qdstack film model and measured again through the analyses a user runs on real files."\n'
    )
    manifest.write_text(head + "\n" + "\n\n".join(samples) + "\n")
    return manifest
