"""Scattering peaks of quantum-dot superlattices: q, d = 2 pi / q and width, with errors.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Figs. S5-S6)
reads the inter-dot period of a film from the position of a broad scattering
peak on a steep background, "with the fitting of raw data and first and second
derivatives, using combination of Gaussian and polynomial functions".  This
package does that:

Model
-----
``I(q) = sum_k A_k / (s_k sqrt(2 pi)) exp(-(q - q_k)^2 / (2 s_k^2)) + B(q)``

with ``B`` a polynomial in ``u = (q - q_mid) / q_half`` (degree 0-5) or a power
law ``a (q / q_mid)^-n + c`` (the decay of the dots' form factor and diffuse
scattering).  By default both kinds (polynomials of degree 1-4) are fitted and
the background with the lowest Bayesian information criterion is kept.
FWHM = 2 sqrt(2 ln 2) s.

Joint fit of the profile and its derivatives (``method="joint"``, the default)
------------------------------------------------------------------------------
The data ``y`` and the model ``f(theta)`` both go through the same cubic
Savitzky-Golay first- and second-derivative filters ``S1``, ``S2`` (window of
``sg_window`` points, about half the narrowest peak's FWHM; only the points
where the whole window lies inside the data), and one composite residual is
minimised with lmfit::

    r = [ w0 (y - f) / sigma,  w1 (S1 y - S1 f) / sigma_1,  w2 (S2 y - S2 f) / sigma_2 ]

``sigma`` is the standard error of each point (Poisson counts or an error
column; otherwise estimated from second differences), and ``sigma_1``,
``sigma_2`` are its exact propagation through the filters
(``sigma_d^2 = sum_j c_j^2 sigma_{i+j}^2``), so each data set enters in units of
its own noise (``w0 = w1 = w2 = 1`` by default).  Filtering the model exactly
like the data makes the fit free of the smoothing distortion that fitting
analytic derivatives to smoothed data would bring.  The derivatives weight the
curvature of the peaks over the slowly varying background, so an imperfect
background model pulls the centres less; the price is that the three data sets
are linear transforms of the same counts, so the composite chi^2 double-counts
information and lmfit's covariance would be wrong.  The standard errors are
therefore the sandwich (robust) covariance of this estimator,

    Cov = H^-1 (J^T W A Sigma A^T W J) H^-1,   H = J^T W^2 J,

with ``J`` the Jacobian of the stacked model, ``W`` the residual weights,
``A = [1; S1; S2]`` and ``Sigma = diag(sigma^2)``, scaled by the reduced chi^2
of the raw-profile part (as lmfit scales a plain fit's covariance).  Monte-Carlo
tests check that these errors match the scatter of repeated fits.

``method="raw"`` fits ``f`` to ``y`` alone (weighted least squares, lmfit's
covariance).  Both are always run (the raw fit starts the joint one) and their
centres are compared: a disagreement beyond the errors says the background
model is inadequate.

Starting values come from the data, and several are tried: peak candidates are
the significant minima of the smoothed second derivative that persist across
smoothing scales (:mod:`qdstack.analysis.peaks`) and the peaks that stand out of
a detrended profile (a baseline under the peaks in log-log, then
``scipy.signal.find_peaks`` on the smoothed excess in noise units).  The raw fit
is run from the K most significant curvature candidates and from every K-subset
of the most significant candidates of both searches; the start with the lowest
chi^2 (the maximum likelihood: same model, data and weights) wins and starts the
other backgrounds.  Missing peaks are added where the residual of a fit with fewer
peaks is largest; ``guess_q`` overrides.  Peaks of the detrended profile at least
half as high as a fitted one that were left out are named in a warning.  The
background starts from a fit to the points away from the peaks.

d = 2 pi / q with ``d_err = 2 pi q_err / q^2``.

References
----------
A. Savitzky, M. J. E. Golay, Anal. Chem. 36, 1627 (1964); K. Enomoto et al.,
Chem. Sci. 15, 13049 (2024), Fig. S6 and its ESI text; H. White, Econometrica
48, 817 (1980) (sandwich covariance); lmfit, M. Newville et al.,
doi:10.5281/zenodo.11813.

Layout
------
:mod:`~qdstack.analysis.xrd.model` (peaks, backgrounds, derivative filters),
:mod:`~qdstack.analysis.xrd._starts` (candidate search, starting values),
:mod:`~qdstack.analysis.xrd.fit` (the joint fit and its covariance),
:mod:`~qdstack.analysis.xrd.results` (:class:`XRDPeak`, :class:`XRDFit`) and
:mod:`~qdstack.analysis.xrd.comparison` (periods, in-plane vs out-of-plane).
"""

from qdstack.analysis.xrd._starts import _detrended_peaks  # noqa: F401 (tests import it from here)
from qdstack.analysis.xrd.comparison import (
    DirectionComparison,
    PeriodComparison,
    compare_directions,
    compare_period,
)
from qdstack.analysis.xrd.fit import fit_profile, fit_xrd_peaks
from qdstack.analysis.xrd.model import gaussian_peak
from qdstack.analysis.xrd.results import XRDFit, XRDPeak

__all__ = [
    "XRDPeak",
    "XRDFit",
    "PeriodComparison",
    "DirectionComparison",
    "fit_xrd_peaks",
    "fit_profile",
    "compare_period",
    "compare_directions",
    "gaussian_peak",
]
