"""Files in and out: tolerant readers for instrument exports, atomic writers.

Readers return plain result objects (:class:`Spectrum`, ...) in qdstack's fixed
units; writers never leave a half-written file.
"""

from qdstack.io.spectrum import Spectrum, read_spectra, read_spectrum
from qdstack.io.table import NumericTable, read_numeric_table
from qdstack.io.writers import (
    atomic_write_bytes,
    atomic_write_text,
    dumps_json,
    save_figure,
    write_csv,
    write_json,
    write_spectrum,
)

__all__ = [
    "NumericTable",
    "read_numeric_table",
    "Spectrum",
    "read_spectrum",
    "read_spectra",
    "atomic_write_bytes",
    "atomic_write_text",
    "dumps_json",
    "write_json",
    "write_csv",
    "write_spectrum",
    "save_figure",
]
