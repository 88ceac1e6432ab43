"""Many decays with one IRF: joint lmfit minimisations of groups of decays (see ``fit_many``)."""

from __future__ import annotations

import warnings

import numpy as np

from qdstack.analysis.decay._report import _results
from qdstack.analysis.decay._stack import _DECREMENT_TOL, _FIRST_ROUND_NFEV, _ROUNDS, _Eval, _Stack
from qdstack.analysis.decay.fitter import (
    _XTOL,
    _block_jacobian,
    _default_max_nfev,
    _ftol,
    _make_params,
    _param_names,
    _Problem,
    _theta_from,
)
from qdstack.analysis.decay.results import DecayFit
from qdstack.errors import InputError


def fit_many(
    fitter,
    counts,
    *,
    sources=None,
    tau_guess_ns=None,
    batch_size: int = 16,
    max_nfev: int | None = None,
    progress=None,
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
        starts, s0 = fitter._starts(total, geo, tw[0], tw[1], tmin_s, tmax_s, None)
        prob = _Problem(fitter, geo, total[None, tw[0]:tw[1]], np.ones((1, tw[1] - tw[0]), bool), tw[0])
        res = prob.minimise(starts[0][None, :], np.array([s0]), tmin_s, tmax_s, None, compress=False)
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
        shift_start = fitter._starts(total, geo, *fitter._window(total, geo.g, "<sum>"), 1e-9, 1e9, tau_start)[1]
    # all decays on the union of their windows; each decay's own window is a mask
    I0, I1 = int(i0s.min()), int(i1s.max())
    cols = np.arange(I0, I1)[None, :]
    mask = (cols >= i0s[:, None]) & (cols < i1s[:, None])
    stack = _Stack(fitter, geo, Y_all[:, I0:I1], mask, I0)
    tmin, tmax = fitter._tau_bounds_many(i1s - i0s)
    K = fitter.K
    theta = np.empty((N, K + 1))
    theta[:, :K] = np.clip(np.broadcast_to(tau_start, (N, K)), (tmin * 1.01)[:, None], (tmax * 0.99)[:, None])
    theta[:, K] = shift_start
    if a_start is not None:
        # the first amplitude solve of each decay starts from the summed decay's amplitudes,
        # scaled by the decay's share of the photons
        share = np.sum(stack.Y, axis=1)
        stack.a_last[:] = a_start[None, :] * share[:, None]
        stack.th_last[:] = theta[:, : stack.nth]
    bs = max(1, int(batch_size))
    nfev = np.zeros(N, dtype=int)
    out: list[DecayFit | None] = [None] * N
    BatchMinimizer = _batch_minimizer_class()
    cache: dict = {}  # Parameters reused from one group to the next

    ready: list = []  # finished decays, turned into results a few hundred at a time

    def finish(idx, ev, converged, message, flush=False):
        if idx is not None:
            ready.append((idx, ev, [converged] * idx.size, [message] * idx.size))
        if not ready or (not flush and sum(r[0].size for r in ready) < 256):
            return
        idx = np.concatenate([r[0] for r in ready])
        ev = _Eval.concatenate([r[1] for r in ready])
        conv = [c for r in ready for c in r[2]]
        msgs = [m for r in ready for m in r[3]]
        ready.clear()
        fits = _results(fitter, 
            geo, ev, stack.mask[idx], stack.Y[idx], stack.W[idx], I0, Y_all[idx],
            list(zip(i0s[idx].tolist(), i1s[idx].tolist())), [srcs[i] for i in idx], tmin[idx], tmax[idx],
            conv, msgs, nfev[idx].tolist(), None)
        for i, fit in zip(idx.tolist(), fits):
            out[i] = fit

    capped = _FIRST_ROUND_NFEV if not max_nfev else min(max_nfev, _FIRST_ROUND_NFEV)
    todo = np.arange(N)
    # lmfit's Levenberg-Marquardt may warn on its own covariance of a joint fit, which is not used
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for round_ in range(_ROUNDS):
            last = round_ == _ROUNDS - 1
            again = []
            for b0 in range(0, todo.size, bs):
                idx = todo[b0 : b0 + bs]
                res, ev = _minimise_group(fitter, stack, idx, theta, tmin, tmax, max_nfev if last else capped,
                                               BatchMinimizer, cache)
                nfev[idx] += int(res.nfev)
                if last:
                    finish(idx, ev, bool(res.success), "" if res.success else str(res.message))
                else:
                    done = ev.decrement(fitter.dt) <= _DECREMENT_TOL
                    if done.any():
                        finish(idx[done], ev if done.all() else ev.rows(done), True, "")
                    if not done.all():
                        again.append(idx[~done])
                if progress is not None and round_ == 0:
                    progress(int(idx.size))
            if not again:
                break
            todo = np.concatenate(again)
    finish(None, None, None, None, flush=True)
    return out

def _minimise_group(fitter, stack, idx, theta, tmin, tmax, max_nfev, BatchMinimizer, cache):
    """One lmfit minimisation (Levenberg-Marquardt, compressed residuals) of the decays ``idx``.

    Starts from ``theta[idx]`` (lifetimes [ns] and shift [ns]) and writes the final point
    back there.  Returns the lmfit result and the evaluation at the final point (lmfit's
    last request is always there: it re-evaluates its best point after MINPACK, or stops
    at the evaluation that exceeded ``max_nfev``).
    """
    K = fitter.K
    B = idx.size
    sel = slice(int(idx[0]), int(idx[-1]) + 1) if idx[-1] - idx[0] == B - 1 else idx
    names = [nm for j in range(B) for nm in _param_names(K, j)]
    # the previous group's Parameters: its result has been read and is not kept
    plist = _make_params(fitter, theta[idx, :K], theta[idx, K], tmin[idx], tmax[idx], range(B), cache.get("p"))
    if len(plist) > len(cache.get("p", ())):
        cache["p"] = plist
    last: list = [None, None]

    def point(p):
        th = _theta_from(p, names, B, K)
        key = th.tobytes()
        if last[0] != key:
            last[0], last[1] = key, stack.evaluate(sel, th, True)
        return last[1]

    def residual(p):
        ev = point(p)
        return np.concatenate([ev.c, ev.rest[:, None]], axis=1).ravel()

    def jacobian(p):
        return _block_jacobian(point(p).R)

    mini = BatchMinimizer(residual, plist, scale_covar=False, nan_policy="raise")
    res = mini.leastsq(Dfun=jacobian, col_deriv=False, max_nfev=max_nfev or _default_max_nfev(K, B),
                       ftol=_ftol(stack.nw), xtol=_XTOL)
    ev = point(res.params)
    theta[idx] = ev.theta
    return res, ev

def _batch_minimizer_class():
    from lmfit import Minimizer

    class _BatchMinimizerImpl(Minimizer):
        """An lmfit Minimizer that skips lmfit's covariance bookkeeping of a whole batch.

        The joint covariance of every decay's parameters is block-diagonal and each
        decay's block is computed by the fitter (with the amplitudes included), so
        building lmfit's correlation tables and correlated ``uncertainties`` values
        for all the batch's parameters would only cost time.
        """

        def _calculate_uncertainties_correlations(self):
            self.result.errorbars = False

    return _BatchMinimizerImpl


class _LazyBatchMinimizer:
    def __call__(self, *args, **kwargs):
        cls = _batch_minimizer_class()
        globals()["_BatchMinimizer"] = cls
        return cls(*args, **kwargs)


_BatchMinimizer = _LazyBatchMinimizer()

