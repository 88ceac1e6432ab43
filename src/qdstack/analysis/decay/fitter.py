"""The reconvolution fitter: one IRF and time axis, lmfit Levenberg-Marquardt for a single decay."""

from __future__ import annotations

import inspect
import math

import numpy as np

from qdstack.analysis.decay._report import _results
from qdstack.analysis.decay._problem import _Problem
from qdstack.analysis.decay.convolution import Geometry, columns
from qdstack.analysis.decay.kernels import Statistic, _fwhm_bins, gaussian_irf, prepare_irf
from qdstack.analysis.decay.results import DecayFit
from qdstack.analysis.decay.starts import starts as _starts
from qdstack.analysis.decay.window import _auto_windows, _rise_time, auto_window
from qdstack.errors import FitError, InputError

__all__ = ["ReconvolutionFitter", "fit_decay"]


# ----------------------------------------------------------------------------- fitter


class ReconvolutionFitter:
    """Fits decays on one time axis with one IRF; reuse it for many decays.

    Everything that does not depend on the counts (the IRF and its support, the
    matrices of the closed-form convolution, the periodic-tail geometry, the
    bounds) is prepared once, so fitting many decays measured with the same IRF
    (a temperature series, a FLIM image, a benchmark) costs only the
    Levenberg-Marquardt iterations.  :meth:`fit` fits one decay (its own
    lmfit minimisation); :meth:`fit_many` fits a stack of decays, solved together as
    arrays by a vectorised Levenberg-Marquardt iteration (no lmfit per decay).

    Parameters
    ----------
    time_ns : array_like, shape (n,)
        Bin start times [ns], uniformly spaced.
    irf : array_like, shape (n,), optional
        Measured IRF counts on the same bins (background is subtracted, see
        :func:`prepare_irf`).  Give this or ``irf_fwhm_ns``.
    irf_fwhm_ns : float, optional
        FWHM of a Gaussian IRF [ns]; its position is found from the rise of the
        decay and refined by the shift.
    components : int
        Number of exponentials, 1 to 4.
    statistic : {"poisson", "neyman"}
        Poisson maximum likelihood (default) or Neyman chi2.
    period_ns : float, optional
        Laser repetition period [ns]; tails of earlier pulses are modelled.
    window_ns : (float, float), optional
        Fit only bins starting in ``[start, end)`` [ns]; default :func:`auto_window`.
    shift_bounds_ns : float, optional
        The IRF shift is fitted within +-this [ns]; default max(8 bins, 3 IRF FWHM).
    fix_shift_ns : float, optional
        Hold the shift at this value instead of fitting it.
    tau_bounds_ns : (float, float), optional
        Bounds of every lifetime; default (0.1 bin, 5 x the window or the period).
    source : str, optional
        Name of the IRF (file) for messages.
    """

    def __init__(
        self,
        time_ns,
        *,
        irf=None,
        irf_fwhm_ns: float | None = None,
        components: int = 1,
        statistic: Statistic = "poisson",
        period_ns: float | None = None,
        window_ns: tuple[float, float] | None = None,
        shift_bounds_ns: float | None = None,
        fix_shift_ns: float | None = None,
        tau_bounds_ns: tuple[float, float] | None = None,
        source: str | None = None,
    ):
        t = np.asarray(time_ns, dtype=float)
        src = source or "IRF"
        if t.ndim != 1 or t.size < 8:
            raise InputError("a decay needs at least 8 time bins", "time_ns")
        dt = float(t[1] - t[0])
        if not (dt > 0 and np.max(np.abs(np.diff(t) - dt)) <= 1e-3 * dt):
            raise InputError("time bins must be ascending and uniformly spaced", "time_ns")
        if not (isinstance(components, (int, np.integer)) and 1 <= components <= 4):
            raise InputError(f"components must be 1, 2, 3 or 4 (got {components!r})", "components")
        if statistic not in ("poisson", "neyman"):
            raise InputError(f"unknown statistic {statistic!r}; use poisson or neyman", "statistic")
        if (irf is None) == (irf_fwhm_ns is None):
            raise InputError("give either a measured IRF or irf_fwhm_ns (a Gaussian IRF)", "irf")
        self.time_ns = t
        self.n = t.size
        self.dt = dt
        self.K = int(components)
        self.statistic = statistic
        self.source = src
        if window_ns is not None:
            w0, w1 = (float(v) for v in window_ns)
            if not w1 > w0:
                raise InputError(f"the fit window {w0:g}..{w1:g} ns is empty", "window_ns")
        self.window_ns = window_ns
        self.fix_shift_ns = None if fix_shift_ns is None else float(fix_shift_ns)
        self.period_ns = None if period_ns is None else float(period_ns)
        if self.period_ns is not None and not (
            self.period_ns > 0 and math.isfinite(self.period_ns)
        ):
            raise InputError("the repetition period must be a positive number of ns", "period_ns")
        self.periodic = self.period_ns is not None and self.n * dt <= self.period_ns * (1 + 1e-6)
        self._notes: list[str] = []
        if self.period_ns is not None and not self.periodic:
            self._notes.append(
                f"the histogram ({self.n * dt:.4g} ns) is longer than the repetition period "
                f"({self.period_ns:.4g} ns); tails of earlier pulses are not modelled"
            )
        if irf is not None:
            g = np.asarray(irf, dtype=float)
            if g.shape != t.shape:
                raise InputError(
                    f"the IRF has {g.size} bins but the decay has {t.size}; both must share one time axis",
                    src,
                )
            self.irf0, self.irf_background = prepare_irf(g, source=src)
            self.irf_fwhm_ns = _fwhm_bins(self.irf0) * dt
            self.gaussian_fwhm_ns = None
            self.irf_description = "measured"
            self._geo = self._geometry(self.irf0)
        else:
            if not (irf_fwhm_ns is not None and irf_fwhm_ns > 0 and math.isfinite(irf_fwhm_ns)):
                raise InputError(
                    f"the IRF FWHM must be a positive number of ns (got {irf_fwhm_ns})",
                    "irf_fwhm_ns",
                )
            self.irf0 = None
            self.irf_background = 0.0
            self.irf_fwhm_ns = float(irf_fwhm_ns)
            self.gaussian_fwhm_ns = float(irf_fwhm_ns)
            self.irf_description = f"gaussian FWHM {irf_fwhm_ns:g} ns"
            self._geo = None
        fwhm_bins = max(self.irf_fwhm_ns / dt, 1.0)
        if self.irf0 is not None and fwhm_bins < 2.0:
            self._notes.append(
                f"the IRF spans only {fwhm_bins:.1f} bin(s) at half maximum: lifetimes shorter than about "
                "the IRF width are poorly determined; finer bins would help"
            )
        if shift_bounds_ns is None:
            shift_bins = max(8.0, 3.0 * fwhm_bins)
        else:
            if not (shift_bounds_ns > 0 and math.isfinite(shift_bounds_ns)):
                raise InputError(
                    "the shift bound must be a positive number of ns", "shift_bounds_ns"
                )
            shift_bins = shift_bounds_ns / dt
        if self.fix_shift_ns is not None:
            shift_bins = max(shift_bins, abs(self.fix_shift_ns) / dt * 1.01)
        self.shift_bins = float(min(shift_bins, max(self.n / 2, 8.0)))
        if tau_bounds_ns is not None:
            lo, hi = (float(v) for v in tau_bounds_ns)
            if not 0 < lo < hi:
                raise InputError("lifetime bounds must satisfy 0 < min < max", "tau_bounds_ns")
        self.tau_bounds_ns = tau_bounds_ns

    # -- geometry ---------------------------------------------------------------

    def _geometry(self, g: np.ndarray) -> Geometry:
        return Geometry(g, self.dt, self.period_ns if self.periodic else None)

    def _gaussian_geometry(self, y_all: np.ndarray) -> tuple[np.ndarray, Geometry]:
        """Gaussian IRF placed at the rise of the decay (bins below 1e-9 of its peak dropped)."""
        t = self.time_ns
        centre = _rise_time(y_all, t, 0.5) + 0.25 * self.gaussian_fwhm_ns
        g = gaussian_irf(t, self.gaussian_fwhm_ns, centre)
        g = np.where(g > 1e-9 * g.max(), g, 0.0)
        g /= g.sum()
        return g, self._geometry(g)

    # -- one decay: checks, window, starting values ---------------------------------

    def _check_counts(self, counts, src: str) -> np.ndarray:
        y = np.asarray(counts, dtype=float)
        if y.shape != self.time_ns.shape:
            raise InputError(f"{y.size} counts for {self.n} time bins", src)
        if not np.all(np.isfinite(y)):
            raise InputError("the counts contain non-finite values", src)
        if np.any(y < 0):
            i = int(np.argmin(y))
            raise InputError(
                f"negative counts ({y[i]:g} in bin {i}); a TCSPC histogram counts photons", src
            )
        if self.statistic == "poisson":
            frac = np.abs(y - np.round(y))
            if frac.max() > 1e-6:
                i = int(np.argmax(frac > 1e-6))
                raise InputError(
                    f"non-integer counts ({y[i]:g} in bin {i}); Poisson statistics need raw photon "
                    "counts (use statistic='neyman' for processed data)",
                    src,
                )
        return y

    def _window(self, y_all: np.ndarray, g: np.ndarray, src: str) -> tuple[int, int]:
        t, dt, K = self.time_ns, self.dt, self.K
        if self.window_ns is not None:
            w0, w1 = self.window_ns
            i0 = int(np.searchsorted(t, w0 - 1e-9 * dt, side="left"))
            i1 = int(np.searchsorted(t, w1 - 1e-9 * dt, side="left"))
        else:
            i0, i1 = auto_window(
                y_all, g, fwhm_bins=max(self.irf_fwhm_ns / dt, 1.0), min_bins=2 * K + 8
            )
        nw = i1 - i0
        need = 2 * K + 6
        if nw < need:
            raise InputError(
                f"the fit window holds {nw} bins; {need} or more are needed for {K} component(s)",
                "window_ns" if self.window_ns is not None else src,
            )
        if not y_all[i0:i1].sum() > 0:
            raise FitError("no photons in the fit window", src)
        return i0, i1

    def _check_stack(self, Y: np.ndarray, srcs) -> np.ndarray:
        """:meth:`_check_counts` for every row of ``Y`` (N, n) at once (the first bad row raises)."""
        if not np.all(np.isfinite(Y)):
            b = int(np.argmax(~np.all(np.isfinite(Y), axis=1)))
            return self._check_counts(Y[b], srcs[b])
        if np.any(Y < 0):
            b = int(np.argmax(np.any(Y < 0, axis=1)))
            return self._check_counts(Y[b], srcs[b])
        if self.statistic == "poisson" and np.any(np.abs(Y - np.round(Y)) > 1e-6):
            b = int(np.argmax(np.any(np.abs(Y - np.round(Y)) > 1e-6, axis=1)))
            return self._check_counts(Y[b], srcs[b])
        return Y

    def _windows(self, Y: np.ndarray, g: np.ndarray, srcs) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_window` for every row of ``Y`` (N, n) at once (the first bad row raises)."""
        N = Y.shape[0]
        if self.window_ns is not None:
            i0, i1 = self._window(Y[0], g, srcs[0])
            i0s, i1s = np.full(N, i0), np.full(N, i1)
        else:
            i0s, i1s = _auto_windows(
                Y, g, fwhm_bins=max(self.irf_fwhm_ns / self.dt, 1.0), min_bins=2 * self.K + 8
            )
        cols = np.arange(self.n)[None, :]
        inside = np.sum(np.where((cols >= i0s[:, None]) & (cols < i1s[:, None]), Y, 0.0), axis=1)
        bad = (i1s - i0s < 2 * self.K + 6) | ~(inside > 0)
        if bad.any():
            b = int(np.argmax(bad))
            self._window(Y[b], g, srcs[b])
        return i0s, i1s

    def _tau_bounds_many(self, nw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_tau_bounds` for each decay's window length."""
        nw = np.asarray(nw)
        if self.tau_bounds_ns is not None:
            lo, hi = self._tau_bounds(0)
            return np.full(nw.shape, lo), np.full(nw.shape, hi)
        return np.full(nw.shape, 0.1 * self.dt), 5.0 * np.maximum(
            nw * self.dt, self.period_ns or 0.0
        )

    def _tau_bounds(self, nw: int) -> tuple[float, float]:
        if self.tau_bounds_ns is not None:
            return tuple(float(v) for v in self.tau_bounds_ns)
        return 0.1 * self.dt, 5.0 * max(nw * self.dt, self.period_ns or 0.0)

    # -- public ------------------------------------------------------------------------

    def fit(
        self,
        counts,
        *,
        source: str | None = None,
        tau_guess_ns=None,
        max_nfev: int | None = None,
        tol: float = 1e-3,
    ) -> DecayFit:
        """Fit one decay histogram (its own lmfit minimisation).

        Parameters
        ----------
        counts : array_like, shape (n,)
            Photon counts per bin (non-negative integers for Poisson statistics).
        source : str, optional
            File name for messages.
        tau_guess_ns : sequence of float, optional
            Starting lifetimes; default from a lifetime spectrum of the decay
            (K >= 2) or its mean photon delay (K = 1), with a second start when
            the first drops a component.
        max_nfev : int, optional
            Limit on model evaluations (default 200 per parameter).
        tol : float
            Convergence tolerance [deviance, or chi2 for Neyman fits]: MINPACK's relative
            tolerances are ``ftol = tol / bins`` (the deviance of a good fit is about the
            number of bins) and ``xtol = min(1e-6, tol)``.

        Returns
        -------
        DecayFit

        Raises
        ------
        InputError
            Counts of the wrong shape, negative, non-integer (Poisson) or non-finite;
            an empty or too small fit window.
        FitError
            No photons in the window, or no decay above the background.
        """
        src = source or "<decay>"
        y_all = self._check_counts(counts, src)
        if self.gaussian_fwhm_ns is not None:
            _, geo = self._gaussian_geometry(y_all)
        else:
            geo = self._geo
        i0, i1 = self._window(y_all, geo.g, src)
        tmin, tmax = self._tau_bounds(i1 - i0)
        starts, shift0 = _starts(self, y_all, geo, i0, i1, tmin, tmax, tau_guess_ns)
        best = None
        for start in starts:
            prob = _Problem(self, geo, y_all[None, i0:i1], np.ones((1, i1 - i0), bool), i0)
            res = prob.minimise(start[None, :], np.array([shift0]), tmin, tmax, max_nfev, tol=tol)
            st = prob.final(res)
            dev = float(np.sum(st.r**2))
            if best is None or dev < best[0] - 1e-9 * abs(best[0]):
                best = (dev, res, st, prob)
            if res.success and np.all(st.a[0, : self.K] > 0):
                break
        _, res, st, prob = best
        return _results(
            self,
            geo,
            st,
            prob.stack.mask,
            prob.stack.Y,
            prob.stack.W,
            prob.i0,
            y_all[None, :],
            [(i0, i1)],
            [src],
            np.array([tmin]),
            np.array([tmax]),
            [bool(res.success)],
            [str(res.message)],
            [int(res.nfev)],
            [res],
        )[0]

    def fit_many(
        self,
        counts,
        *,
        sources=None,
        tau_guess_ns=None,
        batch_size: int = 128,
        max_nfev: int | None = None,
        progress=None,
        tol: float = 2e-3,
    ) -> list[DecayFit]:
        """Fit a stack of decays measured with this IRF, solved ``batch_size`` at a time as arrays.

        The same model and objective as :meth:`fit` (Poisson deviance or Neyman chi2 of
        the variable-projection residuals over ``ln tau_k`` and the shift), minimised by a
        vectorised Levenberg-Marquardt iteration (:mod:`qdstack.analysis.decay.batch`):
        every decay has its own damping, steps, accept/reject decisions and convergence
        test, while the model, the non-negative amplitudes and the Jacobian of the whole
        chunk are evaluated in one call.  A decay has converged when its Gauss-Newton
        decrement (the deviance a full Gauss-Newton step would still remove; for a shift on
        a whole bin, where the model's curvature jumps, that without the shift) is at most ``tol``
        (2e-3 of deviance: within ~0.05 standard errors of the optimum) and falling fast,
        or below a tenth of ``tol``.  Uncertainties,
        averages and warnings are computed as for :meth:`fit`.  The starting lifetimes of
        every decay are those of the (lmfit) fit of the summed decay (a good start for
        decays of one sample), unless given.

        Parameters
        ----------
        counts : array_like, shape (N, n)
            N decays on this fitter's time axis.
        sources : sequence of str, optional
            Names for messages, one per decay.
        tau_guess_ns : sequence of float, optional
            Starting lifetimes for every decay.
        batch_size : int
            Decays evaluated together (128: numpy's per-call overhead is amortised while
            the largest arrays of a chunk, (128, 2K + 2, bins), stay near the cache).
        max_nfev : int, optional
            Model evaluations per decay before it is reported as not converged (default
            100 per lifetime and shift: an over-parametrised fit can need a few hundred).
        progress : callable(int), optional
            Called with the number of decays of each chunk when it is done.
        tol : float
            Convergence tolerance on the Gauss-Newton decrement [deviance].

        Returns
        -------
        list of DecayFit
            In the order of ``counts``.  Their ``fit`` is None (no lmfit minimisation was
            run for one decay; :meth:`fit` gives one with ``fit_report()``).  ``nfev``
            counts the model evaluations of the decay.
        """
        from qdstack.analysis.decay.batch import fit_many

        return fit_many(
            self,
            counts,
            sources=sources,
            tau_guess_ns=tau_guess_ns,
            batch_size=batch_size,
            max_nfev=max_nfev,
            progress=progress,
            tol=tol,
        )

    def model_curve(
        self, taus, amplitudes, background: float, shift_ns: float, irf=None
    ) -> np.ndarray:
        """Model counts on the whole histogram (amplitudes in counts/ns)."""
        geo = (
            self._geo if irf is None else self._geometry(np.asarray(irf, dtype=float) / np.sum(irf))
        )
        taus = np.atleast_1d(np.asarray(taus, dtype=float))
        Bm, _, _ = columns(geo, taus[None, :], np.array([shift_ns / self.dt]), 0, self.n, False)
        return np.asarray(amplitudes, dtype=float) @ Bm[0, : taus.size] + background


