"""The film model: per-dot physics, environment, ensembles, one film's spectra, sweeps on dask."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdstack.errors import InputError
from qdstack.physics.film_model import (
    Channels,
    FilmParameters,
    FilmSpec,
    build_column_ensemble,
    dipolar_coupling_meV,
    dot_tables,
    face_eps,
    linker_coupling_meV,
    load_parameter_set,
    maxwell_garnett_eps,
    polarization_energy_meV,
    sample_edges,
    transition_dipole_enm,
)
from qdstack.physics.film_model.spectra import simulate_film
from qdstack.units import COULOMB_EV_NM

PARAMS = load_parameter_set("enomoto2024")


# ----------------------------------------------------------------------------- per-dot physics


@pytest.mark.parametrize("v", [0.5, 1.0, 3.0])
def test_linker_coupling_reproduces_the_engine_for_a_uniform_barrier(v):
    from qdstack.physics.coupled_dots import coupling_meV

    got = linker_coupling_meV(
        6.8, 0.55, v, 0.252, barrier_mass=1.0, outer_barrier_eV=v, outer_barrier_mass=1.0
    )
    assert got == pytest.approx(coupling_meV(6.8, 0.55, v, 0.252, 1.0), rel=1e-9)


def test_linker_coupling_decays_with_gap_and_barrier():
    gaps = np.array([0.45, 0.55, 0.8, 1.1, 1.45])
    b = linker_coupling_meV(6.8, gaps, 0.5, 0.252)
    assert np.all(np.diff(b) < 0)
    # deep in the barrier the decay constant approaches sqrt(2 m_B (V_z - E_z))/hbar
    k = -np.diff(np.log(b)) / np.diff(gaps)
    assert k[-1] == pytest.approx(math.sqrt(1.0 * 0.5 / 0.0380998), rel=0.15)
    assert linker_coupling_meV(6.8, 0.55, 2.0, 0.252) < linker_coupling_meV(6.8, 0.55, 1.0, 0.252)


def test_sphere_moments_are_exact():
    from qdstack.physics.film_model.dots import _MOMENTS

    # <x^2> over 2 sin^2(pi x) on [0, 1] = 1/3 - 1/(2 pi^2)
    assert _MOMENTS[0] == pytest.approx(1 / 3 - 1 / (2 * math.pi**2), rel=1e-6)


def test_polarization_energy():
    # no mismatch: no polarisation energy; less polarisable surroundings: positive
    assert polarization_energy_meV(6.8, 7.2, 7.2) == pytest.approx(
        0.0, abs=1e-4
    )  # table interpolation
    eps = np.array([1.0, 2.0, 3.0, 5.0, 7.2, 12.0])
    e = polarization_energy_meV(np.full(eps.size, 6.8), 7.2, eps)
    assert np.all(np.diff(e) < 0) and e[-1] < 0 < e[0]
    # scales as 1/R
    assert polarization_energy_meV(13.6, 7.2, 2.0) == pytest.approx(
        polarization_energy_meV(6.8, 7.2, 2.0) / 2
    )
    # leading term alone: alpha_1 <x^2> e^2/(eps R), a lower bound of the (positive) series
    r = 6.8 * (3 / (4 * math.pi)) ** (1 / 3)
    first = (
        1e3
        * COULOMB_EV_NM
        / (7.2 * r)
        * 2
        * (7.2 - 2.0)
        / (7.2 + 4.0)
        * (1 / 3 - 1 / (2 * math.pi**2))
    )
    assert first < polarization_energy_meV(6.8, 7.2, 2.0) < 2.5 * first


def test_face_eps_and_effective_medium_limits():
    assert face_eps(2.1, 7.2, 0.0, 6.8) == pytest.approx(7.2)
    assert face_eps(2.1, 7.2, 1e3, 6.8) == pytest.approx(2.1)
    assert face_eps(2.1, 7.2, 0.55, 6.8) > face_eps(2.1, 7.2, 1.44, 6.8) > 2.1
    assert maxwell_garnett_eps(7.2, 2.1, 0.0) == pytest.approx(2.1)
    assert maxwell_garnett_eps(7.2, 2.1, 1.0) == pytest.approx(7.2)


def test_dipolar_coupling_orientation_and_size():
    mu = transition_dipole_enm(27.9, 2.477)
    assert mu / 0.020819 == pytest.approx(20.1, abs=0.3)  # Debye: 1 D = 0.020819 e nm
    r = np.array([[0.0, 0.0, 7.35]])
    j_in = dipolar_coupling_meV(mu, r, 3.0, "in-plane")
    j_out = dipolar_coupling_meV(mu, r, 3.0, "out-of-plane")
    assert j_in[0] == pytest.approx(1e3 * COULOMB_EV_NM * mu**2 / (3.0 * 7.35**3), rel=1e-12)
    assert j_out[0] == pytest.approx(
        -2 * j_in[0], rel=1e-12
    )  # H-type (side by side) vs J-type (head to tail)
    assert 0 < j_in[0] < 1.0  # a fraction of a meV: dipolar transfer cannot make tens of meV


# ----------------------------------------------------------------------------- ensembles


def test_sample_edges_common_random_numbers_and_truncation():
    a = sample_edges(5000, 3, 6.8, 0.5, np.random.SeedSequence(1))
    b = sample_edges(5000, 8, 6.8, 0.5, np.random.SeedSequence(1))
    np.testing.assert_array_equal(a, b[:, :3])  # the bottom layers are the same dots
    assert np.all(np.abs(b - 6.8) <= 2.0)
    assert b.mean() == pytest.approx(6.8, abs=4 * 0.5 / math.sqrt(b.size))
    assert b.std() == pytest.approx(0.5 * 0.9995, rel=0.03)  # truncation at 4 sd removes 6e-5


def test_column_ensemble_energies():
    spec = FilmSpec.from_linker("C3DT", 4)
    tables = dot_tables(spec, PARAMS)
    ens = build_column_ensemble(spec, PARAMS, 50, seed=3, tables=tables)
    st = ens.stack
    i = np.arange(4)
    onsite = st.reference_eV + 1e-3 * (st.electron_meV + st.hole_meV - st.coulomb_meV[:, i, i])
    expected = tables.interpolate("exciton_eV", ens.edges_nm) + 1e-3 * (
        PARAMS.energy_offset_meV + ens.environment_meV
    )
    np.testing.assert_allclose(onsite, expected, atol=1e-12)
    # the inner dots see two neighbouring layers: a lower exciton energy than the end dots
    assert np.all(
        ens.environment_meV[:, 1:3].mean(axis=0) < ens.environment_meV[:, [0, 3]].mean(axis=0)
    )
    # the charge-transfer attraction between nearest neighbours, screened by the film
    r = np.abs(
        np.diff(
            np.cumsum(
                np.c_[
                    np.zeros(50), ens.edges_nm[:, :-1] / 2 + ens.edges_nm[:, 1:] / 2 + spec.gap_nm
                ],
                axis=1,
            ),
            axis=1,
        )
    )
    np.testing.assert_allclose(
        st.coulomb_meV[:, 0, 1], 1e3 * COULOMB_EV_NM / (ens.eps_film * r[:, 0])
    )
    # couplings: geometric mean of the identical-pair couplings (exponential law: the same for all)
    np.testing.assert_allclose(
        st.beta_e_meV,
        PARAMS.coupling_amplitude_meV * math.exp(-PARAMS.decay_per_nm("e") * spec.gap_nm),
    )


def test_solution_environment_has_no_shift():
    spec = FilmSpec(1, 0.55, environment="solution")
    ens = build_column_ensemble(spec, PARAMS, 20, seed=1)
    np.testing.assert_allclose(ens.environment_meV, 0.0, atol=1e-9)
    with pytest.raises(InputError):
        FilmSpec(2, 0.55, environment="solution")


# ----------------------------------------------------------------------------- one film


def _second_derivative_minimum(energy_eV, absorbance, sigma_points: float = 8.0) -> float:
    """Independent peak reference: minimum of a Gaussian-smoothed second derivative (scipy.ndimage),
    refined by a parabola through five points.  Not the analysis' multi-scale Savitzky-Golay finder."""
    from scipy.ndimage import gaussian_filter1d

    d2 = gaussian_filter1d(np.asarray(absorbance, float), sigma_points, order=2)
    i = int(np.argmin(d2))
    sl = slice(i - 2, i + 3)
    c = np.polyfit(energy_eV[sl] - energy_eV[i], d2[sl], 2)
    return float(energy_eV[i] - c[1] / (2 * c[0]))


