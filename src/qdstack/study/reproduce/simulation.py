"""The reference study's films simulated with one film-model parameter set (:class:`PaperSimulation`).

Part of :mod:`qdstack.study.reproduce`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from qdstack.physics.film_model import FilmParameters

# ----------------------------------------------------------------------------- the model's films


@dataclass(frozen=True)
class PaperSimulation:
    """The reference study simulated with one parameter set (input of :func:`qdstack.study.comparison.build_comparison`).

    Attributes
    ----------
    params : FilmParameters
    c3dt, c10dt : FilmSeries
        C3DT and C10DT films of N = 1..8 (emission at N = 1, 3, 6; channel breakdown at 2, 8).
    bilayers : tuple of FilmSeries
        N = 1 and 2 of every built-in linker.
    bilayer_fit : CouplingFit
        |bilayer shift| = A exp(-k d) over the built-in linkers (amplitude law).
    density : tuple of (float, FilmSeries)
        Monolayers (3 x 3 in-plane blocks) at in-plane gaps of 3, 4.5 and 6 nm.
    realisations, seed : int
    """

    params: FilmParameters
    c3dt: object
    c10dt: object
    bilayers: tuple
    bilayer_fit: object
    density: tuple
    realisations: int
    seed: int


def simulate_paper(
    params: FilmParameters | None = None,
    *,
    realisations: int = 6000,
    seed: int = 0,
    scheduler: str | None = None,
    progress=None,
) -> PaperSimulation:
    """Simulate every film of the reference study the model can say something about.

    The C3DT and C10DT series of N = 1..8 (Fig. 3), the bilayers of every
    built-in linker (Fig. 4), monolayers at three packing densities (Fig. 2).
    """
    from qdstack.analysis.coupling import fit_tunnelling_decay
    from qdstack.linkers import builtin_linkers
    from qdstack.physics.film_model import load_parameter_set
    from qdstack.physics.film_model.series import SeriesRequest, sweep

    params = load_parameter_set("enomoto2024") if params is None else params
    reqs = [SeriesRequest("C3DT"), SeriesRequest("C10DT")]
    c3, c10 = sweep(
        reqs,
        range(1, 9),
        params,
        realisations=realisations,
        seed=seed,
        emission_layers=[1, 3, 6],
        channel_breakdown=True,
        breakdown_layers=[2, 8],
        scheduler=scheduler,
        progress=progress,
    )
    others = [SeriesRequest(b.name) for b in builtin_linkers()]
    bis = sweep(
        others,
        [1, 2],
        params,
        realisations=realisations,
        seed=seed,
        emission=False,
        solution_reference=False,
        scheduler=scheduler,
        progress=progress,
    )
    dist = np.array([s.gap_nm for s in bis])
    bil = np.array([s.shift_meV[1] for s in bis])
    dec = fit_tunnelling_decay(
        dist, bil, mass=params.barrier_mass, law="amplitude", linkers=[s.linker for s in bis]
    )
    # packing density of the monolayer: in-plane gap from close-packed to sparse, M = 3 block
    density = []
    for g in (3.0, 4.5, 6.0):
        s = sweep(
            [SeriesRequest("C3DT")],
            [1],
            params,
            realisations=max(realisations // 20, 200),
            seed=seed,
            emission=False,
            solution_reference=False,
            in_plane=3,
            in_plane_gap_nm=g,
            scheduler=scheduler,
        )[0]
        density.append((g, s))
    return PaperSimulation(params, c3, c10, tuple(bis), dec, tuple(density), realisations, seed)
