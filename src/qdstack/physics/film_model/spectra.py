"""Simulated spectra of one film: absorption (first peak, centroids) and thermalised emission.

:func:`simulate_film` draws the disorder realisations of a film
(:func:`qdstack.physics.film_model.build_column_ensemble`), computes the
ensemble-averaged absorption by Chebyshev moments
(:func:`qdstack.physics.exciton_stack.bright_spectrum`), reads the first
excitonic peak with :func:`qdstack.analysis.absorption.first_excitonic_peak`
(the code that reads measured spectra), and, on a subset of realisations
diagonalised in full, the first-band centroid and the emission
(:func:`qdstack.physics.exciton_stack.thermal_emission`).

Randomness: the realisations are drawn in ``blocks`` independent streams,
``SeedSequence(entropy=seed, spawn_key=(seed_index, block))``; the spread of the
peak over blocks gives its statistical error.  The streams do not depend on the
linker or on N (common random numbers), so films of different N from one seed
share their bottom layers and their shifts are far less noisy than their peaks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack.errors import FitError, InputError
from qdstack._result import Result
from qdstack.physics.exciton_stack import (
    ExcitonStack,
    _choose_moments,
    chebyshev_moments,
    gaussian_sigma_meV,
    spectral_bounds_meV,
    thermal_emission,
)
from qdstack.physics.film_model import (
    DotTables,
    FilmParameters,
    FilmSpec,
    build_column_ensemble,
    dot_tables,
)

__all__ = [
    "OD_SCALE_EV",
    "DEFAULT_TEMPERATURES_K",
    "FilmEmission",
    "FilmResult",
    "simulate_film",
    "film_seed",
    "concat_stacks",
    "peak_top_eV",
]

#: Display scale of the simulated absorbance: OD = N * OD_SCALE_EV * (absorption per dot [1/eV]);
#: puts a monolayer of the reference dots near 0.02 OD at its first peak.
OD_SCALE_EV = 0.002

#: Temperatures of the emission calculation [K] (those of Fig. 6d and the room-temperature spectra).
DEFAULT_TEMPERATURES_K = (10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 250.0, 295.0)


def film_seed(seed, seed_index: int = 0, block: int = 0) -> np.random.SeedSequence:
    """The stream of one block of realisations: ``SeedSequence(seed, spawn_key=(seed_index, block))``.

    Independent of the linker and of N on purpose (common random numbers).
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(
            entropy=seed.entropy, spawn_key=tuple(seed.spawn_key) + (int(seed_index), int(block))
        )
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number >= 0, got {seed!r}", "--seed")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(int(seed_index), int(block)))


def concat_stacks(stacks: list[ExcitonStack]) -> ExcitonStack:
    """Realisations of several stacks of the same shape and reference, as one stack."""
    first = stacks[0]
    cat = np.concatenate
    return ExcitonStack(
        electron_meV=cat([s.electron_meV for s in stacks]),
        hole_meV=cat([s.hole_meV for s in stacks]),
        coulomb_meV=cat([s.coulomb_meV for s in stacks]),
        bonds=first.bonds,
        beta_e_meV=cat([s.beta_e_meV for s in stacks]),
        beta_h_meV=cat([s.beta_h_meV for s in stacks]),
        dipolar_meV=None if first.dipolar_meV is None else cat([s.dipolar_meV for s in stacks]),
        reference_eV=first.reference_eV,
    )


