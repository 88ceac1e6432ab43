"""Fits of measurements: one module per analysis, each an lmfit Model with guesses.

Every ``fit_*`` returns a result object with ``summary()``, ``plot()``, ``to_dict()``
and, in Jupyter, an HTML table (see :class:`qdstack._result.Result`).

=================  ==========================================================================
absorption         first excitonic peak, shift vs layers, chain fit (Figs. 2-3)
coupling           exponential decay of the bilayer shift with linker length (eqn 1, Fig. 4)
tpl                PL peak and width vs temperature (eqns 2-3)
decay              TCSPC decays with IRF reconvolution; series of decays
xrd                scattering peaks, periods, in-plane vs out-of-plane
angle              angle-dependent PL
pl                 PL peak energy, FWHM and intensity of one spectrum
thickness          period and thickness of a layer-by-layer film vs SEM
plqy               PLQY from three integrating-sphere spectra (de Mello et al. 1997)
coverage           monolayer OD -> dots per µm² and close-packed fraction
dipcoat            amount vs withdrawal speed (Faustini et al. 2010); additive-fraction trends
tem                particle sizes (cube edge, sphere diameter) from an electron micrograph
lattice            lattice spacings of an HRTEM/HAADF image, calibration check against a crystal
peaks              second-derivative peak location shared by the spectral analyses
=================  ==========================================================================

Examples
--------
>>> from qdstack.analysis import fit_tpl
>>> from qdstack.io import read_columns
>>> table = read_columns(EXAMPLES / "tpl" / "tpl_table.csv", ("temperature_K", "peak_eV", "fwhm_meV"))
>>> tpl = fit_tpl(table["temperature_K"], table["peak_eV"], table["fwhm_meV"])
>>> round(tpl.width_fits[0].Gamma0_meV)
45
"""

from qdstack._lazy import attach

_NAMES = {
    # absorption (Figs. 2-3)
    "fit_absorption_series": ("absorption", "analyse_absorption_series"),
    "analyse_absorption_series": ("absorption", "analyse_absorption_series"),
    "first_excitonic_peak": ("absorption", "first_excitonic_peak"),
    "first_excitonic_peaks": ("absorption", "first_excitonic_peaks"),
    "fit_chain": ("absorption", "fit_chain"),
    "fit_od_vs_layers": ("absorption", "fit_od_vs_layers"),
    "saturation_layers": ("absorption", "saturation_layers"),
    "AbsorptionSeries": ("absorption", "AbsorptionSeries"),
    "ExcitonicPeak": ("absorption", "ExcitonicPeak"),
    "ChainFit": ("absorption", "ChainFit"),
    # coupling (eqn 1)
    "fit_coupling": ("coupling", "fit_tunnelling_decay"),
    "fit_tunnelling_decay": ("coupling", "fit_tunnelling_decay"),
    "CouplingFit": ("coupling", "CouplingFit"),
    # temperature-dependent PL (eqns 2-3)
    "fit_tpl": ("tpl", "analyse_tpl"),
    "analyse_tpl": ("tpl", "analyse_tpl"),
    "fit_tpl_spectra": ("tpl.spectra", "fit_tpl_spectra"),
    "TPLAnalysis": ("tpl", "TPLAnalysis"),
    # decays
    "fit_decay": ("decay", "fit_decay"),
    "DecayFit": ("decay", "DecayFit"),
    "ReconvolutionFitter": ("decay", "ReconvolutionFitter"),
    "fit_decay_series": ("decay", "fit_decay_series"),
    "fit_decay_stack": ("decay", "fit_decay_stack"),
    "LifetimeSeries": ("decay", "LifetimeSeries"),
    # X-ray scattering
    "fit_xrd": ("xrd", "fit_profile"),
    "fit_xrd_peaks": ("xrd", "fit_xrd_peaks"),
    "compare_period": ("xrd", "compare_period"),
    "compare_directions": ("xrd", "compare_directions"),
    "XRDFit": ("xrd", "XRDFit"),
    # angle-dependent PL
    "fit_angle_series": ("angle", "analyse_angle_series"),
    "analyse_angle_series": ("angle", "analyse_angle_series"),
    "AngleSeries": ("angle", "AngleSeries"),
    # PL peak, thickness
    "pl_peak": ("pl", "pl_peak"),
    "PLPeak": ("pl", "PLPeak"),
    "film_thickness": ("thickness", "film_thickness"),
    "FilmThickness": ("thickness", "FilmThickness"),
    # sample preparation: PLQY, first-layer coverage, dip coating
    "fit_plqy": ("plqy", "de_mello_plqy"),
    "de_mello_plqy": ("plqy", "de_mello_plqy"),
    "plqy_from_files": ("plqy", "plqy_from_files"),
    "PLQYResult": ("plqy", "PLQYResult"),
    "monolayer_coverage": ("coverage", "monolayer_coverage"),
    "CoverageResult": ("coverage", "CoverageResult"),
    "coverage_from_spectrum": ("coverage", "coverage_from_spectrum"),
    "fit_dipcoat": ("dipcoat", "fit_dipcoat"),
    "fit_dipcoat_trend": ("dipcoat", "fit_trend"),
    "DipcoatFit": ("dipcoat", "DipcoatFit"),
    "TrendFit": ("dipcoat", "TrendFit"),
    # electron micrographs: particle sizes, lattice spacings
    "measure_particles": ("tem", "measure_particles"),
    "TEMResult": ("tem", "TEMResult"),
    "fit_size_histogram": ("tem", "fit_size_histogram"),
    "measure_lattice": ("lattice", "measure_lattice"),
    "LatticeResult": ("lattice", "LatticeResult"),
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
