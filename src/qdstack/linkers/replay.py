"""Run the expensive B3LYP optimisations of the table on another machine, then replay them here.

The table's B3LYP entries take minutes to an hour each on a loaded 2-core
machine.  This splits :func:`qdstack.linkers.compute_linker_level` in two
without changing what it computes:

1. ``python -m qdstack.linkers.replay starts --linkers C3DT,C10DT --out starts.json``
   (here, needs RDKit): the MMFF94 search and the exact start geometries that
   :func:`qdstack.linkers._qm.reoptimise` will optimise (the extended all-anti
   structure and the lowest minima), deterministic for the fixed seed.
2. ``python -m qdstack.linkers.replay optimise starts.json --out optimised.json --jobs 8 --threads 2``
   (anywhere with PySCF and geomeTRIC, no RDKit): each start through the same
   :func:`qdstack.linkers._qm._b3lyp_optimise`, several in parallel, each with
   ``--threads`` OpenMP threads, with its wall time.
3. ``python -m qdstack.linkers.regenerate --methods b3lyp --replay optimised.json``
   (here): the normal pipeline, whose B3LYP optimiser returns the stored result
   when its start geometry matches one in the file (every coordinate within
   1e-3 A) and computes otherwise.  The entry's ``wall_s`` is the local search
   time plus the stored optimisation times, and ``settings`` records where and
   with how many threads they ran.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["load_replay", "starts_for", "main"]


def starts_for(name: str, n_lowest: int | None = None) -> list[dict]:
    """The B3LYP start geometries of a built-in linker, as :func:`~qdstack.linkers._qm.reoptimise` makes them."""
    from ._conformers import search_conformers
    from ._molecule import prepare_linker
    from ._qm import SELECTION, _charge, _select, extended_start
    from .library import find_definition

    d = find_definition(name)
    prep = prepare_linker(d.smiles, source=name)
    search = search_conformers(prep.mol, prep.anchors, source=name, allow_uff=True)
    symbols = [a.GetSymbol() for a in search.mol.GetAtoms()]
    charge = _charge(search.mol)
    chosen = ["extended"] + _select(search, SELECTION["b3lyp"] if n_lowest is None else n_lowest)
    out = []
    for idx in chosen:
        coords = extended_start(search) if idx == "extended" else search.minima[idx].coords_A
        out.append(
            {
                "linker": name,
                "start": str(idx),
                "symbols": symbols,
                "charge": charge,
                "coords_A": np.asarray(coords, dtype=float).round(8).tolist(),
            }
        )
    return out


def _optimise_one(job: dict, threads: int) -> dict:
    from pyscf import lib

    lib.num_threads(threads)
    from ._qm import _b3lyp_optimise

    t0 = time.perf_counter()
    try:
        energy, coords, converged = _b3lyp_optimise(
            job["symbols"], np.array(job["coords_A"]), job["charge"], None
        )
        error = None
    except RuntimeError as exc:  # an SCF that does not converge: the pipeline skips it too
        energy, coords, converged, error = None, None, False, str(exc)
    return {
        **job,
        "energy_Eh": energy,
        "final_coords_A": None if coords is None else np.asarray(coords).tolist(),
        "converged": bool(converged),
        "error": error,
        "wall_s": round(time.perf_counter() - t0, 3),
        "threads": threads,
    }


_REPLAY: list[dict] = []
_REPLAY_INFO: dict = {}


def load_replay(*paths: str | Path) -> None:
    """Make :func:`lookup` serve the optimisations stored in ``paths`` (written by ``optimise``).

    Each record keeps the machine and thread count of the file it came from.
    """
    _REPLAY.clear()
    _REPLAY_INFO.clear()
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        info = {k: v for k, v in data.items() if k != "results"}
        for r in data["results"]:
            if r.get("energy_Eh") is None and not r.get("error"):
                continue
            r.setdefault("machine", info.get("machine"))
            r.setdefault("threads", info.get("threads_per_optimisation"))
            _REPLAY.append(r)
        _REPLAY_INFO.update(info)


def lookup(symbols, coords_A, charge) -> dict | None:
    """The stored optimisation that started from these coordinates (within 1e-3 A), else None."""
    x = np.asarray(coords_A, dtype=float)
    for r in _REPLAY:
        if r["symbols"] != list(symbols) or r["charge"] != charge:
            continue
        y = np.asarray(r["coords_A"], dtype=float)
        if y.shape == x.shape and float(np.max(np.abs(y - x))) < 1e-3:
            return r
    return None


def replay_info() -> dict:
    return dict(_REPLAY_INFO)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qdstack.linkers.replay", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("starts", help="write the B3LYP start geometries (needs RDKit)")
    p1.add_argument("--linkers", required=True)
    p1.add_argument("--reoptimise-lowest", type=int, default=None)
    p1.add_argument("--out", type=Path, required=True)
    p2 = sub.add_parser("optimise", help="optimise the starts (needs PySCF + geomeTRIC)")
    p2.add_argument("starts", type=Path)
    p2.add_argument("--out", type=Path, required=True)
    p2.add_argument("--jobs", type=int, default=1)
    p2.add_argument("--threads", type=int, default=2)
    p2.add_argument("--machine", default="")
    args = parser.parse_args(argv)
    if args.cmd == "starts":
        jobs = []
        for name in args.linkers.split(","):
            jobs.extend(starts_for(name.strip(), args.reoptimise_lowest))
        args.out.write_text(json.dumps({"jobs": jobs}, indent=0) + "\n", encoding="utf-8")
        print(f"wrote {len(jobs)} start geometries to {args.out}", file=sys.stderr)
        return 0
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing as mp

    jobs = json.loads(args.starts.read_text(encoding="utf-8"))["jobs"]
    jobs.sort(key=lambda j: -len(j["symbols"]))  # largest first
    results = []
    t0 = time.perf_counter()

    def save():
        from pyscf import __version__ as pv
        import geometric

        args.out.write_text(
            json.dumps(
                {
                    "machine": args.machine,
                    "threads_per_optimisation": args.threads,
                    "parallel_jobs": args.jobs,
                    "software": f"PySCF {pv} + geomeTRIC {geometric.__version__}",
                    "results": results,
                }
            )
            + "\n",
            encoding="utf-8",
        )

    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("spawn")) as pool:
        futs = [pool.submit(_optimise_one, j, args.threads) for j in jobs]
        for f in as_completed(futs):
            r = f.result()
            results.append(r)
            a = [i for i, s in enumerate(r["symbols"]) if s == "S"]
            d = (
                np.linalg.norm(np.subtract(r["final_coords_A"][a[0]], r["final_coords_A"][a[-1]]))
                / 10
                if r["final_coords_A"] is not None and len(a) >= 2
                else float("nan")
            )
            print(
                f"{r['linker']:6s} {r['start']:9s} S-S {d:.5f} nm  E {r['energy_Eh']}  conv {r['converged']}  "
                f"{r['wall_s']:.0f} s  (t = {time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
            save()
    save()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