@dataclass(frozen=True)
class FilmEmission:
    """Emission of one film (thermalised exciton within each column).

    Attributes
    ----------
    temperatures_K : tuple of float
    radiative_rate : tuple of float
        Thermal radiative rate relative to one isolated dot, ``<sum_n p_n f_n>``.
    radiative_rate_err : tuple of float
    participation_exciton, participation_electron, participation_hole : tuple of float
        Emission-weighted participation ratios (dots the emitting state spans).
    pl_peak_eV, pl_peak_eV_err, pl_fwhm_meV : float
        PL peak and FWHM at the measurement temperature (:func:`qdstack.analysis.pl.pl_peak`).
    stokes_shift_meV : float
        First absorption peak minus PL peak [meV] (includes the isolated dot's
        intrinsic Stokes shift, an input).
    energy_eV : ndarray
    pl_per_eV : ndarray, shape (n_T, n_E)
        PL spectra (relative photon rate per unit energy).
    n_realisations : int
    measurement_index : int
        Row of ``pl_per_eV`` at the measurement temperature (where ``pl_peak_eV`` was read).
    """

    temperatures_K: tuple[float, ...]
    radiative_rate: tuple[float, ...]
    radiative_rate_err: tuple[float, ...]
    participation_exciton: tuple[float, ...]
    participation_electron: tuple[float, ...]
    participation_hole: tuple[float, ...]
    pl_peak_eV: float
    pl_peak_eV_err: float
    pl_fwhm_meV: float
    stokes_shift_meV: float
    energy_eV: np.ndarray = field(repr=False)
    pl_per_eV: np.ndarray = field(repr=False)
    n_realisations: int = 0
    measurement_index: int = field(default=-1, repr=False, compare=False)

    def to_dict(self) -> dict:
        return {
            "temperatures_K": list(self.temperatures_K),
            "radiative_rate": list(self.radiative_rate),
            "radiative_rate_err": list(self.radiative_rate_err),
            "radiative_lifetime_rel": [1.0 / r if r > 0 else None for r in self.radiative_rate],
            "participation_exciton": list(self.participation_exciton),
            "participation_electron": list(self.participation_electron),
            "participation_hole": list(self.participation_hole),
            "pl_peak_eV": self.pl_peak_eV,
            "pl_peak_eV_err": self.pl_peak_eV_err,
            "pl_fwhm_meV": self.pl_fwhm_meV,
            "stokes_shift_meV": self.stokes_shift_meV,
            "n_realisations": self.n_realisations,
        }


@dataclass(frozen=True)
class FilmResult(Result):
    """Simulated absorption (and emission) of one film.

    Attributes
    ----------
    spec : FilmSpec
    parameters : str
        Name of the parameter set.
    energy_eV : ndarray, shape (n_E,)
    absorption_per_eV : ndarray
        Ensemble absorption per dot [1/eV] (area 1).
    absorbance : ndarray
        Display absorbance ``N * OD_SCALE_EV * absorption_per_eV`` [OD].
    peak_eV, peak_eV_err : float
        First excitonic peak (:func:`first_excitonic_peak`) and its statistical
        error over blocks of realisations (with the fit's own error) [eV].
    peak_fwhm_meV : float
    centroid_eV : float
        Exact oscillator-strength-weighted mean energy of all bright weight [eV]
        (moves only by the dipolar and dielectric terms: a sum rule).
    first_band_centroid_eV, first_band_centroid_eV_err : float
        Oscillator-strength-weighted mean of the lowest S states of each column
        (S = dots per column/block: the exciton band), from the fully
        diagonalised subset [eV].
    beta_e_meV, beta_h_meV : float
        Mean out-of-plane couplings [meV] (the tabulated value at the mean edge for N = 1).
    beta_e_in_meV, beta_h_in_meV : float
        In-plane couplings at the mean edge [meV].
    environment_meV : float
        Mean dielectric shift of the dots' exciton relative to solution [meV].
    block_peaks_eV : tuple of float
        First peak of each block of realisations (NaN where none was read) [eV].
    n_realisations, n_moments : int
    truncation_bound : float
        Bound of the Chebyshev truncation error relative to the spectrum's peak.
    emission : FilmEmission or None
    warnings : tuple of str
    peak_top_eV : float
        The paper's readout, the "peak top energy": the maximum of the simulated
        absorbance inside the first peak's fit window (parabola through the highest
        grid point and its neighbours) [eV], beside the fit centre ``peak_eV``.
    """

    spec: FilmSpec
    parameters: str
    energy_eV: np.ndarray = field(repr=False)
    absorption_per_eV: np.ndarray = field(repr=False)
    absorbance: np.ndarray = field(repr=False)
    peak_eV: float = math.nan
    peak_eV_err: float = math.nan
    peak_fwhm_meV: float = math.nan
    centroid_eV: float = math.nan
    first_band_centroid_eV: float = math.nan
    first_band_centroid_eV_err: float = math.nan
    beta_e_meV: float = math.nan
    beta_h_meV: float = math.nan
    beta_e_in_meV: float = math.nan
    beta_h_in_meV: float = math.nan
    environment_meV: float = math.nan
    block_peaks_eV: tuple[float, ...] = ()
    n_realisations: int = 0
    n_moments: int = 0
    truncation_bound: float = 0.0
    emission: FilmEmission | None = None
    warnings: tuple[str, ...] = ()
    peak_top_eV: float = math.nan

    @property
    def layers(self) -> int:
        return self.spec.layers

    def _plot(self, ax):
        from qdstack.plotting.film_model import plot_film

        return plot_film(self, ax=ax)

    def spectrum(self):
        """The simulated absorbance as a :class:`qdstack.io.spectrum.Spectrum` (what readers return)."""
        from qdstack.io.spectrum import Spectrum

        name = f"{self.spec.linker or 'gap'}_N{self.layers}"
        return Spectrum(
            self.energy_eV, self.absorbance, kind="absorption", x_unit="eV", source=name
        )

    def to_dict(self) -> dict:
        return {
            "layers": self.layers,
            "linker": self.spec.linker,
            "gap_nm": self.spec.gap_nm,
            "edge_nm": self.spec.edge_nm,
            "edge_sd_nm": self.spec.edge_sd_nm,
            "in_plane": self.spec.in_plane,
            "peak_eV": self.peak_eV,
            "peak_eV_err": self.peak_eV_err,
            "peak_fwhm_meV": self.peak_fwhm_meV,
            "peak_top_eV": self.peak_top_eV,
            "centroid_eV": self.centroid_eV,
            "first_band_centroid_eV": self.first_band_centroid_eV,
            "first_band_centroid_eV_err": self.first_band_centroid_eV_err,
            "beta_e_meV": self.beta_e_meV,
            "beta_h_meV": self.beta_h_meV,
            "beta_e_in_meV": self.beta_e_in_meV,
            "beta_h_in_meV": self.beta_h_in_meV,
            "environment_meV": self.environment_meV,
            "n_realisations": self.n_realisations,
            "n_moments": self.n_moments,
            "truncation_bound": self.truncation_bound,
            "parameters": self.parameters,
            "emission": None if self.emission is None else self.emission.to_dict(),
            "warnings": list(self.warnings),
        }


