"""Benchmark: ``qdstack explain`` on a 2-linker x 8-layer table, all single mechanisms and pairs.

Run ``python benchmarks/bench_explain.py``.

Target (issue 13): the whole analysis (4 mechanisms + 6 pairs, bounded fits and
the unbounded refits they need) in under 60 s on 2 cores.

What is compared in the same run:

1. the whole ``explain`` call (wall and CPU time, model evaluations);
2. one model evaluation of the tunnelling mechanism (16 shifts) by qdstack's
   reduction against the straightforward baseline, the full film model
   (:func:`qdstack.physics.film_model.calibration.model_shifts_meV`: disordered
   ensembles, Chebyshev spectra, first-peak fits; 1000 realisations per film),
   and the implied time of the whole analysis if every evaluation were a
   full-model one;
3. the two kernels the reduction uses against the engine functions they replace:
   the parity solver of the coupling vs ``linker_coupling_meV`` and the
   Kronecker-built chain vs ``exciton_stack.eigenstates``.

The table is synthetic: dielectric (eps_dot 5, eps_linker 2.1) + surface
(0.15 nm) shifts of C3DT and C10DT films, N = 2..9, 0.3 meV noise (seed 1).
"""

from __future__ import annotations

import time

import numpy as np


def main() -> None:
    from qdstack.linkers import linker_gap_nm
    from qdstack.physics.explain import (
        Conditions,
        context_from_parameters,
        explain,
        get_mechanism,
        make_table,
    )
    from qdstack.physics.explain import fit as fitmod

    ctx = context_from_parameters()
    g3, g10 = linker_gap_nm("C3DT"), linker_gap_nm("C10DT")
    layers = list(range(2, 10))
    cond = Conditions([g3] * 8 + [g10] * 8, layers * 2, 295.0)
    clean = get_mechanism("dielectric").predict(
        cond, ctx, eps_dot=5.0, eps_linker=2.1
    ) + get_mechanism("surface").predict(cond, ctx, delta_nm=0.15)
    y = clean + np.random.default_rng(1).normal(0, 0.3, clean.size)
    table = make_table(layers * 2, y, [0.3] * 16, linker=["C3DT"] * 8 + ["C10DT"] * 8)

    calls = {"n": 0}
    orig = fitmod._Predictor.single

    def counting(self, mech, values):
        before = len(self.cache)
        out = orig(self, mech, values)
        calls["n"] += len(self.cache) > before
        return out

    fitmod._Predictor.single = counting
    w0, c0 = time.perf_counter(), time.process_time()
    res = explain(table, context=ctx)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    fitmod._Predictor.single = orig
    print(
        f"explain, 2 linkers x 8 layers, {len(res.mechanisms)} fits (singles + pairs): "
        f"wall {wall:.1f} s, CPU {cpu:.1f} s, {calls['n']} single-mechanism evaluations "
        f"(target < 60 s) -> {'OK' if wall < 60 else 'MISSED'}"
    )
    for m in res.mechanisms:
        print(f"  {m.name:24s} {m.verdict:12s} chi2 {m.chi2:8.2f}  AIC {m.aic:8.2f}")

    # 2. one tunnelling evaluation: reduction vs full film model
    tun = get_mechanism("tunnelling")
    t0 = time.perf_counter()
    for v in (0.3, 0.31, 0.32):
        tun.predict(cond, ctx, barrier_eV=v, barrier_mass=0.2)
    ours = (time.perf_counter() - t0) / 3
    from qdstack.physics.film_model import load_parameter_set
    from qdstack.physics.film_model.calibration import ShiftMeasurement, model_shifts_meV

    params = load_parameter_set("enomoto2024").with_(
        coupling="engine", barrier_e_eV=0.3, barrier_h_eV=0.3, barrier_mass=0.2
    )
    params = params.with_(channels=params.channels.only("tunnelling"))
    meas = [ShiftMeasurement(lk, n, -1.0) for lk in ("C3DT", "C10DT") for n in layers]
    t0 = time.perf_counter()
    model_shifts_meV(meas, params, realisations=1000, seed=0)
    full = time.perf_counter() - t0
    print(
        f"one tunnelling evaluation (16 shifts): reduction {ours * 1e3:.1f} ms, full film model "
        f"{full:.1f} s -> ratio {full / ours:.0f}x; the whole analysis with full-model evaluations "
        f"would take ~{calls['n'] * full / 60:.0f} min"
    )

    # 3. kernels
    from qdstack.physics.explain._coupling import coupling_meV
    from qdstack.physics.film_model import linker_coupling_meV

    vs = np.linspace(0.1, 3.0, 20)
    t0 = time.perf_counter()
    for v in vs:
        coupling_meV(6.8, g3, v, 0.252, 0.3, 3.0, 1.0)
    a = (time.perf_counter() - t0) / vs.size
    t0 = time.perf_counter()
    for v in vs:
        linker_coupling_meV(
            6.8, g3, v, 0.252, barrier_mass=0.3, outer_barrier_eV=3.0, outer_barrier_mass=1.0
        )
    b = (time.perf_counter() - t0) / vs.size
    print(
        f"coupling: parity solver {a * 1e3:.2f} ms, linker_coupling_meV {b * 1e3:.2f} ms -> ratio {b / a:.1f}x"
    )

    from qdstack.physics.exciton_stack import ExcitonStack, chain_bonds, eigenstates
    from qdstack.physics.explain._reduced import _chain_lines, single_thread_blas

    u_off = tuple(50.0 / k for k in range(1, 8))
    with single_thread_blas():
        t0 = time.perf_counter()
        for i in range(50):
            _chain_lines(8, 5.0 + 1e-3 * i, 4.0, 90.0, u_off)
        a = (time.perf_counter() - t0) / 50
        idx = np.arange(8)
        dist = np.abs(idx[:, None] - idx[None, :])
        u = np.where(dist == 0, 90.0, np.asarray((0.0,) + u_off)[dist])
        t0 = time.perf_counter()
        for i in range(50):
            eigenstates(
                ExcitonStack(
                    np.zeros(8),
                    np.zeros(8),
                    u,
                    chain_bonds(8),
                    np.full(7, 5.0 + 1e-3 * i),
                    np.full(7, 4.0),
                )
            )
        b = (time.perf_counter() - t0) / 50
    print(
        f"8-dot chain: Kronecker build + eigh {a * 1e3:.2f} ms, ExcitonStack + eigenstates {b * 1e3:.2f} ms "
        f"-> ratio {b / a:.1f}x"
    )


if __name__ == "__main__":
    main()