def test_simulated_peak_is_the_first_excitonic_peak():
    # the film's peak is the first excitonic peak of its own spectrum, checked against a second-derivative
    # minimum computed another way; on these asymmetric bands the minimum moves by 0.1-0.7 meV with the
    # smoothing scale (5-16 meV), so 1 meV; the peak is NOT the absorbance maximum (5 meV away at N = 3)
    mono = simulate_film(
        FilmSpec.from_linker("C3DT", 1), PARAMS, realisations=600, seed=2, emission=False
    )
    res = simulate_film(
        FilmSpec.from_linker("C3DT", 3), PARAMS, realisations=600, seed=2, emission=False
    )
    for r in (mono, res):
        assert r.peak_eV == pytest.approx(
            _second_derivative_minimum(r.energy_eV, r.absorbance), abs=1e-3
        )
    ref_shift = _second_derivative_minimum(
        res.energy_eV, res.absorbance
    ) - _second_derivative_minimum(mono.energy_eV, mono.absorbance)
    assert (res.peak_eV - mono.peak_eV) == pytest.approx(ref_shift, abs=1e-3)
    assert res.truncation_bound < 1e-6
    assert np.trapezoid(res.absorption_per_eV, res.energy_eV) == pytest.approx(1.0, abs=1e-3)


