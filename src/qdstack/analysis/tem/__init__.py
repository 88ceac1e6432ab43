"""Particle sizes from an electron micrograph (being split into a package)."""

from qdstack.analysis.tem.pipeline import *  # noqa: F403
from qdstack.analysis.tem.pipeline import __all__, _hist  # noqa: F401
