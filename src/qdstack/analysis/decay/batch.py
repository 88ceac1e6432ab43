"""Many decays with one IRF, solved together as arrays (the batch path of ``fit_many``).

The parameters of all decays of a chunk are fitted by one vectorised
Levenberg-Marquardt iteration: every decay has its own damping, its own step, its own
accept/reject decision and its own convergence test, but the model, the objective, its
gradient and its Gauss-Newton matrix are evaluated for a block of decays in one call
(:meth:`_Chunk.evaluate`: one Jacobian tensor ``dm/dx`` of shape (decays, 2K + 2, bins)).

Per decay, ``x = (ln tau_1..ln tau_K, shift [ns], a_1..a_K [counts/ns], b [counts/bin])``
(no shift when it is fixed), and the objective is half the Poisson deviance
``f = sum_i [y_i ln(y_i/m_i) - (y_i - m_i)]`` (Neyman: half the chi2), the statistic the
single fit (:meth:`~qdstack.analysis.decay.fitter.ReconvolutionFitter.fit`, lmfit's MINPACK
on the variable-projection residuals) minimises, so both reach the same optimum (the tests
check 1e-7 relative at tight tolerances).  Gradient ``g = J^T (1 - y/m)``, Gauss-Newton
(Fisher scoring) matrix ``A = J^T diag(1/m) J`` -- at the optimum ``A``, rescaled from
``ln tau`` to ``tau``, is the Fisher information the reported errors come from.

1. Gauss-Newton decrement ``delta = g^T A^-1 g`` (the deviance a full Gauss-Newton step
   would remove).  Converged when ``delta <= tol/10``, or ``delta <= tol`` (default 2e-3 of
   deviance, ~0.05 standard errors) and at most a tenth of the previous point's decrement: a
   decrement that falls slowly or grows marks a flat, curved valley that the quadratic model
   does not see, with a lower point further on.  Near a whole-bin shift, where the curvature of the
   deviance in the shift jumps, the decrement without the shift is used.
2. Step ``(A + lambda diag(A)) s = -g`` on the free variables (a variable at its bound
   whose gradient points outwards is held, and so is the lifetime of a zero amplitude),
   clipped into the bounds; the shift stops at the next whole bin, and
   after a rejected step from a whole bin the shift is held there for one step.
3. Evaluate; accept when the objective decreased (Nielsen's damping update from the
   ratio of actual to predicted decrease), else reject (``lambda *= nu, nu *= 2``).  A
   decay whose rejected step is below ``1e-10`` relative stops (MINPACK's xtol test) and
   counts as converged when its decrement is below ``100 tol``; after ``max_nfev``
   evaluations it stops unconverged.

Every decay starts from the lifetimes and shift of the (lmfit) fit of the summed decay
and its amplitudes scaled by its share of the photons; at that common point the columns
are computed once for all.  The amplitudes are fitted jointly, not projected out: no
inner Newton solve per evaluation, and from this start no more iterations.

Why not lmfit here: profiled on the benchmark (3 components, 256 bins), the former
joint lmfit minimisations of 16 decays spent about as long in lmfit's bookkeeping
(Parameters made and read, bounds transformed on every call, MINPACK's dense algebra on
a joint problem) as in the model; a decay's fit here is ~4.7 evaluations of a few tens
of microseconds in blocks of 128 decays.  Single fits and their reports stay with lmfit.
"""

from __future__ import annotations

import numpy as np

from qdstack.analysis.decay._report import _results
from qdstack.analysis.decay._stack import _KINK_BINS, _Eval
from qdstack.analysis.decay.convolution import columns
from qdstack.analysis.decay._problem import _Problem
from qdstack.analysis.decay.projection import neyman_amplitudes
from qdstack.analysis.decay.results import DecayFit
from qdstack.analysis.decay.starts import starts as _starts
from qdstack.errors import InputError

__all__ = ["fit_many", "DECREMENT_TOL", "MAX_NFEV_PER_PARAMETER"]

