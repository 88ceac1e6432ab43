"""Regenerate the example absorption series of this folder (synthetic, seeded).

Eight films of N = 1..8 CsPbBr3 quantum-dot layers bridged by C3DT, as in
Enomoto et al., Chem. Sci. 2024, 15, 13049, Fig. 3a.  The first excitonic
transition follows a tight-binding chain, E(N) = E1 - 2 beta cos(pi/(N+1)),
with E1 = 2.473 eV and beta = 23.4 meV (so the N = 8 shift is the paper's
-44 meV); the OD grows by 0.012 per layer; continuum, scattering tail and
white noise (2e-4 OD) come from :func:`qdstack.synthetic.film_absorbance`.
The files imitate a UV-vis export: a title line, quoted column names, and
wavelength descending in 0.5 nm steps.

Run from the repository root:  python examples/absorption_c3dt/make_spectra.py
"""

from pathlib import Path

import numpy as np

from qdstack.analysis.absorption import chain_energy_eV
from qdstack.synthetic import absorption_film_spectrum

HERE = Path(__file__).parent
E1_EV, BETA_MEV, OD_PER_LAYER, NOISE_OD = 2.473, 23.4, 0.012, 2e-4

if __name__ == "__main__":
    seeds = np.random.SeedSequence(2024).spawn(8)
    for n, seed in zip(range(1, 9), seeds):
        peak = float(chain_energy_eV(n, E1_EV, BETA_MEV))
        lam, a = absorption_film_spectrum(
            peak, OD_PER_LAYER * n, noise_od=NOISE_OD, seed=np.random.default_rng(seed)
        )
        lines = [
            f'"CsPbBr3 QD film, C3DT linker, {n} layer(s) - synthetic"',
            '"Wavelength nm.","Abs."',
        ]
        lines += [f"{x:.1f},{y:.5f}" for x, y in zip(lam, a)]
        (HERE / f"C3DT_N{n}.csv").write_text("\n".join(lines) + "\n")
        print(f"C3DT_N{n}.csv: first transition {peak:.4f} eV")
