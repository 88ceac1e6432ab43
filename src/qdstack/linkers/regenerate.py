"""Regenerate the shipped table of built-in linker geometries.

Usage (from anywhere, with qdstack installed)::

    python -m qdstack.linkers.regenerate                      # mmff + gfn2 (+ b3lyp if asked)
    python -m qdstack.linkers.regenerate --methods b3lyp --linkers C2DT,C3DT --timeout 1800
    python -m qdstack.linkers.regenerate --check    # recompute mmff, compare, write nothing

Every number in ``data/builtin_linkers.json`` is computed here by the same
function that computes a user's SMILES (:func:`qdstack.linkers.compute_linker_level`),
with the software versions and the date stored beside it.  Levels that are not
recomputed keep their previous entries; a level that was never computed (or
whose extra is not installed) is ``null`` with the reason in ``missing``.
The table is written atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from qdstack.errors import QdstackError

from ._data import METHODS, LevelData
from .library import DEFINITIONS, TABLE_FORMAT

__all__ = ["build_table", "main", "DEFAULT_OUTPUT"]

#: The table inside the source tree (what the package ships).
DEFAULT_OUTPUT: Path = Path(__file__).with_name("data") / "builtin_linkers.json"

_NOT_COMPUTED = {
    "gfn2": "not computed for this table; run python -m qdstack.linkers.regenerate --methods gfn2 "
    "(needs the xtb extra: pip install 'qdstack[xtb]')",
    "b3lyp": "not computed for this table (see docs/guide/linker.md for the time each entry took); "
    "run python -m qdstack.linkers.regenerate --methods b3lyp --linkers NAME --reoptimise-lowest 0 "
    "(needs the dft extra: pip install 'qdstack[dft]')",
    "mmff": "not computed",
}


#: Added to gfn2/b3lyp entries of flexible linkers computed before pipeline 2.
STALE_V1 = (
    "computed by pipeline 1, whose all-anti structure kept the thiol H gauche (from MMFF94): that "
    "opens the C-C-S angle and makes alkane dithiol S-S distances 0.009-0.017 nm longer than the "
    "extended (thiol H anti) structure of pipeline 2; recompute with python -m "
    "qdstack.linkers.regenerate --methods b3lyp --linkers NAME"
)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) and raw.get("format") == TABLE_FORMAT else None


def build_table(
    methods: tuple[str, ...],
    names: tuple[str, ...] | None = None,
    previous: dict[str, Any] | None = None,
    timeout_s: float | None = None,
    log=None,
    checkpoint=None,
    take_from: dict[str, Any] | None = None,
    reoptimise_lowest: int | None = None,
) -> dict[str, Any]:
    """The table with ``methods`` recomputed for the linkers ``names`` (default: all).

    Entries not recomputed are taken from ``previous``.  A computation that
    fails (missing extra, timeout) leaves the previous entry, or ``null`` with
    the reason.  ``checkpoint(table)`` is called after every linker (long runs
    save their progress).  With ``take_from`` (another table written by this
    script, e.g. by a run on a faster machine), the ``methods`` entries are
    copied from it instead of recomputed.  ``reoptimise_lowest`` overrides how many
    of the lowest force-field minima the gfn2/b3lyp levels re-optimise besides the
    extended all-anti structure (``None``: the level's default).
    """
    from . import compute_linker_level

    prev = {e["name"]: e for e in (previous or {}).get("linkers", [])}
    donor = {e["name"]: e for e in (take_from or {}).get("linkers", [])}
    rows = []

    def table() -> dict[str, Any]:
        done = {r["name"] for r in rows}
        rest = [prev[d.name] for d in DEFINITIONS if d.name not in done and d.name in prev]
        order = {d.name: i for i, d in enumerate(DEFINITIONS)}
        return _wrap(sorted(rows + rest, key=lambda r: order[r["name"]]))

    for d in DEFINITIONS:
        old = prev.get(d.name, {})
        levels = dict(old.get("levels", {}))
        missing = dict(old.get("missing", {}))
        failed: set[str] = set()
        for m in METHODS:
            if names is not None and d.name not in names or m not in methods:
                continue
            if take_from is not None:
                rec_dict = donor.get(d.name, {}).get("levels", {}).get(m)
                if rec_dict is not None:
                    levels[m] = LevelData.from_dict(rec_dict).to_dict()  # validated copy
                    missing.pop(m, None)
                continue
            t0 = time.perf_counter()
            try:
                rec: LevelData = compute_linker_level(
                    d.smiles,
                    m,
                    timeout_s=timeout_s,
                    reoptimise_lowest=None if m == "mmff" else reoptimise_lowest,
                )
            except QdstackError as exc:
                if log:
                    log(f"{d.name:6s} {m:6s} failed: {exc}")
                if levels.get(m) is None:
                    missing[m] = f"not computed: {exc.message}"
                    failed.add(m)
                continue
            levels[m] = rec.to_dict()
            missing.pop(m, None)
            if log:
                log(
                    f"{d.name:6s} {m:6s} anti {rec.anti_ss_distance_nm:.4f} nm  lowest "
                    f"{rec.lowest_ss_distance_nm:.4f} nm  ({len(rec.ensemble_energy_meV)} minima, "
                    f"{time.perf_counter() - t0:.1f} s)"
                )
        for m in ("gfn2", "b3lyp"):
            rec = levels.get(m)
            if (
                rec is not None
                and str(rec.get("pipeline_version")) < "2"
                and rec.get("chain_torsions", 0) > 0
                and STALE_V1 not in rec.get("warnings", [])
            ):
                levels[m] = {**rec, "warnings": list(rec.get("warnings", [])) + [STALE_V1]}
        for m in METHODS:
            if levels.get(m) is None:
                levels[m] = None
                if m not in failed:  # not attempted in this run: the standard reason
                    missing[m] = _NOT_COMPUTED[m]
        rows.append(
            {
                "name": d.name,
                "description": d.description,
                "smiles": d.smiles,
                "aliases": list(d.aliases),
                "paper_ss_distance_nm": d.paper_ss_distance_nm,
                "levels": {m: levels[m] for m in METHODS},
                "missing": {m: missing[m] for m in METHODS if m in missing},
            }
        )
        if checkpoint is not None:
            checkpoint(table())
    return table()


def _wrap(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": TABLE_FORMAT,
        "generated_by": "python -m qdstack.linkers.regenerate",
        "note": "S-S (anchor-anchor) distances in nm, energies in eV (absolute, level's own zero) "
        "and meV (relative to the lowest conformer found); see qdstack.linkers.",
        "linkers": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m qdstack.linkers.regenerate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--methods",
        default="mmff,gfn2",
        help="comma list of levels to recompute (mmff, gfn2, b3lyp); default mmff,gfn2",
    )
    parser.add_argument(
        "--linkers", default=None, help="comma list of built-in names (default: all)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="table to update")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per linker and level")
    parser.add_argument(
        "--take-from",
        type=Path,
        default=None,
        help="copy the --methods entries from this table (written by this script) "
        "instead of recomputing them",
    )
    parser.add_argument(
        "--replay",
        type=Path,
        nargs="+",
        default=None,
        help="B3LYP optimisations already run elsewhere (python -m qdstack.linkers.replay optimise): "
        "used where their start geometries match",
    )
    parser.add_argument(
        "--reoptimise-lowest",
        type=int,
        default=None,
        help="how many of the lowest MMFF94 minima gfn2/b3lyp re-optimise besides the extended "
        "all-anti structure (default: 8 for gfn2, 1 for b3lyp; 0 = the all-anti conformer only)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="recompute the mmff level and compare with the table; write nothing",
    )
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad:
        parser.error(f"unknown method(s) {', '.join(bad)}")
    names = None if args.linkers is None else tuple(n.strip() for n in args.linkers.split(","))
    known = {d.name for d in DEFINITIONS}
    if names is not None and set(names) - known:
        parser.error(f"unknown linker(s) {', '.join(sorted(set(names) - known))}")
    previous = _read(args.output)
    if args.replay is not None:
        from .replay import load_replay

        load_replay(*args.replay)
    if args.check:
        fresh = build_table(("mmff",), names, previous, args.timeout, log)
        worst = 0.0
        old_rows = {e["name"]: e for e in (previous or {}).get("linkers", [])}
        for new in fresh["linkers"]:
            old = old_rows.get(new["name"], {})
            a = (new["levels"]["mmff"] or {}).get("anti_ss_distance_nm")
            b = (old.get("levels", {}).get("mmff") or {}).get("anti_ss_distance_nm")
            if a is None or b is None:
                log(f"{new['name']}: missing mmff entry")
                return 1
            worst = max(worst, abs(a - b))
        log(f"largest difference of the all-anti mmff distances: {worst:.2e} nm")
        return 0 if worst < 1e-3 else 1
    from qdstack.io.writers import atomic_write_text

    def save(table: dict[str, Any]) -> None:
        atomic_write_text(args.output, json.dumps(table, indent=1, allow_nan=False) + "\n")

    donor = None
    if args.take_from is not None:
        donor = _read(args.take_from)
        if donor is None:
            parser.error(f"{args.take_from} is not a {TABLE_FORMAT} table")
    save(
        build_table(
            methods,
            names,
            previous,
            args.timeout,
            log,
            checkpoint=save,
            take_from=donor,
            reoptimise_lowest=args.reoptimise_lowest,
        )
    )
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
