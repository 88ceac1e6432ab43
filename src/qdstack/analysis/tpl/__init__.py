"""Temperature-dependent photoluminescence (being split into a package)."""

from qdstack.analysis.tpl.fit import *  # noqa: F403
from qdstack.analysis.tpl.fit import CORRELATION_LIMIT, __all__  # noqa: F401
