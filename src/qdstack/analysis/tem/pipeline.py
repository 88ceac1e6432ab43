"""The micrograph -> particle sizes pipeline, :func:`measure_particles`.

The method is described in :mod:`qdstack.analysis.tem`.
"""

from __future__ import annotations

import math

import numpy as np

from qdstack.analysis.tem.feret import _feret_and_hull, min_feret
from qdstack.analysis.tem.histogram import _MIN_FIT_SIZES, fit_size_histogram
from qdstack.analysis.tem.results import TEMResult
from qdstack.errors import InputError

_SOLIDITY_MIN = 0.85
_ELONGATION_MAX = 1.6
_AREA_MAX_FACTOR = 3.0
_SOLIDITY_LARGE = 0.93  # a large object must be this convex to count as one particle
_RECTANGULARITY_CUBE = 0.88
_FACE_QUANTILE = 10.0
_SOLIDITY_SPHERE = 0.93
_ELONGATION_SPHERE = 1.35
_INTENSITY_WEIGHT = 1.0  # watershed landscape: distance + weight * r * normalised intensity

# --------------------------------------------------------------------------- segmentation


def _otsu(values: np.ndarray) -> float:
    from skimage.filters import threshold_otsu

    return float(threshold_otsu(values))


def _count_objects(mask: np.ndarray, min_area: int) -> int:
    from scipy import ndimage

    labels, n = ndimage.label(mask)
    if n == 0:
        return 0
    areas = np.bincount(labels.ravel())[1:]
    return int(np.sum(areas >= min_area))


