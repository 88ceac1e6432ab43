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
    charging_energy_meV,
    dipolar_coupling_meV,
    dot_tables,
    environment_eps,
    maxwell_garnett_eps,
    polarization_energy_meV,
    transition_dipole_enm,
)

# ----------------------------------------------------------------------------- ensembles

#: How far a vacancy's pair states are moved up [meV] (out of every spectrum's energy window).
VACANCY_OFFSET_MEV = 1000.0


def sample_edges(
    n_real: int, n_dots: int, edge_nm: float, edge_sd_nm: float, seed, pool_nm=None
) -> np.ndarray:
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
        col = (
            rng.normal(edge_nm, edge_sd_nm, n_real) if edge_sd_nm > 0 else np.full(n_real, edge_nm)
        )
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
    present : ndarray of bool, shape (R, S), or None
        Which sites hold a dot (None: all; ``FilmParameters.coverage``).
    """

    stack: ExcitonStack
    edges_nm: np.ndarray
    eps_out: np.ndarray
    environment_meV: np.ndarray
    layer: np.ndarray
    eps_film: float
    mu_enm: float
    present: np.ndarray | None = None


def _stream(seed, key: int):
    """A random stream independent of the one the edges are drawn from (``key`` names its purpose)."""
    if isinstance(seed, np.random.Generator):
        return seed  # already advanced past the edges
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return np.random.default_rng(
        np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (key,))
    )


def _static_rng(seed):
    """The stream of the static site energies."""
    return _stream(seed, 0x5747)


def _well_level_meV(width_nm, params: FilmParameters, carrier: str) -> np.ndarray:
    """Lowest 1D level [meV] of a carrier in a well of the ligand barrier, for every width (interpolated)."""
    from scipy.interpolate import CubicSpline

    from qdstack.physics.film_model.dots import _material
    from qdstack.physics.transfer_matrix import bound_states_eV, finite_well

    w = np.asarray(width_nm, dtype=float)
    mat = _material(params)
    m = mat.hole_mass if carrier == "h" else mat.electron_mass
    grid = np.linspace(max(float(w.min()) - 0.1, 0.2), float(w.max()) + 0.1, 25)
    levels = [
        1e3
        * float(
            bound_states_eV(
                finite_well(g, params.outer_barrier_eV, m, params.outer_barrier_mass), 1
            )[0]
        )
        for g in grid
    ]
    return CubicSpline(grid, levels)(w)


def neck_couplings_meV(params: FilmParameters, tables: DotTables, edge_nm: float, gap_nm: float):
    """(beta_e, beta_h) [meV] of two mean dots joined by a neck of ``params.neck_nm`` across the gap."""
    from qdstack.physics.explain._coupling import coupling_meV
    from qdstack.physics.film_model.dots import _material

    mat = _material(params)
    out = []
    for carrier, m in (("e", mat.electron_mass), ("h", mat.hole_mass)):
        lv = _well_level_meV(np.array([min(params.neck_nm, edge_nm), edge_nm]), params, carrier)
        v = max(2e-3 * (lv[0] - lv[1]), 0.0)
        out.append(
            coupling_meV(
                edge_nm, gap_nm, v, m, m, params.outer_barrier_eV, params.outer_barrier_mass
            )
        )
    return out[0], out[1]


def _conformers(linker: str):
    """S-S distances [nm] and Boltzmann populations of a linker's conformers (library, MMFF level)."""
    from qdstack.linkers import get_linker

    geom = get_linker(linker)
    gaps = np.asarray(geom.ensemble_ss_distance_nm, dtype=float)
    w = np.asarray(geom.boltzmann_weights(), dtype=float)
    if gaps.size == 0 or gaps.size != w.size:
        return np.array([float(geom.ss_distance_nm)]), np.array([1.0])
    return gaps, w / w.sum()