def test_beta_zero_film_equals_the_monolayer():
    # no tunnelling, no dipolar transfer, no added-layer screening: every dot absorbs alone
    p = PARAMS.with_(channels=Channels(tunnelling=False, dielectric=False, dipolar=False))
    mono = simulate_film(FilmSpec(1, 0.55), p, realisations=4000, seed=4, emission=False, blocks=1)
    film = simulate_film(FilmSpec(6, 0.55), p, realisations=4000, seed=4, emission=False, blocks=1)
    # same dots in layer 1; the other layers are further dots of the same distribution
    assert film.peak_eV == pytest.approx(mono.peak_eV, abs=3e-4)
    assert film.centroid_eV == pytest.approx(mono.centroid_eV, abs=3e-4)


def test_tunnelling_moves_the_peak_but_not_the_bright_centroid():
    p = PARAMS.with_(channels=Channels(tunnelling=True, dielectric=False, dipolar=False))
    mono = simulate_film(FilmSpec(1, 0.55), p, realisations=1500, seed=5, emission=False, blocks=1)
    film = simulate_film(FilmSpec(4, 0.55), p, realisations=1500, seed=5, emission=False, blocks=1)
    assert (film.peak_eV - mono.peak_eV) * 1e3 < -20.0
    # exact sum rule: the mean on-site energy of the same kind of dots (statistical only)
    assert (film.centroid_eV - mono.centroid_eV) * 1e3 == pytest.approx(0.0, abs=1.0)


def test_spectra_files_are_read_back_by_the_absorption_reader(tmp_path):
    from qdstack.analysis.absorption import analyse_absorption_series
    from qdstack.io.spectrum import read_spectrum
    from qdstack.io.writers import write_spectrum

    films = [
        simulate_film(
            FilmSpec.from_linker("C10DT", n), PARAMS, realisations=500, seed=1, emission=False
        )
        for n in (1, 2)
    ]
    paths = [write_spectrum(tmp_path / f"C10DT_N{f.layers}.csv", f.spectrum()) for f in films]
    spectra = [read_spectrum(p) for p in paths]
    series = analyse_absorption_series(spectra, [1, 2])
    for f, film in zip(series.films, films):
        assert f.peak.peak_eV == pytest.approx(film.peak_eV, abs=1e-9)


def test_in_plane_neighbours_do_not_move_the_monolayer():
    # 3 x 3 periodic block of a monolayer with in-plane tunnelling through 3 nm of oleyl
    # ligands, against the same dots with tunnelling off: nothing happens.  With the linker's
    # (calibrated, leaky) barrier in the plane instead, the monolayer would shift.
    spec = FilmSpec(1, 0.55, in_plane=3)
    kw = dict(realisations=300, seed=6, emission=False, blocks=1)
    off = simulate_film(spec, PARAMS.with_(channels=Channels(tunnelling=False)), **kw)
    blk = simulate_film(spec, PARAMS, **kw)
    assert blk.beta_e_in_meV < 1e-6
    assert abs(blk.peak_eV - off.peak_eV) * 1e3 < 0.01
    leaky = simulate_film(spec, PARAMS.with_(in_plane_barrier_eV=PARAMS.barrier_e_eV), **kw)
    assert leaky.beta_e_in_meV > 1.0
    assert (leaky.peak_eV - off.peak_eV) * 1e3 < -1.0


