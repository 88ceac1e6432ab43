"""Decay readers: text, PicoQuant PTU (T3, T2) and PHU, Becker & Hickl SDT, and real PTU files.

The shipped files in tests/data/decay are written by make_files.py there: the T3
PTU with ptufile's own writer (ptufile.imwrite); the T2 PTU, the PHU and the SDT
with our own writers (ptufile and sdtfile cannot write those), so for those three
formats these tests check our reader against files from our own code path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from qdstack.errors import FileFormatError, OptionError
from qdstack.io.decay import detect_time_unit, read_decay

DATA = Path(__file__).resolve().parents[1] / "data" / "decay"
TRUTH = json.loads((DATA / "truth.json").read_text())


def test_text_ns_with_header():
    h = read_decay(DATA / "decay_ns.csv")
    assert h.format == "text"
    assert len(h) == 256
    assert h.bin_width_ns == pytest.approx(0.05)
    assert h.photons == TRUTH["decay_ns.csv"]["photons"]
    assert h.period_ns is None
    assert h.time_ns[0] == 0.0 and np.allclose(np.diff(h.time_ns), 0.05)


def test_text_ps_tab_two_channels_defaults_to_most_photons():
    h = read_decay(DATA / "decay_2ch_ps.tsv")
    truth = TRUTH["decay_2ch_ps.tsv"]
    assert h.bin_width_ns == pytest.approx(0.05)  # ps in the header -> ns
    assert [list(c) for c in h.channels] == truth["channels"]
    assert h.channel == 1 and h.photons == truth["channels"][1][1]
    assert any("Detector B" in n for n in h.notes)
    h0 = read_decay(DATA / "decay_2ch_ps.tsv", channel=0)
    assert h0.photons == truth["channels"][0][1]
    with pytest.raises(OptionError, match="channel 5"):
        read_decay(DATA / "decay_2ch_ps.tsv", channel=5)


def test_time_unit_override_and_detection():
    assert detect_time_unit(("Time [ps]", "counts"), "") == "ps"
    assert detect_time_unit(("t (µs)", "c"), "") == "us"
    assert (
        detect_time_unit(("time", "counts"), "Resolution: 16 ps\nunits ns") == "ns"
    )  # ambiguous header
    assert detect_time_unit(None, "") == "ns"
    h = read_decay(DATA / "decay_2ch_ps.tsv", time_unit="ns")
    assert h.bin_width_ns == pytest.approx(50.0)


def test_ptu_t3_image_written_by_ptufile():
    truth = TRUTH["decay_t3.ptu"]
    h = read_decay(DATA / "decay_t3.ptu")
    assert h.format == "ptu-t3"
    assert [list(c) for c in h.channels] == truth["channels"]
    assert h.channel == 0  # most photons
    assert h.period_ns == pytest.approx(truth["period_ns"], rel=1e-9)
    assert h.bin_width_ns == pytest.approx(truth["bin_width_ns"], rel=1e-6)
    assert int(np.dot(np.arange(len(h)), h.counts)) == truth["checksum"][0]
    h1 = read_decay(DATA / "decay_t3.ptu", channel=1)
    assert int(np.dot(np.arange(len(h1)), h1.counts)) == truth["checksum"][1]


def test_ptu_t2_delays_after_sync():
    truth = TRUTH["decay_t2.ptu"]
    h = read_decay(DATA / "decay_t2.ptu")
    assert h.format == "ptu-t2"
    assert [list(c) for c in h.channels] == truth["channels"]
    assert h.period_ns == pytest.approx(truth["period_ns"], rel=1e-6)
    assert len(h) * h.bin_width_ns == pytest.approx(truth["period_ns"], rel=0.01)
    h2 = read_decay(DATA / "decay_t2.ptu", t2_bin_ns=0.1)
    assert h2.bin_width_ns == pytest.approx(0.1) and h2.photons == h.photons


def test_phu_curves():
    truth = TRUTH["decay.phu"]
    h = read_decay(DATA / "decay.phu")
    assert h.format == "phu"
    assert [list(c) for c in h.channels] == truth["channels"]
    assert h.channel == 1
    assert h.bin_width_ns == pytest.approx(truth["bin_width_ns"], rel=1e-9)
    assert h.period_ns == pytest.approx(truth["period_ns"], rel=1e-9)
    assert int(np.dot(np.arange(len(h)), h.counts)) == truth["checksum"][1]


def test_sdt_curves():
    truth = TRUTH["decay.sdt"]
    h = read_decay(DATA / "decay.sdt")
    assert h.format == "sdt"
    assert [list(c) for c in h.channels] == truth["channels"]
    assert h.bin_width_ns == pytest.approx(truth["bin_width_ns"], rel=1e-6)
    assert h.period_ns == pytest.approx(truth["period_ns"], rel=1e-6)
    assert int(np.dot(np.arange(len(h)), h.counts)) == truth["checksum"][0]
    assert (
        int(np.dot(np.arange(256), read_decay(DATA / "decay.sdt", channel=1).counts))
        == truth["checksum"][1]
    )


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(n=20, start=0.0):
    return [(start + 0.1 * i, 100 - 4 * i) for i in range(n)]


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda rows: rows.__setitem__(5, (0.5, -3)), "line 7: negative counts"),
        (lambda rows: rows.__setitem__(6, (0.6, 12.5)), "line 8: non-integer counts"),
        (lambda rows: rows.__setitem__(9, (0.95, 40)), "not uniformly spaced"),
    ],
)
def test_malformed_text_is_an_error_naming_the_line(tmp_path, edit, match):
    rows = _rows()
    edit(rows)
    p = _write(tmp_path, "bad.csv", "time_ns,counts\n" + "".join(f"{a},{b}\n" for a, b in rows))
    with pytest.raises(FileFormatError, match=match) as err:
        read_decay(p)
    assert str(p) in str(err.value)


def test_other_bad_inputs(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_decay(tmp_path / "missing.csv")
    with pytest.raises(FileFormatError, match="empty"):
        read_decay(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(FileFormatError, match="at least 8"):
        read_decay(_write(tmp_path, "short.csv", "".join(f"{a},{b}\n" for a, b in _rows(5))))
    with pytest.raises(FileFormatError, match="no photons"):
        read_decay(_write(tmp_path, "zero.csv", "".join(f"{0.1 * i},0\n" for i in range(20))))
    fake = tmp_path / "fake.ptu"
    fake.write_bytes(b"NOTAPTU!" + bytes(100))
    with pytest.raises(FileFormatError, match="PQTTTR"):
        read_decay(fake)
    trunc = tmp_path / "trunc.phu"
    trunc.write_bytes((DATA / "decay.phu").read_bytes()[:300])
    with pytest.raises(FileFormatError, match="PHU"):
        read_decay(trunc)
    bad_sdt = tmp_path / "bad.sdt"
    bad_sdt.write_bytes(bytes(64))
    with pytest.raises(FileFormatError, match="SDT"):
        read_decay(bad_sdt)


@pytest.mark.parametrize(
    "name, counts, period_ns, bin_ps, peak_bin",
    [
        ("hydraharp_v20_t3.ptu", [45012, 32871], 200.0016, 64.0, 60),  # data README: peak at bin 60
        ("hydraharp_v10_t3.ptu", [48001, 46559], 400.0, 128.0, 31),
    ],
)
def test_real_hydraharp_t3_files(
    real_data, caplog, capsys, name, counts, period_ns, bin_ps, peak_bin
):
    """Real SymPhoTime files: two channels; their harmless UsrHeadName tag oddities become notes."""
    with caplog.at_level(logging.DEBUG, logger="ptufile"):
        h = read_decay(real_data / "tcspc" / name)
    assert [p for _, p in h.channels] == counts
    assert h.channel == 0 and h.photons == counts[0]
    assert len(h) == 3125
    assert h.bin_width_ns * 1e3 == pytest.approx(bin_ps, rel=1e-6)
    assert h.period_ns == pytest.approx(period_ns, rel=1e-5)
    assert any("UsrHeadName" in n for n in h.notes)
    assert not [r for r in caplog.records if r.name == "ptufile"]  # captured, not logged
    assert capsys.readouterr().err == ""
    assert int(np.argmax(h.counts)) == peak_bin
    assert read_decay(real_data / "tcspc" / name, channel=1).photons == counts[1]
