"""The three small files of docs/guide/input-files.md (synthetic, exact; no noise).

One excitonic band (2.45 eV, sigma 40 meV, 0.3 OD) on a weak continuum, written as
a %T column with a header (film_T_N1.csv), the same without a header (film_bare_N1.csv),
and as absorbance against wavelength in µm without a header (film_um_N1.csv).

Run from the repository root:  python examples/units/make_files.py
"""

from pathlib import Path

import numpy as np

from qdstack.units import HC_EV_NM

HERE = Path(__file__).parent

if __name__ == "__main__":
    lam = np.arange(420.0, 600.5, 0.5)
    e = HC_EV_NM / lam
    a = 0.02 + 0.3 * np.exp(-0.5 * ((e - 2.45) / 0.04) ** 2) + 0.1 * np.clip(e - 2.5, 0, None)
    t = 100 * 10 ** (-a)
    (HERE / "film_T_N1.csv").write_text(
        "Wavelength (nm),%T\n" + "".join(f"{x:.1f},{y:.4f}\n" for x, y in zip(lam, t))
    )
    (HERE / "film_bare_N1.csv").write_text("".join(f"{x:.1f},{y:.4f}\n" for x, y in zip(lam, t)))
    (HERE / "film_um_N1.csv").write_text(
        "".join(f"{x / 1000:.4f},{y:.5f}\n" for x, y in zip(lam, a))
    )
