"""Generate the example angle-dependent PL series (seeded, synthetic).

Run from the repository root:  python examples/angle/make_spectra.py

Two films, spectra at 0, 15, 30, 45, 60 and 75 deg from the normal (cf. Enomoto et al.,
Chem. Sci. 2024, 15, 13049, Fig. 5 and S8), written as wavelength/counts CSV files:

* ``C3DT_N6/pl_<angle>deg.csv``: a coupled six-layer film: 30 % of the transition dipoles point
  out of the plane and emit 25 meV below the in-plane ones (film index 1.8);
* ``dropcast/pl_<angle>deg.csv``: an uncoupled film of the same thickness with re-absorption,
  optical depth alpha*d = 0.3 at 2.44 eV on an Urbach tail of 20 meV.

Both bands: 2.44 eV, FWHM 80 meV, with a weak low-energy shoulder; 2e4 counts at the peak.
"""

from pathlib import Path

from qdstack.synthetic import angle_pl_series

HERE = Path(__file__).resolve().parent
ANGLES = (0, 15, 30, 45, 60, 75)

SERIES = {
    "C3DT_N6": dict(mechanism="anisotropic", fraction=0.3, offset_meV=25.0, seed=4001),
    "dropcast": dict(mechanism="reabsorption", tau=0.3, seed=4002),
}


def main() -> None:
    for folder, kw in SERIES.items():
        s = angle_pl_series(ANGLES, shape="asymmetric", counts_peak=20000, **kw)
        out = HERE / folder
        out.mkdir(exist_ok=True)
        for i, a in enumerate(s.angles_deg):
            (out / f"pl_{int(a)}deg.csv").write_text(s.to_text(i), encoding="utf-8")


if __name__ == "__main__":
    main()
