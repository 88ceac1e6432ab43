"""The mechanism plug-in interface of :mod:`qdstack.physics.explain` and its registry.

A *mechanism* is a physical reason why the first excitonic peak of an N-layer
film sits below the monolayer's.  Each one is a small object with

* a ``name`` (``"tunnelling"``, ``"dielectric"``, ...) and a one-line ``summary``;
* ``parameters``: a tuple of :class:`ParameterSpec`, each with the range a
  physicist would defend (``plausible``, with the literature it rests on in
  ``source``) and the wider range physics allows at all (``physical``, used by
  the unbounded refit that decides "explains only with implausible parameters");
* ``predict(conditions, context, **values)``: the shift S(N) = peak(N) - peak(1)
  [meV] of every condition (gap, layers, temperature) for the given parameter
  values.

To add a mechanism, subclass :class:`Mechanism` (or write any object with
these attributes) and call :func:`register_mechanism`; ``qdstack explain``
then fits it, alone and paired with every other one.

Units: lengths nm, energies meV (peak energies relative to the monolayer).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import InputError, OptionError

__all__ = [
    "ParameterSpec",
    "Conditions",
    "ExplainContext",
    "Mechanism",
    "register_mechanism",
    "get_mechanism",
    "available_mechanisms",
]


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a mechanism.

    Attributes
    ----------
    name : str
        Identifier with its unit (``barrier_eV``, ``neck_nm``).
    plausible : (float, float)
        The range the literature supports for a film of CsPbBr3 cubes and alkane
        dithiols (inclusive).  The bounded fit stays inside it.
    physical : (float, float)
        What physics allows at all (a barrier >= 0, a probability in [0, 1]); the
        unbounded refit stays inside it.
    source : str
        Where the plausible range comes from.
    log : bool
        Whether starting grids are spaced logarithmically.
    """

    name: str
    plausible: tuple[float, float]
    physical: tuple[float, float]
    source: str
    log: bool = False

    def __post_init__(self):
        lo, hi = self.plausible
        plo, phi = self.physical
        if not (plo <= lo < hi <= phi):
            raise InputError(
                f"{self.name}: the plausible range must lie inside the physical one", self.name
            )

    def grid(self, which: str = "plausible", n: int = 5) -> np.ndarray:
        """``n`` starting values over the plausible ("plausible"/"bounded") or physical ("physical"/"unbounded") range."""
        if which not in ("plausible", "bounded", "physical", "unbounded"):
            raise ValueError(f"unknown range {which!r}")
        lo, hi = self.plausible if which in ("plausible", "bounded") else self.physical
        if self.log and lo > 0:
            return np.geomspace(lo, hi, n)
        if self.log and lo == 0:
            return np.concatenate([[0.0], np.geomspace(max(hi * 1e-3, 1e-6), hi, n - 1)])
        return np.linspace(lo, hi, n)


@dataclass(frozen=True)
class Conditions:
    """Where shifts are predicted: one entry per measurement.

    Attributes
    ----------
    gap_nm : ndarray
        Face-to-face gap of the linker between layers [nm].
    layers : ndarray of int
        N.
    temperature_K : ndarray
        Temperature of the absorption measurement [K] (sets the homogeneous width).
    """

    gap_nm: np.ndarray
    layers: np.ndarray
    temperature_K: np.ndarray

    def __post_init__(self):
        g = np.atleast_1d(np.asarray(self.gap_nm, dtype=float))
        n = np.atleast_1d(np.asarray(self.layers)).astype(int)
        t = np.broadcast_to(np.asarray(self.temperature_K, dtype=float), g.shape).copy()
        if g.shape != n.shape:
            raise InputError("gap_nm and layers must have one entry per measurement", "conditions")
        object.__setattr__(self, "gap_nm", g)
        object.__setattr__(self, "layers", n)
        object.__setattr__(self, "temperature_K", t)

    def __len__(self) -> int:
        return int(self.gap_nm.size)

    def groups(self):
        """``(gap, temperature) -> indices``: the measurements that share one film series."""
        out: dict[tuple[float, float], list[int]] = {}
        for i, (g, t) in enumerate(zip(self.gap_nm, self.temperature_K)):
            out.setdefault((round(float(g), 9), round(float(t), 6)), []).append(i)
        return out


@dataclass(frozen=True)
class ExplainContext:
    """What every mechanism shares: the dots, their surroundings and the line widths.

    Built from a film-model parameter set (:func:`context_from_parameters`), whose
    barrier is *not* used (the barrier is what the tunnelling mechanism fits).

    Attributes
    ----------
    edge_nm, edge_sd_nm : float
        Mean dot edge and its standard deviation [nm].
    material : Material
    film : FilmParameters
        Dielectric constants, ligand shell, outer barrier, line widths.
    exciton_eV, binding_meV : float
        Single-dot exciton energy and on-site binding of the mean dot.
    inhomogeneous_fwhm_meV : float
        FWHM of the exciton energies from the size distribution,
        ``2 sqrt(2 ln 2) |dE_X/dL| sd_L``.
    """

    edge_nm: float
    edge_sd_nm: float
    material: object
    film: object
    exciton_eV: float
    binding_meV: float
    inhomogeneous_fwhm_meV: float
    notes: tuple[str, ...] = field(default=())

    def fwhm_meV(self, temperature_K) -> np.ndarray:
        """Total Gaussian FWHM of one dot's line in the film at temperature T [meV].

        ``sqrt(Gamma_hom(T)^2 + Gamma_inh^2)``: the homogeneous width of the parameter
        set (eqn 3 form, pinned at its temperature) and the size distribution's width.
        """
        hom = np.asarray(self.film.homogeneous_fwhm_at(temperature_K), dtype=float)
        return np.sqrt(hom**2 + self.inhomogeneous_fwhm_meV**2)

    def sigma_meV(self, temperature_K) -> np.ndarray:
        return self.fwhm_meV(temperature_K) / (2.0 * math.sqrt(2.0 * math.log(2.0)))


