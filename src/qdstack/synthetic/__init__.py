"""Forward models of measurements: what an instrument would record, with noise.

These turn model quantities (a peak energy, a lifetime, a period) into the raw
data a user would measure, so that simulated measurements can be run through
the same analyses as real files (tests, benchmarks, the example study,
``qdstack reproduce``).  Randomness is explicit: every function takes a seed,
a ``SeedSequence`` or a ``numpy.random.Generator``.

One module per measurement kind: ``absorption`` (film spectra), and the
decay, X-ray and angle-PL generators beside it.
"""

from qdstack.synthetic._rng import rng_from
from qdstack.synthetic.absorption import absorption_film_spectrum, film_absorbance

__all__ = ["rng_from", "film_absorbance", "absorption_film_spectrum"]
