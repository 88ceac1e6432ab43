"""Regenerate the example study of this folder (synthetic files, seeded).

A small study shaped like Enomoto et al., Chem. Sci. 2024: CsPbBr3 dots (6.8 nm) in toluene and
in layer-by-layer films with C3DT and C10DT linkers.  The files are synthetic measurements with
known truth, written the way instruments write them, so that ``qdstack study run study.toml``
has something realistic to chew on.  The truth used here:

* absorption: first exciton at 2.477 eV in solution and 2.473 eV in a monolayer; the film shift
  saturates near -44 meV (C3DT) and -14 meV (C10DT) as in the paper's Fig. 3d;

Run from the repository root:  python examples/study_c3dt_c10dt/make_study.py
"""

from pathlib import Path

import numpy as np

from qdstack.synthetic import absorption_film_spectrum

HERE = Path(__file__).parent
SHIFTS_MEV = {
    "C3DT": [0.0, -18.0, -29.0, -35.0, -38.5, -42.0],
    "C10DT": [0.0, -10.5, -13.3, -13.7],
}


def write_absorption(path: Path, peak_eV: float, od: float, rng, title: str) -> None:
    lam, a = absorption_film_spectrum(peak_eV, od, noise_od=1.5e-4, seed=rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'"{title} - synthetic"', '"Wavelength nm.","Abs."']
    lines += [f"{x:.1f},{y:.5f}" for x, y in zip(lam, a)]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    rng = np.random.default_rng(20240713)
    write_absorption(
        HERE / "absorption" / "solution.csv", 2.477, 0.3, rng, "CsPbBr3 QDs in toluene"
    )
    for linker, shifts in SHIFTS_MEV.items():
        for n, s in enumerate(shifts, start=1):
            write_absorption(
                HERE / "absorption" / f"{linker}_N{n}.csv",
                2.473 + s * 1e-3,
                0.012 * n,
                rng,
                f"{linker} film, {n} layer(s)",
            )


if __name__ == "__main__":
    main()
