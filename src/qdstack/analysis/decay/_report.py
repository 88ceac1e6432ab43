"""Per-decay results of the reconvolution fit: Fisher covariance, averages, curves and warnings.

Shared by the single fit (:meth:`ReconvolutionFitter.fit`) and the batch solver
(:meth:`ReconvolutionFitter.fit_many`): both end in an evaluation of the model at the
optimum, and the uncertainties of every parameter (amplitudes included) come from the
inverse Fisher information computed here, not from lmfit's covariance.
"""

from __future__ import annotations

import math

import numpy as np

from qdstack.analysis.decay.convolution import columns, shift_weights
from qdstack.analysis.decay.kernels import _M_FLOOR, poisson_deviance_residuals
from qdstack.analysis.decay.results import DecayComponent, DecayFit
from qdstack.errors import FitError


def _results(
    fitter,
    geo,
    st,
    mask,
    Yw,
    W,
    I0,
    ys,
    windows,
    srcs,
    tmin,
    tmax,
    converged,
    messages,
    nfevs,
    fits,
    fisher=None,
) -> list[DecayFit]:
    """Per-decay results from the final state ``st`` of the single fit or the batch solver.

    ``mask``, ``Yw``, ``W`` (b, nw): the window mask, counts and Neyman weights on
    the common window starting at bin ``I0``; ``ys`` (b, n): the full histograms;
    ``tmin``, ``tmax`` (b,): lifetime bounds; ``fits``: lmfit results or None;
    ``fisher`` (b, 2K + 2, 2K + 2): the Fisher information of ``(tau_k, shift, a_k, b)``
    at ``st`` when the caller has it (the batch solver), else computed here.
    """
    K, dt, n = fitter.K, fitter.dt, fitter.n
    Bn = len(srcs)
    a, m, Bm = st.a, st.m, st.Bm
    taus = st.theta[:, :K]
    shifts = st.theta[:, K]
    if fisher is not None:
        F = fisher
    else:
        # Fisher information of all parameters (tau_k, shift, a_k, b) for every decay:
        # G^T diag(1/m) G (Neyman: G^T W G) with G = dm/d(tau, shift, a, b)
        G = np.concatenate([a[:, :K, None] * st.dBt, (a[:, None, :K] @ st.dBs), Bm], axis=1)
        if fitter.statistic == "poisson":
            w = np.where(mask, 1.0 / np.maximum(m, _M_FLOOR), 0.0)
        else:
            w = W
        F = (G * w[:, None, :]) @ G.transpose(0, 2, 1)
    npar = 2 * K + 2
    nwin = mask.shape[1]
    zero_amp = a[:, :K] <= 0
    free = np.ones((Bn, npar), dtype=bool)
    free[:, :K] &= ~zero_amp
    free[:, K + 1 : 2 * K + 1] &= ~zero_amp
    if fitter.fix_shift_ns is not None:
        free[:, K] = False
    free[:, 2 * K + 1] &= a[:, K] > 0
    d = np.sqrt(np.where(np.einsum("bii->bi", F) > 0, np.einsum("bii->bi", F), 1.0))
    Fs = F / (d[:, :, None] * d[:, None, :])
    Hf = _regularise_free(Fs, free)
    try:
        inv = np.linalg.inv(Hf)
    except np.linalg.LinAlgError:
        inv = np.stack([np.linalg.pinv(h) for h in Hf])
    cov = inv / (d[:, :, None] * d[:, None, :])
    diag = np.einsum("bii->bi", cov)
    singular = np.any(free & ~(diag > 0), axis=1) | np.any(
        np.abs(np.einsum("bii->bi", inv)) > 1e14, axis=1
    )
    cov = np.where(free[:, :, None] & free[:, None, :], cov, 0.0)
    diag = np.einsum("bii->bi", cov)
    err = np.sqrt(np.where(free & (diag > 0), diag, np.nan))
    err[:, K + 1 : 2 * K + 1][zero_amp] = 0.0
    # components sorted by lifetime; their amplitudes and lifetimes and the covariance of (a, tau)
    order = np.argsort(taus, axis=1, kind="stable")
    amps = np.take_along_axis(a[:, :K], order, axis=1)
    taus_s = np.take_along_axis(taus, order, axis=1)
    sub = np.concatenate([K + 1 + order, order], axis=1)  # (B, 2K)
    cov_at = np.take_along_axis(
        np.take_along_axis(cov, sub[:, :, None], axis=1), sub[:, None, :], axis=2
    )
    suma = amps.sum(axis=1)
    bad = ~(suma > 0)
    if bad.any():
        raise FitError(
            "every component amplitude is zero: no decay above the background",
            srcs[int(np.argmax(bad))],
        )
    sat = np.sum(amps * taus_s, axis=1)
    tau_a = sat / suma
    tau_i = np.sum(amps * taus_s**2, axis=1) / sat
    ga = np.concatenate([(taus_s - tau_a[:, None]) / suma[:, None], amps / suma[:, None]], axis=1)
    gi = np.concatenate(
        [
            (taus_s**2 - tau_i[:, None] * taus_s) / sat[:, None],
            (2 * amps * taus_s - tau_i[:, None] * amps) / sat[:, None],
        ],
        axis=1,
    )
    va = np.einsum("bi,bij,bj->b", ga, cov_at, ga)
    vi = np.einsum("bi,bij,bj->b", gi, cov_at, gi)
    tau_a_err = np.where(va >= 0, np.sqrt(np.abs(va)), np.nan)
    tau_i_err = np.where(vi >= 0, np.sqrt(np.abs(vi)), np.nan)
    jn = (np.eye(K)[None] - (amps / suma[:, None])[:, :, None]) / suma[:, None, None]
    var_alpha = np.einsum("bij,bjk,bik->bi", jn, cov_at[:, :K, :K], jn)
    amp_err = np.where(var_alpha >= 0, np.sqrt(np.abs(var_alpha)), np.nan)
    inten = amps * taus_s / sat[:, None]
    tau_err = np.take_along_axis(err[:, :K], order, axis=1)
    tau_err = np.where(np.take_along_axis(zero_amp, order, axis=1), np.nan, tau_err)
    # statistics on each decay's own window
    mb = np.maximum(m, _M_FLOOR)
    nsel = mask.sum(axis=1)
    nfree_par = npar - (1 if fitter.fix_shift_ns is not None else 0)
    dof = np.maximum(nsel - nfree_par, 1)
    dev_res = np.where(mask, poisson_deviance_residuals(Yw, mb), 0.0)
    if fitter.statistic == "poisson":
        chi2 = np.sum(np.where(mask, (Yw - mb) ** 2 / mb, 0.0), axis=1)
        resid = dev_res
    else:
        chi2 = np.sum(np.where(mask, (Yw - mb) ** 2 * W, 0.0), axis=1)
        resid = (Yw - mb) * np.sqrt(W)
    deviance = np.sum(dev_res**2, axis=1)
    residuals = np.full((Bn, n), np.nan)
    residuals[:, I0 : I0 + nwin] = np.where(mask, resid, np.nan)
    signal = np.sum(np.where(mask, mb, 0.0), axis=1) - a[:, K] * nsel
    # full-histogram curves: inside the common window the fitted model (columns of decays whose
    # own window is shorter were zeroed outside it: evaluated again), outside it more columns
    model_all = np.empty((Bn, n))
    if Bm is not None:
        model_all[:, I0 : I0 + nwin] = (a[:, None, :K] @ Bm[:, :K])[:, 0, :] + a[:, K : K + 1]
    else:
        model_all[:, I0 : I0 + nwin] = m
    partial = ~mask.all(axis=1)
    if partial.any():
        Bp, _, _ = columns(geo, taus[partial], shifts[partial] / dt, I0, nwin, False)
        model_all[partial, I0 : I0 + nwin] = (a[partial, None, :K] @ Bp[:, :K])[:, 0, :] + a[
            partial, K : K + 1
        ]
    for lo, hi in ((0, I0), (I0 + nwin, n)):
        if hi > lo:
            Bo, _, _ = columns(geo, taus, shifts / dt, lo, hi - lo, False)
            model_all[:, lo:hi] = (a[:, None, :K] @ Bo[:, :K])[:, 0, :] + a[:, K : K + 1]
    # the IRF as the model shifts it: cubic convolution of bins i - k - 2 .. i - k + 1
    k_int = np.floor(shifts / dt).astype(int)
    wsh, _ = shift_weights(shifts / dt - k_int)
    ii = np.arange(n)[None, :] - k_int[:, None]
    gpad = np.concatenate([[0.0, 0.0], geo.g, [0.0, 0.0]])
    irf_shifted = sum(wsh[p][:, None] * gpad[np.clip(ii + p, 0, n + 3)] for p in range(4))
    # scalars as Python floats, once
    L = {
        name: arr.tolist()
        for name, arr in dict(
            amps=amps,
            taus_s=taus_s,
            suma=suma,
            amp_err=amp_err,
            tau_err=tau_err,
            inten=inten,
            tau_a=tau_a,
            tau_a_err=tau_a_err,
            tau_i=tau_i,
            tau_i_err=tau_i_err,
            shifts=shifts,
            shift_err=err[:, K],
            bg=a[:, K],
            bg_err=err[:, 2 * K + 1],
            chi2=chi2,
            deviance=deviance,
            dof=dof,
            signal=signal,
            tmin=np.asarray(tmin, dtype=float),
            tmax=np.asarray(tmax, dtype=float),
        ).items()
    }
    zero_s = np.take_along_axis(zero_amp, order, axis=1).tolist()
    singular = singular.tolist()
    fixed_shift = fitter.fix_shift_ns is not None
    out = []
    for b in range(Bn):
        i0, i1 = windows[b]
        src = srcs[b]
        msgs = list(fitter._notes)
        if singular[b]:
            msgs.append(
                f"{src}: the parameters are not all determined by the data (singular information matrix)"
            )
        suma_b = L["suma"][b]
        ab, tb = L["amps"][b], L["taus_s"][b]
        comps = tuple(
            DecayComponent(
                amplitude=ab[k] / suma_b,
                amplitude_err=L["amp_err"][b][k],
                tau_ns=tb[k],
                tau_ns_err=L["tau_err"][b][k],
                intensity_fraction=L["inten"][b][k],
                counts_per_ns=ab[k],
            )
            for k in range(K)
        )
        dof_b = int(L["dof"][b])
        chi2_b = L["chi2"][b]
        msgs += _warnings(
            fitter,
            converged[b],
            messages[b],
            comps,
            zero_s[b],
            L["signal"][b],
            L["tmin"][b],
            L["tmax"][b],
            L["shifts"][b],
            src,
            chi2_b / dof_b,
        )
        if not L["bg"][b] > 0:
            msgs.append(
                f"{src}: the background was fitted as 0 (its lower bound); the errors take it as exactly "
                "0. With a slow component (especially under periodic excitation) the background and the "
                "tail are hard to separate: check the lifetime of the slowest component"
            )
        out.append(
            DecayFit(
                components=comps,
                tau_amplitude_weighted_ns=L["tau_a"][b],
                tau_amplitude_weighted_ns_err=L["tau_a_err"][b],
                tau_intensity_weighted_ns=L["tau_i"][b],
                tau_intensity_weighted_ns_err=L["tau_i_err"][b],
                shift_ns=L["shifts"][b],
                shift_ns_err=L["shift_err"][b] if not fixed_shift else float("nan"),
                background=L["bg"][b],
                background_err=L["bg_err"][b],
                chi2_reduced=chi2_b / dof_b,
                deviance_per_dof=L["deviance"][b] / dof_b,
                statistic=fitter.statistic,
                dof=dof_b,
                window_ns=(float(fitter.time_ns[i0]), float(fitter.time_ns[i1 - 1] + dt)),
                window=(int(i0), int(i1)),
                bin_width_ns=dt,
                period_ns=fitter.period_ns,
                periodic=bool(fitter.periodic),
                irf_description=fitter.irf_description,
                signal_counts=L["signal"][b],
                converged=bool(converged[b]),
                nfev=int(nfevs[b]),
                time_ns=fitter.time_ns,
                counts=ys[b],
                model=model_all[b],
                residuals=residuals[b],
                irf=irf_shifted[b],
                fit=None if fits is None else fits[b],
                warnings=tuple(msgs),
                source=None if src.startswith("<") else src,
            )
        )
    return out


