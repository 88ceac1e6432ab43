"""The reduced predictions of the explain mechanisms, checked against independent computations
and against the full film model (ensemble of disordered columns, first peak of the averaged spectrum)."""

import numpy as np
import pytest

from qdstack.physics.explain import Conditions, context_from_parameters, get_mechanism
from qdstack.physics.explain._reduced import chain_lines_meV, peak_top_meV
from qdstack.physics.explain.fusion import segment_weights


@pytest.fixture(scope="module")
def ctx():
    return context_from_parameters()


def test_peak_top_matches_a_dense_grid():
    rng = np.random.default_rng(3)
    for _ in range(5):
        c = rng.normal(0, 15, 6)
        w = rng.random(6)
        sigma = 30.0
        grid = np.linspace(-150, 150, 600001)
        a = np.exp(-0.5 * (grid[:, None] - c[None, :]) ** 2 / sigma**2) @ w
        assert peak_top_meV(c, w, sigma) == pytest.approx(grid[np.argmax(a)], abs=1e-3)


def test_peak_top_of_two_equal_lines_is_their_midpoint():
    assert peak_top_meV([-5.0, 5.0], [1.0, 1.0], 30.0) == pytest.approx(0.0, abs=1e-9)


def test_uncoupled_chain_has_one_bright_line_at_minus_the_binding(ctx):
    e, f = chain_lines_meV(ctx, 4, 0.55, 0.0, 0.0)
    bright = f > 1e-12
    assert np.allclose(e[bright], -ctx.binding_meV)
    assert f.sum() == pytest.approx(1.0)


def test_bright_centroid_sum_rule(ctx):
    # without dipolar terms <B|H|B> is the on-site exciton energy whatever beta is
    e, f = chain_lines_meV(ctx, 6, 0.55, 7.0, 5.0)
    assert np.sum(e * f) == pytest.approx(-ctx.binding_meV, abs=1e-9)


def test_segment_weights_against_sampling():
    rng = np.random.default_rng(0)
    n, p = 6, 0.35
    fused = rng.random((200000, n - 1)) < p
    counts = np.zeros(n)
    for row in fused:
        length = 1
        for b in row:
            if b:
                length += 1
            else:
                counts[length - 1] += length
                length = 1
        counts[length - 1] += length
    assert np.allclose(segment_weights(n, p), counts / counts.sum(), atol=3e-3)
    assert np.allclose(segment_weights(5, 0.0), [1, 0, 0, 0, 0])
    assert np.allclose(segment_weights(5, 1.0), [0, 0, 0, 0, 1])


def test_surface_is_linker_independent_and_zero_without_leak(ctx):
    m = get_mechanism("surface")
    cond = Conditions([0.44, 1.44], [8, 8], 295.0)
    s = m.predict(cond, ctx, delta_nm=0.2)
    assert s[0] == pytest.approx(s[1]) and s[0] < 0
    assert np.allclose(m.predict(cond, ctx, delta_nm=0.0), 0.0)


def test_surface_hole_level_against_infinite_well_limit(ctx):
    # a 0.2 nm leak on one face of a 6.8 nm box: the hole's z-level falls by about 2 dE/dL * 0.2 / 2
    from qdstack.physics.explain.surface import hole_level_meV

    L = ctx.edge_nm
    e0, e1 = hole_level_meV(ctx, L), hole_level_meV(ctx, L + 0.2)
    c = 0.0380998 * np.pi**2 / ctx.material.hole_mass * 1e3  # hbar^2 pi^2 / 2m [meV nm^2]
    # finite barrier: a smaller change than the infinite well gives, but more than half of it
    inf = c / (L + 0.2) ** 2 - c / L**2
    assert inf < e1 - e0 < 0.5 * inf


def test_dielectric_vanishes_when_every_face_keeps_its_medium(ctx):
    # linker and neighbour as polarisable as substrate/air seen through the shell: compare two limits
    m = get_mechanism("dielectric")
    cond = Conditions([0.55, 0.55], [2, 8], 295.0)
    s = m.predict(cond, ctx, eps_dot=7.2, eps_linker=2.1)
    assert np.all(s < 0)
    assert abs(s[1]) > abs(s[0])  # more inner layers, more screening


@pytest.fixture(scope="module")
def full_model():
    """Full film model shifts (peak top of the ensemble spectrum), one channel at a time."""
    from qdstack.physics.film_model import FilmSpec, dot_tables, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    base = load_parameter_set("enomoto2024")

    def run(params, linker, layers, realisations=1500):
        spec1 = FilmSpec.from_linker(linker, 1)
        tables = dot_tables(spec1, params)
        peaks = {}
        for n in (1,) + tuple(layers):
            r = simulate_film(
                FilmSpec(n, spec1.gap_nm, 6.8, 0.5, linker=linker),
                params,
                realisations=realisations,
                seed=5,
                blocks=1,
                tables=tables,
                emission=False,
                energy_eV=np.round(2.45, 3) + np.arange(-3000, 3001) * 1e-4,
            )
            i = int(np.argmax(r.absorbance))
            peaks[n] = r.energy_eV[i]
        return {n: (peaks[n] - peaks[1]) * 1e3 for n in layers}, spec1.gap_nm

    return base, run


