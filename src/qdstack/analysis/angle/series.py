"""The angle-series analysis: per-spectrum peaks, shifts, and the comparison of the models.

The physics and statistics are described in :mod:`qdstack.analysis.angle`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from qdstack.analysis._fitting import correlation_warnings
from qdstack.analysis.angle.models import _Context, _fit_model
from qdstack.analysis.angle.optics import internal_angle_rad, op_ip_ratio
from qdstack.analysis.angle.results import MODEL_NAMES, AngleSeries
from qdstack.analysis.peaks import noise_sigma
from qdstack.analysis.pl import pl_peak
from qdstack.errors import FitError, InputError

__all__ = ["analyse_angle_series"]

_EVIDENCE = ((2.0, "not worth more than a mention"), (6.0, "positive"), (10.0, "strong"))


def _noise_model(y, window: int = 41):
    """Standard error of each point of a spectrum, estimated locally from second differences.

    For white noise of variance s^2 the second difference ``y[i-1] - 2 y[i] + y[i+1]``
    has variance 6 s^2; a running median over ``window`` points of its square (a
    chi^2(1) median is 0.4549 of its mean) gives s^2 locally, so the shot noise of a
    band and the dark noise of its tails are both followed.  The band's own curvature
    adds (S'' h^2)^2, negligible for bands many points wide.
    """
    from scipy.ndimage import median_filter

    y = np.asarray(y, dtype=float)
    const = noise_sigma(y)
    if not (math.isfinite(const) and const > 0):
        const = 1e-6 * max(float(np.ptp(y)), 1e-300)
    if y.size < 3 * window:
        return np.full(y.size, const)
    d2 = y[:-2] - 2 * y[1:-1] + y[2:]
    var = median_filter(d2**2, size=window, mode="nearest") / (6.0 * 0.4549)
    var = np.concatenate([[var[0]], var, [var[-1]]])
    floor = (0.05 * const) ** 2
    return np.sqrt(np.maximum(var, floor))


def _evidence(delta: float) -> str:
    for limit, words in _EVIDENCE:
        if delta < limit:
            return words
    return "very strong"


def analyse_angle_series(
    spectra: Sequence,
    angles_deg: Sequence[float],
    *,
    n_film: float = 1.8,
    urbach_meV: float = 20.0,
    absorption=None,
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    files: Sequence[str] | None = None,
    fit_fraction: float = 0.5,
) -> AngleSeries:
    """Peaks, shifts and the cause of the shift in an angle-dependent PL series.

    Parameters
    ----------
    spectra : sequence of Spectrum
        Emission spectra (per unit energy; :func:`~qdstack.io.spectrum.read_spectrum`
        with ``kind="emission"`` applies the Jacobian).
    angles_deg : sequence of float
        Detection angle of each spectrum from the film normal [deg], absolute value < 90.
    n_film : float
        Effective refractive index of the film (CsPbBr3 ~2.3 at 520 nm, diluted by
        ligands and voids in a dot film; default 1.8).
    urbach_meV : float
        Urbach energy of the absorption tail used by the re-absorption model [meV].
    absorption : Spectrum, optional
        A measured absorbance spectrum of the film; its shape replaces the Urbach tail.
    emin_eV, emax_eV : float, optional
        Energy range of the PL band.
    files : sequence of str, optional
        Names for the report.
    fit_fraction : float
        Passed to :func:`~qdstack.analysis.pl.pl_peak`.

    Returns
    -------
    AngleSeries

    Raises
    ------
    InputError
        Mismatched lengths, impossible angles or index.
    FitError
        No spectrum could be measured, or the spectra share no energy range.
    """
    k = len(spectra)
    angles = np.asarray([float(a) for a in angles_deg], dtype=float)
    if k < 2:
        raise InputError("an angle series needs at least two spectra", "SPECTRUM")
    if angles.size != k:
        raise InputError(f"{k} spectra but {angles.size} angles", "--angles")
    if not np.all(np.isfinite(angles)) or np.any(np.abs(angles) >= 90):
        raise InputError("angles must be finite and strictly between -90 and 90 deg", "--angles")
    if not (math.isfinite(n_film) and 1.0 < n_film < 5.0):
        raise InputError(f"the film index must be between 1 and 5, got {n_film}", "--n-film")
    if not (math.isfinite(urbach_meV) and urbach_meV > 0):
        raise InputError(f"the Urbach energy must be positive, got {urbach_meV}", "--urbach-meV")
    names = (
        list(files)
        if files is not None
        else [s.source or f"spectrum {i + 1}" for i, s in enumerate(spectra)]
    )
    order = np.argsort(angles, kind="stable")
    angles = angles[order]
    spectra = [spectra[i] for i in order]
    names = [names[i] for i in order]
    msgs: list[str] = []

    # --- per-spectrum peaks
    peaks = []
    for spec, name in zip(spectra, names):
        try:
            p = pl_peak(
                spec.energy_eV,
                spec.intensity,
                emin_eV=emin_eV,
                emax_eV=emax_eV,
                fit_fraction=fit_fraction,
                source=name,
            )
            msgs += list(p.warnings)
            peaks.append(p)
        except FitError as exc:
            msgs.append(f"{name}: no PL peak measured ({exc.message}); left out of the shifts")
            peaks.append(None)
    ok = [i for i, p in enumerate(peaks) if p is not None]
    if not ok:
        raise FitError("no spectrum of the series has a measurable PL peak", names[0])
    ref = min(ok, key=lambda i: (abs(angles[i]), i))
    nan = float("nan")
    pe = [p.peak_eV if p else nan for p in peaks]
    pee = [p.peak_eV_err if p else nan for p in peaks]
    shift = [(v - pe[ref]) * 1e3 for v in pe]
    shift_err = [0.0 if i == ref else math.hypot(pee[i], pee[ref]) * 1e3 for i in range(k)]

    # --- common energy grid: the reference spectrum's, inside every spectrum's range and the band
    ref_spec = spectra[ref]
    e = ref_spec.energy_eV
    # the models use the spectra whose peak could be measured
    use = ok
    if len(use) < 2:
        raise FitError("fewer than two spectra of the series have a measurable PL peak", names[ref])
    lo = max(float(spectra[i].energy_eV.min()) for i in use)
    hi = min(float(spectra[i].energy_eV.max()) for i in use)
    if emin_eV is not None:
        lo = max(lo, emin_eV)
    if emax_eV is not None:
        hi = min(hi, emax_eV)
    inside = (e >= lo) & (e <= hi)
    if inside.sum() < 20:
        raise FitError("the spectra share fewer than 20 points of energy range", names[ref])
    e = e[inside]
    data = np.array(
        [
            np.interp(e, spectra[i].energy_eV, spectra[i].intensity) - peaks[i].background
            for i in use
        ]
    )
    ref_use = use.index(ref)
    fwhm_ref = peaks[ref].fwhm_meV * 1e-3 if math.isfinite(peaks[ref].fwhm_meV) else 0.1 * (hi - lo)
    sig = np.array([_noise_model(r) for r in data])
    # fit range: the band +- 4 FWHM (inside the shared range)
    band = (e >= peaks[ref].peak_eV - 4 * fwhm_ref) & (e <= peaks[ref].peak_eV + 4 * fwhm_ref)
    e, data, sig = e[band], data[:, band], sig[:, band]
    if e.size < 20:
        raise FitError("the PL band holds fewer than 20 points; widen the energy range", names[ref])
    # cubic B-spline line shape, knots every FWHM/8 (a Gaussian band is reproduced to < 1e-3)
    n_int = int(np.clip(np.ceil((e[-1] - e[0]) / (fwhm_ref / 8)), 8, max(8, min(80, e.size // 3))))
    inner = np.linspace(e[0], e[-1], n_int + 1)
    knots = np.concatenate([[e[0]] * 3, inner, [e[-1]] * 3])
    areas = np.array([np.sum(np.clip(r, 0, None)) for r in data])
    amp0 = areas / areas[ref_use] if areas[ref_use] > 0 else np.ones(len(use))

    e_ref = peaks[ref].peak_eV
    if absorption is not None:
        ae, aa = np.asarray(absorption.energy_eV), np.asarray(absorption.intensity)
        if e.min() < ae.min() or e.max() > ae.max():
            raise InputError(
                "the absorbance spectrum does not cover the PL band",
                absorption.source or "--absorption",
            )
        a_ref = float(np.interp(e_ref, ae, aa))
        if not a_ref > 0:
            raise InputError(
                "the absorbance at the PL peak is not positive", absorption.source or "--absorption"
            )

        def a_fn(x, ae=ae, aa=aa, a_ref=a_ref):
            return np.clip(np.interp(x, ae, aa) / a_ref, 0.0, None)

        tau_from_od = math.log(10.0) * a_ref
    else:

        def a_fn(x):
            return np.exp(np.clip((x - e_ref) / (urbach_meV * 1e-3), -50, 50))

        tau_from_od = None

    ti = internal_angle_rad(angles[use], n_film)
    ctx = _Context(
        energy=e,
        data=data,
        weight=1.0 / sig,
        knots=knots,
        cos_i=np.cos(ti),
        ratio=op_ip_ratio(angles[use], n_film),
        ref=ref_use,
        absorption=a_fn,
        amp0=amp0,
        fwhm_meV=fwhm_ref * 1e3,
    )
    curve_angles = np.linspace(0.0, max(float(np.max(np.abs(angles))), 1.0), 9)
    ref_angle = float(angles[ref])
    if len(use) < 3:
        msgs.append("only two angles: the model comparison rests on the change of one spectrum")
    fitted = [
        _fit_model(nm, ctx, n_film, urbach_meV, angles, ref_angle, curve_angles)
        for nm in MODEL_NAMES
    ]
    models = [m for m, _ in fitted]
    if tau_from_od is not None:
        rb = models[2]
        models[2] = replace(
            rb, params={**rb.params, "urbach_meV": None, "tau_from_absorbance": tau_from_od}
        )
    bics = {m.name: m.bic for m in models}
    aics = {m.name: m.aic for m in models}
    best_i = int(np.argmin([m.bic for m in models]))
    best = models[best_i]
    d_bic = {nm: v - best.bic for nm, v in bics.items()}
    d_aic = {nm: v - min(aics.values()) for nm, v in aics.items()}
    second = sorted(d_bic.values())[1]
    evidence = _evidence(second)
    for m in models:
        if not m.success:
            msgs.append(f"the {m.name} fit did not converge")
    if best.fit is not None:
        msgs += correlation_warnings(best.fit, 0.95, f"{best.name} model: ")
        if not best.fit.errorbars:
            msgs.append(f"{best.name} model: the parameter uncertainties could not be estimated")
    if best.name == "anisotropic-emission" and best.params["fraction"] > 0.9:
        msgs.append(
            "the fitted out-of-plane fraction is at its upper range; the model may not describe the data"
        )
    if best.chi2_reduced > 3:
        msgs.append(
            f"the preferred model leaves a reduced chi^2 of {best.chi2_reduced:.3g}: none of the models "
            "describes the spectra within their noise (other causes: excitation spot, polarisation optics, "
            "a second emitting species)"
        )
    return AngleSeries(
        angles_deg=tuple(float(a) for a in angles),
        files=tuple(names),
        peak_eV=tuple(pe),
        peak_eV_err=tuple(pee),
        fwhm_meV=tuple(p.fwhm_meV if p else nan for p in peaks),
        fwhm_meV_err=tuple(p.fwhm_meV_err if p else nan for p in peaks),
        intensity=tuple(p.intensity if p else nan for p in peaks),
        intensity_err=tuple(p.intensity_err if p else nan for p in peaks),
        shift_meV=tuple(shift),
        shift_meV_err=tuple(shift_err),
        reference_angle_deg=ref_angle,
        model=best,
        models=tuple(models),
        delta_bic=d_bic,
        delta_aic=d_aic,
        evidence=evidence,
        n_film=float(n_film),
        energy_eV=e,
        spectra=data,
        model_spectra=fitted[best_i][1],
        raw_spectra=tuple(spectra),
        warnings=tuple(dict.fromkeys(msgs)),
    )
