"""The geometry of a linker at one level: anchor-anchor distances, conformers, the gap.

No RDKit here: a :class:`LinkerGeometry` is built from a stored record, so that
the built-in linkers are looked up instantly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qdstack._result import Result
from qdstack.errors import InputError
from qdstack.units import K_B_MEV_PER_K

from ._data import METHOD_DESCRIPTIONS, LevelData

__all__ = ["CONFORMERS", "LinkerGeometry", "boltzmann_weights", "boltzmann_mean"]

#: A linker whose conformers all lie within this anchor-distance spread is rigid [nm].
RIGID_SPREAD_NM: float = 0.01

#: Which conformer's distance ``ss_distance_nm`` reports.
CONFORMERS: tuple[str, ...] = ("anti", "lowest", "boltzmann")


def _check_temperature(temperature_K: float) -> float:
    try:
        t = float(temperature_K)
    except (TypeError, ValueError):
        raise InputError(
            f"must be a number of kelvin, got {temperature_K!r}", "temperature_K"
        ) from None
    if not (math.isfinite(t) and t > 0):
        raise InputError(
            f"must be a positive number of kelvin, got {temperature_K!r}", "temperature_K"
        )
    return t


def boltzmann_weights(energies_meV: Sequence[float], temperature_K: float) -> np.ndarray:
    r"""Boltzmann populations of conformers.

    .. math:: p_i = \frac{\exp(-\Delta E_i / k_B T)}{\sum_j \exp(-\Delta E_j / k_B T)}

    Parameters
    ----------
    energies_meV : sequence of float, shape (n,)
        Conformer energies [meV] (any common zero).
    temperature_K : float
        Temperature [K], > 0.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Populations summing to 1.  Each distinct minimum counts once (no
        vibrational or rotational partition functions: a potential-energy
        Boltzmann average, as usual for conformer ensembles).
    """
    t = _check_temperature(temperature_K)
    e = np.asarray(energies_meV, dtype=float)
    if e.ndim != 1 or e.size == 0 or not np.all(np.isfinite(e)):
        raise InputError("energies must be a non-empty list of finite numbers", "energies_meV")
    x = -(e - e.min()) / (K_B_MEV_PER_K * t)
    w = np.exp(x)
    return w / w.sum()


def boltzmann_mean(
    values: Sequence[float], energies_meV: Sequence[float], temperature_K: float
) -> float:
    r"""Boltzmann-weighted mean of a per-conformer quantity.

    .. math:: \langle d \rangle = \sum_i p_i d_i

    with the populations :math:`p_i` of :func:`boltzmann_weights`.

    Parameters
    ----------
    values : sequence of float, shape (n,)
        The quantity for each conformer (e.g. S-S distances [nm]).
    energies_meV : sequence of float, shape (n,)
        Conformer energies [meV].
    temperature_K : float
        Temperature [K].
    """
    v = np.asarray(values, dtype=float)
    w = boltzmann_weights(energies_meV, temperature_K)
    if v.shape != w.shape:
        raise InputError("values and energies must have the same length", "values")
    return float(np.dot(w, v))


@dataclass(frozen=True)
class LinkerGeometry(Result):
    """Anchor-anchor (S-S) distance of a linker at one level, and its conformers.

    A :class:`~qdstack._result.Result`: ``summary()`` is what ``qdstack linker NAME``
    prints, ``_repr_html_()`` shows it in Jupyter, ``plot()`` the conformers
    (:func:`~qdstack.plotting.linkers.plot_conformers`), ``to_json()`` the JSON object.

    ``ss_distance_nm`` is the distance between the two anchoring atoms (the two
    sulfur atoms of a dithiol) in the conformer named by ``conformer``:

    * ``"anti"`` (the default): the extended all-anti conformer, every rotatable
      sp3-sp3 torsion between the anchors at 180 deg.  This is what the reference
      study's distances are (C3DT 0.55 nm, C10DT 1.46 nm, B3LYP/6-31G(d)) and what
      a linker bridging two dot facets in a packed film looks like; it is what the
      film model uses.
    * ``"lowest"``: the lowest-energy conformer found at this level in vacuum.
      For long alkane chains the level decides whether that is extended or folded
      (MMFF94 and GFN2-xTB differ), and a folded gas-phase minimum says little
      about a linker bound between two dots.
    * ``"boltzmann"``: the Boltzmann-weighted mean over the distinct minima found,
      :math:`\\langle d\\rangle = \\sum_i d_i e^{-\\Delta E_i/k_BT} /
      \\sum_i e^{-\\Delta E_i/k_BT}`,
      at ``temperature_K`` (a free molecule in the gas phase).

    Attributes
    ----------
    name : str
        Built-in name (``"C3DT"``) or the text the user gave (a SMILES).
    smiles : str
        RDKit canonical SMILES.
    method : str
        Level: ``"mmff"``, ``"gfn2"`` or ``"b3lyp"``.
    conformer : str
        ``"anti"``, ``"lowest"`` or ``"boltzmann"``.
    ss_distance_nm : float
        Anchor-anchor distance of that conformer [nm].
    temperature_K : float
        Temperature of the Boltzmann average [K].
    anti_ss_distance_nm, lowest_ss_distance_nm, boltzmann_ss_distance_nm : float
        The three distances [nm].
    anti_energy_eV, lowest_energy_eV : float
        Energies of the all-anti and lowest conformers at this level [eV] (the
        level's own zero; only differences mean anything across conformers).
    ensemble_energy_meV, ensemble_ss_distance_nm : tuple of float
        Distinct minima found: energies above the lowest [meV] and distances [nm].
    anchor_atoms : (int, int)
        Positions of the anchoring atoms among the heavy atoms of ``smiles`` (0-based).
    anchor_elements : (str, str)
        Their elements.
    chain_torsions : int
        Rotatable sp3-sp3 bonds on the path between the anchors: the torsions set
        to 180 deg in the all-anti conformer.  With none, "anti" is simply the
        lowest-energy conformer.
    software : str
        Programs and versions that computed the numbers.
    computed_on : str
        Date of the computation (ISO).
    source : str
        ``"table"`` (shipped built-in table), ``"cache"`` or ``"computed"``.
    description : str or None
        Full chemical name of a built-in linker.
    aliases : tuple of str
        Other names of a built-in linker.
    paper_ss_distance_nm : float or None
        The reference study's B3LYP/6-31G(d) S-S distance, where it states one.
    warnings : tuple of str
        Anything doubtful about the computation.

    References
    ----------
    K. Enomoto et al., Chem. Sci. 15, 13049 (2024): S-S distances of the dithiol
    linkers from B3LYP/6-31G(d), used as the inter-dot spacing.
    """

    name: str
    smiles: str
    method: str
    conformer: str
    ss_distance_nm: float
    temperature_K: float
    anti_ss_distance_nm: float
    lowest_ss_distance_nm: float
    boltzmann_ss_distance_nm: float
    anti_energy_eV: float
    lowest_energy_eV: float
    ensemble_energy_meV: tuple[float, ...]
    ensemble_ss_distance_nm: tuple[float, ...]
    anchor_atoms: tuple[int, int]
    anchor_elements: tuple[str, str]
    chain_torsions: int
    software: str
    computed_on: str
    source: str
    description: str | None = None
    aliases: tuple[str, ...] = ()
    paper_ss_distance_nm: float | None = None
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_level(
        cls,
        level: LevelData,
        *,
        name: str,
        conformer: str = "anti",
        temperature_K: float = 298.15,
        source: str,
        description: str | None = None,
        aliases: Sequence[str] = (),
        paper_ss_distance_nm: float | None = None,
    ) -> LinkerGeometry:
        """Build the geometry of ``conformer`` at ``temperature_K`` from a stored record."""
        if conformer not in CONFORMERS:
            raise InputError(
                f"unknown conformer {conformer!r}; use one of {', '.join(CONFORMERS)}", "conformer"
            )
        t = _check_temperature(temperature_K)
        mean = boltzmann_mean(level.ensemble_ss_distance_nm, level.ensemble_energy_meV, t)
        chosen = {
            "anti": level.anti_ss_distance_nm,
            "lowest": level.lowest_ss_distance_nm,
            "boltzmann": mean,
        }[conformer]
        return cls(
            name=name,
            smiles=level.smiles,
            method=level.method,
            conformer=conformer,
            ss_distance_nm=float(chosen),
            temperature_K=t,
            anti_ss_distance_nm=level.anti_ss_distance_nm,
            lowest_ss_distance_nm=level.lowest_ss_distance_nm,
            boltzmann_ss_distance_nm=mean,
            anti_energy_eV=level.anti_energy_eV,
            lowest_energy_eV=level.lowest_energy_eV,
            ensemble_energy_meV=tuple(level.ensemble_energy_meV),
            ensemble_ss_distance_nm=tuple(level.ensemble_ss_distance_nm),
            anchor_atoms=tuple(level.anchor_atoms),
            anchor_elements=tuple(level.anchor_elements),
            chain_torsions=level.chain_torsions,
            software=level.software,
            computed_on=level.computed_on,
            source=source,
            description=description,
            aliases=tuple(aliases),
            paper_ss_distance_nm=paper_ss_distance_nm,
            warnings=tuple(level.warnings),
        )

    @property
    def rigid(self) -> bool:
        """True when every conformer found has the same anchor distance (within 0.01 nm).

        A flexible chain (rotatable torsions on the anchor-anchor path) of which only
        one conformer was computed is not called rigid.

        Aromatic linkers (BDT, BPDT) are rigid: their conformers differ only in
        end-group (S-H) rotations or ring twists about the S...S axis.
        """
        d = self.ensemble_ss_distance_nm
        if self.chain_torsions > 0 and len(d) < 2:
            return False  # a flexible chain of which only the all-anti conformer was computed
        return (max(d) - min(d)) < RIGID_SPREAD_NM

    @property
    def n_conformers(self) -> int:
        """Number of distinct minima found at this level."""
        return len(self.ensemble_energy_meV)

    @property
    def anti_relative_energy_meV(self) -> float:
        """Energy of the all-anti conformer above the lowest one found [meV] (>= 0)."""
        return (self.anti_energy_eV - self.lowest_energy_eV) * 1e3

    def boltzmann_weights(self, temperature_K: float | None = None) -> np.ndarray:
        """Populations of the distinct minima at ``temperature_K`` (default: this one's)."""
        t = self.temperature_K if temperature_K is None else temperature_K
        return boltzmann_weights(self.ensemble_energy_meV, t)

    def with_conformer(self, conformer: str, temperature_K: float | None = None) -> LinkerGeometry:
        """A copy reporting another conformer (and/or temperature)."""
        if conformer not in CONFORMERS:
            raise InputError(
                f"unknown conformer {conformer!r}; use one of {', '.join(CONFORMERS)}", "conformer"
            )
        t = self.temperature_K if temperature_K is None else _check_temperature(temperature_K)
        mean = boltzmann_mean(self.ensemble_ss_distance_nm, self.ensemble_energy_meV, t)
        chosen = {
            "anti": self.anti_ss_distance_nm,
            "lowest": self.lowest_ss_distance_nm,
            "boltzmann": mean,
        }[conformer]
        return replace(
            self,
            conformer=conformer,
            temperature_K=t,
            ss_distance_nm=float(chosen),
            boltzmann_ss_distance_nm=mean,
        )

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object plus extras.

        Contract keys: ``name, smiles, method, ss_distance_nm, conformer``.
        """
        weights = self.boltzmann_weights()
        return {
            "name": self.name,
            "smiles": self.smiles,
            "method": self.method,
            "ss_distance_nm": self.ss_distance_nm,
            "conformer": self.conformer,
            "temperature_K": self.temperature_K,
            "anti_ss_distance_nm": self.anti_ss_distance_nm,
            "anti_relative_energy_meV": self.anti_relative_energy_meV,
            "lowest_ss_distance_nm": self.lowest_ss_distance_nm,
            "boltzmann_ss_distance_nm": self.boltzmann_ss_distance_nm,
            "anti_energy_eV": self.anti_energy_eV,
            "lowest_energy_eV": self.lowest_energy_eV,
            "n_conformers": self.n_conformers,
            "conformers": [
                {"relative_energy_meV": e, "ss_distance_nm": d, "population": float(p)}
                for e, d, p in zip(self.ensemble_energy_meV, self.ensemble_ss_distance_nm, weights)
            ],
            "anchor_atoms": list(self.anchor_atoms),
            "anchor_elements": list(self.anchor_elements),
            "rigid": self.rigid,
            "chain_torsions": self.chain_torsions,
            "software": self.software,
            "computed_on": self.computed_on,
            "source": self.source,
            "description": self.description,
            "aliases": list(self.aliases),
            "paper_ss_distance_nm": self.paper_ss_distance_nm,
            "warnings": list(self.warnings),
        }

    def _plot(self, ax):
        from qdstack.plotting.linkers import plot_conformers

        return plot_conformers(self, ax=ax)

    def summary_blocks(self, offset_nm: float = 0.0) -> tuple[str, ...]:
        """What ``qdstack linker NAME`` prints: the distances, the conformers, the gap.

        Parameters
        ----------
        offset_nm : float
            Added to the S-S distance to give the inter-dot gap (as ``--offset-nm``,
            through :func:`~qdstack.linkers.linker_gap_nm`).

        Examples
        --------
        >>> from qdstack.linkers import get_linker
        >>> print(get_linker("C3DT").summary())  # doctest: +ELLIPSIS
        C3DT (1,3-propanedithiol)   SMILES SCCCS   anchors S0-S4
        ...
        S-S distance  0.5502 nm   (all-anti (extended) conformer)
        ...
        gap used by the models  0.5502 nm  (S-S distance + offset 0 nm)
        """
        from qdstack.linkers import linker_gap_nm  # the one function that turns a linker into a gap

        gap = linker_gap_nm(self, offset_nm=offset_nm)
        title = self.name if self.description is None else f"{self.name} ({self.description})"
        anchors_txt = "-".join(f"{e}{i}" for e, i in zip(self.anchor_elements, self.anchor_atoms))
        lines = [
            f"{title}   SMILES {self.smiles}   anchors {anchors_txt}",
            f"level {self.method}: {METHOD_DESCRIPTIONS[self.method]}",
        ]
        where = {
            "table": "read from the shipped table",
            "cache": "read from the disk cache",
            "computed": "computed just now",
        }[self.source]
        lines.append(f"  software {self.software}; computed {self.computed_on} ({where})")
        label = {
            "anti": "all-anti (extended) conformer",
            "lowest": "lowest-energy conformer found",
            "boltzmann": f"Boltzmann mean at {self.temperature_K:g} K",
        }[self.conformer]
        what = "-".join(self.anchor_elements) + " distance"  # "S-S distance" for a dithiol
        lines.append(f"{what}  {self.ss_distance_nm:.4f} nm   ({label})")
        if self.rigid:
            spread = max(self.ensemble_ss_distance_nm) - min(self.ensemble_ss_distance_nm)
            lines.append(
                f"  rigid linker: {self.n_conformers} minima (end-group rotamers), "
                f"all with the same S-S distance within {spread:.4f} nm"
            )
        else:
            lines += [
                f"  all-anti         {self.anti_ss_distance_nm:.4f} nm   "
                f"{self.anti_relative_energy_meV:7.1f} meV above the lowest",
                f"  lowest found     {self.lowest_ss_distance_nm:.4f} nm   {0.0:7.1f} meV",
                f"  Boltzmann mean   {self.boltzmann_ss_distance_nm:.4f} nm   at "
                f"{self.temperature_K:g} K over {self.n_conformers} distinct minima",
            ]
        if self.paper_ss_distance_nm is not None:
            lines.append(f"  paper (B3LYP/6-31G(d)): {self.paper_ss_distance_nm:.2f} nm")
        lines.append(
            f"gap used by the models  {gap:.4f} nm  (S-S distance + offset {offset_nm:g} nm)"
            if self.conformer == "anti"
            else f"gap  {gap:.4f} nm  (this S-S distance + offset {offset_nm:g} nm; the models "
            "use the all-anti conformer unless told otherwise)"
        )
        lines += [f"note: {text}" for text in self.warnings]
        return tuple(lines)