def test_monolayer_peak_hardly_moves_with_packing_density():
    # same dots, in-plane gap from close packed (3 nm) to sparse (6 nm): only the dielectric
    # environment changes (Fig. 2b of the paper: constant within +-2 meV)
    kw = dict(realisations=2000, seed=6, emission=False, blocks=1)
    peaks = [
        simulate_film(FilmSpec(1, 0.55, in_plane_gap_nm=g), PARAMS, **kw).peak_eV
        for g in (3.0, 6.0)
    ]
    assert abs(peaks[1] - peaks[0]) * 1e3 < 2.0


def test_monolayer_emission():
    res = simulate_film(
        FilmSpec(1, 0.55), PARAMS, realisations=400, seed=7, emission_realisations=400
    )
    e = res.emission
    np.testing.assert_allclose(
        e.radiative_rate, 1.0
    )  # flat lifetime of isolated dots (Fig. 6d, N = 1)
    np.testing.assert_allclose(e.participation_exciton, 1.0)
    assert e.stokes_shift_meV == pytest.approx(PARAMS.intrinsic_stokes_meV, abs=2.0)


def test_reproducible_and_seeded():
    a = simulate_film(FilmSpec(2, 0.55), PARAMS, realisations=300, seed=11, emission=False)
    b = simulate_film(FilmSpec(2, 0.55), PARAMS, realisations=300, seed=11, emission=False)
    c = simulate_film(FilmSpec(2, 0.55), PARAMS, realisations=300, seed=12, emission=False)
    np.testing.assert_array_equal(a.absorption_per_eV, b.absorption_per_eV)
    assert not np.array_equal(a.absorption_per_eV, c.absorption_per_eV)


def test_bad_inputs():
    with pytest.raises(InputError):
        FilmSpec(0, 0.55)
    with pytest.raises(InputError):
        FilmSpec(2, -0.1)
    with pytest.raises(InputError):
        FilmSpec(2, 0.55, edge_sd_nm=3.0)
    with pytest.raises(InputError):
        FilmSpec(2, 0.55, in_plane=2)
    with pytest.raises(InputError):
        load_parameter_set("nonexistent")
    with pytest.raises(InputError):
        FilmParameters(homogeneous_fwhm_meV=-1.0)
    with pytest.raises(InputError):
        FilmParameters(coupling="magic")
    with pytest.raises(InputError):
        FilmSpec.from_linker("not-a-linker", 2)
    with pytest.raises(InputError):
        simulate_film(FilmSpec(2, 0.55), PARAMS, realisations=0)


# ----------------------------------------------------------------------------- dask


def test_sweep_on_a_local_cluster_equals_in_process():
    from distributed import LocalCluster

    from qdstack.physics.film_model.series import SeriesRequest, sweep

    reqs = [SeriesRequest("C3DT"), SeriesRequest("C10DT", edge_nm=7.0, seed_index=1)]
    kw = dict(realisations=300, seed=5, emission=False, solution_reference=False)
    local = sweep(reqs, [1, 2], PARAMS, **kw)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:
        remote = sweep(reqs, [1, 2], PARAMS, scheduler=cluster.scheduler_address, **kw)
    # the same realisations: equal to rounding. Not bit for bit: engine="auto" picks the compiled
    # Chebyshev kernel in a process where it already ran and numpy in a fresh worker, and the two
    # sum in different orders (they agree to 1e-13, tests/physics/test_exciton_stack.py)
    for a, b in zip(local, remote):
        assert a.to_dict()["peak_eV"] == pytest.approx(b.to_dict()["peak_eV"], rel=1e-12, abs=0)
        assert a.to_dict()["shift_meV"] == pytest.approx(
            b.to_dict()["shift_meV"], rel=1e-9, abs=1e-9
        )
    assert local[0].to_dict()["peak_eV"] != local[1].to_dict()["peak_eV"]


