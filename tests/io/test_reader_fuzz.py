"""Property-based: readers either read a file or raise qdstack's own error, never anything else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdstack.errors import QdstackError
from qdstack.io.columns import read_columns
from qdstack.io.spectrum import read_spectrum
from qdstack.io.table import read_numeric_table

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_token = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", " ", "nan", "inf", "abc", "1,5", "1.2.3", "--", "e5", '"2.0"', "1e999", "NaN"]),
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
    header=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), max_size=4),
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
