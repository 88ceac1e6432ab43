"""Photoluminescence quantum yield from three integrating-sphere spectra (being split into a package)."""

from qdstack.analysis.plqy.de_mello import *  # noqa: F403
from qdstack.analysis.plqy.de_mello import EMISSION_CUTOFF, LASER_CUTOFF, __all__  # noqa: F401
