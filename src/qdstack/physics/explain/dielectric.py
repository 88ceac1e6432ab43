"""``dielectric``: each added layer makes a dot's surroundings more polarisable.

Prediction
----------
A dot's exciton carries the net self-polarisation energy of its charges in
their surroundings (Brus 1984; :func:`qdstack.physics.film_model.polarization_energy_meV`),
positive when the surroundings are less polarisable than the dot.  In the
monolayer the bottom face looks through the ligand shell into the substrate
and the top face into air; in an N-layer film the faces of inner dots look
through the linker (thickness = the gap, constant ``eps_linker``) into the
neighbouring dot (constant ``eps_dot``) instead
(:func:`qdstack.physics.film_model.face_eps`, the image-charge result of a
layered half-space at the dot's wave vector pi/L).  The environment constant
is the mean over the six faces, as in the film model.  Each layer's dots
move by ``P(eps_out,k) - P(eps_out,monolayer)`` and the film's peak top is read
from the uncoupled layers (:mod:`._reduced`).

Parameters and plausible ranges
-------------------------------
``eps_dot`` 4.3-10
    Dielectric constant of CsPbBr3 at the frequencies that screen the
    exciton's charges (the dot's own and its neighbours'): between the
    high-frequency value (4.3-5.0; Protesescu et al., Nano Lett. 15, 3692
    (2015) use 4.96) and the effective exciton value ~7.3 (Z. Yang et al.,
    ACS Energy Lett. 2, 1621 (2017)), with room for partial lattice screening;
    the static ~30 is too slow for an exciton bound by 33 meV (LO phonon 19 meV).
``eps_linker`` 2.0-2.7
    Alkane chains: eps 2.0-2.1 (n = 1.42-1.45); thiol SAMs and aromatic
    dithiols up to n ~ 1.6 (eps 2.6).

Physical ranges: eps_dot 1-60, eps_linker 1-12.
"""

from __future__ import annotations

import numpy as np

from qdstack.physics.explain._reduced import layer_shift_meV, neighbour_faces
from qdstack.physics.explain.base import (
    Conditions,
    ExplainContext,
    Mechanism,
    ParameterSpec,
    register_mechanism,
)


def layer_offsets_meV(
    context: ExplainContext, n: int, gap_nm: float, eps_dot: float, eps_linker: float
):
    """Dielectric shift of the dots of each layer of an N-layer film vs the monolayer [meV]."""
    from qdstack.physics.film_model.dots import face_eps

    f = context.film
    L = context.edge_nm
    side = face_eps(f.eps_ligand, eps_dot, f.in_plane_gap_nm, L)
    free_bottom = face_eps(f.eps_ligand, f.eps_substrate, f.ligand_shell_nm, L)
    free_top = face_eps(f.eps_ligand, f.eps_top, f.ligand_shell_nm, L)
    stacked = face_eps(eps_linker, eps_dot, gap_nm, L)
    below, above = neighbour_faces(n)
    eps_out = (
        4.0 * side + np.where(below, stacked, free_bottom) + np.where(above, stacked, free_top)
    ) / 6.0
    eps_mono = (4.0 * side + free_bottom + free_top) / 6.0
    return _polarization_meV(L, eps_dot, eps_out) - _polarization_meV(
        L, eps_dot, np.asarray([eps_mono])
    )


def _polarization_meV(edge_nm: float, eps_in: float, eps_out) -> np.ndarray:
    """:func:`qdstack.physics.film_model.polarization_energy_meV`, summed exactly for a few eps_out.

    The film model tabulates the Brus series once per eps_in (it keeps eps_in fixed);
    here eps_in is a fit parameter, so the series is summed directly for the handful
    of environments of one film (the same sum, without the table).
    """
    from qdstack.physics.film_model.dots import _series_exact
    from qdstack.units import COULOMB_EV_NM

    r = edge_nm * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    return (
        1e3
        * COULOMB_EV_NM
        / (eps_in * r)
        * _series_exact(float(eps_in), np.asarray(eps_out, dtype=float))
    )


class Dielectric(Mechanism):
    name = "dielectric"
    summary = (
        "more polarisable surroundings as layers are added (Brus self-polarisation, image charges)"
    )
    reduction = "uncoupled layers of mean dots, per-layer environment; peak top"
    parameters = (
        ParameterSpec(
            "eps_dot",
            (4.3, 10.0),
            (1.0, 60.0),
            "CsPbBr3: eps_inf 4.3-5.0 (Protesescu 2015), exciton eps 7.3 (Yang 2017)",
        ),
        ParameterSpec(
            "eps_linker",
            (2.0, 2.7),
            (1.0, 12.0),
            "alkane chains n = 1.42-1.45 (eps 2.0-2.1); aromatic/thiol layers up to n = 1.6",
        ),
    )

    def predict(
        self, conditions: Conditions, context: ExplainContext, *, eps_dot: float, eps_linker: float
    ) -> np.ndarray:
        out = np.empty(len(conditions))
        for i, (g, n, t) in enumerate(
            zip(conditions.gap_nm, conditions.layers, conditions.temperature_K)
        ):
            d = layer_offsets_meV(context, int(n), float(g), eps_dot, eps_linker)
            out[i] = layer_shift_meV(d, float(context.sigma_meV(t)))
        return out


DIELECTRIC = register_mechanism(Dielectric(), replace=True)
