"""Lifetime-vs-temperature series and decay stacks (dask.distributed, or in-process)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from qdstack.analysis.decay import ReconvolutionFitter
from qdstack.analysis.decay_batch import fit_decay_series, fit_decay_stack
from qdstack.errors import OptionError
from qdstack.synthetic.decay import measured_like_irf_shape, simulate_decay

IRF = measured_like_irf_shape(fwhm_ns=0.25, t0_ns=1.5, tail_ns=0.1)
TAU_OF_T = {300.0: 2.0, 10.0: 6.0, 150.0: 3.5}  # lifetimes lengthening on cooling, as in Fig. 6d


def _series():
    decays = []
    irf_counts = None
    for i, (T, tau) in enumerate(TAU_OF_T.items()):
        sd = simulate_decay((1.0,), (tau,), signal_counts=3e4, background=1, n_bins=512, bin_width_ns=0.05, irf=IRF,
                            seed=40 + i, irf_counts=1e5 if i == 0 else None)
        irf_counts = sd.irf_counts if i == 0 else irf_counts
        decays.append(SimpleNamespace(time_ns=sd.time_ns, counts=sd.counts, source=f"PL_{int(T):03d}K.csv",
                                      period_ns=None))
    return decays, list(TAU_OF_T), irf_counts


def test_series_in_process_sorted_by_temperature():
    decays, T, irf = _series()
    ser = fit_decay_series(decays, T, irf=irf, scheduler="serial")
    assert list(ser.temperature_K) == [10.0, 150.0, 300.0]
    assert ser.files == ("PL_010K.csv", "PL_150K.csv", "PL_300K.csv")
    for Tk, fit in zip(ser.temperature_K, ser.fits):
        assert abs(fit.components[0].tau_ns - TAU_OF_T[Tk]) < 3 * fit.components[0].tau_ns_err
    table = ser.table()
    assert {"temperature_K", "tau_amplitude_weighted_ns", "tau_intensity_weighted_ns_err", "tau1_ns"} <= set(table)
    d = ser.to_dict()
    assert len(d["decays"]) == 3 and d["decays"][0]["temperature_K"] == 10.0
    assert "curve" not in d["decays"][0]


def test_series_on_a_local_dask_cluster_matches_in_process():
    """Two worker processes; the results are the same numbers as in this process."""
    decays, T, irf = _series()
    local = fit_decay_series(decays, T, irf=irf, scheduler="serial")
    done = []
    remote = fit_decay_series(decays, T, irf=irf, scheduler=None, n_workers=2, progress=done.append)
    assert sorted(done) == [0, 1, 2]
    for a, b in zip(local.fits, remote.fits):
        assert a.tau_amplitude_weighted_ns == pytest.approx(b.tau_amplitude_weighted_ns, rel=1e-9)


def test_series_input_errors():
    decays, T, irf = _series()
    with pytest.raises(OptionError, match="3 decays but 2 temperatures"):
        fit_decay_series(decays, T[:2], irf=irf, scheduler="serial")
    with pytest.raises(OptionError, match="positive"):
        fit_decay_series(decays, [10, -1, 300], irf=irf, scheduler="serial")


def test_stack_in_chunks_equals_fit_many():
    sds = [simulate_decay((0.6, 0.4), (1.0, 4.0), signal_counts=5e4, background=1, n_bins=256, bin_width_ns=0.05,
                          irf=IRF, seed=60 + i, irf_counts=1e5 if i == 0 else None) for i in range(6)]
    Y = np.array([s.counts for s in sds])
    kwargs = dict(irf=sds[0].irf_counts, components=2)
    stack = fit_decay_stack(sds[0].time_ns, Y, chunk=3, batch_size=3, scheduler="serial", tau_guess_ns=(1.0, 4.0),
                            **kwargs)
    direct = ReconvolutionFitter(sds[0].time_ns, **kwargs).fit_many(Y, batch_size=3, tau_guess_ns=(1.0, 4.0))
    assert len(stack) == 6
    for a, b in zip(stack, direct):
        # same batches; the starting shift comes from the summed decay of each call, so the
        # converged points agree to the minimiser's tolerance, far below one standard error
        assert a.tau_intensity_weighted_ns == pytest.approx(b.tau_intensity_weighted_ns, rel=1e-5)
        assert abs(a.tau_intensity_weighted_ns - b.tau_intensity_weighted_ns) < 0.01 * a.tau_intensity_weighted_ns_err
