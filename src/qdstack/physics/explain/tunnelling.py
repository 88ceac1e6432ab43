"""``tunnelling``: electron and hole tunnel through the linker; an ideal column forms a miniband.

Prediction
----------
For each linker gap ``d`` the effective-mass engine gives the single-carrier
couplings of two cubes of the mean edge across a barrier of height ``V`` and
carrier mass ``m_B`` (the model of :func:`qdstack.physics.film_model.linker_coupling_meV`,
adiabatic-separable, BenDaniel-Duke conditions, solved by parity in
:mod:`._coupling`, which agrees with it to 1e-6).  The
exciton of an ideal column of N such dots (on-site binding, screened
attraction of charge-transfer pairs, beta_e, beta_h) is diagonalised exactly
and its bright lines broadened as described in :mod:`._reduced`; the shift is
the peak top relative to one dot.

Parameters and plausible ranges
-------------------------------
``barrier_eV`` 0.5-5 eV
    Tunnel barrier of an alkane dithiol between the dots' band edges.
    Molecular junctions of alkane (di)thiols give 1-2 eV in Simmons fits
    (W. Wang, T. Lee, M. A. Reed, Phys. Rev. B 68, 035416 (2003): 1.4 eV with
    m* = 0.42 m_e) and decay constants of ~0.8-1 per CH2 in conductance
    (~4 nm^-1 in amplitude); the alkane HOMO-LUMO gap (~8 eV) bounds the
    mid-gap barrier at a few eV.  0.5 eV is a generous lower end (aromatic
    linkers, band alignment uncertainty).
``barrier_mass`` 0.1-1.0 m_e
    Carrier mass inside the barrier: Simmons fits give 0.2-0.6 m_e (Wang
    et al. 2003); 0.1 allows the dot's own band mass (0.15 by DFT,
    Protesescu et al., Nano Lett. 15, 3692 (2015)), 1.0 the free electron.

Physical (unbounded-refit) ranges: barrier 0-20 eV, mass 0.02-5 m_e.
"""

from __future__ import annotations

import functools

import numpy as np

from qdstack.physics.explain._reduced import chain_shift_meV
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    ParameterSpec,
    register_mechanism,
)


@functools.lru_cache(maxsize=65536)
def _beta(edge: float, gap: float, v: float, mass: float, mb: float, vo: float, mo: float) -> float:
    from qdstack.physics.explain._coupling import coupling_meV

    b = coupling_meV(
        edge, gap, v, mass, mb, vo, mo
    )  # linker_coupling_meV's model, solved by parity
    return b if np.isfinite(b) else 0.0


def couplings_meV(context: ExplainContext, gap_nm: float, barrier_eV: float, barrier_mass: float):
    """``(beta_e, beta_h)`` [meV] of two mean dots across the linker (cached engine calls)."""
    f = context.film
    m = context.material
    key = (
        round(float(context.edge_nm), 9),
        round(float(gap_nm), 9),
        round(float(barrier_eV), 10),
        None,
        round(float(barrier_mass), 10),
        float(f.outer_barrier_eV),
        float(f.outer_barrier_mass),
    )
    be = _beta(key[0], key[1], key[2], float(m.electron_mass), *key[4:])
    bh = (
        be
        if m.hole_mass == m.electron_mass
        else _beta(key[0], key[1], key[2], float(m.hole_mass), *key[4:])
    )
    return be, bh


class Tunnelling(Mechanism):
    name = "tunnelling"
    summary = "single-carrier tunnelling through the linker barrier (ideal column, miniband)"
    reduction = (
        "ideal column of mean dots, exact two-particle diagonalisation, size disorder folded "
        "into the line width; peak top"
    )
    parameters = (
        ParameterSpec(
            "barrier_eV",
            (0.5, 5.0),
            (0.0, 20.0),
            "alkane (di)thiol junctions: 1-2 eV (Wang, Lee & Reed, PRB 68, 035416 (2003)); "
            "alkane HOMO-LUMO gap ~8 eV",
            log=True,
        ),
        ParameterSpec(
            "barrier_mass",
            (0.1, 1.0),
            (0.02, 5.0),
            "Simmons fits 0.2-0.6 m_e (Wang et al. 2003); dot band mass 0.15 (Protesescu 2015); "
            "free electron 1",
            log=True,
        ),
    )

    def predict(
        self,
        conditions: Conditions,
        context: ExplainContext,
        *,
        barrier_eV: float,
        barrier_mass: float,
    ) -> np.ndarray:
        out = np.empty(len(conditions))
        for (gap, temp), idx in conditions.groups().items():
            be, bh = couplings_meV(context, gap, barrier_eV, barrier_mass)
            out[idx] = chain_shift_meV(context, conditions.layers[idx], gap, be, bh, temp)
        return out


TUNNELLING = register_mechanism(Tunnelling(), replace=True)
