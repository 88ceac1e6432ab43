"""Minimum Feret diameter of an outline (rotating calipers over its convex hull)."""

from __future__ import annotations

import math

import numpy as np

# --------------------------------------------------------------------------- geometry


def min_feret(points: np.ndarray) -> tuple[float, float, float]:
    """Minimum Feret diameter of a point set, its direction and the minimum-rectangle area.

    Rotating calipers: the minimum width of a convex polygon is reached with one
    hull edge flush against a caliper, so it is the minimum over hull edges of
    the largest distance of a hull vertex from that edge's line.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
        (row, col) coordinates.

    Returns
    -------
    width : float
        Minimum Feret diameter (same unit as ``points``).
    angle_deg : float
        Direction of the caliper normal, degrees in [0, 180) from the image's
        horizontal (columns), counter-clockwise as displayed (rows run down).
    rect_area : float
        Area of the bounding rectangle aligned with that edge (width x length).
    """
    width, angle, rect_area, _ = _feret_and_hull(points)
    return width, angle, rect_area


def _feret_and_hull(points):
    """:func:`min_feret` plus the area of the convex hull."""
    from scipy.spatial import ConvexHull, QhullError

    pts = np.asarray(points, float)
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return 0.0, 0.0, 0.0, 0.0
    v = pts[hull.vertices]
    e = np.roll(v, -1, axis=0) - v
    length = np.hypot(e[:, 0], e[:, 1])
    ok = length > 0
    e = e[ok] / length[ok, None]
    n = np.stack([-e[:, 1], e[:, 0]], axis=1)
    proj_n = v @ n.T
    proj_e = v @ e.T
    widths = proj_n.max(axis=0) - proj_n.min(axis=0)
    k = int(np.argmin(widths))
    extent = float(proj_e[:, k].max() - proj_e[:, k].min())
    angle = math.degrees(math.atan2(-n[k, 0], n[k, 1])) % 180.0
    return float(widths[k]), angle, float(widths[k]) * extent, float(hull.volume)
