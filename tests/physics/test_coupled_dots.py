"""The 3D coupled-dot solver against exact references, its convergence, the contract's target.

Exact references used here (none computed by the solver under test):
* infinite-barrier cube/cuboid: E = pi^2 hbar^2/(2m) sum 1/L_i^2 (padding 0: hard walls on the
  faces);
* lateral hard walls + finite barrier along z, with a mass discontinuity: the problem separates,
  psi = sin(pi x/Lx) sin(pi y/Ly) phi(z), and phi solves a 1D problem whose potential carries the
  lateral kinetic energy with the local mass -- solved exactly by the transfer matrix.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.errors import InputError, OptionError
from qdstack.physics import _eigen
from qdstack.physics.coupled_dots import (
    Cuboid,
    DotSystem,
    SolverSettings,
    chain_coupling_meV,
    coupling_meV,
    gap_dependence,
    separable_column_levels_meV,
    solve_dots,
)
from qdstack.physics.transfer_matrix import Heterostructure1D, bound_states_eV
from qdstack.units import HBAR2_OVER_2ME_EV_NM2 as C

L, GAP, V, M = 6.8, 0.55, 1.0, 0.15  # the contract's case


def test_infinite_barrier_cube_and_cuboid():
    r = solve_dots(DotSystem.column(1, L, 1.0, V, M), 1, SolverSettings(padding_nm=0.0))
    exact = 3 * C * (math.pi / L) ** 2 / M * 1e3
    assert r.energies_meV[0] == pytest.approx(exact, abs=1e-3)
    assert abs(r.energies_meV[0] - exact) <= r.converged_meV  # the error estimate is honest
    assert r.observed_order == pytest.approx(2.0, abs=0.05)
    # a cuboid with three different edges, and its first excited state (degenerate-free)
    edges = (5.0, 6.0, 7.0)
    sys_ = DotSystem((Cuboid((0, 0, 0), edges),), V, M)
    r = solve_dots(sys_, 2, SolverSettings(padding_nm=0.0, grid_nm=0.3))
    levels = sorted(
        C * math.pi**2 / M * 1e3 * sum((n / e) ** 2 for n, e in zip(ns, edges))
        for ns in [(1, 1, 1), (1, 1, 2), (1, 2, 1), (2, 1, 1)]
    )
    np.testing.assert_allclose(r.energies_meV, levels[:2], atol=1e-3)
    assert r.parities == ("+++", "++-")


@pytest.mark.parametrize("barrier_mass", [0.15, 0.4])
def test_separable_double_well_with_mass_discontinuity_is_exact(barrier_mass):
    """Lateral hard walls on the faces, finite barrier and gap along z: exact 1D reference."""
    q2 = 2 * (math.pi / L) ** 2
    u_dot, u_bar = C * q2 / M, V + C * q2 / barrier_mass
    ref = Heterostructure1D(
        (L, GAP, L),
        (u_dot, u_bar, u_dot),
        (M, barrier_mass, M),
        u_bar,
        barrier_mass,
        u_bar,
        barrier_mass,
    )
    exact = bound_states_eV(ref, 2) * 1e3
    r = solve_dots(
        DotSystem.column(2, L, GAP, V, M, barrier_mass),
        2,
        SolverSettings(padding_nm=(0.0, 0.0, 4.0)),
    )
    np.testing.assert_allclose(r.energies_meV, exact, atol=1e-3)  # the 1e-3 meV
    assert r.coupling_meV == pytest.approx((exact[1] - exact[0]) / 2, abs=1e-4)
    assert np.all(np.abs(np.array(r.energies_meV) - exact) <= np.array(r.energies_converged_meV))
    assert abs(r.coupling_meV - (exact[1] - exact[0]) / 2) <= r.coupling_converged_meV


def test_second_order_convergence_of_the_discretisation():
    """Raw energies on the similar grids: error ~ h^2 against the exact separable reference."""
    q2 = 2 * (math.pi / L) ** 2
    mb = 0.4
    u_dot, u_bar = C * q2 / M, V + C * q2 / mb
    ref = Heterostructure1D((L, GAP, L), (u_dot, u_bar, u_dot), (M, mb, M), u_bar, mb, u_bar, mb)
    exact = bound_states_eV(ref, 1)[0] * 1e3
    r = solve_dots(
        DotSystem.column(2, L, GAP, V, M, mb),
        2,
        SolverSettings(padding_nm=(0.0, 0.0, 4.0), multipliers=(2, 3, 4, 6), grid_nm=0.2),
    )
    h = np.array([lv.grid_nm for lv in r.levels])
    err = np.array([abs(lv.energies_meV[0] - exact) for lv in r.levels])
    order = np.polyfit(np.log(h), np.log(err), 1)[0]
    assert order == pytest.approx(2.0, abs=0.1)
    # and Richardson takes the 0.1-1 meV raw errors down by orders of magnitude
    assert abs(r.energies_meV[0] - exact) < 1e-2 * err.min()


def test_contract_case_accuracy_target():
    """Two 6.8 nm cubes, gap 0.55 nm, 1 eV, m = 0.15: within 0.3 / 0.05 meV of the continuum limit.

    The continuum limit is approximated by a finer extrapolation (finest cell 0.16 nm
    vs 0.24 nm); both are second-order Richardson families, and their difference
    bounds the default's error.
    """
    system = DotSystem.column(2, L, GAP, V, M)
    r = solve_dots(system, 2)
    ref = solve_dots(system, 2, SolverSettings(grid_nm=0.16))
    assert r.converged_meV < 0.3
    np.testing.assert_allclose(r.energies_meV, ref.energies_meV, atol=0.3)
    assert r.coupling_meV == pytest.approx(ref.coupling_meV, abs=0.05)
    # the estimates are honest: the two extrapolations agree within the coarser one's estimate
    assert np.all(np.abs(np.subtract(r.energies_meV, ref.energies_meV)) <= r.energies_converged_meV)
    # physics: a bonding (+z) below an antibonding (-z) state; beta of a few meV
    assert r.parities == ("+++", "++-")
    assert 3.0 < r.coupling_meV < 5.0


def test_heavy_barrier_mass_error_estimate_is_honest():
    """m_B = 1 m_e (BenDaniel-Duke kink, edge singularities): the estimate covers the error."""
    system = DotSystem.column(2, L, GAP, V, M, 1.0)
    r = solve_dots(system, 2, SolverSettings(grid_nm=0.3))
    ref = solve_dots(system, 2, SolverSettings(grid_nm=0.2))
    assert np.all(np.abs(np.subtract(r.energies_meV, ref.energies_meV)) <= r.energies_converged_meV)
    assert r.converged_meV < 0.3


def test_symmetric_and_full_domain_agree():
    """The parity-sector reduction changes nothing but the cost."""
    system = DotSystem.column(2, L, GAP, V, M)
    s = SolverSettings(grid_nm=0.45)
    a = solve_dots(system, 2, s)
    b = solve_dots(system, 2, SolverSettings(grid_nm=0.45, use_symmetry=False))
    assert b.sectors_solved == ("...",)
    tol = np.add(a.energies_converged_meV, b.energies_converged_meV)
    assert np.all(np.abs(np.subtract(a.energies_meV, b.energies_meV)) <= tol)


def test_chain_band_emerges_from_weakly_coupled_cubes():
    """E_k = e - 2 beta cos(k pi/(N+1)) for four cubes, e and beta from the 3D pair."""
    gap, s = 1.2, SolverSettings(grid_nm=0.35)
    pair = solve_dots(DotSystem.column(2, L, gap, V, M), 2, s)
    e, beta = np.mean(pair.energies_meV), pair.coupling_meV
    chain = solve_dots(DotSystem.column(4, L, gap, V, M), 4, s)
    pred = e - 2 * beta * np.cos(np.arange(1, 5) * np.pi / 5)
    assert np.max(np.abs(np.array(chain.energies_meV) - pred)) < 0.05 * beta
    assert chain.coupling_meV == pytest.approx(chain_coupling_meV(chain.energies_meV, 4))
    assert chain.coupling_meV == pytest.approx(beta, rel=0.02)
    assert chain.parities == ("+++", "++-", "+++", "++-")


def test_excited_sectors_and_degeneracy():
    """Beyond the miniband: the x- and y-odd sectors of a cube column are degenerate."""
    r = solve_dots(DotSystem.column(2, L, GAP, V, M), 6, SolverSettings(grid_nm=0.45))
    par = list(r.parities)
    assert par[:2] == ["+++", "++-"]
    i, j = par.index("-++"), par.index("+-+")
    assert r.energies_meV[i] == pytest.approx(r.energies_meV[j], abs=1e-6)
    assert list(r.energies_meV) == sorted(r.energies_meV)


def test_in_plane_pair_equals_rotated_column():
    """A pair along x with a 3 nm (oleyl) gap is the column along z rotated: same energies."""
    s = SolverSettings(grid_nm=0.45)
    col = solve_dots(DotSystem.column(2, L, 3.0, V, M), 2, s)
    row = solve_dots(DotSystem.grid((2, 1, 1), L, (3.0, 0.0, 0.0), V, M), 2, s)
    assert row.parities == ("+++", "-++")
    np.testing.assert_allclose(row.energies_meV, col.energies_meV, atol=1e-6)
    # anisotropy: the 0.55 nm dithiol gap couples far more than the 3 nm in-plane gap
    assert coupling_meV(L, 0.55, V, M) > 20 * row.coupling_meV


def test_offset_pair_without_mirror_plane_couples_less():
    """Dots at arbitrary positions: a lateral offset breaks the x mirror, weakens the coupling."""
    s = SolverSettings(grid_nm=0.45)
    aligned = solve_dots(DotSystem.column(2, L, GAP, V, M), 2, s)
    half = (L + GAP) / 2
    shifted = DotSystem(
        (Cuboid((0.0, 0.0, -half), (L, L, L)), Cuboid((2.0, 0.0, half), (L, L, L))), V, M
    )
    assert shifted.mirror_planes_nm()[0] is None and shifted.mirror_planes_nm()[1] is not None
    r = solve_dots(shifted, 2, s)
    assert r.coupling_meV < aligned.coupling_meV
    assert r.energies_meV[0] > aligned.energies_meV[0]


def test_separable_fast_path_against_3d():
    """The 1D fast path (~1 ms) is within 2 % of the 3D coupling over linker-like cases."""
    cases = [(0.55, 1.0, None), (1.0, 2.0, None), (0.55, 3.0, 1.0)]
    for gap, v, mb in cases:
        full = coupling_meV(L, gap, v, M, mb, method="3d", settings=SolverSettings(grid_nm=0.3))
        fast = coupling_meV(L, gap, v, M, mb)
        assert fast == pytest.approx(full, rel=0.02), (gap, v, mb)
    # vectorised over gaps, decreasing
    betas = coupling_meV(L, np.array([0.4, 0.8, 1.2]), V, M)
    assert betas.shape == (3,) and np.all(np.diff(betas) < 0)


def test_gap_dependence_decays_like_the_amplitude_not_eqn1_as_printed():
    """-d ln(beta)/d(gap) tends to kappa = sqrt(2 m_B (V_z - E_z))/hbar: half eqn (1)'s 2 kappa."""
    g = gap_dependence([0.4, 0.8, 1.2, 1.6, 2.4], L, V, M, method="separable")
    assert g.decay_per_nm[-1] == pytest.approx(g.kappa_state_per_nm, rel=0.01)
    assert g.mean_decay_per_nm == pytest.approx(
        g.kappa_state_per_nm, rel=0.06
    )  # short-gap prefactor
    assert g.mean_decay_per_nm == pytest.approx(g.wkb_amplitude_per_nm, rel=0.06)
    assert g.mean_decay_per_nm < 0.6 * g.wkb_transmission_per_nm
    # heavy barrier mass: the decay follows m_B, resolved down to beta ~ 1e-11 meV
    h = gap_dependence([0.8, 1.6, 2.4, 3.2], L, 3.0, M, 1.0, method="separable")
    np.testing.assert_allclose(h.decay_per_nm, h.kappa_state_per_nm, rtol=1e-3)
    # the full 3D problem decays like the separable estimate
    g3 = gap_dependence([0.4, 0.8], L, V, M, method="3d", settings=SolverSettings(grid_nm=0.35))
    assert g3.mean_decay_per_nm == pytest.approx(g.decay_per_nm[0], rel=0.03)


