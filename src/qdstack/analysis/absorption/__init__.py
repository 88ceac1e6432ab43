"""First excitonic absorption peak of quantum-dot films, and the layer series.

The reference study (Enomoto et al., Chem. Sci. 2024, 15, 13049, Figs. 2-4)
follows how the first excitonic absorption peak of a CsPbBr3 quantum-dot film
moves as layers are added.  This module

1. finds that peak on each spectrum (:func:`first_excitonic_peak`): located as
   the lowest-energy persistent minimum of the Savitzky-Golay second derivative
   (:mod:`qdstack.analysis.peaks`), then refined by an lmfit model of a Gaussian
   (or Voigt) peak plus a local quadratic background;
2. analyses a series (:func:`analyse_absorption_series`): shift of every film
   against the reference (N = 1), OD vs N line (constant packing density,
   Fig. 3c), the tight-binding chain fit E(N) = E1 - 2 beta cos(pi/(N+1))
   (Fig. 3d) and the saturation layer count.

Which energy is reported
------------------------
``peak_eV`` is the *transition energy*: the centre of the fitted peak after the
local background is separated.  On a film the first exciton is often a
shoulder with no local maximum, so the raw "peak top" is not always defined;
where it is, it is reported too (``peak_top_eV``, the maximum of the measured
spectrum, refined by a parabola through its top points).  The two differ by an offset set by the background slope, which is
the same for every film of a series (OD grows with N for peak and background
alike), so shifts computed either way agree to a few tenths of a meV (tested).

Layout
------
:mod:`~qdstack.analysis.absorption.locate` locates the peak of one spectrum (numpy only),
:mod:`~qdstack.analysis.absorption.peak` fits it,
:mod:`~qdstack.analysis.absorption.top` the measured top of the band (a parabola),
:mod:`~qdstack.analysis.absorption.series` the layer series and its fits,
:mod:`~qdstack.analysis.absorption.results` holds the result objects; every name is
re-exported here.
"""

# the private names too, so every import of the former single module keeps working
from qdstack.analysis.absorption.peak import (
    _GAUSS_FWHM as _GAUSS_FWHM,
    _REPORTED as _REPORTED,
    Profile as Profile,
    _component_calls as _component_calls,
    _fit_window as _fit_window,
    _linear_background as _linear_background,
    _local_background as _local_background,
    _model_residual as _model_residual,
    _peak_model as _peak_model,
    _peak_model_and_params as _peak_model_and_params,
    _restore_reported as _restore_reported,
    _sane as _sane,
    _t_scale as _t_scale,
    _uncertainty_at as _uncertainty_at,
    first_excitonic_peak,
)
from qdstack.analysis.absorption.results import (
    AbsorptionSeries,
    ChainFit,
    ExcitonicPeak,
    FilmPeak,
    LinearFit,
)
from qdstack.analysis.absorption.top import _data_top as _data_top
from qdstack.analysis.absorption.series import (
    _weights as _weights,
    analyse_absorption_series,
    chain_energy_eV,
    fit_absorption_series,
    fit_chain,
    fit_od_vs_layers,
    first_excitonic_peaks,
    saturation_layers,
)

__all__ = [
    "ExcitonicPeak",
    "first_excitonic_peak",
    "first_excitonic_peaks",
    "chain_energy_eV",
    "ChainFit",
    "LinearFit",
    "FilmPeak",
    "AbsorptionSeries",
    "analyse_absorption_series",
    "fit_absorption_series",
    "fit_chain",
    "fit_od_vs_layers",
    "saturation_layers",
]
