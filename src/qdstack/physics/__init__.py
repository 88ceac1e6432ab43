"""Physics models: single dots, coupled dots, excitons on stacks, the multilayer film model.

Describe, then solve (as Kwant): a geometry (:class:`DotSystem`) or a film
(:class:`FilmSpec` + :class:`FilmParameters`) is a plain description handed to a
solver (:func:`solve_dots`, :func:`simulate_film`) that returns a result object.

===================  =========================================================================
single_dot           confinement and first exciton of one cube vs edge length, and the inverse
transfer_matrix      1D BenDaniel-Duke transfer matrix (finite and multiple wells)
coupled_dots         3D effective-mass solver for coupled cubes (describe, then solve)
exciton_stack        electron-hole pairs on a stack of dots: bright spectra of ensembles
film_model           the multilayer film model: parameter sets, ensembles, spectra, series,
                     calibration on measured shifts
explain              which mechanism explains measured shifts (``explain_shifts``)
===================  =========================================================================

Examples
--------
>>> from qdstack.physics import first_exciton_energy_eV
>>> 2.40 < first_exciton_energy_eV(6.8, "CsPbBr3") < 2.55     # a 6.8 nm CsPbBr3 cube, eV
True
"""

from qdstack._lazy import attach

_NAMES = {
    # single dots
    "exciton": ("single_dot", "exciton"),
    "first_exciton_energy_eV": ("single_dot", "first_exciton_energy_eV"),
    "edge_from_exciton_energy_nm": ("single_dot", "edge_from_exciton_energy_nm"),
    "SingleDotExciton": ("single_dot", "SingleDotExciton"),
    # 1D
    "Heterostructure1D": ("transfer_matrix", "Heterostructure1D"),
    "finite_well": ("transfer_matrix", "finite_well"),
    "multi_well": ("transfer_matrix", "multi_well"),
    "bound_states_eV": ("transfer_matrix", "bound_states_eV"),
    # coupled dots (3D)
    "Cuboid": ("coupled_dots", "Cuboid"),
    "DotSystem": ("coupled_dots", "DotSystem"),
    "SolverSettings": ("coupled_dots", "SolverSettings"),
    "DotsResult": ("coupled_dots", "DotsResult"),
    "solve_dots": ("coupled_dots", "solve_dots"),
    "coupling_meV": ("coupled_dots", "coupling_meV"),
    "gap_dependence": ("coupled_dots", "gap_dependence"),
    "tight_binding": ("coupled_dots", "tight_binding"),
    "TightBinding": ("coupled_dots", "TightBinding"),
    # excitons on stacks
    "ExcitonStack": ("exciton_stack", "ExcitonStack"),
    "bright_spectrum": ("exciton_stack", "bright_spectrum"),
    "eigenstates": ("exciton_stack", "eigenstates"),
    # the film model
    "FilmParameters": ("film_model", "FilmParameters"),
    "FilmSpec": ("film_model", "FilmSpec"),
    "Channels": ("film_model", "Channels"),
    "load_parameter_set": ("film_model", "load_parameter_set"),
    "available_parameter_sets": ("film_model", "available_parameter_sets"),
    "simulate_film": ("film_model.spectra", "simulate_film"),
    "FilmResult": ("film_model.spectra", "FilmResult"),
    "simulate_series": ("film_model.series", "simulate_series"),
    "sweep": ("film_model.series", "sweep"),
    "FilmSeries": ("film_model.series", "FilmSeries"),
    "calibrate": ("film_model.calibration", "calibrate"),
    "ShiftMeasurement": ("film_model.calibration", "ShiftMeasurement"),
    "CalibrationResult": ("film_model.calibration", "CalibrationResult"),
    # which mechanism explains measured shifts (the subpackage qdstack.physics.explain)
    "explain_shifts": ("explain", "explain"),
    "read_shift_table": ("explain", "read_shift_table"),
    "make_shift_table": ("explain", "make_table"),
    "ExplainResult": ("explain", "ExplainResult"),
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
