"""Variable projection: non-negative amplitudes, their derivatives and the projected Jacobian.

Private to :mod:`qdstack.analysis.decay`.  All arrays carry a leading batch axis
(decays fitted together); every operation acts on each decay alone.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, solve_triangular
from scipy.linalg.lapack import dposv
from scipy.optimize import nnls

__all__ = [
    "poisson_amplitudes",
    "neyman_amplitudes",
    "varpro_jacobian_t",
    "poisson_loss_derivatives",
]

_M_FLOOR = 1e-9


def _nnls_gram(G: np.ndarray, c: np.ndarray) -> np.ndarray:
    """argmin_{a >= 0} a^T G a - 2 c^T a for a small symmetric positive (semi)definite G."""
    _, a, info = dposv(G, c)
    if info == 0 and np.all(a >= 0) and np.all(np.isfinite(a)):
        return a
    ridge = 1e-12 * max(float(np.trace(G)), 1e-300)
    try:
        L, _ = cho_factor(G + ridge * np.eye(G.shape[0]), lower=True)
    except LinAlgError:
        L, _ = cho_factor(
            G + 1e-8 * max(float(np.trace(G)), 1e-300) * np.eye(G.shape[0]), lower=True
        )
    L = np.tril(L)
    b = solve_triangular(L, c, lower=True)
    a, _ = nnls(L.T, b)
    return a


def _solve_spd(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``H x = g`` for a batch of small symmetric positive definite matrices.

    Each matrix is solved on its own (LAPACK per matrix), so a decay's result does not
    depend on the other decays of its batch, even when one of them is singular.
    """
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(g)
        for b in range(H.shape[0]):
            try:
                out[b] = np.linalg.solve(H[b : b + 1], g[b : b + 1, :, None])[0, :, 0]
            except np.linalg.LinAlgError:
                out[b] = np.linalg.lstsq(H[b], g[b], rcond=None)[0]
        return out


