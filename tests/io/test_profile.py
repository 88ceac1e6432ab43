"""Scattering-profile readers: text exports in q or 2theta, and real diffractometer files.

Real files (../shared/data/real/xrd, read through the ``real_data`` fixture) are checked
against what their headers and layouts state; the Bruker .brml archive is built here from
the documented structure because no real sample file could be found (README of the real data).
"""

from __future__ import annotations

import math
import struct
import zipfile

import numpy as np
import pytest

from qdstack.errors import FileFormatError, OptionError, QdstackWarning
from qdstack.io.profile import parse_x_unit, read_profile, read_profile_scans
from qdstack.units import CU_KALPHA_NM, q_to_two_theta_deg, two_theta_to_q_per_nm

Q = np.linspace(0.4, 1.2, 81)
Y = np.round(500 * np.exp(-0.5 * ((Q - 0.82) / 0.05) ** 2) + 200).astype(int)


def _write(path, header, x, y, fmt="{:.6f} {}", extra=None):
    lines = list(header)
    for i, (a, b) in enumerate(zip(x, y)):
        line = fmt.format(a, b)
        if extra is not None:
            line += f" {extra[i]:.4f}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "header, factor, unit",
    [
        (["q_nm^-1 intensity"], 1.0, "nm^-1"),
        (["# q (1/nm)", "q I"], 1.0, "nm^-1"),
        (["q I"], 1.0, "nm^-1"),
        (["q(nm-1),counts"], 1.0, "nm^-1"),
        (["q_A^-1 intensity"], 0.1, "A^-1"),
        (["# scattering vector in 1/A", "q I"], 0.1, "A^-1"),
        (["q (Å⁻¹)  I"], 0.1, "A^-1"),
    ],
)
def test_q_units_from_header(tmp_path, header, factor, unit):
    p = _write(tmp_path / "p.xy", header, Q * factor, Y, fmt="{:.8f} {}")
    prof = read_profile(p)
    assert prof.x_unit == unit
    np.testing.assert_allclose(prof.q_per_nm, Q, rtol=1e-6)
    assert prof.wavelength_nm is None and prof.two_theta_deg is None


@pytest.mark.parametrize("header", [["2theta counts"], ["2θ (deg)\tI"], ["angle_deg intensity"]])
def test_two_theta_header_default_wavelength(tmp_path, header):
    tt = q_to_two_theta_deg(Q, CU_KALPHA_NM)
    p = _write(tmp_path / "p.xy", header, tt, Y, fmt="{:.8f}\t{}")
    prof = read_profile(p)
    assert prof.x_unit == "2theta"
    assert prof.wavelength_nm == CU_KALPHA_NM and prof.wavelength_source == "default"
    np.testing.assert_allclose(prof.q_per_nm, Q, rtol=1e-6)


def test_two_theta_wavelength_from_header_and_option(tmp_path):
    wl = 0.071073  # Mo K-alpha1
    tt = q_to_two_theta_deg(Q, wl)
    p = _write(
        tmp_path / "mo.xy",
        ["# Mo source, wavelength = 0.71073 A", "2theta I"],
        tt,
        Y,
        fmt="{:.8f} {}",
    )
    prof = read_profile(p)
    assert prof.wavelength_source == "file"
    assert prof.wavelength_nm == pytest.approx(wl, rel=1e-6)
    np.testing.assert_allclose(prof.q_per_nm, Q, rtol=1e-6)
    with pytest.warns(QdstackWarning, match="states a wavelength"):
        other = read_profile(p, wavelength_nm=CU_KALPHA_NM)
    assert other.wavelength_source == "option"
    np.testing.assert_allclose(other.q_per_nm, two_theta_to_q_per_nm(tt, CU_KALPHA_NM), rtol=1e-6)


