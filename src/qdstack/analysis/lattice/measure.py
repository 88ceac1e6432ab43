"""Windowed-FFT lattice spacings and the calibration check: :func:`measure_lattice`.

The method is described in :mod:`qdstack.analysis.lattice`.
"""

from __future__ import annotations

import math

import numpy as np

from qdstack.analysis.lattice.crystals import Crystal, parse_crystal, plane_spacings
from qdstack.analysis.lattice.results import LatticeResult, Spacing
from qdstack.errors import InputError


def _spectrum(img: np.ndarray):
    rows, cols = img.shape
    n = min(rows, cols)
    r0, c0 = (rows - n) // 2, (cols - n) // 2
    sq = img[r0 : r0 + n, c0 : c0 + n].astype(float)
    sq = sq - sq.mean()
    win = np.hanning(n)
    f = np.fft.fftshift(np.fft.fft2(sq * np.outer(win, win)))
    return n, np.abs(f) ** 2


def measure_lattice(
    image,
    pixel_nm: float | None = None,
    *,
    crystal: Crystal | str | None = None,
    max_spacings: int = 8,
    spot_snr: float = 12.0,
    spot_rel: float = 0.02,
    ring_snr: float = 1.6,
    d_min_nm: float | None = None,
    source: str = "",
) -> LatticeResult:
    """Lattice spacings of an atomic-resolution image; see the module docstring.

    Parameters
    ----------
    image : ndarray or Micrograph
    pixel_nm : float, optional
        Pixel size [nm] (required with an array).
    crystal : Crystal or str, optional
        Match the spacings to this crystal's planes and report the scale factor.
    max_spacings : int
        Keep at most this many spacings (strongest first, reported by decreasing d).
    spot_snr, ring_snr : float
        Detection thresholds over the local background (spots, radial average).
    spot_rel : float
        Spots weaker than this fraction of the strongest spot's ratio are noise.
    d_min_nm : float, optional
        Ignore spacings below this (default: the larger of 2.5 pixels, above
        Nyquist where aliasing and the pixel transfer function dominate, and
        0.06 nm, below the information limit of aberration-corrected
        microscopes, where spots are scan or detector noise).

    Raises
    ------
    InputError
        No pixel size, an image under 64 px, no periodic contrast found.

    Examples
    --------
    >>> from qdstack.analysis import measure_lattice
    >>> from qdstack.synthetic import lattice_image
    >>> img = lattice_image((256, 256), pixel_nm=0.02, a_nm=0.3905, seed=1)
    >>> r = measure_lattice(img, 0.02, crystal="SrTiO3")
    >>> r.spacings[0].hkl, round(r.spacings[0].d_nm, 3), round(r.scale_factor, 2)
    ('(100)', 0.39, 1.0)
    """
    from scipy import ndimage
    from scipy.signal import find_peaks
    from skimage.feature import peak_local_max

    if hasattr(image, "data") and hasattr(image, "pixel_nm"):
        img = np.asarray(image.data, float)
        pixel_nm = image.pixel_nm if pixel_nm is None else pixel_nm
        source = source or image.source
    else:
        img = np.asarray(image, float)
    if pixel_nm is None or not (math.isfinite(pixel_nm) and pixel_nm > 0):
        raise InputError("a positive pixel size in nm is needed", "--pixel-nm")
    if img.ndim != 2 or min(img.shape) < 64:
        raise InputError(
            f"a lattice image needs at least 64 x 64 px, got {img.shape}", source or "image"
        )
    if isinstance(crystal, str):
        crystal = parse_crystal(crystal)
    notes: list[str] = []
    n, power = _spectrum(img)
    dk = 1.0 / (n * pixel_nm)
    c = n // 2
    yy, xx = np.mgrid[0:n, 0:n]
    rad = np.hypot(yy - c, xx - c)
    r_int = np.rint(rad).astype(int)
    r_min = 4
    d_min = max(2.5 * pixel_nm, 0.06) if d_min_nm is None else d_min_nm
    r_max = min(c - 1, int(1.0 / (d_min * dk)))
    counts = np.bincount(r_int.ravel())
    radial = np.bincount(r_int.ravel(), weights=power.ravel()) / np.maximum(counts, 1)
    # median power at every radius: the background against which a spot stands out
    order = np.argsort(r_int.ravel())
    sorted_r = r_int.ravel()[order]
    sorted_p = power.ravel()[order]
    bounds = np.searchsorted(sorted_r, np.arange(c + 2))
    med = np.array(
        [
            np.median(sorted_p[bounds[i] : bounds[i + 1]]) if bounds[i + 1] > bounds[i] else np.nan
            for i in range(c + 1)
        ]
    )

    # ---- spots
    smooth = ndimage.gaussian_filter(power, 0.7)
    bg_at = med[np.clip(r_int, 0, c)]
    ratio = smooth / np.maximum(bg_at, 1e-300)
    ratio[(rad < r_min) | (rad > r_max)] = 0.0
    cand = peak_local_max(ratio, min_distance=3, threshold_abs=spot_snr, exclude_border=2)
    spots = []
    for py, px in cand:
        # Friedel mate counted once: keep the upper half plane (and the +x half of the axis)
        dy, dx = py - c, px - c
        if dy > 0 or (dy == 0 and dx < 0):
            continue
        win = power[py - 1 : py + 2, px - 1 : px + 2]
        wy, wx = np.mgrid[-1:2, -1:2]
        tot = win.sum()
        cy = py + float((win * wy).sum() / tot)
        cx = px + float((win * wx).sum() / tot)
        ky, kx = (cy - c) * dk, (cx - c) * dk
        kk = math.hypot(kx, ky)
        spots.append(
            {
                "kx_per_nm": kx,
                "ky_per_nm": ky,
                "k_per_nm": kk,
                "d_nm": 1.0 / kk,
                "snr": float(ratio[py, px]),
            }
        )
    spots.sort(key=lambda s: -s["snr"])
    if spots:
        # noise maxima of a large power spectrum reach 10-20x the median; real spots of a
        # crystal are far stronger: keep those within a factor 1/spot_rel of the strongest
        floor = spot_rel * spots[0]["snr"]
        spots = [s for s in spots if s["snr"] >= floor]
    spots = spots[:40]
    groups: list[list[dict]] = []
    for s in sorted(spots, key=lambda s: s["k_per_nm"]):
        if groups and abs(s["k_per_nm"] / np.mean([g["k_per_nm"] for g in groups[-1]]) - 1) < 0.03:
            groups[-1].append(s)
        else:
            groups.append([s])
    found: list[Spacing] = []
    floor_k = 0.1 * dk
    # a single spot shows no spread; give it the median relative spread of the groups that do
    # (scan distortion and drift affect every direction alike)
    rel = [
        float(np.std([s["k_per_nm"] for s in g], ddof=1) / np.mean([s["k_per_nm"] for s in g]))
        for g in groups
        if len(g) > 1
    ]
    rel_single = float(np.median(rel)) if rel else 0.0
    for g in groups:
        ds = np.array([s["d_nm"] for s in g])
        ks = np.array([s["k_per_nm"] for s in g])
        kbar = float(ks.mean())
        m = len(g)
        spread = float(ks.std(ddof=1)) if m > 1 else 0.0
        k_err = (
            math.sqrt(spread**2 / m + floor_k**2 / m) if m > 1 else max(floor_k, rel_single * kbar)
        )
        d = 1.0 / kbar
        found.append(
            Spacing(
                d,
                d * d * k_err,
                None,
                None,
                "spots",
                m,
                tuple(float(x) for x in ds),
                float(max(s["snr"] for s in g)),
            )
        )

    # ---- rings (radial average)
    rr = np.arange(radial.size)
    prof = radial[: c + 1]
    bgr = ndimage.median_filter(prof, size=15, mode="nearest")
    rel = prof / np.maximum(bgr, 1e-300)
    rel[:r_min] = 0
    rel[r_max + 1 :] = 0
    peaks, _ = find_peaks(rel, height=ring_snr, distance=3)
    if len(found) >= 3:
        peaks = []  # a single crystal's spots describe the image; rings would be its noise
    for p in peaks:
        lo, hi = max(p - 2, 0), min(p + 3, prof.size)
        excess = np.clip(prof[lo:hi] - bgr[lo:hi], 0, None)
        if excess.sum() <= 0:
            continue
        r_c = float((excess * rr[lo:hi]).sum() / excess.sum())
        k = r_c * dk
        d = 1.0 / k
        if any(abs(s.d_nm / d - 1) < 0.03 for s in found):
            continue
        found.append(Spacing(d, d * d * 0.25 * dk, None, None, "ring", 0, (), float(rel[p])))
    if not found:
        raise InputError(
            "no lattice spacing found: the power spectrum shows no spot or ring above the background "
            f"(spacings between {d_min:.3g} and {2 / (r_min * dk) / 2:.3g} nm searched)",
            source or "image",
        )
    found.sort(key=lambda s: -s.snr)
    found = found[:max_spacings]
    found.sort(key=lambda s: -s.d_nm)

    # ---- crystal match and scale factor
    expected: list[dict] = []
    scale = scale_err = None
    if crystal is not None:
        d_lo = min(s.d_nm for s in found) * 0.8
        expected = plane_spacings(crystal, d_lo)
        if not expected:
            notes.append(f"{crystal.name} has no plane with a spacing above {d_lo:.3g} nm")
        else:
            dexp = np.array([e["d_nm"] for e in expected])
            dm = np.array([s.d_nm for s in found])
            dme = np.array([max(s.d_nm_err, 1e-6) for s in found])
            wt = np.array([s.snr for s in found])
            wt = np.log1p(wt) / np.log1p(wt).max()
            grid = np.linspace(0.85, 1.15, 601)
            cost = []
            for sc in grid:
                dev = np.abs(np.log(sc * dm[:, None] / dexp[None, :])).min(axis=1)
                cost.append(float(np.sum(wt * np.minimum(dev, 0.03))) + 0.002 * abs(math.log(sc)))
            s0 = float(grid[int(np.argmin(cost))])
            idx = np.abs(np.log(s0 * dm[:, None] / dexp[None, :])).argmin(axis=1)
            dev = np.abs(np.log(s0 * dm / dexp[idx]))
            ok = dev < 0.02
            if ok.sum() == 0:
                notes.append(
                    f"no spacing matches a plane of {crystal.name} within 15 % (scale 0.85-1.15)"
                )
            else:
                w = 1.0 / dme[ok] ** 2
                D = dexp[idx][ok]
                x = dm[ok]
                scale = float(np.sum(w * x * D) / np.sum(w * x * x))
                resid = D - scale * x
                dof = max(int(ok.sum()) - 1, 0)
                base = math.sqrt(1.0 / np.sum(w * x * x))  # from the spacing errors alone
                chi2 = float(np.sum(w * resid**2) / dof) if dof > 0 else 1.0
                scale_err = float(base * math.sqrt(max(chi2, 1.0)))
                new = []
                for s, j, good in zip(found, idx, ok):
                    if good:
                        new.append(
                            Spacing(
                                s.d_nm,
                                s.d_nm_err,
                                expected[j]["hkl"],
                                expected[j]["d_nm"],
                                s.kind,
                                s.n_spots,
                                s.spot_d_nm,
                                s.snr,
                            )
                        )
                    else:
                        new.append(s)
                found = new
                if abs(scale - 1) > 0.03:
                    notes.append(
                        f"the spacings match {crystal.name} only with the pixel size scaled by {scale:.4f} "
                        f"({100 * (scale - 1):+.1f} %): the stored calibration is off by that much, or the crystal "
                        "is strained or not the one named"
                    )
    return LatticeResult(
        source=str(source),
        pixel_nm=float(pixel_nm),
        size_px=n,
        spacings=tuple(found),
        crystal=None if crystal is None else crystal.name,
        crystal_info=None if crystal is None else crystal.to_dict(),
        scale_factor=scale,
        scale_factor_err=scale_err,
        expected=tuple(expected),
        spots=tuple(spots),
        warnings=tuple(notes),
        power=power,
        radial_k_per_nm=rr[: c + 1] * dk,
        radial_power=prof,
    )
