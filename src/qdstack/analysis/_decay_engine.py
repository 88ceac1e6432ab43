"""Vectorised model, amplitudes and Jacobian of the reconvolution fit (a batch of decays at once).

Private to :mod:`qdstack.analysis.decay`; see its docstring for the model.  All
arrays carry a leading batch axis ``b`` (decays fitted together with one IRF),
a component axis ``k`` (K exponentials) and a bin axis ``n`` (the fit window).

Convolution of the IRF with ``exp(-t/tau)`` in closed form
----------------------------------------------------------
Inside each bin the IRF density is taken as linear, ``(g_j + s_j (2u/dt - 1)) / dt``
for ``0 <= u < dt``: it integrates to the measured ``g_j`` and its slope ``s_j``
is the central difference ``(g_{j+1} - g_{j-1})/4`` limited to ``|s_j| <= g_j``
(so the density never goes negative; "minmod"-like limiting as in finite-volume
schemes).  A flat (uniform) density per bin would blur the IRF by a box of the
bin width, which biases short lifetimes by a few per cent when the IRF spans
only a few bins; the linear term removes that first-order error.

The decay integrated over bin i from IRF bin j (lag ``m = i - j``) is then
``g_j K_m + s_j L_m`` with ``K_0 = tau h(x)``, ``K_m = K_1 q^(m-1)``,
``K_1 = dt (1 - q)^2 / x^2``, ``L_0 = -tau F(x)``, ``L_m = L_1 q^(m-1)``,
``L_1 = tau (1 - q) F(x)``, where ``x = dt/tau``, ``q = e^-x``,
``h(x) = 1 - (1 - q)/x`` and ``F(x) = int_0^1 (1 - 2w) e^(-x w) dw``.  For an IRF
whose support is bins ``js..je`` (S bins) the convolution is

* inside the support, ``C(i) = K_0 g_i + L_0 s_i + sum_{d=0}^{u-1} q^d (K_1 g + L_1 s)_{i-1-d}``
  (``u = i - js``): the powers ``q^d`` times fixed S x S matrices built from the
  IRF once (``Qp @ Gm``, ``Qp @ Sm``), one small matrix product for every decay
  and component at once;
* after the support, a pure exponential ``C(i) = q^(i-1-je) E`` with
  ``E = sum_d q^d (K_1 g + L_1 s)_{je-d}``.

So the columns and their exact derivatives in tau cost a few vectorised
exponentials and matrix products per evaluation, whatever the batch size.
A fractional IRF shift ``s = k + phi`` (bins) linearly interpolates the IRF,
i.e. mixes C at ``i - k`` and ``i - k - 1``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, solve_triangular
from scipy.linalg.lapack import dposv
from scipy.optimize import nnls

__all__ = ["Geometry", "kernel_coefficients", "columns", "poisson_amplitudes", "neyman_amplitudes", "varpro_jacobian"]

_M_FLOOR = 1e-9


def _h(x: np.ndarray) -> np.ndarray:
    """``1 - (1 - e^-x)/x`` elementwise, without cancellation."""
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    return np.where(small, x / 2 - x * x / 6 + x**3 / 24, 1.0 + np.expm1(-xs) / xs)


def _dk0(x: np.ndarray) -> np.ndarray:
    """``1 + q - 2 (1 - q)/x`` elementwise (``dK_0/dtau``), without cancellation."""
    small = x < 1e-2
    xs = np.where(small, 1.0, x)
    return np.where(small, x * x / 6 - x**3 / 12 + x**4 / 40, 1.0 + np.exp(-xs) + 2.0 * np.expm1(-xs) / xs)


_GL_W, _GL_X = None, None


def _slope_kernel(x: np.ndarray):
    """``F(x) = int_0^1 (1 - 2w) e^(-x w) dw`` and ``F'(x)``, accurate for all x > 0.

    Closed forms ``F = (1 - q)/x - 2 (1 - q - x q)/x^2`` and
    ``F' = -q/x - (1 - q)/x^2 + 4 (1 - q - x q)/x^3`` cancel badly for small x; there a
    16-point Gauss-Legendre rule is exact to rounding (the integrand is entire).
    """
    global _GL_W, _GL_X
    if _GL_W is None:
        xs, ws = np.polynomial.legendre.leggauss(16)
        _GL_X, _GL_W = 0.5 * (xs + 1.0), 0.5 * ws
    small = x < 2.0
    xs_ = np.where(small, 2.0, x)
    q = np.exp(-xs_)
    c = 1.0 - q - xs_ * q
    F_big = (1.0 - q) / xs_ - 2.0 * c / xs_**2
    dF_big = -q / xs_ - (1.0 - q) / xs_**2 + 4.0 * c / xs_**3
    xq = np.where(small, x, 0.0)[..., None]
    e = np.exp(-xq * _GL_X) * _GL_W
    F_small = np.sum((1.0 - 2.0 * _GL_X) * e, axis=-1)
    dF_small = -np.sum(_GL_X * (1.0 - 2.0 * _GL_X) * e, axis=-1)
    return np.where(small, F_small, F_big), np.where(small, dF_small, dF_big)


def slope_coefficients(tau: np.ndarray, dt: float, jac: bool = False):
    """``L0, L1`` (and their tau-derivatives) of the linear-in-bin part of the IRF."""
    x = dt / tau
    q = np.exp(-x)
    em = -np.expm1(-x)
    F, dF = _slope_kernel(x)
    L0 = -tau * F
    L1 = tau * em * F
    if not jac:
        return L0, L1, None, None
    dL0 = -F + x * dF
    dL1 = (em - q * x) * F - em * x * dF
    return L0, L1, dL0, dL1


def irf_slopes(g: np.ndarray) -> np.ndarray:
    """Limited central-difference slopes ``s_j`` of a binned IRF (``|s_j| <= g_j``)."""
    gp = np.concatenate([[0.0], g, [0.0]])
    s = 0.25 * (gp[2:] - gp[:-2])
    return np.clip(s, -g, g)


def kernel_coefficients(tau: np.ndarray, dt: float, jac: bool = False):
    """``x = dt/tau, q, K0, K1`` (and ``dK0/dtau, dK1/dtau``) for an array of lifetimes."""
    x = dt / tau
    q = np.exp(-x)
    em = -np.expm1(-x)
    K0 = tau * _h(x)
    K1 = dt * (em / x) ** 2
    if not jac:
        return x, q, K0, K1, None, None
    dK0 = _dk0(x)
    dK1 = K1 * (2.0 / tau - 2.0 * q * x / (tau * em))
    return x, q, K0, K1, dK0, dK1


class Geometry:
    """What the columns need from the IRF and the time axis (built once per IRF).

    Parameters
    ----------
    irf : ndarray, shape (n,)
        Normalised, non-negative IRF on the histogram bins.
    dt : float
        Bin width [ns].
    period_ns : float or None
        Repetition period when the tails of earlier pulses are modelled.
    slopes : bool
        Linear IRF density inside each bin (default); False: uniform.
    """

    def __init__(self, irf: np.ndarray, dt: float, period_ns: float | None = None, slopes: bool = True):
        g = np.asarray(irf, dtype=float)
        nz = np.nonzero(g > 0)[0]
        if nz.size == 0:
            raise ValueError("the IRF is zero everywhere")
        self.n = g.size
        self.dt = float(dt)
        self.g = g
        self.js = int(nz[0])
        self.je = int(nz[-1])
        S = self.je - self.js + 1
        self.S = S
        self.g_sup = g[self.js : self.je + 1].copy()
        self.g_rev = self.g_sup[::-1].copy()
        # Gm[d, u] = g_sup[u - 1 - d] for d <= u - 1
        d = np.arange(S)[:, None]
        u = np.arange(S)[None, :]
        j = u - 1 - d
        self.Gm = np.where(j >= 0, self.g_sup[np.clip(j, 0, S - 1)], 0.0)
        self.s_sup = irf_slopes(g)[self.js : self.je + 1].copy() if slopes else np.zeros(S)
        self.s_rev = self.s_sup[::-1].copy()
        self.Sm = np.where(j >= 0, self.s_sup[np.clip(j, 0, S - 1)], 0.0)
        self.GSm = np.concatenate([self.Gm, self.Sm], axis=1)  # one matrix product for both
        self.GS_rev = np.stack([self.g_rev, self.s_rev], axis=1)
        self.powers = np.arange(S, dtype=float)
        self.period_ns = period_ns
        if period_ns is not None:
            # T - (j + 1) dt for the support bins j (histogram frame)
            self.lag_prev = period_ns - (np.arange(self.js, self.je + 1) + 1.0) * dt


def columns(geo: Geometry, tau: np.ndarray, s_bins: np.ndarray, i0: int, nw: int, jac: bool):
    """Basis columns of the window ``[i0, i0 + nw)`` for every decay of a batch.

    Parameters
    ----------
    tau : ndarray, shape (B, K)
        Lifetimes [ns].
    s_bins : ndarray, shape (B,)
        IRF shift in bins.
    jac : bool
        Also return the derivatives.

    Returns
    -------
    Bm : ndarray, shape (B, K + 1, nw)
        K exponential columns and the background column (ones).
    dBt : ndarray, shape (B, K, nw) or None
        d(column k)/d(tau_k) [per ns].
    dBs : ndarray, shape (B, K, nw) or None
        d(column k)/d(shift) [per ns of shift].
    """
    dt = geo.dt
    B_, K = tau.shape
    k_int = np.floor(s_bins).astype(np.int64)
    phi = (s_bins - k_int)[:, None, None]
    idx = (i0 - 1 - k_int)[:, None] + np.arange(nw + 1)[None, :]  # (B, nw + 1) histogram indices
    u = idx - geo.js
    in_sup = (u >= 0) & (u < geo.S)
    after = u >= geo.S
    m_after = np.where(after, idx - 1 - geo.je, 0).astype(float)
    x, q, K0, K1, dK0, dK1 = kernel_coefficients(tau, dt, jac)
    L0, L1, dL0, dL1 = slope_coefficients(tau, dt, jac)
    S = geo.S
    Qp = np.exp(-x[..., None] * geo.powers)  # (B, K, S)
    QGS = Qp @ geo.GSm  # (B, K, 2S): [Qp @ Gm, Qp @ Sm]
    QG, QS = QGS[..., :S], QGS[..., S:]
    Csup = K0[..., None] * geo.g_sup + L0[..., None] * geo.s_sup + K1[..., None] * QG + L1[..., None] * QS
    EGS = Qp @ geo.GS_rev  # (B, K, 2)
    E = K1 * EGS[..., 0] + L1 * EGS[..., 1]  # (B, K)
    ex = np.exp(-x[..., None] * m_after[:, None, :])  # (B, K, nw + 1)
    uu = np.broadcast_to(np.clip(u, 0, S - 1)[:, None, :], (B_, K, nw + 1))
    sup_vals = np.take_along_axis(Csup, uu, axis=2)
    C = np.where(in_sup[:, None, :], sup_vals, np.where(after[:, None, :], E[..., None] * ex, 0.0))
    Bm = np.empty((B_, K + 1, nw))
    Bm[:, :K] = (1.0 - phi) * C[..., 1:] + phi * C[..., :-1]
    Bm[:, K] = 1.0
    dBt = dBs = None
    if jac:
        xt = x / tau  # d(q^d)/dtau = d q^d x / tau
        dQp = Qp * geo.powers * xt[..., None]
        dQGS = dQp @ geo.GSm
        dQG, dQS = dQGS[..., :S], dQGS[..., S:]
        dCsup = (dK0[..., None] * geo.g_sup + dL0[..., None] * geo.s_sup + dK1[..., None] * QG
                 + K1[..., None] * dQG + dL1[..., None] * QS + L1[..., None] * dQS)
        dEGS = dQp @ geo.GS_rev
        dE = dK1 * EGS[..., 0] + K1 * dEGS[..., 0] + dL1 * EGS[..., 1] + L1 * dEGS[..., 1]
        dtail = ex * (dE[..., None] + (E * xt)[..., None] * m_after[:, None, :])
        dsup = np.take_along_axis(dCsup, uu, axis=2)
        dC = np.where(in_sup[:, None, :], dsup, np.where(after[:, None, :], dtail, 0.0))
        dBt = (1.0 - phi) * dC[..., 1:] + phi * dC[..., :-1]
        dBs = (C[..., :-1] - C[..., 1:]) / dt
    if geo.period_ns is not None:
        T = geo.period_ns
        # every earlier pulse is at least one bin away: its IRF bin j contributes
        # (K1 g_j + L1 s_j) q^(lag - 1), and the sum over pulses is geometric in exp(-T/tau)
        expo = -geo.lag_prev / tau[..., None]  # (B, K, S)
        mx = expo.max(axis=2, keepdims=True)
        ee = np.exp(expo - mx)
        wgt = K1[..., None] * geo.g_sup + L1[..., None] * geo.s_sup  # >= 0 (|s| <= g, L1 <= K1)
        e = wgt * ee
        Ssum = e.sum(axis=2)
        logS = mx[..., 0] + np.log(Ssum)
        xT = T / tau
        logA = logS - np.log(-np.expm1(-xT))
        # shifted like the current pulse: the IRF is linearly interpolated between whole-bin shifts
        m0 = ((i0 + np.arange(nw))[None, :] - k_int[:, None]).astype(float)  # (B, nw): i - k
        t0 = np.exp(logA[..., None] - m0[:, None, :] * x[..., None])
        t1 = np.exp(logA[..., None] - (m0 - 1.0)[:, None, :] * x[..., None])
        Bm[:, :K] += (1.0 - phi) * t0 + phi * t1
        if jac:
            dwgt = dK1[..., None] * geo.g_sup + dL1[..., None] * geo.s_sup
            dlogS = ((dwgt * ee).sum(axis=2) + (e * geo.lag_prev).sum(axis=2) / tau**2) / Ssum
            qT = np.exp(-xT)
            dlogA = ((qT * xT / tau) / (1.0 - qT) + dlogS)[..., None]
            xtn = xt[..., None]
            dBt += (1.0 - phi) * t0 * (dlogA + m0[:, None, :] * xtn) + phi * t1 * (dlogA + (m0 - 1.0)[:, None, :] * xtn)
            dBs += (t1 - t0) / dt
    return Bm, dBt, dBs


def _nnls_gram(G: np.ndarray, c: np.ndarray) -> np.ndarray:
    """argmin_{a >= 0} a^T G a - 2 c^T a for a small symmetric positive (semi)definite G."""
    _, a, info = dposv(G, c)
    if info == 0 and np.all(a >= 0) and np.all(np.isfinite(a)):
        return a
    ridge = 1e-12 * max(float(np.trace(G)), 1e-300)
    try:
        L, _ = cho_factor(G + ridge * np.eye(G.shape[0]), lower=True)
    except LinAlgError:
        L, _ = cho_factor(G + 1e-8 * max(float(np.trace(G)), 1e-300) * np.eye(G.shape[0]), lower=True)
    L = np.tril(L)
    b = solve_triangular(L, c, lower=True)
    a, _ = nnls(L.T, b)
    return a


def _solve_spd(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``H x = g`` for a batch of small symmetric positive definite matrices."""
    try:
        return np.linalg.solve(H, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(g)
        for b in range(H.shape[0]):
            _, xb, info = dposv(H[b], g[b])
            out[b] = xb if info == 0 else np.linalg.lstsq(H[b], g[b], rcond=None)[0]
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


def poisson_amplitudes(Bm: np.ndarray, Y: np.ndarray, pos: np.ndarray, a0: np.ndarray | None,
                       tol: float = 1e-9, max_iter: int = 60) -> tuple[np.ndarray, int]:
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
    pos : ndarray of bool, shape (B, n)
        Bins with counts inside the window.
    a0 : ndarray, shape (B, P) or None
        Starting amplitudes (warm start).

    Returns
    -------
    a : ndarray, shape (B, P)
    iterations : int
    """
    B_, P, n = Bm.shape
    sB = Bm.sum(axis=2)
    Yp = np.where(pos, Y, 0.0)
    if a0 is None or not np.all(np.isfinite(a0)):
        a = neyman_amplitudes(Bm, Y, 1.0 / np.maximum(Y, 1.0))
    else:
        a = np.maximum(a0, 0.0)
    m = (a[:, None, :] @ Bm)[:, 0, :]
    bad = np.any(pos & ~(m > 0), axis=1)
    if bad.any():
        lift = 0.5 * Yp[bad].sum(axis=1) / np.maximum(pos[bad].sum(axis=1), 1) + 1e-9
        a[bad, -1] = np.maximum(a[bad, -1], lift)
        m = (a[:, None, :] @ Bm)[:, 0, :]
    active = np.ones(B_, dtype=bool)
    sqrt_tol = math.sqrt(tol)
    it = 0
    for it in range(1, max_iter + 1):
        ms = np.where(pos, m, 1.0)
        ratio = Yp / ms
        grad = sB - (Bm @ ratio[..., None])[..., 0]
        curv = ratio / ms
        H = (Bm * curv[:, None, :]) @ Bm.transpose(0, 2, 1)
        free = (a > 0) | (grad < 0)
        for _ in range(P):
            d = _solve_spd(_regularise(H, free), -np.where(free, grad, 0.0))
            d = np.where(free, d, 0.0)
            stuck = free & (a <= 0) & (d < 0)
            if not stuck.any():
                break
            free &= ~stuck
        dec = -np.sum(np.where(free, grad, 0.0) * d, axis=1)
        active &= dec > tol
        if not active.any():
            break
        alpha = np.where(active, 1.0, 0.0)
        pending = active.copy()
        a_new = a.copy()
        m_new = m.copy()
        for _ in range(60):
            cand = np.maximum(a + alpha[:, None] * d, 0.0)
            da = cand - a
            dm = (da[:, None, :] @ Bm)[:, 0, :]
            rel = np.where(pos, dm / ms, 0.0)
            feasible = np.all(rel > -1.0, axis=1)
            change = np.sum(sB * da, axis=1) - np.sum(Yp * np.log1p(np.where(rel > -1.0, rel, 0.0)), axis=1)
            ok = pending & feasible & (change <= -1e-4 * alpha * dec)
            a_new[ok] = cand[ok]
            m_new[ok] = m[ok] + dm[ok]
            pending &= ~ok
            if not pending.any():
                break
            alpha = np.where(pending, alpha * 0.5, alpha)
        # decays whose line search failed have reached the floating-point floor: stop them
        active &= ~pending
        a, m = a_new, m_new
        active &= ~((alpha == 1.0) & (dec < sqrt_tol))
        if not active.any():
            break
    return a, it


def varpro_jacobian(Bm, dBt, dBs, a, m, Y, pos, r, statistic: str, W=None, fix_shift: bool = False):
    """Jacobian of the projected residuals with respect to (tau_1..tau_K, shift) for each decay.

    ``dm/dtheta = (dB/dtheta) a + B da/dtheta`` with ``da/dtheta`` from the
    implicit-function theorem on the optimality of the amplitudes (active ones
    only): ``H da = -[(dB/dtheta) l' + B l'' (dB/dtheta) a]``, ``H = B l'' B^T``,
    where ``l'`` and ``l''`` are the first and second derivatives of the per-bin
    loss in m (Poisson ``m - y ln m``; Neyman ``W (y - m)^2 / 2``).  Then
    ``J = (dr/dm) dm/dtheta``.

    Returns
    -------
    J : ndarray, shape (B, n, K + 1) (or K with ``fix_shift``)
    """
    B_, P, n = Bm.shape
    K = P - 1
    if statistic == "poisson":
        ms = np.where(pos, m, 1.0)
        ratio = np.where(pos, Y / ms, 0.0)
        w = ratio / ms
        lp = np.where(Bm[:, -1, :] > 0, 1.0 - ratio, 0.0)  # the window mask lives in the background row
        with np.errstate(divide="ignore", invalid="ignore"):
            big = np.abs(r) > 1e-6 * np.sqrt(m)
            drdm = np.where(big, lp / np.where(big, r, 1.0), -1.0 / np.sqrt(np.maximum(m, _M_FLOOR)))
        drdm = np.where(Bm[:, -1, :] > 0, drdm, 0.0)
    else:
        w = W
        lp = (m - Y) * W
        drdm = -np.sqrt(W)
    nth = K + 1
    DM = np.empty((B_, nth, n))
    DM[:, :K] = a[:, :K, None] * dBt
    DM[:, K] = (a[:, None, :K] @ dBs)[:, 0, :]
    free = a > 0
    BW = Bm * w[:, None, :]
    H = BW @ Bm.transpose(0, 2, 1)  # (B, P, P)
    gt = np.einsum("bkn,bn->bk", dBt, lp)  # (B, K)
    gs = np.einsum("bkn,bn->bk", dBs, lp)  # (B, K)
    R1 = np.zeros((B_, nth, P))
    kk = np.arange(K)
    R1[:, kk, kk] = gt
    R1[:, K, :K] = gs
    rhs = R1 + DM @ BW.transpose(0, 2, 1)  # (B, nth, P)
    rhs = np.where(free[:, None, :], rhs, 0.0)
    Hf = _regularise(H, free)
    try:
        dA = -np.linalg.solve(Hf, rhs.transpose(0, 2, 1))  # (B, P, nth)
    except np.linalg.LinAlgError:
        dA = np.stack([-np.linalg.lstsq(Hf[b], rhs[b].T, rcond=None)[0] for b in range(B_)])
    dA = np.where(free[:, :, None], dA, 0.0)
    DMt = DM + dA.transpose(0, 2, 1) @ Bm
    J = (drdm[:, None, :] * DMt).transpose(0, 2, 1)
    if fix_shift:
        J = J[:, :, :K]
    return J, dA
