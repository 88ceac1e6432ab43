"""An exciton on a stack of coupled quantum dots (being split into a package)."""

from qdstack.physics.exciton_stack.kpm import *  # noqa: F403
from qdstack.physics.exciton_stack.kpm import (  # noqa: F401
    __all__,
    _choose_moments,
    _ScaledOperator,
    _single_thread_blas,
    _use_compiled,
)