def test_xye_errors_csv_and_decimal_comma(tmp_path):
    err = np.sqrt(Y) * 1.5
    p = _write(tmp_path / "p.xye", ["q_nm^-1 I sigma"], Q, Y, extra=err)
    prof = read_profile(p)
    np.testing.assert_allclose(prof.intensity_err, err, rtol=1e-3)
    c = tmp_path / "p.csv"
    c.write_text(
        "q (1/nm),I\n" + "\n".join(f"{a:.5f},{b}" for a, b in zip(Q[::-1], Y[::-1])) + "\n"
    )
    prof = read_profile(c)  # descending x is sorted
    np.testing.assert_allclose(prof.q_per_nm, Q, rtol=1e-5)
    np.testing.assert_allclose(
        prof.intensity_err, np.sqrt(np.maximum(Y, 1))
    )  # whole counts: Poisson
    assert prof.intensity_unit == "counts"
    d = tmp_path / "p.txt"
    d.write_text(
        "q nm^-1\tI\n"
        + "\n".join(f"{a:.5f}\t{b + 0.5:.1f}".replace(".", ",") for a, b in zip(Q, Y))
    )
    prof = read_profile(d)
    np.testing.assert_allclose(prof.intensity, Y + 0.5)
    assert prof.intensity_err is None and prof.intensity_unit == "arb."


def test_unnamed_unit_is_refused_not_guessed(tmp_path):
    p = _write(tmp_path / "bare.xy", [], Q, Y)
    with pytest.raises(FileFormatError, match="x unit is not named"):
        read_profile(p)
    assert read_profile(p, x_unit="1/nm").x_unit == "nm^-1"
    with pytest.raises(OptionError):
        parse_x_unit("furlongs")


@pytest.mark.parametrize(
    "text, match",
    [
        ("q I\n0.1 5\n0.2 6\n0.2 7\n0.3 8\n0.4 9\n0.5 3\n", "strictly ascending"),
        ("2theta I\n0 5\n1 6\n2 7\n3 8\n4 9\n", "outside \\(0, 180\\)"),
        ("q I\n0.1 5\n0.2 6\n0.3 x\n0.4 8\n0.5 9\n0.6 1\n0.7 2\n0.8 3\n", "line 4"),
        ("q I\n0.1 5\n0.2 6\n", "at least 5"),
        ("", "empty"),
    ],
)
def test_malformed_text(tmp_path, text, match):
    p = tmp_path / "bad.xy"
    p.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_profile(p)


# ----------------------------------------------------------------------------- real files


def test_xrdml_empyrean(real_data):
    prof = read_profile(real_data / "xrd" / "empyrean.xrdml")
    assert prof.format == "xrdml" and prof.n_scans == 1
    assert len(prof) == 196
    assert prof.two_theta_deg[0] == pytest.approx(30.05) and prof.two_theta_deg[
        -1
    ] == pytest.approx(41.75)
    # usedWavelength intended="K-Alpha 1" -> kAlpha1 = 1.5405980 A
    assert prof.wavelength_nm == pytest.approx(0.15405980) and prof.wavelength_source == "file"
    np.testing.assert_allclose(prof.q_per_nm, two_theta_to_q_per_nm(prof.two_theta_deg, 0.1540598))
    # cps = counts / 0.44 s; the first point is 8 counts -> 18.18 cps, Poisson error sqrt(8)/0.44
    assert prof.intensity_unit == "cps"
    assert prof.intensity[0] == pytest.approx(8 / 0.44)
    assert prof.intensity_err[0] == pytest.approx(math.sqrt(8) / 0.44)


def test_xrdml_xrdtools(real_data):
    prof = read_profile(real_data / "xrd" / "xrdtools_test_scan.xrdml")
    assert len(prof) == 750 and prof.scan_axis == "2Theta-Omega"
    assert prof.two_theta_deg[0] == pytest.approx(15.01) and prof.two_theta_deg[
        -1
    ] == pytest.approx(29.99)


def test_xrdml_with_bom(real_data_gpl):
    bom = read_profile(
        real_data_gpl / "xrd" / "simpack_xrd_AlGaAs.xrdml"
    )  # UTF-8 BOM, <counts> element
    assert len(bom) == 2999 and bom.scan_axis == "Omega-2Theta"
    assert bom.two_theta_deg[0] == pytest.approx(65.46) and bom.two_theta_deg[-1] == pytest.approx(
        66.66, abs=1e-3
    )
    assert bom.intensity.max() == pytest.approx(
        152364, rel=1e-6
    )  # counts/0.5 s, as the data README states


