"""The exciton-on-stack Hamiltonian: analytic limits, sum rules, and the fast spectral method."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.errors import InputError
from qdstack.physics import _stack_kernels
from qdstack.physics.exciton_stack import (
    ExcitonStack,
    block_bonds,
    bright_centroid_meV,
    bright_spectrum,
    bright_spectrum_dense,
    chain_bonds,
    chebyshev_moments,
    effective_exciton_hopping_meV,
    eigenstates,
    hamiltonian_matrix,
    oscillator_strengths,
    participation_ratios,
    spectral_bounds_meV,
    thermal_emission,
    tight_binding_chain_meV,
)


def uniform_chain(n, *, onsite=(0.0, 0.0), beta=(10.0, 8.0), u0=0.0, u1=0.0, dipolar=0.0):
    """A column of n identical dots (one realisation)."""
    e = np.full(n, onsite[0])
    h = np.full(n, onsite[1])
    u = np.full((n, n), u1)
    np.fill_diagonal(u, u0)
    j = None
    if dipolar:
        j = np.zeros((n, n))
        i = np.arange(n - 1)
        j[i, i + 1] = j[i + 1, i] = dipolar
    return ExcitonStack(
        e, h, u, chain_bonds(n), np.full(n - 1, beta[0]), np.full(n - 1, beta[1]), j
    )


def random_stack(r, n, seed, *, dipolar=True, bonds=None, beta_scale=12.0):
    rng = np.random.default_rng(seed)
    s = n if bonds is None else int(bonds.max()) + 1
    bonds = chain_bonds(n) if bonds is None else bonds
    e = rng.normal(0, 15, (r, s))
    h = 0.8 * e + rng.normal(0, 3, (r, s))
    z = rng.normal(0, 1, (r, s))
    dist = np.abs(np.arange(s)[:, None] - np.arange(s)[None, :]) * 7.35 + 0.0
    u = np.where(dist > 0, 1440.0 / (3.0 * np.where(dist > 0, dist, 1)), 0.0)
    u = np.broadcast_to(u, (r, s, s)).copy()
    i = np.arange(s)
    u[:, i, i] = 90.0 + 5 * z
    be = beta_scale * (1 + 0.2 * rng.normal(size=(r, len(bonds))))
    bh = 0.8 * beta_scale * (1 + 0.2 * rng.normal(size=(r, len(bonds))))
    j = None
    if dipolar:
        j = rng.normal(0, 2.0, (r, s, s))
        j = j + j.transpose(0, 2, 1)
        j[:, i, i] = 0.0
    return ExcitonStack(e, h, u, bonds, be, bh, j, reference_eV=2.45)


# ----------------------------------------------------------------------------- analytic limits


@pytest.mark.parametrize("n", [1, 2, 3, 8])
def test_no_disorder_no_coulomb_is_the_tight_binding_chain(n):
    # U = 0: electron and hole move independently; the optically bright pair states are
    # (k_e = k_h = k) with f = 1, at E = e + h - 2 (beta_e + beta_h) cos(k pi/(N+1))
    be, bh = 11.0, 7.0
    st = eigenstates(uniform_chain(n, onsite=(30.0, 20.0), beta=(be, bh)))
    f = oscillator_strengths(st)[0]
    bright = st.energies_meV[0][f > 1e-9]
    expected = tight_binding_chain_meV(n, 50.0, be + bh)
    np.testing.assert_allclose(np.sort(bright), expected, atol=1e-9)
    np.testing.assert_allclose(f[f > 1e-9], 1.0, atol=1e-9)
    # the whole spectrum: every sum of one electron and one hole chain level
    e_levels = tight_binding_chain_meV(n, 30.0, be)
    h_levels = tight_binding_chain_meV(n, 20.0, bh)
    np.testing.assert_allclose(
        st.energies_meV[0], np.sort((e_levels[:, None] + h_levels[None, :]).ravel()), atol=1e-9
    )


def test_dimer_splitting_is_two_beta():
    st = eigenstates(uniform_chain(2, beta=(6.0, 4.0)))
    f = oscillator_strengths(st)[0]
    bright = np.sort(st.energies_meV[0][f > 1e-9])
    assert bright[1] - bright[0] == pytest.approx(2 * (6.0 + 4.0), abs=1e-9)


@pytest.mark.parametrize("n", [2, 5, 8])
def test_strong_binding_exciton_hops_with_second_order_coupling(n):
    # Frenkel limit: CT states Delta = U0 - U1 above; the N lowest states are an exciton band
    # with on-site shift -z_i (be^2 + bh^2)/Delta and hopping J = 2 be bh / Delta (second order)
    u0, u1 = 700.0, 200.0
    delta = u0 - u1

    def error(be, bh):
        st = eigenstates(uniform_chain(n, beta=(be, bh), u0=u0, u1=u1))
        j_eff, sigma = effective_exciton_hopping_meV(be, bh, delta)
        z = np.full(n, 2.0)
        z[0] = z[-1] = 1.0
        h_eff = np.diag(-u0 - z * sigma) - j_eff * (np.eye(n, k=1) + np.eye(n, k=-1))
        got = st.energies_meV[0][:n]
        return got, np.linalg.eigvalsh(h_eff), j_eff

    be, bh = 9.0, 6.0
    got, expected, j_eff = error(be, bh)
    # what is left are fourth-order processes, ~ (number of paths) beta^4 / Delta^3
    tol = 50 * max(be, bh) ** 4 / delta**3
    np.testing.assert_allclose(got, expected, atol=tol)
    assert tol < 0.05 * j_eff  # the test resolves the effective hopping itself
    if n == 2:
        assert got[1] - got[0] == pytest.approx(2 * j_eff, abs=tol)
    # and it is the leading order: halving both couplings divides the error by ~2^4
    got2, expected2, _ = error(be / 2, bh / 2)
    ratio = np.max(np.abs(got - expected)) / np.max(np.abs(got2 - expected2))
    assert 10 < ratio < 24


def test_beta_zero_film_equals_the_monolayer():
    # no tunnelling and no dipolar coupling: each dot absorbs on its own; the N-layer
    # spectrum per dot is the monolayer spectrum of the same dots
    r, n = 300, 4
    st = random_stack(r, n, seed=3, dipolar=False)
    st0 = ExcitonStack(
        st.electron_meV,
        st.hole_meV,
        st.coulomb_meV,
        st.bonds,
        np.zeros_like(st.beta_e_meV),
        np.zeros_like(st.beta_h_meV),
        reference_eV=2.45,
    )
    i = np.arange(n)
    mono = ExcitonStack(
        st.electron_meV.reshape(-1, 1),
        st.hole_meV.reshape(-1, 1),
        st.coulomb_meV[:, i, i].reshape(-1, 1, 1),
        chain_bonds(1),
        np.zeros((r * n, 0)),
        np.zeros((r * n, 0)),
        reference_eV=2.45,
    )
    e = np.linspace(2.2, 2.6, 401)
    a = bright_spectrum(st0, e, fwhm_meV=40.0)
    b = bright_spectrum(mono, e, fwhm_meV=40.0)
    np.testing.assert_allclose(
        a.absorption_per_eV, b.absorption_per_eV, atol=1e-8 * b.absorption_per_eV.max()
    )


# ----------------------------------------------------------------------------- sum rules


def test_tunnelling_leaves_the_bright_centroid_where_it_was():
    st = random_stack(40, 6, seed=5, dipolar=False)
    states = eigenstates(st)
    f = oscillator_strengths(states)
    np.testing.assert_allclose(f.sum(axis=1), 6.0, rtol=1e-12)
    centroid = (f * states.energies_meV).sum(axis=1) / 6.0
    i = np.arange(6)
    np.testing.assert_allclose(
        centroid, (st.electron_meV + st.hole_meV - st.coulomb_meV[:, i, i]).mean(axis=1), atol=1e-9
    )
    np.testing.assert_allclose(centroid, bright_centroid_meV(st), atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 8])
def test_frenkel_chain_centroid_sum_rule_with_disorder(n):
    # pure dipolar (Frenkel) chain with on-site disorder: centroid = mean on-site + 2 J (N - 1)/N,
    # exactly, in every realisation (parallel dipoles, uniform J)
    rng = np.random.default_rng(n)
    r, jc = 50, 3.0
    e = rng.normal(0, 20, (r, n))
    u = np.zeros((r, n, n))
    u[:, np.arange(n), np.arange(n)] = 100.0
    j = np.zeros((n, n))
    j[np.arange(n - 1), np.arange(1, n)] = jc
    j = np.broadcast_to(j + j.T, (r, n, n))
    st = ExcitonStack(
        e, np.zeros((r, n)), u, chain_bonds(n), np.zeros((r, n - 1)), np.zeros((r, n - 1)), j
    )
    states = eigenstates(st)
    f = oscillator_strengths(states)
    centroid = (f * states.energies_meV).sum(axis=1) / f.sum(axis=1)
    np.testing.assert_allclose(centroid, e.mean(axis=1) - 100.0 + 2 * jc * (n - 1) / n, atol=1e-9)


def test_spectrum_area_and_first_moment():
    st = random_stack(200, 5, seed=9)
    e = np.linspace(2.0, 2.9, 1801)
    s = bright_spectrum(st, e, fwhm_meV=50.0)
    assert np.trapezoid(s.absorption_per_eV, e) == pytest.approx(1.0, abs=1e-6)
    centroid = np.trapezoid(e * s.absorption_per_eV, e)
    assert centroid == pytest.approx(s.centroid_eV, abs=1e-6)


# ----------------------------------------------------------------------------- the fast method


_ENGINES = [
    "numpy",
    pytest.param(
        "compiled",
        marks=pytest.mark.skipif(
            not _stack_kernels.available(),
            reason="numba is not installed (the compiled engine needs it)",
        ),
    ),
]


@pytest.mark.parametrize("engine", _ENGINES)
@pytest.mark.parametrize("seed,n", [(1, 2), (2, 5), (3, 8)])
def test_chebyshev_spectrum_equals_full_diagonalisation(seed, n, engine):
    st = random_stack(150, n, seed)
    e = np.linspace(2.15, 2.75, 601)
    fast = bright_spectrum(st, e, fwhm_meV=45.0, engine=engine)
    dense = bright_spectrum_dense(st, e, fwhm_meV=45.0)
    diff = np.max(np.abs(fast.absorption_per_eV - dense.absorption_per_eV))
    assert diff <= fast.truncation_bound + 1e-10 * dense.absorption_per_eV.max()
    assert diff < 1e-8 * dense.absorption_per_eV.max()


@pytest.mark.parametrize("engine", _ENGINES)
def test_chebyshev_spectrum_of_an_in_plane_block_equals_dense(engine):
    out_bonds, in_bonds = block_bonds(3, 2)
    bonds = np.concatenate([out_bonds, in_bonds])
    st = random_stack(6, 18, seed=4, bonds=bonds, beta_scale=5.0)
    e = np.linspace(2.15, 2.75, 301)
    fast = bright_spectrum(st, e, fwhm_meV=45.0, engine=engine)
    dense = bright_spectrum_dense(st, e, fwhm_meV=45.0)
    np.testing.assert_allclose(
        fast.absorption_per_eV, dense.absorption_per_eV, atol=1e-8 * dense.absorption_per_eV.max()
    )


def test_matrix_free_operator_matches_the_dense_matrix():
    from qdstack.physics.exciton_stack import _ScaledOperator

    out_bonds, in_bonds = block_bonds(3, 2)
    st = random_stack(4, 18, seed=8, bonds=np.concatenate([out_bonds, in_bonds]))
    h = hamiltonian_matrix(st)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(18, 18, 4))
    op = _ScaledOperator(st, slice(None), 1.0, 0.0)
    got = op.apply(v, np.empty_like(v))
    want = np.einsum("rab,rb->ra", h, v.transpose(2, 0, 1).reshape(4, -1)).reshape(4, 18, 18)
    np.testing.assert_allclose(got.transpose(2, 0, 1), want, atol=1e-10)
    lo, hi = spectral_bounds_meV(st)
    w = np.linalg.eigvalsh(h)
    assert lo <= w.min() and w.max() <= hi


def test_moments_do_not_depend_on_threads_or_blocks():
    st = random_stack(500, 4, seed=11)
    lo, hi = spectral_bounds_meV(st)
    c, a = 0.5 * (lo + hi), 0.51 * (hi - lo)
    m1 = chebyshev_moments(st, 40, c, a, chunk=500, threads=1)
    m2 = chebyshev_moments(st, 40, c, a, chunk=37, threads=2)
    np.testing.assert_allclose(m1, m2, rtol=1e-12, atol=1e-14)
    assert m1[0] == pytest.approx(1.0)
    assert np.all(np.abs(m1) <= 1 + 1e-12)


@pytest.mark.skipif(not _stack_kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("case", ["chain-dipolar", "chain", "block", "single-dot", "film-model"])
@pytest.mark.parametrize("n_moments", [1, 2, 3, 40, 41])
def test_compiled_moments_equal_the_numpy_moments(case, n_moments):
    # the compiled kernel (one fused pass per product, blocks of realisations transposed in
    # cache) against the numpy operator: the same float64 arithmetic in another order
    if case == "chain-dipolar":
        st = random_stack(601, 8, seed=21)  # 601: not a multiple of the kernel's cache block
    elif case == "chain":
        st = random_stack(300, 5, seed=22, dipolar=False)
    elif case == "block":
        out_bonds, in_bonds = block_bonds(3, 2)  # periodic 3 x 3 x 2: four in-plane neighbours
        st = random_stack(70, 18, seed=23, bonds=np.concatenate([out_bonds, in_bonds]))
    elif case == "single-dot":
        st = random_stack(50, 1, seed=24, dipolar=False)
    else:
        from qdstack.physics.film_model import FilmSpec, build_column_ensemble, load_parameter_set

        st = build_column_ensemble(
            FilmSpec.from_linker("C3DT", layers=8), load_parameter_set("enomoto2024"), 700, seed=5
        ).stack
    lo, hi = spectral_bounds_meV(st)
    c, a = 0.5 * (lo + hi), 0.501 * (hi - lo)
    ref = chebyshev_moments(st, n_moments, c, a, engine="numpy")
    got = chebyshev_moments(st, n_moments, c, a, engine="compiled")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13)
    # in blocks and threads: the same sum
    got2 = chebyshev_moments(st, n_moments, c, a, engine="compiled", chunk=97, threads=2)
    np.testing.assert_allclose(got2, ref, rtol=0, atol=1e-13)
    assert got[0] == pytest.approx(1.0, abs=1e-14)


@pytest.mark.skipif(not _stack_kernels.available(), reason="numba is not installed")
@pytest.mark.parametrize("dipolar", [True, False])
def test_compiled_bounds_and_centroid_equal_numpy(dipolar):
    out_bonds, in_bonds = block_bonds(3, 2)
    for st in (
        random_stack(333, 6, seed=31, dipolar=dipolar),
        random_stack(20, 18, seed=32, dipolar=dipolar, bonds=np.concatenate([out_bonds, in_bonds])),
        random_stack(10, 1, seed=33, dipolar=False),
    ):
        lo, hi, c = _stack_kernels.bounds_and_centroid(st)
        lo_ref, hi_ref = spectral_bounds_meV(st, engine="numpy")
        assert lo == pytest.approx(lo_ref, abs=1e-12) and hi == pytest.approx(hi_ref, abs=1e-12)
        assert c == pytest.approx(float(np.mean(bright_centroid_meV(st))), abs=1e-11)
        # and the bounds hold every eigenvalue
        w = np.linalg.eigvalsh(hamiltonian_matrix(st))
        assert lo <= w.min() and w.max() <= hi


@pytest.mark.skipif(not _stack_kernels.available(), reason="numba is not installed")
def test_compiled_film_spectrum_equals_dense_diagonalisation():
    # the benchmark's case (calibrated 8-layer C3DT column, homogeneous line of the parameter
    # set) on few enough realisations to diagonalise: within 1e-8 of the peak
    from qdstack.physics.film_model import FilmSpec, build_column_ensemble, load_parameter_set

    params = load_parameter_set("enomoto2024")
    st = build_column_ensemble(FilmSpec.from_linker("C3DT", layers=8), params, 300, seed=9).stack
    e = np.linspace(st.reference_eV - 0.3, st.reference_eV + 0.3, 601)
    fast = bright_spectrum(st, e, fwhm_meV=params.homogeneous_fwhm_meV, engine="compiled")
    dense = bright_spectrum_dense(st, e, fwhm_meV=params.homogeneous_fwhm_meV)
    diff = np.max(np.abs(fast.absorption_per_eV - dense.absorption_per_eV))
    assert diff <= fast.truncation_bound + 1e-10 * dense.absorption_per_eV.max()
    assert diff < 1e-8 * dense.absorption_per_eV.max()


@pytest.mark.skipif(not _stack_kernels.available(), reason="numba is not installed")
def test_auto_engine_weighs_the_kernel_start_up(monkeypatch):
    from qdstack.physics.exciton_stack import _use_compiled

    monkeypatch.setattr(_stack_kernels, "_WARM", False)
    assert not _use_compiled("auto", 1e5)  # a small problem in a fresh process: numpy
    assert _use_compiled("auto", 1e12)  # numpy would take minutes: load the kernel
    assert _use_compiled("compiled", 1.0) and not _use_compiled("numpy", 1e12)
    monkeypatch.setattr(_stack_kernels, "_WARM", True)
    assert _use_compiled("auto", 1e5)  # already loaded: always


def test_unknown_engine_is_refused():
    st = random_stack(3, 2, seed=1)
    with pytest.raises(InputError, match="engine"):
        chebyshev_moments(st, 4, 0.0, 100.0, engine="cuda")


def test_block_bonds():
    z, xy = block_bonds(3, 4)
    assert len(z) == 9 * 3 and len(xy) == 2 * 9 * 4
    deg = np.bincount(xy.ravel(), minlength=36)
    assert np.all(deg == 4)  # periodic in the plane: four in-plane neighbours each
    z2, xy2 = block_bonds(3, 1, periodic=False)
    assert len(z2) == 0 and len(xy2) == 12
    with pytest.raises(InputError):
        block_bonds(2, 3)


# ----------------------------------------------------------------------------- emission


def test_monolayer_radiative_rate_does_not_depend_on_temperature():
    st = random_stack(50, 1, seed=2, dipolar=False)
    em = thermal_emission(st, [10, 100, 300], np.linspace(2.2, 2.7, 101), fwhm_meV=40.0)
    np.testing.assert_allclose(em.radiative_rate, 1.0, atol=1e-12)
    np.testing.assert_allclose(em.participation_exciton, 1.0, atol=1e-12)


def test_thermal_radiative_rate_limits():
    # low T: the ground state's f; high T: every state equally, sum f / S^2 = 1/S
    n = 4
    st = uniform_chain(n, beta=(8.0, 8.0), u0=60.0, u1=20.0)
    states = eigenstates(st)
    f = oscillator_strengths(states)[0]
    em = thermal_emission(st, [0.5, 1e7], np.linspace(-0.3, 0.1, 81), fwhm_meV=20.0)
    assert em.radiative_rate[0] == pytest.approx(f[0], rel=1e-6)
    assert em.radiative_rate[1] == pytest.approx(1.0 / n, rel=1e-4)
    assert f[0] > 1.0  # the coherent ground state of a uniform column is superradiant


def test_participation_ratios():
    # beta = 0: every state sits on one dot; a uniform chain without Coulomb: spread
    st0 = uniform_chain(5, beta=(0.0, 0.0), u0=50.0)
    pr0 = participation_ratios(eigenstates(st0))
    np.testing.assert_allclose(pr0["electron"], 1.0)
    np.testing.assert_allclose(pr0["hole"], 1.0)
    st1 = uniform_chain(5, beta=(10.0, 10.0))
    pr1 = participation_ratios(eigenstates(st1))
    # lowest chain state sin(k pi/(N+1)): PR = (N+1) * 2/3 for k = 1 (exactly 4 for N = 5)
    assert pr1["electron"][0, 0] == pytest.approx(4.0, rel=1e-9)


# ----------------------------------------------------------------------------- input checks


def test_bad_inputs_raise_input_errors():
    n = 3
    good = dict(
        electron_meV=np.zeros(n),
        hole_meV=np.zeros(n),
        coulomb_meV=np.zeros((n, n)),
        bonds=chain_bonds(n),
        beta_e_meV=np.zeros(n - 1),
        beta_h_meV=np.zeros(n - 1),
    )
    ExcitonStack(**good)
    with pytest.raises(InputError):
        ExcitonStack(**{**good, "hole_meV": np.zeros(n + 1)})
    asym = np.zeros((n, n))
    asym[0, 1] = 1.0
    with pytest.raises(InputError):
        ExcitonStack(**{**good, "coulomb_meV": asym})
    with pytest.raises(InputError):
        ExcitonStack(**{**good, "electron_meV": np.array([0.0, np.nan, 0.0])})
    with pytest.raises(InputError):
        ExcitonStack(**{**good, "bonds": np.array([[0, 3]])})
    with pytest.raises(InputError):
        bright_spectrum(ExcitonStack(**good), np.linspace(-0.1, 0.1, 11), fwhm_meV=0.0)
    with pytest.raises(InputError):
        thermal_emission(ExcitonStack(**good), [-5.0], np.linspace(-0.1, 0.1, 11), fwhm_meV=10.0)
