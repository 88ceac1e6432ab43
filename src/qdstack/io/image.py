"""Electron micrographs with their pixel size: instrument files, TIFF, and plain PNG/JPEG.

Readers by format
-----------------
* Gatan DigitalMicrograph ``.dm3``/``.dm4``, Velox and Berkeley (NCEM) ``.emd``,
  FEI TIA ``.ser`` and HyperSpy ``.hspy``/``.zspy``: through rosettasciio, with the
  calibration of the image axes;
* ``.tif``/``.tiff``: tifffile; the calibration is read from the FEI/Thermo Fisher
  metadata (``Scan.PixelWidth`` in m) or the ImageJ description (``unit=`` and the
  X resolution tag, pixels per unit); other calibrated TIFFs (Zeiss, Olympus,
  DigitalMicrograph TIFF export) through rosettasciio's TIFF reader;
* ``.png``/``.jpg``/``.jpeg``/``.bmp``/``.gif``: no calibration in the file: give
  ``pixel_nm`` or ``scale_bar_nm`` (the length of a burned-in scale bar, found
  automatically, see :func:`find_scale_bar`).

Whatever the file says (``µm``, ``um``, ``nm``, ``n_m`` of Berkeley EMD files,
``m``, ``Å``), the pixel size is returned in nm (:func:`length_unit_to_nm`).
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdstack.errors import FileFormatError, OptionError, QdstackWarning

__all__ = [
    "IMAGE_SUFFIXES",
    "Micrograph",
    "ScaleBar",
    "find_scale_bar",
    "length_unit_to_nm",
    "parse_crop",
    "read_image",
]

_RSCIIO = {
    ".dm3": "digitalmicrograph",
    ".dm4": "digitalmicrograph",
    ".emd": "emd",
    ".ser": "tia",
    ".hspy": "hspy",
    ".zspy": "zspy",
}
_TIFF = (".tif", ".tiff")
_PLAIN = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IMAGE_SUFFIXES = tuple(_RSCIIO) + _TIFF + _PLAIN

_UNIT_NM = {
    "m": 1e9,
    "meter": 1e9,
    "metre": 1e9,
    "mm": 1e6,
    "um": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "micrometer": 1e3,
    "micrometre": 1e3,
    "nm": 1.0,
    "nanometer": 1.0,
    "nanometre": 1.0,
    "a": 0.1,
    "angstrom": 0.1,
    "pm": 1e-3,
}


def length_unit_to_nm(unit) -> float | None:
    """Factor that turns a length in ``unit`` into nm; None when ``unit`` is not a length.

    Accepts the spellings instrument files use: ``µm``/``μm``/``um``/``micron``,
    ``nm`` and Berkeley EMD's ``n_m``, ``m``, ``mm``, ``Å``/``A``/``angstrom``, ``pm``
    (case-insensitive except ``m``/``M``, and ignoring ``_`` and spaces).
    """
    if unit is None:
        return None
    text = str(unit).strip()
    if isinstance(unit, bytes):
        text = unit.decode("latin-1").strip()
    text = text.replace("µ", "u").replace("μ", "u").replace("Å", "a").replace("Å", "a")
    text = re.sub(r"[\s_]", "", text)
    if text in ("M",):
        return None  # mega-something, not metres
    return _UNIT_NM.get(text.lower())


@dataclass(frozen=True)
class ScaleBar:
    """A burned-in scale bar found in an image.

    Attributes
    ----------
    row : int
        Top row of the bar [px].
    height_px : int
        Its thickness [px].
    x0, x1 : int
        First and one-past-last column of the bar [px].
    length_px : int
        ``x1 - x0``.
    polarity : str
        ``"bright"`` or ``"dark"``.
    """

    row: int
    height_px: int
    x0: int
    x1: int
    polarity: str

    @property
    def length_px(self) -> int:
        return self.x1 - self.x0

    def to_dict(self) -> dict:
        return {
            "row": self.row,
            "height_px": self.height_px,
            "x0": self.x0,
            "x1": self.x1,
            "length_px": self.length_px,
            "polarity": self.polarity,
        }


@dataclass
class Micrograph:
    """A 2-D electron micrograph with its calibration.

    Attributes
    ----------
    data : ndarray of float, shape (rows, cols)
        Intensities (grey level; colour images are converted to luminance).
    pixel_nm : float
        Pixel size [nm] (square pixels).
    source : str
        The file it came from.
    format : str
        Reader used (``digitalmicrograph``, ``emd``, ``tia``, ``hspy``, ``tiff``, ``png`` ...).
    calibration : str
        Where ``pixel_nm`` came from (``"file (µm)"``, ``"--pixel-nm"``, ``"scale bar"``).
    metadata : dict
        What the reader found worth keeping (instrument, voltage, original units, ...).
    valid : ndarray of bool or None
        Pixels that show the specimen (False over a scale bar and its label); None: all.
    scale_bar : ScaleBar or None
        The bar used for the calibration, if any.
    crop : tuple or None
        ``(x0, y0, x1, y1)`` applied to the file's image, if any.
    """

    data: np.ndarray
    pixel_nm: float
    source: str
    format: str
    calibration: str
    metadata: dict = field(default_factory=dict)
    valid: np.ndarray | None = None
    scale_bar: ScaleBar | None = None
    crop: tuple[int, int, int, int] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    def info(self) -> dict:
        """JSON-ready description (no pixel data)."""
        return {
            "file": self.source,
            "format": self.format,
            "shape_px": list(self.data.shape),
            "pixel_nm": self.pixel_nm,
            "calibration": self.calibration,
            "crop": None if self.crop is None else list(self.crop),
            "scale_bar": None if self.scale_bar is None else self.scale_bar.to_dict(),
            # a bar read to +-1 px: the relative uncertainty of the calibration it gives
            "pixel_nm_rel_err": None if self.scale_bar is None else 1.0 / self.scale_bar.length_px,
            "metadata": self.metadata,
        }


def parse_crop(text: str | None, option: str = "--crop") -> tuple[int, int, int, int] | None:
    """``"x0,y0,x1,y1"`` (pixels, end exclusive) -> a tuple; None stays None."""
    if text is None:
        return None
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if len(parts) != 4 or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise OptionError(f"expected four whole numbers x0,y0,x1,y1 (pixels), got {text!r}", option)
    x0, y0, x1, y1 = (int(p) for p in parts)
    if x1 <= x0 or y1 <= y0:
        raise OptionError(f"needs x1 > x0 and y1 > y0, got {text!r}", option)
    return x0, y0, x1, y1


def _grey(data: np.ndarray, path: str) -> np.ndarray:
    """Float grey image from a 2-D array or an RGB(A) array."""
    a = np.asarray(data)
    if a.dtype.names is not None:  # rsciio RGB structured arrays
        a = np.stack([a[n] for n in a.dtype.names[:3]], axis=-1)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        rgb = a[..., :3].astype(float)
        a = rgb @ np.array([0.2125, 0.7154, 0.0721])
    a = np.squeeze(a)
    if a.ndim != 2:
        raise FileFormatError(
            f"holds a {a.ndim}-D data set of shape {tuple(a.shape)}, not one 2-D image "
            "(spectrum images and stacks are not micrographs: export one image)",
            path,
        )
    if a.dtype.kind == "c":
        raise FileFormatError("holds complex data (a diffractogram or wave), not an image", path)
    if a.dtype.kind not in "biuf":
        raise FileFormatError(f"holds data of type {a.dtype}, not image intensities", path)
    a = a.astype(float)
    if min(a.shape) < 8:
        raise FileFormatError(f"the image is only {a.shape[1]} x {a.shape[0]} px", path)
    if not np.all(np.isfinite(a)):
        bad = ~np.isfinite(a)
        if bad.mean() > 0.5:
            raise FileFormatError("most pixels are NaN or infinite", path)
        a[bad] = np.nanmedian(a[~bad])
    if float(a.max() - a.min()) == 0.0:
        raise FileFormatError("every pixel has the same value: a blank image", path)
    return a


def _read_rsciio(path: str, reader: str):
    import importlib

    module = importlib.import_module(f"rsciio.{reader}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signals = module.file_reader(path, lazy=False)
    except Exception as exc:  # noqa: BLE001 - rsciio raises many types on corrupt files
        raise FileFormatError(
            f"cannot read as {reader} (damaged or truncated file?): {type(exc).__name__}: {exc}",
            path,
        ) from None
    images = []
    for s in signals if isinstance(signals, list) else [signals]:
        data = np.asarray(s.get("data"))
        axes = s.get("axes") or []
        if (
            data.ndim == 2
            or (data.ndim == 3 and data.shape[-1] in (3, 4) and data.dtype.kind in "iu")
            or data.dtype.names is not None
            and data.ndim == 2
        ):
            images.append((data, axes, s.get("metadata") or {}, s.get("original_metadata") or {}))
    if not images:
        shapes = [
            tuple(np.shape(s.get("data")))
            for s in (signals if isinstance(signals, list) else [signals])
        ]
        raise FileFormatError(f"holds no 2-D image (data sets of shape {shapes})", path)
    data, axes, meta, _orig = images[0]
    scales = []
    unit_text = None
    for ax in axes[-2:]:
        scale = ax.get("scale")
        units = ax.get("units")
        factor = length_unit_to_nm(units)
        if factor is None or scale is None or not np.isfinite(float(scale)) or float(scale) <= 0:
            scales.append(None)
        else:
            scales.append(float(scale) * factor)
            unit_text = str(units)
    metadata = {}
    general = meta.get("General", {}) if isinstance(meta, dict) else {}
    if general.get("title"):
        metadata["title"] = str(general["title"])
    tem = (
        (meta.get("Acquisition_instrument", {}) or {}).get("TEM", {})
        if isinstance(meta, dict)
        else {}
    )
    for key in ("beam_energy", "magnification", "microscope", "acquisition_mode"):
        if key in tem:
            value = tem[key]
            metadata[key] = value if isinstance(value, (int, float, str)) else str(value)
    if len(images) > 1:
        metadata["images_in_file"] = len(images)
    pixel = None
    if all(s is not None for s in scales) and scales:
        if abs(scales[0] - scales[-1]) > 0.01 * max(scales):
            warnings.warn(
                f"{path}: the pixels are not square ({scales[0]:.5g} x {scales[-1]:.5g} nm); "
                "using their geometric mean",
                QdstackWarning,
                stacklevel=3,
            )
            pixel = float(np.sqrt(scales[0] * scales[-1]))
        else:
            pixel = float(scales[-1])
        metadata["file_units"] = unit_text
    else:
        bad_units = [str(ax.get("units")) for ax in axes[-2:]]
        metadata["file_units"] = bad_units
    return data, pixel, metadata


def _read_tiff(path: str):
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages[0]
            data = page.asarray()
            pixel, metadata = None, {}
            fei = getattr(tif, "fei_metadata", None)
            if fei:
                width = (fei.get("Scan") or {}).get("PixelWidth") or (fei.get("EScan") or {}).get(
                    "PixelWidth"
                )
                if width:
                    pixel = float(width) * 1e9
                    metadata["file_units"] = "m (FEI metadata)"
                beam = fei.get("Beam") or {}
                if "HV" in beam:
                    metadata["beam_energy_V"] = beam["HV"]
            ij = getattr(tif, "imagej_metadata", None)
            if pixel is None and ij and "unit" in ij:
                factor = length_unit_to_nm(ij.get("unit"))
                tag = page.tags.get("XResolution")
                if factor is not None and tag is not None:
                    num, den = tag.value
                    if num > 0 and den > 0:
                        pixel = den / num * factor
                        metadata["file_units"] = f"{ij['unit']} (ImageJ)"
            series_shape = tuple(tif.series[0].shape) if tif.series else data.shape
            stacked = len(series_shape) > 3 or (
                len(series_shape) == 3 and series_shape[-1] not in (3, 4)
            )
            if stacked or (data.ndim == 3 and data.shape[-1] not in (3, 4)):
                raise FileFormatError(
                    f"holds a stack of images {series_shape}; export one image", path
                )
    except FileFormatError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(f"cannot read as TIFF: {exc}", path) from None
    if pixel is None:
        try:  # Zeiss, Olympus SIS, DigitalMicrograph TIFF exports
            _data, rs_pixel, rs_meta = _read_rsciio(path, "tiff")
            if rs_pixel is not None:
                pixel = rs_pixel
                metadata["file_units"] = f"{rs_meta.get('file_units')} (rosettasciio tiff)"
        except FileFormatError:
            pass
    return data, pixel, metadata


def _read_plain(path: str):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("P", "PA", "LA", "1"):
                im = im.convert("RGBA" if "A" in im.mode or im.mode == "P" else "L")
            if im.mode.startswith("I;16"):
                data = np.asarray(im).astype(float)
            else:
                data = np.asarray(im)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise FileFormatError(f"cannot read as an image: {exc}", path) from None
    return data, None, {}


def find_scale_bar(image: np.ndarray, min_length_px: int = 15) -> ScaleBar | None:
    """The longest burned-in scale bar: a thin, straight, uniform horizontal line.

    Candidates are connected sets of pixels at the image's extreme grey levels
    (within 3 % of the range from the maximum, for a bright bar, or the minimum,
    for a dark bar).  A bar is a component whose bounding box is at most 8 px (or
    2 % of the image height) thick, at least ``min_length_px`` and 8 times its
    thickness long, and at least 90 % filled.  Components touching the image edge
    are ignored (frames, rulers).

    Returns
    -------
    ScaleBar or None
    """
    from scipy import ndimage

    img = np.asarray(image, float)
    lo, hi = float(img.min()), float(img.max())
    span = hi - lo
    if span <= 0:
        return None
    rows, cols = img.shape
    max_h = max(8, int(0.02 * rows))
    best = None
    for polarity, mask in (("bright", img >= hi - 0.03 * span), ("dark", img <= lo + 0.03 * span)):
        labels, n = ndimage.label(mask)
        if n == 0:
            continue
        for k, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            h = sl[0].stop - sl[0].start
            w = sl[1].stop - sl[1].start
            if h > max_h or w < min_length_px or w < 8 * h:
                continue
            if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == rows or sl[1].stop == cols:
                continue
            fill = float((labels[sl] == k).mean())
            if fill < 0.9:
                continue
            # a bar has uniform full-length rows: the widest row spans >= 95 % of the box
            if best is None or w > best.length_px:
                best = ScaleBar(
                    row=sl[0].start, height_px=h, x0=sl[1].start, x1=sl[1].stop, polarity=polarity
                )
    return best


def _bar_mask(shape, bar: ScaleBar) -> np.ndarray:
    """False over the bar and the label that usually sits above or below it."""
    valid = np.ones(shape, bool)
    pad_x = int(round(0.15 * bar.length_px)) + 2
    label_h = int(round(0.45 * bar.length_px)) + 4
    r0 = max(0, bar.row - label_h)
    r1 = min(shape[0], bar.row + bar.height_px + max(4, label_h // 3))
    valid[r0:r1, max(0, bar.x0 - pad_x) : min(shape[1], bar.x1 + pad_x)] = False
    return valid


def read_image(
    path: str | os.PathLike,
    *,
    pixel_nm: float | None = None,
    scale_bar_nm: float | None = None,
    crop: tuple[int, int, int, int] | None = None,
) -> Micrograph:
    """Read a micrograph and its pixel size in nm.

    Parameters
    ----------
    path : path
        Image file (see the module docstring for the formats).
    pixel_nm : float, optional
        Pixel size [nm]; overrides the file's calibration.
    scale_bar_nm : float, optional
        Length [nm] of a burned-in scale bar: the bar is found
        (:func:`find_scale_bar`, searched inside ``crop`` when given) and
        ``pixel_nm = scale_bar_nm / bar length in px``; the bar and its label are
        masked out of the analysis (``Micrograph.valid``).
    crop : (x0, y0, x1, y1), optional
        Keep columns ``x0:x1`` and rows ``y0:y1`` of the file's image (pixels).

    Raises
    ------
    FileFormatError
        Unknown or unreadable format, no 2-D image, a blank image, no calibration
        and neither ``pixel_nm`` nor ``scale_bar_nm``, no scale bar found.
    OptionError
        A non-positive ``pixel_nm`` or ``scale_bar_nm``, both given, a crop outside the image.
    """
    path = os.fspath(path)
    p = Path(path)
    if pixel_nm is not None and scale_bar_nm is not None:
        raise OptionError("give either --pixel-nm or --scale-bar-nm, not both", "--pixel-nm")
    for name, value in (("--pixel-nm", pixel_nm), ("--scale-bar-nm", scale_bar_nm)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise OptionError(f"must be a positive length in nm, got {value}", name)
    if not p.exists():
        raise FileFormatError("no such file", path)
    if p.is_dir():
        raise FileFormatError("is a folder, not an image file", path)
    suffix = p.suffix.lower()
    if suffix in _RSCIIO:
        fmt = _RSCIIO[suffix]
        data, file_pixel, metadata = _read_rsciio(path, fmt)
    elif suffix in _TIFF:
        fmt = "tiff"
        data, file_pixel, metadata = _read_tiff(path)
    elif suffix in _PLAIN:
        fmt = suffix.lstrip(".").replace("jpeg", "jpg")
        data, file_pixel, metadata = _read_plain(path)
    else:
        raise FileFormatError(
            f"unknown image format {suffix or '(no suffix)'!r}; readable: "
            + ", ".join(IMAGE_SUFFIXES),
            path,
        )
    image = _grey(data, path)
    if crop is not None:
        x0, y0, x1, y1 = crop
        rows, cols = image.shape
        if x1 > cols or y1 > rows:
            raise OptionError(
                f"crop {x0},{y0},{x1},{y1} reaches outside the {cols} x {rows} px image", "--crop"
            )
        image = image[y0:y1, x0:x1].copy()
        if min(image.shape) < 8:
            raise OptionError("the cropped image is smaller than 8 px", "--crop")
    bar = None
    valid = None
    if pixel_nm is not None:
        pixel, calibration = float(pixel_nm), "--pixel-nm"
        if file_pixel is not None:
            metadata["file_pixel_nm"] = file_pixel
    elif scale_bar_nm is not None:
        bar = find_scale_bar(image)
        if bar is None:
            raise FileFormatError(
                "no scale bar found (a straight, uniform, horizontal bright or dark line, at least 15 px "
                "long and 8 times longer than thick, not touching the edge); give --pixel-nm instead"
                + ("" if crop is None else ", or a --crop that contains the bar"),
                path,
            )
        pixel = float(scale_bar_nm) / bar.length_px
        calibration = f"scale bar {scale_bar_nm:g} nm = {bar.length_px} px"
        valid = _bar_mask(image.shape, bar)
        if file_pixel is not None:
            metadata["file_pixel_nm"] = file_pixel
    elif file_pixel is not None:
        pixel = file_pixel
        calibration = f"file ({metadata.get('file_units')})"
    else:
        why = (
            "a PNG/JPEG has no calibration"
            if suffix in _PLAIN
            else "the file holds no length calibration"
        )
        raise FileFormatError(f"{why}; give --pixel-nm P or --scale-bar-nm L", path)
    return Micrograph(
        data=image,
        pixel_nm=pixel,
        source=path,
        format=fmt,
        calibration=calibration,
        metadata=metadata,
        valid=valid,
        scale_bar=bar,
        crop=crop,
    )