def conformer_coupling_ratios(
    params: FilmParameters, tables: DotTables, edge_nm: float, gap_nm: float, gaps
):
    """beta(gap) / beta(gap_nm) for electrons and holes at the mean edge, for each conformer gap.

    Exponential law: ``exp(-kappa (g - g0))``; engine: the model of
    :func:`~qdstack.physics.film_model.linker_coupling_meV` (solved by parity,
    :func:`qdstack.physics.explain._coupling.coupling_meV`).
    """
    gaps = np.asarray(gaps, dtype=float)
    if params.coupling == "exponential":
        return (
            np.exp(-params.decay_per_nm("e") * (gaps - gap_nm)),
            np.exp(-params.decay_per_nm("h") * (gaps - gap_nm)),
        )
    from qdstack.physics.explain._coupling import coupling_meV
    from qdstack.physics.film_model.dots import _material

    mat = _material(params)
    out = []
    for v, m in ((params.barrier_e_eV, mat.electron_mass), (params.barrier_h_eV, mat.hole_mass)):

        def beta(g, v=v, m=m):
            return coupling_meV(
                edge_nm,
                g,
                v,
                m,
                params.barrier_mass,
                params.outer_barrier_eV,
                params.outer_barrier_mass,
            )

        b0 = beta(gap_nm)
        out.append(np.array([beta(g) / b0 if b0 > 0 else 1.0 for g in gaps]))
    return out[0], out[1]


