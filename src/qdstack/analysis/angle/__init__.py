"""Angle-dependent photoluminescence (being split into a package; see :mod:`.series`)."""

from qdstack.analysis.angle.series import *  # noqa: F401,F403
from qdstack.analysis.angle.series import __all__  # noqa: F401