def _energy_grid(tables: DotTables, params: FilmParameters, spec: FilmSpec) -> np.ndarray:
    """Default grid: +-0.3 eV around the mean single-dot exciton, 1 meV steps."""
    centre = float(tables.interpolate("exciton_eV", spec.edge_nm)) + 1e-3 * params.energy_offset_meV
    return np.round(centre, 3) + np.arange(-300, 301) * 1e-3


def _first_peak(energy, absorbance, source):
    from qdstack.analysis.absorption import first_excitonic_peak

    return first_excitonic_peak(energy, absorbance, source=source)


def peak_top_eV(energy_eV, absorbance, window_eV=None) -> float:
    """Energy of the absorbance maximum [eV]: the paper's "peak top energy".

    The highest grid point inside ``window_eV`` (the first peak's fit window; the
    whole grid when None) and the vertex of the parabola through it and its two
    neighbours.  NaN when the maximum sits on the window's edge.
    """
    e = np.asarray(energy_eV, dtype=float)
    a = np.asarray(absorbance, dtype=float)
    sel = np.ones(e.size, bool) if window_eV is None else (e >= window_eV[0]) & (e <= window_eV[1])
    idx = np.nonzero(sel)[0]
    if idx.size < 3:
        return math.nan
    i = int(idx[np.argmax(a[idx])])
    if i <= idx[0] or i >= idx[-1]:
        return math.nan
    y0, y1, y2 = a[i - 1], a[i], a[i + 1]
    den = y0 - 2.0 * y1 + y2
    if den >= 0:
        return float(e[i])
    return float(e[i] + 0.5 * (e[i + 1] - e[i - 1]) / 2.0 * (y0 - y2) / den)


