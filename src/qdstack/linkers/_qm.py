"""Re-optimisation of force-field conformers at the GFN2-xTB and B3LYP levels (optional extras).

Both levels start from the distinct minima of the MMFF94 search (a
screening funnel, as in CREST/CENSO): the all-anti conformer and the
lowest-energy ones, and optimise each at the higher level.

The all-anti conformer is the fully extended one: every chain torsion *and*
the torsion of each anchor's hydrogen about its bond to the chain (H-S-C-C of
a thiol) at 180 deg.  The MMFF94 search leaves the thiol H where the force field
puts it (gauche, about 60 deg), and at B3LYP/6-31G(d) a gauche thiol H opens the
C-C-S angle from 109 to 114 deg and lengthens the S-S distance of an alkane
dithiol by 0.017 nm (C3DT: 0.567 nm instead of 0.551 nm); the gauche-H rotamer is
~0.8 kcal/mol per thiol lower in energy, so it is kept as a separate member of
the ensemble when it is among the lowest MMFF94 minima.  The paper's distances
(C3DT 0.55 nm at B3LYP/6-31G*) are those of the extended (H anti) structure.

* ``gfn2``: GFN2-xTB energies and gradients from tblite, minimised in Cartesian
  coordinates with SciPy's L-BFGS-B until the largest gradient component is
  below 2e-5 hartree/bohr.
* ``b3lyp``: Kohn-Sham DFT with the B3LYP functional (the VWN-RPA variant that
  Gaussian calls B3LYP, as in the reference study) and the 6-31G(d) basis with
  Cartesian d functions (Gaussian's default for 6-31G(d)), density fitting for
  the Coulomb and exchange integrals, optimised with geomeTRIC in internal
  coordinates to its default criteria (max gradient 4.5e-4 hartree/bohr).

References
----------
C. Bannwarth, S. Ehlert, S. Grimme, J. Chem. Theory Comput. 15, 1652 (2019): GFN2-xTB.
A. D. Becke, J. Chem. Phys. 98, 5648 (1993); P. J. Stephens et al., J. Phys. Chem. 98, 11623
(1994): B3LYP.  Q. Sun et al., J. Chem. Phys. 153, 024109 (2020): PySCF.
L.-P. Wang, C. Song, J. Chem. Phys. 144, 214108 (2016): geomeTRIC.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from qdstack.errors import OptionError

from ._conformers import SearchResult, SearchTimeout, _set_torsions, is_anti
from ._data import HARTREE_EV

__all__ = [
    "gfn2_available",
    "b3lyp_available",
    "reoptimise",
    "level_software",
    "SELECTION",
    "anchor_h_torsions",
    "extended_start",
]

_BOHR_A: float = 0.529177210903  # CODATA 2018 Bohr radius [Angstrom]

#: How many of the lowest MMFF94 minima each level re-optimises (the all-anti one is always added).
SELECTION: dict[str, int] = {"gfn2": 8, "b3lyp": 1}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def gfn2_available() -> bool:
    """Whether tblite (the ``xtb`` extra) can be imported."""
    try:
        import tblite.interface  # noqa: F401
    except ImportError:
        return False
    return True


def b3lyp_available() -> bool:
    """Whether PySCF and geomeTRIC (the ``dft`` extra) can be imported."""
    try:
        import geometric  # noqa: F401
        import pyscf  # noqa: F401
    except ImportError:
        return False
    return True


def require(method: str) -> None:
    """Raise :class:`OptionError` when the extra that ``method`` needs is missing."""
    if method == "gfn2" and not gfn2_available():
        raise OptionError(
            "the gfn2 level needs tblite, an optional extra: pip install 'qdstack[xtb]'", "method"
        )
    if method == "b3lyp" and not b3lyp_available():
        raise OptionError(
            "the b3lyp level needs PySCF and geomeTRIC, an optional extra: "
            "pip install 'qdstack[dft]'",
            "method",
        )


def level_software(method: str, rdkit_version: str, forcefield: str = "MMFF94") -> str:
    """Programs (with versions) behind a level's numbers."""
    base = f"RDKit {rdkit_version} (ETKDGv3 + {forcefield})"
    if method == "mmff":
        return base
    if method == "gfn2":
        return (
            f"tblite {_version('tblite')} (GFN2-xTB) + SciPy {_version('scipy')} L-BFGS-B; "
            f"{base} pre-screen"
        )
    return (
        f"PySCF {_version('pyscf')} (B3LYP/6-31G(d), density fitting) + geomeTRIC "
        f"{_version('geometric')}; {base} pre-screen"
    )


