"""Series of films (N = 1, 2, ... layers) and sweeps over linkers x N x sizes x seeds as dask tasks.

:func:`simulate_series` is what ``qdstack simulate`` runs: one linker, a range
of layer counts, the paper's size distribution by default; its result's
``to_dict()`` is the contract's JSON.  :func:`sweep` runs many series at once;
every film is one dask task (``simulate_film`` on one (linker, N, size, seed)),
computed by the local threaded scheduler by default or on a
``dask.distributed`` cluster given its address (``scheduler="tcp://..."``).
The answer does not depend on where the tasks run: each film's randomness is
its own SeedSequence stream (:func:`qdstack.physics.film_model.spectra.film_seed`).

Series analysis reuses the absorption analysis: the chain fit
(:func:`qdstack.analysis.absorption.fit_chain`) and the saturation layer count
(:func:`qdstack.analysis.absorption.saturation_layers`) are those of
``qdstack absorption``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from qdstack.errors import InputError, OptionError
from qdstack.physics.film_model import DotTables, FilmParameters, FilmSpec, dot_tables
from qdstack._result import Result, Table, fmt
from qdstack.physics.film_model.spectra import FilmResult, simulate_film

__all__ = [
    "FilmSeries",
    "SeriesRequest",
    "simulate_series",
    "sweep",
    "run_tasks",
    "sum_rule_beta_meV",
]


def sum_rule_beta_meV(centroid_shift_meV: float, layers: int) -> float:
    """Nearest-neighbour coupling implied by a centroid shift through the chain sum rule.

    For a chain of N sites with uniform coupling beta and parallel dipoles, the
    oscillator-strength-weighted centroid of the band moves by exactly
    ``-2 beta (N - 1) / N`` (disorder in the site energies does not change it), so
    ``beta = -shift N / (2 (N - 1))``.
    """
    if layers < 2:
        return math.nan
    return -centroid_shift_meV * layers / (2.0 * (layers - 1))


@dataclass(frozen=True)
class FilmSeries(Result):
    """Simulated films of one linker (one size distribution, one seed) for several N.

    ``to_dict()`` is the contract JSON of ``qdstack simulate``:
    ``layers``, ``peak_eV``, ``shift_meV`` (relative to N = 1), ``beta_e_meV``,
    ``beta_h_meV``, ``gap_nm``, ``saturation_layers``, plus the extras listed
    in the README (centroids, chain fit, emission, environment, warnings).
    """

    linker: str | None
    gap_nm: float
    edge_nm: float
    edge_sd_nm: float
    parameters: FilmParameters
    films: tuple[FilmResult, ...]
    solution: FilmResult | None = None
    channel_shifts_meV: dict = field(default_factory=dict)
    seed: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def layers(self) -> list[int]:
        return [f.layers for f in self.films]

    @property
    def peak_eV(self) -> np.ndarray:
        return np.array([f.peak_eV for f in self.films])

    def _reference(self) -> FilmResult:
        ref = [f for f in self.films if f.layers == 1]
        if not ref:
            raise InputError("the series has no N = 1 film to take shifts against", "--layers")
        return ref[0]

    @property
    def shift_meV(self) -> np.ndarray:
        return (self.peak_eV - self._reference().peak_eV) * 1e3

    @property
    def shift_meV_err(self) -> np.ndarray:
        """Statistical error of each shift from the blocks (common random numbers: paired)."""
        ref = np.array(self._reference().block_peaks_eV)
        out = []
        for f in self.films:
            b = np.array(f.block_peaks_eV)
            if f.layers == 1 or b.size != ref.size or b.size < 2:
                out.append(0.0 if f.layers == 1 else math.nan)
                continue
            d = (b - ref) * 1e3
            d = d[np.isfinite(d)]
            out.append(float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size >= 2 else math.nan)
        return np.array(out)

    @property
    def saturation_layers(self) -> int | None:
        from qdstack.analysis.absorption import saturation_layers

        return saturation_layers(self.layers, self.shift_meV)

    def chain_fit(self):
        """The chain fit E(N) = E1 - 2 beta cos(pi/(N+1)) of ``qdstack absorption`` on the simulated peaks."""
        from qdstack.analysis.absorption import fit_chain

        if len(set(self.layers)) < 2:
            return None
        err = np.array([f.peak_eV_err for f in self.films])
        return fit_chain(
            self.layers, self.peak_eV, err if np.all(np.isfinite(err) & (err > 0)) else None
        )

    def to_dict(self) -> dict:
        ref = self._reference()
        layers = self.layers
        shift = self.shift_meV
        centroid = [(f.centroid_eV - ref.centroid_eV) * 1e3 for f in self.films]
        fb = [(f.first_band_centroid_eV - ref.first_band_centroid_eV) * 1e3 for f in self.films]
        chain = self.chain_fit()
        n_max = max(layers)
        last = self.films[layers.index(n_max)]
        ref_be = last.beta_e_meV if n_max > 1 else ref.beta_e_meV
        ref_bh = last.beta_h_meV if n_max > 1 else ref.beta_h_meV
        d = {
            # the contract
            "layers": layers,
            "peak_eV": [f.peak_eV for f in self.films],
            "shift_meV": list(map(float, shift)),
            "beta_e_meV": float(ref_be),
            "beta_h_meV": float(ref_bh),
            "gap_nm": self.gap_nm,
            "saturation_layers": self.saturation_layers,
            # extras
            "linker": self.linker,
            "edge_nm": self.edge_nm,
            "edge_sd_nm": self.edge_sd_nm,
            "peak_eV_err": [f.peak_eV_err for f in self.films],
            "shift_meV_err": list(map(float, self.shift_meV_err)),
            "peak_fwhm_meV": [f.peak_fwhm_meV for f in self.films],
            # the paper's readout ("peak top energy") beside the fit centre
            "peak_top_eV": [f.peak_top_eV for f in self.films],
            "shift_peak_top_meV": [(f.peak_top_eV - ref.peak_top_eV) * 1e3 for f in self.films],
            "centroid_shift_meV": centroid,
            "first_band_centroid_shift_meV": fb,
            "beta_from_first_band_centroid_meV": _centroid_beta(layers, fb),
            "chain_fit": None if chain is None else chain.to_dict(),
            "beta_e_in_meV": ref.beta_e_in_meV,
            "beta_h_in_meV": ref.beta_h_in_meV,
            "environment_meV": [f.environment_meV for f in self.films],
            "solution_peak_eV": None if self.solution is None else self.solution.peak_eV,
            "environment_shift_meV": None
            if self.solution is None
            else (ref.peak_eV - self.solution.peak_eV) * 1e3,
            "channel_shifts_meV": {
                k: list(map(float, v)) for k, v in self.channel_shifts_meV.items()
            },
            "emission": [
                None if f.emission is None else {"layers": f.layers, **f.emission.to_dict()}
                for f in self.films
            ],
            "parameters": self.parameters.name,
            "coupling": self.parameters.coupling,
            "channels": self.parameters.channels.label(),
            "n_realisations": self.films[0].n_realisations,
            "seed": self.seed,
            "warnings": list(self.warnings),
        }
        return d

    def summary_blocks(self):
        d = self.to_dict()
        params = self.parameters
        rows = []
        for i, f in enumerate(self.films):
            e = f.emission
            rows.append(
                (
                    str(f.layers),
                    f"{f.peak_eV:.4f}",
                    f"{d['shift_meV'][i]:+.1f}",
                    fmt(d["shift_meV_err"][i], ".2f"),
                    f"{d['centroid_shift_meV'][i]:+.1f}",
                    fmt(e.pl_peak_eV if e else None, ".4f"),
                    fmt(e.stokes_shift_meV if e else None, ".1f"),
                    fmt(e.participation_exciton[-1] if e else None, ".2f"),
                )
            )
        blocks: list = [
            Table(
                f"Simulated films: {self.linker or 'gap'} (gap {self.gap_nm:.3f} nm), {self._edge_text()}, "
                f"parameters {params.name}",
                ("N", "peak eV", "shift meV", "± meV", "centroid meV", "PL eV", "Stokes meV", "PR"),
                tuple(rows),
                align=("r",) * 8,
            )
        ]
        blocks.append(
            f"beta_e = {d['beta_e_meV']:.2f} meV, beta_h = {d['beta_h_meV']:.2f} meV "
            f"({params.coupling} coupling); in-plane beta_e = {d['beta_e_in_meV']:.2g} meV"
        )
        c = d["chain_fit"]
        if c:
            blocks.append(
                f"chain fit of the simulated peaks: beta = {c['beta_meV']:.2f} ± "
                f"{c['beta_meV_err']:.2f} meV; saturation (90 %) at N = {d['saturation_layers']}"
            )
        if d["solution_peak_eV"] is not None:
            blocks.append(
                f"solution peak {d['solution_peak_eV']:.4f} eV; monolayer film "
                f"{d['peak_eV'][0]:.4f} eV (environment {d['environment_shift_meV']:+.1f} meV)"
            )
        for name, v in d["channel_shifts_meV"].items():
            blocks.append(f"{name} only: shift at N = {max(self.layers)}: {v[-1]:+.1f} meV")
        return tuple(blocks)

    def _edge_text(self) -> str:
        pool = self.films[0].spec.edge_pool_nm if self.films else None
        if pool is None:
            return f"edge {self.edge_nm:g} ± {self.edge_sd_nm:g} nm"
        return f"edge {self.edge_nm:.3g} ± {self.edge_sd_nm:.2g} nm (drawn from {len(pool)} measured edges)"

    def _plot(self, ax):
        from qdstack.plotting.film_model import plot_model_shift_vs_layers

        return plot_model_shift_vs_layers([self], ax=ax)


def _centroid_beta(layers, fb):
    """Sum-rule coupling from the largest N with a first-band centroid (None without one)."""
    for n, c in sorted(zip(layers, fb), reverse=True):
        if n > 1 and math.isfinite(c):
            return {"layers": n, "beta_meV": sum_rule_beta_meV(c, n)}
    return None


@dataclass(frozen=True)
class SeriesRequest:
    """One series of a sweep: a linker (or a bare gap) and one size distribution and seed."""

    linker: str | None = None
    gap_nm: float | None = None
    edge_nm: float = 6.8
    edge_sd_nm: float = 0.5
    seed_index: int = 0
    edge_pool_nm: tuple[float, ...] | None = None

    def spec(self, layers: int, **kwargs) -> FilmSpec:
        if self.edge_pool_nm is not None:
            kwargs.setdefault("edge_pool_nm", self.edge_pool_nm)
        if self.linker is not None:
            from qdstack.linkers import get_linker, linker_gap_nm

            geom = get_linker(self.linker)
            gap = linker_gap_nm(geom) if self.gap_nm is None else self.gap_nm
            return FilmSpec(
                layers=layers,
                gap_nm=gap,
                edge_nm=self.edge_nm,
                edge_sd_nm=self.edge_sd_nm,
                linker=geom.name,
                **kwargs,
            )
        if self.gap_nm is None:
            raise OptionError("give a linker or a gap", "--linker")
        return FilmSpec(
            layers=layers,
            gap_nm=self.gap_nm,
            edge_nm=self.edge_nm,
            edge_sd_nm=self.edge_sd_nm,
            **kwargs,
        )


# ----------------------------------------------------------------------------- task execution


def _film_task(
    spec: FilmSpec, params: FilmParameters, tables: DotTables, options: dict
) -> FilmResult:
    """One dask task: one film (top-level so that distributed workers can import it)."""
    return simulate_film(spec, params, tables=tables, **options)


def run_tasks(
    calls: Sequence[tuple[Callable, tuple]],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list:
    """Run ``f(*args)`` for every call (films); results in the order of ``calls``.

    :func:`qdstack._parallel.run_tasks` with BLAS pinned to one thread locally: the
    films are the parallelism, and BLAS threads on top only spin-wait.

    Parameters
    ----------
    calls : sequence of (callable, tuple)
        Top-level functions and their arguments (picklable for a cluster).
    scheduler : str, optional
        None or ``"threads"``: dask's local threaded scheduler (numpy releases
        the GIL); ``"sync"``: one thread (debugging); anything else is the
        address of a dask.distributed scheduler (``"tcp://host:8786"``).
    workers : int, optional
        Threads of the local scheduler (default the number of CPUs).
    progress : callable, optional
        Wraps an iterable that yields once per finished task (a progress bar).
    """
    from qdstack._parallel import is_address
    from qdstack._parallel import run_tasks as _run

    if is_address(scheduler):
        return _run(calls, scheduler=scheduler, workers=workers, progress=progress)
    from qdstack.physics.exciton_stack import _single_thread_blas

    with _single_thread_blas():
        return _run(calls, scheduler=scheduler, workers=workers, progress=progress)


# ----------------------------------------------------------------------------- sweeps


def sweep(
    requests: Sequence[SeriesRequest],
    layers: Sequence[int],
    params: FilmParameters,
    *,
    realisations: int = 20000,
    seed: int = 0,
    blocks: int = 4,
    emission: bool = True,
    emission_layers: Sequence[int] | None = None,
    emission_realisations: int = 600,
    solution_reference: bool = True,
    channel_breakdown: bool = False,
    breakdown_layers: Sequence[int] | None = None,
    in_plane: int = 1,
    in_plane_gap_nm: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> list[FilmSeries]:
    """Simulate many series (linkers x sizes x seeds, each over ``layers``) as dask tasks.

    Parameters
    ----------
    requests : sequence of SeriesRequest
        One per (linker or gap, size distribution, seed index).
    layers : sequence of int
        Layer counts N of every series (1 is added: shifts are relative to it).
    params : FilmParameters
    realisations, seed, blocks, emission_realisations
        See :func:`qdstack.physics.film_model.spectra.simulate_film`.
    emission : bool
        Compute the emission (for ``emission_layers``, default all).
    solution_reference : bool
        Also simulate the isolated dots in solution (the environment shift).
    channel_breakdown : bool
        Also simulate each red-shift channel alone (tunnelling, dielectric,
        dipolar): ``channel_shifts_meV`` (NaN where not simulated).
    breakdown_layers : sequence of int, optional
        The N of the breakdown (default all; N = 1 is always included).
    in_plane, in_plane_gap_nm
        In-plane block size M (1: columns) and in-plane gap of every film.
    scheduler, workers, progress
        See :func:`run_tasks`.

    Returns
    -------
    list of FilmSeries, in the order of ``requests``.
    """
    layers = sorted(set(int(n) for n in layers) | {1})
    if layers[0] < 1:
        raise InputError("layer counts must be >= 1", "--layers")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number >= 0, got {seed!r}", "--seed")
    em_layers = set(layers if emission_layers is None else emission_layers) if emission else set()
    variants = {"all": params}
    if channel_breakdown:
        for name in ("tunnelling", "dielectric", "dipolar"):
            variants[name] = params.with_(channels=params.channels.only(name))
    calls = []
    index = []  # (request i, variant, N or "solution")
    for i, req in enumerate(requests):
        for vname, p in variants.items():
            base = req.spec(1, in_plane=1, in_plane_gap_nm=in_plane_gap_nm)
            tables = dot_tables(base, p)
            for n in layers:
                if (
                    vname != "all"
                    and breakdown_layers is not None
                    and n not in set(breakdown_layers) | {1}
                ):
                    continue
                spec = req.spec(n, in_plane=in_plane, in_plane_gap_nm=in_plane_gap_nm)
                opts = dict(
                    realisations=realisations,
                    seed=seed,
                    seed_index=req.seed_index,
                    blocks=blocks,
                    emission=(vname == "all" and n in em_layers),
                    emission_realisations=emission_realisations,
                )
                calls.append((_film_task, (spec, p, tables, opts)))
                index.append((i, vname, n))
            if vname == "all" and solution_reference:
                spec = replace(base, environment="solution", in_plane_gap_nm=in_plane_gap_nm)
                opts = dict(
                    realisations=realisations,
                    seed=seed,
                    seed_index=req.seed_index,
                    blocks=blocks,
                    emission=False,
                )
                calls.append((_film_task, (spec, p, tables, opts)))
                index.append((i, vname, "solution"))
    results = run_tasks(calls, scheduler=scheduler, workers=workers, progress=progress)

    out = []
    for i, req in enumerate(requests):
        films = {
            n: r
            for (j, v, n), r in zip(index, results)
            if j == i and v == "all" and n != "solution"
        }
        sol = [r for (j, v, n), r in zip(index, results) if j == i and n == "solution"]
        breakdown = {}
        for vname in variants:
            if vname == "all":
                continue
            ps = {n: r.peak_eV for (j, v, n), r in zip(index, results) if j == i and v == vname}
            breakdown[vname] = [(ps[n] - ps[1]) * 1e3 if n in ps else math.nan for n in layers]
        first = films[layers[0]]
        msgs = []
        for f in films.values():
            msgs.extend(f.warnings)
        out.append(
            FilmSeries(
                linker=first.spec.linker,
                gap_nm=first.spec.gap_nm,
                edge_nm=req.edge_nm,
                edge_sd_nm=req.edge_sd_nm,
                parameters=params,
                films=tuple(films[n] for n in layers),
                solution=sol[0] if sol else None,
                channel_shifts_meV=breakdown,
                seed=int(seed),
                warnings=tuple(dict.fromkeys(msgs)),
            )
        )
    return out


def simulate_series(
    linker: str | None = None,
    layers: Sequence[int] = tuple(range(1, 9)),
    params: FilmParameters | None = None,
    *,
    gap_nm: float | None = None,
    edge_nm: float = 6.8,
    edge_sd_nm: float = 0.5,
    edge_pool_nm=None,
    **kwargs,
) -> FilmSeries:
    """Simulate the films of one linker for several N (what ``qdstack simulate`` runs).

    Parameters
    ----------
    linker : str, optional
        Linker name or SMILES (the gap is its S-S distance from the linker library).
    layers : sequence of int
        Layer counts (1 is always added).
    params : FilmParameters, optional
        Default: the ``enomoto2024`` parameter set.
    gap_nm : float, optional
        Use this gap instead of (or without) a linker.
    edge_nm, edge_sd_nm : float
        Size distribution of the dots [nm].
    edge_pool_nm : sequence of float, optional
        Measured edges [nm] to draw the dots from instead of the normal law
        (``qdstack simulate --sizes``); give their mean and sd as ``edge_nm``, ``edge_sd_nm``.
    **kwargs
        Passed to :func:`sweep` (realisations, seed, scheduler, channel_breakdown, ...).

    Returns
    -------
    FilmSeries
    """
    from qdstack.physics.film_model import load_parameter_set

    params = load_parameter_set("enomoto2024") if params is None else params
    pool = None if edge_pool_nm is None else tuple(float(x) for x in edge_pool_nm)
    req = SeriesRequest(
        linker=linker, gap_nm=gap_nm, edge_nm=edge_nm, edge_sd_nm=edge_sd_nm, edge_pool_nm=pool
    )
    return sweep([req], layers, params, **kwargs)[0]
