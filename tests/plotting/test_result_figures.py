"""``plot()`` of the results that draw one fit or one quantity (the Result interface's figure).

Each test builds the result from data whose truth is known (synthetic spectra, exact model
values) or from the shipped examples, and checks that the figure shows the result's own data
(the plotted points equal the points it was fitted to), the fitted curve (compared with the
model evaluated here from the fitted parameters) and labelled axes with units; and that
``plot(ax=ax)`` draws on the given Axes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[2]
K_B_MEV = 8.617333262e-2  # Boltzmann constant [meV/K]


def _axes(result):
    """``result.plot()`` must return a Figure; its first Axes."""
    fig = result.plot()
    assert isinstance(fig, Figure)
    return fig.axes[0]


def _draws_on_given_axes(result):
    from qdstack.plotting._base import new_figure

    fig, ax = new_figure()
    assert result.plot(ax=ax) is fig
    assert ax.lines or ax.collections or ax.patches


def _line(ax, label_start):
    found = [ln for ln in ax.lines if str(ln.get_label()).startswith(label_start)]
    assert found, f"no line labelled {label_start!r}: {[ln.get_label() for ln in ax.lines]}"
    return found[0]


def _errorbar_points(ax):
    """x, y of the first errorbar container's data line."""
    data_line = ax.containers[0].lines[0]
    return np.asarray(data_line.get_xdata(), float), np.asarray(data_line.get_ydata(), float)


# ----------------------------------------------------------------------------- absorption


@pytest.fixture(scope="module")
def synthetic_peak():
    from qdstack.analysis.absorption import first_excitonic_peak

    rng = np.random.default_rng(3)
    e = np.linspace(2.2, 2.8, 601)
    od = 0.02 * np.exp(-0.5 * ((e - 2.45) / 0.03) ** 2) + 0.01 + 0.03 * (e - 2.2)
    od = od + rng.normal(0, 2e-4, e.size)
    return e, od, first_excitonic_peak(e, od)


def test_excitonic_peak_figure_shows_its_spectrum_and_fit(synthetic_peak):
    e, od, peak = synthetic_peak
    ax = _axes(peak)
    data = _line(ax, "measured")
    x, y = np.asarray(data.get_xdata()), np.asarray(data.get_ydata())
    lo, hi = peak.window_eV
    # the kept spectrum: the input points within the window widened by half its width
    sel = (e >= lo - (hi - lo) / 2) & (e <= hi + (hi - lo) / 2)
    np.testing.assert_array_equal(x, e[sel])
    np.testing.assert_array_equal(y, od[sel])
    # the fitted curve runs through the measured band: within 5 noise sigma at the centre
    fit = _line(ax, "gaussian + background")
    y_fit = np.interp(2.45, fit.get_xdata(), fit.get_ydata())
    y_true = 0.02 + 0.01 + 0.03 * 0.25
    assert y_fit == pytest.approx(y_true, abs=1e-3)
    marker = _line(ax, "peak 2.4")
    assert marker.get_xdata()[0] == pytest.approx(2.45, abs=2e-3)
    assert "eV" in ax.get_xlabel() and "OD" in ax.get_ylabel()
    _draws_on_given_axes(peak)


@pytest.fixture(scope="module")
def series():
    from qdstack.analysis import fit_absorption_series
    from qdstack.io import read_spectrum

    files = sorted((ROOT / "examples" / "absorption_c3dt").glob("C3DT_N*.csv"))
    spectra = [read_spectrum(f) for f in files]
    return spectra, fit_absorption_series(spectra, range(1, 9))


def test_film_peak_figure_is_its_spectrum_with_the_film_named(series):
    spectra, s = series
    film = s.films[2]
    ax = _axes(film)
    assert "N = 3" in ax.get_title() and Path(film.file).name in ax.get_title()
    x = _line(ax, "measured").get_xdata()
    # the points are the file's: the reader's spectrum at those energies
    spec = spectra[2]
    np.testing.assert_allclose(
        _line(ax, "measured").get_ydata(), np.interp(x, spec.energy_eV, spec.intensity), rtol=1e-12
    )
    _draws_on_given_axes(film)


