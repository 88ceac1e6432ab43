"""The tolerant numeric-table reader: every layout instruments write, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.errors import FileFormatError
from qdstack.io.table import decode_text, parse_numeric_table, read_numeric_table


def _write(tmp_path, text, name="t.txt", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


@pytest.mark.parametrize(
    "text, delimiter, decimal_comma",
    [
        ("1.5,2\n2.5,3\n3.5,4\n", "comma", False),
        ("1.5\t2\n2.5\t3\n3.5\t4\n", "tab", False),
        ("1.5;2\n2.5;3\n3.5;4\n", "semicolon", False),
        ("1.5 2\n2.5   3\n 3.5 4\n", "whitespace", False),
        ("1,5\t2\n2,5\t3\n3,5\t4\n", "tab", True),
        ("1,5;2\n2,5;3\n3,5;4\n", "semicolon", True),
        ("1,5 2,0\n2,5 3,0\n3,5 4,0\n", "whitespace", True),
    ],
)
def test_delimiters_and_decimal_commas(text, delimiter, decimal_comma):
    t = parse_numeric_table(text)
    assert t.delimiter == delimiter
    assert t.decimal_comma == decimal_comma
    np.testing.assert_allclose(t.data, [[1.5, 2], [2.5, 3], [3.5, 4]])


def test_header_block_and_column_names():
    text = (
        '"sample 7 - RawData"\n'
        "Instrument: UV-1601PC\n"
        "\n"
        '"Wavelength nm.","Abs."\n'
        "300.0,0.5\n301.0,0.6\n302.0,0.7\n"
    )
    t = parse_numeric_table(text, "f.csv")
    assert t.names == ("Wavelength nm.", "Abs.")
    assert t.first_line == 5
    assert len(t.header) == 4
    assert t.data.shape == (3, 2)


def test_quoted_numbers_trailing_delimiters_and_line_ends():
    text = '"1.0","2.0",\r\n"2.0","3.0",\r\n"3.0","4.0",\r\n'
    t = parse_numeric_table(text)
    np.testing.assert_allclose(t.data[:, 1], [2, 3, 4])
    t2 = parse_numeric_table("1 2\r3 4\r5 6\r")  # old Mac line ends
    assert t2.data.shape == (3, 2)


def test_trailing_footer_is_ignored():
    t = parse_numeric_table("x,y\n1,2\n2,3\n3,4\n\nEnd of data\nTotal: 3 points\n")
    assert t.data.shape == (3, 2)


def test_scientific_notation_and_signs():
    t = parse_numeric_table("1e2,-3.5E-4\n+2.0e2,.5\n3.0e2,-.25\n")
    np.testing.assert_allclose(t.data, [[100, -3.5e-4], [200, 0.5], [300, -0.25]])


@pytest.mark.parametrize(
    "text, line",
    [
        ("x,y\n1,2\n2,\n3,4\n4,5\n", 3),  # blank value
        ("x,y\n1,2\n2,abc\n3,4\n4,5\n", 3),  # non-numeric value
        ("x,y\n1,2\n2,3\n\n3,4\n4,5\n", 4),  # blank line inside the data
        ("1,2\n2,3\n3,4\n4,5\n5,nan\n6,7\n7,8\n8,9\n9,10\n", 5),  # nan is not a number here
    ],
)
def test_broken_row_inside_data_names_the_line(text, line):
    with pytest.raises(FileFormatError, match=f"line {line}:"):
        parse_numeric_table(text, "bad.csv")


def test_broken_row_before_the_longest_block_is_an_error():
    rows = "\n".join(f"{i},{i + 1}" for i in range(5))
    more = "\n".join(f"{i},{i + 1}" for i in range(10, 30))
    with pytest.raises(FileFormatError, match="line 6"):
        parse_numeric_table(rows + "\n10,\n" + more + "\n", "bad.csv")


def test_single_numeric_metadata_lines_are_header():
    t = parse_numeric_table("Points\n601\n1 2\n2 3\n3 4\n")
    assert t.data.shape == (3, 2)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"just some text\nno numbers\n", "no rows"),
        (b"1\n2\n3\n", "no rows"),
        (b"\x00\x01\x02binary", "binary"),
    ],
)
def test_unreadable_content(tmp_path, content, match):
    p = _write(tmp_path, content)
    with pytest.raises(FileFormatError, match=match) as info:
        read_numeric_table(p)
    assert str(p) in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_numeric_table(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match="directory"):
        read_numeric_table(tmp_path)


def test_non_utf8_headers(tmp_path):
    sjis = "測定データ\n波長 nm\t吸光度\n300,0\t0,5\n301,0\t0,6\n302,0\t0,7\n".encode("cp932")
    t = read_numeric_table(_write(tmp_path, sjis, "sjis.txt"))
    np.testing.assert_allclose(t.data[:, 0], [300, 301, 302])
    latin = "Température (°C) spectre\nLänge;Abs\n300,5;0,1\n301,5;0,2\n302,5;0,3\n".encode(
        "latin-1"
    )
    t = read_numeric_table(_write(tmp_path, latin, "latin.txt"))
    np.testing.assert_allclose(t.data[:, 0], [300.5, 301.5, 302.5])


def test_bom_and_utf16(tmp_path):
    text = "nm,abs\n300,0.1\n301,0.2\n302,0.3\n"
    t = read_numeric_table(_write(tmp_path, b"\xef\xbb\xbf" + text.encode(), "bom.csv"))
    assert t.names == ("nm", "abs")
    t = read_numeric_table(_write(tmp_path, text.encode("utf-16"), "u16.csv"))
    assert t.data.shape == (3, 2)
    assert decode_text(text.encode("utf-16")) == text


def test_column_access_by_name_and_index():
    t = parse_numeric_table("a,b,c\n1,2,3\n4,5,6\n7,8,9\n", "t.csv")
    np.testing.assert_allclose(t.column("B"), [2, 5, 8])
    np.testing.assert_allclose(t.column(-1), [3, 6, 9])
    with pytest.raises(FileFormatError, match="no column named"):
        t.column("d")
    with pytest.raises(FileFormatError, match="has 3 columns"):
        t.column(5)


def test_real_shimadzu_export(real_data):
    t = read_numeric_table(real_data / "uvvis" / "sa281-02-280K.txt")
    assert t.delimiter == "tab" and t.decimal_comma
    assert t.names == ("Wavelength nm.", "Abs.")
    assert t.data.shape == (601, 2)
    assert t.data[0, 0] == 300.0 and t.data[0, 1] == pytest.approx(0.322)


def test_real_multicolumn_csv(real_data):
    t = read_numeric_table(real_data / "uvvis" / "CdSe_QD_Run6_UV-Vis.csv")
    assert t.data.shape == (301, 19)
    assert t.names[0] == "Wavelength (nm)"


def test_plain_row_shortcut_equals_the_field_by_field_parse():
    # _parse_rows takes a shortcut for rows of plain numbers; on every kind of line (plain,
    # quoted, padded, trailing delimiter, one field, text, decimal commas, exotic numbers) it
    # must give what _parse_row gives line by line, in every dialect
    from qdstack.io.table import _DIALECTS, _parse_row, _parse_rows

    lines = [
        "300.0,0.123",
        "300,0.1,5e-3",
        "-1.5e+02,+.5,7.",
        "300.0, 0.123",
        '"300.0","0.123"',
        "300.0,0.123,",
        "300.0",
        "300.0,,0.1",
        "300.0,abc",
        "300.0\t0.123",
        "300,0\t0,123",
        "300.0;0.123",
        "300,0;0,123",
        "  300.0   0.123  ",
        "1e5,2E-3",
        "1.5e,2",
        ".,1",
        "nan,1",
        "inf,1",
        "١٢,3",
        "",
        "Wavelength nm.,Abs.",
    ]
    for delim, dec in _DIALECTS:
        assert _parse_rows(lines, delim, dec) == [_parse_row(x, delim, dec) for x in lines], (
            delim,
            dec,
        )


def test_dialect_skip_keeps_the_choice(tmp_path):
    # skipping dialects that cannot have a longer block must not change which one is chosen:
    # compared with trying every dialect on every line (the reader before the shortcut)
    import qdstack.io.table as T

    texts = [
        "a,b\n1,2\n3,4\n5,6\n",
        "x y\n1 2\n3 4\n5 6\n",
        "1;2,5\n3;4,5\n5;6,5\n",
        "1,5\t2,5\n3,5\t4,5\n5,5\t6,5\n",
        "t,1 2\n1 2,3\n4 5,6\n7 8,9\n",
        "1\t2,3\n4\t5,6\n7\t8,9\n1 2\n",
        "1 2\n3 4\n5 6\n1,2\n3,4\n5,6\n7,8\n",
    ]

    def everything(text):
        lines = text.splitlines()
        best = None
        for pref, (delim, dec) in enumerate(T._DIALECTS):
            parsed = [T._parse_row(line, delim, dec) for line in lines]
            ncols = [len(p) if p is not None and len(p) >= 2 else 0 for p in parsed]
            runs = T._runs(ncols)
            if not runs:
                continue
            longest = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
            score = (longest[1] - longest[0], -pref)
            if best is None or score > best[0]:
                best = (score, (delim, dec))
        return best[1]

    for text in texts:
        table = T.parse_numeric_table(text)
        delim, dec = everything(text)
        assert (table.delimiter, table.decimal_comma) == (T._DELIMITER_NAMES[delim], dec), text