#: default convergence tolerance: the Gauss-Newton decrement (deviance a full step would remove)
DECREMENT_TOL = 2e-3
#: evaluations per decay and lifetime (+1) before it is reported as not converged; an
#: over-parametrised fit (more components than the data support) can need a few hundred
MAX_NFEV_PER_PARAMETER = 100
#: blocks of ``batch_size`` decays iterated together (bounds the memory of the per-decay state)
_CHUNK_BLOCKS = 32
#: a decrement below ``_SURE tol`` ends the iterations; one between that and ``tol`` only when it
#: is below ``_FAST`` times the decrement of the previous point (converging fast)
_SURE = 0.1
_FAST = 0.1
#: relative step below which a rejected step ends a decay's iterations (MINPACK's xtol)
_XTOL = 1e-10


def fit_many(
    fitter,
    counts,
    *,
    sources=None,
    tau_guess_ns=None,
    batch_size: int = 128,
    max_nfev: int | None = None,
    progress=None,
    tol: float = DECREMENT_TOL,
) -> list[DecayFit]:
    """:meth:`ReconvolutionFitter.fit_many` (see its docstring) for ``fitter``."""
    Y_all = np.asarray(counts, dtype=float)
    if Y_all.ndim == 1:
        Y_all = Y_all[None, :]
    if Y_all.ndim != 2 or Y_all.shape[1] != fitter.n:
        raise InputError(f"counts must have shape (N, {fitter.n})", "counts")
    N = Y_all.shape[0]
    srcs = list(sources) if sources is not None else [f"<decay {i}>" for i in range(N)]
    if len(srcs) != N:
        raise InputError(f"{len(srcs)} names for {N} decays", "sources")
    if N == 0:
        return []
    Y_all = fitter._check_stack(Y_all, srcs)
    total = Y_all.sum(axis=0)
    if fitter.gaussian_fwhm_ns is not None:
        _, geo = fitter._gaussian_geometry(total)
    else:
        geo = fitter._geo
    i0s, i1s = fitter._windows(Y_all, geo.g, srcs)
    # one start for all: the fit of the summed decay (Neyman on the sum is fine for a start)
    if tau_guess_ns is None:
        tw = fitter._window(total, geo.g, "<sum>")
        tmin_s, tmax_s = fitter._tau_bounds(tw[1] - tw[0])
        starts, s0 = _starts(fitter, total, geo, tw[0], tw[1], tmin_s, tmax_s, None)
        prob = _Problem(
            fitter, geo, total[None, tw[0] : tw[1]], np.ones((1, tw[1] - tw[0]), bool), tw[0]
        )
        res = prob.minimise(starts[0][None, :], np.array([s0]), tmin_s, tmax_s, None)
        fitted = np.array([res.params[f"tau{k + 1}_ns"].value for k in range(fitter.K)])
        order = np.argsort(fitted, kind="stable")
        tau_start = fitted[order]
        shift_start = float(res.params["shift_ns"].value)
        a_sum = prob.final(res).a[0]
        photons = max(float(total[tw[0] : tw[1]].sum()), 1.0)
        a_start = np.concatenate([a_sum[: fitter.K][order], a_sum[fitter.K :]]) / photons
    else:
        a_start = None
        tau_start = np.sort(np.asarray(tau_guess_ns, dtype=float).ravel())
        if tau_start.shape != (fitter.K,) or not np.all(tau_start > 0):
            raise InputError(f"tau_guess_ns needs {fitter.K} positive values", "tau_guess_ns")
        shift_start = _starts(
            fitter, total, geo, *fitter._window(total, geo.g, "<sum>"), 1e-9, 1e9, tau_start
        )[1]
    # all decays on the union of their windows; each decay's own window is a mask
    I0, I1 = int(i0s.min()), int(i1s.max())
    cols = np.arange(I0, I1)[None, :]
    mask = (cols >= i0s[:, None]) & (cols < i1s[:, None])
    Yw = np.where(mask, Y_all[:, I0:I1], 0.0)
    W = np.where(mask, 1.0 / np.maximum(Yw, 1.0), 0.0)
    tmin, tmax = fitter._tau_bounds_many(i1s - i0s)
    K = fitter.K
    theta = np.empty((N, K + 1))
    theta[:, :K] = np.clip(
        np.broadcast_to(tau_start, (N, K)), (tmin * 1.01)[:, None], (tmax * 0.99)[:, None]
    )
    theta[:, K] = shift_start if fitter.fix_shift_ns is None else fitter.fix_shift_ns
    if a_start is not None:
        # the summed decay's amplitudes, scaled by each decay's share of the photons
        a0 = a_start[None, :] * np.sum(Yw, axis=1)[:, None]
    else:
        Bm, _, _ = columns(geo, theta[:, :K], theta[:, K] / fitter.dt, I0, I1 - I0, False)
        a0 = neyman_amplitudes(Bm * mask[:, None, :], Yw, W)
    # a strictly positive start: an amplitude at exactly 0 would hold its lifetime from the start
    a0 = np.maximum(a0, 1e-3 * np.maximum(a0.max(axis=1, keepdims=True), 1.0))
    bs = max(1, int(batch_size))
    limit = int(max_nfev) if max_nfev else MAX_NFEV_PER_PARAMETER * (fitter.K + 1)
    out: list[DecayFit] = []
    # a chunk of decays is iterated together; its evaluations go in blocks of ``bs`` decays, so
    # the last few decays of a chunk to converge are evaluated together with those of others
    # rather than in small calls of their own (numpy's per-call cost would dominate)
    for c0 in range(0, N, _CHUNK_BLOCKS * bs):
        cs = slice(c0, min(N, c0 + _CHUNK_BLOCKS * bs))
        prob = _Chunk(fitter, geo, Yw[cs], mask[cs], W[cs], I0, tmin[cs], tmax[cs], bs)
        ev, fisher, converged, nfev = prob.solve(theta[cs], a0[cs], float(tol), limit)
        for b0 in range(0, cs.stop - c0, bs):
            sl = slice(b0, min(cs.stop - c0, b0 + bs))
            gl = slice(c0 + sl.start, c0 + sl.stop)
            conv = converged[sl].tolist()
            messages = ["" if c else f"no convergence within {limit} evaluations" for c in conv]
            part = _Eval(theta=ev.theta[sl], a=ev.a[sl], m=ev.m[sl])
            out += _results(
                fitter,
                geo,
                part,
                mask[gl],
                Yw[gl],
                W[gl],
                I0,
                Y_all[gl],
                list(zip(i0s[gl].tolist(), i1s[gl].tolist())),
                srcs[gl],
                tmin[gl],
                tmax[gl],
                conv,
                messages,
                nfev[sl].tolist(),
                None,
                fisher[sl],
            )
            if progress is not None:
                progress(int(sl.stop - sl.start))
    return out