def test_chain_fit_figure_shows_the_peaks_and_the_chain():
    from qdstack.analysis.absorption import fit_chain

    n = np.arange(1, 9)
    e1, beta = 2.47, 23.0
    truth = e1 - 2e-3 * beta * np.cos(np.pi / (n + 1))
    err = np.full(n.size, 5e-4)
    chain = fit_chain(n, truth, err)
    ax = _axes(chain)
    x, y = _errorbar_points(ax)
    np.testing.assert_array_equal(x, n)
    np.testing.assert_allclose(y, truth, rtol=0, atol=1e-15)
    curve = _line(ax, "E1 − 2β")
    nn = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(
        curve.get_ydata(), e1 - 2e-3 * beta * np.cos(np.pi / (nn + 1)), atol=1e-9
    )
    assert "eV" in ax.get_ylabel() and "N" in ax.get_xlabel()
    _draws_on_given_axes(chain)


def test_linear_fit_figure_shows_od_and_the_line():
    from qdstack.analysis.absorption import fit_od_vs_layers

    n = np.arange(1, 7)
    od = 0.022 * n + 0.001 + np.array([1, -1, 2, -2, 1, -1]) * 1e-4
    lin = fit_od_vs_layers(n, od)
    ax = _axes(lin)
    pts = _line(ax, "OD at first peak")
    np.testing.assert_array_equal(pts.get_xdata(), n)
    np.testing.assert_array_equal(pts.get_ydata(), od)
    line = _line(ax, "OD = ")
    slope, icpt = np.polyfit(n, od, 1)  # ordinary least squares, independently
    np.testing.assert_allclose(line.get_ydata(), slope * line.get_xdata() + icpt, atol=1e-9)
    _draws_on_given_axes(lin)


# ----------------------------------------------------------------------------- temperature PL


def _eqn2(T, E0, A_TE, A_EP, hw):
    return E0 + 1e-3 * (A_TE * T + A_EP * (2.0 / np.expm1(hw / (K_B_MEV * T)) + 1.0))


def _eqn3(T, G0, gLO, ELO):
    return G0 + gLO / np.expm1(ELO / (K_B_MEV * T))


def test_energy_fit_figure_shows_points_and_eqn2():
    from qdstack.analysis.tpl import fit_energy

    T = np.array([10, 30, 60, 90, 120, 160, 200, 240, 280.0])
    truth = (2.39, 0.35, -25.0, 18.0)
    E = _eqn2(T, *truth)
    fit = fit_energy(T, E, np.full(T.size, 2e-4))
    ax = _axes(fit)
    x, y = _errorbar_points(ax)
    np.testing.assert_array_equal(x, T)
    np.testing.assert_array_equal(y, E)
    curve = _line(ax, "eqn (2)")
    Tf = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), _eqn2(Tf, *truth), atol=1e-6)
    assert "K" in ax.get_xlabel() and "eV" in ax.get_ylabel()
    _draws_on_given_axes(fit)


def test_width_fit_figure_shows_points_and_eqn3():
    from qdstack.analysis.tpl import fit_width

    T = np.array([10, 30, 60, 90, 120, 160, 200, 240, 280.0])
    truth = (45.0, 60.0, 25.0)
    G = _eqn3(T, *truth)
    fit = fit_width(T, G, np.full(T.size, 0.3))
    ax = _axes(fit)
    x, y = _errorbar_points(ax)
    np.testing.assert_array_equal(x, T)
    np.testing.assert_array_equal(y, G)
    curve = _line(ax, "E_LO free")
    Tf = np.asarray(curve.get_xdata())
    np.testing.assert_allclose(curve.get_ydata(), _eqn3(Tf, *truth), atol=1e-3)
    assert "meV" in ax.get_ylabel()
    _draws_on_given_axes(fit)


# ----------------------------------------------------------------------------- PL peak


def test_pl_peak_figure_marks_the_half_maximum_crossings():
    from qdstack.analysis.pl import pl_peak

    e = np.linspace(2.2, 2.6, 801)
    c, fwhm = 2.40, 0.060
    y = 1000 * np.exp(-4 * math.log(2) * ((e - c) / fwhm) ** 2) + 20
    peak = pl_peak(e, y)
    ax = _axes(peak)
    spec = _line(ax, "spectrum")
    np.testing.assert_array_equal(spec.get_xdata(), e)
    np.testing.assert_array_equal(spec.get_ydata(), y)
    # the half-maximum crossings of a noiseless Gaussian: c -+ FWHM/2, at background + 500
    cross = [ln for ln in ax.lines if ln.get_marker() == "|"][0]
    np.testing.assert_allclose(cross.get_xdata(), [c - fwhm / 2, c + fwhm / 2], atol=5e-4)
    np.testing.assert_allclose(cross.get_ydata(), [520, 520], rtol=1e-3)
    assert any("FWHM 60.0" in str(ln.get_label()) for ln in ax.lines)
    assert "eV" in ax.get_xlabel()
    _draws_on_given_axes(peak)


