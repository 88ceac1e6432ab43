"""Write the example PL temperature series used in the README (run from anywhere; seeded).

13 PL spectra ``PL_010K.csv`` ... ``PL_300K.csv`` as a spectrometer records them
(counts per 0.25 nm, 450-560 nm, shot noise, dark level), with peak energies and
widths from eqns (2)-(3) of Enomoto et al. 2024 and the illustrative CsPbBr3-film
parameters of ``qdstack.synthetic.tpl.TPL_TRUTH``; and ``tpl_table.csv``, the same
series as a table (temperature_K, peak_eV, fwhm_meV) with 1 meV noise.
"""

from pathlib import Path

import numpy as np

from qdstack.io.writers import write_csv
from qdstack.synthetic.tpl import TEMPERATURES_K, pl_spectrum_nm, tpl_table

HERE = Path(__file__).resolve().parent


def main() -> None:
    seeds = np.random.SeedSequence(2024).spawn(len(TEMPERATURES_K) + 1)
    exact = tpl_table(TEMPERATURES_K, noise_eV=0.0, noise_meV=0.0)
    for T, pk, fw, seed in zip(exact.temperature_K, exact.peak_eV, exact.fwhm_meV, seeds):
        lam, counts = pl_spectrum_nm(pk, fw, counts=2e4, dark=50.0, seed=seed)
        with open(HERE / f"PL_{int(T):03d}K.csv", "w") as fh:
            fh.write(
                f"# synthetic PL spectrum of a CsPbBr3 quantum-dot film at {T:g} K (qdstack example)\n"
            )
            fh.write("Wavelength (nm),Counts\n")
            fh.writelines(f"{a:.2f},{int(b)}\n" for a, b in zip(lam, counts))
    write_csv(HERE / "tpl_table.csv", tpl_table(TEMPERATURES_K, seed=seeds[-1]).columns())


if __name__ == "__main__":
    main()