def _with_fitter_options(func):
    """Write the options of :class:`ReconvolutionFitter` into ``func``'s signature.

    ``func(time_ns, counts, *, ..., **options)`` passes ``options`` to the fitter; its
    ``__signature__`` (what ``help()``, IDEs and the API docs show) lists them with their
    defaults, taken from the class, so the two never disagree.
    """
    own = inspect.signature(func)
    opts = [
        p
        for name, p in inspect.signature(ReconvolutionFitter.__init__).parameters.items()
        if name not in ("self", "time_ns", "source")
    ]
    params = [p for p in own.parameters.values() if p.kind is not p.VAR_KEYWORD]
    func.__signature__ = own.replace(parameters=params[:2] + opts + params[2:])
    func._fitter_options = frozenset(p.name for p in opts)
    return func


@_with_fitter_options
def fit_decay(
    time_ns,
    counts,
    *,
    tau_guess_ns=None,
    source: str | None = None,
    irf_source: str | None = None,
    **options,
) -> DecayFit:
    """Fit a TCSPC decay by IRF reconvolution with 1-4 exponentials and a background.

    A convenience wrapper, ``ReconvolutionFitter(time_ns, source=irf_source,
    **options).fit(counts, source=source, tau_guess_ns=tau_guess_ns)`` (use the class
    to fit many decays with one IRF).  See the module docstring for the model, the
    statistics and the references.

    Parameters
    ----------
    time_ns : array_like, shape (n,)
        Bin start times [ns], uniform.
    counts : array_like, shape (n,)
        Photon counts.
    irf, irf_fwhm_ns, components, statistic, period_ns, window_ns, shift_bounds_ns, fix_shift_ns, tau_bounds_ns
        The options of :class:`ReconvolutionFitter` (keyword only, same defaults):
        a measured IRF or a Gaussian IRF's FWHM, 1 to 4 exponentials, ``"poisson"`` or
        ``"neyman"``, the laser period, the fit window and the bounds.
    tau_guess_ns : sequence of float, optional
        Starting lifetimes, see :meth:`ReconvolutionFitter.fit`.
    source, irf_source : str, optional
        File names for messages.

    Returns
    -------
    DecayFit
    """
    unknown = sorted(set(options) - fit_decay._fitter_options)
    if unknown:
        raise TypeError(f"fit_decay() got an unexpected keyword argument {unknown[0]!r}")
    fitter = ReconvolutionFitter(time_ns, source=irf_source, **options)
    return fitter.fit(counts, source=source, tau_guess_ns=tau_guess_ns)
