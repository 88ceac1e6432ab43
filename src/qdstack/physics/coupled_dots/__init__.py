"""Single carriers in coupled quantum dots: a fast 3D effective-mass solver and its 1D fast path.

Describe, then solve
--------------------
A :class:`DotSystem` is a frozen description: cuboid dots (:class:`Cuboid`, at
any position) embedded in a barrier of height ``barrier_eV``, effective mass
``mass`` inside the dots and ``barrier_mass`` outside.  :func:`solve_dots` hands
it with :class:`SolverSettings` to the solver and returns a frozen
:class:`DotsResult`.  ``DotSystem.column(N, ...)`` builds the contract's case
(N identical cubes stacked along z); ``DotSystem.grid(...)`` adds in-plane
neighbours.

The equation (BenDaniel & Duke, Phys. Rev. 152, 683 (1966))::

    -div( hbar^2 / (2 m(r)) grad psi ) + V(r) psi = E psi,
    m = mass, V = 0 inside a dot;  m = barrier_mass, V = barrier_eV outside,

so psi and (1/m) dpsi/dn are continuous across every dot face.

How it is solved (and why it is fast)
-------------------------------------
* **Finite volumes on a rectilinear grid aligned with every dot face**
  (:mod:`qdstack.physics._fv`): cells are all-dot or all-barrier and the
  harmonic face conductance is exactly the BenDaniel-Duke condition, so the
  scheme is second order.  In a disordered array, faces closer together than a
  third of the grid step share one grid plane and the cells they cut get exact
  sub-cell averages (otherwise every near-coincident pair of faces forces a sliver
  of needle cells: many more unknowns and a poorly converging multigrid; the two
  faces of a tunnelling gap are never merged).  Barrier cells resolve the decay
  length 1/kappa; the padding towards the hard-wall box is graded (fine at the
  dots, coarse far out)
  and ``9/kappa`` long (the envelope is down by exp(-9) at the wall; doubling it
  moves the contract case's extrapolated energies by ~6e-4 meV).
* **Mirror symmetry**: when the geometry is symmetric under x -> -x (etc.), each
  state is even or odd, so each parity sector is solved on half the axis with a
  Neumann (even) or Dirichlet (odd) condition on the mirror plane.  A column of
  cubes has three mirror planes: eight sectors on an eighth of the domain each,
  and only the sectors holding the wanted states are solved past the coarsest grid.
* **Eigen-solver**: shift-invert ARPACK on the coarsest grid (all sectors, to
  find which states are the lowest; above 20,000 unknowns LOBPCG from a random
  start, whose sparse LU would be slow), then AMG-preconditioned LOBPCG on every
  finer grid started from the interpolated coarser eigenvectors (:mod:`._eigen`).
* **Richardson extrapolation**: the grids are geometrically similar (every
  segment is cut into ``k * n`` cells for multipliers ``k = 2, 3, 4``), so the
  error expands as ``c2 h^2 + c4 h^4``; three grids give the continuum limit and,
  by comparison with the two-grid (h^2 only) extrapolation, an error estimate
  (``converged_meV``; reported with a safety factor of 2).  Four multipliers
  (e.g. ``(1, 2, 3, 4)``, the scan grid joining at no cost) eliminate h^6 too and
  compare the four- with the three-grid value.  ``(1, 2, 3)`` puts the scan grid
  into a three-grid family: on a disordered array every thin slab between
  near-coincident faces then has three cells on the finest grid instead of four
  (the disordered 2 x 2 x 4 block: 976,401 unknowns instead of 2,052,864 for the
  same base grid).

References
----------
G. Bastard, *Wave Mechanics Applied to Semiconductor Heterostructures* (Les
Editions de Physique, 1988) -- envelope functions, BenDaniel-Duke conditions.
L. F. Richardson, Phil. Trans. R. Soc. A 210, 307 (1911) -- extrapolation to h -> 0.
P. J. Roache, J. Fluids Eng. 116, 405 (1994) -- grid-convergence error estimates.
A. V. Knyazev, SIAM J. Sci. Comput. 23, 517 (2001) -- LOBPCG.
"""

from qdstack.physics.coupled_dots.comparisons import (
    GapDependence,
    TightBinding,
    gap_dependence,
    tight_binding,
)
from qdstack.physics.coupled_dots.results import DotsResult, LevelResult
from qdstack.physics.coupled_dots.separable import (
    chain_coupling_meV,
    coupling_meV,
    separable_column_levels_meV,
)
from qdstack.physics.coupled_dots.solver import GPU_MIN_UNKNOWNS as GPU_MIN_UNKNOWNS
from qdstack.physics.coupled_dots.solver import SAFETY_FACTOR as SAFETY_FACTOR
from qdstack.physics.coupled_dots.solver import solve_dots
from qdstack.physics.coupled_dots.system import MERGE_FACES_MAX_NM as MERGE_FACES_MAX_NM
from qdstack.physics.coupled_dots.system import Cuboid, DotSystem, SolverSettings

__all__ = [
    "Cuboid",
    "DotSystem",
    "SolverSettings",
    "LevelResult",
    "DotsResult",
    "solve_dots",
    "coupling_meV",
    "chain_coupling_meV",
    "separable_column_levels_meV",
    "GapDependence",
    "gap_dependence",
    "TightBinding",
    "tight_binding",
]
