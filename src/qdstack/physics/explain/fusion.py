"""``fusion``: some neighbouring dots are partly fused, joined by a perovskite neck.

Prediction
----------
A fraction ``p`` of the out-of-plane contacts (independently) is a neck of
perovskite of square cross-section ``w x w`` and the length of the gap, the
rest is cut (no tunnelling: the linker alone is the ``tunnelling``
mechanism).  Inside a neck a carrier keeps the dot's band mass but its
lateral confinement rises, so the neck acts as a barrier of height
``V_neck = 2 [E_1D(w) - E_1D(L)]`` (1D levels of the ligand-barrier well,
separable confinement) through which the engine gives the coupling
(:func:`qdstack.physics.film_model.linker_coupling_meV` with the barrier mass
equal to the dot mass).  A column of N dots breaks into fused segments; a dot
sits in a segment of n with probability

.. math:: w_n = \\frac{n}{N} \\sum_{s=0}^{N-n} p^{n-1} q^{[s>0] + [s+n<N]},\\quad q = 1-p,

and the film's spectrum is the mixture of the ideal-segment spectra
(:mod:`._reduced`).  The shift is the peak top relative to the monolayer.

Parameters and plausible ranges
-------------------------------
``fused_fraction`` 0-0.2
    The reference study's own structure data bound it: TEM shows separate
    cubes of unchanged size, the XRD stacking period equals edge + S-S
    distance and the OD grows linearly with N (Enomoto et al. 2024, Figs 3,
    S1, S4-S6); a fused fraction much above 20 % of the contacts would shorten
    the period and broaden the size distribution visibly.  A judgement, not a
    measured bound.
``neck_nm`` 0.5-2.5 nm
    Necks narrower than ~2 unit cells (1.2 nm) are the common case of
    incipient sintering; wider than ~1/3 of the 6.8 nm face the two cubes
    would read as one particle in TEM.  Also a judgement.

Physical ranges: fraction 0-1, neck 0.2 nm - L.
"""

from __future__ import annotations


import numpy as np

from qdstack.physics.explain._reduced import chain_lines_meV, peak_top_meV
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    ParameterSpec,
    register_mechanism,
)
from qdstack.physics.explain.surface import _well_meV
from qdstack.physics.explain.tunnelling import _beta


def neck_barrier_eV(context: ExplainContext, neck_nm: float, mass: float) -> float:
    """Barrier a neck of width ``w`` presents to a carrier of band mass ``mass`` [eV]."""
    f = context.film
    vo, mo = float(f.outer_barrier_eV), float(f.outer_barrier_mass)
    e_w = _well_meV(round(float(neck_nm), 10), vo, float(mass), mo)
    e_l = _well_meV(round(float(context.edge_nm), 10), vo, float(mass), mo)
    return max(2e-3 * (e_w - e_l), 0.0)


def neck_couplings_meV(context: ExplainContext, gap_nm: float, neck_nm: float):
    """``(beta_e, beta_h)`` [meV] of two dots joined by a neck."""
    f = context.film
    out = []
    for m in (context.material.electron_mass, context.material.hole_mass):
        v = neck_barrier_eV(context, neck_nm, m)
        out.append(
            _beta(
                round(float(context.edge_nm), 9),
                round(float(gap_nm), 9),
                round(v, 10),
                float(m),
                float(m),
                float(f.outer_barrier_eV),
                float(f.outer_barrier_mass),
            )
        )
    return tuple(out)


def segment_weights(n: int, p: float) -> np.ndarray:
    """Fraction of the dots of an N-column that sit in fused segments of length 1..N."""
    q = 1.0 - p
    w = np.zeros(n)
    for length in range(1, n + 1):
        total = 0.0
        for s in range(0, n - length + 1):
            total += q ** (int(s > 0) + int(s + length < n))
        w[length - 1] = length * p ** (length - 1) * total / n
    return w


class Fusion(Mechanism):
    name = "fusion"
    summary = "a fraction of neighbouring dots partly fused through perovskite necks"
    reduction = "mixture of ideal fused segments (exact two-particle diagonalisation); peak top"
    parameters = (
        ParameterSpec(
            "fused_fraction",
            (0.0, 0.2),
            (0.0, 1.0),
            "judgement from the study's TEM, XRD period = edge + S-S and linear OD(N)",
        ),
        ParameterSpec(
            "neck_nm",
            (0.5, 2.5),
            (0.2, 6.8),
            "judgement: necks wider than ~1/3 of the face read as one particle in TEM",
        ),
    )

    def predict(
        self,
        conditions: Conditions,
        context: ExplainContext,
        *,
        fused_fraction: float,
        neck_nm: float,
    ) -> np.ndarray:
        out = np.empty(len(conditions))
        ref = -float(context.binding_meV)
        neck = min(max(float(neck_nm), 0.05), context.edge_nm)
        for (gap, temp), idx in conditions.groups().items():
            be, bh = neck_couplings_meV(context, gap, neck)
            sigma = float(context.sigma_meV(temp))
            for i in idx:
                n = int(conditions.layers[i])
                w = segment_weights(n, min(max(float(fused_fraction), 0.0), 1.0))
                centres, weights = [], []
                for length, wn in enumerate(w, start=1):
                    if wn <= 0:
                        continue
                    e, f = chain_lines_meV(context, length, gap, be, bh)
                    centres.append(e)
                    weights.append(wn * f)
                out[i] = peak_top_meV(np.concatenate(centres), np.concatenate(weights), sigma) - ref
        return out


FUSION = register_mechanism(Fusion(), replace=True)
