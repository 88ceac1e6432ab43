"""Angle-dependent photoluminescence of quantum-dot films: what moves the peak, and why.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Fig. 5 and
S8) rotates the film and finds that coupled multilayers emit at lower energy
towards the film plane (large detection angle), while a drop-cast film of the
same thickness shifts only slightly, "probably because of re-absorption".  This
module measures each spectrum (peak energy, FWHM, integrated intensity, via
:func:`qdstack.analysis.pl.pl_peak`), the shift against the angle closest to
the normal, and fits three models of the whole series so that the two causes
can be told apart.

Geometry
--------
theta is the detection angle from the film normal in air.  Inside a film of
(effective) index n the light travelled at theta_i with
``sin(theta) = n sin(theta_i)`` (Snell).  The film is treated as a half-space
radiating through one planar interface into air; thin-film interference and the
substrate are neglected (films of a few tens of nm are far thinner than the
wavelength, which mostly rescales all angles alike).

Models
------
Every spectrum is ``A_theta T_theta[S0](E) + c0_theta + c1_theta E``: one line shape
``S0`` shared by all angles (a cubic B-spline with knots every FWHM/8, fitted to all
spectra together, so no single noisy spectrum serves as a template), an amplitude
per angle (the excitation spot and collection change with the rotation, so the
intensity vs angle is reported but not modelled) and a straight baseline per angle
(dark level, stray light).  The models differ only in ``T_theta``:

``isotropic``
    No angle dependence: ``T S0 = S0``.
``anisotropic-emission`` (a)
    A fraction ``f`` of the transition dipoles points out of the plane and
    emits ``offset_meV`` (Delta) below the in-plane ones (the electronic
    coupling along the stack).  Randomly oriented in-plane dipoles radiate
    ``(1 + cos^2 theta_i)/2`` inside the film (s-polarised 1/2, p-polarised
    ``cos^2 theta_i / 2``), out-of-plane dipoles ``sin^2 theta_i`` (p only).
    Leaving the film the polarisations are transmitted with the Fresnel power
    transmittances ``T_s``, ``T_p`` of the film/air interface, so the
    out-of-plane to in-plane intensity ratio is

        r(theta) = 2 sin^2(theta_i) T_p / (T_s + cos^2(theta_i) T_p)

    (the solid-angle factor ``cos(theta) / (n^2 cos(theta_i))`` is common to
    both and cancels), and

        T S0 = S0(E) + f / (1 - f) r(theta) S0(E + Delta).

    r(0) = 0: at normal detection only in-plane dipoles are seen.  The
    low-energy component grows with the angle: the red side of the band rises,
    the blue side stays, the band broadens.  When Delta is small against the
    band width the data fix mainly ``f / (1 - f) Delta`` (reported as
    ``fraction_offset_meV``); f and Delta separately come with a strong
    correlation warning.  |Delta| is bounded by 1.5 FWHM of the band.
``reabsorption`` (b)
    Emitters spread uniformly through a film of optical depth
    ``tau a(E)`` (``tau = alpha(E_ref) d`` at the measured peak ``E_ref`` of the
    spectrum closest to the normal, ``a(E_ref) = 1``); light leaving at
    theta_i crosses a path ``z / cos(theta_i)``, so the escaping fraction is
    ``K = (1 - exp(-x)) / x`` with ``x = tau a(E) / cos(theta_i)``, and
    ``T S0 = S0(E) K(E, theta)`` (S0 is then the unabsorbed band).
    ``a(E)`` is an Urbach absorption tail ``exp((E - E_ref) / E_U)`` (default
    E_U = 20 meV) or the shape of a measured absorbance spectrum.  The blue side
    of the band is absorbed more at grazing angles: its blue edge moves while the
    red edge stays (for weak absorption the band narrows; deep in an exponential
    tail the filter ~ exp(-E / E_U) only shifts it) -- unlike (a), where the red
    side grows and the blue edge stays.

The physical parameters are fitted by lmfit (several starts); for every trial the
line shape, amplitudes and baselines are solved by alternating linear least
squares (variable projection).  The noise of each point is estimated locally from
second differences, so shot noise and dark noise are both followed.  The models
are compared by AIC and BIC (``N ln(chi^2/N) + 2k`` and ``+ k ln N``, k counting
every linear and non-linear parameter; only differences matter).  The model with
the lowest BIC is reported; the BIC difference to the next says how strongly
(Kass & Raftery: < 2 not worth more than a mention, 2-6 positive, 6-10 strong,
> 10 very strong).  Each model's predicted peak shift is measured on its model
spectra with the same :func:`~qdstack.analysis.pl.pl_peak` as the data.

How well the causes separate depends on the signal.  On synthetic series
(:func:`qdstack.synthetic.angle_pl_series`, tests/analysis/test_angle.py) a 25 meV
offset of 30 % out-of-plane dipoles, or a re-absorption optical depth of 0.5, are
identified with BIC differences of hundreds to thousands; with five angles to 60 deg
and shifts below 1 meV (f = 0.15 and Delta = 15 meV, or tau = 0.15-0.2), 12 of 12
series at 1e4 counts at the peak were attributed correctly (BIC differences 6-200),
and 23 of 24 at 3e3 counts (the miss: re-absorption on an asymmetric band taken for
out-of-plane emission at a BIC difference of 8.5).  A weak, noisy series can be
attributed wrongly; the BIC differences say how much to trust the verdict.

References
----------
K. Enomoto et al., Chem. Sci. 15, 13049 (2024), Fig. 5 and S8; W. Lukosz,
J. Opt. Soc. Am. 71, 744 (1981) (dipole emission through an interface);
M. Born, E. Wolf, Principles of Optics, ch. 1.5 (Fresnel formulae); F. Urbach,
Phys. Rev. 92, 1324 (1953); R. E. Kass, A. E. Raftery, J. Am. Stat. Assoc. 90,
773 (1995) (Bayes-factor scale).

Modules
-------
:mod:`~qdstack.analysis.angle.optics`
    The optics kernels: Snell, Fresnel transmittances, dipole emission through
    an interface, the escape fraction of uniformly spread emitters.
:mod:`~qdstack.analysis.angle.results`
    The result classes :class:`AngleModel` and :class:`AngleSeries`.
:mod:`~qdstack.analysis.angle.models`
    The three models as variable-projection least squares and their lmfit fits.
:mod:`~qdstack.analysis.angle.series`
    :func:`analyse_angle_series`: peaks, shifts, and the model comparison.

Every public name is importable from ``qdstack.analysis.angle``.
"""

from qdstack.analysis.angle.optics import (
    dipole_emission,
    escape_fraction,
    fresnel_power_transmittance,
    internal_angle_rad,
    op_ip_ratio,
)
from qdstack.analysis.angle.results import MODEL_NAMES, AngleModel, AngleSeries
from qdstack.analysis.angle.series import analyse_angle_series

__all__ = [
    "internal_angle_rad",
    "fresnel_power_transmittance",
    "dipole_emission",
    "op_ip_ratio",
    "escape_fraction",
    "AngleModel",
    "AngleSeries",
    "analyse_angle_series",
    "MODEL_NAMES",
]