def _regularise(H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Identity rows/columns for fixed variables; a relative ridge keeps the rest positive definite."""
    P = H.shape[1]
    di = np.arange(P)
    if free.all():
        Hf = H.copy()
        diag = Hf[:, di, di]
        Hf[:, di, di] = np.where(diag > 0, diag * (1.0 + 1e-12) + 1e-300, 1.0)
        return Hf
    Hf = H * (free[:, :, None] & free[:, None, :])
    diag = Hf[:, di, di]
    Hf[:, di, di] = np.where(free & (diag > 0), diag * (1.0 + 1e-12) + 1e-300, 1.0)
    return Hf


def neyman_amplitudes(Bm: np.ndarray, Y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Non-negative weighted least-squares amplitudes ``argmin sum W (Y - a Bm)^2`` for each decay."""
    BW = Bm * W[:, None, :]
    G = BW @ Bm.transpose(0, 2, 1)
    c = (BW @ Y[..., None])[..., 0]
    free = np.ones(c.shape, dtype=bool)
    a = _solve_spd(_regularise(G, free), c)
    bad = np.nonzero(np.any(a < 0, axis=1) | ~np.all(np.isfinite(a), axis=1))[0]
    for b in bad:
        a[b] = _nnls_gram(G[b], c[b])
    return a


def poisson_amplitudes(
    Bm: np.ndarray,
    Y: np.ndarray,
    pos: np.ndarray,
    a0: np.ndarray | None,
    tol: float = 1e-12,
    max_iter: int = 60,
    state: bool = False,
):
    """Poisson maximum-likelihood non-negative amplitudes for each decay of a batch.

    Minimises ``sum_n (m - y ln m)``, ``m = a Bm``, over ``a >= 0`` by projected Newton
    with the exact Hessian ``Bm diag(y/m^2) Bm^T`` and a backtracking line search on
    the change of the objective (``sum dm - sum y log1p(dm/m)``, accurate even when
    tiny).  Amplitudes at zero that the Newton step would push negative stay at zero.
    A decay stops when its Newton decrement falls below ``tol`` or after a full step
    from a decrement below ``sqrt(tol)`` (quadratic convergence).

    Parameters
    ----------
    Bm : ndarray, shape (B, P, n)
        Non-negative columns (zero outside each decay's window).
    Y : ndarray, shape (B, n)
        Counts, zero outside the window.
    pos : ndarray of bool, shape (B, n)
        Bins with counts inside the window.
    a0 : ndarray, shape (B, P) or None
        Starting amplitudes (warm start).
    state : bool
        Also return the quantities of the last point that the Jacobian needs.

    Returns
    -------
    a : ndarray, shape (B, P)
    iterations : int
    state : tuple, only with ``state=True``
        ``(m, ms, ratio, BW, H)`` at ``a``: the model, the model with 1 where there
        are no counts, ``y/ms``, ``Bm diag(y/ms^2)`` and ``H = BW Bm^T``.
    """
    B_, P, n = Bm.shape
    sB = Bm.sum(axis=2)
    Yp = np.where(pos, Y, 0.0)
    if a0 is None:
        a = neyman_amplitudes(Bm, Y, 1.0 / np.maximum(Y, 1.0))
    else:
        a = np.maximum(a0, 0.0)
        cold = ~np.all(np.isfinite(a), axis=1)
        if cold.any():
            a[cold] = neyman_amplitudes(Bm[cold], Y[cold], 1.0 / np.maximum(Y[cold], 1.0))
    m = (a[:, None, :] @ Bm)[:, 0, :]
    bad = np.any(pos & ~(m > 0), axis=1)
    if bad.any():
        lift = 0.5 * Yp[bad].sum(axis=1) / np.maximum(pos[bad].sum(axis=1), 1) + 1e-9
        a[bad, -1] = np.maximum(a[bad, -1], lift)
        m = (a[:, None, :] @ Bm)[:, 0, :]
    sqrt_tol = math.sqrt(tol)
    # the decays still iterating are worked on as a compacted subset (rows W of the batch)
    W = None
    Bw, Yw, posw, sBw, aw, mw = Bm, Yp, pos, sB, a, m
    act = np.ones(B_, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):
        ms = np.where(posw, mw, 1.0)
        ratio = Yw / ms
        grad = sBw - (Bw @ ratio[..., None])[..., 0]
        H = (Bw * (ratio / ms)[:, None, :]) @ Bw.transpose(0, 2, 1)
        free = (aw > 0) | (grad < 0)
        if (aw > 0).all():  # nothing can be stuck at zero
            d = _solve_spd(_regularise(H, free), -grad)
        else:
            for _ in range(P):
                d = _solve_spd(_regularise(H, free), -np.where(free, grad, 0.0))
                d = np.where(free, d, 0.0)
                stuck = free & (aw <= 0) & (d < 0)
                if not stuck.any():
                    break
                free &= ~stuck
        dec = -np.sum(np.where(free, grad, 0.0) * d, axis=1)
        act &= dec > tol
        if not act.any():
            break
        d *= act[:, None]
        # a full Newton step from a decrement below 0.1 that keeps a >= 0 stays feasible and
        # decreases the (self-concordant) objective: those decays need no line search
        cand = aw + d
        sure = act & (dec < 0.1) & np.all(cand >= 0.0, axis=1)
        alpha = np.where(act, 1.0, 0.0)
        if sure.all() or not (act & ~sure).any():
            mw = mw + (d[:, None, :] @ Bw)[:, 0, :]
            aw = cand
        else:
            pending = act & ~sure
            a_new = np.where(sure[:, None], cand, aw)
            m_new = mw + ((d * sure[:, None])[:, None, :] @ Bw)[:, 0, :]
            for _ in range(60):
                cand = np.maximum(aw + alpha[:, None] * d, 0.0)
                da = cand - aw
                dm = (da[:, None, :] @ Bw)[:, 0, :]
                rel = np.where(posw, dm / ms, 0.0)
                feasible = np.all(rel > -1.0, axis=1)
                change = np.sum(sBw * da, axis=1) - np.sum(
                    Yw * np.log1p(np.where(rel > -1.0, rel, 0.0)), axis=1
                )
                ok = pending & feasible & (change <= -1e-4 * alpha * dec)
                a_new[ok] = cand[ok]
                m_new[ok] = mw[ok] + dm[ok]
                pending &= ~ok
                if not pending.any():
                    break
                alpha = np.where(pending, alpha * 0.5, alpha)
            # decays whose line search failed have reached the floating-point floor: stop them
            act &= ~pending
            aw, mw = a_new, m_new
        act &= ~((alpha == 1.0) & (dec < sqrt_tol))
        if not act.any():
            break
        if act.sum() <= 0.6 * act.size:
            # write the finished rows back and continue with the others only
            if W is None:
                a, m = aw, mw
                W = np.nonzero(act)[0]
            else:
                a[W], m[W] = aw, mw
                W = W[act]
            Bw, Yw, posw, sBw = Bm[W], Yp[W], pos[W], sB[W]
            aw, mw = a[W], m[W]
            act = np.ones(W.size, dtype=bool)
    if W is None:
        a, m = aw, mw
    else:
        a[W], m[W] = aw, mw
    if not state:
        return a, it
    ms = np.where(pos, m, 1.0)
    ratio = Yp / ms
    BW = Bm * (ratio / ms)[:, None, :]
    H = BW @ Bm.transpose(0, 2, 1)
    return a, it, (m, ms, ratio, BW, H)


def poisson_loss_derivatives(m, ratio, r, window):
    """``l'(m) = 1 - y/m`` and ``dr/dm`` of the signed deviance residual ``r`` (both 0 outside the window).

    ``r dr/dm = l'(m)``, so ``dr/dm = l'/r``; where ``|r|`` is tiny (``y`` close to ``m``)
    its limit ``-1/sqrt(m)`` is used.
    """
    lp = np.where(window, 1.0 - ratio, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        big = np.abs(r) > 1e-6 * np.sqrt(m)
        drdm = np.where(big, lp / np.where(big, r, 1.0), -1.0 / np.sqrt(np.maximum(m, _M_FLOOR)))
    return lp, np.where(window, drdm, 0.0)


def varpro_jacobian_t(Bm, dBt, dBs, a, BW, H, lp, drdm, fix_shift: bool = False):
    """Jacobian of the projected residuals with respect to (tau_1..tau_K, shift) for each decay.

    ``dm/dtheta = (dB/dtheta) a + B da/dtheta`` with ``da/dtheta`` from the
    implicit-function theorem on the optimality of the amplitudes (active ones
    only): ``H da = -[(dB/dtheta) l' + B l'' (dB/dtheta) a]``, ``H = B l'' B^T``,
    where ``l'`` and ``l''`` are the first and second derivatives of the per-bin
    loss in m (Poisson ``m - y ln m``; Neyman ``W (y - m)^2 / 2``), all at the
    amplitude optimum.  Then ``J = (dr/dm) dm/dtheta``.

    Parameters
    ----------
    Bm, dBt, dBs : ndarray
        Columns and their derivatives, shapes (B, P, n), (B, K, n), (B, K, n).
    a : ndarray, shape (B, P)
    BW : ndarray, shape (B, P, n)
        ``Bm diag(l'')``.
    H : ndarray, shape (B, P, P)
        ``BW Bm^T``.
    lp, drdm : ndarray, shape (B, n)
        ``l'(m)`` and ``dr/dm``.

    Returns
    -------
    Jt : ndarray, shape (B, nth, n)
        The transposed Jacobian (``nth = K + 1``, or K with ``fix_shift``).
    dA : ndarray, shape (B, P, nth)
        ``da/dtheta``.
    """
    B_, P, n = Bm.shape
    K = P - 1
    nth = K + 1
    DM = np.empty((B_, nth, n))
    np.multiply(a[:, :K, None], dBt, out=DM[:, :K])
    DM[:, K] = (a[:, None, :K] @ dBs)[:, 0, :]
    free = a > 0
    # (dB/dtau_k) . l' and (dB_k/ds) . l' in one product
    if dBs.base is not None and dBt.base is dBs.base and dBt.base.shape == (B_, 2 * K, n):
        gts = (dBt.base @ lp[..., None])[..., 0]
    else:
        gts = np.concatenate([(dBt @ lp[..., None])[..., 0], (dBs @ lp[..., None])[..., 0]], axis=1)
    rhs = DM @ BW.transpose(0, 2, 1)  # (B, nth, P)
    kk = np.arange(K)
    rhs[:, kk, kk] += gts[:, :K]
    rhs[:, K, :K] += gts[:, K:]
    if not free.all():
        rhs = np.where(free[:, None, :], rhs, 0.0)
    Hf = _regularise(H, free)
    rhsT = rhs.transpose(0, 2, 1)
    try:
        dA = -np.linalg.solve(Hf, rhsT)  # (B, P, nth)
    except np.linalg.LinAlgError:
        dA = np.empty((B_, P, rhs.shape[1]))
        for b in range(B_):  # one by one, so the others keep their LAPACK solution
            try:
                dA[b] = -np.linalg.solve(Hf[b : b + 1], rhsT[b : b + 1])[0]
            except np.linalg.LinAlgError:
                dA[b] = -np.linalg.lstsq(Hf[b], rhsT[b], rcond=None)[0]
    if not free.all():
        dA = np.where(free[:, :, None], dA, 0.0)
    DM += dA.transpose(0, 2, 1) @ Bm
    DM *= drdm[:, None, :]
    if fix_shift:
        return DM[:, :K], dA[:, :, :K]
    return DM, dA
