"""Forward models of measurements: what an instrument would record, with noise.

These turn model quantities (a peak energy, a lifetime, a period) into the raw
data a user would measure, so that simulated measurements can be run through
the same analyses as real files (tests, benchmarks, the example study,
``qdstack reproduce``).  Randomness is explicit: every function takes a seed,
a ``SeedSequence`` or a ``numpy.random.Generator``.

One module per measurement kind: ``absorption`` (film spectra), and the
decay, X-ray and angle-PL generators beside it.
"""

from qdstack._random import rng_from
from qdstack.synthetic.absorption import absorption_film_spectrum, film_absorbance, film_background
from qdstack.synthetic.decay import (
    IRFShape,
    SyntheticDecay,
    decay_expected_counts,
    gaussian_irf_shape,
    irf_histogram,
    measured_like_irf_shape,
    simulate_decay,
    simulate_irf_counts,
)
from qdstack.synthetic.tpl import TPLTable, pl_spectrum_nm, tpl_table
from qdstack.synthetic.tem import SyntheticMicrograph, lattice_image, tem_micrograph
from qdstack.synthetic.xrd import SyntheticProfile, XRDPeakSpec, xrd_expected_counts, xrd_profile
from qdstack.synthetic.angle import SyntheticAngleSeries, angle_pl_series, dipole_pattern_numeric

__all__ = [
    "rng_from",
    "film_absorbance",
    "film_background",
    "absorption_film_spectrum",
    "IRFShape",
    "SyntheticDecay",
    "decay_expected_counts",
    "gaussian_irf_shape",
    "irf_histogram",
    "measured_like_irf_shape",
    "simulate_decay",
    "simulate_irf_counts",
    "TPLTable",
    "pl_spectrum_nm",
    "tpl_table",
    "SyntheticMicrograph",
    "tem_micrograph",
    "lattice_image",
    "XRDPeakSpec",
    "SyntheticProfile",
    "xrd_expected_counts",
    "xrd_profile",
    "SyntheticAngleSeries",
    "angle_pl_series",
    "dipole_pattern_numeric",
]