def test_film_switch_dielectric_confinement_places_the_solution_without_offset():
    """With the single-dot dielectric confinement on and no offset, the simulated solution peak lands
    within 10 meV of the measured 2.477 eV; the switch barely changes shifts between films (the term
    depends on the edge, ~1/L, so it slightly widens the size disorder: < 0.5 meV here)."""
    from qdstack.physics.film_model import FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    base = load_parameter_set("enomoto2024").with_(energy_offset_meV=0.0)
    sol = FilmSpec(1, 0.55, environment="solution")
    off = simulate_film(sol, base, realisations=400, seed=1, emission=False, blocks=1).peak_eV
    on = simulate_film(
        sol,
        base.with_(dielectric_confinement=True),
        realisations=400,
        seed=1,
        emission=False,
        blocks=1,
    ).peak_eV
    assert abs(on - 2.477) < 0.010 < abs(off - 2.477)
    films = [
        simulate_film(
            FilmSpec(n, 0.55),
            base.with_(dielectric_confinement=dc),
            realisations=400,
            seed=1,
            emission=False,
            blocks=1,
        ).peak_eV
        for dc in (False, True)
        for n in (1, 2)
    ]
    assert (films[1] - films[0]) == pytest.approx(films[3] - films[2], abs=5e-4)


def test_dimer_charge_transfer_gap_and_effective_exciton_hopping():
    """Issue 13: the CT charging energy raises the CT states by Sigma_e(i) + Sigma_h(j) (Brus n = 0 terms of
    the lone charges), and a dimer's exciton splitting is 2 J_eff = 4 beta_e beta_h / Delta (second order,
    Hestand & Spano 2018) with the larger Delta."""
    from qdstack.physics.exciton_stack import hamiltonian_matrix
    from qdstack.physics.film_model import (
        Channels,
        FilmSpec,
        build_column_ensemble,
        charging_energy_meV,
        load_parameter_set,
    )

    deltas, splits = {}, {}
    for charging in (False, True):
        p = load_parameter_set("enomoto2024").with_(
            coupling_amplitude_meV=0.4,
            channels=Channels(
                tunnelling=True,
                dielectric=False,
                dipolar=False,
                interdot_coulomb=True,
                ct_charging=charging,
            ),
        )
        ens = build_column_ensemble(FilmSpec(2, 0.55, edge_sd_nm=0.0), p, 1, seed=0)
        st = ens.stack
        pe = st.pair_energies_meV()[0]
        assert pe[0, 0] == pytest.approx(pe[1, 1]) and pe[0, 1] == pytest.approx(pe[1, 0])
        delta = pe[0, 1] - pe[0, 0]
        be, bh = float(st.beta_e_meV[0, 0]), float(st.beta_h_meV[0, 0])
        w = np.linalg.eigvalsh(hamiltonian_matrix(st)[0])
        assert w[1] - w[0] == pytest.approx(4 * be * bh / delta, rel=0.03)
        deltas[charging] = delta
        splits[charging] = w[1] - w[0]
        from qdstack.materials import get_material

        sig = charging_energy_meV(
            ens.edges_nm[0], get_material("CsPbBr3").exciton_dielectric, ens.eps_out[0]
        )
    assert deltas[True] - deltas[False] == pytest.approx(sig.sum(), rel=1e-9)
    assert sig.sum() > 20.0  # tens of meV per carrier
    assert splits[True] < splits[False]


def test_charging_energy_vanishes_without_dielectric_contrast():
    from qdstack.physics.film_model import charging_energy_meV

    assert charging_energy_meV(6.8, 7.2, 7.2) == pytest.approx(0.0, abs=1e-12)
    assert charging_energy_meV(6.8, 7.2, 2.3) > 0 > charging_energy_meV(6.8, 7.2, 20.0)


def test_peak_top_readout_beside_the_fit_centre():
    """The parabola vertex finds a Gaussian's maximum between grid points; a simulated film reports it."""
    from qdstack.physics.film_model import FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import peak_top_eV, simulate_film

    def curve(x):
        return np.exp(-0.5 * ((x - 2.44537) / 0.03) ** 2) + 0.2 * np.exp(
            -0.5 * ((x - 2.55) / 0.05) ** 2
        )

    e = np.arange(2.30, 2.60, 0.001)
    dense = np.linspace(2.40, 2.49, 900001)
    truth = dense[np.argmax(curve(dense))]
    assert peak_top_eV(e, curve(e), (2.40, 2.49)) == pytest.approx(truth, abs=2e-5)
    r = simulate_film(
        FilmSpec(8, 0.55),
        load_parameter_set("enomoto2024"),
        realisations=300,
        seed=2,
        emission=False,
        blocks=1,
    )
    assert np.isfinite(r.peak_top_eV) and abs(r.peak_top_eV - r.peak_eV) < 0.015
    assert r.to_dict()["peak_top_eV"] == r.peak_top_eV


