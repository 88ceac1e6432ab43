"""Benchmark: 3-exponential reconvolution fits of 2,000 TCSPC decays of 256 bins.

    python benchmarks/bench_decay.py [--n 2000] [--baseline-n 100] [--repeat 3] [--workers 2]

Both fitters get the same simulated decays (qdstack.synthetic.decay: a measured-like
IRF of 0.25 ns FWHM recorded with 1e5 photons, lifetimes 0.4 / 1.6 / 5 ns with
amplitudes 0.3 / 0.4 / 0.3, 1e5 signal photons, 2 background counts per bin, 64 ps
bins, so 16.4 ns per decay) and are timed in this run, on one core (BLAS threads are pinned to 1 before
numpy loads, as dask workers do):

* baseline: a plain lmfit ``Model`` of the IRF (Fourier-shifted) convolved by FFT
  with three bin-integrated exponentials (``a tau (1 - e^(-dt/tau)) e^(-t/tau)`` per
  bin) plus a background, 8 parameters, Neyman weights 1/sqrt(max(y, 1)), sensible
  starting values, one ``Model.fit`` per decay;
* qdstack: ``ReconvolutionFitter.fit_many`` - Poisson maximum likelihood, closed-form
  convolution of the exponentials with the IRF prepared once, exact Jacobians, all
  decays of a chunk (``--batch``, default 128) solved together as arrays: one
  vectorised Levenberg-Marquardt iteration over ln tau, shift, amplitudes and
  background of every decay, each decay with its own damping and convergence test
  (see ``qdstack.analysis.decay.batch``).

Printed: decays per second of each, their ratio, CPU milliseconds per decay (per
core), and the accuracy of both on the amplitude- and intensity-weighted lifetimes:
the median |error| and the bias (mean relative error, with its standard error) over
the decays.
``--repeat R`` (default 3) times both sides R times in alternation and prints every
ratio and their median and range (the machine may be shared: compare only numbers of
one run). ``--figure PATH`` writes the histograms of both sides' errors.
With ``--workers K`` the batch is also run through a local dask cluster of K
processes (wall-clock throughput).
``--bias-scan N`` only measures the bias of the amplitude-weighted lifetime of the batch
fit at 1e4, 1e5 and 1e6 photons: N seeded Poisson draws of the same decay each, fitted
with the noise-free IRF (so that the mean error is the estimator's, not one IRF
recording's), mean relative error and its standard error.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

AMPS = (0.3, 0.4, 0.3)
TAUS = (0.4, 1.6, 5.0)
BIN_NS = 0.064


def simulate(n: int, seed: int = 2024):
    from qdstack.synthetic.decay import measured_like_irf_shape, simulate_decay

    irf = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.2, tail_ns=0.1, echo_delay_ns=1.2)
    seeds = np.random.SeedSequence(seed).spawn(n)
    first = simulate_decay(
        AMPS,
        TAUS,
        signal_counts=1e5,
        background=2.0,
        n_bins=256,
        bin_width_ns=BIN_NS,
        irf=irf,
        seed=seeds[0],
        irf_counts=1e5,
    )
    Y = np.empty((n, 256))
    Y[0] = first.counts
    for i in range(1, n):
        Y[i] = simulate_decay(
            AMPS,
            TAUS,
            signal_counts=1e5,
            background=2.0,
            n_bins=256,
            bin_width_ns=BIN_NS,
            irf=irf,
            seed=seeds[i],
            irf_counts=None,
        ).counts
    return first.time_ns, Y, first.irf_counts, first


def baseline_fit(t, Y, irf_counts):
    """The straightforward approach: lmfit Model + FFT reconvolution, one fit per decay."""
    from lmfit import Model

    g = np.clip(irf_counts - np.median(irf_counts), 0, None)
    g = g / g.sum()
    n = t.size
    nfft = 2 * n
    G = np.fft.rfft(g, nfft)
    f = np.fft.rfftfreq(nfft, d=t[1] - t[0])
    tt = t - t[0]
    dt = float(t[1] - t[0])

    def binned(t, tau):
        """exp(-t/tau) integrated over the bin starting at t."""
        return tau * -np.expm1(-dt / tau) * np.exp(-t / tau)

    def model(t, a1, tau1, a2, tau2, a3, tau3, shift, bg):
        decay = a1 * binned(t, tau1) + a2 * binned(t, tau2) + a3 * binned(t, tau3)
        spec = np.fft.rfft(decay, nfft) * G * np.exp(-2j * np.pi * f * shift)
        return np.fft.irfft(spec, nfft)[:n] + bg

    m = Model(model)
    out = []
    for y in Y:
        a0 = float(y.max()) / (3 * dt)  # counts per ns: a third of the peak, per bin width
        p = m.make_params(
            a1=dict(value=a0, min=0),
            a2=dict(value=a0, min=0),
            a3=dict(value=a0, min=0),
            tau1=dict(value=0.3, min=0.005),
            tau2=dict(value=1.5, min=0.005),
            tau3=dict(value=6.0, min=0.005),
            shift=dict(value=0.0, min=-1.0, max=1.0),
            bg=dict(value=1.0, min=0),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = m.fit(y, p, t=tt, weights=1 / np.sqrt(np.maximum(y, 1)))
        a = np.array([r.params[f"a{k}"].value for k in (1, 2, 3)])
        tau = np.array([r.params[f"tau{k}"].value for k in (1, 2, 3)])
        out.append(
            (float(np.sum(a * tau) / np.sum(a)), float(np.sum(a * tau**2) / np.sum(a * tau)))
        )
    return np.array(out)


def summary(name, est, truth):
    rel = est / truth - 1
    err = np.abs(rel)
    n = rel.shape[0]
    bias = rel.mean(axis=0) * 100
    se = rel.std(axis=0, ddof=1) / np.sqrt(n) * 100
    return (
        f"{name:9s} median |error|: amplitude-weighted {np.median(err[:, 0]) * 100:.2f} %, "
        f"intensity-weighted {np.median(err[:, 1]) * 100:.2f} %; bias (mean error, {n} decays): "
        f"amplitude-weighted {bias[0]:+.2f} +- {se[0]:.2f} %, intensity-weighted {bias[1]:+.2f} +- {se[1]:.2f} %"
    )


def error_figure(ours, base, path) -> None:
    """Histograms of the relative errors of both average lifetimes, mean and median marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2), layout="constrained")
    for j, (ax, name) in enumerate(
        zip(fig.subplots(1, 2), ("amplitude-weighted", "intensity-weighted"))
    ):
        lim = np.percentile(np.abs(ours[:, j]), 99.5) * 100
        bins = np.linspace(-lim, lim, 61)
        ax.hist(
            ours[:, j] * 100,
            bins=bins,
            density=True,
            alpha=0.6,
            color="C0",
            label=f"qdstack fit_many ({len(ours)})",
        )
        ax.hist(
            base[:, j] * 100,
            bins=bins,
            density=True,
            histtype="step",
            lw=1.4,
            color="C1",
            label=f"lmfit + FFT ({len(base)})",
        )
        for v, ls, lab in (
            (ours[:, j].mean(), "-", "mean"),
            (np.median(ours[:, j]), "--", "median"),
        ):
            ax.axvline(v * 100, color="C0", ls=ls, lw=1.2, label=f"qdstack {lab} {v * 100:+.2f} %")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"{name} <tau>: relative error (%)")
        ax.legend(fontsize=7, loc="upper left")
    fig.axes[0].set_ylabel("density")
    fig.savefig(path, dpi=130)