# ----------------------------------------------------------------------------- TEM sizes


def test_size_fit_figure_is_the_histogram_and_its_law():
    from qdstack.analysis.tem.histogram import fit_size_histogram

    sizes = np.random.default_rng(1).lognormal(math.log(8.0), 0.1, 400)
    normal, lognormal = fit_size_histogram(sizes)
    for f in (normal, lognormal):
        ax = _axes(f)
        counts, edges = np.histogram(sizes, bins=np.asarray(f.edges))
        hist = ax.patches[0]  # the filled stairs
        np.testing.assert_array_equal(np.asarray(f.counts), counts)
        assert hist.get_data().values.tolist() == counts.tolist()
        # the law drawn is the model lmfit fitted: equal to its best fit at the bin centres
        mid = 0.5 * (edges[1:] + edges[:-1])
        np.testing.assert_allclose(f.counts_per_bin(mid), f.fit.best_fit, rtol=1e-10)
        assert "nm" in ax.get_xlabel()
        _draws_on_given_axes(f)


# ----------------------------------------------------------------------------- XRD


def test_xrd_peak_figure_is_its_window_of_the_profile():
    from qdstack.analysis.xrd import fit_xrd_peaks

    q = np.linspace(0.3, 1.0, 700)
    rng = np.random.default_rng(5)
    truth = 2000 * np.exp(-0.5 * ((q - 0.64) / 0.04) ** 2) + 300 / q**2
    y = rng.poisson(truth).astype(float)
    fit = fit_xrd_peaks(q, y, np.sqrt(np.maximum(y, 1)), method="raw")
    pk = fit.peaks[0]
    ax = _axes(pk)
    data = _line(ax, "data")
    near = np.abs(q - pk.q_per_nm) <= 3 * pk.fwhm_per_nm
    np.testing.assert_array_equal(data.get_xdata(), q[near])
    np.testing.assert_array_equal(data.get_ydata(), y[near])
    total = _line(ax, "total fit")
    np.testing.assert_allclose(total.get_ydata(), fit.best_fit[near])
    assert pk.q_per_nm == pytest.approx(0.64, abs=5 * pk.q_per_nm_err)
    assert "nm⁻¹" in ax.get_xlabel()
    _draws_on_given_axes(pk)


def _errorbar_xs(ax):
    return [float(c.lines[0].get_xdata()[0]) for c in ax.containers]


def test_period_and_direction_comparisons_draw_their_periods():
    from qdstack.analysis.xrd.comparison import DirectionComparison, PeriodComparison

    pc = PeriodComparison(8.05, 0.013, 1, 9.2, 0.11, 8.0, 1.2, "--gap-nm", -1.15, -10.4)
    ax = _axes(pc)
    assert _errorbar_xs(ax) == pytest.approx([8.05, 9.2])
    assert "nm" in ax.get_xlabel()
    assert "L + D" in [t.get_text() for t in ax.get_yticklabels()][-1]
    _draws_on_given_axes(pc)
    dc = DirectionComparison(9.78, 0.018, 8.05, 0.013, 0.823, 0.002, 1.73, 0.02, pc)
    ax = _axes(dc)
    assert _errorbar_xs(ax) == pytest.approx([9.78, 8.05, 9.2])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:2] == ["in-plane", "out-of-plane"] and labels[2].startswith("L + D")
    assert list(ax.get_yticks()) == [2, 1, 0]  # drawn top to bottom in that order
    _draws_on_given_axes(dc)


# ----------------------------------------------------------------------------- angle


