"""One level of theory for one linker, from SMILES to a :class:`LevelData` record."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable

from qdstack.errors import InputError

from ._conformers import Minimum, _dedupe, search_conformers
from ._data import METHODS, PIPELINE_VERSION, LevelData
from ._molecule import PreparedLinker, rdkit_version
from ._qm import SELECTION, level_software, reoptimise, require

__all__ = ["compute_level"]


def compute_level(
    prep: PreparedLinker,
    method: str,
    *,
    source: str,
    deadline: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    reoptimise_lowest: int | None = None,
) -> LevelData:
    """Conformer search (and re-optimisation) of ``prep`` at ``method``.

    ``mmff``: the distinct MMFF94 minima of :func:`search_conformers`.  ``gfn2`` /
    ``b3lyp``: the extended all-anti structure (anchor H anti) and the lowest MMFF94 minima (8 for gfn2, 1
    for b3lyp; ``reoptimise_lowest`` overrides that) re-optimised at that level, then
    de-duplicated again.

    Raises
    ------
    InputError
        The molecule cannot be handled (see :func:`search_conformers`).
    OptionError
        The extra that ``method`` needs is not installed.
    SearchTimeout
        ``deadline`` passed (the caller turns it into a user-facing error).
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}", "method")
    if method != "mmff":
        require(method)
    t0 = time.perf_counter()
    search = search_conformers(
        prep.mol,
        prep.anchors,
        source=source,
        allow_uff=method != "mmff",
        deadline=deadline,
        progress=progress,
    )
    warnings: list[str] = []
    if search.n_unconverged:
        warnings.append(
            f"{search.n_unconverged} of {search.n_sampled} {search.forcefield} optimisations "
            "did not "
            "converge and were left out"
        )
    settings = dict(search.settings)
    if method == "mmff":
        minima = list(search.minima)
        anti = search.anti
        n_sampled = search.n_sampled
    else:
        n_lowest = SELECTION[method] if reoptimise_lowest is None else int(reoptimise_lowest)
        from . import _qm

        _qm._LAST_REPLAY.clear()
        found, anti_pos, n_opt, more = reoptimise(
            search, method, deadline=deadline, progress=progress, n_lowest=n_lowest
        )
        warnings += more
        if anti_pos is None:
            raise InputError(
                f"the all-anti conformer could not be optimised at the {method} level", source
            )
        minima = _dedupe(search.mol, found)
        # the all-anti conformer is the extended one (anchor H anti too), not the lowest anti-chain
        # rotamer: a gauche thiol H is lower in energy but opens the C-C-S angle (see _qm)
        anti = Minimum(*found[anti_pos])
        n_sampled = n_opt
        settings["reoptimised_lowest"] = n_lowest
        settings["reoptimised"] = n_opt
        settings["prescreen_sampled"] = search.n_sampled
        replayed = dict(_qm._LAST_REPLAY)
        _qm._LAST_REPLAY.clear()
        if replayed:
            settings["optimisations_run_on"] = replayed.get("machine")
            settings["optimisation_wall_s"] = round(replayed["wall_s"], 3)
        if len(minima) < 3 and search.torsions:
            warnings.append(
                f"the {method} Boltzmann mean and lowest conformer rest on only {len(minima)} "
                "re-optimised conformer(s) (the all-anti and the lowest force-field ones); treat "
                "them as rough estimates"
            )
    lowest = minima[0]
    e0 = lowest.energy_eV
    return LevelData(
        smiles=prep.smiles,
        key_smiles=prep.key_smiles,
        method=method,
        anchor_elements=prep.anchor_elements,
        anchor_atoms=prep.canonical_anchors,
        chain_torsions=len(search.torsions),
        anti_ss_distance_nm=round(anti.distance_nm, 6),
        anti_energy_eV=anti.energy_eV,
        lowest_ss_distance_nm=round(lowest.distance_nm, 6),
        lowest_energy_eV=lowest.energy_eV,
        ensemble_energy_meV=tuple(round((m.energy_eV - e0) * 1e3, 4) for m in minima),
        ensemble_ss_distance_nm=tuple(round(m.distance_nm, 6) for m in minima),
        n_sampled=n_sampled,
        software=level_software(method, rdkit_version(), search.forcefield),
        computed_on=_dt.date.today().isoformat(),
        pipeline_version=PIPELINE_VERSION,
        settings=settings,
        wall_s=round(time.perf_counter() - t0 + float(settings.get("optimisation_wall_s", 0.0)), 3),
        warnings=tuple(warnings),
    )
