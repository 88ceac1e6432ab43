"""Ensembles of film columns (or blocks): dot edges drawn from the size distribution and the
exciton stacks built from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qdstack.errors import InputError
from qdstack.physics.exciton_stack import (
    ExcitonStack,
    block_bonds,
    chain_bonds,
)
from qdstack.units import COULOMB_EV_NM

from qdstack.physics.film_model.parameters import FilmParameters, FilmSpec
from qdstack.physics.film_model.dots import (
    DotTables,
    dipolar_coupling_meV,
    dot_tables,
    environment_eps,
    maxwell_garnett_eps,
    polarization_energy_meV,
    transition_dipole_enm,
)

# ----------------------------------------------------------------------------- ensembles


def sample_edges(n_real: int, n_dots: int, edge_nm: float, edge_sd_nm: float, seed,
                 pool_nm=None) -> np.ndarray:
    """Dot edges [nm], shape (n_real, n_dots): normal, truncated at +-4 sd, or resampled from ``pool_nm``.

    With ``pool_nm`` (measured edges, e.g. from ``qdstack tem``) each edge is a
    uniform draw with replacement from the pool (the empirical distribution).

    Drawn dot by dot (column 0 for every realisation, then column 1, ...) from
    one stream, so the first k dots are the same whatever ``n_dots`` is: films of
    different N built from one seed share their bottom layers (common random
    numbers make shifts between N far less noisy).

    Parameters
    ----------
    seed : int, SeedSequence or Generator
    """
    from qdstack._random import rng_from

    rng = rng_from(seed)
    out = np.empty((n_real, n_dots))
    if pool_nm is not None:
        pool = np.asarray(pool_nm, dtype=float)
        for k in range(n_dots):
            out[:, k] = pool[rng.integers(0, pool.size, n_real)]
        return out
    for k in range(n_dots):
        col = rng.normal(edge_nm, edge_sd_nm, n_real) if edge_sd_nm > 0 else np.full(n_real, edge_nm)
        bad = np.abs(col - edge_nm) > 4 * edge_sd_nm
        while edge_sd_nm > 0 and np.any(bad):
            col[bad] = rng.normal(edge_nm, edge_sd_nm, int(bad.sum()))
            bad = np.abs(col - edge_nm) > 4 * edge_sd_nm
        out[:, k] = col
    return out


@dataclass(frozen=True)
class ColumnEnsemble:
    """Realisations of a film's columns (or blocks): the stack and what it was built from.

    Attributes
    ----------
    stack : ExcitonStack
    edges_nm : ndarray, shape (R, S)
    eps_out : ndarray, shape (R, S)
        Environment dielectric constant of each dot.
    environment_meV : ndarray, shape (R, S)
        Dielectric shift of each dot's exciton relative to the solution [meV].
    layer : ndarray of int, shape (S,)
        Layer index of each site.
    eps_film : float
        Effective-medium dielectric constant screening inter-dot interactions.
    mu_enm : float
        Transition dipole [e nm].
    """

    stack: ExcitonStack
    edges_nm: np.ndarray
    eps_out: np.ndarray
    environment_meV: np.ndarray
    layer: np.ndarray
    eps_film: float
    mu_enm: float


def build_column_ensemble(spec: FilmSpec, params: FilmParameters, n_real: int, *, seed=0,
                          tables: DotTables | None = None, edges_nm: np.ndarray | None = None
                          ) -> ColumnEnsemble:
    """Draw ``n_real`` columns (or M x M x N blocks) of a film and build their exciton stack.

    Per dot (edge ``L_i`` drawn from the size distribution):

    * electron level ``E_g,eff(L) + e_conf(L)`` and hole level ``h_conf(L)``,
      with ``E_g,eff`` such that the on-site pair energy is the single-dot exciton
      energy ``E_X(L)``, plus ``energy_offset_meV`` and the dot's dielectric
      environment shift ``P(L, eps_out,i) - P(L, eps_solvent)`` (half on each carrier);
    * on-site binding ``U_ii = U_0(L_i)``; inter-dot attraction
      ``U_ij = e^2 / (4 pi eps0 eps_film r_ij)`` with the Maxwell Garnett
      constant of the film (dots in the ligand matrix);
    * ``beta`` of a bond = geometric mean of the identical-pair couplings of the
      two edges (the size mismatch itself is in the diagonal);
    * dipolar ``J_ik`` between the dots' excitons (point dipoles, screened by the
      Maxwell Garnett constant built from the dots' high-frequency constant).

    Parameters
    ----------
    spec : FilmSpec
    params : FilmParameters
    n_real : int
        Number of realisations R.
    seed : int, SeedSequence or Generator
        Randomness of the sizes (:func:`sample_edges`).
    tables : DotTables, optional
        Per-dot physics (default :func:`dot_tables`).
    edges_nm : ndarray, shape (R, S), optional
        Use these edges instead of drawing them.

    Returns
    -------
    ColumnEnsemble
    """
    tables = dot_tables(spec, params) if tables is None else tables
    n = spec.layers
    m = spec.in_plane
    s = spec.n_sites
    if edges_nm is None:
        edges = sample_edges(n_real, s, spec.edge_nm, spec.edge_sd_nm, seed, spec.edge_pool_nm)
        if m > 1:  # site (x, y, z): draw per layer so that z = 0.. are the same dots as columns
            edges = edges.reshape(n_real, n, m * m).transpose(0, 2, 1).reshape(n_real, s)
    else:
        edges = np.asarray(edges_nm, dtype=float)
        if edges.shape != (n_real, s):
            raise InputError(f"edges_nm must have shape {(n_real, s)}", "edges_nm")
    ch = params.channels
    layer = np.tile(np.arange(n), m * m)  # site index (x*m + y)*n + z
    g_in = tables.in_plane_gap_nm

    # per-dot single-dot quantities
    ex = tables.interpolate("exciton_eV", edges)
    chh = tables.interpolate("hole_meV", edges)
    u0 = tables.interpolate("binding_meV", edges)

    # dielectric environment of each dot
    eps_dot = tables.eps_dot
    if spec.environment == "solution":
        eps_out = environment_eps(params, eps_dot, edges, environment="solution")
    else:
        has_below = (layer > 0) & ch.dielectric
        has_above = (layer < n - 1) & ch.dielectric
        eps_out = environment_eps(params, eps_dot, edges, below=np.broadcast_to(has_below, edges.shape),
                                  above=np.broadcast_to(has_above, edges.shape), gap_nm=spec.gap_nm,
                                  in_plane_gap_nm=g_in)
    eps_sol = environment_eps(params, eps_dot, edges, environment="solution")
    env = polarization_energy_meV(edges, eps_dot, eps_out) - polarization_energy_meV(edges, eps_dot, eps_sol)

    reference = float(np.mean(ex)) + 1e-3 * params.energy_offset_meV
    pair0 = (ex - reference) * 1e3 + params.energy_offset_meV + env  # on-site pair energy [meV]
    # split: electron carries E_g,eff + e_conf, hole h_conf; shifts half each
    shift_each = 0.5 * (params.energy_offset_meV + env)
    hole = chh + shift_each
    electron = pair0 + u0 - hole

    # geometry: z of each site from the column's own edges
    e_col = edges.reshape(n_real, m * m, n)
    zc = np.cumsum(np.concatenate([np.zeros((n_real, m * m, 1)),
                                   0.5 * (e_col[:, :, :-1] + e_col[:, :, 1:]) + spec.gap_nm], axis=2), axis=2)
    pitch = spec.edge_nm + g_in
    ix, iy = np.divmod(np.arange(m * m), m)
    pos = np.empty((n_real, s, 3))
    pos[:, :, 0] = np.repeat(ix * pitch, n)[None, :]
    pos[:, :, 1] = np.repeat(iy * pitch, n)[None, :]
    pos[:, :, 2] = zc.reshape(n_real, s)
    disp = pos[:, :, None, :] - pos[:, None, :, :]
    if m > 1:  # minimum image in the periodic plane
        box = m * pitch
        disp[..., :2] -= box * np.round(disp[..., :2] / box)
    dist = np.linalg.norm(disp, axis=-1)

    fill = spec.edge_nm**3 / ((spec.edge_nm + spec.gap_nm) * (spec.edge_nm + g_in) ** 2)
    eps_film = maxwell_garnett_eps(eps_dot, params.eps_ligand, fill)
    off = ~np.eye(s, dtype=bool)
    coul = np.zeros((n_real, s, s))
    if ch.interdot_coulomb and s > 1:
        coul[:, off] = 1e3 * COULOMB_EV_NM / (eps_film * dist[:, off])
    i = np.arange(s)
    coul[:, i, i] = u0

    # bonds and couplings
    z_bonds, xy_bonds = block_bonds(m, n) if m > 1 else (chain_bonds(n), np.zeros((0, 2), np.intp))
    bonds = np.concatenate([z_bonds, xy_bonds]) if len(xy_bonds) else z_bonds
    nz = len(z_bonds)
    if ch.tunnelling and len(bonds):
        def pair_beta(name, idx):
            b = tables.interpolate(name, edges)
            return np.sqrt(b[:, idx[:, 0]] * b[:, idx[:, 1]])

        be = np.concatenate([pair_beta("beta_e_meV", z_bonds), pair_beta("beta_e_in_meV", xy_bonds)], axis=1) \
            if len(xy_bonds) else pair_beta("beta_e_meV", z_bonds)
        bh = np.concatenate([pair_beta("beta_h_meV", z_bonds), pair_beta("beta_h_in_meV", xy_bonds)], axis=1) \
            if len(xy_bonds) else pair_beta("beta_h_meV", z_bonds)
    else:
        be = np.zeros((n_real, len(bonds)))
        bh = np.zeros((n_real, len(bonds)))
    del nz

    mu = transition_dipole_enm(params.kane_energy_eV, float(np.mean(ex)) + 1e-3 * params.energy_offset_meV)
    dip = None
    if ch.dipolar and s > 1:
        dip = np.zeros((n_real, s, s))
        eps_opt = maxwell_garnett_eps(tables.eps_optical, params.eps_ligand, fill)
        dip[:, off] = dipolar_coupling_meV(mu, disp[:, off], eps_opt, params.polarisation)

    stack = ExcitonStack(electron_meV=electron, hole_meV=hole, coulomb_meV=coul, bonds=bonds,
                         beta_e_meV=be, beta_h_meV=bh, dipolar_meV=dip, reference_eV=reference)
    return ColumnEnsemble(stack=stack, edges_nm=edges, eps_out=eps_out, environment_meV=env,
                          layer=layer, eps_film=eps_film, mu_enm=mu)
