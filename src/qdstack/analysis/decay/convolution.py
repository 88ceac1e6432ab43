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
A fractional IRF shift ``s = k + phi`` (bins) interpolates C at ``i - s`` from the
four bins ``i - k - 2 .. i - k + 1`` with a cubic-convolution kernel that keeps the
IRF's width (:func:`shift_weights`).  Window bins whose four mixed positions
all lie after the support are a pure exponential in the bin index, so
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
    "shift_weights",
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


def shift_weights(phi: np.ndarray):
    """Cubic-convolution weights of a fractional IRF shift and their derivatives in ``phi``.

    The model at bin ``i`` for a shift ``s = k + phi`` bins is the unshifted
    convolution ``C`` read at the fractional position ``i - s``, interpolated from the
    four bins ``i - k - 2 .. i - k + 1`` with Keys' cubic convolution kernel
    (``a = -1/2``, Catmull-Rom): with ``t = 1 - phi``,

    ``w = ((-t^3 + 2t^2 - t)/2, (3t^3 - 5t^2 + 2)/2, (-3t^3 + 4t^2 + t)/2, (t^3 - t^2)/2)``.

    The kernel reproduces polynomials up to degree 2, so a shifted IRF keeps its area,
    centre and *width* (second moment) whatever ``phi``, and the model is continuously
    differentiable in the shift.  Linear interpolation (``w = (0, phi, 1 - phi, 0)``)
    widens the IRF by the variance ``phi (1 - phi) dt^2``: a fitted shift away from a
    whole bin then lets the model's IRF broaden and eat the fast component, which
    biased the amplitude-weighted lifetime of tri-exponential fits by about -1 % at
    1e5 photons (see ``docs/guide/performance.md``).

    Parameters
    ----------
    phi : ndarray
        Fractional part of the shift, ``0 <= phi < 1``.

    Returns
    -------
    w, dw : ndarray, shape (4,) + phi.shape
        Weights of positions ``i - k - 2 .. i - k + 1`` and ``dw/dphi``.

    References
    ----------
    R. G. Keys, "Cubic convolution interpolation for digital image processing",
    *IEEE Trans. Acoust. Speech Signal Process.* 1981, 29, 1153.
    """
    t = 1.0 - np.asarray(phi, dtype=float)
    t2 = t * t
    t3 = t2 * t
    w = np.stack(
        [
            0.5 * (-t3 + 2.0 * t2 - t),
            0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t),
            0.5 * (t3 - t2),
        ]
    )
    # d/dphi = -d/dt
    dw = -np.stack(
        [
            0.5 * (-3.0 * t2 + 4.0 * t - 1.0),
            0.5 * (9.0 * t2 - 10.0 * t),
            0.5 * (-9.0 * t2 + 8.0 * t + 1.0),
            0.5 * (3.0 * t2 - 2.0 * t),
        ]
    )
    return w, dw


def _mix(w: np.ndarray, hc: np.ndarray, n: int) -> np.ndarray:
    """``sum_p w_p hc[..., p : p + n]`` for the 4 interpolation weights ``w`` (4, B, 1, 1)."""
    return (
        w[0] * hc[..., :n]
        + w[1] * hc[..., 1 : n + 1]
        + w[2] * hc[..., 2 : n + 2]
        + w[3] * hc[..., 3 : n + 3]
    )