def bias_scan(n: int, batch: int) -> None:
    """Bias of <tau>_a of fit_many at 1e4, 1e5 and 1e6 photons (noise-free IRF, n draws each)."""
    from qdstack.analysis.decay import ReconvolutionFitter
    from qdstack.synthetic.decay import (
        decay_expected_counts,
        irf_histogram,
        measured_like_irf_shape,
    )

    shape = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.2, tail_ns=0.1, echo_delay_ns=1.2)
    t = np.arange(256) * BIN_NS
    truth = np.dot(AMPS, TAUS) / np.sum(AMPS)
    fitter = ReconvolutionFitter(t, irf=irf_histogram(t, shape) * 1e5, components=3)
    print(f"bias of the amplitude-weighted <tau> (fit_many, noise-free IRF, {n} draws each)")
    for photons in (1e4, 1e5, 1e6):
        mu = decay_expected_counts(t, shape, AMPS, TAUS, signal_counts=photons, background=2.0)
        Y = np.random.default_rng(123).poisson(mu, size=(n, t.size)).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few-photon fits warn about weak components
            fits = fitter.fit_many(Y, batch_size=batch)
        rel = np.array([f.tau_amplitude_weighted_ns for f in fits]) / truth - 1
        print(
            f"{photons:8.0e} photons: bias {rel.mean() * 100:+.2f} +- "
            f"{rel.std(ddof=1) / np.sqrt(n) * 100:.2f} % (scatter {rel.std() * 100:.2f} %, "
            f"median {np.median(rel) * 100:+.2f} %, {sum(f.converged for f in fits)} converged)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="decays to fit with qdstack")
    ap.add_argument(
        "--baseline-n", type=int, default=100, help="decays to fit with the baseline (it is slow)"
    )
    ap.add_argument("--batch", type=int, default=128, help="decays solved together")
    ap.add_argument(
        "--repeat", type=int, default=3, help="time both sides this many times, alternating"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=0,
        help="also run through a local dask cluster of K processes",
    )
    ap.add_argument(
        "--figure", default=None, help="write a PNG of the error distributions of both sides here"
    )
    ap.add_argument(
        "--bias-scan",
        type=int,
        default=0,
        metavar="N",
        help="only measure the bias at 1e4, 1e5, 1e6 photons (N draws each, noise-free IRF)",
    )
    args = ap.parse_args()
    if args.bias_scan > 0:
        bias_scan(args.bias_scan, args.batch)
        return

    from qdstack.analysis.decay import ReconvolutionFitter

    t, Y, irf_counts, sd = simulate(args.n)
    truth = np.array([sd.tau_amplitude_weighted_ns, sd.tau_intensity_weighted_ns])
    print(
        f"{args.n} decays x {t.size} bins, 3 components, 1e5 photons each, measured IRF; one core"
    )

    fitter = ReconvolutionFitter(t, irf=irf_counts, components=3)
    fitter.fit_many(Y[:32], batch_size=args.batch)  # warm-up (imports, caches)
    nb = min(args.baseline_n, args.n)
    ratios = []
    for rep in range(max(1, args.repeat)):
        c0, w0 = time.process_time(), time.perf_counter()
        fits = fitter.fit_many(Y, batch_size=args.batch)
        cpu_ours, wall_ours = time.process_time() - c0, time.perf_counter() - w0
        c0, w0 = time.process_time(), time.perf_counter()
        base = baseline_fit(t, Y[:nb], irf_counts)
        cpu_base, wall_base = time.process_time() - c0, time.perf_counter() - w0
        rate_ours = args.n / cpu_ours
        rate_base = nb / cpu_base
        ratios.append(rate_ours / rate_base)
        conv = sum(f.converged for f in fits)
        nfev = np.mean([f.nfev for f in fits])
        if args.repeat > 1:
            print(f"run {rep + 1}:")
        print(
            f"baseline  lmfit Model + FFT, Neyman:   {rate_base:8.1f} decays/s  "
            f"({cpu_base / nb * 1e3:7.2f} ms CPU per decay, {nb} decays, wall {wall_base:.1f} s)"
        )
        print(
            f"qdstack   fit_many, Poisson ML:        {rate_ours:8.1f} decays/s  "
            f"({cpu_ours / args.n * 1e3:7.2f} ms CPU per decay, {args.n} decays, wall {wall_ours:.1f} s, "
            f"{conv} converged, {nfev:.2f} evaluations per decay)"
        )
        print(
            f"ratio (decays per CPU second, qdstack / baseline): {rate_ours / rate_base:.1f}x  "
            f"[target >= 30x: {'met' if rate_ours / rate_base >= 30 else 'not met'}]"
        )
    if len(ratios) > 1:
        print(
            f"ratio over {len(ratios)} runs: median {np.median(ratios):.1f}x, "
            f"range {min(ratios):.1f}x - {max(ratios):.1f}x"
        )
    ours = np.array([(f.tau_amplitude_weighted_ns, f.tau_intensity_weighted_ns) for f in fits])
    print(summary("qdstack", ours, truth))
    print(summary("baseline", base, truth))
    if args.figure:
        error_figure(ours / truth - 1, base / truth - 1, args.figure)
        print(f"wrote {args.figure}")

    if args.workers > 0:
        # the same chunks fit_decay_stack sends to dask workers; worker CPU time is read on each worker
        from qdstack._parallel import dask_client
        from qdstack.analysis.decay.series import _fit_chunk

        chunk = max(64, args.n // (4 * args.workers))
        kwargs = dict(irf=irf_counts, components=3)
        with dask_client(None, n_workers=args.workers, n_tasks=args.workers) as client:
            # imports (lmfit, the batch solver) before the clock
            client.run(lambda: [__import__(m) for m in ("lmfit", "qdstack.analysis.decay.batch")])
            cpu0 = client.run(time.process_time)
            w0 = time.perf_counter()
            futs = [
                client.submit(
                    _fit_chunk,
                    t,
                    Y[c : c + chunk],
                    kwargs,
                    [f"d{i}" for i in range(c, min(args.n, c + chunk))],
                    None,
                    args.batch,
                    pure=False,
                )
                for c in range(0, args.n, chunk)
            ]
            res = [f for part in client.gather(futs) for f in part]
            wall = time.perf_counter() - w0
            cpu1 = client.run(time.process_time)
        cpu = sum(cpu1[k] - cpu0[k] for k in cpu1)
        print(
            f"dask      {args.workers} local workers:            {args.n / wall:8.1f} decays/s wall "
            f"({cpu / args.n * 1e3:.2f} ms worker CPU per decay; {len(res)} fits; wall time depends on "
            "what else runs on the machine)"
        )


if __name__ == "__main__":
    main()
