"""``surface``: thiolate binding lets the hole leak into the ligand shell of a bound face.

Prediction
----------
Thiols bind to under-coordinated Pb on the cube faces, and the S 3p states
lie close to the valence band of lead halide perovskites, so the hole's
envelope can spread into the thiolate layer: the confinement box of the hole
grows by ``delta_nm`` on each face bound to a linker (the same reasoning as
the exciton delocalisation by strongly coupling ligands on CdSe dots).  In
layer-by-layer films a dot in layer k of N has a linker above and below it
except at the ends (the monolayer on PEI has none), so its hole level moves
by ``E_h(L + n_k delta) - E_h(L)`` with ``n_k`` the number of bound faces
(separable confinement: only the z factor changes; the finite well of the
ligand barrier, :func:`qdstack.physics.transfer_matrix.bound_states_eV`).
The change of the binding energy is second order and left out.  No gap
enters: the mechanism predicts the *same* shift for every linker.  The film
peak is read from the uncoupled layers (:mod:`._reduced`).

Parameters and plausible ranges
-------------------------------
``delta_nm`` 0-0.3 nm per bound face
    Ligand-induced exciton delocalisation on CdSe dots amounts to an effective
    radius increase of up to ~0.2-0.3 nm for the most strongly coupling
    ligands (phenyldithiocarbamates; M. T. Frederick, V. A. Amin, E. A. Weiss,
    J. Phys. Chem. Lett. 4, 634 (2013)); alkyl thiolates couple more weakly.
    0.3 nm is about one Pb-S bond plus the S atom.

Physical range: 0 - L/2 per face.
"""

from __future__ import annotations

import functools

import numpy as np

from qdstack.physics.explain._reduced import layer_shift_meV, neighbour_faces
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    ParameterSpec,
    register_mechanism,
)


@functools.lru_cache(maxsize=65536)
def _well_meV(width: float, vo: float, mass: float, mo: float) -> float:
    from qdstack.physics.transfer_matrix import bound_states_eV, finite_well

    return 1e3 * float(bound_states_eV(finite_well(width, vo, mass, mo), 1)[0])


def hole_level_meV(context: ExplainContext, width_nm: float) -> float:
    """Lowest 1D level of the hole in a well of the ligand barrier [meV]."""
    f = context.film
    return _well_meV(
        round(float(width_nm), 10),
        float(f.outer_barrier_eV),
        float(context.material.hole_mass),
        float(f.outer_barrier_mass),
    )


def layer_offsets_meV(context: ExplainContext, n: int, delta_nm: float) -> np.ndarray:
    """Hole-level shift of the dots of each layer of an N-layer film [meV]."""
    below, above = neighbour_faces(n)
    faces = below.astype(int) + above.astype(int)
    L = context.edge_nm
    e0 = hole_level_meV(context, L)
    table = {k: hole_level_meV(context, L + k * delta_nm) - e0 for k in set(faces.tolist())}
    return np.array([table[k] for k in faces])


class Surface(Mechanism):
    name = "surface"
    summary = (
        "hole leaks into the thiolate shell of each linker-bound face (effective edge increase)"
    )
    reduction = "uncoupled layers of mean dots, z-confinement of the hole only; peak top"
    parameters = (
        ParameterSpec(
            "delta_nm",
            (0.0, 0.3),
            (0.0, 3.4),
            "ligand-induced exciton delocalisation on CdSe: up to 0.2-0.3 nm effective radius "
            "(Frederick, Amin & Weiss, JPCL 4, 634 (2013))",
        ),
    )

    def predict(
        self, conditions: Conditions, context: ExplainContext, *, delta_nm: float
    ) -> np.ndarray:
        out = np.empty(len(conditions))
        for i, (n, t) in enumerate(zip(conditions.layers, conditions.temperature_K)):
            out[i] = layer_shift_meV(
                layer_offsets_meV(context, int(n), delta_nm), float(context.sigma_meV(t))
            )
        return out


SURFACE = register_mechanism(Surface(), replace=True)