def _head_gather(start: np.ndarray, count: int, S3: int, B_: int, K: int, uniform: bool):
    """A function ``Cext -> C(start + j)`` for ``j = 0..count-1`` (0 before the support).

    ``Cext`` (B, K, S3) holds ``C`` at support positions ``0 .. S3 - 1`` (the support and
    the first bins after it); positions beyond are never used (those bins are exponential).
    """
    padl = max(0, -int(start.min()))
    L = max(padl + S3, padl + int(start.max()) + count)
    if uniform:
        st = int(start[0]) + padl

        def take(Cext):
            buf = np.zeros((B_, K, L))
            buf[..., padl : padl + S3] = Cext
            return buf[..., st : st + count]

        return take
    flat = ((np.arange(B_ * K) * L).reshape(B_, K) + (start + padl)[:, None])[
        ..., None
    ] + np.arange(count)

    def take_many(Cext):
        buf = np.zeros((B_, K, L))
        buf[..., padl : padl + S3] = Cext
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
    Window bin ``j`` of decay ``b`` interpolates the convolution ``C`` from the four
    IRF-support positions ``u - 1 .. u + 2``, ``u = c0 + j`` (``c0 = i0 - 1 - k - js``,
    ``k`` the whole bins of the shift; :func:`shift_weights`).  Once all four lie after
    the support, ``C(u) = E q^(u - S)``, so the column is a pure exponential there,
    ``B_j = E P(q) q^(c0 + j - S - 1)`` with ``P(q) = w_0 + w_1 q + w_2 q^2 + w_3 q^3``,
    and so are its derivatives: one exponential per bin and a few products.  Only the
    first bins of the window (those that still see the support) are gathered from the
    support values.  :func:`columns_reference` evaluates every bin through the general
    formula; the two agree to rounding.
    """
    dt = geo.dt
    tau = np.asarray(tau, dtype=float)
    s_bins = np.asarray(s_bins, dtype=float)
    B_, K = tau.shape
    S = geo.S
    k_int = np.floor(s_bins).astype(np.int64)
    phi = s_bins - k_int
    w, dw = shift_weights(phi)
    w4 = w[:, :, None, None]
    c0 = (i0 - 1 - geo.js) - k_int  # support position u of window bin 0 (its second point)
    jt = S + 1 - c0  # first window bin whose four positions all lie after the support
    x, q, em, K0, K1, L0, L1, dK0, dK1, dL0, dL1 = _coefficients(tau, dt, jac)
    Qp = np.exp(-x[..., None] * geo.powers)  # (B, K, S)
    # one matrix product for [Qp @ Gm, Qp @ Sm, Qp @ g_rev, Qp @ s_rev]
    QGS = Qp @ geo.GSall  # stacked: each decay's product is computed alone, whatever the batch
    QG, QS = QGS[..., :S], QGS[..., S : 2 * S]
    EGS = QGS[..., 2 * S :]  # (B, K, 2)
    E = K1 * EGS[..., 0] + L1 * EGS[..., 1]  # C at the first bin after the support
    wc = w[:, :, None]  # (4, B, 1)
    q2 = q * q
    mixq = wc[0] + wc[1] * q + wc[2] * q2 + wc[3] * (q2 * q)
    F = E * mixq
    # exponential part: exponents clipped at 0 where a bin still sees the support (replaced below)
    mt = np.arange(nw, dtype=float)[None, :] + (c0 - S - 1).astype(float)[:, None]
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
        Eq = E * q
        Cext = np.concatenate([Csup, E[..., None], Eq[..., None], (Eq * q)[..., None]], axis=2)
        take = _head_gather(c0 - 1, Hw + 3, S + 3, B_, K, uniform)
        hc = take(Cext)  # C at u = c0 - 1 + j for j = 0..Hw + 2
        hB = _mix(w4, hc, Hw)
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
        dmixq = (wc[1] + 2.0 * wc[2] * q + 3.0 * wc[3] * q2) * dq
        dF = dE * mixq + E * dmixq
        dwc = dw[:, :, None]
        mixs = dwc[0] + dwc[1] * q + dwc[2] * q2 + dwc[3] * (q2 * q)
        D = np.empty((B_, 2 * K, nw))
        dBt, dBs = D[:, :K], D[:, K:]
        # d/dtau [F q^m] = q^m (dF + F m x / tau)
        np.multiply((F / tau)[..., None], XM, out=dBt)
        np.subtract(dF[..., None], dBt, out=dBt)
        dBt *= Qm
        np.multiply((E * mixs / dt)[..., None], Qm, out=dBs)
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
            dEq = dE * q + E * dq
            dCext = np.concatenate(
                [dCsup, dE[..., None], dEq[..., None], (dEq * q + Eq * dq)[..., None]], axis=2
            )
            hd = take(dCext)
            hdB = _mix(w4, hd, Hw)
            hdS = _mix(dw[:, :, None, None], hc, Hw) / dt
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
    """Add the tails of all earlier pulses (closed-form geometric sum) to the columns, in place.

    Every earlier pulse is at least one bin away, so at the histogram index ``i'`` its
    convolution is the pure exponential ``A q^(i')``, ``A = sum_j (K1 g_j + L1 s_j)
    q^(lag_j - 1) / (1 - exp(-T/tau))`` (the geometric sum over all earlier pulses),
    interpolated for the shift with the same weights as the current pulse.
    """
    dt = geo.dt
    K = tau.shape[1]
    T = geo.period_ns
    w, dw = shift_weights(phi)
    w4, dw4 = w[:, :, None, None], dw[:, :, None, None]
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
    # shifted like the current pulse: positions i - k - 2 .. i - k + 1
    m0 = ((i0 + np.arange(nw))[None, :] - k_int[:, None]).astype(float)  # (B, nw): i - k
    pos = [(m0 + (p - 2.0))[:, None, :] for p in range(4)]
    tp = [np.exp(logA[..., None] - pp * x[..., None]) for pp in pos]
    Bm[:, :K] += sum(w4[p] * tp[p] for p in range(4))
    if jac:
        xt = x / tau
        dwgt = dK1[..., None] * geo.g_sup + dL1[..., None] * geo.s_sup
        dlogS = ((dwgt * ee).sum(axis=2) + (e * geo.lag_prev).sum(axis=2) / tau**2) / Ssum
        qT = np.exp(-xT)
        dlogA = ((qT * xT / tau) / (1.0 - qT) + dlogS)[..., None]
        xtn = xt[..., None]
        dBt += sum(w4[p] * tp[p] * (dlogA + pos[p] * xtn) for p in range(4))
        dBs += sum(dw4[p] * tp[p] for p in range(4)) / dt


def columns_reference(
    geo: Geometry, tau: np.ndarray, s_bins: np.ndarray, i0: int, nw: int, jac: bool
):
    """Reference implementation of :func:`columns` (every bin through the general formula; for tests).

    Basis columns of the window ``[i0, i0 + nw)`` for every decay of a batch.  The
    tails of earlier pulses come from the same :func:`_add_periodic` as in
    :func:`columns` (tested on its own against the closed-form steady state).

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
    phi = s_bins - k_int
    w, dw = shift_weights(phi)
    w4, dw4 = w[:, :, None, None], dw[:, :, None, None]
    idx = (i0 - 2 - k_int)[:, None] + np.arange(nw + 3)[None, :]  # (B, nw + 3) histogram indices
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
    ex = np.exp(-x[..., None] * m_after[:, None, :])  # (B, K, nw + 3)
    uu = np.broadcast_to(np.clip(u, 0, S - 1)[:, None, :], (B_, K, nw + 3))
    sup_vals = np.take_along_axis(Csup, uu, axis=2)
    C = np.where(in_sup[:, None, :], sup_vals, np.where(after[:, None, :], E[..., None] * ex, 0.0))
    Bm = np.empty((B_, K + 1, nw))
    Bm[:, :K] = sum(w4[p] * C[..., p : p + nw] for p in range(4))
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
        dBt = sum(w4[p] * dC[..., p : p + nw] for p in range(4))
        dBs = sum(dw4[p] * C[..., p : p + nw] for p in range(4)) / dt
    if geo.period_ns is not None:
        _add_periodic(geo, tau, x, K1, L1, dK1, dL1, k_int, phi, i0, nw, Bm, dBt, dBs, jac)
    return Bm, dBt, dBs
