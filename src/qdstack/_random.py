"""Explicit randomness for the forward models."""

from __future__ import annotations

import numpy as np

__all__ = ["rng_from"]


def rng_from(seed) -> np.random.Generator:
    """A Generator from a seed, a SeedSequence or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
