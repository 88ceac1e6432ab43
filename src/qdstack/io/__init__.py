"""Files in and out: tolerant readers for instrument exports, atomic writers.

Readers return plain result objects (:class:`Spectrum`, :class:`DecayHistogram`,
:class:`Profile`, ...) in qdstack's fixed units; writers never leave a half-written file.

Examples
--------
>>> from qdstack.io import read_spectrum
>>> s = read_spectrum(EXAMPLES / "absorption_c3dt" / "C3DT_N1.csv")
>>> bool(s.energy_eV[0] < s.energy_eV[-1])    # always ascending photon energy in eV
True
"""

from qdstack._lazy import attach

_NAMES = {
    "Spectrum": ("spectrum", "Spectrum"),
    "read_spectrum": ("spectrum", "read_spectrum"),
    "read_spectra": ("spectrum", "read_spectra"),
    "DecayHistogram": ("decay", "DecayHistogram"),
    "read_decay": ("decay", "read_decay"),
    "Profile": ("profile", "Profile"),
    "read_profile": ("profile", "read_profile"),
    "read_profile_scans": ("profile", "read_profile_scans"),
    "NumericTable": ("table", "NumericTable"),
    "read_numeric_table": ("table", "read_numeric_table"),
    "read_columns": ("columns", "read_columns"),
    "read_image": ("image", "read_image"),
    "Micrograph": ("image", "Micrograph"),
    "atomic_write_bytes": ("writers", "atomic_write_bytes"),
    "atomic_write_text": ("writers", "atomic_write_text"),
    "dumps_json": ("writers", "dumps_json"),
    "write_json": ("writers", "write_json"),
    "write_csv": ("writers", "write_csv"),
    "write_spectrum": ("writers", "write_spectrum"),
    "save_figure": ("writers", "save_figure"),
}

__getattr__, __dir__, __all__ = attach(__name__, _NAMES)
