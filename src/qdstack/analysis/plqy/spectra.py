"""The three integrating-sphere spectra and the spectral response: :class:`SphereSpectrum` and its readers."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from qdstack.units import HC_EV_NM


@dataclass(frozen=True)
class SphereSpectrum:
    """One sphere spectrum: ascending wavelength [nm] and raw values, as in the file."""

    wavelength_nm: np.ndarray
    values: np.ndarray
    x_unit: str = "nm"
    source: str = "<spectrum>"

    @property
    def dx(self) -> np.ndarray:
        """Local spacing of the file's own x axis at each point (nm, or eV for energy files)."""
        x = self.wavelength_nm if self.x_unit == "nm" else HC_EV_NM / self.wavelength_nm
        return np.abs(np.gradient(x))


def read_sphere_spectrum(path: str | os.PathLike) -> SphereSpectrum:
    """Read a two-column sphere spectrum (x in nm or eV, raw detector values).

    No Jacobian is applied: the integrals are taken in the file's own x variable,
    the same for every spectrum of a measurement.
    """
    from qdstack.errors import FileFormatError
    from qdstack.io.spectrum import detect_x_unit
    from qdstack.io.table import checked_xy, read_numeric_table

    table = read_numeric_table(path)
    src = table.source
    unit = detect_x_unit(table)
    if unit not in ("nm", "eV"):
        raise FileFormatError(
            f"the x column is in {unit}; give wavelength (nm) or photon energy (eV)", src
        )
    x, y = checked_xy(
        table.data[:, 0],
        table.data[:, 1],
        src,
        y_name="intensity",
        min_points=20,
        what="sphere spectrum",
    )
    if np.any(x <= 0):
        raise FileFormatError("x values must be positive", src)
    lam = x if unit == "nm" else HC_EV_NM / x
    order = np.argsort(lam)
    return SphereSpectrum(lam[order], y[order], unit, src)


def read_response(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, str]:
    """Spectral-response correction (wavelength [nm] or energy [eV], factor); ascending nm."""
    s = read_sphere_spectrum(path)
    if np.any(s.values <= 0):
        from qdstack.errors import FileFormatError

        raise FileFormatError("correction factors must be positive", s.source)
    return s.wavelength_nm, s.values, s.source
