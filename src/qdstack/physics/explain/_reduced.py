"""Cheap reductions of the film model that the mechanisms share.

The full film model (:func:`qdstack.physics.film_model.spectra.simulate_film`)
averages thousands of disordered columns and reads the first peak with a fit;
one evaluation costs seconds, and a fit of four mechanisms and their pairs
needs thousands.  The mechanisms therefore use two reductions, each checked
against the full model in ``tests/physics/explain/test_reduced.py``:

*Ideal column* (tunnelling, fusion): identical dots of the mean edge, the
two-particle Hamiltonian of :mod:`qdstack.physics.exciton_stack` (on-site
binding ``U_0``, screened attraction of charge-transfer pairs, tunnelling
``beta_e``, ``beta_h``) diagonalised exactly; its bright lines are broadened by
one Gaussian whose width is the homogeneous width and the size distribution's
width added in quadrature (the size disorder is moved from the diagonal into
the line width).

*Uncoupled layers* (dielectric, surface): each layer ``k`` of the N-layer film
shifts its dots by ``delta_k``; the film's line is the mean of N Gaussians at
``delta_k``.

In both the shift is read as the paper defines it, the *peak top* of the
broadened spectrum, located exactly (Newton on the derivative of the Gaussian
sum), so predictions are smooth in the parameters.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading

import numpy as np

from qdstack.units import COULOMB_EV_NM


_LOCAL = threading.local()


@contextlib.contextmanager
def single_thread_blas():
    """BLAS on one thread while inside (re-entrant: only the outermost call touches the library).

    The matrices here are tiny (at most a few hundred pair states); threaded BLAS only
    spin-waits on them, and finding the BLAS library costs more than one solve, so the
    fitter enters this once around a whole analysis.
    """
    depth = getattr(_LOCAL, "depth", 0)
    if depth:
        _LOCAL.depth = depth + 1
        try:
            yield
        finally:
            _LOCAL.depth -= 1
        return
    from qdstack.physics.exciton_stack import _single_thread_blas

    with _single_thread_blas():
        _LOCAL.depth = 1
        try:
            yield
        finally:
            _LOCAL.depth = 0


def peak_top_meV(centres_meV, weights, sigma_meV: float) -> float:
    """Energy of the maximum of ``sum_k w_k exp(-(E - c_k)^2 / 2 sigma^2)`` [meV].

    A grid of sigma/8 steps brackets the global maximum; Newton's method on the
    derivative refines it to 1e-9 meV, so the result is a smooth function of the
    centres and weights.
    """
    c = np.asarray(centres_meV, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    keep = w > 1e-12 * w.max()
    c, w = c[keep], w[keep]
    if c.size == 1:
        return float(c[0])
    s2 = sigma_meV * sigma_meV
    grid = np.arange(c.min() - sigma_meV, c.max() + sigma_meV, sigma_meV / 8.0)
    a = np.exp(-0.5 * (grid[:, None] - c[None, :]) ** 2 / s2) @ w
    e = float(grid[int(np.argmax(a))])
    for _ in range(30):
        d = c - e
        g = w * np.exp(-0.5 * d * d / s2)
        d1 = float(np.sum(g * d)) / s2
        d2 = float(np.sum(g * (d * d / s2 - 1.0))) / s2
        if d2 >= 0:  # not at a maximum yet: move uphill by a bounded step
            step = math.copysign(min(abs(d1) / (abs(d2) + 1e-300), 0.1 * sigma_meV), d1)
        else:
            step = -d1 / d2
            step = max(-0.2 * sigma_meV, min(0.2 * sigma_meV, step))
        e += step
        if abs(step) < 1e-10:
            break
    return e


def coulomb_offsite_meV(context, gap_nm: float, distance_sites: np.ndarray) -> np.ndarray:
    """Screened attraction of an electron and a hole ``k`` dots apart in a column [meV].

    ``U_k = e^2 / (4 pi eps0 eps_film k (L + d))`` with the Maxwell Garnett constant
    of the film (dots in the ligand matrix), as in
    :func:`qdstack.physics.film_model.build_column_ensemble`.
    """
    from qdstack.physics.film_model.dots import maxwell_garnett_eps

    L = context.edge_nm
    g_in = context.film.in_plane_gap_nm
    fill = L**3 / ((L + gap_nm) * (L + g_in) ** 2)
    eps_film = maxwell_garnett_eps(
        float(context.material.exciton_dielectric), context.film.eps_ligand, fill
    )
    k = np.asarray(distance_sites, dtype=float)
    return 1e3 * COULOMB_EV_NM / (eps_film * k * (L + gap_nm))


@functools.lru_cache(maxsize=64)
def _chain_parts(n: int, u0: float, u_off: tuple):
    """Pair-state diagonal -U_ij and the hopping operators of an n-chain (basis i * n + j)."""
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :])
    coul = np.where(dist == 0, u0, np.asarray((0.0,) + u_off)[np.minimum(dist, len(u_off))])
    adj = np.zeros((n, n))
    adj[idx[:-1], idx[1:]] = adj[idx[1:], idx[:-1]] = 1.0
    eye = np.eye(n)
    return -coul.ravel(), np.kron(adj, eye), np.kron(eye, adj), idx * (n + 1)


@functools.lru_cache(maxsize=8192)
def _chain_lines(
    n: int, beta_e: float, beta_h: float, u0: float, u_off: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-energies and bright strengths per dot of the ideal chain.

    The same Hamiltonian as :func:`qdstack.physics.exciton_stack.hamiltonian_matrix`
    (``-U_ij`` on the diagonal, ``-beta_e`` hops of the electron index, ``-beta_h`` of
    the hole index; tested equal), built with Kronecker products because the fitter
    needs thousands of them.
    """
    diag, hop_e, hop_h, bright = _chain_parts(n, u0, u_off)
    h = np.diag(diag) - beta_e * hop_e - beta_h * hop_h
    with single_thread_blas():
        e, v = np.linalg.eigh(h)
    amp = v[bright, :].sum(axis=0)
    f = amp * amp / n
    e.setflags(write=False)
    f.setflags(write=False)
    return e, f


