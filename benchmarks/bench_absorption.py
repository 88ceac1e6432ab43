"""Benchmark: a 100-spectrum absorption series, ours vs the previous path vs a plain lmfit loop.

Times, in the same run, in interleaved rounds (the order rotates each round), in wall and CPU
time of this process:

* ours: read 100 files and run ``analyse_absorption_series(workers=1)`` (second-derivative location at
  several scales with the cached Savitzky-Golay operator, a stepping-stone lmfit fit and the
  warm-started re-centred lmfit Model fit, series fits);
* the previous path: the same two modules (``analysis/peaks.py`` and ``analysis/absorption.py``)
  as they were before issue 17, loaded from git (``--previous REV``, default the commit this work
  started from), on the same spectra: scipy.signal filters, a fresh lmfit Model per fit with
  the FWHM/height expressions evaluated at every step, both fits cold-started;
* a straightforward baseline: ``numpy.loadtxt`` + one lmfit Gaussian + quadratic fit per file
  over a fixed 2.3-2.65 eV window started at the maximum, as one would write by hand;

then the command line in fresh processes (``qdstack absorption ... --json`` and ``--out``, and
a process that only does the imports), so Python start-up and imports are included (issue 17
target: < 1.5 s wall on 2 cores); the median of ``--cli-runs`` runs of each.  It prints
the ratios, the RMS error of the shifts against the known truth, and how far ours and the
previous path are apart (in units of each peak's standard error).

Last, the command line before and after, interleaved (``--cli-before REV``, default ``main``:
that revision's ``src`` from ``git archive``, run on the same files): this tree with its
default (worker processes: ``--workers`` auto), this tree with ``--workers 1`` and the
revision, ``--cli-runs`` fresh processes each, the order rotating; wall time, the CPU of
the command's own process (what a quiet machine's wall time cannot go below) and of its
process with its workers, and the load average before each round.  ``--cli-only`` runs only
this part.

Then the CPU seconds of each stage of this tree's command line (``--stages`` runs only
that part): on a shared machine wall time is noisy, CPU time is not, and on an idle
machine the wall time is about the stages' serial path (see :func:`cli_stages`).

Run: python benchmarks/bench_absorption.py [--files 100] [--rounds 3] [--cli-runs 5]
     [--previous REV] [--cli-before REV] [--cli-only] [--stages]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

from qdstack.analysis.absorption import analyse_absorption_series
from qdstack.io.spectrum import read_spectrum
from qdstack.synthetic import absorption_film_spectrum
from qdstack.units import HC_EV_NM

PREVIOUS_REV = "1411ba4"  # the branch point of issue 17's absorption work

SHIFTS_MEV = [0.0, -18.0, -29.0, -35.0, -38.5, -42.0, -43.2, -44.0]


def make_series(folder: Path, n_files: int, seed: int = 0):
    seeds = np.random.SeedSequence(seed).spawn(n_files)
    files, layers, truth = [], [], []
    for i, ss in enumerate(seeds):
        n = i % 8 + 1
        peak = 2.473 + SHIFTS_MEV[n - 1] * 1e-3
        lam, a = absorption_film_spectrum(
            peak, 0.01 * n, noise_od=2e-4, seed=np.random.default_rng(ss)
        )
        p = folder / f"film{i:03d}_N{n}.csv"
        p.write_text(
            '"Wavelength nm.","Abs."\n'
            + "\n".join(f"{x:.1f},{y:.6f}" for x, y in zip(lam, a))
            + "\n"
        )
        files.append(p)
        layers.append(n)
        truth.append(SHIFTS_MEV[n - 1])
    return files, layers, np.array(truth)


def _ours_one_process(spectra, layers):
    # one process: the in-process rounds compare CPU time of this process (the worker
    # processes of the default are timed on the command line, below)
    return analyse_absorption_series(spectra, layers, workers=1)


def ours(files, layers, analyse=_ours_one_process):
    spectra = [read_spectrum(f) for f in files]
    series = analyse(spectra, layers)
    return (
        np.array(series.shift_meV),
        np.array([f.peak.peak_eV for f in series.films]),
        np.array([f.peak.peak_eV_err for f in series.films]),
    )


def load_previous(rev: str):
    """``analyse_absorption_series`` of the package at git revision ``rev`` (None if unavailable)."""
    root = Path(__file__).resolve().parents[1]
    try:

        def show(path):
            return subprocess.run(
                ["git", "show", f"{rev}:{path}"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout

        src_peaks = show("src/qdstack/analysis/peaks.py")
        src_abs = show("src/qdstack/analysis/absorption.py")
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"(previous path unavailable: {exc})")
        return None
    mods = {}
    for name, src in (
        ("_qdstack_prev_peaks", src_peaks),
        (
            "_qdstack_prev_absorption",
            src_abs.replace(
                "from qdstack.analysis.peaks import", "from _qdstack_prev_peaks import"
            ),
        ),
    ):
        mod = types.ModuleType(name)
        sys.modules[name] = mod  # dataclasses look their module up while the class is built
        exec(compile(src, f"{rev}:{name}", "exec"), mod.__dict__)
        mods[name] = mod
    return mods["_qdstack_prev_absorption"].analyse_absorption_series


def baseline(files, layers):
    from lmfit.models import GaussianModel, QuadraticModel

    peaks = []
    for f in files:
        lam, a = np.loadtxt(f, delimiter=",", skiprows=1, unpack=True)
        e = HC_EV_NM / lam
        keep = (e > 2.3) & (e < 2.65)
        x, y = e[keep], a[keep]
        model = GaussianModel(prefix="g_") + QuadraticModel(prefix="b_")
        params = model.make_params(
            g_center=x[np.argmax(y)],
            g_sigma=0.04,
            g_amplitude=float(y.max()) * 0.1,
            b_a=0.0,
            b_b=0.0,
            b_c=float(y.min()),
        )
        peaks.append(model.fit(y, params, x=x).params["g_center"].value)
    peaks = np.array(peaks)
    ref = peaks[np.array(layers) == 1].mean()
    return (peaks - ref) * 1e3


def timed(fn, *args):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def cli(args, command=None):
    """Wall and CPU (user + sys of the child) seconds of one fresh ``qdstack absorption`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        command or [sys.executable, "-m", "qdstack", "absorption", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return out, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


#: runs the command line in this process as the ``qdstack`` script does (``main()`` reads
#: ``sys.argv``) and prints its own CPU seconds and its children's (the forked workers,
#: waited for) on stderr
_CLI_WRAPPER = (
    "import resource, sys\n"
    "from qdstack.cli.main import main\n"
    "code = main()\n"
    "s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stderr.write(f'\\nCPU {s.ru_utime + s.ru_stime} {c.ru_utime + c.ru_stime}\\n')\n"
    "sys.exit(code)\n"
)


#: runs the command line like _CLI_WRAPPER and prints the CPU seconds of its stages on
#: stderr: this process until the first fork, this process and the forked reader while
#: it imports lmfit, this process and the forked fitter during the fits, and the rest
_STAGES_WRAPPER = (
    "import resource, sys, time\n"
    "def own():\n"
    "    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime\n"
    "def kids():\n"
    "    r = resource.getrusage(resource.RUSAGE_CHILDREN); return r.ru_utime + r.ru_stime\n"
    "t0 = time.perf_counter()\n"
    "import qdstack._parallel as P\n"
    "marks = []\n"
    "def mark():\n"
    "    marks.append((own(), kids(), time.perf_counter() - t0))\n"
    "call, fmap = P.fork_call, P.fork_map\n"
    "def fork_call(*a, **k):\n"
    "    mark(); return call(*a, **k)\n"
    "def fork_map(*a, **k):\n"
    "    mark(); out = fmap(*a, **k); mark(); return out\n"
    "P.fork_call, P.fork_map = fork_call, fork_map\n"
    "from qdstack.cli.main import main\n"
    "code = main()\n"
    "mark()\n"
    "sys.stderr.write('\\nSTAGES ' + repr(marks) + '\\n')\n"
    "sys.exit(code)\n"
)


def cli_stages(files, runs: int):
    """CPU seconds of each stage of ``qdstack absorption`` (this tree), median of ``runs``.

    Four stages: S, this process alone until it forks the reader; A, this process importing
    lmfit and SciPy while the forked child reads and locates every peak; B, the fits, in this
    process and a forked child (items handed out one at a time); T, the series fits and the
    output.  On an otherwise idle machine the wall time is about S + max(A) + max(B) + T (plus
    Python's start, ~0.02 s); CPU time does not depend on what else runs on the machine.
    """
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    rows = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-c", _STAGES_WRAPPER, "absorption", *map(str, files), "--json"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        wall = time.perf_counter() - t0
        (o1, k1, _), (o2, k2, _), (o3, k3, _), (o4, _, _) = eval(  # noqa: S307 (our own repr)
            run.stderr.rsplit("STAGES ", 1)[1]
        )
        # reader: the children's CPU once the reader is joined (before the fits' fork)
        rows.append((o1, o2 - o1, k2 - k1, o3 - o2, k3 - k2, o4 - o3, wall))
    med = [statistics.median(r[i] for r in rows) for i in range(7)]
    s, a_own, a_child, b_own, b_child, t, wall = med
    expected = s + max(a_own, a_child) + max(b_own, b_child) + t
    print(
        f"\nstages of qdstack absorption (this tree, {len(files)} files, CPU seconds, median of {runs}):\n"
        f"  S  start-up, CLI, typer, numpy (one process)          {s:5.2f} s\n"
        f"  A  import lmfit/SciPy  |  forked reader: read+locate  {a_own:5.2f} s  |  {a_child:5.2f} s\n"
        f"  B  fits here           |  forked fitter               {b_own:5.2f} s  |  {b_child:5.2f} s\n"
        f"  T  series fits, output                                {t:5.2f} s\n"
        f"  expected wall on an idle machine S + max(A) + max(B) + T = {expected:.2f} s "
        f"(+ Python start); measured wall, median {wall:.2f} s"
    )


def cli_side(src: Path, args):
    """(wall, own CPU, CPU with workers) of one fresh ``qdstack absorption`` from ``src``."""
    env = dict(os.environ, PYTHONPATH=str(src))
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", _CLI_WRAPPER, "absorption", *args],  # sys.argv[1:] = absorption ...
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - t0
    own, children = map(float, run.stderr.rsplit("CPU ", 1)[1].split())
    return run.stdout, wall, own, own + children


def cli_before_after(files, rev: str, runs: int):
    """The command line of this tree (auto workers, one worker) against revision ``rev``."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            archive = subprocess.run(
                ["git", "archive", rev, "src"], cwd=root, capture_output=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"(revision {rev} unavailable: {exc})")
            return
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        args = [*map(str, files), "--json"]
        sides = {
            "now (auto workers)": (root / "src", args),
            "now, --workers 1": (root / "src", [*args, "--workers", "1"]),
            f"before ({rev})": (Path(tmp) / "src", args),
        }
        names = list(sides)
        got = {k: [] for k in names}
        outs = {}
        loads = []
        for rnd in range(runs):
            loads.append(os.getloadavg()[0])
            for k in names[rnd % 3 :] + names[: rnd % 3]:
                out, *times = cli_side(*sides[k])
                got[k].append(times)
                outs[k] = json.loads(out)
    print(
        f"\ncommand line before/after: {len(files)} files, {runs} fresh processes each, interleaved; "
        f"load average before each round: {', '.join(f'{x:.1f}' for x in loads)}"
    )
    med = {}
    for k in names:
        w, own, total = (statistics.median(t[i] for t in got[k]) for i in range(3))
        med[k] = (w, own, total)
        print(
            f"  {k:24s} wall {w:5.2f} s (fastest {min(t[0] for t in got[k]):.2f})   "
            f"CPU own {own:5.2f} s, with workers {total:5.2f} s"
        )
    before = med[names[2]]
    for k in names[:2]:
        print(
            f"  ratio before / {k}: {before[0] / med[k][0]:.2f}x wall, "
            f"{before[1] / med[k][1]:.2f}x own CPU, {before[2] / med[k][2]:.2f}x CPU with workers"
        )
    same = all(outs[k] == outs[names[2]] for k in names[:2])
    print(f"  outputs (--json) identical to {rev}'s: {same}")
    w = med[names[0]][0]
    print(
        f"  target (issue 17): CLI < 1.5 s wall on 2 cores: {'met' if w < 1.5 else 'NOT met'} "
        f"({w:.2f} s wall median, own CPU {med[names[0]][1]:.2f} s)"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--previous", default=PREVIOUS_REV, help="git revision of the previous path")
    ap.add_argument("--cli-runs", type=int, default=5, help="fresh CLI processes per variant")
    ap.add_argument("--cli-before", default="main", help="git revision of the CLI before")
    ap.add_argument("--cli-only", action="store_true", help="only the CLI before/after part")
    ap.add_argument("--stages", action="store_true", help="only the CPU of the CLI's stages")
    args = ap.parse_args()
    if args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            files, _, _ = make_series(Path(tmp), args.files)
            cli_stages(files, args.cli_runs)
        return
    if args.cli_only:
        print(
            f"qdstack bench_absorption: {platform.machine()}, {os.cpu_count()} CPUs visible "
            f"({len(os.sched_getaffinity(0))} usable); python {platform.python_version()}, "
            f"numpy {np.__version__}"
        )
        with tempfile.TemporaryDirectory() as tmp:
            files, _, _ = make_series(Path(tmp), args.files)
            cli_before_after(files, args.cli_before, args.cli_runs)
            cli_stages(files, args.cli_runs)
        return
    previous = load_previous(args.previous)
    print(
        f"qdstack bench_absorption: {platform.machine()}, {os.cpu_count()} CPUs visible, load average "
        f"{os.getloadavg()[0]:.1f}; python {platform.python_version()}, numpy {np.__version__}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files, layers, truth = make_series(Path(tmp), args.files)
        ours(files[:8], layers[:8])  # warm imports (lmfit, scipy) outside the timing
        if previous is not None:
            ours(files[:8], layers[:8], previous)
        baseline(files[:8], layers[:8])
        sides = {
            "ours": lambda: ours(files, layers),
            "baseline (plain lmfit loop)": lambda: baseline(files, layers),
        }
        if previous is not None:
            sides["previous path"] = lambda: ours(files, layers, previous)
        times = {k: [] for k in sides}
        results = {}
        names = list(sides)
        for rnd in range(args.rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for k in order:
                out, wall, cpu = timed(sides[k])
                times[k].append((wall, cpu))
                results[k] = out
        n = len(files)
        # fresh processes, interleaved: --json, --out (figures), and the imports alone
        imports = [
            sys.executable,
            "-c",
            "import qdstack.cli.main, qdstack.analysis.absorption, qdstack.io.spectrum, lmfit",
        ]
        cli_json, cli_out, cli_imports = [], [], []
        out_dir = Path(tmp) / "out"
        for i in range(args.cli_runs):
            cli_json.append(cli([*map(str, files), "--json"]))
            cli_out.append(cli([*map(str, files), "--out", str(out_dir / str(i))]))
            cli_imports.append(cli([], command=imports))

    rms = lambda s: float(np.sqrt(np.mean((s - truth) ** 2)))  # noqa: E731
    print(
        f"absorption series of {n} spectra (601 points each), {args.rounds} interleaved rounds "
        "(median wall / median CPU of this process):"
    )
    med = {
        k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
        for k, v in times.items()
    }
    for k, (w, c) in med.items():
        shifts = results[k][0] if isinstance(results[k], tuple) else results[k]
        print(
            f"  {k:28s} {w:6.2f} s wall  {c:6.2f} s CPU  {n / c:6.1f} files/CPU-s   "
            f"shift RMS error {rms(shifts):5.2f} meV"
        )
    w_o, c_o = med["ours"]
    for k in med:
        if k != "ours":
            print(f"  ratio {k} / ours: {med[k][0] / w_o:.2f}x wall, {med[k][1] / c_o:.2f}x CPU")
    if previous is not None:
        _, p_o, e_o = results["ours"]
        _, p_p, _ = results["previous path"]
        print(
            f"  ours vs previous path: max |peak difference| = {np.max(np.abs(p_o - p_p) / e_o):.1e} "
            "of the peak's standard error"
        )
    s_cli = np.array(json.loads(cli_json[-1][0])["shift_meV"])

    def med(runs):
        return statistics.median(w for _, w, _ in runs), statistics.median(c for _, _, c in runs)

    (w_j, c_j), (w_f, c_f), (w_i, c_i) = med(cli_json), med(cli_out), med(cli_imports)
    k = args.cli_runs
    print(
        f"  CLI --json (fresh process, median of {k}): {w_j:.2f} s wall, {c_j:.2f} s CPU "
        f"(fastest {min(w for _, w, _ in cli_json):.2f} s wall); shift RMS error {rms(s_cli):.2f} meV"
    )
    print(f"  CLI --out (3 figures, median of {k}):     {w_f:.2f} s wall, {c_f:.2f} s CPU")
    print(
        f"  imports alone (python, qdstack CLI, numpy, lmfit with scipy.optimize/stats, matplotlib; "
        f"median of {k}): {w_i:.2f} s wall, {c_i:.2f} s CPU = {100 * c_i / c_j:.0f} % of the CLI's CPU"
    )
    print(
        f"  target (issue 17): CLI < 1.5 s wall on 2 cores: {'met' if w_j < 1.5 else 'NOT met'} "
        f"({w_j:.2f} s wall, {c_j:.2f} s CPU)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        files, _, _ = make_series(Path(tmp), args.files)
        cli_before_after(files, args.cli_before, args.cli_runs)
        cli_stages(files, args.cli_runs)


if __name__ == "__main__":
    main()
