"""Conformer search with RDKit: ETKDG starting structures, force-field minima (needs RDKit).

The search has three parts, each a set of starting structures that are
optimised with MMFF94 (UFF when MMFF94 has no parameters and the caller allows
it):

1. random conformers from ETKDG v3 (experimental-torsion distance geometry);
2. the *all-anti* family: ETKDG structures with every rotatable sp3-sp3 torsion
   on the anchor-anchor path set to 180 deg (the end groups, e.g. S-H, keep the
   orientations ETKDG gave them, so the best all-anti rotamer is found);
3. one- and two-gauche variants of the best all-anti structure (torsions set to
   +-65 deg): the low-lying states of a flexible chain that random sampling of a
   long chain misses.

Minima closer than 0.01 kcal/mol in energy, 0.002 nm in anchor distance and
0.05 A heavy-atom RMSD (symmetry-aware, without reflection) are one minimum;
mirror-image conformers stay distinct, so each counts once in the Boltzmann
sum, as it should.

References
----------
S. Riniker, G. A. Landrum, J. Chem. Inf. Model. 55, 2562 (2015): ETKDG.
T. A. Halgren, J. Comput. Chem. 17, 490 (1996): MMFF94.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError

from ._data import KCAL_PER_MOL_EV

__all__ = ["Minimum", "SearchResult", "search_conformers", "anti_torsions", "is_anti", "SEED"]

#: Seed of the ETKDG random streams: the search is reproducible.
SEED: int = 0x5D5D
#: A torsion counts as anti when |phi| >= this [deg].
ANTI_MIN_DEG: float = 150.0
#: Gauche angle used to build near-anti variants [deg].
GAUCHE_DEG: float = 65.0
#: Conformers optimised per force-field call (progress and timeout granularity).
BATCH: int = 64


class SearchTimeout(Exception):
    """The deadline passed during the search (turned into a user error by the caller)."""


@dataclass(frozen=True)
class Minimum:
    """One optimised conformer."""

    energy_eV: float
    distance_nm: float
    coords_A: np.ndarray  # (n_atoms, 3), all atoms incl. H, Angstrom
    anti: bool


@dataclass(frozen=True)
class SearchResult:
    """Distinct minima of a force-field search, lowest first."""

    mol: object  # RDKit Mol with explicit H (atom order of coords_A)
    anchors: tuple[int, int]
    torsions: tuple[tuple[int, int, int, int], ...]
    minima: tuple[Minimum, ...]
    anti_index: int
    n_sampled: int
    n_unconverged: int
    forcefield: str
    settings: dict

    @property
    def anti(self) -> Minimum:
        return self.minima[self.anti_index]


def anti_torsions(mol, a: int, b: int) -> tuple[tuple[int, int, int, int], ...]:
    """Rotatable sp3-sp3 torsions on the shortest path between atoms ``a`` and ``b``.

    Returns the quadruples (i, j, k, l) whose central bond j-k is a single,
    acyclic bond between two sp3 atoms: the torsions that are 180 deg in the
    extended all-anti conformer.
    """
    from rdkit import Chem

    path = Chem.GetShortestPath(mol, a, b)
    out = []
    for k in range(len(path) - 3):
        j, kk = path[k + 1], path[k + 2]
        bond = mol.GetBondBetweenAtoms(j, kk)
        aj, ak = mol.GetAtomWithIdx(j), mol.GetAtomWithIdx(kk)
        sp3 = Chem.HybridizationType.SP3
        if (
            bond.GetBondType() == Chem.BondType.SINGLE
            and not bond.IsInRing()
            and aj.GetHybridization() == sp3
            and ak.GetHybridization() == sp3
        ):
            out.append(tuple(int(x) for x in path[k : k + 4]))
    return tuple(out)


def dihedrals_deg(coords: np.ndarray, torsions) -> np.ndarray:
    """Dihedral angles [deg] of ``torsions`` (m, 4) in ``coords`` (n, 3), shape (m,)."""
    t = np.asarray(torsions, dtype=int).reshape(-1, 4)
    p = np.asarray(coords, dtype=float)[t]  # (m, 4, 3)
    b0 = p[:, 0] - p[:, 1]
    b1 = p[:, 2] - p[:, 1]
    b2 = p[:, 3] - p[:, 2]
    b1 /= np.linalg.norm(b1, axis=1)[:, None]
    v = b0 - np.sum(b0 * b1, axis=1)[:, None] * b1
    w = b2 - np.sum(b2 * b1, axis=1)[:, None] * b1
    x = np.sum(v * w, axis=1)
    y = np.sum(np.cross(b1, v) * w, axis=1)
    return np.degrees(np.arctan2(y, x))


def is_anti(coords: np.ndarray, torsions) -> bool:
    """All ``torsions`` anti (|phi| >= 150 deg) in ``coords``; True when there are none."""
    if not torsions:
        return True
    return bool(np.all(np.abs(dihedrals_deg(coords, torsions)) >= ANTI_MIN_DEG))


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise SearchTimeout()


def _forcefield(mol, allow_uff: bool, source: str) -> str:
    from rdkit.Chem import rdForceFieldHelpers as ff

    if ff.MMFFHasAllMoleculeParams(mol):
        return "MMFF94"
    if allow_uff and ff.UFFHasAllMoleculeParams(mol):
        return "UFF"
    elements = sorted({a.GetSymbol() for a in mol.GetAtoms()})
    hint = "; try --method gfn2" if not allow_uff else ""
    raise InputError(
        "the MMFF94 force field has no parameters for this molecule "
        f"(elements {', '.join(elements)})" + hint,
        source,
    )


def _optimise(mol, conformers: list, forcefield: str, max_iters: int = 2000):
    """Optimise copies of ``conformers`` (RDKit Conformer) -> list of (converged, E_eV, coords)."""
    from rdkit import Chem
    from rdkit.Chem import rdForceFieldHelpers as ff

    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    for conf in conformers:
        work.AddConformer(Chem.Conformer(conf), assignId=True)
    if forcefield == "MMFF94":
        res = ff.MMFFOptimizeMoleculeConfs(work, numThreads=0, maxIters=max_iters)
    else:
        res = ff.UFFOptimizeMoleculeConfs(work, numThreads=0, maxIters=max_iters)
    out = []
    for conf, (not_converged, energy) in zip(work.GetConformers(), res):
        out.append(
            (not_converged == 0, float(energy) * KCAL_PER_MOL_EV, np.array(conf.GetPositions()))
        )
    return out


def _conformer_from(mol, coords: np.ndarray):
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    conf = Chem.Conformer(mol.GetNumAtoms())
    for i, (x, y, z) in enumerate(coords):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    return conf


def _set_torsions(mol, coords: np.ndarray, torsions, angles) -> np.ndarray:
    """Coordinates with ``torsions`` set to ``angles`` [deg] (the side of the last atom moves)."""
    from rdkit import Chem
    from rdkit.Chem import rdMolTransforms as mt

    work = Chem.Mol(mol)
    work.RemoveAllConformers()
    cid = work.AddConformer(_conformer_from(mol, coords), assignId=True)
    conf = work.GetConformer(cid)
    for (i, j, k, m), angle in zip(torsions, angles):
        mt.SetDihedralDeg(conf, i, j, k, m, float(angle))
    return np.array(conf.GetPositions())


def _embed(mol, n: int, seed: int, source: str) -> list:
    from rdkit import Chem
    from rdkit.Chem import rdDistGeom

    params = rdDistGeom.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 0
    params.pruneRmsThresh = -1.0
    cids = list(rdDistGeom.EmbedMultipleConfs(mol, n, params))
    if not cids:
        params.useRandomCoords = True
        cids = list(rdDistGeom.EmbedMultipleConfs(mol, n, params))
    if not cids:
        raise InputError("RDKit could not generate 3D coordinates for this molecule", source)
    confs = [Chem.Conformer(mol.GetConformer(c)) for c in cids]
    mol.RemoveAllConformers()
    return confs


def _dedupe(mol, found: list[tuple[float, float, np.ndarray, bool]]) -> list[Minimum]:
    """Distinct minima, lowest first (see module docstring for the criteria)."""
    from rdkit import Chem
    from rdkit.Chem import rdMolAlign

    heavy_idx = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() > 1]
    heavy = Chem.RemoveHs(mol)
    if heavy.GetNumAtoms() != len(heavy_idx):  # pragma: no cover - RemoveHs keeps heavy order
        heavy_idx = heavy_idx[: heavy.GetNumAtoms()]

    def as_mol(coords):
        m = Chem.Mol(heavy)
        m.RemoveAllConformers()
        m.AddConformer(_conformer_from(heavy, coords[heavy_idx]), assignId=True)
        return m

    kept: list[Minimum] = []
    kept_mols: list = []
    for energy, dist, coords, anti in sorted(found, key=lambda t: t[0]):
        duplicate = False
        probe = None
        for k in range(len(kept) - 1, -1, -1):
            other = kept[k]
            if energy - other.energy_eV > 0.01 * KCAL_PER_MOL_EV:
                break
            if abs(dist - other.distance_nm) > 0.002:
                continue
            probe = probe if probe is not None else as_mol(coords)
            ref = kept_mols[k]
            if rdMolAlign.GetBestRMS(Chem.Mol(probe), ref, maxMatches=10000) < 0.05:
                duplicate = True
                if anti and not other.anti:  # keep the anti label on a shared minimum
                    kept[k] = Minimum(other.energy_eV, other.distance_nm, other.coords_A, True)
                break
        if not duplicate:
            kept.append(Minimum(energy, dist, coords, anti))
            kept_mols.append(probe if probe is not None else as_mol(coords))
    return kept


def search_conformers(
    mol_noh,
    anchors: tuple[int, int],
    *,
    source: str,
    n_random: int | None = None,
    seed: int = SEED,
    allow_uff: bool = False,
    deadline: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> SearchResult:
    """Force-field conformer search of a linker.

    Parameters
    ----------
    mol_noh : rdkit.Chem.Mol
        The molecule without explicit hydrogens (they are added here).
    anchors : (int, int)
        Heavy-atom indices of the anchoring atoms.
    source : str
        What errors are attributed to.
    n_random : int, optional
        Number of ETKDG starting structures; default ``clip(30 (n_t + 1), 30, 300)``
        for ``n_t`` chain torsions.
    seed : int
        ETKDG random seed.
    allow_uff : bool
        Fall back to UFF when MMFF94 lacks parameters (used to pre-screen for the
        higher levels); otherwise that is an :class:`InputError`.
    deadline : float, optional
        ``time.monotonic()`` value after which :class:`SearchTimeout` is raised.
    progress : callable(stage, done, total), optional
        Called as batches finish.

    Returns
    -------
    SearchResult
        Distinct minima sorted by energy, with the index of the best all-anti one.
    """
    from rdkit import Chem

    mol = Chem.AddHs(mol_noh)
    forcefield = _forcefield(mol, allow_uff, source)
    a, b = anchors
    torsions = anti_torsions(mol, a, b)
    n_t = len(torsions)
    if n_random is None:
        n_random = int(np.clip(30 * (n_t + 1), 30, 300))
    n_anti_starts = min(12, n_random)

    def dist_nm(coords):
        return float(np.linalg.norm(coords[a] - coords[b])) / 10.0

    _check_deadline(deadline)
    random_confs = _embed(mol, n_random, seed, source)
    starts = list(random_confs)
    # the all-anti family: the first ETKDG structures with the chain torsions set to 180 deg
    anti_starts = [
        _conformer_from(
            mol, _set_torsions(mol, np.array(c.GetPositions()), torsions, [180.0] * n_t)
        )
        for c in random_confs[:n_anti_starts]
    ]
    stage1 = anti_starts + starts
    total = len(stage1)
    results = []
    for k in range(0, total, BATCH):
        _check_deadline(deadline)
        results.extend(_optimise(mol, stage1[k : k + BATCH], forcefield))
        if progress:
            progress(f"{forcefield} conformers", min(k + BATCH, total), total)
    found = []
    n_unconverged = 0
    for converged, energy, coords in results:
        if not converged:
            n_unconverged += 1
            continue
        found.append((energy, dist_nm(coords), coords, is_anti(coords, torsions)))
    antis = [f for f in found if f[3]]
    if not antis:
        raise InputError(
            "no all-anti conformer survived optimisation "
            "(the chain folds back under the force field)",
            source,
        )
    best_anti = min(antis, key=lambda f: f[0])
    # near-anti variants: one and two gauche torsions on the best all-anti structure
    variants = []
    for pos in range(n_t):
        for sign in (1, -1):
            angles = [180.0] * n_t
            angles[pos] = sign * GAUCHE_DEG
            variants.append(angles)
    pairs = []
    for p, q in itertools.combinations(range(n_t), 2):
        for sp, sq in itertools.product((1, -1), repeat=2):
            angles = [180.0] * n_t
            angles[p], angles[q] = sp * GAUCHE_DEG, sq * GAUCHE_DEG
            pairs.append(angles)
    if len(pairs) > 300:
        rng = np.random.default_rng(seed)
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), 300, replace=False))]
    variants += pairs
    stage2 = [_conformer_from(mol, _set_torsions(mol, best_anti[2], torsions, v)) for v in variants]
    total2 = len(stage2)
    for k in range(0, total2, BATCH):
        _check_deadline(deadline)
        for converged, energy, coords in _optimise(mol, stage2[k : k + BATCH], forcefield):
            if not converged:
                n_unconverged += 1
                continue
            found.append((energy, dist_nm(coords), coords, is_anti(coords, torsions)))
        if progress:
            progress(f"{forcefield} near-anti variants", min(k + BATCH, total2), total2)
    _check_deadline(deadline)
    minima = _dedupe(mol, found)
    anti_index = min((i for i, m in enumerate(minima) if m.anti), key=lambda i: minima[i].energy_eV)
    settings = {
        "seed": seed,
        "etkdg_conformers": n_random,
        "anti_starts": n_anti_starts,
        "near_anti_variants": total2,
        "forcefield": forcefield,
        "anti_min_deg": ANTI_MIN_DEG,
    }
    return SearchResult(
        mol=mol,
        anchors=(a, b),
        torsions=torsions,
        minima=tuple(minima),
        anti_index=anti_index,
        n_sampled=total + total2,
        n_unconverged=n_unconverged,
        forcefield=forcefield,
        settings=settings,
    )
