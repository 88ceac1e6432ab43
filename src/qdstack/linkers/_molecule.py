"""A linker molecule read from SMILES, with its two anchoring atoms (needs RDKit).

The anchoring atoms are the atoms that bind the two dot surfaces; for the
dithiols of the reference study they are the two sulfur atoms, and the
"S-S distance" is the distance between them.  Other anchoring groups are
recognised (selenols, primary amines, carboxylic acids); when a molecule has
exactly two anchoring atoms they are chosen automatically, otherwise the user
names them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qdstack.errors import InputError

__all__ = ["ANCHOR_GROUPS", "PreparedLinker", "prepare_linker", "rdkit_version"]

#: Anchoring groups, in order of preference: (description, SMARTS, index of the anchoring atom
#: in the SMARTS match).  Thiols (and thiolates) come first: they are what binds the
#: Pb-terminated facets of lead-halide perovskite dots (Enomoto et al. 2024, refs 69-73).
ANCHOR_GROUPS: tuple[tuple[str, str, int], ...] = (
    ("thiol", "[SX2;H1;!$(S[S,O,N])]", 0),
    ("thiolate", "[SX1;-1]", 0),
    ("selenol", "[SeX2;H1]", 0),
    ("primary amine", "[NX3;H2;!$(N[#6,#7,#15,#16]=[#8,#7,#16])]", 0),
    ("carboxylic acid (carboxyl carbon)", "[CX3](=O)[OX2H1,OX1-1]", 0),
)
_SULFUR_GROUPS = ("thiol", "thiolate")


def rdkit_version() -> str:
    """Version string of the installed RDKit."""
    from rdkit import rdBase

    return rdBase.rdkitVersion


@dataclass(frozen=True)
class PreparedLinker:
    """A parsed, sanitised linker and its anchoring atoms.

    Attributes
    ----------
    mol : rdkit.Chem.Mol
        The molecule without explicit hydrogens, atoms in the input order.
    smiles : str
        RDKit canonical SMILES (no atom maps): the name of the molecule in results.
    key_smiles : str
        Canonical SMILES with both anchoring atoms marked ``:1``: identifies the
        molecule *and* the anchor choice (the cache key).
    anchors : tuple of int
        Indices of the two anchoring atoms in ``mol`` (the order of the input SMILES).
    canonical_anchors : tuple of int
        The same atoms' positions in ``smiles`` (0-based, in the order written there).
    anchor_elements : tuple of str
        Their element symbols.
    anchor_kind : str
        How they were chosen ("thiol", "user", ...).
    """

    mol: object
    smiles: str
    key_smiles: str
    anchors: tuple[int, int]
    canonical_anchors: tuple[int, int]
    anchor_elements: tuple[str, str]
    anchor_kind: str


def _parse_error_detail(text: str) -> str:
    """A short reason why RDKit could not parse ``text`` (best effort)."""
    from rdkit import rdBase

    capture = getattr(rdBase, "CaptureErrorLog", None)
    if capture is None:  # older RDKit: no detail available
        return "RDKit cannot parse it"
    from rdkit import Chem

    with capture() as log:
        Chem.MolFromSmiles(text, sanitize=False)
    messages = str(log.messages)
    m = re.search(r"check for mistakes around position (\d+)", messages)
    if m:
        return f"syntax error near character {m.group(1)}"
    m = re.search(r"SMILES Parse Error: ([^\n]*?)(?: for input:.*)?$", messages, re.M)
    if m:
        return m.group(1).strip().rstrip(":")
    return "RDKit cannot parse it"


def parse_smiles(text: str, source: str):
    """Parse and sanitise ``text``; raise :class:`InputError` (``source``) on failure."""
    from rdkit import Chem, rdBase

    block = rdBase.BlockLogs()  # RDKit would print parse errors on stderr
    try:
        mol = Chem.MolFromSmiles(text) if text.strip() else None
        if mol is None or mol.GetNumAtoms() == 0:
            raw = Chem.MolFromSmiles(text, sanitize=False) if text.strip() else None
            if raw is None or raw.GetNumAtoms() == 0:
                raise InputError(f"not a valid SMILES ({_parse_error_detail(text)})", source)
            try:
                Chem.SanitizeMol(raw)
            except Exception as exc:  # RDKit's own exception types (valence, kekulization)
                raise InputError(f"not a valid molecule ({exc})", source) from None
            raise InputError("not a valid molecule (RDKit rejects it)", source)
    finally:
        del block
    return mol


def _find_anchor_candidates(mol) -> list[tuple[int, str]]:
    from rdkit import Chem

    found: list[tuple[int, str]] = []
    seen: set[int] = set()
    for kind, smarts, which in ANCHOR_GROUPS:
        patt = Chem.MolFromSmarts(smarts)
        for match in mol.GetSubstructMatches(patt):
            idx = match[which]
            if idx not in seen:
                seen.add(idx)
                found.append((idx, kind))
    return found


def choose_anchors(
    mol, anchors: tuple[int, int] | None, source: str
) -> tuple[tuple[int, int], str]:
    """The two anchoring atoms of ``mol`` (indices) and how they were chosen.

    Order of precedence: ``anchors`` given by the user; two atoms carrying the
    atom-map number in the SMILES (``[SH:1]CCC[SH:1]``); exactly two thiol or
    thiolate sulfurs; exactly two anchoring atoms of any group of
    :data:`ANCHOR_GROUPS`.  Anything else raises :class:`InputError` that says
    what was found and how to name the anchors.
    """
    n = mol.GetNumAtoms()
    if anchors is not None:
        try:
            i, j = (int(a) for a in anchors)
        except (TypeError, ValueError):
            raise InputError("anchors must be two atom indices", "anchors") from None
        for a in (i, j):
            if not 0 <= a < n:
                raise InputError(
                    f"atom index {a} is out of range: the molecule has {n} heavy atoms "
                    f"(indices 0-{n - 1} in the order of the SMILES)",
                    "anchors",
                )
        if i == j:
            raise InputError("the two anchoring atoms must be different atoms", "anchors")
        return (i, j), "user"
    mapped = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomMapNum() > 0]
    if len(mapped) == 2:
        return (mapped[0], mapped[1]), "atom map"
    if mapped:
        raise InputError(
            f"{len(mapped)} atoms carry atom-map numbers; mark exactly two anchoring atoms "
            "(e.g. [SH:1]CCC[SH:1])",
            source,
        )
    candidates = _find_anchor_candidates(mol)
    sulfur = [c for c in candidates if c[1] in _SULFUR_GROUPS]
    if len(sulfur) == 2:
        return (sulfur[0][0], sulfur[1][0]), "thiol"
    if len(candidates) == 2:
        kinds = sorted({c[1] for c in candidates})
        return (candidates[0][0], candidates[1][0]), " + ".join(kinds)
    if not candidates:
        raise InputError(
            "no anchoring atoms: a linker needs two groups that bind the dots "
            "(thiol -SH, thiolate, "
            "selenol, primary amine, carboxylic acid); name atoms with --anchors I,J to measure "
            "any other pair",
            source,
        )
    listed = ", ".join(f"{mol.GetAtomWithIdx(i).GetSymbol()}{i} ({k})" for i, k in candidates)
    if len(candidates) == 1:
        raise InputError(
            f"only one anchoring atom ({listed}); a linker needs two "
            "(or name them with --anchors I,J)",
            source,
        )
    raise InputError(
        f"ambiguous anchoring atoms: {len(candidates)} candidates ({listed}); choose two with "
        "--anchors I,J (heavy-atom indices in SMILES order) or mark them as [SH:1]...[SH:1]",
        source,
    )


def _check_supported(mol, source: str) -> None:
    from rdkit import Chem

    if len(Chem.GetMolFrags(mol)) > 1:
        raise InputError(
            f"has {len(Chem.GetMolFrags(mol))} disconnected fragments; give one molecule", source
        )
    radicals = sum(a.GetNumRadicalElectrons() for a in mol.GetAtoms())
    if radicals:
        raise InputError(
            f"has {radicals} unpaired electron(s); only closed-shell molecules are supported "
            "(check the hydrogen counts in brackets, e.g. [SH] not [S])",
            source,
        )
    # Unassigned stereo: double bonds (E/Z give different distances) or more than one
    # stereocentre (diastereomers) must be written out; a single centre is harmless
    # (the two enantiomers have the same distances).
    try:
        info = Chem.FindPotentialStereo(mol)
    except Exception:  # pragma: no cover - very old RDKit
        return
    unassigned = [s for s in info if s.specified == Chem.StereoSpecified.Unspecified]
    bonds = [s for s in unassigned if s.type == Chem.StereoType.Bond_Double]
    centres = [s for s in unassigned if s.type != Chem.StereoType.Bond_Double]
    if bonds or len(centres) > 1:
        what = []
        if bonds:
            what.append(f"{len(bonds)} double bond(s) without E/Z (/ \\)")
        if len(centres) > 1:
            what.append(f"{len(centres)} stereocentres without @/@@")
        raise InputError(
            "stereochemistry not specified: "
            + " and ".join(what)
            + "; isomers have different distances, so write it in the SMILES",
            source,
        )


def prepare_linker(
    text: str, anchors: tuple[int, int] | None = None, source: str | None = None
) -> PreparedLinker:
    """Parse a linker SMILES and choose its anchoring atoms.

    Parameters
    ----------
    text : str
        SMILES of the neutral (or charged, closed-shell) molecule, e.g. ``"SCCCS"``.
    anchors : (int, int), optional
        Heavy-atom indices of the two anchoring atoms in the order of the SMILES
        (0-based).  Default: chosen automatically (see :func:`choose_anchors`).
    source : str, optional
        What errors are attributed to (default ``text``).

    Raises
    ------
    InputError
        Invalid SMILES, several fragments, open shell, unspecified stereochemistry,
        no or ambiguous anchoring atoms.
    """
    from rdkit import Chem

    source = text if source is None else source
    mol = parse_smiles(text, source)
    _check_supported(mol, source)
    (i, j), kind = choose_anchors(mol, anchors, source)
    plain = Chem.Mol(mol)
    for atom in plain.GetAtoms():
        atom.SetAtomMapNum(0)
    smiles = Chem.MolToSmiles(plain)
    order = list(plain.GetProp("_smilesAtomOutputOrder").strip("[],").split(","))
    order = [int(x) for x in order if x.strip()]
    canonical = (order.index(i), order.index(j))
    marked = Chem.Mol(plain)
    marked.GetAtomWithIdx(i).SetAtomMapNum(1)
    marked.GetAtomWithIdx(j).SetAtomMapNum(1)
    key_smiles = Chem.MolToSmiles(marked)
    elements = (plain.GetAtomWithIdx(i).GetSymbol(), plain.GetAtomWithIdx(j).GetSymbol())
    return PreparedLinker(plain, smiles, key_smiles, (i, j), canonical, elements, kind)
