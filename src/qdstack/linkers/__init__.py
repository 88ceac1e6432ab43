"""Linker molecules: the library of dithiols and their sulfur-sulfur distances.

The inter-dot gap of a layer-by-layer film is set by the linker.  Enomoto et
al. take it as the distance between the two sulfur atoms of the dithiol, from
DFT at B3LYP/6-31G(d) (C3DT 0.55 nm, C10DT 1.46 nm).  This package gives that
distance for the built-in linkers (instantly, from a shipped table) and for any
linker given as SMILES (computed on demand and cached on disk), at three
levels:

``mmff``  (default)
    RDKit ETKDG conformers optimised with the MMFF94 force field; seconds.
``gfn2``
    GFN2-xTB tight binding through tblite (extra ``qdstack[xtb]``); tens of seconds.
``b3lyp``
    B3LYP/6-31G(d) DFT with density fitting (PySCF), optimised with geomeTRIC
    (extra ``qdstack[dft]``); minutes (C3DT ~3-4 min on 2 cores) to hours.

The distance reported by default is that of the extended all-anti conformer
(what the paper's numbers are, and what a linker bridging two dots looks like);
the lowest-energy conformer found and the Boltzmann-weighted mean are reported
beside it.  The gap the models use is ``S-S distance + offset`` (offset 0 as in
the paper), :func:`linker_gap_nm`.

Examples
--------
>>> from qdstack.linkers import get_linker, linker_gap_nm
>>> get_linker("C3DT").ss_distance_nm            # doctest: +SKIP
0.5502...
>>> get_linker("SCCCCCCCS", method="mmff").to_dict()["conformer"]   # doctest: +SKIP
'anti'
>>> linker_gap_nm("C10DT", offset_nm=0.1)        # doctest: +SKIP
1.539...

References
----------
K. Enomoto et al., Chem. Sci. 15, 13049 (2024).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from pathlib import Path

from qdstack.errors import InputError, OptionError, QdstackError

from ._data import METHOD_DESCRIPTIONS, METHODS, PIPELINE_VERSION, LevelData
from .cache import CACHE_ENV, default_cache_dir
from .geometry import CONFORMERS, LinkerGeometry, boltzmann_mean, boltzmann_weights
from .library import BuiltinLinker, builtin_linkers, find_builtin

__all__ = [
    "METHODS",
    "METHOD_DESCRIPTIONS",
    "CONFORMERS",
    "PIPELINE_VERSION",
    "CACHE_ENV",
    "LinkerGeometry",
    "BuiltinLinker",
    "LevelData",
    "LinkerTimeoutError",
    "get_linker",
    "linker_gap_nm",
    "builtin_linkers",
    "find_builtin",
    "compute_linker_level",
    "boltzmann_mean",
    "boltzmann_weights",
    "default_cache_dir",
]


class LinkerTimeoutError(QdstackError, TimeoutError):
    """A geometry computation did not finish within the time allowed."""


def _check_method(method: str) -> str:
    m = str(method).strip().lower()
    if m not in METHODS:
        raise OptionError(f"unknown method {method!r}; use one of {', '.join(METHODS)}", "method")
    return m


def _check_conformer(conformer: str) -> str:
    c = str(conformer).strip().lower()
    if c not in CONFORMERS:
        raise OptionError(
            f"unknown conformer {conformer!r}; use one of {', '.join(CONFORMERS)}", "conformer"
        )
    return c


@functools.lru_cache(maxsize=1)
def _builtin_keys() -> dict[str, str]:
    """Anchored canonical SMILES -> built-in name (needs RDKit; only for SMILES input)."""
    from ._molecule import prepare_linker

    return {prepare_linker(b.smiles).key_smiles: b.name for b in builtin_linkers()}


def _unknown(text: str, detail: str) -> InputError:
    names = ", ".join(b.name for b in builtin_linkers())
    return InputError(
        f"unknown linker: not a built-in name ({names}; full names accepted, see "
        f"'qdstack linker --list') and not a valid SMILES ({detail})",
        text,
    )


def compute_linker_level(
    name_or_smiles: str,
    method: str = "mmff",
    *,
    anchors: tuple[int, int] | None = None,
    timeout_s: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    reoptimise_lowest: int | None = None,
) -> LevelData:
    """Compute (never look up) the conformers of a linker at one level.

    What :func:`get_linker` runs on a cache miss, and what the table
    regeneration script runs for every built-in linker.

    Parameters
    ----------
    name_or_smiles : str
        Built-in name or SMILES.
    method : {"mmff", "gfn2", "b3lyp"}
        Level of theory.
    anchors : (int, int), optional
        Heavy-atom indices (SMILES order, 0-based) of the anchoring atoms.
    timeout_s : float, optional
        Give up (raising :class:`LinkerTimeoutError`) after this many seconds.
    progress : callable(stage, done, total), optional
        Progress reports.
    reoptimise_lowest : int, optional
        How many of the lowest MMFF94 minima the gfn2 / b3lyp levels re-optimise
        besides the all-anti one (default 8 for gfn2, 1 for b3lyp; 0 = the all-anti
        conformer only, the cheapest way to its distance).

    Returns
    -------
    LevelData
    """
    from ._molecule import prepare_linker
    from .library import find_definition

    method = _check_method(method)
    text = str(name_or_smiles).strip()
    entry = find_definition(text) if anchors is None else None
    smiles = entry.smiles if entry is not None else text
    prep = prepare_linker(smiles, anchors, source=text)
    return _run_computation(prep, method, text, timeout_s, progress, reoptimise_lowest)


def _run_computation(prep, method, text, timeout_s, progress, reoptimise_lowest=None) -> LevelData:
    from ._compute import compute_level
    from ._conformers import SearchTimeout

    deadline = None if timeout_s is None else time.monotonic() + float(timeout_s)
    try:
        return compute_level(
            prep,
            method,
            source=text,
            deadline=deadline,
            progress=progress,
            reoptimise_lowest=reoptimise_lowest,
        )
    except SearchTimeout:
        raise LinkerTimeoutError(
            f"the {method} geometry did not finish within the {float(timeout_s):g} s timeout; "
            "allow more time (results are cached once computed) or use a cheaper --method",
            text,
        ) from None


def get_linker(
    name_or_smiles: str,
    method: str = "mmff",
    conformer: str = "anti",
    temperature_K: float = 298.15,
    timeout_s: float | None = None,
    *,
    anchors: tuple[int, int] | None = None,
    use_cache: bool = True,
    cache_dir: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> LinkerGeometry:
    """Anchor-anchor (S-S) distance and conformers of a linker.

    Built-in linkers (``C2DT``, ``C3DT``, ``C4DT``, ``C5DT``, ``C6DT``,
    ``C10DT``, ``BDT``, ``BPDT``, their full chemical names, or their SMILES)
    come from the shipped table without importing RDKit.  Anything else is read
    as SMILES, its two anchoring atoms are found (two thiols; else exactly two
    anchoring groups; else ``anchors``), and its conformers are computed at
    ``method`` and cached on disk.

    Parameters
    ----------
    name_or_smiles : str
        Built-in name, full chemical name, or SMILES (e.g. ``"SCCCCCCCS"``).
    method : {"mmff", "gfn2", "b3lyp"}
        Level of theory (see the package docstring).  ``gfn2`` and ``b3lyp`` need
        the ``xtb`` and ``dft`` extras unless the value is in the shipped table.
    conformer : {"anti", "lowest", "boltzmann"}
        Which distance ``ss_distance_nm`` holds: the extended all-anti conformer
        (default: what the paper's distances are and what the film model uses),
        the lowest-energy conformer found, or the Boltzmann mean at ``temperature_K``.
    temperature_K : float
        Temperature of the Boltzmann average [K].
    timeout_s : float, optional
        Give up a computation after this many seconds (:class:`LinkerTimeoutError`).
    anchors : (int, int), optional
        Heavy-atom indices (0-based, in the order of the SMILES) of the two
        anchoring atoms, when they cannot be found automatically.
    use_cache : bool
        Read and write the disk cache (see :mod:`qdstack.linkers.cache`).
    cache_dir : path, optional
        Cache directory (default ``$QDSTACK_CACHE_DIR`` or the user cache folder).
    progress : callable(stage, done, total), optional
        Called during a computation (never for table or cache hits).

    Returns
    -------
    LinkerGeometry

    Raises
    ------
    InputError
        Unknown name / invalid SMILES, no or ambiguous anchoring atoms, bad
        temperature (``source`` names the input).
    OptionError
        Unknown method or conformer, or the extra a level needs is missing.
    LinkerTimeoutError
        The computation ran past ``timeout_s``.

    References
    ----------
    K. Enomoto et al., Chem. Sci. 15, 13049 (2024), Fig. 4 and text: S-S distances
    at B3LYP/6-31G(d) used as inter-dot distances.
    """
    method = _check_method(method)
    conformer = _check_conformer(conformer)
    if timeout_s is not None and not (isinstance(timeout_s, (int, float)) and timeout_s > 0):
        raise OptionError(f"must be a positive number of seconds, got {timeout_s!r}", "timeout_s")
    text = str(name_or_smiles).strip()
    if not text:
        raise InputError(
            "empty linker name; give a built-in name (e.g. C3DT) or a SMILES", "linker"
        )
    entry = find_builtin(text)

    def from_table(b: BuiltinLinker) -> LinkerGeometry:
        return LinkerGeometry.from_level(
            b.levels[method],
            name=b.name,
            conformer=conformer,
            temperature_K=temperature_K,
            source="table",
            description=b.description,
            aliases=b.aliases,
            paper_ss_distance_nm=b.paper_ss_distance_nm,
        )

    if entry is not None and anchors is None and entry.levels.get(method) is not None:
        return from_table(entry)

    # computed path: RDKit from here on
    from . import cache as _cache
    from ._molecule import parse_smiles, prepare_linker

    smiles = entry.smiles if entry is not None else text
    if entry is None:
        try:
            parse_smiles(text, text)
        except InputError as exc:
            detail = exc.message
            detail = detail[detail.find("(") + 1 : detail.rfind(")")] if "(" in detail else detail
            raise _unknown(text, detail) from None
    prep = prepare_linker(smiles, anchors, source=text)
    same = _builtin_keys().get(prep.key_smiles)  # a built-in molecule with the same anchors?
    if same is not None:
        entry = next(b for b in builtin_linkers() if b.name == same)
        if entry.levels.get(method) is not None:
            return from_table(entry)
    elif anchors is not None:
        entry = None  # a built-in molecule measured between other atoms: not the built-in linker
    name = entry.name if entry is not None else text
    extras = {}
    if entry is not None:
        extras = {
            "description": entry.description,
            "aliases": entry.aliases,
            "paper_ss_distance_nm": entry.paper_ss_distance_nm,
        }
    key = _cache.cache_key(prep.key_smiles, method)
    record = _cache.load_entry(key, cache_dir) if use_cache else None
    source = "cache"
    if record is None:
        record = _run_computation(prep, method, text, timeout_s, progress)
        source = "computed"
        if use_cache:
            _cache.store_entry(key, record, cache_dir)
    return LinkerGeometry.from_level(
        record, name=name, conformer=conformer, temperature_K=temperature_K, source=source, **extras
    )


def linker_gap_nm(
    name_or_smiles: "str | LinkerGeometry",
    method: str = "mmff",
    offset_nm: float = 0.0,
    *,
    conformer: str = "anti",
    temperature_K: float = 298.15,
    timeout_s: float | None = None,
) -> float:
    """Inter-dot gap [nm] that the film model and the structure analysis use.

    .. math:: g = d_{S-S} + \\delta

    with :math:`d_{S-S}` the anchor-anchor distance of the linker (all-anti
    conformer by default, see :func:`get_linker`) and :math:`\\delta` =
    ``offset_nm`` an adjustable correction for what the S-S distance leaves out
    (S-Pb bonds, tilt, surface relaxation).  The reference study uses
    :math:`\\delta = 0`: the gap equals the S-S distance.

    This is the one function in qdstack that turns a linker into a gap: the
    film model, the CLI and the study analyses all call it.

    Parameters
    ----------
    name_or_smiles : str or LinkerGeometry
        A library name, a SMILES, or a geometry already computed (then ``method``,
        ``conformer``, ``temperature_K`` and ``timeout_s`` are not used).
    method, conformer, temperature_K, timeout_s
        As in :func:`get_linker`.
    offset_nm : float
        :math:`\\delta` [nm].

    Raises
    ------
    InputError
        Unknown linker, or an offset that makes the gap non-positive.
    """
    try:
        off = float(offset_nm)
    except (TypeError, ValueError):
        raise InputError(f"must be a number of nm, got {offset_nm!r}", "offset_nm") from None
    if not math.isfinite(off):
        raise InputError(f"must be finite, got {offset_nm!r}", "offset_nm")
    if isinstance(name_or_smiles, LinkerGeometry):
        geometry = name_or_smiles
    else:
        geometry = get_linker(name_or_smiles, method, conformer, temperature_K, timeout_s)
    gap = geometry.ss_distance_nm + off
    if not gap > 0:
        raise InputError(
            f"S-S distance {geometry.ss_distance_nm:.3f} nm + offset {off:g} nm = {gap:.3f} nm is "
            "not a positive gap",
            "offset_nm",
        )
    return gap
