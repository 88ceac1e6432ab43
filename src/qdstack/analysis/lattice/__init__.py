"""Lattice spacings from an HRTEM or STEM image (being split into a package)."""

from qdstack.analysis.lattice.measure import *  # noqa: F403
from qdstack.analysis.lattice.measure import __all__  # noqa: F401