def _decide_contrast(sm: np.ndarray, valid: np.ndarray, min_area: int) -> str:
    """``"bright"`` when the particles are brighter than the background, else ``"dark"`` (``sm``: smoothed)."""
    v = sm[valid]
    if v.size > 1_000_000:
        v = v[:: v.size // 1_000_000]
    t = _otsu(v)
    hi = (sm > t) & valid
    lo = (sm <= t) & valid
    n_hi, n_lo = _count_objects(hi, min_area), _count_objects(lo, min_area)
    if n_hi != n_lo and max(n_hi, n_lo) >= 1.5 * max(min(n_hi, n_lo), 1):
        return "bright" if n_hi > n_lo else "dark"
    skew = float(np.mean((v - v.mean()) ** 3) / (v.std() ** 3 + 1e-300))
    return "bright" if skew > 0 else "dark"


def _background_surface(img: np.ndarray, background: np.ndarray, step: int = 1):
    """Quadratic surface fitted (least squares) to the ``background`` pixels, minus its centre value.

    ``background`` may be given on every ``step``-th row and column of ``img``.
    """
    rows, cols = img.shape
    rr, cc = np.nonzero(background)
    if rr.size < 50:
        return None
    thin = max(1, rr.size // 20000)
    rr, cc = rr[::thin] * step, cc[::thin] * step
    y = rr / rows - 0.5
    x = cc / cols - 0.5
    design = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    coef, *_ = np.linalg.lstsq(design, img[rr, cc].astype(float), rcond=None)
    yy = (np.arange(rows, dtype=np.float32) / rows - 0.5)[:, None]
    xx = (np.arange(cols, dtype=np.float32) / cols - 0.5)[None, :]
    c = coef.astype(np.float32)
    return c[1] * xx + c[3] * xx * xx + (c[2] * yy + c[5] * yy * yy) + c[4] * (yy * xx)


def _edt_by_object(labels: np.ndarray) -> np.ndarray:
    """Euclidean distance to the background, computed object by object (float32).

    Each object is transformed alone in its bounding box padded by one pixel
    (everything else counts as background; the nearest pixel outside an object
    is never beyond that padding).  This equals ``distance_transform_edt(labels > 0)``
    except next to another object touching only diagonally, and outside the frame
    counts as background (objects there are excluded anyway).  On micrographs it
    transforms a fraction of the image.
    """
    from scipy import ndimage

    rows, cols = labels.shape
    out = np.zeros(labels.shape, np.float32)
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        r0, r1 = max(sl[0].start - 1, 0), min(sl[0].stop + 1, rows)
        c0, c1 = max(sl[1].start - 1, 0), min(sl[1].stop + 1, cols)
        own = labels[r0:r1, c0:c1] == k
        padded = np.pad(own, 1)
        d = ndimage.distance_transform_edt(padded)[1:-1, 1:-1]
        out[r0:r1, c0:c1][own] = d[own]
    return out


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region that does not reach the image edge filled.

    Same result as ``scipy.ndimage.binary_fill_holes`` (4-connected background), by one
    labelling of the background instead of an iterated dilation.
    """
    from scipy import ndimage

    bg, n = ndimage.label(~mask)
    if n == 0:
        return mask
    edge = np.zeros(n + 1, bool)
    for side in (bg[0], bg[-1], bg[:, 0], bg[:, -1]):
        edge[side] = True
    edge[0] = True  # the mask itself
    return ~edge[bg] | mask


def _typical_size_px(fg: np.ndarray, min_area: int) -> float | None:
    """Twice the median inscribed radius of the foreground objects [px], None without objects.

    The ridges (local maxima) of the distance to the background measure the
    inscribed radius, which touching networks of particles do not inflate as
    they inflate areas.  Large images are sampled in their central 768 x 768 px.
    """
    from scipy import ndimage

    rows, cols = fg.shape
    if rows * cols > 768 * 768:
        r0, c0 = max(0, rows // 2 - 384), max(0, cols // 2 - 384)
        part = fg[r0 : r0 + 768, c0 : c0 + 768]
        if part.mean() > 0.002:
            fg = part
    fg = _fill_holes(fg)
    lab, n = ndimage.label(fg)
    if n == 0:
        return None
    areas = np.bincount(lab.ravel())
    big = areas >= min_area
    big[0] = False
    if not big[1:].any():
        return None
    fgc = big[lab]
    dist = ndimage.distance_transform_edt(fgc)
    from skimage.feature import peak_local_max

    tops = peak_local_max(
        dist, min_distance=2, labels=lab * fgc, exclude_border=False
    )  # one per plateau
    if len(tops) == 0:
        return max(2.0, math.sqrt(float(np.median(areas[1:][big[1:]]))))
    return max(2.0, 2.0 * float(np.median(dist[tuple(tops.T)])))


def measure_particles(
    image,
    pixel_nm: float | None = None,
    *,
    shape: str = "auto",
    contrast: str = "auto",
    threshold: str = "otsu",
    smooth_px: float | None = None,
    min_size_nm: float | None = None,
    split: bool = True,
    valid: np.ndarray | None = None,
    bins: int | None = None,
    source: str = "",
    progress=None,
) -> TEMResult:
    """Count and size the particles of a micrograph.

    Parameters
    ----------
    image : ndarray (rows, cols) or :class:`qdstack.io.image.Micrograph`
        The micrograph (a Micrograph brings its pixel size, mask and source).
    pixel_nm : float, optional
        Pixel size [nm]; required with a bare array.
    shape : {"auto", "cube", "sphere"}
    contrast : {"auto", "dark", "bright"}
        Particles darker (bright field) or brighter (HAADF) than the background.
    threshold : {"otsu", "local"}
        Global Otsu, or a local (block) threshold for uneven films.
    smooth_px : float, optional
        Gaussian smoothing before the threshold [px] (default 1, or 0.6 for
        particles under 8 px).
    min_size_nm : float, optional
        Smaller objects are noise (default: 3 px or 0.3x the typical size,
        whichever is larger).
    split : bool
        Split touching particles by the distance-transform watershed.
    valid : ndarray of bool, optional
        Pixels that show the specimen (objects touching the rest are border exclusions).
    bins : int, optional
        Histogram bins of the fits (default: Freedman-Diaconis, 8-60).
    progress : callable(iterable, description, total) -> iterable, optional
        Wraps the per-particle loop (the CLI passes a progress bar).

    Raises
    ------
    InputError
        Bad options, no particle found, fewer than 1 counted particle.

    Examples
    --------
    >>> from qdstack.analysis import measure_particles
    >>> from qdstack.synthetic import tem_micrograph
    >>> sim = tem_micrograph((300, 300), n_particles=30, size_nm=8.0, size_sd_nm=0.5, seed=2)
    >>> r = measure_particles(sim.image, sim.pixel_nm)
    >>> r.shape, r.contrast
    ('cube', 'dark')
    >>> bool(abs(r.mean_nm / sim.sizes_inside_nm.mean() - 1) < 0.03)
    True
    """
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.filters import threshold_local
    from skimage.measure import find_contours
    from skimage.segmentation import watershed

    if hasattr(image, "data") and hasattr(image, "pixel_nm"):
        micro = image
        img = np.asarray(micro.data, float)
        pixel_nm = micro.pixel_nm if pixel_nm is None else pixel_nm
        valid = micro.valid if valid is None else valid
        source = source or micro.source
    else:
        img = np.asarray(image, float)
    if img.ndim != 2:
        raise InputError(f"expected a 2-D image, got shape {img.shape}", source or "image")
    if pixel_nm is None or not (math.isfinite(pixel_nm) and pixel_nm > 0):
        raise InputError("a positive pixel size in nm is needed", "--pixel-nm")
    if shape not in ("auto", "cube", "sphere"):
        raise InputError(f"unknown shape {shape!r}; use auto, cube or sphere", "--shape")
    if contrast not in ("auto", "dark", "bright"):
        raise InputError(f"unknown contrast {contrast!r}; use auto, dark or bright", "--contrast")
    if threshold not in ("otsu", "local"):
        raise InputError(f"unknown threshold {threshold!r}; use otsu or local", "--threshold")
    if smooth_px is not None and not (math.isfinite(smooth_px) and 0 <= smooth_px <= 20):
        raise InputError(f"must be between 0 and 20 px, got {smooth_px}", "--smooth-px")
    if min_size_nm is not None and not (math.isfinite(min_size_nm) and min_size_nm > 0):
        raise InputError(f"must be a positive length in nm, got {min_size_nm}", "--min-size-nm")
    if bins is not None and not 3 <= bins <= 500:
        raise InputError(f"must be 3-500 bins, got {bins}", "--bins")
    all_valid = valid is None or bool(np.all(valid))
    valid = np.ones(img.shape, bool) if valid is None else np.asarray(valid, bool)
    notes: list[str] = []

    sample = img[valid]
    if sample.size > 1_000_000:  # percentiles and thresholds from a regular subsample
        sample = sample[:: sample.size // 1_000_000]
    lo, hi = np.percentile(sample, [0.5, 99.5])
    if hi <= lo:
        raise InputError("the image has no contrast", source or "image")
    work = img.astype(np.float32)
    work -= np.float32(lo)
    work *= np.float32(1.0 / (hi - lo))
    np.clip(work, -0.5, 1.5, out=work)
    min_area0 = 4
    sm0 = ndimage.gaussian_filter(work, 1.0)
    step = 2 if img.size > 1_000_000 else 1  # statistics of large images: every 2nd row and column
    if contrast == "auto":
        contrast_used = _decide_contrast(sm0[::step, ::step], valid[::step, ::step], min_area0)
    else:
        contrast_used = contrast
    if contrast_used == "dark":
        work = 1.0 - work
        sm0 = 1.0 - sm0

    def sub(a):
        return (
            a[valid] if a.size <= 1_000_000 or not all_valid else a.ravel()[:: a.size // 1_000_000]
        )

    # first pass: phases, background flattening (the quadratic surface is smooth, so it is
    # removed from the smoothed image as well without filtering again), typical size
    t0 = _otsu(sub(sm0))
    fg0 = (sm0[::step, ::step] > t0) & valid[::step, ::step]
    bg_mask = ~ndimage.binary_dilation(fg0, iterations=max(1, 2 // step)) & valid[::step, ::step]
    surface = _background_surface(work, bg_mask, step)
    if surface is not None:
        work = work - surface
        sm0 = sm0 - surface
    t0 = _otsu(sub(sm0))
    typical_px = _typical_size_px((sm0 > t0) & valid, min_area0)
    if typical_px is None:
        raise InputError(
            "no particles found (the threshold leaves only specks of 1-3 px)", source or "image"
        )
    typical_area = typical_px**2
    if smooth_px is None:
        smooth_px = 1.0 if typical_px >= 8 else 0.6
    sm = (
        (sm0 if smooth_px == 1.0 else ndimage.gaussian_filter(work, smooth_px))
        if smooth_px > 0
        else work
    )

    # mid-level threshold
    t1 = _otsu(sub(sm))
    sm_s, valid_s = sm[::step, ::step], valid[::step, ::step]
    fg1 = (sm_s > t1) & valid_s
    interior = ndimage.binary_erosion(fg1, iterations=max(1, (1 if typical_px < 10 else 2) // step))
    if not interior.any():
        interior = fg1
    bgp = ~ndimage.binary_dilation(fg1, iterations=max(1, 2 // step)) & valid_s
    if not bgp.any() or not interior.any():
        raise InputError("no particles found (one phase fills the image)", source or "image")
    level_bg = float(np.median(sm_s[bgp]))
    level_fg = float(np.median(sm_s[interior]))
    if not level_fg > level_bg:
        raise InputError("no particles found (no contrast between the phases)", source or "image")
    level = 0.5 * (level_bg + level_fg)
    if threshold == "local":
        block = int(2 * round(1.5 * typical_px) + 1)
        block = max(block, 7)
        local = threshold_local(sm, block_size=block, offset=0.0)
        mask = (sm > local) & (sm > level_bg + 0.25 * (level_fg - level_bg))
    else:
        mask = sm > level
    mask &= valid
    mask = _fill_holes(mask)
    if min_size_nm is None:
        min_area = max(min_area0, int(0.09 * typical_area))
    else:
        min_area = max(1, int(round((min_size_nm / pixel_nm) ** 2)))
    comp, n = ndimage.label(mask)
    if n:
        keep = np.bincount(comp.ravel()) >= min_area
        keep[0] = False
        mask = keep[comp]
        comp, n = ndimage.label(mask)
    if not n:
        raise InputError("no particles found above the minimum size", source or "image")

    # watershed on the distance to the background plus the (smoothed) intensity, so that
    # particles thicker in the middle (spheres in HAADF) are split where they only touch
    if split:
        dist = _edt_by_object(comp)
        r_typ = 0.5 * typical_px
        min_dist = max(1, int(round(0.6 * r_typ)))
        occ_s = np.clip(
            (ndimage.gaussian_filter(work, max(0.5, 0.3 * r_typ)) - level_bg)
            / (level_fg - level_bg),
            0.0,
            1.5,
        )
        land = dist + np.float32(_INTENSITY_WEIGHT * r_typ) * occ_s * mask
        peaks = peak_local_max(
            land, min_distance=min_dist, exclude_border=False, threshold_abs=max(0.5, 0.25 * r_typ)
        )
        markers = np.zeros(mask.shape, np.int32)
        if len(peaks):
            peaks = peaks[mask[tuple(peaks.T)]]
            markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        # components left without a marker keep one label (at their distance maximum)
        has = np.zeros(n + 1, bool)
        has[comp[tuple(peaks.T)]] = True if len(peaks) else False
        missing = np.nonzero(~has[1:])[0] + 1
        if missing.size:
            where = ndimage.maximum_position(dist, comp, missing)
            for k, (r, c) in enumerate(where):
                markers[r, c] = len(peaks) + 1 + k
        labels = watershed(-land, markers, mask=mask)
    else:
        labels = comp

    invalid_near = None if all_valid else ndimage.binary_dilation(~valid, iterations=1)
    rows, cols = labels.shape
    slices = ndimage.find_objects(labels)
    areas_all = np.bincount(labels.ravel())
    ids = [k + 1 for k, sl in enumerate(slices) if sl is not None]
    if not ids:
        raise InputError("no particles found", source or "image")
    median_area = float(np.median(areas_all[ids]))
    occupancy = (sm - level_bg) / (level_fg - level_bg)  # 0 background, 1 particle, 0.5 at the edge

    status: dict[int, str] = {}
    feret, faces, sqrt_area, orient, rect, outlines, kept_ids = [], [], [], [], [], [], []
    solids, elongs = [], []
    border = clusters = 0
    iterator = ids if progress is None else progress(ids, "measuring particles", len(ids))
    for lab_id in iterator:
        sl = slices[lab_id - 1]
        r0, r1, c0, c1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        area = int(areas_all[lab_id])
        on_edge = r0 == 0 or c0 == 0 or r1 == rows or c1 == cols
        if not on_edge and invalid_near is not None:
            on_edge = bool(invalid_near[sl][labels[sl] == lab_id].any())
        if on_edge:
            status[lab_id] = "border"
            border += 1
            continue
        # sub-pixel outline: the mid-level contour of the smoothed image, this region and the
        # background around it (other particles blanked)
        pr0, pc0 = max(r0 - 2, 0), max(c0 - 2, 0)
        pr1, pc1 = min(r1 + 2, rows), min(c1 + 2, cols)
        crop = labels[pr0:pr1, pc0:pc1]
        occ = np.where((crop == lab_id) | (crop == 0), occupancy[pr0:pr1, pc0:pc1], 0.0)
        occ[crop == 0] = np.minimum(
            occ[crop == 0], 0.499
        )  # the outline stays inside the region's pixels' reach
        contours = find_contours(occ, 0.5)
        pts = max(contours, key=len) + [pr0, pc0] if contours else None
        if pts is None or len(pts) < 4:
            coords = np.argwhere(labels[sl] == lab_id) + [r0, c0]
            pts = None
            width_px, angle, rect_area = min_feret(coords.astype(float))
            width_px += 1.0
            solidity, elong = 1.0, 1.0
        else:
            width_px, angle, rect_area, hull_area = _feret_and_hull(pts)
            poly_area = 0.5 * abs(
                float(np.dot(pts[:-1, 0], pts[1:, 1]) - np.dot(pts[1:, 0], pts[:-1, 1]))
            )
            solidity = poly_area / hull_area if hull_area > 0 else 0.0
            elong = (rect_area / width_px**2) if width_px > 0 else float("inf")
        if (
            solidity < _SOLIDITY_MIN
            or elong > _ELONGATION_MAX
            or (area > _AREA_MAX_FACTOR * median_area and solidity < _SOLIDITY_LARGE)
        ):
            status[lab_id] = "cluster"
            clusters += 1
            continue
        if pts is not None:
            # face-to-face distance along the min-Feret normal: outline points on the two
            # faces (10 % each) rather than the two outermost, which noise pushes outwards
            a = math.radians(angle)
            proj = -pts[:, 0] * math.sin(a) + pts[:, 1] * math.cos(a)
            q_lo, q_hi = np.percentile(proj, [_FACE_QUANTILE, 100 - _FACE_QUANTILE])
            faces.append(float(q_hi - q_lo) * pixel_nm)
        else:
            faces.append(width_px * pixel_nm)
        outlines.append(pts)
        solids.append(solidity)
        elongs.append(elong)
        status[lab_id] = "counted"
        kept_ids.append(lab_id)
        feret.append(width_px * pixel_nm)
        sqrt_area.append(math.sqrt(area) * pixel_nm)
        orient.append(angle % 90.0)
        rect.append(area / rect_area if rect_area > 0 else float("nan"))
    count = len(kept_ids)
    if count == 0:
        raise InputError(
            f"no particle could be measured ({border} cut by the border, {clusters} unsplit clusters)",
            source or "image",
        )
    rect_med = float(np.nanmedian(rect)) if np.any(np.isfinite(rect)) else float("nan")
    if shape == "auto":
        shape_used = "cube" if rect_med > _RECTANGULARITY_CUBE else "sphere"
        shape_source = (
            f"auto (median rectangularity {rect_med:.3f}; cube above {_RECTANGULARITY_CUBE})"
        )
    else:
        shape_used, shape_source = shape, "option"
    if shape_used == "sphere":
        # a single sphere projects to a convex disc: two or three touching spheres that passed the
        # general test (lobed, solidity < 0.93, or elongated > 1.35) are clusters
        keep = [
            sol >= _SOLIDITY_SPHERE and el <= _ELONGATION_SPHERE for sol, el in zip(solids, elongs)
        ]
        if not any(keep):
            keep = [True] * count
        for k, ok in zip(kept_ids, keep):
            if not ok:
                status[k] = "cluster"
                clusters += 1

        def pick(values):
            return [v for v, ok in zip(values, keep) if ok]

        kept_ids, feret, faces, sqrt_area, orient, rect, outlines = (
            pick(kept_ids),
            pick(feret),
            pick(faces),
            pick(sqrt_area),
            pick(orient),
            pick(rect),
            pick(outlines),
        )
        count = len(kept_ids)
    if shape_used == "cube":
        sizes = np.array(faces)
        size_method = "face_to_face"
    else:
        sizes = np.sqrt(4.0 / math.pi) * np.array(sqrt_area)
        size_method = "equivalent_circle_diameter"
    if count < 10:
        notes.append(f"only {count} particles counted: the statistics are rough")
    if count < _MIN_FIT_SIZES:
        notes.append(
            f"no histogram fit: {count} particles are fewer than the {_MIN_FIT_SIZES} a fit needs"
        )
    if clusters > 0.3 * (count + clusters):
        notes.append(
            f"{clusters} of {count + clusters} interior objects are unsplit clusters and were left out; "
            "the counted particles may not represent the film"
        )
    mean = float(sizes.mean())
    sd = float(sizes.std(ddof=1)) if count > 1 else 0.0
    fits = fit_size_histogram(sizes, bins=bins)
    for f in fits:
        if not f.converged:
            msg = f"the {f.law} histogram fit did not converge (or has no error estimate)"
            notes.append(msg)
    if typical_px < 6:
        notes.append(
            f"particles are only ~{typical_px:.0f} px across: sizes carry a pixelisation error of ~{100 / typical_px:.0f} %"
        )
    return TEMResult(
        source=str(source),
        pixel_nm=float(pixel_nm),
        shape=shape_used,
        shape_source=shape_source,
        contrast=contrast_used,
        size_method=size_method,
        count=count,
        excluded_border=border,
        excluded_clusters=clusters,
        mean_nm=mean,
        mean_err_nm=sd / math.sqrt(count),
        sd_nm=sd,
        median_nm=float(np.median(sizes)),
        median_err_nm=1.2533 * sd / math.sqrt(count),
        sizes_nm=tuple(float(s) for s in sizes),
        edges_feret_nm=tuple(feret),
        edges_area_nm=tuple(sqrt_area),
        edges_face_nm=tuple(faces),
        orientations_deg=tuple(orient),
        rectangularity=rect_med,
        fits=fits,
        threshold=threshold,
        warnings=tuple(dict.fromkeys(notes)),
        image=img,
        labels=labels,
        status=status,
        outlines=tuple(o for o in outlines if o is not None),
    )
