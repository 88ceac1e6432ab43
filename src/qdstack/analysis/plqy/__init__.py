"""Photoluminescence quantum yield from three integrating-sphere spectra (de Mello et al. 1997).

The sample is measured in an integrating sphere under laser excitation three
times: **A** the empty sphere, **B** the sample in the sphere but out of the
beam (it sees only diffuse light), **C** the sample in the beam.  Integrating
each spectrum over the laser line gives ``L_A, L_B, L_C`` and over the emission
band ``P_A, P_B, P_C``.  Then (de Mello, Wittmann & Friend 1997, eqns 1-5)

    A    = 1 - L_C / L_B                       (direct absorptance)
    PLQY = (P_C - (1 - A) P_B) / (L_A A)

The second term removes the emission excited by light that missed the sample
the first time; with no indirect absorption (``L_B = L_A``, ``P_B = 0``) the
formula reduces to the two-measurement shortcut ``(P_C - P_A) / (L_A - L_C)``,
reported beside it (with its absorptance ``1 - L_C / L_A``, which counts direct
*and* indirect absorption).

Windows
    The laser window is centred on the strongest narrow line of the empty-sphere
    spectrum and reaches out until the line falls below 1e-3 of its peak (or five
    baseline standard deviations), plus one FWHM on each side.  The emission
    window is the band above the laser (longer wavelength) in the in-beam
    spectrum: the contiguous region around its maximum where the (lightly
    smoothed) signal exceeds 0.5 % of that maximum, widened by 10 % of its width,
    never overlapping the laser window.  ``laser_window_nm`` / ``emission_window_nm``
    override either.
Baseline
    Each spectrum's constant dark level is the mean of the points outside both
    windows (a guard of one laser FWHM around the laser window); its standard
    error is carried into the integrals as a fully correlated term.
Noise (how the errors are propagated)
    ``noise="counts"`` (default): the files hold raw detector counts per pixel;
    each point's variance is the baseline scatter (dark + read noise, the
    variance of the points outside the windows) plus the Poisson variance of
    the signal above the dark level.  ``noise="baseline"``: the values are
    scaled (not counts); only the baseline scatter is used, so shot noise of the
    signal is *not* represented (the errors are then lower bounds).  The
    variances of the six integrals and the covariance of each spectrum's two
    integrals (through its shared baseline) are propagated to A and PLQY to first
    order (numerical Jacobian).
Spectral response
    An optional correction factor c(lambda) (the file's second column; corrected
    signal = counts x c) is interpolated linearly onto the spectra's grid; it must
    cover both windows.
Grids
    The three spectra must share one wavelength grid (same points to 1e-6
    relative): anything else is refused, since re-sampling a narrow laser line
    changes its integral.  Integrals are sum(y_i c_i dlambda_i) with the local
    spacing dlambda_i (numpy.gradient), in the file's own x unit.

References
----------
J. C. de Mello, H. F. Wittmann, R. H. Friend, "An improved experimental
determination of external photoluminescence quantum efficiency",
Adv. Mater. 9, 230 (1997).

Layout
------
:mod:`~qdstack.analysis.plqy.de_mello` (:func:`de_mello_plqy`, :func:`plqy_from_files`, the
error propagation), :mod:`~qdstack.analysis.plqy.windows` (:func:`find_windows`),
:mod:`~qdstack.analysis.plqy.spectra` (:class:`SphereSpectrum`, the readers) and
:mod:`~qdstack.analysis.plqy.results` (:class:`PLQYResult`).
"""

from qdstack.analysis.plqy.de_mello import NoiseModel, de_mello_plqy, plqy_from_files  # noqa: F401 (NoiseModel)
from qdstack.analysis.plqy.results import PLQYResult
from qdstack.analysis.plqy.spectra import SphereSpectrum, read_response, read_sphere_spectrum
from qdstack.analysis.plqy.windows import EMISSION_CUTOFF, LASER_CUTOFF, find_windows  # noqa: F401 (cutoffs)

__all__ = [
    "SphereSpectrum",
    "PLQYResult",
    "read_sphere_spectrum",
    "read_response",
    "find_windows",
    "de_mello_plqy",
    "plqy_from_files",
]
