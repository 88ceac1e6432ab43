"""Property-based: readers either read a file or raise qdstack's own error, never anything else."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdstack.errors import QdstackError
from qdstack.io.columns import read_columns
from qdstack.io.spectrum import read_spectrum
from qdstack.io.table import read_numeric_table

# QDSTACK_FUZZ_EXAMPLES=2000 for a deeper search than CI's
SETTINGS = settings(
    max_examples=int(os.environ.get("QDSTACK_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

_token = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**6), 10**6).map(str),
    st.sampled_from(
        ["", " ", "nan", "inf", "abc", "1,5", "1.2.3", "--", "e5", '"2.0"', "1e999", "NaN"]
    ),
    st.text(max_size=6),
)
_delim = st.sampled_from([",", "\t", ";", " ", "  ", ", "])
_row = st.tuples(st.lists(_token, min_size=0, max_size=4), _delim).map(lambda t: t[1].join(t[0]))
_table = st.lists(_row, min_size=0, max_size=25).map("\n".join)

# a reader may warn (e.g. "3 columns; using column 2"); warnings are not what is tested here
pytestmark = pytest.mark.filterwarnings("ignore::qdstack.errors.QdstackWarning")


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_random_bytes(tmp_path, data):
    p = tmp_path / "random.bin"
    p.write_bytes(data)
    for reader in (read_numeric_table, read_spectrum):
        try:
            reader(p)
        except QdstackError:
            pass


@SETTINGS
@given(text=_table, encoding=st.sampled_from(["utf-8", "cp932", "latin-1", "utf-16"]))
def test_random_malformed_tables(tmp_path, text, encoding):
    p = tmp_path / "table.txt"
    p.write_bytes(text.encode(encoding, errors="replace"))
    for reader in (read_numeric_table, read_spectrum):
        try:
            result = reader(p)
        except QdstackError:
            continue
        arr = result.data if hasattr(result, "data") else result.intensity
        assert np.all(np.isfinite(arr))


@SETTINGS
@given(text=_table)
def test_random_named_tables(tmp_path, text):
    p = tmp_path / "named.csv"
    p.write_text("distance_nm,shift_meV\n" + text)
    try:
        cols = read_columns(p, required=("distance_nm", "shift_meV"))
    except QdstackError:
        return
    assert np.all(np.isfinite(cols["distance_nm"]))


@SETTINGS
@given(
    x=st.lists(st.floats(300, 900, allow_nan=False), min_size=3, max_size=40, unique=True),
    decimal_comma=st.booleans(),
    delimiter=st.sampled_from(["\t", ";", " "]),
    header=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), max_size=4
    ),
)
def test_well_formed_tables_round_trip(tmp_path, x, decimal_comma, delimiter, header):
    """Whatever the header junk above it, a well-formed block is read exactly."""
    x = sorted(x)
    y = [v / 1000.0 for v in x]

    def fmt(v):
        s = repr(float(v))
        return s.replace(".", ",") if decimal_comma else s

    lines = [h.replace("\n", " ").replace("\r", " ") for h in header]
    # header lines must not themselves look like data rows
    lines = [f"# {h}" for h in lines]
    lines += [f"{fmt(a)}{delimiter}{fmt(b)}" for a, b in zip(x, y)]
    p = tmp_path / "ok.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t = read_numeric_table(p)
    np.testing.assert_allclose(t.data[:, 0], x)
    np.testing.assert_allclose(t.data[:, 1], y)


def _valid_spe() -> bytes:
    """A small valid WinSpec file (50 pixels, uint16, linear 500 + 0.1 p nm calibration)."""
    import struct

    h = bytearray(4100)
    struct.pack_into("<H", h, 42, 50)
    struct.pack_into("<h", h, 108, 3)
    struct.pack_into("<H", h, 656, 1)
    struct.pack_into("<i", h, 1446, 1)
    struct.pack_into("<f", h, 1992, 2.5)
    struct.pack_into("<H", h, 4098, 0x5555)
    h[3098], h[3101], h[3102] = 1, 1, 2
    struct.pack_into("<2d", h, 3103, 1.0, 50.0)
    struct.pack_into("<2d", h, 3183, 500.1, 505.0)
    struct.pack_into("<2d", h, 3263, 500.0, 0.1)
    return bytes(h) + np.arange(100, 150, dtype="<u2").tobytes()


_SPE_FIELDS = [10, 42, 108, 656, 1446, 1992, 678, 3098, 3101, 3102, 3103, 3183, 3263, 3271, 4098]


@SETTINGS
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_SPE_FIELDS), st.binary(min_size=1, max_size=8)), max_size=6
    ),
    cut=st.integers(0, 4200),
    footer=st.binary(max_size=300),
)
def test_damaged_spe_files(tmp_path, edits, cut, footer):
    """A valid .spe with header fields overwritten by random bytes, cut short or given a random tail
    (read as a LightField XML footer when the version field says 3.x): read, or qdstack's own error."""
    raw = bytearray(_valid_spe())
    for offset, value in edits:
        raw[offset : offset + len(value)] = value
    data = bytes(raw[: len(raw) - cut]) + footer
    p = tmp_path / "damaged.spe"
    p.write_bytes(data)
    try:
        s = read_spectrum(p, kind="emission")
    except QdstackError:
        return
    assert np.all(np.isfinite(s.intensity)) and np.all(np.diff(s.energy_eV) > 0)


_attr = st.one_of(
    st.integers(-5, 10**6).map(str), st.sampled_from(["", "abc", "1e3", "-0", "12.5"])
)
_values = st.lists(
    st.one_of(
        st.floats(300, 900).map(lambda v: f"{v:.3f}"), st.sampled_from(["", "x", "nan", "1e999"])
    ),
    max_size=60,
).map(",".join)


@SETTINGS
@given(
    stride=_attr,
    x0=_attr,
    xbin=_attr,
    values=_values,
    tag=st.sampled_from(["Wavelength", "WavelengthError", "X"]),
    regions=st.integers(0, 2),
    version=st.sampled_from([3.0, 3.5]),
)
def test_damaged_lightfield_footers(tmp_path, stride, x0, xbin, values, tag, regions, version):
    """LightField 3.x files whose XML footer carries random attribute values and wavelength lists."""
    import struct

    raw = bytearray(_valid_spe())
    struct.pack_into("<f", raw, 1992, version)
    region = '<DataBlock type="Region" width="50" height="1"/>' * regions
    xml = (
        f'<SpeFormat><DataFormat><DataBlock type="Frame" stride="{stride}">{region}</DataBlock></DataFormat>'
        f'<SensorMapping x="{x0}" xBinning="{xbin}"/><{tag}>{values}</{tag}></SpeFormat>'
    ).encode()
    struct.pack_into("<Q", raw, 678, len(raw))
    p = tmp_path / "lf.spe"
    p.write_bytes(bytes(raw) + xml)
    try:
        s = read_spectrum(p, kind="emission")
    except QdstackError:
        return
    assert np.all(np.isfinite(s.intensity)) and np.all(np.diff(s.energy_eV) > 0)