def build_column_ensemble(
    spec: FilmSpec,
    params: FilmParameters,
    n_real: int,
    *,
    seed=0,
    tables: DotTables | None = None,
    edges_nm: np.ndarray | None = None,
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
        eps_out = environment_eps(
            params,
            eps_dot,
            edges,
            below=np.broadcast_to(has_below, edges.shape),
            above=np.broadcast_to(has_above, edges.shape),
            gap_nm=spec.gap_nm,
            in_plane_gap_nm=g_in,
        )
    eps_sol = environment_eps(params, eps_dot, edges, environment="solution")
    env = polarization_energy_meV(edges, eps_dot, eps_out) - polarization_energy_meV(
        edges, eps_dot, eps_sol
    )
    # single-dot dielectric confinement: the solution's own polarisation energy (env stays the change)
    conf = (
        polarization_energy_meV(edges, eps_dot, eps_sol) if params.dielectric_confinement else 0.0
    )

    reference = float(np.mean(ex)) + 1e-3 * params.energy_offset_meV
    pair0 = (
        (ex - reference) * 1e3 + params.energy_offset_meV + env + conf
    )  # on-site pair energy [meV]
    # split: electron carries E_g,eff + e_conf, hole h_conf; shifts half each
    shift_each = 0.5 * (params.energy_offset_meV + env + conf)
    if (
        params.static_fraction > 0
    ):  # static part of the line: random site energies, half on each carrier
        site = _static_rng(seed).normal(0.0, params.static_sigma_meV, edges.shape)
        pair0 = pair0 + site
        shift_each = shift_each + 0.5 * site
    if params.thiolate_leak_nm > 0 and spec.environment == "film" and n > 1:
        # the hole leaks into the thiolate shell of every linker-bound face (z confinement only)
        faces = ((layer > 0).astype(int) + (layer < n - 1).astype(int))[None, :]
        leak = _well_level_meV(
            edges + faces * params.thiolate_leak_nm, params, "h"
        ) - _well_level_meV(edges, params, "h")
        pair0 = pair0 + leak
        shift_each = shift_each + leak  # all of it on the hole
    hole = chh + shift_each
    electron = pair0 + u0 - hole

    # geometry: z of each site from the column's own edges
    e_col = edges.reshape(n_real, m * m, n)
    zc = np.cumsum(
        np.concatenate(
            [
                np.zeros((n_real, m * m, 1)),
                0.5 * (e_col[:, :, :-1] + e_col[:, :, 1:]) + spec.gap_nm,
            ],
            axis=2,
        ),
        axis=2,
    )
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
    if ch.ct_charging and s > 1:  # lone charges of a CT pair polarise their dots (Brus n = 0 terms)
        sig = charging_energy_meV(edges, eps_dot, eps_out)
        coul[:, off] -= (sig[:, :, None] + sig[:, None, :])[:, off]

    # bonds and couplings
    z_bonds, xy_bonds = block_bonds(m, n) if m > 1 else (chain_bonds(n), np.zeros((0, 2), np.intp))
    bonds = np.concatenate([z_bonds, xy_bonds]) if len(xy_bonds) else z_bonds
    nz = len(z_bonds)
    if ch.tunnelling and len(bonds):

        def pair_beta(name, idx):
            b = tables.interpolate(name, edges)
            return np.sqrt(b[:, idx[:, 0]] * b[:, idx[:, 1]])

        be = (
            np.concatenate(
                [pair_beta("beta_e_meV", z_bonds), pair_beta("beta_e_in_meV", xy_bonds)], axis=1
            )
            if len(xy_bonds)
            else pair_beta("beta_e_meV", z_bonds)
        )
        bh = (
            np.concatenate(
                [pair_beta("beta_h_meV", z_bonds), pair_beta("beta_h_in_meV", xy_bonds)], axis=1
            )
            if len(xy_bonds)
            else pair_beta("beta_h_meV", z_bonds)
        )
    else:
        be = np.zeros((n_real, len(bonds)))
        bh = np.zeros((n_real, len(bonds)))
    if params.neck_fraction > 0 and nz:  # some contacts are perovskite necks instead of linkers
        fused = _stream(seed, 0x4E4B).random((n_real, nz)) < params.neck_fraction
        bn_e, bn_h = neck_couplings_meV(params, tables, spec.edge_nm, spec.gap_nm)
        be = be.copy()
        bh = bh.copy()
        be[:, :nz] = np.where(fused, bn_e, be[:, :nz])
        bh[:, :nz] = np.where(fused, bn_h, bh[:, :nz])
    if params.conformer_disorder and nz and ch.tunnelling:
        if not spec.linker:
            raise InputError(
                "conformer disorder needs the film's linker (FilmSpec.from_linker)",
                "conformer_disorder",
            )
        gaps, weights = _conformers(spec.linker)
        re_, rh_ = conformer_coupling_ratios(params, tables, spec.edge_nm, spec.gap_nm, gaps)
        pick = _stream(seed, 0x434F).choice(gaps.size, size=(n_real, nz), p=weights)
        be = be.copy()
        bh = bh.copy()
        be[:, :nz] *= re_[pick]
        bh[:, :nz] *= rh_[pick]
    if (
        params.bond_scale_by_layer and nz
    ):  # couplings that change with layer index (out-of-plane bonds)
        table = np.ones(max(n, len(params.bond_scale_by_layer) + 1))
        table[: len(params.bond_scale_by_layer)] = params.bond_scale_by_layer
        scale = np.ones(len(bonds))
        scale[:nz] = table[layer[z_bonds[:, 0]]]
        be = be * scale
        bh = bh * scale
    del nz

    mu = transition_dipole_enm(
        params.kane_energy_eV, float(np.mean(ex)) + 1e-3 * params.energy_offset_meV
    )
    dip = None
    if ch.dipolar and s > 1:
        dip = np.zeros((n_real, s, s))
        eps_opt = maxwell_garnett_eps(tables.eps_optical, params.eps_ligand, fill)
        dip[:, off] = dipolar_coupling_meV(mu, disp[:, off], eps_opt, params.polarisation)

    present = None
    if (
        params.coverage < 1.0 and spec.environment == "film"
    ):  # vacancies: no bonds, pair states out of range
        present = _stream(seed, 0x5643).random((n_real, s)) < params.coverage
        gone = ~present
        electron = np.where(gone, electron + VACANCY_OFFSET_MEV, electron)
        keep = present[:, bonds[:, 0]] & present[:, bonds[:, 1]]
        be = np.where(keep, be, 0.0)
        bh = np.where(keep, bh, 0.0)
        if dip is not None:
            dip = dip * (present[:, :, None] & present[:, None, :])
    stack = ExcitonStack(
        electron_meV=electron,
        hole_meV=hole,
        coulomb_meV=coul,
        bonds=bonds,
        beta_e_meV=be,
        beta_h_meV=bh,
        dipolar_meV=dip,
        reference_eV=reference,
    )
    return ColumnEnsemble(
        stack=stack,
        edges_nm=edges,
        eps_out=eps_out,
        environment_meV=env,
        layer=layer,
        eps_film=eps_film,
        mu_enm=mu,
        present=present,
    )
