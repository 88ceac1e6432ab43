"""Generate the example scattering profiles of a 30-layer CsPbBr3 dot film (seeded, synthetic).

Run from the repository root:  python examples/xrd/make_profiles.py

The truth follows the reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Fig. S5-S6):

* ``C3DT_out_of_plane_2theta.xy``: a theta-2theta scan (Cu K-alpha, 2theta in degrees) with the
  out-of-plane superlattice peak at q = 0.82 nm^-1 (d = 7.66 nm; the paper's 7.7 nm for C3DT);
* ``C10DT_out_of_plane_2theta.xy``: the same for C10DT, q = 0.78 nm^-1 (d = 8.06 nm; paper 8.1 nm);
* ``C3DT_in_plane_q.xy``: an in-plane cut in q [nm^-1] with the peak at q = 0.64 nm^-1 (d = 9.82 nm,
  inside the paper's 9.70-9.97 nm).

Peaks are Gaussian (FWHM 0.10-0.12 nm^-1) on a power-law background (a q^-3 + c), Poisson counts.
"""

from pathlib import Path

from qdstack.synthetic import xrd_profile

HERE = Path(__file__).resolve().parent

PROFILES = {
    "C3DT_out_of_plane_2theta.xy": dict(peaks=[(0.82, 0.12, 300)], x_unit="2theta", seed=3001),
    "C10DT_out_of_plane_2theta.xy": dict(peaks=[(0.78, 0.11, 280)], x_unit="2theta", seed=3002),
    "C3DT_in_plane_q.xy": dict(peaks=[(0.64, 0.10, 350)], x_unit="nm^-1", seed=3003),
}


def main() -> None:
    for name, kw in PROFILES.items():
        p = xrd_profile(
            kw["peaks"], x_unit=kw["x_unit"], q_range_per_nm=(0.3, 1.3), points=400, seed=kw["seed"]
        )
        (HERE / name).write_text(p.to_text(), encoding="utf-8")


if __name__ == "__main__":
    main()
