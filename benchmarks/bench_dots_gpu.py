"""Benchmark: the 3D coupled-dot solver on the CPU vs the GPU (CuPy) backend, same machine, same run.

Cases (barrier 1 eV, mass 0.15 inside and out, 0.55 nm gaps along z):

* pair: two 6.8 nm cubes (the contract's case) at a 0.15 nm finest cell;
* column8: 8 identical cubes at 0.3 nm;
* column8-disordered: 8 cubes with edges drawn from N(6.8, 0.5) nm (seed 1) at 0.3 nm;
* block: a 2 x 2 x 4 block, edges from N(6.8, 0.5) nm (seed 1), 1 nm in-plane gaps, at 0.3
  and 0.2 nm (16 states, no mirror plane: one sector on the whole box).

Backends: ``cpu`` (AMG-preconditioned LOBPCG, block V-cycle, SciPy), ``cupy`` (the same
hierarchy as a block V-cycle on the GPU) and, for the pair, ``cupy-jacobi`` (the old GPU
path: LOBPCG with a diagonal preconditioner).  Each run is a subprocess with its own
time limit (a run that hits it is reported as "> limit"); the table gives wall time,
peak host memory, peak GPU memory, the finest grid's unknowns, E1 and its error estimate,
beta and the GPU/CPU agreement.

Run:  python benchmarks/bench_dots_gpu.py [--quick] [--out DIR] [--cpu-limit-s 150]
(``--quick`` doubles every cell size: a smoke test for a machine without a GPU.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CASES = {
    "pair": dict(kind="column", count=2, states=2, grid_nm=0.15),
    "column8": dict(kind="column", count=8, states=8, grid_nm=0.3),
    "column8-disordered": dict(kind="disordered", shape=(1, 1, 8), states=8, grid_nm=0.3),
    "block-0.3": dict(kind="disordered", shape=(2, 2, 4), states=16, grid_nm=0.3),
    "block-0.2": dict(kind="disordered", shape=(2, 2, 4), states=16, grid_nm=0.2),
}


def build(case: dict):
    from qdstack.physics.coupled_dots import DotSystem

    if case["kind"] == "column":
        return DotSystem.column(case["count"], 6.8, 0.55, 1.0, 0.15)
    return DotSystem.disordered(case["shape"], 6.8, 0.5, (1.0, 1.0, 0.55), 1.0, 0.15, seed=1)


def worker(name: str, backend: str, scale: float) -> dict:
    import functools
    import resource

    from qdstack.physics import _eigen
    from qdstack.physics.coupled_dots import SolverSettings, solve_dots

    case = CASES[name]
    gpu_peak = None
    if backend.startswith("cupy"):
        import cupy as cp

        if backend == "cupy-jacobi":
            _eigen.lowest_lobpcg_cupy = functools.partial(
                _eigen.lowest_lobpcg_cupy, preconditioner="jacobi"
            )
        pool = cp.get_default_memory_pool()
    settings = SolverSettings(
        grid_nm=case["grid_nm"] * scale,
        backend="cupy" if backend.startswith("cupy") else "cpu",
        max_unknowns=20_000_000,
    )
    t = time.perf_counter()
    r = solve_dots(build(case), case["states"], settings)
    wall = time.perf_counter() - t
    if backend.startswith("cupy"):
        gpu_peak = pool.total_bytes() / 2**20
    return {
        "wall_s": wall,
        "energies_meV": list(r.energies_meV),
        "converged_meV": r.converged_meV,
        "coupling_meV": r.coupling_meV,
        "unknowns": max(lv.unknowns for lv in r.levels),
        "grid_nm": r.grid_nm,
        "iterations": [lv.iterations for lv in r.levels],
        "level_s": [lv.time_s for lv in r.levels],
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "gpu_pool_mb": gpu_peak,
        "backend": r.backend,
    }


def run(name: str, backend: str, scale: float, limit: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, backend, str(scale)]
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": f"> {limit:.0f} s", "wall_s": None}
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or ["?"]
        return {"status": f"failed: {tail[0][:120]}", "wall_s": time.perf_counter() - t}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["status"] = "ok"
    return out


def _cell(r: dict) -> str:
    if not r:
        return "-"
    return f"{r['wall_s']:.1f}" if r.get("status") == "ok" else r.get("status", "-")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="double every cell size (smoke test)")
    ap.add_argument("--out", default=None, help="folder for bench_dots_gpu.json / .md")
    ap.add_argument("--cpu-limit-s", type=float, default=150.0, help="time limit of a CPU run")
    ap.add_argument("--gpu-limit-s", type=float, default=150.0, help="time limit of a GPU run")
    ap.add_argument("--cases", default=",".join(CASES), help="comma list of cases")
    ap.add_argument("--gpu-only", default="", help="comma list of cases run on the GPU only")
    args = ap.parse_args()
    if args.worker:
        name, backend, scale = args.worker
        print(json.dumps(worker(name, backend, float(scale))))
        return

    from qdstack.physics import _eigen

    gpu = _eigen.cupy_available()
    scale = 2.0 if args.quick else 1.0
    header = f"machine: {os.cpu_count()} cores, GPU: "
    if gpu:
        import cupy as cp

        header += cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    else:
        header += "none (GPU runs skipped)"
    print(header, flush=True)
    rows = []
    for name in args.cases.split(","):
        backends = ["cupy", "cpu"] if gpu else ["cpu"]
        if gpu and name in args.gpu_only.split(","):
            backends = ["cupy"]
        if gpu and name == "pair":
            backends.append("cupy-jacobi")
        res = {}
        for b in backends:
            limit = args.gpu_limit_s if b.startswith("cupy") else args.cpu_limit_s
            res[b] = run(name, b, scale, limit)
            r = res[b]
            print(
                f"  {name:20s} {b:12s} {r['status']:>10s} "
                + (
                    f"{r['wall_s']:7.1f} s  N={r['unknowns']:,}  E1={r['energies_meV'][0]:.4f} "
                    f"(+-{r['converged_meV']:.4f}) meV  beta={r['coupling_meV']:.4f} meV  "
                    f"iters={r['iterations']}  RSS={r['rss_mb']:.0f} MB"
                    + (f"  GPU pool={r['gpu_pool_mb']:.0f} MB" if r.get("gpu_pool_mb") else "")
                    if r["status"] == "ok"
                    else ""
                ),
                flush=True,
            )
        rows.append((name, res))

    lines = [
        header,
        "",
        "| case | finest cell [nm] | unknowns | CPU [s] | GPU AMG [s] | CPU/GPU | max dE GPU-CPU [meV] "
        "| E1 [meV] (estimate) | beta [meV] |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in rows:
        c, g = res.get("cpu", {}), res.get("cupy", {})
        ok_c, ok_g = c.get("status") == "ok", g.get("status") == "ok"
        ref = c if ok_c else g
        if not (ok_c or ok_g):
            lines.append(
                f"| {name} | | | {c.get('status', '-')} | {g.get('status', '-')} | | | | |"
            )
            continue
        ratio = (
            f"{c['wall_s'] / g['wall_s']:.2f}x"
            if ok_c and ok_g
            else (
                f"> {float(c['status'].split()[1]) / g['wall_s']:.1f}x"
                if ok_g and c.get("status", "").startswith(">")
                else "-"
            )
        )
        de = (
            f"{max(abs(a - b) for a, b in zip(c['energies_meV'], g['energies_meV'])):.1e}"
            if ok_c and ok_g
            else "-"
        )
        lines.append(
            f"| {name} | {ref['grid_nm']:.3f} | {ref['unknowns']:,} | "
            f"{_cell(c)} | {_cell(g)} | {ratio} | {de} | "
            f"{ref['energies_meV'][0]:.4f} ({ref['converged_meV']:.4f}) | "
            f"{ref['coupling_meV']:.4f} |"
        )
        j = res.get("cupy-jacobi")
        if j is not None:
            lines.append(f"| {name}, old GPU path (Jacobi) | | | | {_cell(j)} | | | | |")
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "bench_dots_gpu.md"), "w") as fh:
            fh.write(table + "\n")
        with open(os.path.join(args.out, "bench_dots_gpu.json"), "w") as fh:
            json.dump({n: r for n, r in rows}, fh, indent=1)


if __name__ == "__main__":
    main()