def chain_lines_meV(context, n: int, gap_nm: float, beta_e_meV: float, beta_h_meV: float):
    """Bright lines of an ideal column of ``n`` identical dots: energies [meV] and strengths per dot.

    Energies relative to the isolated dot's pair energy before binding (so the
    monolayer line sits at ``-U_0``); strengths sum to 1.
    """
    n = int(n)
    u_off = tuple(float(x) for x in coulomb_offsite_meV(context, gap_nm, np.arange(1, max(n, 2))))
    return _chain_lines(
        n,
        round(float(beta_e_meV), 10),
        round(float(beta_h_meV), 10),
        round(float(context.binding_meV), 10),
        u_off,
    )


def chain_shift_meV(
    context, layers, gap_nm: float, beta_e_meV: float, beta_h_meV: float, temperature_K: float
) -> np.ndarray:
    """Peak-top shift of ideal columns of N = ``layers`` dots relative to one dot [meV]."""
    sigma = float(context.sigma_meV(temperature_K))
    ref = -float(context.binding_meV)
    out = []
    for n in np.atleast_1d(layers):
        e, f = chain_lines_meV(context, int(n), gap_nm, beta_e_meV, beta_h_meV)
        out.append(peak_top_meV(e, f, sigma) - ref)
    return np.asarray(out)


def layer_shift_meV(offsets_meV, sigma_meV: float) -> float:
    """Peak-top shift of N uncoupled layers whose dots are moved by ``offsets_meV`` [meV]."""
    d = np.asarray(offsets_meV, dtype=float)
    if np.all(d == d[0]):
        return float(d[0])
    return peak_top_meV(d, np.full(d.size, 1.0 / d.size), sigma_meV)


def neighbour_faces(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether each layer of an N-layer column has a layer below / above it."""
    k = np.arange(int(n))
    return k > 0, k < n - 1
