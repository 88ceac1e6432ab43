"""The description of an exciton stack and its dense Hamiltonian.

:class:`ExcitonStack` (levels, attractions, couplings of R realisations), the bond lists of
a chain or an in-plane block, the dense two-particle Hamiltonian, and small closed forms
(tight-binding chain, effective exciton hopping).  The model: :mod:`qdstack.physics.exciton_stack`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _single_thread_blas():
    """BLAS limited to one thread while inside (the parallelism here is over realisations).

    Multi-threaded BLAS on the many small dot products and eigensolves of this
    package only spin-waits, and on a shared machine that costs 10x; the helper
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
