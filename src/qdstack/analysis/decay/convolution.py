"""Closed-form convolution of the IRF with exponentials: columns and their derivatives, batched.

See :mod:`qdstack.analysis.decay` for the model.  All
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
i.e. mixes C at ``i - k`` and ``i - k - 1``.  Window bins whose two mixed positions
both lie after the support are a pure exponential in the bin index, so
:func:`columns` evaluates them (and their derivatives) with one exponential per
bin and gathers only the first bins of the window from the support values;
:func:`columns_reference` evaluates every bin through the general formula.

Batches
-------
Every operation acts on each decay alone (elementwise arithmetic, stacked matrix
products, LAPACK per matrix, decisions per decay), so the numbers of a decay do
not depend on the other decays evaluated with it, to the last bit.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Geometry",
    "kernel_coefficients",
    "slope_coefficients",
    "irf_slopes",
    "columns",
    "columns_reference",
]


def _h(x: np.ndarray) -> np.ndarray:
    """``1 - (1 - e^-x)/x`` elementwise, without cancellation."""
    small = x < 1e-3
    xs = np.where(small, 1.0, x)
    return np.where(small, x / 2 - x * x / 6 + x**3 / 24, 1.0 + np.expm1(-xs) / xs)


def _dk0(x: np.ndarray) -> np.ndarray:
    """``1 + q - 2 (1 - q)/x`` elementwise (``dK_0/dtau``), without cancellation."""
    small = x < 1e-2
    xs = np.where(small, 1.0, x)
    return np.where(
        small, x * x / 6 - x**3 / 12 + x**4 / 40, 1.0 + np.exp(-xs) + 2.0 * np.expm1(-xs) / xs
    )


_GL_W, _GL_X, _GL_C = None, None, None


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


def _coefficients(tau: np.ndarray, dt: float, jac: bool):
    """All kernel coefficients at once, with as few array operations as possible.

    Returns ``x, q, em, K0, K1, L0, L1`` and, with ``jac``, ``dK0, dK1, dL0, dL1``
    (else None), the same numbers as :func:`kernel_coefficients` and
    :func:`slope_coefficients` (``em = 1 - q``).  The series and quadrature branches
    that guard against cancellation are evaluated only when some ``x`` needs them.
    """
    global _GL_W, _GL_X, _GL_C
    if _GL_W is None or _GL_C is None:
        xs, ws = np.polynomial.legendre.leggauss(16)
        _GL_X, _GL_W = 0.5 * (xs + 1.0), 0.5 * ws
        _GL_C = np.stack(
            [(1.0 - 2.0 * _GL_X) * _GL_W, -_GL_X * (1.0 - 2.0 * _GL_X) * _GL_W], axis=1
        )
    x = dt / tau
    em = -np.expm1(-x)
    q = np.exp(-x)
    em_x = em / x
    h = 1.0 - em_x if x.min() >= 1e-3 else _h(x)
    K0 = tau * h
    K1 = dt * em_x * em_x
    # F(x) and F'(x) of the linear-in-bin IRF density: quadrature below x = 2, closed form above
    if x.max() < 2.0:
        FF = np.exp(-x[..., None] * _GL_X) @ _GL_C
        F, dF = FF[..., 0], FF[..., 1]
    else:
        F, dF = _slope_kernel(x)
    L0 = -tau * F
    L1 = tau * em * F
    if not jac:
        return x, q, em, K0, K1, L0, L1, None, None, None, None
    if x.min() >= 1e-2:
        dK0 = 1.0 + q - 2.0 * em_x
    else:
        dK0 = _dk0(x)
    dK1 = K1 * (2.0 / tau) * (1.0 - q * x / em)
    xdF = x * dF
    dL0 = xdF - F
    dL1 = (em - q * x) * F - em * xdF
    return x, q, em, K0, K1, L0, L1, dK0, dK1, dL0, dL1


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

    def __init__(
        self, irf: np.ndarray, dt: float, period_ns: float | None = None, slopes: bool = True
    ):
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
        self.GSall = np.concatenate([self.GSm, self.GS_rev], axis=1)  # (S, 2S + 2)
        self.powers = np.arange(S, dtype=float)
        self.period_ns = period_ns
        if period_ns is not None:
            # T - (j + 1) dt for the support bins j (histogram frame)
            self.lag_prev = period_ns - (np.arange(self.js, self.je + 1) + 1.0) * dt


def _head_gather(c0: np.ndarray, Hw: int, S: int, B_: int, K: int, uniform: bool):
    """A function ``(Csup, E) -> C(c0 + j)`` for window bins ``j = 0..Hw`` (0 before the support).

    ``C(u)`` is ``Csup[u]`` on the support ``0 <= u < S``, ``E`` at ``u = S`` and 0 for
    ``u < 0``; positions beyond ``S`` are never used (those bins are exponential).
    """
    padl = max(0, -int(c0.min()))
    L = max(padl + S + 1, padl + int(c0.max()) + Hw + 1)
    if uniform:
        st = int(c0[0]) + padl

        def take(Csup, E):
            buf = np.zeros((B_, K, L))
            buf[..., padl : padl + S] = Csup
            buf[..., padl + S] = E
            return buf[..., st : st + Hw + 1]

        return take
    flat = ((np.arange(B_ * K) * L).reshape(B_, K) + (c0 + padl)[:, None])[..., None] + np.arange(
        Hw + 1
    )

    def take_many(Csup, E):
        buf = np.zeros((B_, K, L))
        buf[..., padl : padl + S] = Csup
        buf[..., padl + S] = E
        return buf.ravel().take(flat)

    return take_many


def columns(
    geo: Geometry, tau: np.ndarray, s_bins: np.ndarray, i0: int, nw: int, jac: bool, out=None
):
    """Basis columns of the window ``[i0, i0 + nw)`` for every decay of a batch.

    Parameters
    ----------
    tau : ndarray, shape (B, K)
        Lifetimes [ns].
    s_bins : ndarray, shape (B,)
        IRF shift in bins.
    jac : bool
        Also return the derivatives.
    out : ndarray, shape (B, K + 1, nw), optional
        Where to write ``Bm`` (e.g. rows of a Jacobian being assembled).

    Returns
    -------
    Bm : ndarray, shape (B, K + 1, nw)
        K exponential columns and the background column (ones).
    dBt : ndarray, shape (B, K, nw) or None
        d(column k)/d(tau_k) [per ns].
    dBs : ndarray, shape (B, K, nw) or None
        d(column k)/d(shift) [per ns of shift].

    Notes
    -----
    Window bin ``j`` of decay ``b`` mixes the convolution ``C`` at IRF-support
    positions ``u = c0 + j`` and ``u + 1`` (``c0 = i0 - 1 - k - js``, ``k`` the whole
    bins of the shift).  Once both lie after the support, ``C(u) = E q^(u - S)``,
    so the column is a pure exponential there,
    ``B_j = E ((1 - phi) q + phi) q^(c0 + j - S)``, and so are its derivatives:
    one exponential per bin and a few products.  Only the first bins of the
    window (those that still see the support) are gathered from the support
    values.  :func:`columns_reference` evaluates every bin through the general
    formula; the two agree to rounding.
    """
    dt = geo.dt
    tau = np.asarray(tau, dtype=float)
    s_bins = np.asarray(s_bins, dtype=float)
    B_, K = tau.shape
    S = geo.S
    k_int = np.floor(s_bins).astype(np.int64)
    phi = s_bins - k_int
    ph = phi[:, None]
    c0 = (i0 - 1 - geo.js) - k_int  # support position u of the left edge of window bin 0
    jt = S - c0  # first window bin whose two mixed positions both lie after the support
    x, q, em, K0, K1, L0, L1, dK0, dK1, dL0, dL1 = _coefficients(tau, dt, jac)
    Qp = np.exp(-x[..., None] * geo.powers)  # (B, K, S)
    # one matrix product for [Qp @ Gm, Qp @ Sm, Qp @ g_rev, Qp @ s_rev]
    QGS = Qp @ geo.GSall  # stacked: each decay's product is computed alone, whatever the batch
    QG, QS = QGS[..., :S], QGS[..., S : 2 * S]
    EGS = QGS[..., 2 * S :]  # (B, K, 2)
    E = K1 * EGS[..., 0] + L1 * EGS[..., 1]  # C at the first bin after the support
    mixq = (1.0 - ph) * q + ph
    F = E * mixq
    # exponential part: exponents clipped at 0 where a bin still sees the support (replaced below)
    mt = np.arange(nw, dtype=float)[None, :] + (c0 - S).astype(float)[:, None]
    np.maximum(mt, 0.0, out=mt)
    XM = np.multiply((-x)[..., None], mt[:, None, :])  # -x m
    Qm = np.exp(XM)  # (B, K, nw)
    Bm = np.empty((B_, K + 1, nw)) if out is None else out
    np.multiply(F[..., None], Qm, out=Bm[:, :K])
    Bm[:, K] = 1.0
    jt_max = int(jt.max())
    Hw = min(nw, max(0, jt_max))
    uniform = int(jt.min()) == jt_max
    if Hw > 0:
        Csup = (
            K0[..., None] * geo.g_sup
            + L0[..., None] * geo.s_sup
            + K1[..., None] * QG
            + L1[..., None] * QS
        )
        take = _head_gather(c0, Hw, S, B_, K, uniform)
        hc = take(Csup, E)  # C at u = c0 + j for j = 0..Hw
        ph3 = ph[..., None]
        hB = (1.0 - ph3) * hc[..., 1:] + ph3 * hc[..., :-1]
        if uniform:
            Bm[:, :K, :Hw] = hB
        else:
            inhead = (np.arange(Hw)[None, :] < jt[:, None])[:, None, :]
            Bm[:, :K, :Hw] = np.where(inhead, hB, Bm[:, :K, :Hw])
    dBt = dBs = None
    if jac:
        xt = x / tau
        dq = q * xt
        dQp = Qp * geo.powers * xt[..., None]
        dQGS = dQp @ (geo.GSall if Hw > 0 else geo.GS_rev)
        dEGS = dQGS[..., -2:]
        dE = dK1 * EGS[..., 0] + K1 * dEGS[..., 0] + dL1 * EGS[..., 1] + L1 * dEGS[..., 1]
        dF = dE * mixq + E * (1.0 - ph) * dq
        D = np.empty((B_, 2 * K, nw))
        dBt, dBs = D[:, :K], D[:, K:]
        # d/dtau [F q^m] = q^m (dF + F m x / tau)
        np.multiply((F / tau)[..., None], XM, out=dBt)
        np.subtract(dF[..., None], dBt, out=dBt)
        dBt *= Qm
        np.multiply((E * (1.0 - q) / dt)[..., None], Qm, out=dBs)
        if Hw > 0:
            dQG, dQS = dQGS[..., :S], dQGS[..., S : 2 * S]
            dCsup = (
                dK0[..., None] * geo.g_sup
                + dL0[..., None] * geo.s_sup
                + dK1[..., None] * QG
                + K1[..., None] * dQG
                + dL1[..., None] * QS
                + L1[..., None] * dQS
            )
            hd = take(dCsup, dE)
            hdB = (1.0 - ph3) * hd[..., 1:] + ph3 * hd[..., :-1]
            hdS = (hc[..., :-1] - hc[..., 1:]) / dt
            if uniform:
                dBt[..., :Hw] = hdB
                dBs[..., :Hw] = hdS
            else:
                dBt[..., :Hw] = np.where(inhead, hdB, dBt[..., :Hw])
                dBs[..., :Hw] = np.where(inhead, hdS, dBs[..., :Hw])
    if geo.period_ns is not None:
        _add_periodic(geo, tau, x, K1, L1, dK1, dL1, k_int, phi, i0, nw, Bm, dBt, dBs, jac)
    return Bm, dBt, dBs


def _add_periodic(geo, tau, x, K1, L1, dK1, dL1, k_int, phi, i0, nw, Bm, dBt, dBs, jac):
    """Add the tails of all earlier pulses (closed-form geometric sum) to the columns, in place."""
    dt = geo.dt
    K = tau.shape[1]
    T = geo.period_ns
    ph = phi[:, None, None]
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
    Bm[:, :K] += (1.0 - ph) * t0 + ph * t1
    if jac:
        xt = x / tau
        dwgt = dK1[..., None] * geo.g_sup + dL1[..., None] * geo.s_sup
        dlogS = ((dwgt * ee).sum(axis=2) + (e * geo.lag_prev).sum(axis=2) / tau**2) / Ssum
        qT = np.exp(-xT)
        dlogA = ((qT * xT / tau) / (1.0 - qT) + dlogS)[..., None]
        xtn = xt[..., None]
        dBt += (1.0 - ph) * t0 * (dlogA + m0[:, None, :] * xtn) + ph * t1 * (
            dlogA + (m0 - 1.0)[:, None, :] * xtn
        )
        dBs += (t1 - t0) / dt


def columns_reference(
    geo: Geometry, tau: np.ndarray, s_bins: np.ndarray, i0: int, nw: int, jac: bool
):
    """Reference implementation of :func:`columns` (every bin through the general formula; for tests).

    Basis columns of the window ``[i0, i0 + nw)`` for every decay of a batch.

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
    Csup = (
        K0[..., None] * geo.g_sup
        + L0[..., None] * geo.s_sup
        + K1[..., None] * QG
        + L1[..., None] * QS
    )
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
        dCsup = (
            dK0[..., None] * geo.g_sup
            + dL0[..., None] * geo.s_sup
            + dK1[..., None] * QG
            + K1[..., None] * dQG
            + dL1[..., None] * QS
            + L1[..., None] * dQS
        )
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
            dBt += (1.0 - phi) * t0 * (dlogA + m0[:, None, :] * xtn) + phi * t1 * (
                dlogA + (m0 - 1.0)[:, None, :] * xtn
            )
            dBs += (t1 - t0) / dt
    return Bm, dBt, dBs
