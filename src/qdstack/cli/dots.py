"""``qdstack dots``: single-carrier states and tunnelling coupling of a column of cubes (3D)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from qdstack.cli._common import JSON_OPTION, OUT_OPTION, captured_warnings, emit, stderr_console
from qdstack.errors import InputError, OptionError


def _multipliers(text: str) -> tuple[int, ...]:
    """``"2,3,4"`` -> (2, 3, 4): distinct whole numbers >= 1, or an OptionError."""
    try:
        ks = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise OptionError(
            f"need whole numbers separated by commas, e.g. 2,3,4; got {text!r}", "--multipliers"
        ) from None
    if not ks or min(ks) < 1 or len(set(ks)) != len(ks):
        raise OptionError(f"need distinct whole numbers >= 1, got {text!r}", "--multipliers")
    return ks


def _positive(value: float, option: str, allow_zero: bool = False) -> float:
    if value is None or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise OptionError(f"must be a positive number, got {value}", option)
    return float(value)


def command(
    count: int = typer.Option(2, "--count", help="Number of cubes N, stacked along z."),
    edge_nm: float = typer.Option(6.8, "--edge-nm", help="Cube edge length L [nm]."),
    gap_nm: float = typer.Option(
        0.55,
        "--gap-nm",
        help="Face-to-face gap D between neighbouring cubes [nm] (the linker length).",
    ),
    barrier_eV: float = typer.Option(
        ...,
        "--barrier-eV",
        help="Barrier height V above the dot band edge [eV].",
        show_default=False,
    ),
    mass: float = typer.Option(
        ...,
        "--mass",
        help="Effective mass M inside the dots [electron masses].",
        show_default=False,
    ),
    barrier_mass: float = typer.Option(
        None,
        "--barrier-mass",
        help="Effective mass MB in the barrier [electron masses]; default M.",
        show_default=False,
    ),
    states: int = typer.Option(
        None,
        "--states",
        help="How many of the lowest energies to report (default N; at least N are "
        "always computed for the coupling).",
        show_default=False,
    ),
    grid_nm: float = typer.Option(
        0.3,
        "--grid-nm",
        help="Finest cell size inside the dots [nm]; the coarser grids of the Richardson "
        "family are 1.33x and 2x larger (--multipliers 2,3,4). Smaller is slower and more "
        "accurate.",
    ),
    multipliers: str = typer.Option(
        "2,3,4",
        "--multipliers",
        help="Refinement multipliers k of the Richardson grid family, comma-separated: "
        "the grid of multiplier k has cells --grid-nm * k_max / k. Three values eliminate "
        "h^2 and h^4; 1,2,3 puts the coarsest grid (solved anyway) into the family and "
        "leaves every thin slab between near-coincident faces of a disordered array one "
        "cell fewer on the finest grid (docs/guide/dots.md).",
    ),
    padding_nm: float = typer.Option(
        None,
        "--padding-nm",
        help="Barrier between the outermost dots and the box wall [nm]; default "
        "9/kappa of the highest state (the envelope is down by exp(-9) at the wall).",
        show_default=False,
    ),
    barrier_resolution: float = typer.Option(
        2.0,
        "--barrier-resolution",
        help="kappa * h of the coarsest barrier cells (barrier cells 1/kappa * this / k "
        "on the grid of multiplier k). Larger gives fewer cells: 4 took a disordered "
        "2 x 2 x 4 block at --grid-nm 0.6 --merge-faces-nm 0.2 from 75 to 53 s of CPU, "
        "beta within 0.005 meV (docs/guide/dots.md).",
    ),
    merge_faces_nm: float = typer.Option(
        None,
        "--merge-faces-nm",
        help="Dot faces closer than this share one grid plane (sub-cell material averages) "
        "[nm]; default a third of --grid-nm, at most 0.1; 0 aligns the grid with every "
        "face. The error estimate does not cover the merge: merging within 0.15 nm moved a "
        "disordered block's levels by up to 0.03 meV, within 0.1 nm by < 0.004 meV "
        "(docs/guide/dots.md).",
        show_default=False,
    ),
    edge_sd_nm: float = typer.Option(
        0.0,
        "--edge-sd-nm",
        help="Size disorder: draw every cube's edge from N(L, SD) [nm] (clipped to +-3 SD); "
        "0 (default) gives identical cubes.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of the drawn edges."),
    in_plane: int = typer.Option(
        1,
        "--in-plane",
        help="Columns per in-plane direction: M > 1 solves an M x M x N block of cubes.",
    ),
    in_plane_gap_nm: float = typer.Option(
        1.0,
        "--in-plane-gap-nm",
        help="In-plane gap between neighbouring columns (of mean-size cubes) [nm].",
    ),
    backend: str = typer.Option(
        "cpu",
        "--backend",
        help="Where the fine-grid eigen-solves run: cpu, cupy (GPU; needs the [gpu] "
        "extra) or auto (the GPU only above a measured crossover size; none is known "
        "yet, so auto runs on the CPU).",
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Lowest single-particle energies of N cubes in a column, and their tunnelling coupling.

    Solves, for one carrier (electron or hole), the effective-mass equation with
    BenDaniel-Duke boundary conditions

        -div( hbar^2/(2 m(r)) grad psi ) + V(r) psi = E psi,

    m = M and V = 0 inside the cubes, m = MB and V = barrier outside; psi and
    (1/m) dpsi/dn are continuous at every face. N cubes of edge L are stacked along z
    with gaps D. Energies are above the dot band edge, in meV.

    coupling_meV: N = 2, half the bonding-antibonding splitting (E2 - E1)/2; N > 2,
    the chain's beta = (E_N - E_1)/(4 cos(pi/(N+1))) from the tight-binding band
    E_k = e - 2 beta cos(k pi/(N+1)).

    How: finite volumes on a grid aligned with every face (second order), mirror
    symmetry (each parity sector on an eighth of the box), AMG-preconditioned LOBPCG,
    three geometrically similar grids and Richardson extrapolation to the continuum
    limit. converged_meV estimates the remaining error of the lowest energy: about
    0.05 meV at the default --grid-nm for the example below, whose actual error is
    ~0.002 meV (the estimate is deliberately conservative). The JSON also gives every
    grid's raw energies, the per-state error, the observed convergence order and the
    1D separable (transfer-matrix) estimate for comparison.

    Example (the reference study's C3DT bilayer, electron, 1 eV barrier):

    \b
      qdstack dots --count 2 --edge-nm 6.8 --gap-nm 0.55 --barrier-eV 1 --mass 0.15 --json

    Disordered films: --edge-sd-nm draws every edge from N(L, SD) (--seed), --in-plane M
    solves an M x M x N block (columns --in-plane-gap-nm apart). Dot faces closer than a
    third of --grid-nm (at most 0.1 nm) then share one grid plane with exact sub-cell
    material averages (a grid aligned with every face needs orders of magnitude more
    cells):

    \b
      qdstack dots --count 8 --edge-sd-nm 0.5 --seed 1 --barrier-eV 1 --mass 0.15

    A disordered block: every near-coincident pair of faces leaves a thin slab of cells
    across the whole box, --multipliers 1,2,3 gives each slab one cell fewer on the
    finest grid (about half the unknowns), and barrier cells of 1/kappa keep the three
    grids accurate; all 16 levels of this block to < 0.04 meV in ~45 s on 2 cores:

    \b
      qdstack dots --count 4 --in-plane 2 --edge-sd-nm 0.5 --seed 1 \\
        --barrier-eV 1 --mass 0.15 --states 16 --grid-nm 0.533 \\
        --multipliers 1,2,3 --barrier-resolution 1 --merge-faces-nm 0.1
    """
    from qdstack.physics.coupled_dots import DotSystem, SolverSettings, solve_dots

    if count is None or count < 1:
        raise OptionError(f"must be a whole number >= 1, got {count}", "--count")
    _positive(edge_nm, "--edge-nm")
    if count > 1:
        _positive(gap_nm, "--gap-nm")
    _positive(barrier_eV, "--barrier-eV")
    _positive(mass, "--mass")
    if barrier_mass is not None:
        _positive(barrier_mass, "--barrier-mass")
    _positive(grid_nm, "--grid-nm")
    _positive(barrier_resolution, "--barrier-resolution")
    if padding_nm is not None:
        _positive(padding_nm, "--padding-nm", allow_zero=True)
    if merge_faces_nm is not None:
        _positive(merge_faces_nm, "--merge-faces-nm", allow_zero=True)
    if grid_nm > edge_nm / 2:
        raise OptionError(
            f"{grid_nm} nm is too coarse for {edge_nm} nm cubes (use <= L/2)", "--grid-nm"
        )
    if edge_sd_nm is None or not math.isfinite(edge_sd_nm) or edge_sd_nm < 0:
        raise OptionError(f"must be >= 0, got {edge_sd_nm}", "--edge-sd-nm")
    if in_plane is None or in_plane < 1:
        raise OptionError(f"must be a whole number >= 1, got {in_plane}", "--in-plane")
    if in_plane > 1:
        _positive(in_plane_gap_nm, "--in-plane-gap-nm")
    n_dots = count * in_plane * in_plane
    k = n_dots if states is None else states
    if k is None or k < 1:
        raise OptionError(f"must be a whole number >= 1, got {states}", "--states")

    gaps = (in_plane_gap_nm, in_plane_gap_nm, gap_nm if count > 1 else 1.0)
    shape = (in_plane, in_plane, count)
    if edge_sd_nm > 0:
        try:
            system = DotSystem.disordered(
                shape, edge_nm, edge_sd_nm, gaps, barrier_eV, mass, barrier_mass, seed=seed
            )
        except InputError as e:
            raise OptionError(
                f"{e} (seed {seed}); use larger gaps or less spread", "--edge-sd-nm"
            ) from e
    elif in_plane > 1:
        system = DotSystem.grid(shape, edge_nm, gaps, barrier_eV, mass, barrier_mass)
    else:
        system = DotSystem.column(
            count, edge_nm, gap_nm if count > 1 else 1.0, barrier_eV, mass, barrier_mass
        )
    settings = SolverSettings(
        grid_nm=grid_nm,
        multipliers=_multipliers(multipliers),
        padding_nm=padding_nm,
        backend=backend,
        barrier_resolution=barrier_resolution,
        merge_faces_nm=merge_faces_nm,
    )

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with captured_warnings() as warned:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr_console(),
            transient=True,
        ) as bar:
            task = bar.add_task("solving", total=None)

            def report(done, total, description):
                bar.update(task, completed=done, total=total, description=description)

            result = solve_dots(system, states=k, settings=settings, progress=report)
    payload = result.to_dict()
    payload["shape"] = list(shape)
    payload["edges_nm"] = [d.size_nm[0] for d in system.dots]
    payload["warnings"] = sorted(set(payload["warnings"]) | set(warned))

    figures = None
    if out is not None:

        def levels_fig():
            from qdstack.plotting.dots import plot_dot_levels

            return plot_dot_levels(result).figure

        def wave_fig():
            from qdstack.plotting.dots import plot_dot_wavefunctions

            return plot_dot_wavefunctions(result)

        figures = {"dots_levels": levels_fig, "dots_wavefunctions": wave_fig}
    emit(
        payload, json_output=json_output, out_dir=out, figures=figures, summary=result.print_summary
    )
