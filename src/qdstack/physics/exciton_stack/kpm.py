"""An exciton on a stack of coupled quantum dots: the two-particle Hamiltonian and its spectra.

The model
---------
A stack of ``S`` dots (a column of ``N`` layers, or a small in-plane block) holds
one electron-hole pair.  Each dot ``i`` has one electron level ``e_i`` and one
hole level ``h_i`` (the lowest confined states of that dot, whose size may
differ from its neighbours').  The basis is the ``S**2`` pair states
``|i, j> = |electron on dot i, hole on dot j>`` and the Hamiltonian is

.. math::

    H = \\sum_{ij} (e_i + h_j - U_{ij}) |ij\\rangle\\langle ij|
        - \\sum_{\\langle ab \\rangle} \\beta^e_{ab} \\sum_j (|aj\\rangle\\langle bj| + h.c.)
        - \\sum_{\\langle ab \\rangle} \\beta^h_{ab} \\sum_i (|ia\\rangle\\langle ib| + h.c.)
        + \\sum_{i \\ne k} J_{ik} |ii\\rangle\\langle kk|

with ``U_ii`` the exciton binding energy of dot ``i`` (on-site attraction),
``U_ij`` (i != j) the screened attraction of an electron and a hole on
different dots, ``beta^e``, ``beta^h`` the single-carrier tunnelling couplings
of neighbouring dots (positive beta lowers the bonding state), and ``J_ik`` the
dipolar (Foerster) transfer of a whole exciton between dots.  The Frenkel limit
(``beta -> 0``: the exciton moves only by ``J``) and the charge-transfer /
Wannier limit (``U -> 0``: electron and hole move independently) are both
inside it (Agranovich 2009; Hoffmann 2000; Hestand & Spano 2018).

Light couples to the pair states with the electron and hole on the same dot,
coherently: the transition amplitude of eigenstate ``n`` is
``<n|B>`` with the *bright vector* ``B = sum_i |ii>``, so its oscillator
strength, in units of one isolated dot's, is

.. math:: f_n = |\\sum_i c_n(i, i)|^2, \\qquad \\sum_n f_n = S.

The absorption per dot of one realisation is
``A(E) = (1/S) sum_n f_n g(E - E_n)`` with a homogeneous line shape ``g``
(area 1): ``A`` has area 1 and is the spectral density of ``B/sqrt(S)``.

How the ensemble spectrum is computed
-------------------------------------
Films are ensembles of disordered columns; what is measured is the average of
``A(E)`` over realisations.  Because ``A(E) = <b| g(E - H) |b>``
(``b = B/sqrt(S)``) is linear in the spectral measure of ``b``, the average
is taken on the *Chebyshev moments* ``mu_m = <b| T_m(H~) |b>`` of the measure
(``H~ = (H - c)/a`` maps every realisation's spectrum into [-1, 1]); each
moment needs only sparse matrix-vector products, done for all realisations at
once on ``(R, S, S)`` arrays, two moments per product (Weisse et al. 2006).
The spectrum is then

.. math:: \\bar A(E) = \\sum_{m<M} c_m(E)\\, \\bar\\mu_m,

where ``c_m(E)`` are the exact Chebyshev coefficients of the Gaussian line
shape ``x -> g(E - c - a x)`` on [-1, 1] (computed by a discrete cosine
transform).  Nothing is approximated but the truncation at ``M`` moments, and
because ``|T_m| <= 1`` and the weights sum to one its error is bounded by
``sum_{m>=M} max_E |c_m(E)|``; ``M`` is chosen so that this bound is below a
tolerance (default 1e-9 of the peak height of one line).  No eigenvalue of any
realisation is computed.  The recursion runs in a compiled kernel
(:mod:`qdstack.physics._stack_kernels`, numba: one fused pass per product over
cache-sized blocks of realisations) or, without numba, in numpy array
operations; for a column of 8 layers (64 pair states) and 1e5 realisations
this is about 200x (numpy: 35x) faster than a per-realisation
``numpy.linalg.eigh`` loop, each single-threaded (``benchmarks/bench_film.py``,
``docs/guide/performance.md``), and all give the same spectrum (tested).

Emission needs the thermal populations of *all* states (dark ones included),
so it uses batched dense eigensolves on a (smaller) number of realisations:
:func:`thermal_emission`.

References
----------
V. M. Agranovich, *Excitations in Organic Solids*, Oxford (2009), ch. 2-3
(Frenkel and charge-transfer excitons).
M. Hoffmann, in *Electronic Excitations in Organic Based Nanostructures*,
Thin Films and Nanostructures 31, 221 (2003) (mixing of Frenkel and CT excitons).
N. J. Hestand and F. C. Spano, Chem. Rev. 118, 7069 (2018) (Frenkel-CT
Hamiltonians, effective exciton coupling 2 t_e t_h / (E_CT - E_F)).
A. Weisse, G. Wellein, A. Alvermann and H. Fehske, Rev. Mod. Phys. 78, 275
(2006) (kernel polynomial method, Chebyshev moments, doubling trick).
R. Haydock, V. Heine and M. J. Kelly, J. Phys. C 5, 2845 (1972) (recursion
method: local spectral densities from a starting vector).
G. H. Golub and G. Meurant, *Matrices, Moments and Quadrature with
Applications*, Princeton (2010) (moments, Lanczos and Gauss quadrature).
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import InputError
from qdstack.units import K_B_MEV_PER_K

__all__ = [
    "ExcitonStack",
    "chain_bonds",
    "block_bonds",
    "hamiltonian_matrix",
    "spectral_bounds_meV",
    "chebyshev_moments",
    "gaussian_chebyshev_coefficients",
    "BrightSpectrum",
    "bright_spectrum",
    "bright_spectrum_dense",
    "EigenStates",
    "eigenstates",
    "oscillator_strengths",
    "participation_ratios",
    "bright_centroid_meV",
    "ThermalEmission",
    "thermal_emission",
    "gaussian_sigma_meV",
    "tight_binding_chain_meV",
    "effective_exciton_hopping_meV",
]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _single_thread_blas():
    """BLAS limited to one thread while inside (the parallelism here is over realisations).

    Multi-threaded BLAS on the many small dot products and eigensolves of this
    module only spin-waits, and on a shared machine that costs 10x; the helper
    of :mod:`qdstack.physics._eigen` (threadpoolctl, or OpenBLAS's own setter)
    does the limiting when available.
    """
    try:
        from qdstack.physics._eigen import blas_single_thread
    except ImportError:  # pragma: no cover - the engine module is part of the package
        from contextlib import nullcontext

        return nullcontext()
    return blas_single_thread()


def gaussian_sigma_meV(fwhm_meV: float) -> float:
    """Standard deviation of a Gaussian of the given FWHM: ``sigma = FWHM / (2 sqrt(2 ln 2))``."""
    return float(fwhm_meV) / _FWHM_PER_SIGMA


def tight_binding_chain_meV(n_sites: int, onsite_meV: float, beta_meV: float) -> np.ndarray:
    """Eigenvalues of an open chain of identical sites, ascending.

    ``E_k = onsite - 2 beta cos(k pi / (N + 1))``, ``k = 1..N`` (positive beta
    puts the nodeless state lowest).

    References
    ----------
    Any tight-binding text, e.g. N. W. Ashcroft and N. D. Mermin, *Solid State
    Physics* (1976), ch. 10.
    """
    k = np.arange(1, int(n_sites) + 1)
    return np.sort(onsite_meV - 2.0 * beta_meV * np.cos(k * np.pi / (n_sites + 1)))


def effective_exciton_hopping_meV(beta_e_meV, beta_h_meV, delta_meV):
    """Second-order exciton parameters of the strong-binding (Frenkel) limit.

    With the charge-transfer states ``|i+1, i>``, ``|i, i+1>`` a gap
    ``Delta = U_0 - U_1`` above the on-site exciton and ``beta << Delta``, the
    exciton moves by a two-step process (electron then hole, or hole then
    electron) with the effective coupling and self-energy (per neighbour)

    .. math::

        J_{eff} = 2 \\beta_e \\beta_h / \\Delta, \\qquad
        \\Sigma = (\\beta_e^2 + \\beta_h^2) / \\Delta .

    Returns
    -------
    (J_eff_meV, self_energy_meV) : tuple of float
        ``J_eff`` in the sign convention of this module (positive lowers the
        in-phase state) and the downward shift per neighbour.

    References
    ----------
    N. J. Hestand and F. C. Spano, Chem. Rev. 118, 7069 (2018), eqn (58);
    R. E. Merrifield, J. Chem. Phys. 34, 1835 (1961).
    """
    be = np.asarray(beta_e_meV, dtype=float)
    bh = np.asarray(beta_h_meV, dtype=float)
    d = np.asarray(delta_meV, dtype=float)
    return 2.0 * be * bh / d, (be**2 + bh**2) / d


# ----------------------------------------------------------------------------- description


def chain_bonds(n_sites: int) -> np.ndarray:
    """Nearest-neighbour bonds ``(i, i + 1)`` of a column of ``n_sites`` dots, shape (n-1, 2)."""
    i = np.arange(max(int(n_sites) - 1, 0))
    return np.stack([i, i + 1], axis=1).astype(np.intp)


def block_bonds(m: int, n_layers: int, *, periodic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Bonds of an ``m x m x n_layers`` block of dots (site index ``(x * m + y) * n_layers + z``).

    Parameters
    ----------
    m : int
        Dots along each in-plane direction.
    n_layers : int
        Layers along the stacking axis z (open ends: substrate and top).
    periodic : bool
        Close the block in the plane (a torus, ``m >= 3``): every dot has four
        in-plane neighbours, as in an extended film, and the in-phase (k = 0)
        combination is an exact eigenmode of the uniform lattice.

    Returns
    -------
    out_of_plane, in_plane : ndarray, shape (nb, 2)
        Bonds along the stacking axis (through the linker) and in the plane
        (through the native ligand shell).
    """
    m = int(m)
    n = int(n_layers)
    if m < 1 or n < 1:
        raise InputError("the block needs m >= 1 and n_layers >= 1", "block")
    if periodic and m < 3:
        raise InputError(
            "a periodic block needs m >= 3 (m = 2 would bond a pair of dots twice)", "block"
        )
    idx = np.arange(m * m * n).reshape(m, m, n)
    z = np.stack([idx[:, :, :-1].ravel(), idx[:, :, 1:].ravel()], axis=1)
    if periodic:
        x = np.stack([idx.ravel(), np.roll(idx, -1, axis=0).ravel()], axis=1)
        y = np.stack([idx.ravel(), np.roll(idx, -1, axis=1).ravel()], axis=1)
    else:
        x = np.stack([idx[:-1, :, :].ravel(), idx[1:, :, :].ravel()], axis=1)
        y = np.stack([idx[:, :-1, :].ravel(), idx[:, 1:, :].ravel()], axis=1)
    in_plane = np.concatenate([x, y]) if m > 1 else np.zeros((0, 2), dtype=np.intp)
    return z.astype(np.intp), in_plane.astype(np.intp)


def _as_batch(x, ndim: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == ndim - 1:
        a = a[None]
    if a.ndim != ndim:
        raise InputError(
            f"{name} must have {ndim - 1} or {ndim} dimensions, got shape {a.shape}", name
        )
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} must be finite", name)
    return a


@dataclass(frozen=True)
class ExcitonStack:
    """R realisations of one electron-hole pair on a stack of S dots (a plain description).

    All energies are in meV relative to ``reference_eV``; the pair state
    ``|i, j>`` has the energy ``reference_eV + (electron_meV[i] + hole_meV[j]
    - coulomb_meV[i, j]) / 1000`` eV before hopping.

    Parameters
    ----------
    electron_meV, hole_meV : ndarray, shape (R, S)
        Lowest electron and hole level of each dot [meV] (their sum is the
        dot's band gap plus confinement energies, minus ``reference_eV``).
    coulomb_meV : ndarray, shape (R, S, S)
        Electron-hole attraction [meV], positive: the diagonal is each dot's
        exciton binding energy, the rest the screened attraction of a pair on
        different dots.  Symmetric.
    bonds : ndarray of int, shape (B, 2)
        Pairs of dots coupled by tunnelling (shared by all realisations).
    beta_e_meV, beta_h_meV : ndarray, shape (R, B)
        Electron and hole tunnelling couplings of each bond [meV] (positive
        lowers the bonding combination).
    dipolar_meV : ndarray, shape (R, S, S), optional
        Dipolar (Foerster) transfer ``J_ik`` between ``|ii>`` and ``|kk>`` [meV];
        symmetric, zero diagonal.  Positive raises the in-phase combination
        (side-by-side, H-type dipoles).
    reference_eV : float
        Energy zero of the meV values [eV].

    Notes
    -----
    1-D (2-D for ``coulomb_meV``) inputs describe one realisation (R = 1).
    """

    electron_meV: np.ndarray
    hole_meV: np.ndarray
    coulomb_meV: np.ndarray
    bonds: np.ndarray
    beta_e_meV: np.ndarray
    beta_h_meV: np.ndarray
    dipolar_meV: np.ndarray | None = None
    reference_eV: float = 0.0

    def __post_init__(self):
        e = _as_batch(self.electron_meV, 2, "electron_meV")
        h = _as_batch(self.hole_meV, 2, "hole_meV")
        r, s = e.shape
        if h.shape != (r, s):
            raise InputError(f"hole_meV has shape {h.shape}, expected {(r, s)}", "hole_meV")
        u = _as_batch(self.coulomb_meV, 3, "coulomb_meV")
        if u.shape != (r, s, s):
            raise InputError(
                f"coulomb_meV has shape {u.shape}, expected {(r, s, s)}", "coulomb_meV"
            )
        if not np.allclose(u, u.transpose(0, 2, 1), rtol=1e-12, atol=1e-12):
            raise InputError("coulomb_meV must be symmetric", "coulomb_meV")
        bonds = np.asarray(self.bonds, dtype=np.intp).reshape(-1, 2)
        if bonds.size and (
            bonds.min() < 0 or bonds.max() >= s or np.any(bonds[:, 0] == bonds[:, 1])
        ):
            raise InputError(f"bonds must join two different dots 0..{s - 1}", "bonds")
        nb = bonds.shape[0]
        be = np.broadcast_to(
            _as_batch(self.beta_e_meV, 2, "beta_e_meV") if nb else np.zeros((r, 0)), (r, nb)
        )
        bh = np.broadcast_to(
            _as_batch(self.beta_h_meV, 2, "beta_h_meV") if nb else np.zeros((r, 0)), (r, nb)
        )
        f = None
        if self.dipolar_meV is not None:
            f = _as_batch(self.dipolar_meV, 3, "dipolar_meV")
            if f.shape != (r, s, s):
                raise InputError(
                    f"dipolar_meV has shape {f.shape}, expected {(r, s, s)}", "dipolar_meV"
                )
            if not np.allclose(f, f.transpose(0, 2, 1)) or np.any(np.einsum("rii->ri", f) != 0):
                raise InputError(
                    "dipolar_meV must be symmetric with a zero diagonal", "dipolar_meV"
                )
        for name, val in (
            ("electron_meV", e),
            ("hole_meV", h),
            ("coulomb_meV", u),
            ("bonds", bonds),
            ("beta_e_meV", np.ascontiguousarray(be)),
            ("beta_h_meV", np.ascontiguousarray(bh)),
            ("dipolar_meV", f),
        ):
            if val is not None:
                val = np.ascontiguousarray(val)
                val.setflags(write=False)
            object.__setattr__(self, name, val)
        object.__setattr__(self, "reference_eV", float(self.reference_eV))

    @property
    def n_realisations(self) -> int:
        return int(self.electron_meV.shape[0])

    @property
    def n_sites(self) -> int:
        return int(self.electron_meV.shape[1])

    @property
    def dimension(self) -> int:
        """Number of pair states, ``S**2``."""
        return self.n_sites**2

    def pair_energies_meV(self, rows: slice = slice(None)) -> np.ndarray:
        """Diagonal ``e_i + h_j - U_ij`` [meV], shape (R, S, S) (electron index first)."""
        return (
            self.electron_meV[rows, :, None] + self.hole_meV[rows, None, :] - self.coulomb_meV[rows]
        )

    def subset(self, rows) -> "ExcitonStack":
        """The realisations ``rows`` (a slice or index array) as a new stack."""
        return ExcitonStack(
            electron_meV=self.electron_meV[rows],
            hole_meV=self.hole_meV[rows],
            coulomb_meV=self.coulomb_meV[rows],
            bonds=self.bonds,
            beta_e_meV=self.beta_e_meV[rows],
            beta_h_meV=self.beta_h_meV[rows],
            dipolar_meV=None if self.dipolar_meV is None else self.dipolar_meV[rows],
            reference_eV=self.reference_eV,
        )


# ----------------------------------------------------------------------------- dense matrices


def hamiltonian_matrix(stack: ExcitonStack, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
    """Dense two-particle Hamiltonians [meV], shape (R, S**2, S**2); basis index ``i * S + j``.

    ``|i, j>``: electron on dot i, hole on dot j.  Meant for small stacks and
    for checking the matrix-free path.
    """
    s = stack.n_sites
    d = stack.pair_energies_meV(rows)
    r = d.shape[0]
    h = np.zeros((r, s * s, s * s))
    idx = np.arange(s * s)
    h[:, idx, idx] = d.reshape(r, -1)
    be = stack.beta_e_meV[rows]
    bh = stack.beta_h_meV[rows]
    js = np.arange(s)
    for k, (a, b) in enumerate(stack.bonds):
        # electron a <-> b, hole anywhere
        h[:, a * s + js, b * s + js] -= be[:, k, None]
        h[:, b * s + js, a * s + js] -= be[:, k, None]
        # hole a <-> b, electron anywhere
        h[:, js * s + a, js * s + b] -= bh[:, k, None]
        h[:, js * s + b, js * s + a] -= bh[:, k, None]
    if stack.dipolar_meV is not None:
        diag = js * s + js
        h[:, diag[:, None], diag[None, :]] += stack.dipolar_meV[rows]
    return h


def _incidence(bonds: np.ndarray, n_sites: int) -> np.ndarray:
    """Bond-site incidence matrix, shape (B, S): 1 where the bond touches the dot."""
    inc = np.zeros((bonds.shape[0], n_sites))
    if bonds.size:
        k = np.arange(bonds.shape[0])
        inc[k, bonds[:, 0]] = 1.0
        inc[k, bonds[:, 1]] = 1.0
    return inc


def spectral_bounds_meV(
    stack: ExcitonStack, chunk: int = 8192, *, engine: str = "auto"
) -> tuple[float, float]:
    """Gershgorin bounds [meV] that contain every eigenvalue of every realisation.

    Row ``|ij>`` has the centre ``e_i + h_j - U_ij`` and the radius
    ``sum_b |beta^e_b| (bonds at i) + sum_b |beta^h_b| (bonds at j)``
    (+ ``sum_k |J_ik|`` when i = j).  ``engine``: as in :func:`chebyshev_moments`
    (the compiled one makes one pass over the arrays; the same numbers).
    """
    if _use_compiled(engine, float(stack.n_realisations) * stack.dimension * _TYPICAL_MOMENTS):
        lo, hi, _ = _compiled_kernels().bounds_and_centroid(stack)
        return lo, hi
    s = stack.n_sites
    inc = _incidence(stack.bonds, s)
    lo, hi = math.inf, -math.inf
    for a in range(0, stack.n_realisations, chunk):
        rows = slice(a, a + chunk)
        rad_e = np.abs(stack.beta_e_meV[rows]) @ inc  # (R, S)
        rad_h = np.abs(stack.beta_h_meV[rows]) @ inc
        d = stack.pair_energies_meV(rows)
        rad = rad_e[:, :, None] + rad_h[:, None, :]
        if stack.dipolar_meV is not None:
            i = np.arange(s)
            rad[:, i, i] += np.abs(stack.dipolar_meV[rows]).sum(axis=2)
        lo = min(lo, float(np.min(d - rad)))
        hi = max(hi, float(np.max(d + rad)))
    return lo, hi


# ----------------------------------------------------------------------------- matrix-free operator


def _hop_groups(bonds: np.ndarray):
    """Directed hops grouped so that the targets inside a group are unique.

    Returns a list of (targets, sources, bond_ids); each index is a slice when
    it is a contiguous run, so that the hops of a chain are plain array views.
    """
    directed = [(int(a), int(b), k) for k, (a, b) in enumerate(bonds)]
    directed += [(int(b), int(a), k) for k, (a, b) in enumerate(bonds)]
    groups: list[list[tuple[int, int, int]]] = []
    for hop in directed:
        for g in groups:
            if all(hop[0] != t for t, _, _ in g):
                g.append(hop)
                break
        else:
            groups.append([hop])

    def as_index(values):
        values = np.asarray(values, dtype=np.intp)
        if values.size and np.all(np.diff(values) == 1):
            return slice(int(values[0]), int(values[-1]) + 1)
        return values

    out = []
    for g in groups:
        g.sort()
        t, s_, k = zip(*g)
        out.append((as_index(t), as_index(s_), as_index(k)))
    return out


class _ScaledOperator:
    """``alpha * (H - shift)`` for a block of realisations, on arrays of shape (S, S, R).

    The realisation index is the last (contiguous) axis, so every operation
    runs over long contiguous runs of memory whatever the number of dots.
    """

    def __init__(self, stack: ExcitonStack, rows: slice, alpha: float, shift_meV: float):
        s = stack.n_sites
        self.s = s
        d = alpha * (stack.pair_energies_meV(rows) - shift_meV)
        self.diag = np.ascontiguousarray(d.transpose(1, 2, 0))
        be = -alpha * stack.beta_e_meV[rows].T  # (B, R)
        bh = -alpha * stack.beta_h_meV[rows].T
        self.e_hops = []
        self.h_hops = []
        for t, src, k in _hop_groups(stack.bonds):
            self.e_hops.append((t, src, np.ascontiguousarray(be[k])[:, None, :]))
            self.h_hops.append((t, src, np.ascontiguousarray(bh[k])[None, :, :]))
        self.dip = None
        if stack.dipolar_meV is not None:
            self.dip = np.ascontiguousarray((alpha * stack.dipolar_meV[rows]).transpose(1, 2, 0))
        self.diag_idx = np.arange(s) * (s + 1)
        self._tmp = None

    def apply(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out = alpha (H - shift) v`` for ``v`` of shape (S, S, R); returns ``out``."""
        np.multiply(self.diag, v, out=out)
        if self._tmp is None or self._tmp.shape != v.shape:
            self._tmp = np.empty_like(v)
        tmp = self._tmp
        for t, src, c in self.e_hops:
            part = v[src, :, :]
            buf = tmp[: part.shape[0]]
            np.multiply(c, part, out=buf)
            out[t, :, :] += buf
        for t, src, c in self.h_hops:
            part = v[:, src, :]
            buf = tmp[:, : part.shape[1]]
            np.multiply(c, part, out=buf)
            out[:, t, :] += buf
        if self.dip is not None:
            s = self.s
            # |ii> components: a strided view (every (S+1)-th row), no copies
            diag_in = v.reshape(s * s, -1)[:: s + 1]
            out.reshape(s * s, -1)[:: s + 1] += np.einsum("ikr,kr->ir", self.dip, diag_in)
        return out


def _bright_start(r: int, s: int) -> np.ndarray:
    """Bright start vectors ``sum_i |ii> / sqrt(S)`` of r realisations, shape (S, S, r)."""
    v = np.zeros((s, s, r))
    i = np.arange(s)
    v[i, i, :] = 1.0 / math.sqrt(s)
    return v


def chebyshev_moments(
    stack: ExcitonStack,
    n_moments: int,
    centre_meV: float,
    half_width_meV: float,
    *,
    chunk: int | None = None,
    threads: int = 1,
    engine: str = "auto",
) -> np.ndarray:
    """Ensemble-averaged Chebyshev moments of the bright vector, shape (n_moments,).

    ``mu_m = (1/R) sum_r <b_r| T_m((H_r - centre) / half_width) |b_r>`` with
    ``b = sum_i |ii> / sqrt(S)``; every eigenvalue must lie inside
    ``centre +- half_width`` (use :func:`spectral_bounds_meV`).

    Parameters
    ----------
    stack : ExcitonStack
    n_moments : int
        Number of moments M (M/2 + 1 matrix-vector products per realisation).
    centre_meV, half_width_meV : float
        The affine map of the spectrum onto [-1, 1].
    chunk : int, optional
        Realisations per job (default: the compiled engine splits the ensemble
        into one job per thread, or jobs of 2**14 realisations; the numpy engine
        uses blocks of about 2**16 numbers, which stay in cache).
    threads : int
        Jobs computed in parallel threads (numpy and the compiled kernel release
        the GIL); the result does not depend on it (the jobs are summed in order).
    engine : {"auto", "compiled", "numpy"}
        ``"compiled"``: the numba kernel of :mod:`qdstack.physics._stack_kernels`
        (one fused pass per matrix-vector product, 5-6x faster than numpy on an
        8-layer column); ``"numpy"``: array operations; ``"auto"``: compiled when
        numba is importable and either the kernel already ran in this process or
        the numpy path would take longer (about 0.5 s) than importing numba and
        loading the kernel.  Both do the same float64 arithmetic (they agree to
        ~1e-15; tested).

    References
    ----------
    A. Weisse et al., Rev. Mod. Phys. 78, 275 (2006), section II.B (moments,
    the doubling relations mu_2n = 2 <v_n|v_n> - mu_0, mu_2n+1 = 2 <v_n+1|v_n> - mu_1).
    """
    n_moments = int(n_moments)
    if n_moments < 1:
        raise InputError("at least one moment is needed", "n_moments")
    if not half_width_meV > 0:
        raise InputError(
            "the half width of the spectral interval must be positive", "half_width_meV"
        )
    r_total = stack.n_realisations
    compiled = _use_compiled(engine, float(r_total) * stack.dimension * n_moments)
    if chunk is None:
        if compiled:
            chunk = min(1 << 14, -(-r_total // max(1, int(threads))))
        else:
            chunk = (1 << 16) // stack.dimension
    chunk = max(1, int(chunk))
    jobs = [slice(a, min(a + chunk, r_total)) for a in range(0, r_total, chunk)]

    if compiled:
        kernels = _compiled_kernels()
        alpha = 2.0 / half_width_meV  # the kernel applies 2 H~ = alpha (H - centre)

        def work(rows):
            return kernels.moments_sum(stack, rows, n_moments, alpha, centre_meV)
    else:

        def work(rows):
            return _moments_block(stack, rows, n_moments, centre_meV, half_width_meV)

    with nullcontext() if compiled else _single_thread_blas():
        if threads > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=int(threads)) as pool:
                parts = list(pool.map(work, jobs))
        else:
            parts = [work(rows) for rows in jobs]
    return np.sum(parts, axis=0) / r_total


def _compiled_kernels():
    """The numba kernel module, or None when numba is not importable."""
    from qdstack.physics import _stack_kernels

    return _stack_kernels if _stack_kernels.available() else None


#: numpy cost of the moments per (realisation x pair state x moment) [s], and what importing
#: numba and loading the compiled kernel from its cache costs a fresh process [s]; both measured
#: on the 2-core reference machine (benchmarks/bench_film.py, docs/guide/performance.md)
_NUMPY_S_PER_UNIT = 3.5e-9
_COMPILED_START_S = 0.5
_TYPICAL_MOMENTS = 48


def _use_compiled(engine: str, work_units: float) -> bool:
    """Whether to run the compiled kernels: ``engine`` as asked; ``"auto"`` picks them when numba
    is there and either they already ran in this process or the numpy path would take longer than
    their start-up (``work_units`` = realisations x pair states x moments)."""
    if engine == "numpy":
        return False
    if engine not in ("auto", "compiled"):
        raise InputError(f"unknown engine {engine!r}; use auto, compiled or numpy", "engine")
    if engine == "compiled":
        if _compiled_kernels() is None:
            raise InputError("the compiled engine needs numba (pip install numba)", "engine")
        return True
    loaded = sys.modules.get("qdstack.physics._stack_kernels")
    if loaded is not None and loaded.available() and loaded.is_warm():
        return True
    if work_units * _NUMPY_S_PER_UNIT < _COMPILED_START_S:
        return False
    return _compiled_kernels() is not None


def _moments_block(stack: ExcitonStack, rows: slice, n_moments: int, centre: float, half: float):
    """Sum over one block of realisations of the bright-vector Chebyshev moments."""
    op = _ScaledOperator(stack, rows, 2.0 / half, centre)  # applies 2 H~
    r = op.diag.shape[2]
    s = stack.n_sites
    mu = np.zeros(n_moments)
    v_prev = _bright_start(r, s)  # v_0
    v_cur = op.apply(v_prev, np.empty_like(v_prev))
    v_cur *= 0.5  # v_1 = H~ v_0
    spare = np.empty_like(v_prev)
    mu0 = float(r)  # every start vector has norm 1
    mu1 = float(np.vdot(v_prev, v_cur))
    mu[0] = mu0
    if n_moments > 1:
        mu[1] = mu1
    n = 1
    while 2 * n < n_moments:
        mu[2 * n] = 2.0 * float(np.vdot(v_cur, v_cur)) - mu0
        if 2 * n + 1 >= n_moments:
            break
        # v_{n+1} = 2 H~ v_n - v_{n-1}
        v_next = op.apply(v_cur, spare)
        v_next -= v_prev
        mu[2 * n + 1] = 2.0 * float(np.vdot(v_next, v_cur)) - mu1
        v_prev, v_cur, spare = v_cur, v_next, v_prev
        n += 1
    return mu


def gaussian_chebyshev_coefficients(
    energy_meV, centre_meV: float, half_width_meV: float, sigma_meV: float, n_moments: int
) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev coefficients of a Gaussian line, ``x -> g(E - c - a x)`` on [-1, 1].

    .. math::

        g(E - c - a x) = \\sum_m c_m(E) T_m(x), \\qquad
        c_m(E) = \\frac{2 - \\delta_{m0}}{\\pi} \\int_0^\\pi g(E - c - a\\cos\\theta)
                 \\cos(m\\theta)\\, d\\theta,

    with ``g(u) = exp(-u^2 / 2 sigma^2) / (sqrt(2 pi) sigma)`` [1/meV], by
    Gauss-Chebyshev quadrature on enough nodes that the quadrature error is at
    machine precision (a DCT-II).

    Parameters
    ----------
    energy_meV : array_like, shape (n_E,)
        Energies where the spectrum is wanted [meV, same zero as the centre].
    centre_meV, half_width_meV : float
        The map of the spectrum onto [-1, 1].
    sigma_meV : float
        Standard deviation of the homogeneous Gaussian line [meV].
    n_moments : int
        Number of coefficients M.

    Returns
    -------
    coeffs : ndarray, shape (M, n_E)
    tail : ndarray, shape (M + 1,)
        ``tail[k] = max_E sum_{m >= k} |c_m(E)|`` for the coefficients computed:
        the truncation-error bound of a spectrum made of the first k moments
        (exact bound when the coefficients beyond M are negligible, which the
        caller checks by asking for more than it needs).
    """
    from scipy.fft import dct

    e = np.asarray(energy_meV, dtype=float)
    a = float(half_width_meV)
    sig = float(sigma_meV)
    m = int(n_moments)
    # nodes: resolve the Gaussian (a dtheta << sigma) and exceed the degree: the quadrature
    # aliases c_{2K - m} onto c_m, and with K >= 2M that is c_{3M} or beyond, negligible
    # against the tail bound at M (the coefficients fall like exp(-(m sigma / a)^2 / 2))
    k = 1 << int(math.ceil(math.log2(max(2 * m, 32 * a / sig, 128))))
    theta = np.pi * (np.arange(k) + 0.5) / k
    x = centre_meV + a * np.cos(theta)
    u = (e[:, None] - x[None, :]) / sig
    g = np.exp(-0.5 * u * u) / (math.sqrt(2.0 * math.pi) * sig)
    # DCT-II: y_m = 2 sum_k g_k cos(pi m (2k + 1) / 2K) = 2 sum_k g_k cos(m theta_k), and
    # c_m = (2 - delta_m0) / K sum_k g_k cos(m theta_k) = (2 - delta_m0) y_m / (2K)
    c = dct(g, type=2, axis=1)[:, :m] / k
    c[:, 0] *= 0.5
    coeffs = np.ascontiguousarray(c.T)
    absc = np.abs(coeffs)
    tail = np.concatenate([np.cumsum(absc[::-1], axis=0)[::-1].max(axis=1), [0.0]])
    return coeffs, tail


# ----------------------------------------------------------------------------- spectra


@dataclass(frozen=True)
class BrightSpectrum:
    """Ensemble-averaged absorption of the bright vector (per dot).

    Attributes
    ----------
    energy_eV : ndarray, shape (n_E,)
        Photon energies [eV], ascending.
    absorption_per_eV : ndarray, shape (n_E,)
        ``(1/R) sum_r (1/S) sum_n f_n g(E - E_n)`` [1/eV]; area 1 (per dot, in
        units of one isolated dot's oscillator strength).
    sigma_meV : float
        Standard deviation of the homogeneous Gaussian line [meV].
    n_realisations : int
    n_moments : int
        Chebyshev moments used (0 for the dense path).
    truncation_bound : float
        Upper bound of the truncation error of ``absorption_per_eV`` [1/eV]
        (0 for the dense path).
    centroid_eV : float
        Exact first moment ``<b|H|b>`` averaged over realisations [eV]: the
        oscillator-strength-weighted mean energy of all bright weight.
    method : str
        ``"chebyshev"`` or ``"dense"``.
    moments : ndarray
        The averaged Chebyshev moments (empty for the dense path).
    """

    energy_eV: np.ndarray
    absorption_per_eV: np.ndarray
    sigma_meV: float
    n_realisations: int
    n_moments: int
    truncation_bound: float
    centroid_eV: float
    method: str
    moments: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict:
        return {
            "energy_eV": self.energy_eV,
            "absorption_per_eV": self.absorption_per_eV,
            "sigma_meV": self.sigma_meV,
            "n_realisations": self.n_realisations,
            "n_moments": self.n_moments,
            "truncation_bound": self.truncation_bound,
            "centroid_eV": self.centroid_eV,
            "method": self.method,
        }


def bright_centroid_meV(stack: ExcitonStack) -> np.ndarray:
    """Exact first moment ``<b|H|b>`` of each realisation [meV], shape (R,).

    .. math:: \\bar E = \\frac{1}{S}\\sum_i (e_i + h_i - U_{ii})
              + \\frac{1}{S}\\sum_{i \\ne k} J_{ik}

    Tunnelling does not enter: it moves bright weight between states (a red
    shift of the lowest ones, weight pushed into the charge-transfer states
    above) but leaves the oscillator-strength-weighted mean where it was.
    Only the dipolar term moves it: for uniform nearest-neighbour ``J`` on a
    column of N dots, by ``2 J (N - 1) / N`` (the Frenkel-chain sum rule).
    """
    s = stack.n_sites
    i = np.arange(s)
    d = stack.electron_meV + stack.hole_meV - stack.coulomb_meV[:, i, i]
    c = d.mean(axis=1)
    if stack.dipolar_meV is not None:
        c = c + stack.dipolar_meV.sum(axis=(1, 2)) / s
    return c


def _choose_moments(energy_meV, centre, half, sigma, tolerance, max_moments: int):
    """Smallest M whose truncation bound is below ``tolerance * g(0)``."""
    g0 = 1.0 / (math.sqrt(2.0 * math.pi) * sigma)
    # the coefficients decay like exp(-(m sigma / a)^2 / 2): guess, then verify
    guess = int(math.ceil(math.sqrt(2.0 * math.log(1.0 / tolerance) + 8.0) * half / sigma)) + 8
    m_try = min(max(guess, 16), max_moments)
    while True:
        m_big = min(int(m_try * 1.5) + 16, max_moments + 16)
        coeffs, tail = gaussian_chebyshev_coefficients(energy_meV, centre, half, sigma, m_big)
        ok = np.nonzero(tail <= tolerance * g0)[0]
        if ok.size and ok[0] <= max_moments:
            m = max(int(ok[0]), 2)
            return m, coeffs[:m], float(tail[m])
        if m_try >= max_moments:
            m = max_moments
            return m, coeffs[:m], float(tail[m])
        m_try = min(2 * m_try, max_moments)


def bright_spectrum(
    stack: ExcitonStack,
    energy_eV,
    *,
    fwhm_meV: float,
    tolerance: float = 1e-9,
    max_moments: int = 4096,
    chunk: int | None = None,
    threads: int = 1,
    engine: str = "auto",
) -> BrightSpectrum:
    """Ensemble-averaged bright (absorption) spectrum by Chebyshev moments.

    Parameters
    ----------
    stack : ExcitonStack
    energy_eV : array_like, shape (n_E,)
        Photon energies where the spectrum is wanted [eV].
    fwhm_meV : float
        FWHM of the homogeneous Gaussian line of every state [meV].
    tolerance : float
        Truncation-error bound, relative to the peak height of one line
        ``g(0) = 1 / (sqrt(2 pi) sigma)``.
    max_moments : int
        Hard cap on the number of moments (the bound is reported).
    chunk, threads, engine
        See :func:`chebyshev_moments`.

    Returns
    -------
    BrightSpectrum

    Notes
    -----
    The cost is ``M/2`` sparse matrix-vector products per realisation with
    ``M ~ 7 a / sigma`` (``a`` the half width of the ensemble's spectral range);
    no eigenvalue problem is solved.
    """
    if not fwhm_meV > 0:
        raise InputError("the homogeneous line width must be positive", "fwhm_meV")
    e_eV = np.asarray(energy_eV, dtype=float)
    if e_eV.ndim != 1 or e_eV.size < 2:
        raise InputError("energy_eV must be a 1-D grid", "energy_eV")
    sigma = gaussian_sigma_meV(fwhm_meV)
    if _use_compiled(engine, float(stack.n_realisations) * stack.dimension * _TYPICAL_MOMENTS):
        lo, hi, mean_centroid = _compiled_kernels().bounds_and_centroid(stack)
    else:
        lo, hi = spectral_bounds_meV(stack, engine="numpy")
        mean_centroid = float(np.mean(bright_centroid_meV(stack)))
    pad = 1e-3 * max(hi - lo, sigma) + 1e-9
    centre = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo) + pad
    e_meV = (e_eV - stack.reference_eV) * 1e3
    m, coeffs, bound = _choose_moments(e_meV, centre, half, sigma, tolerance, max_moments)
    mu = chebyshev_moments(stack, m, centre, half, chunk=chunk, threads=threads, engine=engine)
    spec = (mu @ coeffs) * 1e3  # 1/meV -> 1/eV
    centroid = mean_centroid * 1e-3 + stack.reference_eV
    return BrightSpectrum(
        energy_eV=e_eV,
        absorption_per_eV=spec,
        sigma_meV=sigma,
        n_realisations=stack.n_realisations,
        n_moments=m,
        truncation_bound=bound * 1e3,
        centroid_eV=centroid,
        method="chebyshev",
        moments=mu,
    )


# ----------------------------------------------------------------------------- dense path


@dataclass(frozen=True)
class EigenStates:
    """Eigenstates of a chunk of realisations.

    Attributes
    ----------
    energies_meV : ndarray, shape (R, S**2)
        Ascending per realisation [meV, relative to the stack's reference].
    vectors : ndarray, shape (R, S**2, S**2)
        Columns are eigenvectors (basis index ``i * S + j``).
    n_sites : int
    """

    energies_meV: np.ndarray
    vectors: np.ndarray
    n_sites: int


def eigenstates(stack: ExcitonStack, rows: slice | np.ndarray = slice(None)) -> EigenStates:
    """All eigenstates of the realisations ``rows`` (batched dense ``numpy.linalg.eigh``)."""
    h = hamiltonian_matrix(stack, rows)
    w, v = np.linalg.eigh(h)
    return EigenStates(energies_meV=w, vectors=v, n_sites=stack.n_sites)


def oscillator_strengths(states: EigenStates) -> np.ndarray:
    """``f_n = |sum_i c_n(i, i)|^2`` in units of one isolated dot's, shape (R, S**2); sum S."""
    s = states.n_sites
    diag = np.arange(s) * (s + 1)
    amp = states.vectors[:, diag, :].sum(axis=1)
    return amp * amp


def participation_ratios(states: EigenStates) -> dict[str, np.ndarray]:
    """Participation ratios of each eigenstate over the dots, shape (R, S**2) each.

    ``PR = 1 / sum_i P(i)^2`` for the electron density ``P_e(i) = sum_j |c(i,j)|^2``,
    the hole density ``P_h(j) = sum_i |c(i,j)|^2`` and the exciton density
    ``(P_e + P_h) / 2``: 1 for a state on one dot, N for one spread evenly over N.

    References
    ----------
    R. J. Bell and P. Dean, Discuss. Faraday Soc. 50, 55 (1970); F. Wegner,
    Z. Phys. B 36, 209 (1980) (inverse participation ratio).
    """
    s = states.n_sites
    r, d, _ = states.vectors.shape
    p = (states.vectors**2).reshape(r, s, s, d)
    pe = p.sum(axis=2)  # (R, S, n)
    ph = p.sum(axis=1)
    px = 0.5 * (pe + ph)
    return {
        "exciton": 1.0 / np.sum(px**2, axis=1),
        "electron": 1.0 / np.sum(pe**2, axis=1),
        "hole": 1.0 / np.sum(ph**2, axis=1),
    }


def _gaussian_sum(energy_meV, centres_meV, weights, sigma):
    """sum_k w_k g(E - centre_k) on a grid, by blocks (exact; for tests and modest sizes)."""
    e = np.asarray(energy_meV, dtype=float)
    c = np.asarray(centres_meV, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    keep = w != 0
    c, w = c[keep], w[keep]
    out = np.zeros(e.size)
    norm = 1.0 / (math.sqrt(2.0 * math.pi) * sigma)
    step = max(1, 4_000_000 // max(e.size, 1))
    for a in range(0, c.size, step):
        u = (e[:, None] - c[None, a : a + step]) / sigma
        out += np.exp(-0.5 * u * u) @ w[a : a + step]
    return out * norm


class _LineHistogram:
    """Lines (energy, weight) deposited on a fine grid, convolved with a Gaussian at the end.

    Cloud-in-cell deposit (each line split linearly between its two nearest
    bins) keeps the zeroth and first moments of every line exactly; the
    convolution with a Gaussian of ``sigma >= 25`` bins then differs from the
    exact sum of Gaussians by less than ``(h / sigma)^2 / 8 < 2e-4`` of the peak.
    """

    def __init__(self, lo_meV: float, hi_meV: float, step_meV: float):
        self.lo = float(lo_meV)
        self.h = float(step_meV)
        self.n = int(math.ceil((hi_meV - lo_meV) / step_meV)) + 2
        self.hist = np.zeros(self.n)

    def add(self, centres_meV, weights):
        x = (np.asarray(centres_meV, float).ravel() - self.lo) / self.h
        w = np.asarray(weights, float).ravel()
        keep = (x >= 0) & (x < self.n - 1)
        x, w = x[keep], w[keep]
        k = np.floor(x).astype(np.intp)
        frac = x - k
        self.hist += np.bincount(k, w * (1 - frac), minlength=self.n)
        self.hist += np.bincount(k + 1, w * frac, minlength=self.n)

    def evaluate(self, energy_meV, sigma: float) -> np.ndarray:
        from scipy.signal import fftconvolve

        half = int(math.ceil(8 * sigma / self.h))
        u = np.arange(-half, half + 1) * self.h / sigma
        kernel = np.exp(-0.5 * u * u) / (math.sqrt(2 * math.pi) * sigma)
        smooth = fftconvolve(self.hist, kernel, mode="same")
        return np.interp(
            energy_meV, self.lo + self.h * np.arange(self.n), smooth, left=0.0, right=0.0
        )


def bright_spectrum_dense(
    stack: ExcitonStack, energy_eV, *, fwhm_meV: float, chunk: int = 256
) -> BrightSpectrum:
    """The same spectrum as :func:`bright_spectrum` from full diagonalisation (reference path).

    Exact sum of Gaussians over every eigenstate of every realisation; cost
    ``O(R S^6)``.  Used to check the Chebyshev path and for small problems.
    """
    sigma = gaussian_sigma_meV(fwhm_meV)
    e_eV = np.asarray(energy_eV, dtype=float)
    e_meV = (e_eV - stack.reference_eV) * 1e3
    total = np.zeros(e_eV.size)
    s = stack.n_sites
    for a in range(0, stack.n_realisations, chunk):
        st = eigenstates(stack, slice(a, a + chunk))
        f = oscillator_strengths(st) / s
        total += _gaussian_sum(e_meV, st.energies_meV, f, sigma)
    spec = total / stack.n_realisations * 1e3
    centroid = float(np.mean(bright_centroid_meV(stack))) * 1e-3 + stack.reference_eV
    return BrightSpectrum(
        energy_eV=e_eV,
        absorption_per_eV=spec,
        sigma_meV=sigma,
        n_realisations=stack.n_realisations,
        n_moments=0,
        truncation_bound=0.0,
        centroid_eV=centroid,
        method="dense",
    )


# ----------------------------------------------------------------------------- emission


@dataclass(frozen=True)
class ThermalEmission:
    """Emission of a thermalised exciton, ensemble-averaged, at several temperatures.

    Attributes
    ----------
    temperatures_K : ndarray, shape (n_T,)
    energy_eV : ndarray, shape (n_E,)
    pl_per_eV : ndarray, shape (n_T, n_E)
        ``(1/R) sum_r sum_n p_n f_n g(E - E_n)``: photons per unit energy per
        unit time, in units of one isolated dot's radiative rate.
    radiative_rate : ndarray, shape (n_T,)
        ``<sum_n p_n f_n>``: thermal radiative rate of a column relative to one
        isolated dot (1 for a monolayer of identical dots).
    radiative_rate_err : ndarray, shape (n_T,)
        Standard error over realisations.
    participation_exciton, participation_electron, participation_hole : ndarray, shape (n_T,)
        Emission-weighted participation ratios ``sum p f PR / sum p f``: over
        how many dots the emitting states are spread.
    participation_populated : ndarray, shape (n_T,)
        Population-weighted exciton participation ratio ``sum p PR``.
    first_band_centroid_meV, first_band_centroid_meV_err : float
        Oscillator-strength-weighted mean energy of the lowest S states of each
        realisation (the exciton band of an S-dot stack), ensemble ratio of sums,
        and its standard error (delta method) [meV, relative to the reference].
    n_realisations : int
    sigma_meV : float
    """

    temperatures_K: np.ndarray
    energy_eV: np.ndarray
    pl_per_eV: np.ndarray
    radiative_rate: np.ndarray
    radiative_rate_err: np.ndarray
    participation_exciton: np.ndarray
    participation_electron: np.ndarray
    participation_hole: np.ndarray
    participation_populated: np.ndarray
    n_realisations: int
    sigma_meV: float
    first_band_centroid_meV: float = math.nan
    first_band_centroid_meV_err: float = math.nan

    def to_dict(self) -> dict:
        return {
            "first_band_centroid_meV": self.first_band_centroid_meV,
            "first_band_centroid_meV_err": self.first_band_centroid_meV_err,
            "temperatures_K": self.temperatures_K,
            "radiative_rate": self.radiative_rate,
            "radiative_rate_err": self.radiative_rate_err,
            "participation_exciton": self.participation_exciton,
            "participation_electron": self.participation_electron,
            "participation_hole": self.participation_hole,
            "participation_populated": self.participation_populated,
            "n_realisations": self.n_realisations,
            "sigma_meV": self.sigma_meV,
        }


def thermal_emission(
    stack: ExcitonStack,
    temperatures_K,
    energy_eV,
    *,
    fwhm_meV: float | np.ndarray,
    chunk: int = 128,
    progress=None,
) -> ThermalEmission:
    """Photoluminescence and radiative rate of an exciton thermalised within each column.

    The exciton relaxes to a Boltzmann distribution over the eigenstates of its
    own column before it recombines (relaxation fast against the ns radiative
    time; no transfer between columns); state ``n`` emits at the rate
    ``k_X f_n`` (``k_X``: one isolated dot's rate).  Then

    .. math::

        p_n = e^{-E_n / k T} / Z, \\qquad
        k_{rad}(T) / k_X = \\sum_n p_n f_n, \\qquad
        I(E, T) = \\sum_n p_n f_n\\, g(E - E_n).

    The photon-energy prefactor of spontaneous emission (``E^3``) is left out
    (it tilts a 60 meV-wide band by a few per cent and moves its peak by < 1 meV).
    The PL spectra are built by depositing every line on a fine grid (step
    <= sigma/25, moments of each line kept exactly) and convolving once with
    the Gaussian: within 2e-4 of the peak of the exact sum of Gaussians.

    Parameters
    ----------
    stack : ExcitonStack
    temperatures_K : array_like, shape (n_T,)
        Temperatures [K], > 0.
    energy_eV : array_like
        Energy grid of the PL spectra [eV].
    fwhm_meV : float or array_like, shape (n_T,)
        Homogeneous Gaussian FWHM [meV] at each temperature.
    chunk : int
        Realisations per batched eigensolve.
    progress : callable, optional
        Wraps the iteration over chunks (a progress bar).

    Returns
    -------
    ThermalEmission

    References
    ----------
    M. Kasha, Discuss. Faraday Soc. 9, 14 (1950) (emission from the lowest
    thermalised state); F. C. Spano and S. Mukamel, J. Chem. Phys. 91, 683 (1989)
    and S. Doria et al., ACS Nano 12, 4556 (2018) (thermal radiative rate of
    coherent aggregates, sum p_n f_n).
    """
    t = np.atleast_1d(np.asarray(temperatures_K, dtype=float))
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperatures must be positive numbers of kelvin", "temperatures_K")
    fw = np.broadcast_to(np.asarray(fwhm_meV, dtype=float), t.shape)
    if np.any(fw <= 0):
        raise InputError("the homogeneous line width must be positive", "fwhm_meV")
    sig = fw / _FWHM_PER_SIGMA
    e_eV = np.asarray(energy_eV, dtype=float)
    e_meV = (e_eV - stack.reference_eV) * 1e3
    kt = K_B_MEV_PER_K * t
    n_t = t.size
    pad = 10.0 * float(np.max(sig))
    step = min(
        float(np.min(sig)) / 25.0,
        max(float(np.min(np.diff(e_meV))) if e_meV.size > 1 else 1.0, 1e-3),
    )
    hists = [
        _LineHistogram(float(e_meV.min()) - pad, float(e_meV.max()) + pad, step) for _ in range(n_t)
    ]
    rate_sum = np.zeros(n_t)
    rate_sq = np.zeros(n_t)
    pr_num = {k: np.zeros(n_t) for k in ("exciton", "electron", "hole")}
    pop_pr = np.zeros(n_t)
    fb_num, fb_den = [], []
    s = stack.n_sites
    starts = list(range(0, stack.n_realisations, chunk))
    iterator = progress(starts) if progress is not None else starts
    for a in iterator:
        with _single_thread_blas():
            st = eigenstates(stack, slice(a, a + chunk))
        f = oscillator_strengths(st)
        prs = participation_ratios(st)
        w = st.energies_meV
        fb_num.append((f[:, :s] * w[:, :s]).sum(axis=1))
        fb_den.append(f[:, :s].sum(axis=1))
        for it in range(n_t):
            x = -(w - w[:, :1]) / kt[it]
            p = np.exp(x)
            p /= p.sum(axis=1, keepdims=True)
            pf = p * f
            per_column = pf.sum(axis=1)
            rate_sum[it] += per_column.sum()
            rate_sq[it] += np.sum(per_column**2)
            for k in pr_num:
                pr_num[k][it] += np.sum(pf * prs[k])
            pop_pr[it] += np.sum(p * prs["exciton"])
            hists[it].add(w, pf)
    pl = np.array([h.evaluate(e_meV, sig[it]) for it, h in enumerate(hists)])
    num, den = np.concatenate(fb_num), np.concatenate(fb_den)
    fb = float(num.sum() / den.sum())
    resid = (num - fb * den) / den.mean()
    fb_err = float(np.std(resid, ddof=1) / math.sqrt(num.size)) if num.size > 1 else math.nan
    r = stack.n_realisations
    mean = rate_sum / r
    var = np.clip(rate_sq / r - mean**2, 0.0, None)
    err = np.sqrt(var / max(r - 1, 1))
    return ThermalEmission(
        temperatures_K=t,
        energy_eV=e_eV,
        pl_per_eV=pl / r * 1e3,
        radiative_rate=mean,
        radiative_rate_err=err,
        participation_exciton=pr_num["exciton"] / rate_sum,
        participation_electron=pr_num["electron"] / rate_sum,
        participation_hole=pr_num["hole"] / rate_sum,
        participation_populated=pop_pr / r,
        n_realisations=r,
        sigma_meV=float(sig[0]),
        first_band_centroid_meV=fb,
        first_band_centroid_meV_err=fb_err,
    )
