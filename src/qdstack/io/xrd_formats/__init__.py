"""Diffractometer files (being split into one module per vendor; see :mod:`.bruker`)."""

from qdstack.io.xrd_formats.bruker import *  # noqa: F401,F403
from qdstack.io.xrd_formats.bruker import __all__  # noqa: F401