def test_gap_from_the_xrd_period():
    from qdstack.errors import InputError
    from qdstack.physics.film_model import FilmSpec

    s = FilmSpec.from_xrd_period(7.35, 3, edge_nm=6.8, linker="C3DT")
    assert s.gap_nm == pytest.approx(0.55) and s.layers == 3 and s.linker == "C3DT"
    with pytest.raises(InputError):
        FilmSpec.from_xrd_period(6.5, 3, edge_nm=6.8)


def test_static_fraction_keeps_uncoupled_spectra_and_localises_coupled_ones():
    """Issue 13: with beta = 0 the spectrum does not change as the static fraction moves (the width is only
    moved from the line into the site energies); with coupling the participation ratio falls as it rises."""
    from qdstack.physics.film_model import Channels, FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    base = load_parameter_set("enomoto2024")
    off = base.with_(
        channels=Channels(tunnelling=False, dielectric=False, dipolar=False, interdot_coulomb=False)
    )
    spec = FilmSpec(2, 0.55)
    a0 = simulate_film(spec, off, realisations=20000, seed=4, emission=False, blocks=1)
    a5 = simulate_film(
        spec, off.with_(static_fraction=0.5), realisations=20000, seed=4, emission=False, blocks=1
    )
    assert a5.peak_eV == pytest.approx(a0.peak_eV, abs=5e-4)
    assert (
        np.max(np.abs(a5.absorption_per_eV - a0.absorption_per_eV))
        < 0.03 * a0.absorption_per_eV.max()
    )
    pr = []
    for f in (0.0, 0.3, 0.7):
        r = simulate_film(
            FilmSpec(6, 0.55),
            base.with_(static_fraction=f),
            realisations=300,
            seed=4,
            emission_realisations=300,
            blocks=1,
            temperatures_K=(295.0,),
        )
        pr.append(r.emission.participation_exciton[0])
    assert pr[0] > pr[1] > pr[2]
    with pytest.raises(Exception):
        base.with_(static_fraction=1.0)


def test_layer_dependent_couplings():
    """bond_scale_by_layer scales the out-of-plane bonds of the chosen layers only (columns and blocks);
    the JSON round trip keeps it."""
    from qdstack.physics.film_model import (
        FilmParameters,
        FilmSpec,
        build_column_ensemble,
        load_parameter_set,
    )

    base = load_parameter_set("enomoto2024")
    p = base.with_(bond_scale_by_layer=(0.0, 2.0))
    for spec in (FilmSpec(4, 0.55, edge_sd_nm=0.0), FilmSpec(3, 0.55, edge_sd_nm=0.0, in_plane=3)):
        ref = build_column_ensemble(spec, base, 2, seed=1).stack
        new = build_column_ensemble(spec, p, 2, seed=1).stack
        nz = spec.in_plane**2 * (spec.layers - 1)
        ratio = new.beta_e_meV[:, :nz] / ref.beta_e_meV[:, :nz]
        layer_of_bond = np.tile(np.arange(spec.layers), spec.in_plane**2)[ref.bonds[:nz, 0]]
        expect = np.where(layer_of_bond == 0, 0.0, np.where(layer_of_bond == 1, 2.0, 1.0))
        assert np.allclose(ratio, expect[None, :])
        assert np.allclose(
            new.beta_e_meV[:, nz:], ref.beta_e_meV[:, nz:]
        )  # in-plane bonds untouched
    assert FilmParameters.from_dict(p.to_dict()).bond_scale_by_layer == (0.0, 2.0)


