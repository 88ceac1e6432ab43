"""Lattice spacings from an HRTEM or atomic-resolution STEM image (windowed FFT) and a calibration check.

Method (:func:`measure_lattice`)
--------------------------------
1. The central square of the image (side ``n`` px), minus its mean, times a
   2-D Hann window ``w(x, y) = sin^2(pi x / n) sin^2(pi y / n)`` (suppresses the
   edge discontinuity that would streak the spectrum); power spectrum
   ``P(k) = |FFT|^2``, with ``k = 1/d`` in steps of ``dk = 1 / (n p)`` [nm^-1]
   for a pixel of ``p`` nm.
2. **Spots**: local maxima of ``P`` (Gaussian-smoothed by 0.7 bin) that stand
   ``spot_snr`` times above the median power at their radius and reach
   ``spot_rel`` (2 %) of the strongest spot's ratio; each refined to
   sub-bin precision by a 3 x 3 power-weighted centroid of ``log P``-free power;
   Friedel mates are counted once.  Spots whose ``|k|`` agree within 3 % form one
   spacing ``d = 1 / mean|k|``; its error combines the spread of the spots (which
   shows scan distortion or anisotropy) ``sd/sqrt(m)`` and a centroid floor of
   0.1 bin per spot.
3. **Rings**: the azimuthal average of ``P`` divided by a running median over
   15 bins (the smooth background); peaks above ``ring_snr`` refined by a 5-bin
   centroid; used when fewer than three spot groups are found (polycrystals,
   noisy images), and kept when no spot group has the same spacing.
4. **Crystal**: the measured spacings are matched to the planes of a named
   crystal (:data:`CRYSTALS`, or a user cell ``a=...,b=...,c=...``) with one
   common calibration factor ``s``: a grid search over ``s`` in 0.85-1.15 for the
   assignment with the smallest summed ``|ln(s d_i / d_hkl)|`` (capped), then the
   weighted least-squares ``s = sum(w d_i D_i) / sum(w d_i^2)`` over the matched
   pairs, ``w = 1/d_err^2``.  ``scale_factor = s`` is the factor the pixel size
   would need (true pixel = ``s`` x the file's pixel) for the image to show the
   crystal's spacings.

Plane spacings: orthogonal cells, ``1/d^2 = h^2/a^2 + k^2/b^2 + l^2/c^2``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import product

import numpy as np

from qdstack._result import Result, Table
from qdstack.errors import InputError, OptionError

__all__ = [
    "CRYSTALS",
    "Crystal",
    "LatticeResult",
    "Spacing",
    "measure_lattice",
    "parse_crystal",
    "plane_spacings",
]


@dataclass(frozen=True)
class Crystal:
    """An orthogonal unit cell and its reflection conditions.

    Attributes
    ----------
    name : str
    a_nm, b_nm, c_nm : float
        Lattice constants [nm].
    system : str
        ``"cubic"``, ``"tetragonal"`` or ``"orthorhombic"``.
    conditions : str
        ``"P"`` (every hkl) or ``"Pnma"`` (0kl: k+l even; hk0: h even; h00, 0k0, 00l: even).
    source : str
        Where the constants come from.
    """

    name: str
    a_nm: float
    b_nm: float
    c_nm: float
    system: str
    conditions: str
    source: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "a_nm": self.a_nm,
            "b_nm": self.b_nm,
            "c_nm": self.c_nm,
            "system": self.system,
            "conditions": self.conditions,
            "source": self.source,
        }


CRYSTALS: dict[str, Crystal] = {
    "cspbbr3": Crystal(
        "CsPbBr3 (cubic)",
        0.5874,
        0.5874,
        0.5874,
        "cubic",
        "P",
        "cubic Pm-3m perovskite, a = 5.874 A (Cottingham & Brutchey, Chem. Commun. 2016, 52, 5246; "
        "the (100) spacing 0.58 nm of Enomoto et al., Chem. Sci. 2024, Fig. S1b)",
    ),
    "cspbbr3-ortho": Crystal(
        "CsPbBr3 (orthorhombic)",
        0.8244,
        1.1735,
        0.8198,
        "orthorhombic",
        "Pnma",
        "orthorhombic Pnma, a = 8.244, b = 11.735, c = 8.198 A at room temperature "
        "(Stoumpos et al., Cryst. Growth Des. 2013, 13, 2722)",
    ),
    "srtio3": Crystal(
        "SrTiO3",
        0.3905,
        0.3905,
        0.3905,
        "cubic",
        "P",
        "cubic Pm-3m perovskite, a = 3.905 A at room temperature (e.g. Okazaki & Kawaminami, "
        "Mater. Res. Bull. 1973, 8, 545)",
    ),
}


def parse_crystal(text: str | None, option: str = "--crystal") -> Crystal | None:
    """A named crystal (``CsPbBr3``, ``CsPbBr3-ortho``, ``SrTiO3``) or a cell ``a=0.59[,b=..,c=..]`` (nm)."""
    if text is None:
        return None
    key = text.strip().lower().replace("_", "-").replace(" ", "")
    if key in CRYSTALS:
        return CRYSTALS[key]
    if key in ("cspbbr3-cubic",):
        return CRYSTALS["cspbbr3"]
    if key in ("cspbbr3-orthorhombic", "cspbbr3-pnma"):
        return CRYSTALS["cspbbr3-ortho"]
    if "=" in key:
        values = {}
        for part in [p for p in re.split(r"[,;]", key) if p]:
            m = re.fullmatch(r"([abc])=([0-9.eE+-]+)(nm)?", part)
            if not m:
                raise OptionError(
                    f"cannot read {part!r}; write a=0.59 or a=0.82,b=1.17,c=0.82 (nm)", option
                )
            try:
                v = float(m.group(2))
            except ValueError:
                raise OptionError(f"{m.group(2)!r} is not a number", option) from None
            if not (math.isfinite(v) and 0.05 < v < 20):
                raise OptionError(
                    f"lattice constant {m.group(1)} = {v} nm is out of range (0.05-20 nm)", option
                )
            values[m.group(1)] = v
        if "a" not in values:
            raise OptionError("a user cell needs at least a=... (nm)", option)
        a = values["a"]
        b = values.get("b", a)
        c = values.get("c", a)
        system = (
            "cubic"
            if a == b == c
            else ("tetragonal" if a == b or b == c or a == c else "orthorhombic")
        )
        return Crystal(
            f"cell a={a:g}, b={b:g}, c={c:g} nm", a, b, c, system, "P", "given by the user"
        )
    names = ", ".join(["CsPbBr3", "CsPbBr3-ortho", "SrTiO3"])
    raise OptionError(f"unknown crystal {text!r}; use {names} or a cell like a=0.5874 (nm)", option)


def _allowed(h, k, m, conditions):
    if conditions != "Pnma":
        return True
    if h == 0 and (k + m) % 2:
        return False
    if m == 0 and h % 2:
        return False
    if k == 0 and m == 0 and h % 2:
        return False
    if h == 0 and m == 0 and k % 2:
        return False
    if h == 0 and k == 0 and m % 2:
        return False
    return True


def plane_spacings(crystal: Crystal, d_min_nm: float, max_index: int = 4) -> list[dict]:
    """Distinct plane spacings ``d >= d_min_nm`` of ``crystal``, largest first.

    Families with spacings within 0.3 % of each other are merged into one entry
    whose label lists them, e.g. ``"(101)/(020)"``.  Labels use the smallest
    non-negative indices of each family (cubic: sorted h >= k >= l).
    """
    planes = {}
    for h, k, m in product(range(max_index + 1), repeat=3):
        if h == k == m == 0 or not _allowed(h, k, m, crystal.conditions):
            continue
        inv = h * h / crystal.a_nm**2 + k * k / crystal.b_nm**2 + m * m / crystal.c_nm**2
        d = 1.0 / math.sqrt(inv)
        if d < d_min_nm:
            continue
        key = tuple(sorted((h, k, m), reverse=True)) if crystal.system == "cubic" else (h, k, m)
        planes.setdefault(key, d)
    items = sorted(planes.items(), key=lambda kv: -kv[1])
    merged: list[dict] = []
    for hkl, d in items:
        label = "(" + "".join(str(i) for i in hkl) + ")"
        if merged and abs(merged[-1]["d_nm"] - d) <= 0.003 * d:
            if label not in merged[-1]["hkl"].split("/") and len(merged[-1]["hkl"].split("/")) < 3:
                merged[-1]["hkl"] += "/" + label
            continue
        merged.append({"hkl": label, "d_nm": d})
    return merged


@dataclass(frozen=True)
class Spacing:
    """One lattice spacing found in the image.

    Attributes
    ----------
    d_nm, d_nm_err : float
        Spacing [nm] in the image's calibration and its standard error.
    hkl : str or None
        Matched plane family (after the common scale factor).
    d_expected_nm : float or None
        That family's spacing in the crystal.
    kind : str
        ``"spots"`` (from individual Fourier spots) or ``"ring"`` (radial average only).
    n_spots : int
        Independent spots (Friedel pairs counted once).
    spot_d_nm : tuple of float
        Spacing of each spot (shows scan anisotropy).
    snr : float
        Peak power over the background at that radius.
    """

    d_nm: float
    d_nm_err: float
    hkl: str | None
    d_expected_nm: float | None
    kind: str
    n_spots: int
    spot_d_nm: tuple[float, ...]
    snr: float

    def to_dict(self) -> dict:
        return {
            "d_nm": self.d_nm,
            "d_nm_err": self.d_nm_err,
            "hkl": self.hkl,
            "d_expected_nm": self.d_expected_nm,
            "k_per_nm": 1.0 / self.d_nm,
            "kind": self.kind,
            "n_spots": self.n_spots,
            "spot_d_nm": list(self.spot_d_nm),
            "snr": self.snr,
        }


@dataclass(frozen=True)
class LatticeResult(Result):
    """Spacings of a lattice image, matched to a crystal (see the module docstring)."""

    source: str
    pixel_nm: float
    size_px: int
    spacings: tuple[Spacing, ...]
    crystal: str | None
    crystal_info: dict | None
    scale_factor: float | None
    scale_factor_err: float | None
    expected: tuple[dict, ...]
    spots: tuple[dict, ...]
    warnings: tuple[str, ...] = ()
    power: np.ndarray | None = field(default=None, repr=False, compare=False)
    radial_k_per_nm: np.ndarray | None = field(default=None, repr=False, compare=False)
    radial_power: np.ndarray | None = field(default=None, repr=False, compare=False)

    def summary_blocks(self):
        name = self.source.replace("\\", "/").rsplit("/", 1)[-1] or "image"
        rows = []
        for s in self.spacings:
            scaled = (
                ""
                if self.scale_factor is None or not s.hkl
                else f"{s.d_nm * self.scale_factor:.4f}"
            )
            rows.append(
                (
                    f"{s.d_nm:.4f}",
                    f"{s.d_nm_err:.4f}",
                    s.kind,
                    str(s.n_spots),
                    s.hkl or "",
                    "" if s.d_expected_nm is None else f"{s.d_expected_nm:.4f}",
                    scaled,
                )
            )
        title = (
            f"{name}: lattice spacings (pixel {self.pixel_nm:.5g} nm; FFT {self.size_px} px, "
            f"resolution {1 / (self.size_px * self.pixel_nm):.4f} nm^-1)"
        )
        blocks = [
            Table(
                title,
                ("d (nm)", "±", "from", "spots", "plane", "crystal d (nm)", "d x factor (nm)"),
                tuple(rows),
                align=("r",) * 7,
            )
        ]
        if self.scale_factor is not None:
            blocks.append(
                f"{self.crystal}: scale factor {self.scale_factor:.4f} ± {self.scale_factor_err:.4f} "
                f"(pixel {self.pixel_nm:.5g} -> {self.pixel_nm * self.scale_factor:.5g} nm)"
            )
        elif self.crystal is not None:
            blocks.append(f"{self.crystal}: no spacing matches its planes")
        return tuple(blocks)

    def _plot(self, ax):
        from qdstack.plotting.tem import plot_lattice_fft

        return plot_lattice_fft(self, ax=ax)

    def to_dict(self) -> dict:
        return {
            "file": self.source,
            "pixel_nm": self.pixel_nm,
            "spacings": [s.to_dict() for s in self.spacings],
            "scale_factor": self.scale_factor,
            "scale_factor_err": self.scale_factor_err,
            "corrected_pixel_nm": None
            if self.scale_factor is None
            else self.pixel_nm * self.scale_factor,
            "crystal": self.crystal_info,
            "fft_size_px": self.size_px,
            "resolution_per_nm": 1.0 / (self.size_px * self.pixel_nm),
            "spots": list(self.spots),
            "warnings": list(self.warnings),
        }


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
