"""Princeton Instruments .spe files (qdstack.io.spe) and their use as spectra.

The real file is a WinSpec 2.2 CCD spectrum (xylib's sample, ../shared/data/real/pl):
its header states three calibration pairs that the axis must reproduce, which is a
reference we did not write.  Variants the real file does not cover (other data types,
several frames, images, LightField 3.0 footers, damage) are built here from the
documented layout.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from qdstack.errors import FileFormatError, QdstackWarning
from qdstack.io.spe import read_spe
from qdstack.io.spectrum import read_spectra, read_spectrum
from qdstack.units import HC_EV_NM

HC = HC_EV_NM


def write_winspec(
    path,
    counts,
    coef=(500.0, 0.05, 0.0),
    dtype="<u2",
    code=3,
    label=b"Wavelength [nm]",
    valid=1,
    pairs=None,
    check=0x5555,
):
    """A WinSpec 2.x file: ``counts`` of shape (frames, ydim, xdim)."""
    counts = np.round(
        np.asarray(counts, dtype=float)
    )  # whole counts: every data type holds them exactly
    n_frames, ydim, xdim = counts.shape
    h = bytearray(4100)
    struct.pack_into("<f", h, 10, 1.5)
    struct.pack_into("<H", h, 42, xdim)
    struct.pack_into("<h", h, 108, code)
    struct.pack_into("<H", h, 656, ydim)
    struct.pack_into("<i", h, 1446, n_frames)
    struct.pack_into("<f", h, 1992, 2.5)
    struct.pack_into("<H", h, 4098, check)
    h[3018 : 3018 + len(label)] = label
    h[3098] = valid
    h[3101] = len(coef) - 1
    if pairs is None:
        px = np.array([1.0, (1 + xdim) / 2, float(xdim)])
        pairs = (px, np.polynomial.polynomial.polyval(px, coef))
    h[3102] = len(pairs[0])
    struct.pack_into(f"<{len(pairs[0])}d", h, 3103, *pairs[0])
    struct.pack_into(f"<{len(pairs[1])}d", h, 3183, *pairs[1])
    struct.pack_into(f"<{len(coef)}d", h, 3263, *coef)
    path.write_bytes(bytes(h) + counts.astype(dtype).tobytes())
    return path


def write_lightfield(path, counts, wavelengths, meta_bytes=0, tag="Wavelength"):
    """A LightField 3.0 file: (frames, 1, xdim) uint16 counts, ``meta_bytes`` after each frame, XML footer."""
    counts = np.round(np.asarray(counts, dtype=float))
    n_frames, ydim, xdim = counts.shape
    frame_bytes = xdim * ydim * 2
    body = b"".join(
        counts[k].astype("<u2").tobytes() + b"\x07" * meta_bytes for k in range(n_frames)
    )
    values = (
        ",".join(f"{w:.6f}" for w in wavelengths)
        if tag == "Wavelength"
        else ",".join(f"{w:.6f},0.01" for w in wavelengths)
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<SpeFormat version="3.0" xmlns="http://www.princetoninstruments.com/spe/2009">'
        f'<DataFormat><DataBlock type="Frame" count="{n_frames}" pixelFormat="MonochromeUnsigned16" '
        f'size="{frame_bytes}" stride="{frame_bytes + meta_bytes}">'
        f'<DataBlock type="Region" count="1" width="{xdim}" height="{ydim}" size="{frame_bytes}" '
        f'stride="{frame_bytes}"/></DataBlock></DataFormat>'
        f"<Calibrations><WavelengthMapping><{tag}>{values}</{tag}></WavelengthMapping></Calibrations>"
        "</SpeFormat>"
    ).encode()
    h = bytearray(4100)
    struct.pack_into("<H", h, 42, xdim)
    struct.pack_into("<h", h, 108, 3)
    struct.pack_into("<H", h, 656, ydim)
    struct.pack_into("<i", h, 1446, n_frames)
    struct.pack_into("<f", h, 1992, 3.0)
    struct.pack_into("<H", h, 4098, 0x5555)
    struct.pack_into("<Q", h, 678, 4100 + len(body))
    path.write_bytes(bytes(h) + body + xml)
    return path


def _band(wl_nm, centre_nm=515.0, fwhm_meV=40.0, peak=5000.0, bg=300.0):
    e = HC / wl_nm
    sig = fwhm_meV / 1e3 / 2.3548
    return bg + peak * np.exp(-0.5 * ((e - HC / centre_nm) / sig) ** 2)


# ----------------------------------------------------------------------------- the real file


def test_real_winspec_file(real_data):
    spe = read_spe(real_data / "pl" / "winspec_1d-1.spe")
    assert spe.version == pytest.approx(2.2)
    assert spe.frames.shape == (1, 1, 1340)
    assert spe.exposure_s == pytest.approx(5.0)
    assert spe.x_label == "Wavelength [nm]"
    # the file's own calibration pairs (pixel 1 -> 515.0791, pixel 1340 -> 554.6448 nm)
    assert spe.x[0] == pytest.approx(515.0790773, abs=1e-6)
    assert spe.x[-1] == pytest.approx(554.6448469, abs=1e-6)
    assert spe.frames.min() == 204 and spe.frames.max() == 8849
    assert spe.x[int(np.argmax(spe.frames[0, 0]))] == pytest.approx(
        532.47, abs=0.01
    )  # a 532 nm laser


def test_real_winspec_file_as_a_spectrum(real_data):
    from qdstack.analysis.pl import pl_peak

    s = read_spectrum(real_data / "pl" / "winspec_1d-1.spe", kind="emission")
    assert s.x_unit == "nm" and len(s) == 1340 and np.all(np.diff(s.energy_eV) > 0)
    m = pl_peak(s.energy_eV, s.intensity, source=s.source)
    assert HC / m.peak_eV == pytest.approx(532.47, abs=0.01)
    # a laser line of ~3 pixels: the crossings are undersampled, so the fitted width is reported, and said
    assert m.fwhm_meV == m.fwhm_fit_meV
    assert any("points across the FWHM" in w for w in m.warnings)


def test_real_shimadzu_native_file_is_named(run_cli, real_data):
    code, out, err = run_cli("absorption", real_data / "uvvis" / "sa281-02-280K.spc")
    assert code == 2 and out == ""
    assert (
        err.count("error:") == 1
        and "sa281-02-280K.spc" in err
        and "OLE2" in err
        and "as text" in err
    )


# ----------------------------------------------------------------------------- built files


@pytest.mark.parametrize("dtype, code", [("<u2", 3), ("<i2", 2), ("<i4", 1), ("<f4", 0)])
def test_data_types_and_calibration(tmp_path, dtype, code):
    xdim = 400
    coef = (480.0, 0.1, -2e-6)
    wl = np.polynomial.polynomial.polyval(np.arange(1, xdim + 1), coef)
    counts = np.round(_band(wl))[None, None, :]  # whole counts
    s = read_spectrum(
        write_winspec(tmp_path / "x.spe", counts, coef, dtype, code), kind="absorption"
    )
    assert np.allclose(np.sort(HC / s.energy_eV), wl)
    assert np.allclose(s.intensity[::-1], counts[0, 0])  # absorption: no Jacobian; energy ascends


def test_frames_are_averaged_with_a_warning_or_read_one_by_one(tmp_path):
    wl = 480.0 + 0.1 * np.arange(1, 301)
    counts = np.round(np.stack([_band(wl, peak=p) for p in (1000.0, 2000.0, 3000.0)]))[:, None, :]
    path = write_winspec(tmp_path / "kinetic.spe", counts, (480.0, 0.1))
    with pytest.warns(QdstackWarning, match="3 frames; using their mean"):
        mean = read_spectrum(path, kind="absorption")
    frames = read_spectra(path, kind="absorption")
    assert [f.label for f in frames] == ["frame 1", "frame 2", "frame 3"]
    assert np.allclose(mean.intensity, np.mean([f.intensity for f in frames], axis=0))
    assert np.allclose(frames[2].intensity[::-1], counts[2, 0])


def test_emission_gets_the_jacobian(tmp_path):
    wl = 480.0 + 0.1 * np.arange(1, 301)
    path = write_winspec(tmp_path / "pl.spe", np.full((1, 1, 300), 100.0), (480.0, 0.1))
    s = read_spectrum(path, kind="emission")
    assert np.allclose(s.intensity, 100.0 * (HC / s.energy_eV) ** 2 / HC)
    assert wl.size == len(s)


@pytest.mark.parametrize(
    "kwargs, counts_shape, message",
    [
        ({"valid": 0}, (1, 1, 50), "no x calibration"),
        ({"check": 0x1234}, (1, 1, 50), "check value"),
        ({"code": 5}, (1, 1, 50), "unknown SPE data type 5"),
        (
            {"pairs": (np.array([1.0, 50.0]), np.array([500.0, 900.0]))},
            (1, 1, 50),
            "own calibration points",
        ),
        ({}, (1, 4, 50), "CCD image of 4 rows"),
        ({"label": b"Relative Wavenumber [cm-1]"}, (1, 1, 50), "shift from the laser line"),
    ],
)
def test_bad_files_are_refused_by_name(tmp_path, kwargs, counts_shape, message):
    path = write_winspec(tmp_path / "bad.spe", np.ones(counts_shape), (500.0, 0.05), **kwargs)
    with pytest.raises(FileFormatError, match=message) as info:
        read_spectrum(path)
    assert "bad.spe" in str(info.value)


def test_truncated_file(tmp_path):
    path = write_winspec(tmp_path / "cut.spe", np.ones((2, 1, 100)), (500.0, 0.05))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(FileFormatError, match="truncated: 2 frame"):
        read_spe(path)


def test_lightfield_footer_and_frame_metadata(tmp_path):
    wl = np.linspace(450.0, 600.0, 256)
    counts = np.stack([_band(wl, peak=p) for p in (1000.0, 4000.0)])[:, None, :]
    spe = read_spe(write_lightfield(tmp_path / "lf.spe", counts, wl, meta_bytes=16))
    assert spe.version == pytest.approx(3.0)
    assert np.allclose(spe.x, wl, atol=1e-6)
    assert np.array_equal(
        spe.frames, np.round(counts)
    )  # the 16 metadata bytes after each frame are skipped
    pairs = read_spe(write_lightfield(tmp_path / "lf2.spe", counts, wl, tag="WavelengthError"))
    assert np.allclose(pairs.x, wl, atol=1e-6)


def test_lightfield_without_wavelengths(tmp_path):
    path = write_lightfield(
        tmp_path / "nocal.spe", np.ones((1, 1, 10)), np.arange(10.0), tag="Other"
    )
    with pytest.raises(FileFormatError, match="no wavelength calibration"):
        read_spe(path)


def test_tpl_from_spe_files_end_to_end(run_cli, tmp_path):
    """PL spectra saved by WinSpec at six temperatures go through `qdstack tpl` like text exports:
    a width growing as eqn (3) with Gamma0 = 40, gamma_LO = 50, E_LO = 20 meV comes back."""
    k_B = 8.617333e-5
    wl = np.polynomial.polynomial.polyval(np.arange(1, 1341), (470.0, 0.06, -1e-6))
    files = []
    for i, T in enumerate((10, 60, 110, 160, 220, 290)):
        gamma = 40.0 + 50.0 / (np.exp(0.020 / (k_B * T)) - 1)
        centre = HC / (2.40 + 0.0002 * T)
        mu = _band(wl, centre_nm=centre, fwhm_meV=gamma, peak=20000.0, bg=500.0)
        counts = np.random.default_rng(i).poisson(mu)[None, None, :]
        files.append(write_winspec(tmp_path / f"PL_{T:03d}K.spe", counts, (470.0, 0.06, -1e-6)))
    code, out, err = run_cli("tpl", *files, "--json")
    assert code == 0, err
    r = json.loads(out)
    free = r["width_fits"][0]
    for key, truth in (("Gamma0_meV", 40.0), ("gamma_LO_meV", 50.0), ("E_LO_meV", 20.0)):
        # within 3 of its reported errors (this seed: 0.2, 1.2 and 1.1 errors off) and 5 %
        assert abs(free[key] - truth) < 3 * free[key + "_err"], (key, free[key], free[key + "_err"])
        assert free[key] == pytest.approx(truth, rel=0.05)
