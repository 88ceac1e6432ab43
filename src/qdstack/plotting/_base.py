"""Shared plotting plumbing: a Figure without pyplot's global state, one style."""

from __future__ import annotations

__all__ = ["new_axes", "new_figure"]


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(6.4, 4.4), **kwargs):
    """A matplotlib Figure (Agg canvas, no pyplot state) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes


def new_axes(ax=None, figsize=(6.4, 4.4)):
    """``ax`` itself, or the axes of a new Figure when ``ax`` is None."""
    if ax is not None:
        return ax
    _, ax = new_figure(figsize=figsize)
    return ax
