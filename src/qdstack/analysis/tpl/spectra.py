"""A temperature series of PL spectra -> :class:`~qdstack.analysis.tpl.TPLAnalysis` (``qdstack tpl FILES``).

Each spectrum's peak energy, FWHM and intensity are measured by
:func:`qdstack.analysis.pl.pl_peak`; eqns (2) and (3) are then fitted to them by
:func:`qdstack.analysis.tpl.fit.analyse_tpl`. The result keeps the spectra, so
``plot_spectra()`` draws them.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from qdstack.analysis.tpl.fit import analyse_tpl
from qdstack.analysis.tpl.results import TPLAnalysis
from qdstack.errors import InputError, QdstackWarning

__all__ = ["fit_tpl_spectra"]


def fit_tpl_spectra(
    spectra,
    temperatures_K: Sequence[float],
    *,
    profile: str = "gaussian",
    emin_eV: float | None = None,
    emax_eV: float | None = None,
    fix_elo_meV: Sequence[float] = (),
    fixed: Mapping[str, float] | None = None,
    files: Sequence[str] | None = None,
    progress=None,
) -> TPLAnalysis:
    """Measure each PL spectrum's peak and width, then fit eqns (2) and (3) vs temperature.

    Parameters
    ----------
    spectra : sequence of str, Path or Spectrum
        Emission spectra (files are read with :func:`qdstack.io.read_spectrum`).
    temperatures_K : sequence of float
        The temperature of each spectrum [K], in the same order.
    profile : {"gaussian", "voigt", "pseudovoigt"}
        Line shape fitted to the top of each band (:func:`~qdstack.analysis.pl.pl_peak`).
    emin_eV, emax_eV : float, optional
        Ignore spectrum points outside this range.
    fix_elo_meV, fixed
        As in :func:`~qdstack.analysis.tpl.analyse_tpl`.
    files : sequence of str, optional
        The name of each spectrum in the result (default: its path or ``source``).
    progress : callable, optional
        ``progress(items, description)`` wraps the loop over the spectra (a progress bar).

    Returns
    -------
    TPLAnalysis
        With ``spectra`` (the per-spectrum measurements, as ``qdstack tpl --json`` lists
        them), ``files`` and the spectra themselves (``plot_spectra()``). A spectrum's
        own warnings are issued as Python warnings.

    Examples
    --------
    >>> from qdstack.analysis import fit_tpl_spectra
    >>> files = sorted((EXAMPLES / "tpl").glob("PL_*K.csv"))
    >>> temps = [float(f.stem[3:-1]) for f in files]          # PL_010K.csv -> 10
    >>> tpl = fit_tpl_spectra(files, temps, fix_elo_meV=(20,))
    >>> len(tpl.spectra) == len(files), round(tpl.energy_fit.E0_eV, 2)
    (True, 2.4)
    """
    from qdstack.analysis.pl import pl_peak
    from qdstack.io.spectrum import read_spectrum

    items = list(spectra)
    temps = [float(t) for t in temperatures_K]
    if len(temps) != len(items):
        raise InputError(f"{len(items)} spectra but {len(temps)} temperatures", "tpl")
    if not items:
        raise InputError("no spectra given", "tpl")
    if any(not (t > 0) for t in temps):
        raise InputError("temperatures must be positive kelvin", "tpl")
    if files is not None and len(files) != len(items):
        raise InputError(f"{len(items)} spectra but {len(files)} names", "tpl")
    specs, names, measurements = [], [], []
    E, G, Ee, Ge = [], [], [], []
    work = list(zip(items, temps, files if files is not None else [None] * len(items)))
    for item, t, given in progress(work, "measuring PL peaks") if progress else work:
        if isinstance(item, (str, os.PathLike)):
            spec, name = read_spectrum(item, kind="emission"), str(item)
        else:
            spec, name = item, str(item.source)
        name = given if given is not None else name
        pk = pl_peak(
            spec.energy_eV,
            spec.intensity,
            profile=profile,
            emin_eV=emin_eV,
            emax_eV=emax_eV,
            source=name,
        )
        for msg in pk.warnings:
            warnings.warn(msg, QdstackWarning, stacklevel=2)
        specs.append(spec)
        names.append(name)
        E.append(pk.peak_eV)
        G.append(pk.fwhm_meV)
        Ee.append(pk.peak_eV_err)
        Ge.append(pk.fwhm_meV_err)
        measurements.append({"file": name, "temperature_K": t, **pk.to_dict()})
    analysis = analyse_tpl(
        np.array(temps, dtype=float),
        E,
        G,
        peak_eV_err=Ee,
        fwhm_meV_err=Ge,
        fix_elo_meV=fix_elo_meV,
        fixed=fixed,
        files=names,
        spectra=measurements,
    )
    order = np.argsort(temps, kind="stable")  # analyse_tpl sorts by temperature the same way
    return replace(analysis, spectrum_data=tuple(specs[i] for i in order))
