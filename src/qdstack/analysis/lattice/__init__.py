"""Lattice spacings from an HRTEM or atomic-resolution STEM image (windowed FFT) and a calibration check.

Method (:func:`measure_lattice`)
--------------------------------
1. The central square of the image (side ``n`` px), minus its mean, times a
   2-D Hann window ``w(x, y) = sin^2(pi x / n) sin^2(pi y / n)`` (suppresses the
   edge discontinuity that would streak the spectrum); power spectrum
   ``P(k) = |FFT|^2``, with ``k = 1/d`` in steps of ``dk = 1 / (n p)`` [nm^-1]
   for a pixel of ``p`` nm.
2. **Spots**: local maxima of ``P`` (Gaussian-smoothed by 0.7 bin) that stand
   ``spot_snr`` times above the median power at their radius and reach
   ``spot_rel`` (2 %) of the strongest spot's ratio; each refined to
   sub-bin precision by a 3 x 3 power-weighted centroid of ``log P``-free power;
   Friedel mates are counted once.  Spots whose ``|k|`` agree within 3 % form one
   spacing ``d = 1 / mean|k|``; its error combines the spread of the spots (which
   shows scan distortion or anisotropy) ``sd/sqrt(m)`` and a centroid floor of
   0.1 bin per spot.
3. **Rings**: the azimuthal average of ``P`` divided by a running median over
   15 bins (the smooth background); peaks above ``ring_snr`` refined by a 5-bin
   centroid; used when fewer than three spot groups are found (polycrystals,
   noisy images), and kept when no spot group has the same spacing.
4. **Crystal**: the measured spacings are matched to the planes of a named
   crystal (:data:`CRYSTALS`, or a user cell ``a=...,b=...,c=...``) with one
   common calibration factor ``s``: a grid search over ``s`` in 0.85-1.15 for the
   assignment with the smallest summed ``|ln(s d_i / d_hkl)|`` (capped), then the
   weighted least-squares ``s = sum(w d_i D_i) / sum(w d_i^2)`` over the matched
   pairs, ``w = 1/d_err^2``.  ``scale_factor = s`` is the factor the pixel size
   would need (true pixel = ``s`` x the file's pixel) for the image to show the
   crystal's spacings.

Plane spacings: orthogonal cells, ``1/d^2 = h^2/a^2 + k^2/b^2 + l^2/c^2``.

Layout
------
:mod:`~qdstack.analysis.lattice.measure` (:func:`measure_lattice`),
:mod:`~qdstack.analysis.lattice.crystals` (:class:`Crystal`, :data:`CRYSTALS`,
:func:`parse_crystal`, :func:`plane_spacings`) and :mod:`~qdstack.analysis.lattice.results`
(:class:`Spacing`, :class:`LatticeResult`).
"""

from qdstack.analysis.lattice.crystals import CRYSTALS, Crystal, parse_crystal, plane_spacings
from qdstack.analysis.lattice.measure import measure_lattice
from qdstack.analysis.lattice.results import LatticeResult, Spacing

__all__ = [
    "CRYSTALS",
    "Crystal",
    "LatticeResult",
    "Spacing",
    "measure_lattice",
    "parse_crystal",
    "plane_spacings",
]
