"""Scattering peaks of quantum-dot superlattices (being split into a package)."""

from qdstack.analysis.xrd.fit import *  # noqa: F403
from qdstack.analysis.xrd.fit import __all__, _detrended_peaks  # noqa: F401
