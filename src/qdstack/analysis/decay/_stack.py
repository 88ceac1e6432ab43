"""A stack of decays on one window, evaluated together: model, amplitudes, Jacobian (private)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qdstack.analysis.decay.convolution import Geometry, columns
from qdstack.analysis.decay.kernels import _M_FLOOR
from qdstack.analysis.decay.projection import (
    compress,
    neyman_amplitudes,
    poisson_amplitudes,
    poisson_loss_derivatives,
    varpro_jacobian_t,
)

if TYPE_CHECKING:
    from qdstack.analysis.decay.fitter import ReconvolutionFitter


class _Eval:
    """The model of some decays evaluated at one point (lifetimes and shifts).

    ``theta`` (b, K + 1): lifetimes [ns] and shifts [ns]; ``a`` (b, K + 1) amplitudes
    (background last); ``Bm``, ``dBt``, ``dBs`` the columns and their derivatives; ``m``
    the model; ``r`` the residuals (signed deviance or Neyman); ``Jt`` (b, nth, n) the
    transposed Jacobian of ``r`` in (tau, shift); ``dA`` the amplitude derivatives;
    with compression ``c``, ``rest`` and ``R`` (in lmfit's ln tau, see :func:`compress`).
    """

    __slots__ = ("key", "theta", "a", "Bm", "dBt", "dBs", "m", "r", "Jt", "dA", "c", "rest", "R")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))

    @property
    def J(self) -> np.ndarray:
        """Jacobian of the residuals, shape (b, n, nth)."""
        return self.Jt.transpose(0, 2, 1)

    @staticmethod
    def concatenate(evs) -> _Eval:
        """The evaluations of several sets of decays as one (what the results need)."""
        if len(evs) == 1:
            return evs[0]
        return _Eval(**{name: np.concatenate([getattr(e, name) for e in evs])
                        for name in ("theta", "a", "Bm", "dBt", "dBs", "m")})

    def rows(self, keep: np.ndarray) -> _Eval:
        """The evaluation of the decays selected by ``keep``."""
        return _Eval(**{name: None if getattr(self, name) is None or name == "key" else getattr(self, name)[keep]
                        for name in self.__slots__})

    def decrement(self, dt: float) -> np.ndarray:
        """Gauss-Newton decrement of each decay: the deviance a full Gauss-Newton step would still remove.

        ``|c|^2`` (``c = Q^T r``).  The model is only piecewise smooth in the shift: the
        IRF is interpolated linearly between whole-bin shifts, so where the best shift
        is a whole number of bins the deviance has a kink there and Gauss-Newton,
        which sees one side of it, predicts a decrease that does not exist.  For a
        decay whose shift lies within ``_KINK_BINS`` of a whole bin the decrement of
        the lifetimes at that shift, ``|c_1..K|^2``, is used instead (the columns
        of ``J`` are ordered lifetimes first, so those are the first K entries of ``c``).
        """
        c = self.c
        full = np.sum(c**2, axis=1)
        K = self.theta.shape[1] - 1
        if c.shape[1] <= K:  # fixed shift
            return full
        sb = self.theta[:, K] / dt
        kink = np.abs(sb - np.round(sb)) < _KINK_BINS
        return np.where(kink, np.sum(c[:, :K] ** 2, axis=1), full)


class _Stack:
    """Decays on one common window ``[i0, i0 + nw)``, evaluated together: all of them or any subset.

    Keeps, per decay, the amplitudes and their derivatives at the last point it was
    evaluated at, so the next evaluation starts the amplitude solve from the
    first-order prediction ``a + (da/dtheta) dtheta``.
    """

    def __init__(self, fitter: ReconvolutionFitter, geo: Geometry, Y: np.ndarray, mask: np.ndarray, i0: int):
        self.f = fitter
        self.geo = geo
        self.i0 = int(i0)
        self.N, self.nw = Y.shape
        self.mask = mask
        self.full = bool(mask.all())
        self.Y = np.where(mask, Y, 0.0)
        self.pos = (self.Y > 0) & mask
        self.ylogy = np.where(self.pos, self.Y * np.log(np.where(self.pos, self.Y, 1.0)), 0.0)
        self.W = np.where(mask, 1.0 / np.maximum(self.Y, 1.0), 0.0)
        K = fitter.K
        self.nth = K if fitter.fix_shift_ns is not None else K + 1
        self.a_last = np.full((self.N, K + 1), np.nan)
        self.dA_last = np.zeros((self.N, K + 1, self.nth))
        self.th_last = np.zeros((self.N, self.nth))

    def evaluate(self, idx, theta: np.ndarray, compress_: bool = False) -> _Eval:
        """Evaluate decays ``idx`` (None: all) at ``theta`` (b, K + 1): lifetimes [ns] and shifts [ns]."""
        f, geo = self.f, self.geo
        K, nth = f.K, self.nth
        sel = slice(None) if idx is None else idx
        Y = self.Y[sel]
        pos = self.pos[sel]
        mask = self.mask[sel]
        Bm, dBt, dBs = columns(geo, theta[:, :K], theta[:, K] / f.dt, self.i0, self.nw, True)
        if not self.full:
            maskf = mask[:, None, :]
            Bm *= maskf
            if dBt.base is not None and dBt.base is dBs.base:
                dBt.base[...] *= maskf
            else:
                dBt *= maskf
                dBs *= maskf
        # warm start: amplitudes of the last point, moved to first order with da/dtheta
        a_last = self.a_last[sel]
        known = np.isfinite(a_last[:, 0])
        a0 = None
        if known.any():
            dth = theta[:, :nth] - self.th_last[sel]
            a0 = np.maximum(a_last + (self.dA_last[sel] @ dth[..., None])[..., 0], 0.0)
            if not known.all():
                a0[~known] = np.nan
        if f.statistic == "poisson":
            a, _, (m, ms, ratio, BW, H) = poisson_amplitudes(Bm, Y, pos, a0, state=True)
            m = np.maximum(m, _M_FLOOR)
            d = self.ylogy[sel] - Y * np.log(m) + (m - Y)
            np.maximum(d, 0.0, out=d)
            r = np.sqrt(2.0 * d)
            np.negative(r, out=r, where=Y < m)
            if not self.full:
                r = np.where(mask, r, 0.0)
            lp, drdm = poisson_loss_derivatives(m, ratio, r, mask)
        else:
            W = self.W[sel]
            a = neyman_amplitudes(Bm, Y, W)
            m = np.maximum((a[:, None, :] @ Bm)[:, 0, :], _M_FLOOR)
            r = (Y - m) * np.sqrt(W)
            BW = Bm * W[:, None, :]
            H = BW @ Bm.transpose(0, 2, 1)
            lp = (m - Y) * W
            drdm = -np.sqrt(W)
        Jt, dA = varpro_jacobian_t(Bm, dBt, dBs, a, BW, H, lp, drdm, fix_shift=f.fix_shift_ns is not None)
        self.a_last[sel] = a
        self.dA_last[sel] = dA
        self.th_last[sel] = theta[:, :nth]
        ev = _Eval(theta=theta.copy(), a=a, Bm=Bm, dBt=dBt, dBs=dBs, m=m, r=r, Jt=Jt, dA=dA)
        if compress_:
            scale = theta[:, :nth].copy()
            scale[:, K:] = 1.0  # d/d ln tau = tau d/d tau; the shift stays in ns
            ev.c, ev.rest, ev.R = compress(Jt, r, scale)
        return ev


#: shifts closer than this to a whole number of bins sit on the kink of the linear IRF interpolation
_KINK_BINS = 2e-3
#: evaluations of a group's first minimisation (after its start); its decays that have not
#: converged by then (judged one by one, see ``fit_many``) are minimised again, in new groups.
#: Measured on the benchmark: 4 -> 18 % minimised again, 7.3 evaluations per decay; 7 -> 14 %, 9.1
_FIRST_ROUND_NFEV = 4
#: minimisations a decay may take part in: all but the last are capped at ``_FIRST_ROUND_NFEV``
#: evaluations and followed by the per-decay check; the last one stops by MINPACK's own rule
_ROUNDS = 3
#: a decay of a joint minimisation whose Gauss-Newton decrement (the deviance a full
#: Gauss-Newton step would still remove) exceeds this is minimised again
_DECREMENT_TOL = 2e-3