class _Chunk:
    """The decays of one chunk on a common window, solved together (see the module docstring).

    Parameters per decay, in this order: ``ln tau_1..ln tau_K``, the shift [ns] (unless
    fixed), the amplitudes ``a_1..a_K`` [counts/ns] and the background ``b`` [counts/bin].
    """

    def __init__(self, fitter, geo, Y, mask, W, i0, tmin, tmax, block: int = 128):
        self.f, self.geo = fitter, geo
        self.block = max(1, int(block))
        self.K, self.dt = fitter.K, fitter.dt
        self.i0 = int(i0)
        self.Y, self.mask, self.W = Y, mask, W
        self.full = bool(mask.all())
        self.b, self.nw = Y.shape
        self.poisson = fitter.statistic == "poisson"
        self.pos = Y > 0
        self.Ys = np.where(self.pos, Y, 1.0)
        self.Yinv = 1.0 / self.Ys
        self.shift_free = fitter.fix_shift_ns is None
        K = self.K
        self.nth = K + 1 if self.shift_free else K
        self.npar = self.nth + K + 1
        self.lo = np.zeros((self.b, self.npar))
        self.hi = np.full((self.b, self.npar), np.inf)
        self.lo[:, :K] = np.log(tmin)[:, None]
        self.hi[:, :K] = np.log(tmax)[:, None]
        smax = fitter.shift_bins * fitter.dt
        if self.shift_free:
            self.lo[:, K], self.hi[:, K] = -smax, smax
        self.smax = smax

    def theta(self, x, rows):
        """Lifetimes [ns] and shifts [ns], shape (rows, K + 1), from the parameters ``x``."""
        K = self.K
        th = np.empty((x.shape[0], K + 1))
        th[:, :K] = np.exp(x[:, :K])
        th[:, K] = x[:, K] if self.shift_free else self.f.fix_shift_ns
        return th

    def evaluate(self, x, rows):
        """Model, objective, gradient and Gauss-Newton matrix of the decays ``rows`` at ``x``.

        The objective is half the Poisson deviance up to a constant, ``sum (m - y ln m)``
        (or half the Neyman chi2), its gradient ``J^T (1 - y/m)`` and its Gauss-Newton
        (Fisher scoring) matrix ``J^T diag(1/m) J``, ``J = dm/dx`` (Neyman: ``J^T W (m - y)``
        and ``J^T W J``).
        """
        K, nth = self.K, self.nth
        th = self.theta(x, rows)
        Y, mask = self.Y[rows], self.mask[rows]
        nb = x.shape[0]
        if nb > 1 and np.all(th == th[:1]):
            # one point for all (the common start): the columns of one decay serve every decay
            Bm, dBt, dBs = columns(
                self.geo, th[:1, :K], th[:1, K] / self.dt, self.i0, self.nw, True
            )
            Bm, dBt, dBs = (np.broadcast_to(v, (nb,) + v.shape[1:]) for v in (Bm, dBt, dBs))
            J = None
        else:
            # the columns are written straight into the amplitude rows of the Jacobian
            J = np.empty((nb, self.npar, self.nw))
            Bm, dBt, dBs = columns(
                self.geo, th[:, :K], th[:, K] / self.dt, self.i0, self.nw, True, out=J[:, nth:]
            )
        if not self.full:
            Bm = Bm * mask[:, None, :]
            dBt = dBt * mask[:, None, :]
            dBs = dBs * mask[:, None, :]
        if J is None or not self.full:
            J = np.empty((nb, self.npar, self.nw)) if J is None else J
            J[:, nth:] = Bm
        a = x[:, nth:]
        m = (a[:, None, :] @ Bm)[:, 0, :]
        np.multiply((a[:, :K] * th[:, :K])[..., None], dBt, out=J[:, :K])  # d m / d ln tau_k
        if self.shift_free:
            J[:, K] = (a[:, None, :K] @ dBs)[:, 0, :]
        if self.poisson:
            pos, Ys, Yinv = self.pos[rows], self.Ys[rows], self.Yinv[rows]
            bad = np.any(pos & ~(m > 0), axis=1)
            ms = m if not bad.any() and (m > 0).all() else np.where(m > 0, m, 1.0)
            w = 1.0 / ms
            # half the deviance, sum of y (u - ln(1 + u)) with u = m/y - 1 (m where y = 0): terms of order 1
            u = m * Yinv - 1.0
            with np.errstate(invalid="ignore", divide="ignore"):
                term = np.where(pos, Ys * (u - np.log1p(u)), m)
            e = 1.0 - Y * w
            if not self.full:
                term *= mask
                w *= mask
                e *= mask
            f = np.sum(term, axis=1)
        else:
            bad = np.zeros(x.shape[0], dtype=bool)
            W = self.W[rows]
            res = m - Y
            f = 0.5 * np.sum(W * res * res, axis=1)
            w = W
            e = W * res
        f = np.where(bad | ~np.isfinite(f), np.inf, f)
        Jw = J * w[:, None, :]
        A = Jw @ J.transpose(0, 2, 1)
        g = (J @ e[..., None])[..., 0]
        # what the results need besides the Fisher matrix: the point and the model
        return _Eval(theta=th, a=a.copy(), m=m), A, g, f

    def evaluate_blocks(self, x, rows):
        """:meth:`evaluate` in blocks of at most ``block`` decays, results concatenated."""
        nb = rows.size
        if nb <= self.block:
            return self.evaluate(x, rows if nb < self.b else slice(None))
        parts = [
            self.evaluate(x[i : i + self.block], rows[i : i + self.block])
            for i in range(0, nb, self.block)
        ]
        ev = _Eval(
            **{
                name: np.concatenate([getattr(p[0], name) for p in parts])
                for name in ("theta", "a", "m")
            }
        )
        return (ev,) + tuple(np.concatenate([p[k] for p in parts]) for k in (1, 2, 3))

    def free(self, x, g, rows):
        """Variables not held: at a bound with the gradient pointing out, or the lifetime of a zero amplitude."""
        K, nth = self.K, self.nth
        lo, hi = self.lo[rows], self.hi[rows]
        at_lo = x <= lo + 1e-12 * np.maximum(np.abs(lo), 1.0)
        at_hi = x >= hi - 1e-12 * np.maximum(np.abs(x), 1.0)
        fr = ~((at_lo & (g > 0)) | (at_hi & (g < 0)))
        # a component with zero amplitude: its lifetime does not change the model
        fr[:, :K] &= fr[:, nth : nth + K]
        return fr

    def solve(self, theta0, a0, tol: float, limit: int):
        """Vectorised Levenberg-Marquardt from lifetimes/shifts ``theta0`` and amplitudes ``a0``."""
        K, nth, npar, dt = self.K, self.nth, self.npar, self.dt
        b = self.b
        x = np.empty((b, npar))
        x[:, :K] = np.log(theta0[:, :K])
        if self.shift_free:
            x[:, K] = np.clip(theta0[:, K], -0.99 * self.smax, 0.99 * self.smax)
        x[:, nth:] = a0
        cur, A, g, f = self.evaluate_blocks(x, np.arange(b))
        nfev = np.ones(b, dtype=np.int64)
        lam = np.full(b, 1e-3)
        nu = np.full(b, 2.0)
        lam_h, nu_h = lam.copy(), nu.copy()  # damping of the steps that hold the shift on a kink
        active = np.isfinite(f)
        converged = np.zeros(b, dtype=bool)
        fresh = np.ones(b, dtype=bool)  # the decrement of the current point is still to be tested
        rejected = np.zeros(b, dtype=bool)  # the last step of the decay was rejected
        held = np.zeros(b, dtype=bool)  # the last step held the shift on a kink
        prev_dec = np.full(b, np.inf)  # the decrement at the decay's previous accepted point
        di = np.arange(npar)
        while True:
            # 1. convergence at the new points
            test = active & fresh
            if test.any():
                t = np.nonzero(test)[0]
                dec = self.decrement(A[t], g[t], x[t], t)
                # below tol and either well below it or falling fast: a decrement that falls
                # slowly (or grows) is the mark of a curved, flat valley the quadratic model
                # does not see, where a lower point may lie further on
                done = (dec <= _SURE * tol) | ((dec <= tol) & (dec <= _FAST * prev_dec[t]))
                converged[t[done]] = True
                active[t[done]] = False
                fresh[t] = False
                prev_dec[t] = dec
            act = np.nonzero(active & (nfev < limit))[0]
            active[nfev >= limit] = False
            if act.size == 0:
                break
            # 2. damped steps on the free variables
            xa, ga, Aa = x[act], g[act], A[act]
            fr = self.free(xa, ga, act)
            hold = np.zeros(act.size, dtype=bool)
            if self.shift_free:
                # on a kink of the shift (a whole bin) after a rejected step: hold the shift there
                sb = xa[:, K] / dt
                hold = rejected[act] & (np.abs(sb - np.round(sb)) < _KINK_BINS)
                fr[:, K] &= ~hold
            held[act] = hold
            step = _damped_step(Aa, ga, fr, np.where(hold, lam_h[act], lam[act]), di)
            xn = xa + step
            np.clip(xn, self.lo[act], self.hi[act], out=xn)
            if self.shift_free:
                # the deviance kinks at whole-bin shifts: a step stops at the next whole bin, except
                # from a point on one (from where it may cross into the neighbouring piece)
                sb = xa[:, K] / dt
                near = np.round(sb)
                on = np.abs(sb - near) < _KINK_BINS
                xn[:, K] = np.clip(
                    xn[:, K],
                    np.where(on, near - 1.0, np.floor(sb)) * dt,
                    np.where(on, near + 1.0, np.floor(sb) + 1.0) * dt,
                )
            # 3. evaluate; accept or reject each decay's step
            ev, An, gn, fn = self.evaluate_blocks(xn, act)
            nfev[act] += 1
            ok = fn < f[act]
            if ok.any():
                w = act[ok]
                s = (xn - xa)[ok]
                pred = -(np.sum(ga[ok] * s, axis=1) + 0.5 * np.einsum("bi,bij,bj->b", s, Aa[ok], s))
                rho = (f[w] - fn[ok]) / np.where(pred > 0, pred, np.inf)
                x[w], A[w], g[w], f[w] = xn[ok], An[ok], gn[ok], fn[ok]
                if ok.all() and w.size == b:
                    cur = ev
                else:
                    _assign(cur, w, ev, ok)
                # Nielsen's damping update; a step with the shift held on a kink keeps the damping
                shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.clip(rho, 0.0, 1.0) - 1.0) ** 3)
                hw = held[w]
                lam[w] = np.where(hw, lam[w], np.maximum(lam[w] * shrink, 1e-12))
                lam_h[w] = np.where(hw, np.maximum(lam_h[w] * shrink, 1e-12), lam_h[w])
                nu[w] = np.where(hw, nu[w], 2.0)
                nu_h[w] = np.where(hw, 2.0, nu_h[w])
                fresh[w] = True
                rejected[w] = False
            if not ok.all():
                w = act[~ok]
                hw = held[w]
                lam[w] = np.where(hw, lam[w], lam[w] * nu[w])
                nu[w] = np.where(hw, nu[w], 2.0 * nu[w])
                lam_h[w] = np.where(hw, lam_h[w] * nu_h[w], lam_h[w])
                nu_h[w] = np.where(hw, 2.0 * nu_h[w], nu_h[w])
                rejected[w] = True
                moved = np.abs(xn[~ok] - xa[~ok]) > _XTOL * (np.abs(xa[~ok]) + _XTOL)
                stalled = ~np.any(moved, axis=1) | (np.maximum(lam[w], lam_h[w]) > 1e16)
                if stalled.any():
                    ws = w[stalled]
                    dec = self.decrement(A[ws], g[ws], x[ws], ws)
                    converged[ws] = dec <= 100.0 * tol
                    active[ws] = False
        return cur, self.fisher(A, cur.theta), converged, nfev

    def fisher(self, A, theta):
        """The Gauss-Newton matrix ``A`` in (ln tau, shift, a, b) as the Fisher information in
        (tau, shift, a, b), the parameters the results report (a zero row and column for a fixed
        shift, which the results hold)."""
        K, nth = self.K, self.nth
        P = 2 * K + 2
        s = np.ones((A.shape[0], self.npar))
        s[:, :K] = theta[:, :K]
        A = A / (s[:, :, None] * s[:, None, :])  # d/d tau = (1/tau) d/d ln tau
        if nth == K + 1:
            return A
        F = np.zeros((A.shape[0], P, P))
        keep = np.r_[0:K, K + 1 : P]
        F[:, keep[:, None], keep[None, :]] = A
        return F

    def decrement(self, A, g, x, rows):
        """Gauss-Newton decrement ``g^T A^-1 g`` [deviance] over the free variables; on a kink without the shift."""
        fr = self.free(x, g, rows)
        if self.shift_free:
            sb = x[:, self.K] / self.dt
            fr[:, self.K] &= ~(np.abs(sb - np.round(sb)) < _KINK_BINS)
        di = np.arange(self.npar)
        M = A * (fr[:, :, None] & fr[:, None, :])
        d = M[:, di, di]
        M[:, di, di] = np.where(fr & (d > 0), d * (1.0 + 1e-12) + 1e-300, 1.0)
        gf = np.where(fr, g, 0.0)
        return np.sum(gf * _solve_small(M, gf), axis=1)


