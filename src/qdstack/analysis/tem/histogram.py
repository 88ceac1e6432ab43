"""Normal and log-normal fits (lmfit, Poisson weights) of a histogram of particle sizes."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result

_MIN_FIT_SIZES = 20


@dataclass(frozen=True)
class SizeFit(Result):
    """One histogram fit (lmfit) of the size distribution.

    For ``law="normal"``: ``centre`` = mean, ``width`` = sd.  For
    ``law="lognormal"``: ``centre`` = median ``exp(mu)`` and ``width`` = the
    log-sd ``s``; ``mean`` and ``sd`` are ``exp(mu + s^2/2)`` and
    ``mean sqrt(exp(s^2) - 1)``.  Values in nm except ``s``.  ``counts`` and
    ``edges`` keep the fitted histogram (counts per bin, bin edges in nm).
    """

    law: str
    centre: float
    centre_err: float
    width: float
    width_err: float
    mean: float
    mean_err: float
    sd: float
    sd_err: float
    amplitude: float
    redchi: float
    r2: float
    aic: float
    converged: bool
    fit: object = field(default=None, repr=False, compare=False)
    counts: tuple[float, ...] = field(default=(), repr=False, compare=False)
    edges: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def counts_per_bin(self, x_nm):
        """The fitted law as counts per bin at sizes ``x_nm`` (the model the fit used)."""
        x = np.asarray(x_nm, dtype=float)
        w = float(self.edges[1] - self.edges[0])
        norm = self.amplitude * w / (self.width * math.sqrt(2 * math.pi))
        if self.law == "normal":
            return norm * np.exp(-0.5 * ((x - self.centre) / self.width) ** 2)
        xx = np.maximum(x, 1e-12)
        return norm * np.exp(-0.5 * (np.log(xx / self.centre) / self.width) ** 2) / xx

    def _plot(self, ax):
        from qdstack.plotting.tem import plot_size_fit

        return plot_size_fit(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "law": self.law,
            "centre": self.centre,
            "centre_err": self.centre_err,
            "width": self.width,
            "width_err": self.width_err,
            "mean": self.mean,
            "mean_err": self.mean_err,
            "sd": self.sd,
            "sd_err": self.sd_err,
            "amplitude": self.amplitude,
            "redchi": self.redchi,
            "r2": self.r2,
            "aic": self.aic,
            "converged": self.converged,
        }


# --------------------------------------------------------------------------- fits


def _hist(sizes: np.ndarray, bins: int | None):
    n = sizes.size
    if bins is None:
        q75, q25 = np.percentile(sizes, [75, 25])
        width = 2 * (q75 - q25) / n ** (1 / 3) if q75 > q25 else 0.0  # Freedman-Diaconis
        span = sizes.max() - sizes.min()
        bins = int(np.clip(math.ceil(span / width) if width > 0 else 10, 8, 60))
    counts, edges = np.histogram(sizes, bins=bins)
    return counts.astype(float), edges


def fit_size_histogram(sizes_nm, bins: int | None = None) -> tuple[SizeFit, ...]:
    """Fit a normal and a log-normal law to the histogram of sizes (lmfit, Poisson weights).

    The model of the counts in a bin of width ``w`` centred at ``x`` is
    ``N w p(x)`` with ``p`` the normal density ``exp(-(x - m)^2 / 2 s^2) / (s sqrt(2 pi))``
    or the log-normal density ``exp(-(ln x - mu)^2 / 2 s^2) / (x s sqrt(2 pi))``;
    weights ``1 / sqrt(max(count, 1))``.  Errors of the derived mean and sd of
    the log-normal are propagated from the covariance of ``(mu, s)``.

    A fit counts as converged when lmfit succeeded, gave errors, its centre lies
    inside the measured range and no parameter sits at a bound.

    Returns an empty tuple with fewer than ``_MIN_FIT_SIZES`` (20) sizes: a
    histogram of fewer particles does not constrain a law.
    """
    from lmfit import Model

    from qdstack.analysis._fitting import param_error, param_value, r_squared

    sizes = np.asarray(sizes_nm, float)
    sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
    if sizes.size < _MIN_FIT_SIZES or np.ptp(sizes) == 0:
        return ()
    counts, edges = _hist(sizes, bins)
    x = 0.5 * (edges[1:] + edges[:-1])
    w = float(edges[1] - edges[0])
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    n = float(sizes.size)
    mean, sd = float(sizes.mean()), float(sizes.std(ddof=1))

    def normal(x, amplitude, centre, width):
        return (
            amplitude
            * w
            * np.exp(-0.5 * ((x - centre) / width) ** 2)
            / (width * math.sqrt(2 * math.pi))
        )

    def lognormal(x, amplitude, centre, width):
        xx = np.maximum(x, 1e-12)
        return (
            amplitude
            * w
            * np.exp(-0.5 * (np.log(xx / centre) / width) ** 2)
            / (xx * width * math.sqrt(2 * math.pi))
        )

    out = []
    for law, func in (("normal", normal), ("lognormal", lognormal)):
        model = Model(func)
        params = model.make_params(amplitude=n)
        params["amplitude"].set(min=0)
        if law == "normal":
            params["centre"].set(value=mean, min=0)
            params["width"].set(value=max(sd, 0.5 * w), min=1e-6 * mean)
        else:
            logs = np.log(sizes)
            params["centre"].set(value=float(np.exp(np.median(logs))), min=1e-9)
            params["width"].set(value=max(float(logs.std(ddof=1)), 1e-3), min=1e-6, max=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(counts, params, x=x, weights=weights)
        c, ce = param_value(res, "centre"), param_error(res, "centre")
        s, se = param_value(res, "width"), param_error(res, "width")
        if law == "normal":
            m, me, sdv, sde = c, ce, s, se
        else:
            mu = math.log(c)
            m = math.exp(mu + 0.5 * s * s)
            sdv = m * math.sqrt(math.expm1(s * s))
            cov = getattr(res, "covar", None)
            names = list(res.var_names)
            if cov is not None and "centre" in names and "width" in names:
                i, j = names.index("centre"), names.index("width")
                # d/d(centre), d/d(width) of mean and sd
                jm = np.array([m / c, m * s])
                t = math.expm1(s * s)
                js = np.array([sdv / c, sdv * s + m * s * (t + 1) / math.sqrt(t) if t > 0 else 0.0])
                sub = np.array([[cov[i, i], cov[i, j]], [cov[j, i], cov[j, j]]])
                me = float(math.sqrt(max(jm @ sub @ jm, 0.0)))
                sde = float(math.sqrt(max(js @ sub @ js, 0.0)))
            else:
                me = sde = float("nan")
        at_bound = any(
            p.vary
            and (
                (
                    p.min is not None
                    and np.isfinite(p.min)
                    and abs(p.value - p.min) <= 1e-6 * max(1, abs(p.min))
                )
                or (
                    p.max is not None
                    and np.isfinite(p.max)
                    and abs(p.value - p.max) <= 1e-6 * max(1, abs(p.max))
                )
            )
            for p in res.params.values()
        )
        converged = (
            bool(res.success)
            and math.isfinite(ce)
            and math.isfinite(se)
            and not at_bound
            and sizes.min() <= c <= sizes.max()
        )
        out.append(
            SizeFit(
                law=law,
                centre=c,
                centre_err=ce,
                width=s,
                width_err=se,
                mean=m,
                mean_err=me,
                sd=sdv,
                sd_err=sde,
                amplitude=param_value(res, "amplitude"),
                redchi=float(res.redchi),
                r2=float(r_squared(counts, res.best_fit)),
                aic=float(res.aic),
                converged=converged,
                fit=res,
                counts=tuple(float(c) for c in counts),
                edges=tuple(float(e) for e in edges),
            )
        )
    return tuple(out)
