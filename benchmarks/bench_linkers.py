"""Benchmark: linker geometries, time per linker per level.

Target: all eight built-in linkers at the mmff level in under 10 s.

Times, in the same run:

* lookup: ``get_linker(name)`` of the eight built-ins from the shipped table (what the film
  model and the structure analysis call), in a fresh process so the import is included;
* ours at ``mmff``: the full conformer search of each built-in recomputed from SMILES
  (ETKDG + MMFF94, all-anti family, near-anti variants, de-duplication), no cache;
* a straightforward baseline: ETKDG with the same number of random conformers, one MMFF94
  optimisation call, and the longest S-S distance found taken as the "extended" conformer,
  as one would write by hand;
* ``gfn2`` / ``b3lyp`` (``--levels``, when the extras are installed): the all-anti conformer
  re-optimised at that level (``reoptimise_lowest=0``), per linker.

It prints seconds per linker, the ratio ours/baseline, and the accuracy of both against the
all-anti distance, because the baseline's "longest conformer" misses the all-anti chain of
long linkers (random ETKDG sampling of a C10 chain rarely lands on it).  It also prints the
wall times recorded in the shipped table for the levels computed at regeneration.

Run: python benchmarks/bench_linkers.py [--levels mmff,gfn2] [--linkers C3DT,C10DT]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from qdstack.linkers import builtin_linkers, compute_linker_level
from qdstack.linkers._qm import b3lyp_available, gfn2_available


def baseline_mmff(smiles: str, n_conformers: int, seed: int = 0x5D5D) -> float:
    """Longest S-S distance [nm] over ETKDG conformers optimised once with MMFF94."""
    from rdkit import Chem
    from rdkit.Chem import rdDistGeom, rdForceFieldHelpers

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = rdDistGeom.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 0
    cids = list(rdDistGeom.EmbedMultipleConfs(mol, n_conformers, params))
    rdForceFieldHelpers.MMFFOptimizeMoleculeConfs(mol, numThreads=0, maxIters=2000)
    s = [a.GetIdx() for a in mol.GetAtoms() if a.GetSymbol() == "S"]
    return max(
        float(
            np.linalg.norm(
                mol.GetConformer(c).GetPositions()[s[0]] - mol.GetConformer(c).GetPositions()[s[1]]
            )
        )
        / 10
        for c in cids
    )


def lookup_in_fresh_process(names) -> float:
    code = (
        "import time; t = time.perf_counter()\n"
        "from qdstack.linkers import get_linker\n"
        f"[get_linker(n) for n in {list(names)!r}]\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="mmff", help="comma list of mmff, gfn2, b3lyp")
    ap.add_argument("--linkers", default=None, help="comma list of built-in names (default all)")
    args = ap.parse_args(argv)
    levels = [x.strip() for x in args.levels.split(",") if x.strip()]
    entries = builtin_linkers()
    if args.linkers:
        wanted = {x.strip() for x in args.linkers.split(",")}
        entries = [b for b in entries if b.name in wanted]
    names = [b.name for b in entries]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs, load average {load:.1f} (timings scale with a busy machine)")
    t_lookup = lookup_in_fresh_process(names)
    print(
        f"table lookup of {len(names)} built-ins (fresh process, import included): {t_lookup:.3f} s"
    )

    if "mmff" in levels:
        print("\nmmff level, recomputed from SMILES (no cache)")
        print(
            f"{'linker':7s} {'ours s':>7s} {'base s':>7s} {'ratio':>6s} {'anti nm':>8s} "
            f"{'base nm':>8s} {'base err':>8s} {'minima':>6s}"
        )
        tot_ours = tot_base = 0.0
        for b in entries:
            t0 = time.perf_counter()
            rec = compute_linker_level(b.smiles, "mmff")
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            d_base = baseline_mmff(b.smiles, rec.settings["etkdg_conformers"])
            t_base = time.perf_counter() - t0
            tot_ours += t_ours
            tot_base += t_base
            print(
                f"{b.name:7s} {t_ours:7.2f} {t_base:7.2f} {t_ours / t_base:6.2f} "
                f"{rec.anti_ss_distance_nm:8.4f} {d_base:8.4f} "
                f"{d_base - rec.anti_ss_distance_nm:+8.4f} "
                f"{len(rec.ensemble_energy_meV):6d}"
            )
        verdict = "meets" if tot_ours < 10 else "MISSES"
        print(
            f"{'total':7s} {tot_ours:7.2f} {tot_base:7.2f} {tot_ours / tot_base:6.2f}   "
            f"(target < 10 s for all eight: {verdict})"
        )

    computed: dict[
        tuple[str, str], tuple[float, float]
    ] = {}  # (linker, level) -> (nm, s) from this run
    for level, ok in (("gfn2", gfn2_available()), ("b3lyp", b3lyp_available())):
        if level not in levels:
            continue
        if not ok:
            print(f"\n{level}: extra not installed, skipped")
            continue
        print(f"\n{level} level, all-anti conformer only (reoptimise_lowest=0), no cache")
        for b in entries:
            t0 = time.perf_counter()
            rec = compute_linker_level(b.smiles, level, reoptimise_lowest=0)
            dt = time.perf_counter() - t0
            computed[(b.name, level)] = (rec.anti_ss_distance_nm, dt)
            print(f"{b.name:7s} {dt:8.1f} s   anti {rec.anti_ss_distance_nm:.4f} nm")

    print(
        "\nall-anti S-S distance [nm] and wall time of each level: shipped table (full level, all the"
    )
    print("conformers it re-optimises), or * = recomputed in this run (all-anti conformer only)")
    print(
        f"{'linker':7s} {'paper':>6s} " + " ".join(f"{m:>21s}" for m in ("mmff", "gfn2", "b3lyp"))
    )
    missing = []
    for b in entries:
        cells = []
        for m in ("mmff", "gfn2", "b3lyp"):
            if (b.name, m) in computed:
                d, t = computed[(b.name, m)]
                cells.append(f"{d:8.4f} {t:9.1f} s*  ")
                continue
            lv = b.levels.get(m)
            if lv is None:
                cells.append(f"{'— (not computed)':>21s}")
                missing.append(f"{b.name}/{m}: {b.missing.get(m, '')}")
            else:
                cells.append(f"{lv.anti_ss_distance_nm:8.4f} {lv.wall_s:9.1f} s/{lv.n_sampled:>2d}")
        paper = (
            f"{b.paper_ss_distance_nm:6.2f}" if b.paper_ss_distance_nm is not None else f"{'':6s}"
        )
        print(f"{b.name:7s} {paper} " + " ".join(cells))
    print("(s/N: seconds for the whole level / number of conformers optimised at that level)")
    for line in missing:
        print(f"  missing {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
