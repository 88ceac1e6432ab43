"""A stack of decays on one window, evaluated together: model, amplitudes, Jacobian (private)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from qdstack.analysis.decay.convolution import Geometry, columns
from qdstack.analysis.decay.kernels import _M_FLOOR
from qdstack.analysis.decay.projection import (
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
    transposed Jacobian of ``r`` in (tau, shift); ``dA`` the amplitude derivatives.
    """

    __slots__ = ("key", "theta", "a", "Bm", "dBt", "dBs", "m", "r", "Jt", "dA")

    def __init__(self, **kw):
        for name in self.__slots__:
            setattr(self, name, kw.get(name))

    @property
    def J(self) -> np.ndarray:
        """Jacobian of the residuals, shape (b, n, nth)."""
        return self.Jt.transpose(0, 2, 1)


class _Stack:
    """Decays on one common window ``[i0, i0 + nw)``, evaluated together: all of them or any subset.

    Keeps, per decay, the amplitudes and their derivatives at the last point it was
    evaluated at, so the next evaluation starts the amplitude solve from the
    first-order prediction ``a + (da/dtheta) dtheta``.
    """

    def __init__(
        self, fitter: ReconvolutionFitter, geo: Geometry, Y: np.ndarray, mask: np.ndarray, i0: int
    ):
        self.f = fitter
        self.geo = geo
        self.i0 = int(i0)
        self.N, self.nw = Y.shape
        self.mask = mask
        self.full = bool(mask.all())
        self.Y = np.where(mask, Y, 0.0)
        self.pos = (self.Y > 0) & mask
        self.W = np.where(mask, 1.0 / np.maximum(self.Y, 1.0), 0.0)
        K = fitter.K
        self.nth = K if fitter.fix_shift_ns is not None else K + 1
        self.a_last = np.full((self.N, K + 1), np.nan)
        self.dA_last = np.zeros((self.N, K + 1, self.nth))
        self.th_last = np.zeros((self.N, self.nth))

    def evaluate(self, idx, theta: np.ndarray) -> _Eval:
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
            d = _half_deviance(Y, m, pos)
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
        Jt, dA = varpro_jacobian_t(
            Bm, dBt, dBs, a, BW, H, lp, drdm, fix_shift=f.fix_shift_ns is not None
        )
        self.a_last[sel] = a
        self.dA_last[sel] = dA
        self.th_last[sel] = theta[:, :nth]
        ev = _Eval(theta=theta.copy(), a=a, Bm=Bm, dBt=dBt, dBs=dBs, m=m, r=r, Jt=Jt, dA=dA)
        return ev


def _half_deviance(Y: np.ndarray, m: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``y ln(y/m) - (y - m)`` per bin, accurate where ``m`` is close to ``y``.

    Written as ``y (u - ln(1 + u))`` with ``u = (m - y)/y`` (and ``m`` where ``y = 0``): each
    term is of order 1 near a good fit, so the sum over a decay keeps ~14 digits, where the
    textbook form (differences of terms of order ``y ln y``) keeps ~10 at 1e4 counts per bin.
    """
    Ys = np.where(pos, Y, 1.0)
    u = (m - Ys) / Ys
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pos, Ys * (u - np.log1p(u)), m)


#: shifts closer than this to a whole number of bins sit where the curvature in the shift jumps
_KINK_BINS = 2e-3