def test_ras_two_scans_shift_jis_crlf(real_data_gpl):
    path = real_data_gpl / "xrd" / "inas_layer_radial_002_004.ras"
    scans = read_profile_scans(path)
    assert [len(s) for s in scans] == [1501, 2501]
    assert scans[0].two_theta_deg[0] == pytest.approx(26.5) and scans[1].two_theta_deg[
        -1
    ] == pytest.approx(66.0)
    # MEAS_COND_XG_WAVE_TYPE "Ka1" -> HW_XG_WAVE_LENGTH_ALPHA1 1.540593 A
    assert scans[0].wavelength_nm == pytest.approx(0.1540593)
    with pytest.warns(QdstackWarning, match="2 scans"):
        first = read_profile(path)
    assert first.scan == 1
    second = read_profile(path, scan=2)
    assert second.scan == 2 and second.n_scans == 2
    with pytest.raises(OptionError, match="holds 2"):
        read_profile(path, scan=3)


def test_bruker_raw_layout(real_data):
    prof = read_profile(real_data / "xrd" / "Cu3Au-1.raw")
    assert prof.format == "bruker_raw" and len(prof) == 3901
    assert prof.two_theta_deg[0] == pytest.approx(22.0) and prof.two_theta_deg[-1] == pytest.approx(
        100.0
    )
    assert (
        np.all(prof.intensity == np.round(prof.intensity))
        and prof.intensity.min() == 2
        and prof.intensity.max() == 138
    )
    # K-alpha1 1.5406, K-alpha2 1.54439, ratio 0.5 -> weighted mean 1.541863 A
    assert prof.wavelength_nm == pytest.approx((1.5406 + 0.5 * 1.54439) / 1.5 * 0.1, rel=1e-6)
    # the strongest reflection of Cu3Au, (111), is near 41.5 deg in this scan
    assert 41.3 < prof.two_theta_deg[np.argmax(prof.intensity)] < 41.7


def test_bruker_raw_truncated_and_other_versions(real_data, tmp_path):
    raw = (real_data / "xrd" / "Cu3Au-1.raw").read_bytes()
    cut = tmp_path / "cut.raw"
    cut.write_bytes(raw[:-100])
    with pytest.raises(FileFormatError, match="past the end"):
        read_profile(cut)
    longer = tmp_path / "longer.raw"
    longer.write_bytes(raw + b"\0" * 8)
    with pytest.raises(FileFormatError, match="does not match the RAW1.01 layout"):
        read_profile(longer)
    v4 = tmp_path / "v4.raw"
    v4.write_bytes(b"RAW4.00" + b"\0" * 2000)
    with pytest.raises(FileFormatError, match="RAW4.00"):
        read_profile(v4)


def test_xrdml_rocking_curve_refused(real_data, tmp_path):
    text = (real_data / "xrd" / "empyrean.xrdml").read_text(encoding="utf-8")
    start = text.index('<positions axis="2Theta"')
    end = text.index("</positions>", start) + len("</positions>")
    rocking = (
        text[:start]
        + '<positions axis="2Theta" unit="deg"><commonPosition>35.0</commonPosition></positions>'
        + text[end:]
    )
    p = tmp_path / "rocking.xrdml"
    p.write_text(rocking, encoding="utf-8")
    with pytest.raises(FileFormatError, match="fixed 2theta"):
        read_profile(p)
    broken = tmp_path / "broken.xrdml"
    broken.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(FileFormatError, match="XML"):
        read_profile(broken)


# ----------------------------------------------------------------------------- BRML (built here)

_RAW_DATA_XML = """<?xml version="1.0" encoding="utf-8"?>
<RawData xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <FixedInformation>
    <Instrument>
      <PrimaryTracks>
        <TrackInfoData>
          <MountedOptics>
            <InfoData xsi:type="TubeMountInfoData" LogicName="Tube">
              <Tube>
                <WaveLengthAlpha1 Value="1.5406" Unit="Å" />
                <WaveLengthAlpha2 Value="1.54439" Unit="Å" />
                <WaveLengthRatio Value="{ratio}" />
              </Tube>
            </InfoData>
          </MountedOptics>
        </TrackInfoData>
      </PrimaryTracks>
    </Instrument>
  </FixedInformation>
  <DataRoutes>
    <DataRoute RouteFlag="Final">
      <ScanInformation ScanName="Coupled TwoTheta/Theta" VisibleName="Coupled TwoTheta/Theta">
        <TimePerStep>1</TimePerStep>
        <MeasurementPoints>{n}</MeasurementPoints>
      </ScanInformation>
      <DataViews>
        <RawDataView xsi:type="RecordedRawDataView" Start="0" Length="1" LogicName="MeasuredTime" />
        <RawDataView xsi:type="RecordedRawDataView" Start="1" Length="1" LogicName="AbsorptionFactor" />
        <RawDataView xsi:type="VaryingRawDataView" Start="2" Length="2">
          <Varying><FieldDefinitions TwoTheta="1" /><FieldDefinitions Theta="1" /></Varying>
        </RawDataView>
        <RawDataView xsi:type="RecordedRawDataView" Start="4" Length="1">
          <Recording LogicName="ScanCounter" />
        </RawDataView>
      </DataViews>
{datums}
    </DataRoute>
  </DataRoutes>
</RawData>
"""