def _damped_step(A, g, free, lam, di):
    """``(A + lam diag(A)) s = -g`` on the free variables (held ones get ``s = 0``)."""
    diag = A[:, di, di]
    M = A * (free[:, :, None] & free[:, None, :])
    M[:, di, di] = np.where(free & (diag > 0), diag * (1.0 + lam[:, None]) + 1e-300, 1.0)
    step = _solve_small(M, np.where(free, -g, 0.0))
    return np.where(free & np.isfinite(step), step, 0.0)


def _solve_small(M, r):
    """Solve each small system ``M_b x_b = r_b`` (least squares where one is singular)."""
    # Jacobi scaling keeps amplitudes (1e4) and log-lifetimes (1) on one footing
    d = np.sqrt(np.abs(M[:, np.arange(M.shape[1]), np.arange(M.shape[1])]))
    d = np.where(d > 0, d, 1.0)
    Ms = M / (d[:, :, None] * d[:, None, :])
    rs = r / d
    try:
        return np.linalg.solve(Ms, rs[..., None])[..., 0] / d
    except np.linalg.LinAlgError:
        out = np.empty_like(r)
        for i in range(M.shape[0]):
            out[i] = np.linalg.lstsq(Ms[i], rs[i], rcond=None)[0] / d[i]
        return out


def _assign(cur: _Eval, rows: np.ndarray, ev: _Eval, ok: np.ndarray) -> None:
    """Rows ``rows`` of ``cur`` become the rows ``ok`` of ``ev`` (accepted steps)."""
    for name in ("theta", "a", "m"):
        getattr(cur, name)[rows] = getattr(ev, name)[ok]
