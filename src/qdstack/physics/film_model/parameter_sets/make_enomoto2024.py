"""Produce the ``enomoto2024`` parameter sets of the film model from the reference study.

Run ``python -m qdstack.physics.film_model.parameter_sets.make_enomoto2024`` (about 20 s
on 2 cores); it overwrites ``enomoto2024.json`` and ``enomoto2024-tunnelling.json``
beside this file (or in ``--out DIR``).

What is taken from the paper, and for what
------------------------------------------
Every number comes from :func:`qdstack.references.load_reference` (``enomoto2024.toml``,
the one copy of the paper's numbers); the ids below are its keys.  The sets record
the same list in ``provenance["reference_inputs"]`` (``fitted``: a parameter was
adjusted until the model reproduces the number; ``set_from``: a parameter was
computed from it), which is what ``qdstack reproduce`` derives the role of each
comparison row from.

Inputs that describe the *isolated dots* (solution spectra, Fig. S1d; TEM):

1. ``edge_nm`` (mean and spread, TEM) -- the size distribution of every simulation;
2. ``solution_pl_fwhm_meV`` -> the homogeneous line width: the simulated
   solution PL (homogeneous Gaussian convolved with the size distribution of
   the single-dot model) is made as wide;
3. ``solution_peak_eV`` -> ``energy_offset_meV``, the single-dot model's
   absolute error (it shifts every film alike, no shift);
4. ``solution_pl_peak_eV`` -> ``intrinsic_stokes_meV`` (exciton fine structure
   and polaron effects are not in the model);
5. ``period_in_plane_nm`` minus ``edge_nm`` -> ``in_plane_gap_nm`` (the oleyl
   gap between in-plane neighbours).

Calibration of the film model: the two N = 8 shifts stated in the text
(``shift_N8_C3DT_meV``, ``shift_N8_C10DT_meV``), each with sigma = sqrt(2) x the
paper's per-film spread of the first peak (``monolayer_peak_eV``: +- 0.002 eV; a
shift is the difference of two peaks).  Nothing else: the monolayer film peak,
the shifts at N = 2..7, the saturation, the bilayer shifts of the other linkers,
the emission and the anisotropy are predictions.

Two sets are written, the same but for the coupling:

``enomoto2024`` (default of ``qdstack simulate``)
    ``coupling="exponential"``: beta_e = beta_h = A exp(-kappa d), the paper's
    eqn (1) read as a coupling (amplitude law, kappa = sqrt(2 m_B V)/hbar,
    m_B = 1 m_e fixed); A and V fitted to the two shifts (exact: two numbers, two
    parameters).
``enomoto2024-tunnelling``
    ``coupling="engine"``: beta_e, beta_h of the effective-mass engine across
    the linker gap, one barrier V for both carriers fitted (m_B = 1 m_e fixed).
    Shows what single-carrier tunnelling can and cannot do.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from scipy.optimize import brentq

HERE = Path(__file__).resolve().parent

REFERENCE = "enomoto2024"

#: which parameter was fitted to / set from which number of the reference (ids of enomoto2024.toml)
REFERENCE_INPUTS = {
    "fitted": {
        "homogeneous_fwhm_meV": ["solution_pl_fwhm_meV"],
        "energy_offset_meV": ["solution_peak_eV"],
        "intrinsic_stokes_meV": ["solution_pl_peak_eV"],
        "coupling_amplitude_meV": ["shift_N8_C3DT_meV", "shift_N8_C10DT_meV"],
        "barrier_e_eV": ["shift_N8_C3DT_meV", "shift_N8_C10DT_meV"],
        "barrier_h_eV": ["shift_N8_C3DT_meV", "shift_N8_C10DT_meV"],
    },
    "set_from": {
        "edge_nm": ["edge_nm"],
        "edge_sd_nm": ["edge_nm"],
        "in_plane_gap_nm": ["period_in_plane_nm", "edge_nm"],
    },
}


def _paper():
    from qdstack.references import load_reference

    ref = load_reference(REFERENCE)
    solution = {
        "peak_eV": ref.value("solution_peak_eV"),
        "pl_peak_eV": ref.value("solution_pl_peak_eV"),
        "pl_fwhm_meV": ref.value("solution_pl_fwhm_meV"),
    }
    sizes = {"edge_nm": ref.value("edge_nm"), "edge_sd_nm": ref["edge_nm"].stated_uncertainty}
    in_plane_gap = round(ref.value("period_in_plane_nm") - ref.value("edge_nm"), 3)
    return solution, sizes, in_plane_gap


def solution_film(params, realisations, seed):
    from qdstack.physics.film_model import FilmSpec
    from qdstack.physics.film_model.spectra import simulate_film

    _, sizes, _ = _paper()
    # a dot in toluene: the gap only names the linker the tables are built for (no neighbours)
    spec = FilmSpec.from_linker("C3DT", 1, environment="solution", **sizes)
    return simulate_film(
        spec,
        params,
        realisations=realisations,
        seed=seed,
        blocks=1,
        emission=True,
        emission_realisations=realisations,
        temperatures_K=[params.temperature_K],
    )


def solution_inputs(base, realisations, seed, log):
    """Homogeneous width, energy offset and intrinsic Stokes shift from the solution spectra."""
    SOLUTION, _, _ = _paper()

    def width_error(fwhm):
        p = base.with_(homogeneous_fwhm_meV=fwhm, name=base.name)
        return solution_film(p, realisations, seed).emission.pl_fwhm_meV - SOLUTION["pl_fwhm_meV"]

    fwhm = brentq(width_error, 30.0, SOLUTION["pl_fwhm_meV"] - 0.5, xtol=0.01)
    p = base.with_(homogeneous_fwhm_meV=round(fwhm, 2), name=base.name)
    sol = solution_film(p, realisations, seed)
    offset = (SOLUTION["peak_eV"] - sol.peak_eV) * 1e3
    p = p.with_(energy_offset_meV=round(offset, 2), name=base.name)
    sol = solution_film(p, realisations, seed)
    stokes = (sol.emission.pl_peak_eV - SOLUTION["pl_peak_eV"]) * 1e3
    p = p.with_(intrinsic_stokes_meV=round(stokes, 2), name=base.name)
    sol = solution_film(p, realisations, seed)
    log(
        f"solution: homogeneous FWHM {p.homogeneous_fwhm_meV} meV, offset {p.energy_offset_meV} meV, "
        f"intrinsic Stokes {p.intrinsic_stokes_meV} meV -> peak {sol.peak_eV:.4f} eV, "
        f"PL {sol.emission.pl_peak_eV:.4f} eV, PL FWHM {sol.emission.pl_fwhm_meV:.1f} meV"
    )
    return p, {
        "homogeneous_fwhm_meV": p.homogeneous_fwhm_meV,
        "energy_offset_meV": p.energy_offset_meV,
        "intrinsic_stokes_meV": p.intrinsic_stokes_meV,
        "from": SOLUTION,
        "check": {
            "solution_peak_eV": sol.peak_eV,
            "solution_pl_peak_eV": sol.emission.pl_peak_eV,
            "solution_pl_fwhm_meV": sol.emission.pl_fwhm_meV,
        },
    }


def write_set(params, provenance, path):
    d = params.to_dict()
    d.pop("provenance", None)
    path.write_text(
        json.dumps({"parameters": d, "provenance": provenance}, indent=2, default=float) + "\n",
        encoding="utf-8",
    )


def main(argv=None) -> int:
    import qdstack
    from qdstack.physics.film_model import FilmParameters
    from qdstack.physics.film_model.calibration import calibrate, reference_shifts

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder for the JSON files")
    ap.add_argument(
        "--realisations", type=int, default=4000, help="realisations per film in the calibration"
    )
    ap.add_argument("--solution-realisations", type=int, default=40000)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    _, sizes, in_plane_gap = _paper()
    shifts = reference_shifts(REFERENCE)
    base = FilmParameters(
        name="enomoto2024",
        material="CsPbBr3",
        coupling="exponential",
        barrier_mass=1.0,
        barrier_e_eV=0.05,
        barrier_h_eV=0.05,
        coupling_amplitude_meV=30.0,
        in_plane_gap_nm=in_plane_gap,
    )
    base, solution = solution_inputs(base, args.solution_realisations, args.seed, log)
    from qdstack.references import load_reference

    stamp = {
        "script": "qdstack.physics.film_model.parameter_sets.make_enomoto2024",
        "qdstack": qdstack.__version__,
        "date": datetime.date.today().isoformat(),
        "seed": args.seed,
        "reference": load_reference(REFERENCE).citation,
        "reference_id": REFERENCE,
        "reference_inputs": REFERENCE_INPUTS,
        "sizes": sizes,
        "in_plane_gap_nm": in_plane_gap,
        "solution_inputs": solution,
    }

    exp = calibrate(
        shifts,
        base,
        fit="barrier",
        realisations=args.realisations,
        seed=args.seed,
        **sizes,
        start={"barrier_eV": 0.05, "coupling_amplitude_meV": 30.0},
        progress=lambda n: log(f"  exponential law: evaluation {n}"),
    )
    log(f"exponential: {exp.values} +- {exp.errors}; model {exp.model_shift_meV}")
    for w in exp.warnings:
        log(f"  warning: {w}")
    p_exp = exp.parameters.with_(
        name="enomoto2024",
        barrier_e_eV=round(exp.values["barrier_eV"], 5),
        barrier_h_eV=round(exp.values["barrier_eV"], 5),
        coupling_amplitude_meV=round(exp.values["coupling_amplitude_meV"], 3),
    )
    write_set(
        p_exp,
        {**stamp, "calibration": exp.to_dict() | {"parameters": None}},
        args.out / "enomoto2024.json",
    )

    eng_base = base.with_(
        name="enomoto2024-tunnelling",
        coupling="engine",
        coupling_amplitude_meV=0.0,
        barrier_e_eV=0.1,
        barrier_h_eV=0.1,
    )
    eng = calibrate(
        shifts,
        eng_base,
        fit="barrier",
        realisations=args.realisations,
        seed=args.seed,
        **sizes,
        start={"barrier_eV": 0.1},
        progress=lambda n: log(f"  engine: evaluation {n}"),
    )
    log(f"engine: {eng.values} +- {eng.errors}; model {eng.model_shift_meV}; reach {eng.reach_meV}")
    for w in eng.warnings:
        log(f"  warning: {w}")
    v = round(eng.values["barrier_eV"], 5)
    p_eng = eng.parameters.with_(name="enomoto2024-tunnelling", barrier_e_eV=v, barrier_h_eV=v)
    write_set(
        p_eng,
        {**stamp, "calibration": eng.to_dict() | {"parameters": None}},
        args.out / "enomoto2024-tunnelling.json",
    )
    log(f"wrote {args.out / 'enomoto2024.json'} and {args.out / 'enomoto2024-tunnelling.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