def _warnings(
    fitter, converged, message, comps, zero_sorted, signal, tmin, tmax, s_ns, src, redchi
):
    K = fitter.K
    out = []
    if not converged:
        out.append(f"{src}: the fit did not converge ({message})")
    if K > 1 and signal < 2000.0 * K:
        out.append(
            f"{src}: only {signal:.0f} signal photons for {K} components; lifetimes of "
            "multi-exponential fits are unreliable below a few thousand photons per component"
        )
    for k, c in enumerate(comps):
        if (
            not zero_sorted[k]
            and abs(c.tau_ns - tmin) > 1e-3 * tmin
            and abs(c.tau_ns - tmax) > 1e-3 * tmax
            and c.tau_ns_err <= 0.5 * c.tau_ns
        ):
            continue  # nothing to say (the common case, checked without formatting anything)
        label = f"component {k + 1} (tau = {c.tau_ns:.4g} ns)"
        if zero_sorted[k]:
            out.append(
                f"{src}: {label} has zero amplitude: the data do not support {K} components; fit fewer"
            )
            continue
        if math.isclose(c.tau_ns, tmin, rel_tol=1e-3) or math.isclose(c.tau_ns, tmax, rel_tol=1e-3):
            out.append(f"{src}: {label} ended at its bound; it is not determined by the data")
        elif not math.isfinite(c.tau_ns_err):
            out.append(f"{src}: {label} has no error estimate; it is not identifiable")
        elif c.tau_ns_err > 0.5 * c.tau_ns:
            out.append(
                f"{src}: {label} is not identifiable (relative error {c.tau_ns_err / c.tau_ns:.0%}); "
                "consider fewer components"
            )
    for k in range(len(comps) - 1):
        a, b = comps[k], comps[k + 1]
        if not (zero_sorted[k] or zero_sorted[k + 1]) and b.tau_ns < 1.25 * a.tau_ns:
            out.append(
                f"{src}: components {k + 1} and {k + 2} have nearly equal lifetimes "
                f"({a.tau_ns:.4g} and {b.tau_ns:.4g} ns); fit fewer components"
            )
    if fitter.fix_shift_ns is None and abs(s_ns) > 0.98 * fitter.shift_bins * fitter.dt:
        out.append(f"{src}: the IRF shift ({s_ns:.4g} ns) ended at its bound; check the IRF")
    if redchi > 2.0:
        out.append(
            f"{src}: reduced chi2 = {redchi:.2f}: the model does not describe the data "
            "(more components, a better IRF, or a different window?)"
        )
    return out


def _regularise_free(H: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Identity rows and columns for fixed parameters (so a batch of matrices can be inverted at once)."""
    P = H.shape[1]
    Hf = np.where(free[:, :, None] & free[:, None, :], H, 0.0)
    di = np.arange(P)
    Hf[:, di, di] = np.where(free, np.einsum("bii->bi", H), 1.0)
    return Hf
