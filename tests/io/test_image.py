"""Micrograph reader: instrument formats with their calibration, TIFF, PNG with a scale bar, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from qdstack.errors import FileFormatError, OptionError
from qdstack.io.image import find_scale_bar, length_unit_to_nm, parse_crop, read_image


@pytest.mark.parametrize(
    "unit, factor",
    [
        ("µm", 1e3),
        ("μm", 1e3),
        ("um", 1e3),
        ("micron", 1e3),
        ("nm", 1.0),
        ("n_m", 1.0),
        ("NM", 1.0),
        ("m", 1e9),
        ("mm", 1e6),
        ("Å", 0.1),
        ("A", 0.1),
        ("angstrom", 0.1),
        ("pm", 1e-3),
    ],
)
def test_length_units_are_normalised_to_nm(unit, factor):
    assert length_unit_to_nm(unit) == pytest.approx(factor)


@pytest.mark.parametrize("unit", [None, "", "1/nm", "px", "s", "<undefined>"])
def test_non_length_units_are_refused(unit):
    assert length_unit_to_nm(unit) is None


# pixel sizes from the README of the real files (each read by a second reader, ncempy, there)
REAL = [
    ("JEOL_HAADF_Image.dm4", (112, 112), 1.2490136, "digitalmicrograph"),
    ("EMDReader_Image_FEI.emd", (512, 512), 5.3024148, "emd"),
    ("Acquisition_18.emd", (1024, 1024), 0.0122465, "emd"),
    ("16_STOimage_1.ser", (1024, 1024), 0.0100127, "tia"),
    ("SiO2_HAADF_Image.hspy", (128, 128), 8.5524460, "hspy"),
]


@pytest.mark.parametrize("name, shape, pixel_nm, fmt", REAL)
def test_real_files_read_with_their_own_calibration(real_data, name, shape, pixel_nm, fmt):
    m = read_image(real_data / "tem" / name)
    assert m.shape == shape
    assert m.format == fmt
    assert m.pixel_nm == pytest.approx(pixel_nm, rel=1e-5)  # README quotes 6 digits
    assert m.calibration.startswith("file")
    assert np.isfinite(m.data).all() and m.data.dtype == float


def test_pixel_option_overrides_the_file_and_keeps_its_value(real_data):
    m = read_image(real_data / "tem" / "JEOL_HAADF_Image.dm4", pixel_nm=2.0)
    assert m.pixel_nm == 2.0
    assert m.metadata["file_pixel_nm"] == pytest.approx(1.2490136, rel=1e-6)


def test_screenshot_scale_bar_and_crop(real_data):
    # README: the bar is the white line at rows 544-545, x = 220-290 (71 px = 100 nm)
    m = read_image(
        real_data / "tem" / "CsPbBr3_TEMNanocrystals_loaded.png",
        scale_bar_nm=100,
        crop=(198, 192, 574, 568),
    )
    assert m.shape == (376, 376)
    bar = m.scale_bar
    assert (bar.row + 192, bar.x0 + 198, bar.x1 + 198 - 1) == (544, 220, 290)
    assert bar.length_px == 71 and bar.polarity == "bright"
    assert m.pixel_nm == pytest.approx(100 / 71)
    assert not m.valid[bar.row, bar.x0]  # bar masked out
    assert m.valid[10, 10]


def test_png_without_calibration_is_refused(real_data):
    with pytest.raises(FileFormatError, match="--pixel-nm"):
        read_image(real_data / "tem" / "CsPbBr3_TEMNanocrystals_loaded.png")


def _png(path, img):
    from PIL import Image

    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("polarity", ["bright", "dark"])
def test_drawn_scale_bar_found_on_noise(tmp_path, polarity):
    rng = np.random.default_rng(1)
    img = rng.normal(128, 20, (300, 400))
    img[250:253, 57:190] = 255 if polarity == "bright" else 0
    path = _png(tmp_path / "bar.png", img)
    bar = find_scale_bar(read_image(path, pixel_nm=1.0).data)
    assert (bar.row, bar.height_px, bar.x0, bar.x1, bar.polarity) == (250, 3, 57, 190, polarity)
    m = read_image(path, scale_bar_nm=50)
    assert m.pixel_nm == pytest.approx(50 / 133)


def test_no_scale_bar_is_an_error(tmp_path):
    rng = np.random.default_rng(2)
    path = _png(tmp_path / "nobar.png", rng.normal(128, 30, (200, 200)))
    with pytest.raises(FileFormatError, match="no scale bar"):
        read_image(path, scale_bar_nm=100)


def test_imagej_tiff_calibration(tmp_path):
    import tifffile

    img = np.random.default_rng(0).integers(0, 4000, (64, 80)).astype(np.uint16)
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path, img, imagej=True, resolution=(1 / 0.0025, 1 / 0.0025), metadata={"unit": "um"}
    )
    m = read_image(path)
    assert m.pixel_nm == pytest.approx(2.5, rel=1e-6)
    assert m.shape == (64, 80)


def test_uncalibrated_tiff_and_stack_are_refused(tmp_path):
    import tifffile

    rng = np.random.default_rng(0)
    flat = tmp_path / "plain.tif"
    tifffile.imwrite(flat, rng.integers(0, 255, (40, 40)).astype(np.uint8))
    with pytest.raises(FileFormatError, match="no length calibration"):
        read_image(flat)
    assert read_image(flat, pixel_nm=0.7).pixel_nm == 0.7
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, rng.integers(0, 255, (5, 40, 40)).astype(np.uint8))
    with pytest.raises(FileFormatError):
        read_image(stack, pixel_nm=1.0)


def test_bad_files(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_image(tmp_path / "missing.dm4")
    odd = tmp_path / "x.xyz"
    odd.write_text("1 2 3")
    with pytest.raises(FileFormatError, match="unknown image format"):
        read_image(odd)
    junk = tmp_path / "broken.dm4"
    junk.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(FileFormatError, match="cannot read"):
        read_image(junk)
    blank = _png(tmp_path / "blank.png", np.full((50, 50), 100.0))
    with pytest.raises(FileFormatError, match="blank"):
        read_image(blank, pixel_nm=1.0)


def test_options_checked(tmp_path):
    path = _png(tmp_path / "a.png", np.random.default_rng(0).normal(100, 10, (50, 60)))
    with pytest.raises(OptionError):
        read_image(path, pixel_nm=-1)
    with pytest.raises(OptionError, match="not both"):
        read_image(path, pixel_nm=1, scale_bar_nm=10)
    with pytest.raises(OptionError, match="outside"):
        read_image(path, pixel_nm=1, crop=(0, 0, 70, 20))
    assert parse_crop("1,2,30,40") == (1, 2, 30, 40)
    for bad in ("1,2,3", "5,5,2,9", "a,b,c,d"):
        with pytest.raises(OptionError):
            parse_crop(bad)


@pytest.mark.parametrize("name", [r[0] for r in REAL] + ["CsPbBr3_TEMNanocrystals_loaded.png"])
@pytest.mark.parametrize("fraction", [0.02, 0.6, 0.995])
def test_truncated_real_files_are_format_errors(real_data, tmp_path, name, fraction):
    raw = (real_data / "tem" / name).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(raw[: int(len(raw) * fraction)])
    with pytest.raises(FileFormatError, match="cannot read"):
        read_image(cut, pixel_nm=1.0)


def test_fei_tiff_calibration(tmp_path):
    # FEI/Thermo Fisher TIFFs carry an INI text in tag 34682 with [Scan] PixelWidth in metres
    import tifffile

    ini = "[User]\nDate=01/01/2020\n[Beam]\nHV=200000\n[Scan]\nPixelWidth=2.5e-10\nPixelHeight=2.5e-10\n"
    img = np.random.default_rng(0).integers(0, 4000, (64, 80)).astype(np.uint16)
    path = tmp_path / "fei.tif"
    tifffile.imwrite(path, img, extratags=[(34682, "s", 0, ini, True)])
    m = read_image(path)
    assert m.pixel_nm == pytest.approx(0.25)
    assert m.metadata["beam_energy_V"] == 200000
