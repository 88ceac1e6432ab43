"""Spectrum reader: units from header or values, order, the PL Jacobian, errors."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.errors import FileFormatError, QdstackWarning
from qdstack.io.spectrum import Spectrum, read_spectra, read_spectrum
from qdstack.io.writers import write_spectrum
from qdstack.units import HC_EV_NM


def _write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_wavelength_from_header_descending(tmp_path):
    p = _write(tmp_path, "Wavelength (nm),Abs\n520,0.3\n510,0.4\n500,0.5\n")
    s = read_spectrum(p)
    assert s.x_unit == "nm"
    np.testing.assert_allclose(s.energy_eV, HC_EV_NM / np.array([520, 510, 500]))
    np.testing.assert_allclose(s.intensity, [0.3, 0.4, 0.5])  # absorbance is not rescaled
    assert np.all(np.diff(s.energy_eV) > 0)


def test_energy_from_header(tmp_path):
    p = _write(tmp_path, "Energy (eV)\tAbs\n2.3\t0.1\n2.4\t0.2\n2.5\t0.3\n")
    assert read_spectrum(p).x_unit == "eV"
    p = _write(tmp_path, "E [eV]\tI\n2.3\t0.1\n2.4\t0.2\n2.5\t0.3\n", "b.txt")
    assert read_spectrum(p).x_unit == "eV"


def test_unit_from_values(tmp_path):
    s = read_spectrum(_write(tmp_path, "500,1\n501,2\n502,3\n"))
    assert s.x_unit == "nm"
    s = read_spectrum(_write(tmp_path, "2.5,1\n2.4,2\n2.3,3\n", "e.csv"))
    assert s.x_unit == "eV"
    np.testing.assert_allclose(s.energy_eV, [2.3, 2.4, 2.5])
    np.testing.assert_allclose(s.intensity, [3, 2, 1])


def test_header_beats_values(tmp_path):
    # an energy column whose values happen to exceed 100 would be absurd; a wavelength column
    # labelled nm with values below 100 is refused rather than silently converted
    p = _write(tmp_path, "wavelength_nm,abs\n2.3,1\n2.4,2\n2.5,3\n")
    with pytest.raises(FileFormatError, match="outside the optical range"):
        read_spectrum(p)


def test_mev_and_wavenumber_units(tmp_path):
    s = read_spectrum(_write(tmp_path, "Energy (meV),I\n2300,1\n2400,2\n2500,3\n"))
    np.testing.assert_allclose(s.energy_eV, [2.3, 2.4, 2.5])
    s = read_spectrum(_write(tmp_path, "Wavenumber (cm-1),I\n18000,1\n19000,2\n20000,3\n", "w.csv"))
    assert s.x_unit == "cm-1"
    np.testing.assert_allclose(s.energy_eV[0], 18000 * HC_EV_NM * 1e-7)


def test_pl_jacobian(tmp_path):
    lam = np.linspace(450, 550, 101)
    flat = np.ones_like(lam)
    p = _write(tmp_path, "nm,counts\n" + "\n".join(f"{x},{y}" for x, y in zip(lam, flat)))
    s = read_spectrum(p, kind="emission")
    # a flat spectrum per nm becomes lambda^2/hc per eV, and the total is conserved
    np.testing.assert_allclose(s.intensity, (HC_EV_NM / s.energy_eV) ** 2 / HC_EV_NM)
    total_nm = np.trapezoid(flat, lam)
    total_eV = np.trapezoid(s.intensity, s.energy_eV)
    assert total_eV == pytest.approx(total_nm, rel=1e-3)
    absorb = read_spectrum(p, kind="absorption")
    np.testing.assert_allclose(absorb.intensity, 1.0)


def test_emission_in_energy_is_not_rescaled(tmp_path):
    s = read_spectrum(_write(tmp_path, "eV,I\n2.3,5\n2.4,6\n2.5,7\n"), kind="emission")
    np.testing.assert_allclose(s.intensity, [5, 6, 7])


@pytest.mark.parametrize(
    "text, match",
    [
        ("nm,a\n500,1\n500,2\n501,3\n", "not strictly"),
        ("nm,a\n500,1\n502,2\n501,3\n", "not strictly"),
        ("nm,a\n-5,1\n-4,2\n-3,3\n", "positive"),
        ("q (nm^-1),I\n0.5,1\n0.6,2\n0.7,3\n", "outside the optical range"),
    ],
)
def test_bad_axes(tmp_path, text, match):
    with pytest.raises(FileFormatError, match=match) as info:
        read_spectrum(_write(tmp_path, text))
    assert "s.csv" in str(info.value)


def test_multicolumn_warns_and_selects(tmp_path):
    p = _write(tmp_path, "nm,a,b\n500,0.1,1\n501,0.2,2\n502,0.3,3\n")
    with pytest.warns(QdstackWarning, match="3 columns"):
        s = read_spectrum(p)
    assert s.label == "a"
    s = read_spectrum(p, column="b")
    np.testing.assert_allclose(sorted(s.intensity), [1, 2, 3])
    s = read_spectrum(p, column=2)
    assert s.label == "b"
    with pytest.raises(FileFormatError, match="x axis"):
        read_spectrum(p, column=0)
    both = read_spectra(p)
    assert [x.label for x in both] == ["a", "b"]


def test_write_then_read_roundtrip(tmp_path):
    e = np.linspace(2.2, 2.8, 50)
    s = Spectrum(e, np.sin(e), kind="absorption")
    p = write_spectrum(tmp_path / "out.csv", s, comment="synthetic")
    back = read_spectrum(p)
    assert back.x_unit == "eV"
    np.testing.assert_allclose(back.energy_eV, e)
    np.testing.assert_allclose(back.intensity, np.sin(e))


def test_spectrum_is_immutable():
    s = Spectrum([2.0, 2.1, 2.2], [1, 2, 3])
    with pytest.raises(ValueError):
        s.intensity[0] = 5.0
    c = s.crop(2.05, None)
    assert len(c) == 2 and len(s) == 3


def test_real_shimadzu_spectrum(real_data):
    s = read_spectrum(real_data / "uvvis" / "sa281-02-280K.txt")
    assert s.x_unit == "nm" and len(s) == 601
    assert s.energy_eV[0] == pytest.approx(HC_EV_NM / 900)
    assert s.energy_eV[-1] == pytest.approx(HC_EV_NM / 300)


def test_real_cdse_pl_columns(real_data):
    spectra = read_spectra(real_data / "pl" / "CdSe_QD_Run6_FL_emission.csv", kind="emission")
    assert len(spectra) == 18
    assert spectra[0].label == "30 s"
    assert all(len(s) == 131 for s in spectra)


# ------------------------------------------------------------- issue 16, item 6: wrong quantity or unit


def _band_absorbance(lam_nm):
    """An excitonic band at 2.45 eV on a weak continuum (truth for the unit tests)."""
    e = HC_EV_NM / lam_nm
    return 0.02 + 0.3 * np.exp(-0.5 * ((e - 2.45) / 0.04) ** 2) + 0.1 * np.clip(e - 2.5, 0, None)


def test_percent_transmittance_is_converted_with_a_warning(tmp_path):
    """A %T column was read as absorbance ("OD 98.6")."""
    lam = np.arange(420.0, 600.0, 1.0)
    a = _band_absorbance(lam)
    t = 100 * 10 ** (-a)
    p = _write(
        tmp_path, "Wavelength (nm),%T\n" + "".join(f"{x:.1f},{y:.6f}\n" for x, y in zip(lam, t))
    )
    with pytest.warns(
        QdstackWarning, match=r"transmittance \(%T\); converted to absorbance A = 2 - log10\(%T\)"
    ):
        s = read_spectrum(p)
    np.testing.assert_allclose(s.intensity[::-1], a, rtol=1e-5)
    frac = _write(
        tmp_path,
        "nm\tTransmittance\n" + "".join(f"{x:.1f}\t{y / 100:.8f}\n" for x, y in zip(lam, t)),
        "frac.txt",
    )
    with pytest.warns(QdstackWarning, match=r"T \(fraction\)"):
        s = read_spectrum(frac)
    np.testing.assert_allclose(s.intensity[::-1], a, rtol=1e-4)
    emission = read_spectrum(p, kind="emission")  # a PL column is never converted
    assert emission.intensity.max() > 50


def test_values_no_absorbance_takes_are_refused(tmp_path):
    lam = np.arange(420.0, 600.0, 1.0)
    t = 100 * 10 ** (-_band_absorbance(lam))
    p = _write(
        tmp_path, "".join(f"{x:.1f},{y:.4f}\n" for x, y in zip(lam, t))
    )  # %T without a header
    with pytest.raises(
        FileFormatError,
        match=r"not absorbance: an OD above 6 is not measurable.*%T or Transmittance",
    ):
        read_spectrum(p)
    r = _write(tmp_path, "nm,%R\n500,40\n501,41\n502,42\n", "r.csv")
    with pytest.raises(FileFormatError, match="reflectance"):
        read_spectrum(r)
    zero = _write(tmp_path, "nm,%T\n500,40\n501,0\n502,42\n", "z.csv")
    with pytest.raises(FileFormatError, match="<= 0"):
        read_spectrum(zero)
    # values near the float maximum (found by the reader fuzz test): refused, no overflow warning
    huge = _write(tmp_path, "1.0,8.988465674311579e+307\n1.0,8.98846567431158e+307\n", "h.csv")
    with pytest.raises(FileFormatError, match="not absorbance"):
        read_spectrum(huge)


def test_micrometres_are_read_from_the_header_or_the_values(tmp_path):
    """Wavelengths in µm without a header were read as photon energies in eV."""
    lam_um = np.arange(0.42, 0.60, 0.001)
    a = _band_absorbance(lam_um * 1e3)
    body = "".join(f"{x:.3f},{y:.6f}\n" for x, y in zip(lam_um, a))
    headed = read_spectrum(_write(tmp_path, "Wavelength (µm),Abs\n" + body, "h.csv"))
    assert headed.x_unit == "um"
    np.testing.assert_allclose(headed.energy_eV, np.sort(HC_EV_NM / (lam_um * 1e3)), rtol=1e-12)
    for name in ("Wavelength (um),Abs\n", "wavelength [microns],A\n"):
        assert read_spectrum(_write(tmp_path, name + body, "u.csv")).x_unit == "um"
    bare = _write(tmp_path, body, "bare.csv")
    with pytest.warns(QdstackWarning, match=r"read as wavelengths in µm \(420\.\.599 nm"):
        s = read_spectrum(bare)
    assert s.x_unit == "um" and s.energy_eV.max() == pytest.approx(HC_EV_NM / 420.0)


def test_energies_stay_energies_and_ambiguous_ranges_are_refused(tmp_path):
    e = np.linspace(1.8, 3.2, 200)
    s = read_spectrum(_write(tmp_path, "".join(f"{x:.5f},0.1\n" for x in e), "ev.csv"))
    assert s.x_unit == "eV" and s.energy_eV[0] == pytest.approx(1.8)
    both = np.linspace(0.4, 2.5, 200)  # 400-2500 nm in µm, or 0.4-2.5 eV: no way to tell
    with pytest.raises(
        FileFormatError,
        match=r"cannot tell the unit of the x column.*0\.4\.\.2\.5.*Wavelength \(um\)",
    ):
        read_spectrum(_write(tmp_path, "".join(f"{x:.5f},0.1\n" for x in both), "amb.csv"))
    mid = np.linspace(20, 80, 50)
    with pytest.raises(FileFormatError, match="cannot tell the unit"):
        read_spectrum(_write(tmp_path, "".join(f"{x:.5f},0.1\n" for x in mid), "mid.csv"))


def test_cli_reports_the_conversion_and_refusals_in_one_line(run_cli, tmp_path):
    lam = np.arange(420.0, 600.0, 0.5)
    t = 100 * 10 ** (-_band_absorbance(lam))
    p = _write(
        tmp_path,
        "Wavelength (nm),T%\n" + "".join(f"{x:.1f},{y:.6f}\n" for x, y in zip(lam, t)),
        "film_N1.csv",
    )
    code, out, err = run_cli("absorption", p, "--json")
    assert code == 0, err
    import json

    d = json.loads(out)
    assert abs(d["spectra"][0]["peak_eV"] - 2.45) < 0.005 and d["spectra"][0]["od"] < 1
    assert "converted to absorbance" in err
    bare = _write(tmp_path, "".join(f"{x:.1f},{y:.4f}\n" for x, y in zip(lam, t)), "bare_N1.csv")
    code, out, err = run_cli("absorption", bare)
    assert code == 2 and out == "" and err.count("\n") == 1 and "not absorbance" in err
