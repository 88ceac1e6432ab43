"""The multilayer film model: disordered columns of coupled dots, their absorption and emission.

A film of N layers is a set of columns of N dots stacked along z; out-of-plane
neighbours are bridged by the linker (gap = the linker's S-S distance), in-plane
neighbours are separated by the native ligand shell (~3 nm of oleyl chains).
Dot edges are drawn from the measured size distribution, and each dot's
electron and hole levels and exciton binding come from the single-dot model of
its own size.  Electron and hole hop between neighbours with ``beta_e`` and
``beta_h`` from the coupled-dots engine; the pair is described by the
two-particle Hamiltonian of :mod:`qdstack.physics.exciton_stack`, whose bright
spectrum, averaged over the disorder with a homogeneous line width, is the
film's absorption.  Its first excitonic peak is read by
:func:`qdstack.analysis.absorption.first_excitonic_peak`, the same code that
reads measured spectra.

The red shift of the first peak has several possible channels; each is a
separate, switchable term (:class:`Channels`), so one can see which one data need:

``tunnelling``
    single-carrier tunnelling ``beta_e``, ``beta_h`` through the linker barrier;
``dielectric``
    screening by the added layers: a dot with neighbouring layers sits in a more
    polarisable environment, which lowers its exciton energy
    (:func:`polarization_energy_meV`, :func:`environment_eps`);
``dipolar``
    Foerster (transition-dipole) transfer of the whole exciton between dots,
    ``J = mu^2 kappa / (4 pi eps0 eps r^3)`` (:func:`dipolar_coupling_meV`).

The environment of the monolayer itself (solution -> film, the ~4 meV shift of
the reference study, 2.477 -> 2.473 eV) is the same dielectric physics applied
to the faces of a dot in a monolayer instead of in toluene; it is reported as
its own number (``environment_shift_meV``), never as coupling.

Modules: :mod:`~.parameters` (parameter sets, :class:`FilmSpec`), :mod:`~.dots` (per-dot
physics and tables), :mod:`~.ensemble` (disordered columns and blocks), :mod:`~.spectra`
(:func:`simulate_film`), :mod:`~.series` (series and sweeps), :mod:`~.calibration` (fits of the
barrier parameters to measured shifts).

Units: energies of levels in eV, couplings and shifts in meV, lengths in nm.

References
----------
K. Enomoto et al., Chem. Sci. 15, 13049 (2024) -- the reference study.
L. E. Brus, J. Chem. Phys. 80, 4403 (1984) -- polarisation energy of charges in a
dielectric sphere.
T. Takagahara, Phys. Rev. B 47, 4569 (1993) -- dielectric confinement of excitons
in dots.
J. C. Maxwell Garnett, Phil. Trans. R. Soc. A 203, 385 (1904) -- effective medium.
T. Foerster, Ann. Phys. 437, 55 (1948); M. Kasha, Radiat. Res. 20, 55 (1963) --
dipolar exciton transfer and the H/J orientation factor.
"""

from qdstack.physics.film_model.dots import (
    DotTables,
    charging_energy_meV,
    dipolar_coupling_meV,
    dot_tables,
    environment_eps,
    face_eps,
    linker_coupling_meV,
    maxwell_garnett_eps,
    polarization_energy_meV,
    transition_dipole_enm,
)
from qdstack.physics.film_model.ensemble import ColumnEnsemble, build_column_ensemble, sample_edges
from qdstack.physics.film_model.parameters import (
    PARAMETER_SET_DIR,
    Channels,
    FilmParameters,
    FilmSpec,
    available_parameter_sets,
    load_parameter_set,
)

__all__ = [
    "Channels",
    "FilmParameters",
    "load_parameter_set",
    "available_parameter_sets",
    "PARAMETER_SET_DIR",
    "FilmSpec",
    "DotTables",
    "dot_tables",
    "linker_coupling_meV",
    "polarization_energy_meV",
    "charging_energy_meV",
    "face_eps",
    "environment_eps",
    "maxwell_garnett_eps",
    "transition_dipole_enm",
    "dipolar_coupling_meV",
    "sample_edges",
    "ColumnEnsemble",
    "build_column_ensemble",
]