def _select(search: SearchResult, n_lowest: int) -> list[int]:
    """Indices of the lowest ``n_lowest`` MMFF94 minima (the extended all-anti start is added apart)."""
    return list(range(min(max(n_lowest, 0), len(search.minima))))


def anchor_h_torsions(mol, anchors: tuple[int, int]) -> tuple[tuple[int, int, int, int], ...]:
    """Torsions H-X-C-C of hydrogens on the anchoring atoms about an sp3-sp3 chain bond.

    For a thiol anchor S bonded to a CH2 of the chain: (H, S, C, C'), with C' the
    next atom towards the other anchor.  Anchors on aromatic rings (thiophenols)
    have none (their S-H lies in the ring plane at every level).
    """
    from rdkit import Chem

    sp3 = Chem.HybridizationType.SP3
    out = []
    a, b = anchors
    path = list(Chem.GetShortestPath(mol, a, b))
    for anchor, nxt, nxt2 in (
        ((a, path[1], path[2]), (b, path[-2], path[-3])) if len(path) >= 3 else ()
    ):
        atom = mol.GetAtomWithIdx(anchor)
        bond = mol.GetBondBetweenAtoms(anchor, nxt)
        if (
            bond is None
            or bond.GetBondType() != Chem.BondType.SINGLE
            or bond.IsInRing()
            or atom.GetHybridization() != sp3
            or mol.GetAtomWithIdx(nxt).GetHybridization() != sp3
        ):
            continue
        for h in atom.GetNeighbors():
            if h.GetAtomicNum() == 1:
                out.append((h.GetIdx(), anchor, nxt, nxt2))
                break
    return tuple(out)


def extended_start(search: SearchResult) -> np.ndarray:
    """The MMFF94 all-anti minimum with the anchors' H torsions set to 180 deg (the fully extended start)."""
    coords = search.anti.coords_A
    h_tors = anchor_h_torsions(search.mol, search.anchors)
    if not h_tors:
        return np.array(coords, dtype=float)
    return _set_torsions(search.mol, coords, h_tors, [180.0] * len(h_tors))


def _charge(mol) -> int:
    return int(sum(a.GetFormalCharge() for a in mol.GetAtoms()))


def _gfn2_optimise(numbers, coords_A, charge, deadline, gtol=2e-5, max_iter=3000):
    """Minimise the GFN2-xTB energy; returns (energy_Eh, coords_A, converged)."""
    from scipy.optimize import minimize
    from tblite.interface import Calculator

    x0 = np.asarray(coords_A, dtype=float) / _BOHR_A
    calc = Calculator("GFN2-xTB", np.asarray(numbers), x0, charge=float(charge))
    calc.set("verbosity", 0)

    def energy_gradient(x):
        if deadline is not None and time.monotonic() > deadline:
            raise SearchTimeout()
        calc.update(x.reshape(-1, 3))
        res = calc.singlepoint()
        return float(res.get("energy")), np.asarray(res.get("gradient"), dtype=float).ravel()

    opt = minimize(
        energy_gradient,
        x0.ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-15, "maxcor": 50},
    )
    energy, grad = energy_gradient(opt.x)
    converged = float(np.max(np.abs(grad))) <= 5 * gtol
    return energy, opt.x.reshape(-1, 3) * _BOHR_A, converged


_QUIET_INI = Path(__file__).with_name("_geometric_quiet.ini")
#: Set by :func:`reoptimise` when optimisations were replayed (read and cleared by the caller).
_LAST_REPLAY: dict = {}


