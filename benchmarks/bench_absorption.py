"""Benchmark: analyse a 100-spectrum absorption series (target: whole series < 5 s on 2 cores).

Times, in the same run:

* ours: read 100 files from disk and run ``analyse_absorption_series`` (second-derivative
  location at several scales + lmfit refinement + series fits);
* the same through the command line (``qdstack absorption ... --json`` in a fresh process,
  so Python start-up and imports are included);
* a straightforward baseline: ``numpy.loadtxt`` + one lmfit Gaussian + quadratic fit per file
  over a fixed 2.3-2.65 eV window started at the maximum, as one would write by hand.

It prints files per second for each, the ratio, and the accuracy of the shifts (RMS error
against the known truth), because a fast answer that is wrong is no answer.

Run: python benchmarks/bench_absorption.py [--files 100]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qdstack.analysis.absorption import analyse_absorption_series
from qdstack.io.spectrum import read_spectrum
from qdstack.synthetic import absorption_film_spectrum
from qdstack.units import HC_EV_NM

SHIFTS_MEV = [0.0, -18.0, -29.0, -35.0, -38.5, -42.0, -43.2, -44.0]


def make_series(folder: Path, n_files: int, seed: int = 0):
    seeds = np.random.SeedSequence(seed).spawn(n_files)
    files, layers, truth = [], [], []
    for i, ss in enumerate(seeds):
        n = i % 8 + 1
        peak = 2.473 + SHIFTS_MEV[n - 1] * 1e-3
        lam, a = absorption_film_spectrum(peak, 0.01 * n, noise_od=2e-4, seed=np.random.default_rng(ss))
        p = folder / f"film{i:03d}_N{n}.csv"
        p.write_text('"Wavelength nm.","Abs."\n' + "\n".join(f"{x:.1f},{y:.6f}" for x, y in zip(lam, a)) + "\n")
        files.append(p)
        layers.append(n)
        truth.append(SHIFTS_MEV[n - 1])
    return files, layers, np.array(truth)


def ours(files, layers):
    spectra = [read_spectrum(f) for f in files]
    series = analyse_absorption_series(spectra, layers)
    return np.array(series.shift_meV)


def baseline(files, layers):
    from lmfit.models import GaussianModel, QuadraticModel

    peaks = []
    for f in files:
        lam, a = np.loadtxt(f, delimiter=",", skiprows=1, unpack=True)
        e = HC_EV_NM / lam
        keep = (e > 2.3) & (e < 2.65)
        x, y = e[keep], a[keep]
        model = GaussianModel(prefix="g_") + QuadraticModel(prefix="b_")
        params = model.make_params(g_center=x[np.argmax(y)], g_sigma=0.04, g_amplitude=float(y.max()) * 0.1,
                                   b_a=0.0, b_b=0.0, b_c=float(y.min()))
        peaks.append(model.fit(y, params, x=x).params["g_center"].value)
    peaks = np.array(peaks)
    ref = peaks[np.array(layers) == 1].mean()
    return (peaks - ref) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files, layers, truth = make_series(Path(tmp), args.files)
        ours(files[:8], layers[:8])  # warm imports (lmfit, scipy) outside the timing
        t0 = time.perf_counter()
        s_ours = ours(files, layers)
        t_ours = time.perf_counter() - t0

        t0 = time.perf_counter()
        s_base = baseline(files, layers)
        t_base = time.perf_counter() - t0

        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "qdstack", "absorption", *map(str, files), "--json"],
            capture_output=True, text=True, check=True,
        ).stdout
        t_cli = time.perf_counter() - t0
        s_cli = np.array(json.loads(out)["shift_meV"])

    rms = lambda s: float(np.sqrt(np.mean((s - truth) ** 2)))  # noqa: E731
    n = len(files)
    print(f"absorption series of {n} spectra (601 points each)")
    print(f"  ours (library)      {t_ours:6.2f} s  {n / t_ours:7.1f} files/s  shift RMS error {rms(s_ours):5.2f} meV")
    print(f"  ours (CLI, fresh)   {t_cli:6.2f} s  {n / t_cli:7.1f} files/s  shift RMS error {rms(s_cli):5.2f} meV")
    print(f"  baseline (lmfit)    {t_base:6.2f} s  {n / t_base:7.1f} files/s  shift RMS error {rms(s_base):5.2f} meV")
    print(f"  ratio ours/baseline time: {t_ours / t_base:.2f} (target: whole series < 5 s: "
          f"{'met' if t_cli < 5 else 'NOT met'} with the CLI at {t_cli:.2f} s)")


if __name__ == "__main__":
    main()