def test_angle_model_figure_shows_its_predicted_shift_and_width():
    from qdstack.analysis.angle.results import AngleModel

    grid = np.linspace(0, 75, 9)
    shift = -0.0007 * grid**2
    width = 88 + 0.05 * grid
    measured = (0.0, 30.0, 60.0)
    m = AngleModel(
        name="anisotropic-emission",
        params={
            "fraction": 0.3,
            "fraction_err": 0.01,
            "offset_meV": 26.0,
            "offset_meV_err": 1.0,
        },
        chi2=10.0,
        chi2_reduced=1.1,
        n_points=100,
        n_params=12,
        aic=1.0,
        bic=2.0,
        predicted_shift_meV=tuple(-0.0007 * np.array(measured) ** 2),
        curve_angles_deg=tuple(grid),
        curve_shift_meV=tuple(shift),
        curve_fwhm_meV=tuple(width),
        angles_deg=measured,
    )
    fig = m.plot()
    ax, twin = fig.axes
    np.testing.assert_array_equal(_line(ax, "peak shift").get_ydata(), shift)
    np.testing.assert_array_equal(_line(ax, "at the measured").get_xdata(), measured)
    np.testing.assert_array_equal(twin.lines[0].get_ydata(), width)
    assert "meV" in ax.get_ylabel() and "meV" in twin.get_ylabel() and "°" in ax.get_xlabel()
    _draws_on_given_axes(m)


# ----------------------------------------------------------------------------- models


def test_film_result_figure_shows_absorbance_and_pl():
    from qdstack.analysis.pl import pl_peak
    from qdstack.physics.film_model import FilmSpec, load_parameter_set
    from qdstack.physics.film_model.spectra import simulate_film

    params = load_parameter_set("enomoto2024")
    temps = (10.0, 150.0, 295.0)
    film = simulate_film(
        FilmSpec.from_linker("C3DT", 2),
        params,
        realisations=400,
        seed=1,
        emission_realisations=80,
        temperatures_K=temps,
    )
    ax = _axes(film)
    absorb = _line(ax, "absorbance")
    np.testing.assert_array_equal(absorb.get_ydata(), film.absorbance)
    em = film.emission
    k = int(np.argmin(np.abs(np.array(temps) - params.temperature_K)))
    assert em.measurement_index == k
    pl = _line(ax, f"PL at {temps[k]:g} K")
    # the PL row drawn is the one the PL peak was read from
    row = np.asarray(em.pl_per_eV)[k]
    assert pl_peak(em.energy_eV, row).peak_eV == pytest.approx(em.pl_peak_eV, abs=1e-9)
    np.testing.assert_allclose(pl.get_ydata(), row * film.absorbance.max() / row.max())
    assert "eV" in ax.get_xlabel()
    _draws_on_given_axes(film)


def test_single_dot_exciton_figure_adds_up_to_the_transition():
    from qdstack.physics.single_dot import exciton

    for eps_out in (None, 2.2):
        exc = exciton(6.8, "CsPbBr3", eps_out=eps_out)
        ax = _axes(exc)
        bars = ax.patches
        heights_meV = [b.get_height() * 1e3 for b in bars]
        expected = [exc.electron_meV, exc.hole_meV, -exc.binding_meV]
        if eps_out is not None:
            expected.append(exc.polarization_meV)
        np.testing.assert_allclose(heights_meV, expected, atol=1e-9)
        # the bars start at the band gap and end at the transition energy
        assert bars[0].get_y() == pytest.approx(exc.band_gap_eV)
        assert bars[-1].get_y() + bars[-1].get_height() == pytest.approx(exc.energy_eV, abs=1e-12)
        assert "eV" in ax.get_ylabel()
    _draws_on_given_axes(exc)


def test_dot_level_diagram_has_the_separable_column_only_where_there_is_one():
    """The level diagram of `qdstack dots`: identical cubes get the dashed 1D separable
    levels beside the 3D ones; cubes of different sizes (no separable estimate) get one
    column, not an empty second one."""
    from qdstack.physics.coupled_dots import DotSystem, SolverSettings, solve_dots
    from qdstack.plotting.dots import plot_dot_levels

    settings = SolverSettings(grid_nm=1.0, multipliers=(1, 2))
    for system, columns in (
        (DotSystem.column(2, 6.8, 0.55, 1.0, 0.15), 2),
        (DotSystem.disordered((1, 1, 2), 6.8, 0.5, 0.55, 1.0, 0.15, seed=1), 1),
    ):
        r = solve_dots(system, 2, settings)
        assert (r.separable_meV is not None) == (columns == 2)
        ax = plot_dot_levels(r)
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels[0] == "3D (extrapolated)" and len(labels) == columns
        dashed = [c for c in ax.collections if c.get_linestyle()[0][1] is not None]
        assert len(dashed) == (2 if columns == 2 else 0)