def _b3lyp_optimise(symbols, coords_A, charge, deadline, max_steps=150):
    """B3LYP/6-31G(d) optimisation; returns (energy_Eh, coords_A, converged)."""
    from pyscf import dft, gto
    from pyscf.geomopt import geometric_solver

    mol = gto.M(
        atom=[(s, tuple(map(float, xyz))) for s, xyz in zip(symbols, coords_A)],
        unit="Angstrom",
        basis="6-31g*",
        cart=True,
        charge=int(charge),
        spin=0,
        verbose=0,
    )
    mf = dft.RKS(mol).density_fit()
    mf.xc = "B3LYPG"
    last: dict = {}

    def callback(env):
        last["energy"] = float(env["energy"])
        last["coords_bohr"] = np.array(env["coords"], dtype=float).reshape(-1, 3)
        if deadline is not None and time.monotonic() > deadline:
            raise SearchTimeout()

    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        converged, mol_eq = geometric_solver.kernel(
            mf,
            callback=callback,
            maxsteps=max_steps,
            logIni=str(_QUIET_INI),
            assert_convergence=True,
        )
    finally:  # geomeTRIC configures the root logger from its ini file: put ours back
        root.setLevel(saved[0])
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[1]:
            root.addHandler(h)
    coords = mol_eq.atom_coords(unit="Angstrom")
    energy = last.get("energy")
    if energy is None or not np.allclose(last["coords_bohr"] * _BOHR_A, coords, atol=1e-6):
        # the last gradient call was not at the returned geometry: one more single point
        mf2 = dft.RKS(mol_eq).density_fit()
        mf2.xc = "B3LYPG"
        energy = float(mf2.kernel())
    return float(energy), np.asarray(coords, dtype=float), bool(converged)


def reoptimise(
    search: SearchResult,
    method: str,
    *,
    deadline: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    n_lowest: int | None = None,
) -> tuple[list[tuple[float, float, np.ndarray, bool]], int | None, int, list[str]]:
    """Re-optimise the selected MMFF94 minima at ``method`` ("gfn2" or "b3lyp").

    The fully extended all-anti structure (:func:`extended_start`) and ``n_lowest``
    of the lowest minima (default :data:`SELECTION`) are re-optimised.

    Returns
    -------
    found : list of (energy_eV, distance_nm, coords_A, anti)
    anti_pos : int or None
        Index in ``found`` of the structure optimised from the extended all-anti start.
    n_optimised : int
    warnings : list of str
    """
    require(method)
    mol = search.mol
    numbers = [a.GetAtomicNum() for a in mol.GetAtoms()]
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    charge = _charge(mol)
    a, b = search.anchors
    chosen: list = ["extended"] + _select(
        search, SELECTION[method] if n_lowest is None else n_lowest
    )
    found, warnings = [], []
    replayed_wall_s = 0.0
    replayed_on: set = set()
    anti_pos = None
    label = {"gfn2": "GFN2-xTB", "b3lyp": "B3LYP/6-31G(d)"}[method]
    for n, idx in enumerate(chosen):
        if progress:
            progress(f"{label} optimisations", n, len(chosen))
        start = extended_start(search) if idx == "extended" else search.minima[idx].coords_A
        hit = None
        if method == "b3lyp":
            from .replay import lookup

            hit = lookup(symbols, start, charge)
        if hit is not None:  # optimised elsewhere from this very start (qdstack.linkers.replay)
            replayed_wall_s += float(hit["wall_s"])
            replayed_on.add((hit.get("machine") or "another machine", hit.get("threads")))
            if hit.get("error"):
                warnings.append(f"{label}: conformer {idx} skipped ({hit['error']})")
                continue
            energy, coords, converged = (
                float(hit["energy_Eh"]),
                np.array(hit["final_coords_A"]),
                hit["converged"],
            )
        elif method == "gfn2":
            energy, coords, converged = _gfn2_optimise(numbers, start, charge, deadline)
        else:
            try:
                energy, coords, converged = _b3lyp_optimise(symbols, start, charge, deadline)
            except SearchTimeout:
                raise
            except RuntimeError as exc:  # an SCF that does not converge
                warnings.append(f"{label}: conformer {idx} skipped ({exc})")
                continue
        if not converged:
            warnings.append(f"{label}: optimisation of conformer {idx} did not converge")
        dist = float(np.linalg.norm(coords[a] - coords[b])) / 10.0
        anti = is_anti(coords, search.torsions)
        if idx == "extended" and not anti:
            warnings.append(
                f"{label}: the all-anti conformer lost its anti torsions on optimisation"
            )
        if idx == "extended":
            anti_pos = len(found)
        found.append((energy * HARTREE_EV, dist, coords, anti))
    if progress:
        progress(f"{label} optimisations", len(chosen), len(chosen))
    if replayed_on:
        where = "; ".join(
            f"{m} ({t} thread{'s' if t != 1 else ''} each)" for m, t in sorted(replayed_on, key=str)
        )
        warnings.append(
            f"{label} optimisations were run separately from the same start geometries "
            f"(python -m qdstack.linkers.replay) on: {where}; {replayed_wall_s:.0f} s in all"
        )
        _LAST_REPLAY.update(wall_s=replayed_wall_s, machine=where)
    return found, anti_pos, len(chosen), warnings