def test_single_carrier_coupling_is_far_below_what_the_paper_shift_implies():
    """Honesty check: C3DT (0.55 nm) with a 1-4 eV barrier gives beta of a few meV at most.

    The reference study's C3DT series saturates at -44 meV (N = 8), i.e. a chain
    coupling of ~22 meV. Single-carrier tunnelling through an organic barrier does
    not reach that; the model says so rather than being tuned to it.
    """
    betas = [coupling_meV(L, 0.55, v, 0.15, mb) for v in (1.0, 2.0, 4.0) for mb in (0.15, 1.0)]
    assert max(betas) < 5.0
    assert max(betas) < 22.0 / 4


def test_solver_input_errors():
    with pytest.raises(InputError):
        DotSystem((Cuboid((0, 0, 0), (5, 5, 5)), Cuboid((1, 0, 0), (5, 5, 5))), V, M)  # overlap
    with pytest.raises(InputError):
        DotSystem.column(2, L, GAP, -1.0, M)
    with pytest.raises(InputError):
        DotSystem.column(2, L, 0.0, V, M)
    with pytest.raises(OptionError):
        solve_dots(DotSystem.column(1, L, 1.0, 0.01, M), 5)  # not that many bound states
    with pytest.raises(OptionError):
        SolverSettings(grid_nm=-1)
    with pytest.raises(OptionError):
        SolverSettings(backend="tpu")
    with pytest.raises(OptionError):
        solve_dots(DotSystem.column(2, L, GAP, V, M), 0)


