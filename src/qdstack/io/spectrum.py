"""Optical spectra (absorption or photoluminescence) from text exports and ``.spe`` CCD files.

The x column is a wavelength in nm or µm or a photon energy in eV (also meV and
cm^-1 when the header says so).  The unit is taken from the column name or the
header (``nm``, ``wavelength`` / ``µm``, ``um``, ``micron`` / ``eV``, ``energy``),
else from the values (:func:`x_unit_from_values`: above 100 nm, 1-10 eV, 0.1-1 µm
with a warning, anything else refused).  Spectra are returned on an ascending
photon-energy axis.  An absorption column named as transmittance (``%T``,
``Transmittance``) is converted to absorbance with a warning; values that no
absorbance can take (a median above OD 6) are refused.

Converting an emission spectrum measured per unit wavelength to per unit
energy applies the Jacobian ``I_E = I_lambda * lambda**2 / (h c)``
(Mooney & Kambhampati, J. Phys. Chem. Lett. 2013, 4, 3316); absorbance is a
property of each wavelength and is not rescaled.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from qdstack.errors import FileFormatError, QdstackWarning
from qdstack.io.spe import is_spe, read_spe
from qdstack.io.table import NumericTable, checked_xy, read_numeric_table
from qdstack.units import HC_EV_NM

__all__ = [
    "Spectrum",
    "read_spectrum",
    "read_spectra",
    "spectrum_from_table",
    "detect_x_unit",
    "x_unit_from_values",
]

SpectrumKind = Literal["absorption", "emission"]
XUnit = Literal["nm", "um", "eV", "meV", "cm-1"]

#: cm^-1 to eV
_CM1_TO_EV = 1e-7 * HC_EV_NM

# unit tokens, strongest first; each is searched case-insensitively in the x column's name
_UNIT_PATTERNS: tuple[tuple[XUnit, re.Pattern], ...] = (
    ("cm-1", re.compile(r"cm\s*(?:\^?-1|-¹|⁻¹)|1\s*/\s*cm|wave\s*number|wavenumber", re.I)),
    ("meV", re.compile(r"(?<![a-z])mev(?![a-z])", re.I)),
    ("eV", re.compile(r"(?<![a-z])ev(?![a-z])|energy", re.I)),
    ("um", re.compile(r"(?<![a-z])(?:µm|μm|um|microns?|micromet(?:er|re)s?)(?![a-z])", re.I)),
    ("nm", re.compile(r"(?<![a-z])nm(?![a-z])|wave\s*length|wavelength|lambda|λ", re.I)),
)

#: plausible optical photon energies [eV]
_E_MIN_EV, _E_MAX_EV = 0.05, 25.0


@dataclass(frozen=True)
class Spectrum:
    """An optical spectrum on an ascending photon-energy axis.

    Attributes
    ----------
    energy_eV : ndarray, shape (n,)
        Photon energy [eV], strictly ascending.
    intensity : ndarray, shape (n,)
        Absorbance (OD) for ``kind="absorption"``; emission per unit energy for
        ``kind="emission"`` (Jacobian already applied when read from nm).
    kind : {"absorption", "emission"}
    x_unit : {"nm", "eV", "meV", "cm-1"}
        The unit of the x column in the file it came from.
    source : str or None
        File path (or a label) for messages and reports.
    label : str or None
        The y column's name, when the file had one.
    """

    energy_eV: np.ndarray
    intensity: np.ndarray
    kind: SpectrumKind = "absorption"
    x_unit: XUnit = "eV"
    source: str | None = None
    label: str | None = None

    def __post_init__(self):
        e = np.array(self.energy_eV, dtype=float)
        y = np.array(self.intensity, dtype=float)
        e.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "energy_eV", e)
        object.__setattr__(self, "intensity", y)

    @property
    def wavelength_nm(self) -> np.ndarray:
        """Vacuum wavelength [nm] of each point (descending, like the energy axis ascends)."""
        return HC_EV_NM / self.energy_eV

    def __len__(self) -> int:
        return int(self.energy_eV.size)

    def with_intensity(self, intensity) -> "Spectrum":
        """A copy with other intensities on the same axis."""
        return replace(self, intensity=np.asarray(intensity, dtype=float))

    def crop(self, emin_eV: float | None = None, emax_eV: float | None = None) -> "Spectrum":
        """A copy restricted to ``emin_eV <= E <= emax_eV``."""
        keep = np.ones(self.energy_eV.size, dtype=bool)
        if emin_eV is not None:
            keep &= self.energy_eV >= emin_eV
        if emax_eV is not None:
            keep &= self.energy_eV <= emax_eV
        return replace(self, energy_eV=self.energy_eV[keep], intensity=self.intensity[keep])

    @classmethod
    def from_xy(
        cls,
        x,
        y,
        x_unit: XUnit = "nm",
        kind: SpectrumKind = "absorption",
        source: str | None = None,
        label: str | None = None,
    ) -> "Spectrum":
        """Build a spectrum from x (in ``x_unit``) and y, in any order of x.

        Emission given per unit wavelength is converted to per unit energy with the
        Jacobian ``lambda**2 / hc``; absorbance is not rescaled.

        Raises
        ------
        FileFormatError
            x not strictly monotonic, non-positive, or outside optical photon energies.
        """
        src = source or "<spectrum>"
        x, y = checked_xy(x, y, src, y_name="y", min_points=2, what="spectrum")
        if np.any(x <= 0):
            raise FileFormatError(f"x values must be positive {x_unit}, found {x.min():g}", src)
        if x_unit == "nm":
            energy = HC_EV_NM / x
        elif x_unit == "eV":
            energy = x.copy()
        elif x_unit == "meV":
            energy = x * 1e-3
        elif x_unit == "cm-1":
            energy = x * _CM1_TO_EV
        elif x_unit == "um":
            energy = HC_EV_NM / (1e3 * x)
        else:  # pragma: no cover - guarded by the Literal
            raise FileFormatError(f"unknown x unit {x_unit!r}", src)
        if energy.min() < _E_MIN_EV or energy.max() > _E_MAX_EV:
            raise FileFormatError(
                f"x values {x.min():g}..{x.max():g} {x_unit} are photon energies of "
                f"{energy.min():.3g}..{energy.max():.3g} eV, outside the optical range "
                f"{_E_MIN_EV}..{_E_MAX_EV} eV; check the x column and its unit",
                src,
            )
        if kind == "emission" and x_unit == "nm":
            y = y * x**2 / HC_EV_NM
        elif kind == "emission" and x_unit == "um":
            y = y * (1e3 * x) ** 2 / HC_EV_NM
        elif kind == "emission" and x_unit == "cm-1":
            y = y / _CM1_TO_EV
        order = np.argsort(energy)
        return cls(energy[order], y[order], kind=kind, x_unit=x_unit, source=source, label=label)


def detect_x_unit(table: NumericTable, x_column: int = 0) -> XUnit:
    """The unit of a table's x column: from its name, the header, else the values.

    The name of the x column decides when the file has column names; otherwise
    the whole header is searched and used only if it names exactly one unit.
    With no usable header the values decide (:func:`x_unit_from_values`): all above
    100 are nm; all within 1-10 are photon energies in eV; all within 0.1-1 are
    wavelengths in µm (read as such, with a warning); anything else is refused
    with the advice to name the unit in a header.
    """

    def units_in(text: str) -> list[XUnit]:
        found: list[XUnit] = []
        for unit, pattern in _UNIT_PATTERNS:
            if pattern.search(text):
                found.append(unit)
                if unit in ("meV", "cm-1", "um"):
                    break  # 'meV' also matches nothing else; 'cm-1' wins over 'wavenumber' energy; µm over 'wavelength'
        return found

    if table.names is not None:
        found = units_in(table.names[x_column])
        if found:
            return found[0]
    found = units_in(table.header_text())
    if len(set(found)) == 1:
        return found[0]
    return x_unit_from_values(table.data[:, x_column], table.source)


def x_unit_from_values(x, source: str | None = None) -> XUnit:
    """The unit of an x column without a header, from the range of its values.

    UV-vis and PL spectra of these materials span about 1.2-6 eV (200-1000 nm), so

    * every value above 100: wavelengths in nm;
    * every value within [1, 10]: photon energies in eV (1 eV = 1240 nm, 10 eV = 124 nm);
    * every value within [0.1, 1): wavelengths in µm (100-1000 nm): photon energies below
      1 eV are infrared, not what a UV-vis or PL spectrum of these dots covers; read as
      µm, with a warning;
    * anything else -- values straddling 1 (0.3-2.5 is µm *or* eV), 10-100, or
      below 0.1 -- cannot be told apart and is refused, asking for a header.

    Raises
    ------
    FileFormatError
        The values fit no unit unambiguously.
    """
    x = np.asarray(x, dtype=float)
    src = source or "<spectrum>"
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        raise FileFormatError("the x column has no numbers", src)
    lo, hi = float(finite.min()), float(finite.max())
    if lo > 100:
        return "nm"
    if 1.0 <= lo and hi <= 10.0:
        return "eV"
    if 0.1 <= lo and hi < 1.0:
        warnings.warn(
            f"{src}: x values {lo:g}..{hi:g} without a unit in the header are read as wavelengths in µm "
            f"({1e3 * lo:g}..{1e3 * hi:g} nm; in eV they would be infrared); name the unit in a header "
            "(e.g. 'Wavelength (um)' or 'Energy (eV)') to be sure",
            QdstackWarning,
            stacklevel=3,
        )
        return "um"
    raise FileFormatError(
        f"cannot tell the unit of the x column from its values ({lo:g}..{hi:g}): not wavelengths in nm "
        "(above 100), photon energies in eV (1-10) or wavelengths in µm (0.1-1) alone; name the unit in "
        "a header line (e.g. 'Wavelength (nm)', 'Wavelength (um)', 'Energy (eV)')",
        src,
    )


# the intensity column holds transmittance (or reflectance), not absorbance
_TRANSMITTANCE = re.compile(
    r"%\s*T(?![a-z])|(?<![a-z])T\s*%|transmittance|transmission|(?<![a-z])trans(?![a-z])", re.I
)
_REFLECTANCE = re.compile(r"%\s*R(?![a-z])|(?<![a-z])R\s*%|reflectance|reflectivity", re.I)
#: no spectrometer measures an absorbance above this (10^-6 of the light left)
_MAX_MEASURABLE_OD = 6.0


def _absorbance(y, label: str | None, header: str, source: str):
    """Absorbance from an intensity column: transmittance converted, impossible values refused.

    A column named as transmittance (``%T``, ``T%``, ``Transmittance``, ``Transmission``)
    is converted, A = -log10(T) (A = 2 - log10(%T) when the values exceed 1.5, i.e. per
    cent), with a warning; reflectance is refused.  A column whose values mostly exceed
    an OD of 6 (one part per million transmitted: beyond any spectrometer) is refused as
    not being absorbance -- typically an unlabelled %T column.
    """
    name = label or ""
    text = name if name else header
    if _REFLECTANCE.search(text):
        raise FileFormatError(
            f"the intensity column {name or '(header)'!r} is reflectance, not absorbance; "
            "convert it (e.g. Kubelka-Munk) before the absorption analysis",
            source,
        )
    if _TRANSMITTANCE.search(text):
        y = np.asarray(y, dtype=float)
        percent = float(np.nanmax(y)) > 1.5
        if np.any(y <= 0):
            raise FileFormatError(
                f"the intensity column {name or '(header)'!r} is transmittance with values <= 0, which has "
                "no absorbance; check the baseline",
                source,
            )
        a = (2.0 - np.log10(y)) if percent else -np.log10(y)
        unit = "%T" if percent else "T (fraction)"
        warnings.warn(
            f"{source}: the intensity column {name or '(header)'!r} is transmittance ({unit}); converted to "
            f"absorbance A = {'2 - log10(%T)' if percent else '-log10(T)'}",
            QdstackWarning,
            stacklevel=4,
        )
        return a
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore"):  # the median of two values near the float maximum is inf
        median = float(np.nanmedian(y))
    if median > _MAX_MEASURABLE_OD:
        raise FileFormatError(
            f"intensities up to {np.nanmax(y):.4g} (median {median:.4g}) are not absorbance: an OD above "
            f"{_MAX_MEASURABLE_OD:g} is not measurable; if the column is transmittance, name it in the header "
            "(%T or Transmittance) and it is converted",
            source,
        )
    return y


def spectrum_from_table(
    table: NumericTable,
    kind: SpectrumKind = "absorption",
    column: int | str | None = None,
    x_unit: XUnit | None = None,
) -> Spectrum:
    """Turn a parsed table into a :class:`Spectrum` (x = first column)."""
    if table.n_columns < 2:
        raise FileFormatError("a spectrum needs two columns (x and intensity)", table.source)
    if column is None:
        index = 1
        if table.n_columns > 2:
            name = table.names[1] if table.names else "2"
            warnings.warn(
                f"{table.source}: {table.n_columns} columns; using column 2 ({name!r}) as the "
                "intensity (choose another with --column; absorption_column / pl_column in a study manifest)",
                QdstackWarning,
                stacklevel=3,
            )
    else:
        index = table.column_index(column)
        if index == 0:
            raise FileFormatError("column 0 is the x axis, not an intensity", table.source)
    unit = x_unit or detect_x_unit(table)
    label = table.names[index] if table.names else None
    y = table.data[:, index]
    if kind == "absorption":
        y = _absorbance(y, label, table.header_text(), table.source)
    return Spectrum.from_xy(
        table.data[:, 0],
        y,
        x_unit=unit,
        kind=kind,
        source=table.source,
        label=label,
    )


def read_spectrum(
    path: str | os.PathLike,
    kind: SpectrumKind = "absorption",
    column: int | str | None = None,
    x_unit: XUnit | None = None,
) -> Spectrum:
    """Read one spectrum from a text export or a Princeton Instruments ``.spe`` file.

    Parameters
    ----------
    path : path-like
        Text file with an x column (nm or eV) and an intensity column, or an ``.spe``
        file (WinSpec 2.x or LightField 3.0) with a calibrated x axis; the frames of a
        multi-frame ``.spe`` are averaged, with a warning.
    kind : {"absorption", "emission"}
        Emission spectra read from wavelength get the Jacobian lambda^2/hc.
    column : int or str, optional
        Which intensity column to use in a multi-column file (0-based index or
        header name); default the second column, with a warning if there are more.
    x_unit : {"nm", "eV", "meV", "cm-1"}, optional
        Override the detected unit of the x column.

    Returns
    -------
    Spectrum

    Raises
    ------
    FileFormatError
        Unreadable or malformed file; the message names the file and the cause.
    """
    if is_spe(path):
        frames = _spe_spectra(path, kind, x_unit)
        if column not in (None, 1):
            raise FileFormatError(
                "an SPE file holds one intensity per pixel; column= does not apply", str(path)
            )
        if len(frames) == 1:
            return frames[0]
        warnings.warn(
            f"{path}: {len(frames)} frames; using their mean (read_spectra gives each frame)",
            QdstackWarning,
            stacklevel=2,
        )
        return frames[0].with_intensity(np.mean([f.intensity for f in frames], axis=0))
    table = read_numeric_table(path)
    return spectrum_from_table(table, kind=kind, column=column, x_unit=x_unit)


def _spe_spectra(path, kind: SpectrumKind, x_unit: XUnit | None) -> list[Spectrum]:
    """One spectrum per frame of a Princeton Instruments ``.spe`` file (:mod:`qdstack.io.spe`)."""
    spe = read_spe(path)
    n_frames, ydim, _ = spe.frames.shape
    if ydim > 1:
        raise FileFormatError(
            f"a CCD image of {ydim} rows, not a spectrum; bin the rows (full vertical binning) when "
            "acquiring, or export the binned spectrum as text",
            spe.source,
        )
    if re.search(r"relativ|raman|shift", spe.x_label, re.I):
        raise FileFormatError(
            f"the SPE axis is {spe.x_label!r}, a shift from the laser line, not a photon energy; "
            "recalibrate it in nm",
            spe.source,
        )
    if x_unit is None:
        found = [u for u, pattern in _UNIT_PATTERNS if pattern.search(spe.x_label)]
        x_unit = found[0] if found else x_unit_from_values(spe.x, spe.source)
    return [
        Spectrum.from_xy(
            spe.x,
            spe.frames[k, 0],
            x_unit=x_unit,
            kind=kind,
            source=spe.source,
            label=f"frame {k + 1}" if n_frames > 1 else None,
        )
        for k in range(n_frames)
    ]


def read_spectra(
    path: str | os.PathLike,
    kind: SpectrumKind = "absorption",
    x_unit: XUnit | None = None,
) -> list[Spectrum]:
    """Read every intensity column of a multi-column export (every frame of an ``.spe``) as its own spectrum."""
    if is_spe(path):
        return _spe_spectra(path, kind, x_unit)
    table = read_numeric_table(path)
    if table.n_columns < 2:
        raise FileFormatError("a spectrum needs two columns (x and intensity)", table.source)
    unit = x_unit or detect_x_unit(table)
    out = []
    for j in range(1, table.n_columns):
        label = table.names[j] if table.names else f"column {j + 1}"
        y = table.data[:, j]
        if kind == "absorption":
            y = _absorbance(
                y, table.names[j] if table.names else None, table.header_text(), table.source
            )
        out.append(
            Spectrum.from_xy(
                table.data[:, 0],
                y,
                x_unit=unit,
                kind=kind,
                source=table.source,
                label=label,
            )
        )
    return out