def _brml(path, tt, counts, ratio=0.5, bad_row=None):
    rows = []
    for i, (a, c) in enumerate(zip(tt, counts)):
        row = f"1,1,{a:.4f},{a / 2:.4f},{int(c)}"
        if bad_row == i:
            row = "1,1,oops"
        rows.append(f"      <Datum>{row}</Datum>")
    xml = _RAW_DATA_XML.format(ratio=ratio, n=len(rows), datums="\n".join(rows))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("experimentCollection.xml", "<ExperimentCollection />")
        z.writestr("Experiment0/DataContainer.xml", "<DataContainer />")
        z.writestr("Experiment0/RawData0.xml", xml.encode("utf-8"))
    return path


def test_brml_built_from_documented_structure(tmp_path):
    tt = np.round(np.linspace(20, 30, 201), 4)
    counts = np.round(100 + 50 * np.exp(-0.5 * ((tt - 25) / 0.3) ** 2))
    prof = read_profile(_brml(tmp_path / "scan.brml", tt, counts))
    assert prof.format == "brml" and len(prof) == 201
    np.testing.assert_allclose(prof.two_theta_deg, tt)
    np.testing.assert_allclose(prof.intensity, counts)
    assert prof.wavelength_nm == pytest.approx((1.5406 + 0.5 * 1.54439) / 1.5 * 0.1)
    k_alpha1 = read_profile(_brml(tmp_path / "ka1.brml", tt, counts, ratio=0))
    assert k_alpha1.wavelength_nm == pytest.approx(0.15406)
    with pytest.raises(FileFormatError, match="Datum"):
        read_profile(_brml(tmp_path / "bad.brml", tt, counts, bad_row=7))
    notzip = tmp_path / "notzip.brml"
    notzip.write_text("hello")
    with pytest.raises(FileFormatError, match="not a zip"):
        read_profile(notzip)


def test_raw1_layout_constants_written_by_hand(tmp_path):
    """A two-range RAW1.01 file assembled byte by byte from the layout the reader documents."""
    head = bytearray(712)
    head[:8] = b"RAW1.01\0"
    struct.pack_into("<II", head, 8, 1, 2)
    struct.pack_into("<5d", head, 616, 1.54184, 1.5406, 1.54439, 1.39222, 0.0)
    body = bytes(head)
    for start, n in ((10.0, 50), (40.0, 30)):
        rng = bytearray(304)
        struct.pack_into("<II", rng, 0, 304, n)
        struct.pack_into("<dd", rng, 8, start / 2, start)
        struct.pack_into("<d", rng, 176, 0.05)
        struct.pack_into("<f", rng, 192, 1.0)
        body += bytes(rng) + np.arange(n, dtype="<f4").tobytes()
    p = tmp_path / "two.raw"
    p.write_bytes(body)
    scans = read_profile_scans(p)
    assert [len(s) for s in scans] == [50, 30]
    assert scans[1].two_theta_deg[0] == pytest.approx(40.0)
    assert scans[0].wavelength_nm == pytest.approx(0.15406)  # ratio 0: K-alpha1


def test_xye_zero_errors_of_empty_bins(tmp_path):
    y = np.array([0, 1, 4, 9, 0, 2, 5, 0])
    p = tmp_path / "z.xye"
    p.write_text(
        "q_nm^-1 I esd\n"
        + "\n".join(f"{0.1 * (i + 1):.2f} {v} {np.sqrt(v):.4f}" for i, v in enumerate(y))
    )
    with pytest.warns(QdstackWarning, match="3 zero errors"):
        prof = read_profile(p)
    assert np.all(prof.intensity_err > 0) and prof.intensity_err[0] == 1.0