def test_separable_levels_are_close_upper_estimates_for_the_pair():
    sep = separable_column_levels_meV(2, L, GAP, V, M)
    r = solve_dots(DotSystem.column(2, L, GAP, V, M), 2, SolverSettings(grid_nm=0.35))
    assert np.all(sep >= np.array(r.energies_meV) - r.converged_meV)
    np.testing.assert_allclose(sep, r.energies_meV, rtol=0.01)


def test_wavefunction_slice_unfolds_the_symmetric_domain():
    r = solve_dots(DotSystem.column(2, L, GAP, V, M), 2, SolverSettings(grid_nm=0.45))
    u, v, psi, cut = r.wavefunction_slice(1, "xz")
    assert psi.shape == (len(u), len(v))
    # the antibonding state is odd in z and even in x
    np.testing.assert_allclose(psi, -psi[:, ::-1], atol=1e-12)
    np.testing.assert_allclose(psi, psi[::-1, :], atol=1e-12)


@pytest.mark.skipif(
    not _eigen.cupy_available(), reason="CuPy with a CUDA GPU is not available here"
)
def test_cupy_backend_matches_cpu():  # pragma: no cover - runs only where a GPU is present
    system = DotSystem.column(2, L, GAP, V, M)
    cpu = solve_dots(system, 2, SolverSettings(grid_nm=0.35))
    gpu = solve_dots(system, 2, SolverSettings(grid_nm=0.35, backend="cupy"))
    assert gpu.backend == "cupy"
    np.testing.assert_allclose(gpu.energies_meV, cpu.energies_meV, atol=1e-4)


def test_cupy_backend_refused_cleanly_without_gpu():
    if _eigen.cupy_available():
        pytest.skip("a GPU is present: the refusal path cannot be exercised")
    with pytest.raises(OptionError):
        solve_dots(DotSystem.column(2, L, GAP, V, M), 2, SolverSettings(backend="cupy"))
    r = solve_dots(
        DotSystem.column(1, L, 1.0, V, M), 1, SolverSettings(grid_nm=0.6, backend="auto")
    )
    assert r.backend == "cpu"