def test_conformer_bond_disorder():
    """Each bond draws a conformer: a rigid linker keeps its couplings; an alkane's bonds are scaled by
    exp(-kappa (g - g_anti)) with the library's Boltzmann populations (exponential law, checked by counts)."""
    from qdstack.linkers import get_linker
    from qdstack.physics.film_model import FilmSpec, build_column_ensemble, load_parameter_set

    base = load_parameter_set("enomoto2024")
    p = base.with_(conformer_disorder=True)
    bdt = FilmSpec.from_linker("BDT", 4, edge_sd_nm=0.0)
    a = build_column_ensemble(bdt, base, 50, seed=1).stack.beta_e_meV
    b = build_column_ensemble(bdt, p, 50, seed=1).stack.beta_e_meV
    assert np.allclose(a, b, rtol=1e-3)  # BDT's conformers all have the same S-S distance
    spec = FilmSpec.from_linker("C10DT", 5, edge_sd_nm=0.0)
    ref = build_column_ensemble(spec, base, 4000, seed=2).stack.beta_e_meV
    new = build_column_ensemble(spec, p, 4000, seed=2).stack.beta_e_meV
    ratio = (new / ref).ravel()
    geom = get_linker("C10DT")
    gaps = np.asarray(geom.ensemble_ss_distance_nm)
    w = np.asarray(geom.boltzmann_weights())
    expect = np.exp(-base.decay_per_nm("e") * (gaps - spec.gap_nm))
    assert np.mean(ratio) == pytest.approx(np.sum(w * expect) / np.sum(w), rel=0.02)
    anti = np.isclose(ratio, 1.0, atol=1e-6).mean()
    assert anti == pytest.approx(
        np.sum(w[np.isclose(expect, 1.0, atol=1e-6)]) / np.sum(w), abs=0.02
    )
    with pytest.raises(Exception, match="linker"):
        build_column_ensemble(FilmSpec(3, 0.55), p, 2, seed=0)


def test_coverage_vacancies():
    """p < 1: without coupling the absorption per site is p times the full film's at the same peak; with
    coupling the columns break up and the shift shrinks; centroids count only the dots that are there."""
    from qdstack.physics.film_model import Channels, FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    base = load_parameter_set("enomoto2024")
    off = base.with_(
        channels=Channels(tunnelling=False, dielectric=False, dipolar=False, interdot_coulomb=False)
    )
    spec = FilmSpec(4, 0.55)
    full = simulate_film(spec, off, realisations=4000, seed=6, emission=False, blocks=1)
    part = simulate_film(
        spec, off.with_(coverage=0.6), realisations=4000, seed=6, emission=False, blocks=1
    )
    step = full.energy_eV[1] - full.energy_eV[0]
    area = np.sum(part.absorption_per_eV) * step / (np.sum(full.absorption_per_eV) * step)
    assert area == pytest.approx(0.6, abs=0.02)
    assert part.peak_eV == pytest.approx(full.peak_eV, abs=5e-4)
    assert part.centroid_eV == pytest.approx(full.centroid_eV, abs=2e-4)
    shifts = {}
    for p in (1.0, 0.5):
        prm = base.with_(coverage=p)
        pk = [
            simulate_film(
                FilmSpec(n, 0.55), prm, realisations=1500, seed=6, emission=False, blocks=1
            ).peak_eV
            for n in (1, 8)
        ]
        shifts[p] = (pk[1] - pk[0]) * 1e3
    assert shifts[1.0] < shifts[0.5] < 0


def test_per_dot_surface_mechanisms_match_their_reduced_explain_models():
    """The full film model with the thiolate leak / necks vs the reduced mechanisms of qdstack explain
    (surface: uncoupled layers; fusion: mixture of ideal segments), coupling through the linker off."""
    from qdstack.physics.explain import Conditions, context_from_parameters, get_mechanism
    from qdstack.physics.film_model import Channels, FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    ctx = context_from_parameters()
    base = load_parameter_set("enomoto2024").with_(coupling_amplitude_meV=0.0)
    base = base.with_(
        channels=Channels(tunnelling=True, dielectric=False, dipolar=False, interdot_coulomb=True)
    )

    def shift(params, n, gap=0.55):
        grid = 2.45 + np.arange(-3000, 3001) * 1e-4
        pk = []
        for layers in (1, n):
            r = simulate_film(
                FilmSpec(layers, gap),
                params,
                realisations=3000,
                seed=8,
                emission=False,
                blocks=1,
                energy_eV=grid,
            )
            pk.append(r.energy_eV[np.argmax(r.absorbance)])
        return (pk[1] - pk[0]) * 1e3

    full = shift(base.with_(thiolate_leak_nm=0.3), 4)
    red = get_mechanism("surface").predict(Conditions([0.55], [4], 295.0), ctx, delta_nm=0.3)[0]
    assert full == pytest.approx(red, abs=0.5) and full < 0
    full = shift(base.with_(neck_fraction=1.0, neck_nm=6.8), 4)
    red = get_mechanism("fusion").predict(
        Conditions([0.55], [4], 295.0), ctx, fused_fraction=1.0, neck_nm=6.8
    )[0]
    assert full == pytest.approx(red, abs=3.0) and full < 0
