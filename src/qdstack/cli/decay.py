"""``qdstack decay``: multi-exponential reconvolution fits of TCSPC decays, single or a T series."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from qdstack.cli._common import (
    JSON_OPTION,
    OUT_OPTION,
    captured_warnings,
    emit,
    parse_float_list,
    stderr_console,
)
from qdstack.errors import InputError, OptionError


def _read(path: Path, channel, time_unit, t2_bin_ns):
    from qdstack.io.decay import read_decay

    return read_decay(path, channel, time_unit=time_unit, t2_bin_ns=t2_bin_ns)


def _irf_for(decay, irf_hist, irf_path: str):
    """The IRF counts on the decay's bins.

    The IRF may cover fewer or more bins than the decay, but its bins must have
    the same width and fall on the same grid; anything else is an error.
    """
    import numpy as np

    if irf_hist is None:
        return None
    dt_d, dt_i = decay.bin_width_ns, irf_hist.bin_width_ns
    if abs(dt_i - dt_d) > 1e-3 * dt_d:
        raise InputError(
            f"IRF bins are {dt_i * 1e3:.4g} ps wide but the decay's ({decay.source}) are {dt_d * 1e3:.4g} ps; "
            "record the IRF with the same TCSPC resolution",
            irf_path,
        )
    offset = (float(irf_hist.time_ns[0]) - float(decay.time_ns[0])) / dt_d
    if abs(offset - round(offset)) > 1e-3:
        raise InputError(
            f"the IRF time axis starts {offset * dt_d:.4g} ns from the decay's, not a whole number of bins",
            irf_path,
        )
    k = int(round(offset))  # IRF bin j sits on decay bin j + k
    n = decay.counts.size
    src = np.asarray(irf_hist.counts)
    lo, hi = max(0, k), min(n, k + src.size)
    if hi - lo < 8:
        raise InputError(
            f"the IRF time axis does not overlap the decay's ({decay.source})", irf_path
        )
    out = np.zeros(n)  # bins the IRF export does not cover have no response
    out[lo:hi] = src[lo - k : hi - k]
    return out


def command(
    files: list[Path] = typer.Argument(
        ...,
        show_default=False,
        help="Decay histogram(s): text (time, counts; unit ns/ps/us from the header, default ns), "
        "PicoQuant .ptu (T2/T3) or .phu, Becker & Hickl .sdt. Several files need --series.",
    ),
    irf: Path = typer.Option(None, "--irf", help="Measured IRF (same formats, same time bins)."),
    irf_fwhm_ns: float = typer.Option(
        None,
        "--irf-fwhm-ns",
        help="No measured IRF: use a Gaussian IRF of this FWHM [ns] (position fitted).",
    ),
    components: int = typer.Option(
        1, "--components", "-k", min=1, max=4, help="Number of exponentials, 1-4."
    ),
    channel: int = typer.Option(
        None,
        "--channel",
        help="Detector channel (PTU), curve (PHU/SDT) or count column (text, 0 = first). "
        "Default: the channel with most photons.",
    ),
    irf_channel: int = typer.Option(
        None, "--irf-channel", help="Channel of the IRF file (default: most photons)."
    ),
    period_ns: float = typer.Option(
        None,
        "--period-ns",
        help="Laser repetition period [ns]; default from the file (PTU/PHU/SDT). With it, the tails of "
        "earlier pulses are part of the model (matters when the slow lifetime is not << period).",
    ),
    no_period: bool = typer.Option(
        False, "--no-period", help="Ignore the period in the file (single-pulse model)."
    ),
    statistic: str = typer.Option(
        "poisson",
        "--statistic",
        help="poisson: maximum likelihood for counts (default, unbiased at low counts); "
        "neyman: chi2 with sigma^2 = max(y, 1), as most vendor software.",
    ),
    window_ns: str = typer.Option(
        None,
        "--window-ns",
        help="Fit window START,END [ns]. Default: from the IRF rise to where the decay meets the background.",
    ),
    fix_shift_ns: float = typer.Option(
        None, "--fix-shift-ns", help="Hold the IRF shift at this value [ns]."
    ),
    time_unit: str = typer.Option(
        None, "--time-unit", help="Time unit of text files (ns, ps, us), overriding the header."
    ),
    t2_bin_ns: float = typer.Option(None, "--t2-bin-ns", help="Bin width for T2 PTU files [ns]."),
    series: bool = typer.Option(
        False,
        "--series",
        help="Fit every FILE (a temperature series) and write the lifetime-vs-temperature table "
        "(lifetime_vs_T.csv) and figure (Fig. 6d).",
    ),
    temperatures: str = typer.Option(
        None,
        "--temperatures",
        help="--series: temperature [K] of each file, in order. Default: from the file names (PL_010K.ptu).",
    ),
    scheduler: str = typer.Option(
        None,
        "--scheduler",
        help="--series: dask scheduler address (tcp://host:8786) for a cluster; 'serial' fits in this "
        "process. Default: a local dask cluster.",
    ),
    workers: int = typer.Option(
        None, "--workers", min=1, help="--series: worker processes of the local cluster."
    ),
    json_output: bool = JSON_OPTION,
    out: Path = OUT_OPTION,
) -> None:
    """Lifetimes from TCSPC decays: IRF reconvolution with 1-4 exponentials and a background.

    Model: counts(t) = sum_k a_k [IRF(t - shift) (*) exp(-t/tau_k)] + background, with the IRF
    measured (--irf) or Gaussian (--irf-fwhm-ns), its sub-bin shift fitted, and the tails of
    earlier laser pulses added when the repetition period is known. Amplitudes come from
    non-negative (variable-projection) solves; lifetimes and shift from lmfit's
    Levenberg-Marquardt. Default statistic: Poisson maximum likelihood (signed deviance
    residuals); --statistic neyman for vendor-style chi2.

    Reported: each component's amplitude (fractions summing to 1), tau and its error; the
    amplitude-weighted sum(a tau)/sum(a) and intensity-weighted sum(a tau^2)/sum(a tau)
    average lifetimes with propagated errors; shift, background (counts per bin), reduced
    chi2 (Pearson for Poisson fits), deviance per dof, window, and warnings for components
    the data cannot support.

    Examples:

      qdstack decay film.ptu --irf-fwhm-ns 0.2 --components 2

      qdstack decay decay.csv --irf irf.csv -k 3 --out fit/

      qdstack decay --series PL_010K.ptu PL_100K.ptu PL_300K.ptu --irf irf.ptu -k 3 --out series/
    """

    from qdstack.analysis.decay import ReconvolutionFitter

    if (irf is None) == (irf_fwhm_ns is None):
        raise OptionError(
            "give either --irf IRF_FILE (measured) or --irf-fwhm-ns W (Gaussian)", "--irf"
        )
    if statistic not in ("poisson", "neyman"):
        raise OptionError(f"unknown statistic {statistic!r}; use poisson or neyman", "--statistic")
    if period_ns is not None and no_period:
        raise OptionError("give --period-ns or --no-period, not both", "--period-ns")
    if period_ns is not None and not (period_ns > 0 and math.isfinite(period_ns)):
        raise OptionError("the period must be a positive number of ns", "--period-ns")
    window = parse_float_list(window_ns, "--window-ns")
    if window is not None:
        if len(window) != 2 or not window[1] > window[0]:
            raise OptionError("expected START,END with END > START [ns]", "--window-ns")
        window = (window[0], window[1])
    if len(files) > 1 and not series:
        raise OptionError(
            f"{len(files)} files given; add --series to fit a temperature series", "FILE"
        )
    if not series and (temperatures is not None or scheduler is not None or workers is not None):
        raise OptionError(
            "--temperatures, --scheduler and --workers belong to --series", "--series"
        )

    with captured_warnings() as warned:
        decays = [_read(p, channel, time_unit, t2_bin_ns) for p in files]
        irf_hist = _read(irf, irf_channel, time_unit, t2_bin_ns) if irf is not None else None

        def period_for(d):
            if no_period:
                return None
            return period_ns if period_ns is not None else d.period_ns

        if not series:
            d = decays[0]
            irf_counts = _irf_for(d, irf_hist, str(irf)) if irf_hist is not None else None
            fitter = ReconvolutionFitter(
                d.time_ns,
                irf=irf_counts,
                irf_fwhm_ns=irf_fwhm_ns,
                components=components,
                statistic=statistic,
                period_ns=period_for(d),
                window_ns=window,
                fix_shift_ns=fix_shift_ns,
                source=str(irf) if irf is not None else None,
            )
            fit = fitter.fit(d.counts, source=str(d.source))
            result = fit.to_dict()
            result["file"] = str(d.source)
            result["reader"] = d.to_dict()
            if irf_hist is not None:
                result["irf_file"] = str(irf)
                result["irf_reader"] = irf_hist.to_dict()
            notes = list(d.notes) + (list(irf_hist.notes) if irf_hist is not None else [])
        else:
            from qdstack.analysis.decay import fit_decay_series
            from qdstack.cli.tpl import temperature_from_name

            T = parse_float_list(temperatures, "--temperatures")
            if T is None:
                T = []
                for p in files:
                    t = temperature_from_name(str(p))
                    if t is None:
                        raise OptionError(
                            "no temperature in the file name (expected e.g. PL_010K.ptu); give them with "
                            "--temperatures",
                            str(p),
                        )
                    T.append(t)
            if len(T) != len(decays):
                raise OptionError(
                    f"{len(decays)} files but {len(T)} temperatures", "--temperatures"
                )
            irf_counts = None
            if irf_hist is not None:
                axes = {
                    (d.counts.size, round(d.bin_width_ns, 9), round(float(d.time_ns[0]), 9))
                    for d in decays
                }
                if len(axes) > 1:
                    raise InputError(
                        "with one measured IRF all decays must share one time axis", "FILE"
                    )
                irf_counts = _irf_for(decays[0], irf_hist, str(irf))
            periods = {period_for(d) for d in decays}
            per = (
                period_ns
                if period_ns is not None
                else (None if no_period or len(periods) != 1 else periods.pop())
            )
            if not no_period and period_ns is None and len({d.period_ns for d in decays}) > 1:
                raise InputError(
                    "the files record different repetition periods; give --period-ns", "FILE"
                )
            console = stderr_console()
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            with Progress(
                TextColumn("fitting decays"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("fit", total=len(decays))
                ser = fit_decay_series(
                    decays,
                    T,
                    irf=irf_counts,
                    irf_fwhm_ns=irf_fwhm_ns,
                    components=components,
                    statistic=statistic,
                    period_ns=per,
                    window_ns=window,
                    fix_shift_ns=fix_shift_ns,
                    irf_source=str(irf) if irf is not None else None,
                    scheduler=scheduler,
                    n_workers=workers,
                    progress=lambda i: bar.advance(task),
                )
            result = ser.to_dict()
            result["irf_file"] = str(irf) if irf is not None else None
            notes = [n for d in decays for n in d.notes]
    result["warnings"] = list(dict.fromkeys(list(result.get("warnings", [])) + list(warned)))
    result["notes"] = list(dict.fromkeys(notes))

    if not series:

        def figures():
            from qdstack.plotting.decay import plot_decay

            return {"decay_fit": lambda: plot_decay(fit, title=Path(str(d.source)).name).figure}

        emit(
            result,
            json_output=json_output,
            out_dir=out,
            figures=figures() if out else None,
            summary=fit.print_summary,
        )
        return

    def figures_series():
        from qdstack.plotting._base import new_figure
        from qdstack.plotting.decay import plot_decay_series, plot_lifetime_series

        def grid():
            n = len(ser.fits)
            cols = min(3, n)
            rows = int(math.ceil(n / cols))
            fig, axes = new_figure(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
            from qdstack.plotting.decay import plot_decay as pd_

            for ax, Tk, f in zip(axes.ravel(), ser.temperature_K, ser.fits):
                pd_(f, ax=ax, title=f"{Tk:g} K: {Path(f.source or '').name}")
                ax.legend().remove()
            for ax in axes.ravel()[n:]:
                ax.set_visible(False)
            return fig

        return {
            "lifetime_vs_T": lambda: plot_lifetime_series(ser).figure,
            "decays_vs_T": lambda: plot_decay_series(ser).figure,
            "decay_fits": grid,
        }

    def write_table(folder: Path):
        from qdstack.io.writers import write_csv

        write_csv(folder / "lifetime_vs_T.csv", ser.table())

    emit(
        result,
        json_output=json_output,
        out_dir=out,
        figures=figures_series() if out else None,
        summary=ser.print_summary,
        extra_files={"table": write_table} if out else None,
    )