def test_auto_backend_stays_on_the_cpu_until_a_gpu_crossover_is_measured(monkeypatch):
    # Issue 17: "auto" must not choose the GPU below the size where it wins; no such size
    # has been measured, so even with a GPU present "auto" must not touch it.
    from qdstack.physics.coupled_dots import solver

    assert solver.GPU_MIN_UNKNOWNS is None

    def no_gpu(*args, **kwargs):
        raise AssertionError("auto used the GPU path")

    monkeypatch.setattr(_eigen, "cupy_available", lambda: True)
    monkeypatch.setattr(_eigen, "lowest_lobpcg_cupy", no_gpu)
    r = solve_dots(
        DotSystem.column(2, L, GAP, V, M), 2, SolverSettings(grid_nm=0.6, backend="auto")
    )
    assert r.backend == "cpu"


# ----------------------------------------------------------------------------- disorder
def _stack(edges, gap=GAP):
    """Cubes of the given edges stacked along z, centred on the z axis (independent of the solver)."""
    dots, z = [], 0.0
    for e in edges:
        dots.append(Cuboid((0.0, 0.0, z + e / 2), (e, e, e)))
        z += e + gap
    return DotSystem(tuple(dots), V, M)


def test_merged_faces_agree_with_the_grid_aligned_with_every_face():
    """Faces 0.125 nm apart share a grid plane (sub-cell averages) vs the plain aligned grid.

    The plain path aligns the grid with both lateral faces (a 0.125 nm sliver of cells);
    a threshold of a third of the grid (0.133 nm) merges them.  Both are extrapolated to
    the continuum: they must agree within the sum of their own error estimates (measured:
    0.019 and 0.011 meV apart, estimates 0.065 and 0.10 meV).  (The default threshold is
    capped at 0.1 nm and would not merge them: see the next test.)
    """
    system = _stack([6.8, 7.05])
    plain = solve_dots(system, 2, SolverSettings(grid_nm=0.4, merge_faces_nm=0.0))
    fast = solve_dots(system, 2, SolverSettings(grid_nm=0.4, merge_faces_nm=0.4 / 3))
    assert max(lv.unknowns for lv in fast.levels) < max(lv.unknowns for lv in plain.levels)
    tol = np.add(plain.energies_converged_meV, fast.energies_converged_meV)
    assert np.all(np.abs(np.subtract(fast.energies_meV, plain.energies_meV)) <= tol)
    assert abs(fast.coupling_meV - plain.coupling_meV) <= 0.05
    assert fast.observed_order is not None and 1.5 <= fast.observed_order <= 2.6


def test_default_merge_threshold_is_a_third_of_the_grid_at_most_0p1_nm():
    assert SolverSettings(grid_nm=0.15).merge_threshold_nm == pytest.approx(0.05)
    assert SolverSettings(grid_nm=0.3).merge_threshold_nm == pytest.approx(0.1)
    assert SolverSettings(grid_nm=0.6).merge_threshold_nm == pytest.approx(0.1)
    assert SolverSettings(grid_nm=0.6, merge_faces_nm=0.2).merge_threshold_nm == 0.2
    # faces 0.125 nm apart: merged at 0.4 nm only when asked for
    system = _stack([6.8, 7.05])
    aligned = solve_dots(system, 2, SolverSettings(grid_nm=0.4, merge_faces_nm=0.0))
    default = solve_dots(system, 2, SolverSettings(grid_nm=0.4))
    assert default.energies_meV == aligned.energies_meV


def test_merging_changes_nothing_for_identical_cubes():
    system = DotSystem.column(2, L, GAP, V, M)
    a = solve_dots(system, 2, SolverSettings(grid_nm=0.6))
    b = solve_dots(system, 2, SolverSettings(grid_nm=0.6, merge_faces_nm=0.0))
    assert a.energies_meV == b.energies_meV


def test_disordered_block_layout():
    s = DotSystem.disordered((2, 2, 3), 6.8, 0.5, (1.0, 1.0, 0.55), V, M, seed=1)
    again = DotSystem.disordered((2, 2, 3), 6.8, 0.5, (1.0, 1.0, 0.55), V, M, seed=1)
    assert s == again and s.count == 12
    edges = np.array([d.size_nm[0] for d in s.dots])
    assert np.all(np.abs(edges - 6.8) <= 1.5 + 1e-12) and edges.std() > 0.1
    for d in s.dots:
        assert d.size_nm[0] == d.size_nm[1] == d.size_nm[2]
    # columns on a 7.8 nm lattice, cubes within a column 0.55 nm apart face to face
    for col in range(4):
        c = s.dots[3 * col : 3 * col + 3]
        assert len({(d.center_nm[0], d.center_nm[1]) for d in c}) == 1
        for a, b in zip(c[:-1], c[1:]):
            assert b.lo_nm[2] - a.hi_nm[2] == pytest.approx(0.55)
    xs = sorted({d.center_nm[0] for d in s.dots})
    assert xs[1] - xs[0] == pytest.approx(7.8)
    assert s.mirror_planes_nm() == (None, None, None)
    with pytest.raises(InputError):
        DotSystem.disordered((3, 1, 1), 6.8, 2.0, (0.05, 1.0, 1.0), V, M, seed=0)


