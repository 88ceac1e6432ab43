"""Write the example TCSPC decays used in the README (run from anywhere; seeded).

A temperature series of PL decays of a quantum-dot multilayer (6 temperatures,
``PL_010K.csv`` ... ``PL_300K.csv``) and the instrument response ``irf.csv``:
2000 bins of 0.1 ns covering one 200 ns laser period (5 MHz), a measured-like
IRF (0.3 ns core, diffusion tail, weak echo) recorded with 1e5 photons, three
exponentials whose slow components lengthen on cooling (as the average lifetime
of the coupled films in Fig. 6d of Enomoto et al. 2024), 2e5 photons per decay,
1 background count per bin, and the tails of earlier pulses included.  The
lifetimes are illustrative, not the paper's.
"""

from pathlib import Path

import numpy as np

from qdstack.synthetic.decay import (
    decay_expected_counts,
    measured_like_irf_shape,
    simulate_irf_counts,
)

HERE = Path(__file__).resolve().parent
PERIOD_NS = 200.0
N_BINS = 2000
#: temperature [K] -> lifetimes [ns] (amplitudes 0.45 / 0.35 / 0.20)
SERIES = {
    10: (1.2, 5.5, 22.0),
    50: (1.1, 5.0, 19.0),
    100: (1.0, 4.4, 15.5),
    150: (0.95, 3.9, 12.5),
    200: (0.9, 3.5, 10.5),
    300: (0.8, 3.0, 8.0),
}
AMPLITUDES = (0.45, 0.35, 0.20)


def _write(path: Path, t, counts, comment: str) -> None:
    with open(path, "w") as fh:
        fh.write(f"# {comment}\n")
        fh.write("Time (ns)\tCounts\n")
        fh.writelines(f"{a:.1f}\t{int(b)}\n" for a, b in zip(t, counts))


def main() -> None:
    rng = np.random.default_rng(6)
    t = np.arange(N_BINS) * (PERIOD_NS / N_BINS)
    irf = measured_like_irf_shape(fwhm_ns=0.3, t0_ns=3.0, tail_ns=0.15, echo_delay_ns=1.5)
    _write(
        HERE / "irf.csv",
        t,
        simulate_irf_counts(t, irf, 1e5, 1.0, seed=rng),
        "instrument response (scatterer), 1e5 photons, same bins as the decays",
    )
    for T, taus in SERIES.items():
        mu = decay_expected_counts(
            t, irf, AMPLITUDES, taus, signal_counts=2e5, background=1.0, period_ns=PERIOD_NS
        )
        _write(
            HERE / f"PL_{T:03d}K.csv",
            t,
            rng.poisson(mu),
            f"synthetic PL decay at {T} K: lifetimes {taus} ns, amplitudes {AMPLITUDES}, 5 MHz",
        )


if __name__ == "__main__":
    main()
