"""The lmfit problem of one decay: variable-projection residuals over ln tau and the shift."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from qdstack.analysis.decay._stack import _Eval, _Stack
from qdstack.analysis.decay.convolution import Geometry

if TYPE_CHECKING:
    from qdstack.analysis.decay.fitter import ReconvolutionFitter


class _Problem:
    """One lmfit minimisation over the lifetimes and the shift of one decay.

    Holds the data of the window (a one-decay :class:`_Stack`), evaluates the model, the
    projected (variable-projection) residuals and their Jacobian, and caches the last
    evaluation: lmfit asks for the Jacobian at the point it just evaluated.  lmfit sees
    ``ln_tau1..K`` and ``shift_ns`` (and ``tau1_ns..`` as expressions, for
    ``fit_report()``); its covariance of them is the inverse of ``J^T J`` of the projected
    residuals (``scale_covar=False``), i.e. the Fisher information of the nonlinear
    parameters with the amplitudes profiled out.  The reported uncertainties of all
    parameters come from the full Fisher information (see ``_report``).
    """

    def __init__(
        self, fitter: ReconvolutionFitter, geo: Geometry, Y: np.ndarray, mask: np.ndarray, i0: int
    ):
        self.f = fitter
        self.geo = geo
        self.stack = _Stack(fitter, geo, Y, mask, i0)
        self.Y, self.mask, self.i0 = self.stack.Y, mask, i0
        self.W = self.stack.W
        self.nw = Y.shape[1]
        self.state = None
        self.names = _param_names(fitter.K)

    def evaluate(self, theta: np.ndarray) -> _Eval:
        st = self.state
        key = theta.tobytes()
        if st is not None and st.key == key:
            return st
        st = self.stack.evaluate(None, theta)
        st.key = key
        self.state = st
        return st

    def _theta(self, params) -> np.ndarray:
        """(1, K + 1) array of lifetimes [ns] and shift [ns] from the lmfit parameters."""
        th = np.array([[params[nm].value for nm in self.names]])
        th[:, : self.f.K] = np.exp(th[:, : self.f.K])
        return th

    def minimise(self, taus0, shifts0, tmin, tmax, max_nfev, tol: float = 1e-3):
        f, K = self.f, self.f.K
        plist = _make_params(f, taus0[0], float(shifts0[0]), float(tmin), float(tmax))
        nth = self.stack.nth

        def residual(p):
            return self.evaluate(self._theta(p)).r.ravel()

        def jacobian(p):
            st = self.evaluate(self._theta(p))
            # a fresh array: lmfit rescales the returned Jacobian in place for bounded parameters
            J = (
                st.Jt.transpose(0, 2, 1)
                * np.concatenate([st.theta[:, :K], np.ones((1, nth - K))], axis=1)[:, None, :]
            )
            return J.reshape(self.nw, nth)

        from lmfit import Minimizer

        mini = Minimizer(residual, plist, scale_covar=False, nan_policy="raise")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return mini.leastsq(
                Dfun=jacobian,
                col_deriv=False,
                max_nfev=max_nfev or 200 * (K + 1),
                ftol=_ftol(self.nw, tol),
                xtol=min(_XTOL, tol),
            )

    def final(self, res) -> _Eval:
        return self.evaluate(self._theta(res.params))


#: MINPACK's relative parameter tolerance
_XTOL = 1e-6


def _ftol(nw: int, tol: float = 1e-3) -> float:
    """MINPACK's relative tolerance on the sum of squares: a change of about ``tol`` deviance.

    The deviance of a decay is about the number of bins ``nw``; a change of 1 is one
    standard error of a parameter.
    """
    return tol / nw


def _param_names(K: int) -> list[str]:
    return [f"ln_tau{k + 1}" for k in range(K)] + ["shift_ns"]


def _make_params(f: ReconvolutionFitter, taus0, shift0: float, tmin: float, tmax: float):
    """lmfit Parameters: ln tau_k bounded by ln tmin..ln tmax, the shift by the shift bound."""
    from lmfit import Parameter, Parameters

    K = f.K
    smax = f.shift_bins * f.dt
    # lifetimes enter as ln(tau): scale-free steps and bounds far from the transform's edges
    lt = np.log(np.clip(np.asarray(taus0, dtype=float), tmin * 1.01, tmax * 0.99)).tolist()
    nm = _param_names(K)
    params = Parameters()
    for k in range(K):
        params.add(Parameter(nm[k], value=lt[k], min=math.log(tmin), max=math.log(tmax)))
    if f.fix_shift_ns is not None:
        params.add(Parameter(nm[K], value=f.fix_shift_ns, vary=False))
    else:
        params.add(
            Parameter(
                nm[K], value=float(np.clip(shift0, -0.99 * smax, 0.99 * smax)), min=-smax, max=smax
            )
        )
    for k in range(K):  # readable lifetimes in fit_report()
        params.add(f"tau{k + 1}_ns", expr=f"exp(ln_tau{k + 1})")
    return params
