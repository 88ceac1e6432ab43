"""The measured top of an absorption band: a parabola re-centred on its vertex (lmfit)."""

from __future__ import annotations

import math

import numpy as np


def _data_top(x, y, sigma: float, noise: float = 0.0) -> tuple[float, float]:
    """Energy of the measured maximum inside the fit window; NaN when it is not a local maximum.

    The data's own top, not the model's: a band that is not Gaussian (a dye's steep red
    edge and vibronic blue tail) puts the top of a Gaussian + background fit on its flank.
    A parabola (``lmfit.minimize``) is fitted to the points around the highest one and
    re-centred on its vertex, so noise does not pick one sample; the vertex is the top.  The
    half-width of those points is where the band has fallen by 5 % of its rise in the window
    (or 3 noise standard deviations, if more) on its steeper side, at most half a fitted sigma
    and at least 2 grid steps (5 points): an asymmetric band is fitted only near its top.  A highest point at the window's edge (a shoulder on a
    rising continuum has no maximum), a vertex outside those points or an upward parabola
    give NaN.  Returns (top, its standard error from the parabola's covariance).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    i = int(np.argmax(y))
    nan = (float("nan"), float("nan"))
    if n < 7 or i < 3 or i > n - 4:
        return nan
    step = float(np.median(np.diff(x)))
    drop = max(0.1 * float(y[i] - y.min()), 5.0 * noise if math.isfinite(noise) else 0.0)
    left = i
    while left > 0 and y[left - 1] >= y[i] - drop:
        left -= 1
    right = i
    while right < n - 1 and y[right + 1] >= y[i] - drop:
        right += 1
    half = min(x[i] - x[left], x[right] - x[i])
    if math.isfinite(sigma):
        half = min(half, 0.5 * sigma)
    half = max(half, 2.0 * step)
    from lmfit import Parameters, minimize

    def residual(params, u, v):
        return params["a"].value * u * u + params["b"].value * u + params["c"].value - v

    def jacobian(params, u, v):  # d residual / d(a, b, c): the parabola is linear in them
        return np.array([u * u, u, np.ones_like(u)])

    start = Parameters()  # one template: lmfit fits a copy of it
    start.add("a", value=-1.0)
    start.add("b", value=0.0)
    start.add("c", value=0.0)
    centre = float(x[i])
    for _ in range(3):  # re-centred on the vertex, so the noisiest point does not set the window
        sel = np.abs(x - centre) <= half
        if sel.sum() < 5:
            sel = np.zeros(n, dtype=bool)
            sel[np.argsort(np.abs(x - centre))[:5]] = True
        u = x[sel] - centre
        start["c"].set(value=float(np.max(y[sel])))
        # lmfit.minimize, not Model.fit: ModelResult.fit builds uncertainties values even when the
        # errors are zero (a noise-free top), the thread-unsafe warning path of issue 16
        result = minimize(
            residual, start, args=(u, y[sel]), method="leastsq", Dfun=jacobian, col_deriv=True
        )
        a, b = result.params["a"].value, result.params["b"].value
        if not (a < 0):
            return nan
        vertex = -b / (2.0 * a)
        if not (u.min() <= vertex <= u.max()):
            return nan
        moved = abs(vertex)
        centre += vertex
        if moved < 0.1 * step:
            break
    if not (x[0] < centre < x[-1]):
        return nan
    err = float("nan")
    if getattr(result, "covar", None) is not None:  # v = -b/(2a): dv/da = b/(2a^2), dv/db = -1/(2a)
        names = list(result.var_names)
        grad = np.zeros(len(names))
        grad[names.index("a")] = b / (2 * a * a)
        grad[names.index("b")] = -1 / (2 * a)
        err = float(np.sqrt(max(grad @ result.covar @ grad, 0.0)))
    return float(centre), err