def _one_cube_hamiltonian(boundary: str):
    """The finite-volume H of one 6.8 nm cube in its barrier (an octant, 0.8 nm cells), with
    the same ``boundary`` ("even", "odd" or "wall") on the three mirror planes."""
    from qdstack.physics._fv import AxisSpec, axis_faces, build_hamiltonian, cell_material

    spec = AxisSpec((0.0, 3.4, 7.0), (False, True), False, True)
    faces = [axis_faces(spec, 0.8, 2, 0.5)] * 3
    centres = [0.5 * (f[1:] + f[:-1]) for f in faces]
    box = [(np.full(3, -3.4), np.full(3, 3.4), M, 0.0)]
    mass, pot = cell_material(centres, box, M, M, V)
    return build_hamiltonian(faces, mass, pot, [boundary] * 3)[0]


def test_block_vcycle_preconditioner_is_symmetric_and_converges():
    """The GPU V-cycle, run here with NumPy/SciPy: SPD, and LOBPCG with it finds the exact pairs."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    H = _one_cube_hamiltonian("even")
    cycle = _eigen.GpuAMG(_eigen.amg_hierarchy(H), xp=np, xsp=sp)
    rng = np.random.default_rng(0)
    B = rng.standard_normal((H.shape[0], 2))
    Y = cycle(B)
    assert B[:, 0] @ Y[:, 1] == pytest.approx(B[:, 1] @ Y[:, 0], rel=1e-10)
    assert np.all(np.einsum("ij,ij->j", B, Y) > 0)
    np.testing.assert_allclose(cycle(B[:, 0]), Y[:, 0], rtol=1e-12)
    exact = np.linalg.eigvalsh(H.toarray())[:3] if H.shape[0] < 3000 else None
    X = rng.standard_normal((H.shape[0], 4))
    for pre in ("block", "pyamg"):
        vals, _, res, _ = _eigen.lowest_lobpcg(H, X, n_wanted=3, tol_eV=1e-8, preconditioner=pre)
        ref = exact if exact is not None else sla.eigsh(H, 3, sigma=0.0)[0]
        np.testing.assert_allclose(vals, np.sort(ref), rtol=0, atol=1e-9)
        assert np.all(res <= 1e-8)


def test_subcell_material_on_an_aligned_grid_is_the_plain_material():
    from qdstack.physics._fv import cell_material, subcell_material

    faces = [np.linspace(-4, 4, 9), np.linspace(-4, 4, 9), np.linspace(-5, 5, 11)]
    centres = [0.5 * (f[1:] + f[:-1]) for f in faces]
    boxes = [(np.array([-2.0, -2, -3]), np.array([2.0, 2, 0]), 0.2, 0.0)]
    mass, pot = cell_material(centres, boxes, M, 0.4, V)
    a_axes, pot2, moments = subcell_material(faces, boxes, M, 0.4, V)
    np.testing.assert_array_equal(pot2, pot)
    for a in a_axes:
        np.testing.assert_allclose(a, C / mass, rtol=1e-14)
    assert not any(m.any() for m in moments)
    # a face at x = 0.25 inside a cell: volume average and layered harmonic mean
    boxes = [(np.array([0.25, -8, -8]), np.array([8.0, 8, 8]), 0.2, 0.0)]
    a_axes, pot3, moments = subcell_material(faces, boxes, M, 0.4, V)
    i = 4  # the cell [0, 1]
    assert pot3[i, 0, 0] == pytest.approx(0.25 * V)
    assert a_axes[0][i, 0, 0] == pytest.approx(1 / (0.25 * 0.4 / C + 0.75 * 0.2 / C))
    assert a_axes[1][i, 0, 0] == pytest.approx(0.25 * C / 0.4 + 0.75 * C / 0.2)
    # first moment of V - V_bar about the centre: int_{0.25}^{1} (x - 0.5) dx * (0 - V)
    assert moments[0][i, 0, 0] == pytest.approx(-V * 0.5 * (0.5**2 - 0.25**2))


def test_film_tight_binding_reduction_against_the_full_3d_column():
    """One orbital per dot and one pair beta per bond (the film model) vs the 3D disordered column.

    Measured (seed 1, edges 6.97/7.21/6.97/6.15 nm, 0.4 nm grid): the tight-binding
    levels lie 1.16-1.62 meV above the 3D ones: the reduction leaves out the
    on-site lowering by the neighbours' dot material (a crystal-field shift of the same
    sign for every level); after removing the mean shift they agree to 0.25 meV.
    Without any coupling the on-site energies are 3.9 meV off.
    """
    from qdstack.physics.coupled_dots import tight_binding
    from qdstack.physics.exciton_stack import chain_bonds

    system = DotSystem.disordered((1, 1, 4), 6.8, 0.5, GAP, V, M, seed=1)
    settings = SolverSettings(grid_nm=0.4)
    tb = tight_binding(system, chain_bonds(4), GAP, settings=settings)
    full = solve_dots(system, 4, settings)
    diff = tb.levels_meV - np.asarray(full.energies_meV)
    assert np.all(diff > 0.5) and np.all(diff < 2.5)
    assert np.ptp(diff) < 0.6
    no_coupling = np.sort(tb.onsite_meV) - np.asarray(full.energies_meV)
    assert np.max(np.abs(diff)) < 0.6 * np.max(np.abs(no_coupling))


# The solver tests below run on coarse grids (0.9-1.2 nm) to stay fast; they merge faces
# within a third of the grid, as the default did before it was capped at 0.1 nm (the cap
# would add slabs of cells between near-coincident faces: several times the run time).
# What they test (the LOBPCG stop, the engines, the tight-binding reduction, barrier cells)
# compares runs with the same threshold; the merge itself is tested above.


def test_lobpcg_stopping_on_the_wanted_pairs_finds_the_exact_lowest_levels(monkeypatch):
    """Every LOBPCG solve of a disordered 2 x 2 x 2 block (no mirror plane, one sector) vs
    shift-invert ARPACK on the same matrix, and vs LOBPCG from a random start block.

    The solver stops LOBPCG once the wanted pairs converge (guards unconverged) and,
    with a single sector, tracks exactly the wanted number of states.  Both shortcuts
    must give the lowest eigenvalues of each grid's matrix: residuals <= 1e-6 eV (the
    tolerance asked for here, tighter than the default) bound the eigenvalue error by
    ~residual^2 / gap (< 1e-7 meV here); 1e-6 meV is asserted.
    """
    real = _eigen.lowest_lobpcg
    seen = []

    def checked(H, X, **kw):
        vals, vecs, res, it = real(H, X, **kw)
        if not seen:  # the first (smallest) grid only: the references are slow
            n = kw["n_wanted"]
            ref = _eigen.lowest_shift_invert(H, n)[0]
            rnd = real(H, np.random.default_rng(7).standard_normal(X.shape), **kw)[0]
            seen.append((vals, ref, rnd, res))
        return vals, vecs, res, it

    monkeypatch.setattr(_eigen, "lowest_lobpcg", checked)
    system = DotSystem.disordered((2, 2, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    r = solve_dots(system, 8, SolverSettings(grid_nm=1.2, merge_faces_nm=1.2 / 3, tol_eV=1e-6))
    assert r.sectors_solved == ("...",) and len(seen) == 1
    for vals, ref, rnd, res in seen:
        assert len(vals) == 8 and np.all(res <= 1e-6)
        np.testing.assert_allclose(vals * 1e3, ref * 1e3, rtol=0, atol=1e-6)
        np.testing.assert_allclose(rnd * 1e3, ref * 1e3, rtol=0, atol=1e-6)


def test_wanted_only_stopping_agrees_with_the_plain_lobpcg_path(monkeypatch):
    """The extrapolated levels with LOBPCG run until the whole block converges (chunk=None,
    the plain path) vs the default (stop when the wanted pairs converge): the same to
    1e-5 meV (measured 1e-8 meV; both at residuals <= 1e-6 eV)."""
    import functools

    system = DotSystem.disordered((2, 1, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    settings = SolverSettings(grid_nm=0.9, merge_faces_nm=0.9 / 3)
    fast = solve_dots(system, 4, settings)
    monkeypatch.setattr(
        _eigen, "lowest_lobpcg", functools.partial(_eigen.lowest_lobpcg, chunk=None)
    )
    plain = solve_dots(system, 4, settings)
    np.testing.assert_allclose(fast.energies_meV, plain.energies_meV, rtol=0, atol=1e-5)
    assert fast.coupling_meV == pytest.approx(plain.coupling_meV, abs=1e-5)
    assert sum(lv.iterations for lv in fast.levels) <= sum(lv.iterations for lv in plain.levels)


def test_film_tight_binding_reduction_against_the_full_3d_block():
    """The film model's reduction (one orbital per cube, one pair beta per bond at the nominal
    gaps) vs the 3D solution of a disordered 2 x 2 x 2 block with 1 nm in-plane gaps.

    Measured at 1.2 nm (0.9 nm within 0.15 meV of it): every tight-binding level lies
    0.6-2.8 meV above the 3D one (the neighbours' on-site lowering the reduction leaves
    out, as in the column, plus in-plane gaps that differ from the nominal one), while
    the on-site energies alone are up to 5 meV off.  On the 2 x 2 x 4 block at 0.6 nm:
    1.2-3.2 meV above (benchmarks/figure_dots_tb_block.py, docs/guide/dots.md).
    """
    from qdstack.physics.coupled_dots import tight_binding
    from qdstack.physics.exciton_stack import block_bonds

    system = DotSystem.disordered((2, 2, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    settings = SolverSettings(grid_nm=1.2, merge_faces_nm=1.2 / 3)
    z_bonds, xy_bonds = block_bonds(2, 2, periodic=False)
    bonds = np.concatenate([z_bonds, xy_bonds])
    gaps = np.r_[np.full(len(z_bonds), GAP), np.full(len(xy_bonds), 1.0)]
    tb = tight_binding(system, bonds, gaps, settings=settings)
    full = solve_dots(system, 8, settings)
    diff = tb.levels_meV - np.asarray(full.energies_meV)
    assert np.all(diff > 0.3) and np.all(diff < 3.5)
    no_coupling = np.sort(tb.onsite_meV) - np.asarray(full.energies_meV)
    assert np.max(np.abs(diff)) < 0.7 * np.max(np.abs(no_coupling))
    assert len(tb.beta_meV) == 4 + 8  # 4 bonds along z, 8 in the plane (open 2 x 2)


def test_coarser_barrier_cells_agree_within_the_error_estimates():
    """barrier_resolution 4 (half as many barrier cells per axis) vs the default 2 on a
    disordered 2 x 1 x 2 block: both extrapolated, they must agree within the sum of their
    own error estimates, and the coarser family has fewer unknowns (measured at 0.9 nm:
    28,160 vs 49,920 unknowns; levels 0.008-0.089 meV apart, estimates 0.09-0.68 meV; beta
    0.013 meV apart)."""
    system = DotSystem.disordered((2, 1, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    a = solve_dots(system, 4, SolverSettings(grid_nm=0.9, merge_faces_nm=0.9 / 3))
    b = solve_dots(
        system,
        4,
        SolverSettings(grid_nm=0.9, barrier_resolution=4.0, merge_faces_nm=0.9 / 3),
    )
    assert max(lv.unknowns for lv in b.levels) < 0.7 * max(lv.unknowns for lv in a.levels)
    tol = np.add(a.energies_converged_meV, b.energies_converged_meV)
    assert np.all(np.abs(np.subtract(a.energies_meV, b.energies_meV)) <= tol)
    assert (
        abs(a.coupling_meV - b.coupling_meV) <= a.coupling_converged_meV + b.coupling_converged_meV
    )


def test_scan_grid_family_agrees_with_the_default_family_within_the_estimates():
    """The fast family for disordered blocks (multipliers 1, 2, 3: the scan grid joins the
    Richardson family, every thin slab one cell fewer on the finest grid; barrier cells
    1/kappa) against the default family (2, 3, 4) on the same base grid, a disordered
    2 x 1 x 2 block, faces merged within 0.1 nm in both: the levels and beta agree within
    the sum of the two error estimates, with fewer unknowns (measured: 73,440 vs 106,624;
    levels <= 0.011 meV apart, estimates 0.04-0.09 meV)."""
    system = DotSystem.disordered((2, 1, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    fast = solve_dots(
        system,
        4,
        SolverSettings(
            grid_nm=0.8, multipliers=(1, 2, 3), barrier_resolution=1.0, merge_faces_nm=0.1
        ),
    )
    ref = solve_dots(system, 4, SolverSettings(grid_nm=0.6, merge_faces_nm=0.1))
    assert [lv.multiplier for lv in fast.levels] == [1, 2, 3]
    assert max(lv.unknowns for lv in fast.levels) < 0.8 * max(lv.unknowns for lv in ref.levels)
    tol = np.add(fast.energies_converged_meV, ref.energies_converged_meV)
    assert np.all(np.abs(np.subtract(fast.energies_meV, ref.energies_meV)) <= tol)
    assert abs(fast.coupling_meV - ref.coupling_meV) <= (
        fast.coupling_converged_meV + ref.coupling_converged_meV
    )


def test_lowest_pairs_switches_to_random_start_lobpcg_on_large_grids(monkeypatch):
    """:func:`_eigen.lowest_pairs`: shift-invert ARPACK on small grids, LOBPCG from a seeded
    random block above ``SHIFT_INVERT_MAX_UNKNOWNS``; both give the dense matrix's lowest
    levels to 1e-9 meV.  ARPACK started from a constant vector does not see the second
    state of the cube's degenerate pair (levels 3 and 4), so shift-invert is checked on the
    three levels up to the pair's first state, the LOBPCG path on all five."""
    import scipy.sparse as sp

    H = sp.csr_matrix(_one_cube_hamiltonian("wall"))
    exact = np.linalg.eigvalsh(H.toarray())[:5]
    monkeypatch.setattr(_eigen, "SHIFT_INVERT_MAX_UNKNOWNS", 100)
    vals, vecs = _eigen.lowest_pairs(H, 5)
    np.testing.assert_allclose(vals * 1e3, exact * 1e3, rtol=0, atol=1e-9)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(5), atol=1e-10)
    resid = np.linalg.norm(H @ vecs - vecs * vals, axis=0)
    assert np.all(resid <= 1e-7)
    monkeypatch.setattr(_eigen, "SHIFT_INVERT_MAX_UNKNOWNS", 10**9)
    si = _eigen.lowest_pairs(H, 3)[0]
    np.testing.assert_allclose(si * 1e3, exact[:3] * 1e3, rtol=0, atol=1e-9)


