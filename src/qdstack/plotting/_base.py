"""Shared plotting plumbing: a Figure without pyplot's global state, one style.

Figures made here are plain ``matplotlib.figure.Figure`` objects with an Agg canvas: safe in
reports, dask workers and notebooks alike.  Without pyplot, IPython does not know how to show
such a Figure (matplotlib-inline registers its display only when pyplot loads), so inside an
IPython kernel :func:`new_figure` registers a PNG display for ``Figure`` -- a Figure returned as
the last expression of a cell then shows inline, as users expect.
"""

from __future__ import annotations

__all__ = ["new_axes", "new_figure", "figure_png"]


def figure_png(fig, dpi: int = 100) -> bytes:
    """PNG bytes of a Figure (tight bounding box)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _inline_display() -> None:
    """In an IPython kernel, display ``Figure`` objects as PNG (no-op elsewhere)."""
    import sys

    if "IPython" not in sys.modules:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    png = ip.display_formatter.formatters["image/png"]
    if Figure not in png.type_printers:
        png.for_type(Figure, figure_png)


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(6.4, 4.4), **kwargs):
    """A matplotlib Figure (Agg canvas, no pyplot state) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _inline_display()
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