@functools.lru_cache(maxsize=8)
def _context(name: str, edge_nm: float, edge_sd_nm: float) -> ExplainContext:
    from qdstack.physics.film_model import load_parameter_set
    from qdstack.physics.film_model.dots import _material
    from qdstack.physics.single_dot import exciton

    film = load_parameter_set(name)
    mat = _material(film)
    kw = dict(barrier_eV=film.outer_barrier_eV, barrier_mass=film.outer_barrier_mass)
    x0 = exciton(edge_nm, mat, **kw)
    h = 0.05
    slope = (
        exciton(edge_nm + h, mat, **kw).energy_eV - exciton(edge_nm - h, mat, **kw).energy_eV
    ) / (2 * h)
    inh = 2.0 * math.sqrt(2.0 * math.log(2.0)) * abs(slope) * 1e3 * edge_sd_nm
    return ExplainContext(
        edge_nm=edge_nm,
        edge_sd_nm=edge_sd_nm,
        material=mat,
        film=film,
        exciton_eV=x0.energy_eV,
        binding_meV=x0.binding_meV,
        inhomogeneous_fwhm_meV=inh,
    )


def context_from_parameters(
    name: str = "enomoto2024", *, edge_nm: float = 6.8, edge_sd_nm: float = 0.5
) -> ExplainContext:
    """The shared context from a film-model parameter set (cached)."""
    if not (math.isfinite(edge_nm) and edge_nm > 1.0):
        raise OptionError(f"the dot edge must be a length above 1 nm, got {edge_nm!r}", "--edge-nm")
    if not (math.isfinite(edge_sd_nm) and 0 <= edge_sd_nm < edge_nm / 4):
        raise OptionError(
            f"the edge spread must be >= 0 and below a quarter of the edge, got {edge_sd_nm!r}",
            "--edge-sd-nm",
        )
    return _context(name, float(edge_nm), float(edge_sd_nm))


class Mechanism:
    """Base class of a mechanism (see the module docstring for the interface).

    Subclasses set ``name``, ``summary``, ``parameters`` and implement
    :meth:`predict`.  ``reduction`` documents how the prediction is reduced from
    the full film model (and how it was checked against it).
    """

    name: str = ""
    summary: str = ""
    reduction: str = ""
    parameters: tuple[ParameterSpec, ...] = ()

    def predict(self, conditions: Conditions, context: ExplainContext, **values) -> np.ndarray:
        """Shift S(N) = peak(N) - peak(1) [meV] for every condition."""
        raise NotImplementedError

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def spec(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"<mechanism {self.name}: {', '.join(self.parameter_names)}>"


_REGISTRY: dict[str, Mechanism] = {}
_BUILTIN_ORDER = ("tunnelling", "dielectric", "surface", "fusion")


def register_mechanism(mechanism: Mechanism, *, replace: bool = False) -> Mechanism:
    """Add a mechanism to the registry ``qdstack explain`` fits.

    Raises
    ------
    OptionError
        The name is taken (unless ``replace``), contains ``+`` or ``,``, or the
        object lacks the interface.
    """
    name = getattr(mechanism, "name", "")
    if not name or "+" in name or "," in name or name != name.strip():
        raise OptionError(f"a mechanism needs a name without '+' or ',', got {name!r}", "mechanism")
    for attr in ("parameters", "predict"):
        if not hasattr(mechanism, attr):
            raise OptionError(f"mechanism {name!r} has no {attr}", "mechanism")
    if name in _REGISTRY and not replace:
        raise OptionError(f"a mechanism named {name!r} is already registered", "mechanism")
    _REGISTRY[name] = mechanism
    return mechanism


def _ensure_builtins() -> None:
    if not _REGISTRY or "tunnelling" not in _REGISTRY:
        from qdstack.physics.explain import dielectric, fusion, surface, tunnelling  # noqa: F401


def available_mechanisms() -> list[str]:
    """Names of the registered mechanisms, built-ins first."""
    _ensure_builtins()
    builtin = [n for n in _BUILTIN_ORDER if n in _REGISTRY]
    return builtin + [n for n in _REGISTRY if n not in _BUILTIN_ORDER]


def get_mechanism(name: str) -> Mechanism:
    """A registered mechanism by name (OptionError naming the known ones otherwise)."""
    _ensure_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise OptionError(
            f"unknown mechanism {name!r}; known: {', '.join(_REGISTRY)}", "--mechanisms"
        ) from None