def test_own_lobpcg_agrees_with_scipys_and_arpack():
    """The default LOBPCG engine (:func:`_eigen._lobpcg_wanted`) against SciPy's lobpcg (the
    previous engine) and shift-invert ARPACK on the same matrix, from a random start: the
    same lowest 6 eigenvalues to 1e-9 eV, residuals <= the tolerance; and the extrapolated
    levels of a disordered 2 x 1 x 2 block with either engine agree to 1e-6 meV."""
    import functools

    import scipy.sparse as sp

    H = _one_cube_hamiltonian("wall")
    H = sp.csr_matrix(H)
    ref = _eigen.lowest_shift_invert(H, 6)[0]
    X = np.random.default_rng(5).standard_normal((H.shape[0], 8))
    for engine in ("own", "scipy"):
        vals, vecs, res, it = _eigen.lowest_lobpcg(H, X, n_wanted=6, tol_eV=1e-7, engine=engine)
        np.testing.assert_allclose(vals, ref, rtol=0, atol=1e-9)
        assert np.all(res <= 1e-7) and it > 0
        np.testing.assert_allclose(vecs.T @ vecs, np.eye(6), atol=1e-10)
    with pytest.raises(ValueError):
        _eigen.lowest_lobpcg(H, X, n_wanted=6, engine="nope")
    # Cholesky QR: orthonormal columns of the same span, None for a rank-deficient block
    Q, T = _eigen._cholesky_qr(X[:, :3])
    np.testing.assert_allclose(Q.T @ Q, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(Q, X[:, :3] @ T, rtol=0, atol=1e-12)
    assert _eigen._cholesky_qr(np.ones((50, 2))) is None
    system = DotSystem.disordered((2, 1, 2), 6.8, 0.5, (1.0, 1.0, GAP), V, M, seed=1)
    own = solve_dots(system, 4, SolverSettings(grid_nm=0.9, merge_faces_nm=0.9 / 3))
    real = _eigen.lowest_lobpcg
    try:
        _eigen.lowest_lobpcg = functools.partial(real, engine="scipy")
        old = solve_dots(system, 4, SolverSettings(grid_nm=0.9, merge_faces_nm=0.9 / 3))
    finally:
        _eigen.lowest_lobpcg = real
    np.testing.assert_allclose(own.energies_meV, old.energies_meV, rtol=0, atol=1e-6)


def test_own_lobpcg_row_passes_do_not_depend_on_threads_or_chunks():
    """The block passes of :func:`_eigen._lobpcg_wanted` run over row chunks on threads:
    the rows are always split into the same parts, so one thread and four give the same
    bits; a different chunk size only reorders sums (the wanted levels to 1e-12 eV), and every variant finds
    the lowest levels of the dense matrix (a degenerate pair among them).  The generic ``A`` (SciPy's product) and the compiled one
    agree too."""
    import scipy.sparse as sp

    H = sp.csr_matrix(_one_cube_hamiltonian("wall"))
    ref = np.linalg.eigvalsh(H.toarray())[:5]
    X = np.random.default_rng(7).standard_normal((H.shape[0], 7))
    M = _eigen.GpuAMG(_eigen.amg_hierarchy(H), xp=np, xsp=sp)

    def apply_h(V, out):
        out[...] = H @ V

    runs = {
        (threads, chunk): _eigen._lobpcg_wanted(
            apply_h, M, X, 5, 1e-8, 200, threads=threads, chunk_rows=chunk
        )
        for threads in (1, 4)
        for chunk in (97, 8192)
    }
    for chunk in (97, 8192):
        a, b = runs[(1, chunk)], runs[(4, chunk)]
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[2] == b[2]
    for vals, vecs, it in runs.values():
        np.testing.assert_allclose(vals[:5], ref, rtol=0, atol=1e-10)
        np.testing.assert_allclose(vecs.T @ vecs, np.eye(7), atol=1e-10)
        assert it > 0
    np.testing.assert_allclose(runs[(1, 97)][0][:5], runs[(1, 8192)][0][:5], rtol=0, atol=1e-12)
    compiled = _eigen.lowest_lobpcg(H, X, n_wanted=5, tol_eV=1e-8)[0]
    np.testing.assert_allclose(compiled, runs[(1, 8192)][0][:5], rtol=0, atol=1e-12)


def test_four_grid_richardson():
    """Four grids (multipliers 1, 2, 3, 4: the scan grid joins the family) eliminate h^6 too.

    On e(h) = 100 + 3 h^2 - 2 h^4 + 0.5 h^6 the four-grid value is exact and the estimate is
    2 |R4 - R3| with R3 the quadratic in h^2 through the three finest points (np.polyfit).
    On the separable double well (exact transfer-matrix reference) the four-grid level is
    within its estimate of the exact one, and closer than the three-grid level of the
    same family.
    """
    from qdstack.physics.coupled_dots.solver import _richardson

    h = np.array([1.2, 0.6, 0.4, 0.3])
    e = 100 + 3 * h**2 - 2 * h**4 + 0.5 * h**6
    val, err, nxt, _ = _richardson(h, e)
    r3 = np.polyval(np.polyfit(h[1:] ** 2, e[1:], 2), 0.0)
    assert val == pytest.approx(100.0, abs=1e-9)
    assert nxt == pytest.approx(r3, abs=1e-9) and err == pytest.approx(2 * abs(100 - r3))

    q2 = 2 * (math.pi / L) ** 2
    mb = 0.4
    u_dot, u_bar = C * q2 / M, V + C * q2 / mb
    ref = Heterostructure1D((L, GAP, L), (u_dot, u_bar, u_dot), (M, mb, M), u_bar, mb, u_bar, mb)
    exact = bound_states_eV(ref, 2) * 1e3
    system = DotSystem.column(2, L, GAP, V, M, mb)
    kw = dict(padding_nm=(0.0, 0.0, 4.0), grid_nm=0.3)
    three = solve_dots(system, 2, SolverSettings(**kw))
    four = solve_dots(system, 2, SolverSettings(multipliers=(1, 2, 3, 4), **kw))
    assert [lv.multiplier for lv in four.levels] == [1, 2, 3, 4]
    assert [lv.grid_nm for lv in four.levels[1:]] == [lv.grid_nm for lv in three.levels]
    err4 = np.abs(np.array(four.energies_meV) - exact)
    assert np.all(err4 <= np.array(four.energies_converged_meV))
    assert np.all(err4 < np.abs(np.array(three.energies_meV) - exact))
