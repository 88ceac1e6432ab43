"""Particle sizes from an electron micrograph: segmentation, watershed, Feret edges, histogram fits.

Pipeline (:func:`measure_particles`)
------------------------------------
1. **Contrast.**  Particles are made bright: a bright-field image (dark particles)
   is negated.  ``contrast="auto"`` compares the two phases of an Otsu threshold:
   the particles are the phase that breaks into more separate objects (the
   background is one connected region), the skewness of the grey levels decides
   a tie.
2. **Background flattening.**  A quadratic surface ``b(x, y)`` is fitted (least
   squares) to the pixels of the background phase and subtracted (uneven
   illumination, thickness gradients of the support).
3. **Threshold.**  The image is smoothed (Gaussian, ``smooth_px``), a first
   Otsu (or local, ``threshold="local"``) threshold separates the phases, then
   the threshold is moved to the **mid level** between the median background and
   the median particle interior: the half-maximum edge of a blurred step, which
   does not depend on the particle fraction as Otsu's does.
4. **Touching particles.**  Distance-transform watershed: markers are the maxima
   of the Euclidean distance to the background that are at least ``~0.6 r``
   apart (``r`` the typical particle radius of a first pass).
5. **Exclusions.**  Objects touching the image edge (or the masked scale bar) are
   *border* exclusions; objects that are not convex (solidity < 0.85), elongated
   (major/minor axis > 1.6), or larger than 3x the median area and not
   clearly convex (solidity < 0.93), are *unsplit clusters*.  Both are counted and reported.
6. **Sizes.**  Each object's outline is the sub-pixel contour of the smoothed
   image at the mid level (marching squares), restricted to its watershed
   region.  Cubes (squares in projection): edge = minimum Feret diameter of the
   outline (rotating calipers over its convex hull; corners rounded by blur do
   not change it) and, independently, ``sqrt(area)`` of the region's pixels;
   orientation = direction of the minimum-Feret normal mod 90 deg.  Spheres:
   diameter = ``sqrt(4 A / pi)`` (equivalent circle).  ``shape="auto"``
   chooses cube when the median rectangularity (area / minimum bounding
   rectangle) exceeds 0.88 (a square gives 1, a disc pi/4 = 0.785).

Statistics: mean, its standard error ``sd / sqrt(n)``, sample sd, median (error
``1.2533 sd / sqrt(n)``, normal approximation); histogram fits of a normal and a
log-normal law (lmfit, Poisson weights) with their errors.

Layout
------
:mod:`~qdstack.analysis.tem.pipeline` (:func:`measure_particles`),
:mod:`~qdstack.analysis.tem.feret` (:func:`min_feret`),
:mod:`~qdstack.analysis.tem.histogram` (:func:`fit_size_histogram`, :class:`SizeFit`) and
:mod:`~qdstack.analysis.tem.results` (:class:`TEMResult`).
"""

from qdstack.analysis.tem.feret import min_feret
from qdstack.analysis.tem.histogram import (
    SizeFit,
    _hist,  # noqa: F401 (plotting.tem imports it from here)
    fit_size_histogram,
)
from qdstack.analysis.tem.pipeline import measure_particles
from qdstack.analysis.tem.results import TEMResult

__all__ = ["SizeFit", "TEMResult", "fit_size_histogram", "measure_particles", "min_feret"]