def test_tunnelling_reduction_against_the_full_model(ctx, full_model):
    """Ideal column + widened line vs disordered ensemble: within 3 meV (the stated accuracy)."""
    base, run = full_model
    for v, mb in ((0.0, 1.0), (0.1, 0.3)):
        params = base.with_(coupling="engine", barrier_e_eV=v, barrier_h_eV=v, barrier_mass=mb)
        params = params.with_(channels=params.channels.only("tunnelling"))
        full, gap = run(params, "C3DT", (2, 8))
        red = get_mechanism("tunnelling").predict(
            Conditions([gap, gap], [2, 8], 295.0), ctx, barrier_eV=v, barrier_mass=mb
        )
        for (n, s_full), s_red in zip(full.items(), red):
            assert s_red == pytest.approx(s_full, abs=3.0), (v, mb, n, s_full, s_red)


def test_dielectric_reduction_against_the_full_model(ctx, full_model):
    base, run = full_model
    params = base.with_(channels=base.channels.only("dielectric"))
    full, gap = run(params, "C3DT", (2, 8))
    red = get_mechanism("dielectric").predict(
        Conditions([gap, gap], [2, 8], 295.0),
        ctx,
        eps_dot=float(ctx.material.exciton_dielectric),
        eps_linker=base.eps_ligand,
    )
    for (n, s_full), s_red in zip(full.items(), red):
        assert s_red == pytest.approx(s_full, abs=0.6), (n, s_full, s_red)


def test_dielectric_direct_sum_equals_the_film_model_function(ctx):
    from qdstack.physics.explain.dielectric import _polarization_meV
    from qdstack.physics.film_model import polarization_energy_meV

    eo = np.array([2.0, 2.5, 3.7])
    assert np.allclose(
        _polarization_meV(6.8, 7.2, eo), polarization_energy_meV(6.8, 7.2, eo), atol=1e-6
    )


def test_fast_chain_equals_the_exciton_stack_engine(ctx):
    from qdstack.physics.exciton_stack import (
        ExcitonStack,
        chain_bonds,
        eigenstates,
        oscillator_strengths,
    )
    from qdstack.physics.explain._reduced import coulomb_offsite_meV

    n, be, bh = 5, 6.0, 3.5
    e, f = chain_lines_meV(ctx, n, 0.55, be, bh)
    idx = np.arange(n)
    dist = np.abs(idx[:, None] - idx[None, :])
    u = np.where(dist == 0, ctx.binding_meV, coulomb_offsite_meV(ctx, 0.55, np.maximum(dist, 1)))
    bonds = chain_bonds(n)
    st = eigenstates(
        ExcitonStack(np.zeros(n), np.zeros(n), u, bonds, np.full(n - 1, be), np.full(n - 1, bh))
    )
    assert np.allclose(e, st.energies_meV[0], atol=1e-9)
    # strengths of degenerate states are basis dependent: compare them summed on the energies
    f_ref = oscillator_strengths(st)[0] / n
    for level in np.unique(np.round(e, 6)):
        sel = np.abs(e - level) < 1e-6
        assert f[sel].sum() == pytest.approx(f_ref[sel].sum(), abs=1e-9)


@pytest.mark.parametrize(
    "gap, v, m, mb",
    [
        (0.55, 0.0, 0.252, 1.0),
        (0.55, 0.5, 0.252, 0.1),
        (1.44, 1.0, 0.252, 0.3),
        (0.3, 2.0, 0.15, 3.0),
        (0.9, 0.05, 0.15, 0.05),
    ],
)
def test_parity_coupling_equals_the_engine(gap, v, m, mb):
    from qdstack.physics.explain._coupling import coupling_meV
    from qdstack.physics.film_model import linker_coupling_meV

    ref = linker_coupling_meV(
        6.8, gap, v, m, barrier_mass=mb, outer_barrier_eV=3.0, outer_barrier_mass=1.0
    )
    assert coupling_meV(6.8, gap, v, m, mb, 3.0, 1.0) == pytest.approx(ref, rel=1e-6)


def test_film_eps_dot_override_follows_the_dielectric_reduction(ctx, full_model):
    """FilmParameters.eps_dot (the dielectric mechanism's eps_dot in the film model): full vs reduced."""
    base, run = full_model
    only = base.with_(channels=base.channels.only("dielectric"))
    full = {e: run(only.with_(eps_dot=e), "C3DT", (8,))[0][8] for e in (4.3, 10.0)}
    gap = run(only, "C3DT", (8,))[1]
    red = {
        e: get_mechanism("dielectric").predict(
            Conditions([gap], [8], 295.0), ctx, eps_dot=e, eps_linker=base.eps_ligand
        )[0]
        for e in (4.3, 10.0)
    }
    for e in full:
        assert red[e] == pytest.approx(full[e], abs=0.6), (e, full, red)
    # the override moves the film as the reduction says (common random numbers: no noise in the change)
    assert full[4.3] - full[10.0] == pytest.approx(red[4.3] - red[10.0], abs=0.3)
    assert abs(red[4.3] - red[10.0]) > 0.5
