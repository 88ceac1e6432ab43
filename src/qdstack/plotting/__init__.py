"""Figures: ``plot_<thing>(result, ax=None) -> Axes``.

Plotting functions only read result objects; they draw on the axes they are
given (or on a new Figure with an Agg canvas) and never touch pyplot's global
state, so they are safe in reports, workers and notebooks alike.
"""

from qdstack.plotting.absorption import (
    plot_absorption_spectra,
    plot_coupling,
    plot_od_vs_layers,
    plot_shift_vs_layers,
)

__all__ = [
    "plot_absorption_spectra",
    "plot_shift_vs_layers",
    "plot_od_vs_layers",
    "plot_coupling",
]