def simulate_film(
    spec: FilmSpec,
    params: FilmParameters,
    *,
    realisations: int = 20000,
    seed=0,
    seed_index: int = 0,
    blocks: int = 4,
    tables: DotTables | None = None,
    energy_eV=None,
    emission: bool = True,
    emission_realisations: int = 600,
    temperatures_K=DEFAULT_TEMPERATURES_K,
    threads: int = 1,
    tolerance: float = 1e-8,
) -> FilmResult:
    """Simulate the absorption (and emission) of one film.

    Parameters
    ----------
    spec : FilmSpec
        Geometry (layers, gap, sizes, in-plane block).
    params : FilmParameters
        Physics (barriers, dielectric constants, channels, line width).
    realisations : int
        Disorder realisations of the absorption (columns, or M x M x N blocks).
    seed : int or SeedSequence
        Root of the random streams (:func:`film_seed`).
    seed_index : int
        Which of several independent ensembles of a sweep (part of the stream key).
    blocks : int
        Independent streams the realisations are drawn in; the peak's statistical
        error is the standard error over blocks (>= 2 for an error).
    tables : DotTables, optional
        Per-dot physics (default :func:`qdstack.physics.film_model.dot_tables`; pass it
        when simulating several N of one film to call the engine once).
    energy_eV : array_like, optional
        Energy grid [eV] (default +-0.3 eV around the dots' exciton, 1 meV steps).
    emission : bool
        Also compute the thermalised emission and the first-band centroid on a
        subset of ``emission_realisations`` realisations (full diagonalisation).
    temperatures_K : sequence of float
        Temperatures of the emission [K]; the PL peak is read at the one closest
        to ``params.temperature_K``.
    threads : int
        Threads of the Chebyshev moments.
    tolerance : float
        Chebyshev truncation tolerance (relative to one line's peak height).

    Returns
    -------
    FilmResult

    Raises
    ------
    InputError
        Bad numbers of realisations/blocks.
    FitError
        No first excitonic peak could be read from the simulated spectrum.
    """
    if not (isinstance(realisations, (int, np.integer)) and realisations >= 1):
        raise InputError(
            f"the number of realisations must be >= 1, got {realisations!r}", "--realisations"
        )
    blocks = max(1, min(int(blocks), int(realisations)))
    tables = dot_tables(spec, params) if tables is None else tables
    energy = (
        _energy_grid(tables, params, spec) if energy_eV is None else np.asarray(energy_eV, float)
    )
    sizes = [
        realisations // blocks + (1 if b < realisations % blocks else 0) for b in range(blocks)
    ]
    ensembles = [
        build_column_ensemble(spec, params, k, seed=film_seed(seed, seed_index, b), tables=tables)
        for b, k in enumerate(sizes)
    ]
    stack = concat_stacks([e.stack for e in ensembles]) if blocks > 1 else ensembles[0].stack
    fwhm = float(
        params.dynamic_fwhm_at(params.temperature_K)
    )  # the static part is in the site energies
    sigma = gaussian_sigma_meV(fwhm)

    # common Chebyshev map for every block, moments per block
    lo, hi = spectral_bounds_meV(stack)
    pad = 1e-3 * max(hi - lo, sigma) + 1e-9
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo) + pad
    e_meV = (energy - stack.reference_eV) * 1e3
    m, coeffs, bound = _choose_moments(e_meV, centre, half, sigma, tolerance, 4096)
    starts = np.cumsum([0] + sizes)
    block_mu = [
        chebyshev_moments(stack.subset(slice(a, b)), m, centre, half, threads=threads)
        for a, b in zip(starts[:-1], starts[1:])
    ]
    weights = np.array(sizes, float) / realisations
    mu = np.sum([w * x for w, x in zip(weights, block_mu)], axis=0)
    per_dot = (mu @ coeffs) * 1e3
    absorbance = spec.layers * OD_SCALE_EV * per_dot

    msgs: list[str] = []
    name = f"simulated {spec.linker or f'gap {spec.gap_nm:g} nm'} N = {spec.layers}"
    peak = _first_peak(energy, absorbance, name)
    msgs.extend(peak.warnings)
    if peak.window_eV[0] <= energy[0] + 1e-9 or peak.window_eV[1] >= energy[-1] - 1e-9:
        msgs.append(f"{name}: the first peak's fit window reaches the end of the energy grid")
    block_peaks = []
    if blocks >= 2:
        for x in block_mu:
            try:
                block_peaks.append(
                    _first_peak(
                        energy, spec.layers * OD_SCALE_EV * (x @ coeffs) * 1e3, name
                    ).peak_eV
                )
            except FitError:
                block_peaks.append(math.nan)
    errs = [v for v in block_peaks if math.isfinite(v)]
    stat = float(np.std(errs, ddof=1) / math.sqrt(len(errs))) if len(errs) >= 2 else math.nan
    fit_err = peak.peak_eV_err if math.isfinite(peak.peak_eV_err) else 0.0
    peak_err = math.hypot(stat, fit_err) if math.isfinite(stat) else peak.peak_eV_err

    i = np.arange(stack.n_sites)
    onsite = stack.electron_meV + stack.hole_meV - stack.coulomb_meV[:, i, i]
    masks = [e.present for e in ensembles]
    if all(m is None for m in masks):
        centroid = float(np.mean(onsite))
        if stack.dipolar_meV is not None:
            centroid += float(np.mean(stack.dipolar_meV.sum(axis=(1, 2)) / stack.n_sites))
    else:  # the bright centroid of the dots that are there
        present = np.concatenate(
            [
                np.ones(e.stack.electron_meV.shape, bool) if e.present is None else e.present
                for e in ensembles
            ]
        )
        centroid = float(np.sum(onsite[present]) / max(present.sum(), 1))
        if stack.dipolar_meV is not None:
            centroid += float(stack.dipolar_meV.sum() / max(present.sum(), 1))
    centroid_eV = stack.reference_eV + 1e-3 * centroid

    nz = spec.in_plane**2 * (spec.layers - 1)  # out-of-plane bonds come first
    if nz > 0:
        be = float(np.mean(stack.beta_e_meV[:, :nz]))
        bh = float(np.mean(stack.beta_h_meV[:, :nz]))
    elif params.channels.tunnelling:
        be = float(tables.interpolate("beta_e_meV", spec.edge_nm))
        bh = float(tables.interpolate("beta_h_meV", spec.edge_nm))
    else:
        be = bh = 0.0
    be_in = (
        float(tables.interpolate("beta_e_in_meV", spec.edge_nm))
        if params.channels.tunnelling
        else 0.0
    )
    bh_in = (
        float(tables.interpolate("beta_h_in_meV", spec.edge_nm))
        if params.channels.tunnelling
        else 0.0
    )

    fb = fb_err = math.nan
    em = None
    if emission:
        # full diagonalisation costs ~ n D^3 (D = S^2 pair states): keep it to ~2e9 (a few seconds)
        cap = int(2e9 // stack.dimension**3)
        if cap < 40:
            msgs.append(
                f"{name}: emission skipped: {stack.dimension} pair states are too many to "
                "diagonalise for enough realisations (use fewer dots per block)"
            )
            emission = False
    if emission:
        n_em = max(2, min(int(emission_realisations), stack.n_realisations, cap))
        sub = stack.subset(slice(0, n_em))
        em, th = _emission(sub, params, energy, temperatures_K, peak.peak_eV, name, msgs)
        fb = stack.reference_eV + 1e-3 * th.first_band_centroid_meV
        fb_err = 1e-3 * th.first_band_centroid_meV_err
    env = float(np.mean(np.concatenate([e.environment_meV.ravel() for e in ensembles])))
    top = peak_top_eV(energy, absorbance, peak.window_eV)
    return FilmResult(
        spec=spec,
        parameters=params.name,
        energy_eV=energy,
        absorption_per_eV=per_dot,
        absorbance=absorbance,
        peak_eV=peak.peak_eV,
        peak_eV_err=peak_err,
        peak_fwhm_meV=peak.fwhm_meV,
        centroid_eV=centroid_eV,
        first_band_centroid_eV=fb,
        first_band_centroid_eV_err=fb_err,
        beta_e_meV=be,
        beta_h_meV=bh,
        beta_e_in_meV=be_in,
        beta_h_in_meV=bh_in,
        environment_meV=env,
        block_peaks_eV=tuple(map(float, block_peaks)),
        n_realisations=int(realisations),
        n_moments=int(m),
        truncation_bound=float(bound * 1e3 / max(per_dot.max(), 1e-300)),
        emission=em,
        warnings=tuple(msgs),
        peak_top_eV=top,
    )


def _emission(stack, params: FilmParameters, energy, temperatures_K, abs_peak_eV, name, msgs):
    from qdstack.analysis.pl import pl_peak

    t = np.asarray(temperatures_K, dtype=float)
    fw = params.dynamic_fwhm_at(t)
    # the isolated dot's intrinsic Stokes shift moves every emission line down
    shifted = energy + 1e-3 * params.intrinsic_stokes_meV
    th = thermal_emission(stack, t, shifted, fwhm_meV=fw)
    k = int(np.argmin(np.abs(t - params.temperature_K)))
    try:
        pk = pl_peak(energy, th.pl_per_eV[k], source=f"{name} PL")
        msgs.extend(pk.warnings)
        pl_e, pl_err, pl_w = pk.peak_eV, pk.peak_eV_err, pk.fwhm_meV
    except FitError as exc:
        msgs.append(f"{name}: no PL peak read ({exc})")
        pl_e = pl_err = pl_w = math.nan
    return FilmEmission(
        temperatures_K=tuple(map(float, t)),
        radiative_rate=tuple(map(float, th.radiative_rate)),
        radiative_rate_err=tuple(map(float, th.radiative_rate_err)),
        participation_exciton=tuple(map(float, th.participation_exciton)),
        participation_electron=tuple(map(float, th.participation_electron)),
        participation_hole=tuple(map(float, th.participation_hole)),
        pl_peak_eV=float(pl_e),
        pl_peak_eV_err=float(pl_err),
        pl_fwhm_meV=float(pl_w),
        stokes_shift_meV=float((abs_peak_eV - pl_e) * 1e3),
        energy_eV=energy,
        pl_per_eV=th.pl_per_eV,
        n_realisations=stack.n_realisations,
        measurement_index=k,
    ), th
