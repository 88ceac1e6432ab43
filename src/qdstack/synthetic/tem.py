"""Synthetic electron micrographs of nanocubes or spheres with known sizes, and HRTEM lattices.

The forward model of a bright-field TEM (or HAADF STEM) image of a particle
film: particles of a drawn size distribution at random positions and in-plane
orientations, some placed in touching pairs and short rows, rendered with the
exact pixel coverage (4 x 4 sub-samples per pixel), a smooth background
gradient, Gaussian blur (the point-spread function) and shot noise
(Poisson counts at ``dose`` electrons per pixel).  Nothing here is shared with
the analysis (:mod:`qdstack.analysis.tem`): the truth is the list of sizes
drawn, not what a segmentation would return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdstack._random import rng_from

__all__ = ["SyntheticMicrograph", "lattice_image", "tem_micrograph"]


@dataclass(frozen=True)
class SyntheticMicrograph:
    """A synthetic micrograph and its truth.

    Attributes
    ----------
    image : ndarray, shape (rows, cols)
        Counts per pixel (float).
    pixel_nm : float
        Pixel size [nm].
    sizes_nm : ndarray, shape (n,)
        Edge (cubes) or diameter (spheres) of every particle placed [nm].
    centres_px : ndarray, shape (n, 2)
        Centre (row, column) of every particle [px].
    angles_deg : ndarray, shape (n,)
        In-plane rotation of every particle [deg] (0 for spheres).
    inside : ndarray of bool, shape (n,)
        True when the particle lies entirely inside the frame (at least 1 px from the edge).
    group : ndarray of int, shape (n,)
        -1 for a free particle, else the id of its touching pair or row.
    particle : str
        ``"cube"`` or ``"sphere"``.
    contrast : str
        ``"dark"`` (bright field) or ``"bright"`` (HAADF).
    """

    image: np.ndarray
    pixel_nm: float
    sizes_nm: np.ndarray
    centres_px: np.ndarray
    angles_deg: np.ndarray
    inside: np.ndarray
    group: np.ndarray
    particle: str
    contrast: str

    @property
    def sizes_inside_nm(self) -> np.ndarray:
        """Sizes of the particles that lie entirely inside the frame."""
        return self.sizes_nm[self.inside]


def _square(centre, half, angle):
    c, s = math.cos(angle), math.sin(angle)
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    rot = np.array([[c, -s], [s, c]])
    return corners @ rot.T + np.asarray(centre)


def _overlap(p, q, kind) -> bool:
    """True when two particles overlap (separating axis theorem for squares, distance for discs)."""
    if kind == "sphere":
        return math.dist(p[0], q[0]) < p[1] + q[1]
    for poly in (p[2], q[2]):
        edges = np.roll(poly, -1, axis=0) - poly
        normals = np.stack([-edges[:, 1], edges[:, 0]], axis=1)
        for n in normals:
            a = p[2] @ n
            b = q[2] @ n
            if a.max() <= b.min() or b.max() <= a.min():
                return False
    return True


def _make(centre, size_px, angle, kind):
    half = size_px / 2.0
    poly = _square(centre, half, angle) if kind == "cube" else None
    radius = half * (math.sqrt(2.0) if kind == "cube" else 1.0)
    return (np.asarray(centre, float), half if kind == "sphere" else radius, poly, size_px, angle)


def _touching(anchor, size_px, angle, direction, kind):
    """A particle of ``size_px`` that touches ``anchor`` along ``direction`` (bisection on the distance)."""
    d = np.array([math.cos(direction), math.sin(direction)])
    lo = 0.0
    hi = anchor[1] + size_px * (math.sqrt(2.0) if kind == "cube" else 0.5) + 1.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        cand = _make(anchor[0] + mid * d, size_px, angle, kind)
        if _overlap(anchor, cand, kind):
            lo = mid
        else:
            hi = mid
    return _make(anchor[0] + hi * d, size_px, angle, kind)


def _coverage(shape, particles, kind, sub=4) -> np.ndarray:
    """Fraction of every pixel covered by the particles (sub x sub samples per pixel)."""
    cover = np.zeros(shape)
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    for centre, _r, _poly, size_px, angle in particles:
        half = size_px / 2.0
        reach = half * (math.sqrt(2.0) if kind == "cube" else 1.0) + 1
        r0 = max(0, int(math.floor(centre[0] - reach)))
        r1 = min(shape[0], int(math.ceil(centre[0] + reach)) + 1)
        c0 = max(0, int(math.floor(centre[1] - reach)))
        c1 = min(shape[1], int(math.ceil(centre[1] + reach)) + 1)
        if r1 <= r0 or c1 <= c0:
            continue
        rr = (np.arange(r0, r1)[:, None] + offs[None, :]).ravel()
        cc = (np.arange(c0, c1)[:, None] + offs[None, :]).ravel()
        y = rr[:, None] - centre[0]
        x = cc[None, :] - centre[1]
        if kind == "cube":
            c, s = math.cos(angle), math.sin(angle)
            u = c * y + s * x
            v = -s * y + c * x
            inside = (np.abs(u) <= half) & (np.abs(v) <= half)
        else:
            inside = y * y + x * x <= half * half
        frac = inside.reshape(r1 - r0, sub, c1 - c0, sub).mean(axis=(1, 3))
        cover[r0:r1, c0:c1] = np.maximum(cover[r0:r1, c0:c1], frac)
    return cover


def tem_micrograph(
    shape: tuple[int, int] = (512, 512),
    *,
    pixel_nm: float = 0.5,
    n_particles: int = 150,
    size_nm: float = 8.0,
    size_sd_nm: float = 0.8,
    distribution: str = "normal",
    particle: str = "cube",
    contrast: str = "dark",
    pair_fraction: float = 0.2,
    row_fraction: float = 0.1,
    min_gap_nm: float | None = None,
    gradient: float = 0.3,
    particle_contrast: float = 0.5,
    blur_px: float = 1.0,
    dose: float = 200.0,
    seed=None,
) -> SyntheticMicrograph:
    """Render a micrograph of ``n_particles`` cubes (squares in projection) or spheres (discs).

    Parameters
    ----------
    shape : (rows, cols)
        Image size [px].
    pixel_nm : float
        Pixel size [nm].
    n_particles : int
        Particles to place (fewer when the field is too crowded; ``sizes_nm`` tells).
    size_nm, size_sd_nm : float
        Mean and standard deviation of the edge (cube) or diameter (sphere) [nm].
    distribution : {"normal", "lognormal"}
        Law of the sizes (the log-normal has the given mean and sd).
    particle : {"cube", "sphere"}
    contrast : {"dark", "bright"}
        Dark particles on a bright background (bright field) or bright on dark (HAADF).
    pair_fraction, row_fraction : float
        Fractions of the particles placed in touching pairs and in touching rows of 3-5.
    min_gap_nm : float, optional
        Smallest gap between particles that do not touch (default 3 px).
    gradient : float
        Relative change of the background across the image (a linear ramp).
    particle_contrast : float
        Relative intensity change through a particle (bright field: absorbed fraction).
    blur_px : float
        Gaussian point-spread function sigma [px].
    dose : float
        Mean counts per background pixel (Poisson noise).
    seed : int, SeedSequence or Generator
    """
    from scipy import ndimage

    if particle not in ("cube", "sphere"):
        raise ValueError("particle must be 'cube' or 'sphere'")
    if contrast not in ("dark", "bright"):
        raise ValueError("contrast must be 'dark' or 'bright'")
    rng = rng_from(seed)
    rows, cols = shape
    gap_px = 3.0 if min_gap_nm is None else min_gap_nm / pixel_nm

    def draw():
        if distribution == "normal":
            v = rng.normal(size_nm, size_sd_nm)
        elif distribution == "lognormal":
            s2 = math.log(1.0 + (size_sd_nm / size_nm) ** 2)
            v = rng.lognormal(math.log(size_nm) - 0.5 * s2, math.sqrt(s2))
        else:
            raise ValueError("distribution must be 'normal' or 'lognormal'")
        return max(v, 0.2 * size_nm) / pixel_nm

    placed: list = []
    groups: list[int] = []
    margin = -size_nm / pixel_nm  # allow particles cut by the border

    def free(cand, ignore=()):
        for k, other in enumerate(placed):
            if k in ignore:
                continue
            reach = cand[1] + other[1] + gap_px
            if math.dist(cand[0], other[0]) > reach:
                continue
            grown = _make(cand[0], cand[3] + 2 * gap_px, cand[4], particle)
            if _overlap(grown, other, particle):
                return False
        return True

    n_pairs = int(round(pair_fraction * n_particles / 2))
    n_rows = int(round(row_fraction * n_particles / 4))
    plan = [2] * n_pairs + [int(rng.integers(3, 6)) for _ in range(n_rows)]
    plan += [1] * max(0, n_particles - sum(plan))
    gid = 0
    for size in plan:
        for _attempt in range(60):
            centre = (rng.uniform(margin, rows - margin), rng.uniform(margin, cols - margin))
            members = [_make(centre, draw(), rng.uniform(0, math.pi / 2), particle)]
            direction = rng.uniform(0, 2 * math.pi)
            for _ in range(size - 1):
                nxt = _touching(
                    members[-1],
                    draw(),
                    rng.uniform(0, math.pi / 2),
                    direction + rng.normal(0, 0.3),
                    particle,
                )
                members.append(nxt)
            if all(free(m) for m in members):
                start = len(placed)
                placed.extend(members)
                groups.extend([-1] * size if size == 1 else [gid] * size)
                gid += size > 1
                del start
                break
    cover = _coverage(shape, placed, particle)
    yy, xx = np.mgrid[0:rows, 0:cols]
    angle = rng.uniform(0, 2 * math.pi)
    ramp = (yy / rows - 0.5) * math.sin(angle) + (xx / cols - 0.5) * math.cos(angle)
    background = 1.0 + gradient * ramp
    if contrast == "dark":
        clean = background * (1.0 - particle_contrast * cover)
    else:
        clean = 0.4 * background + particle_contrast * cover
    if blur_px > 0:
        clean = ndimage.gaussian_filter(clean, blur_px)
    image = rng.poisson(np.clip(clean, 0, None) * dose).astype(float)
    centres = np.array([p[0] for p in placed]).reshape(-1, 2)
    sizes = np.array([p[3] for p in placed]) * pixel_nm
    angles = np.degrees([p[4] for p in placed]) if particle == "cube" else np.zeros(len(placed))
    reach = np.array([p[1] for p in placed]) + 1.0
    inside = (
        (centres[:, 0] - reach >= 0)
        & (centres[:, 0] + reach <= rows - 1)
        & (centres[:, 1] - reach >= 0)
        & (centres[:, 1] + reach <= cols - 1)
    )
    return SyntheticMicrograph(
        image=image,
        pixel_nm=float(pixel_nm),
        sizes_nm=sizes,
        centres_px=centres,
        angles_deg=np.asarray(angles, float),
        inside=inside,
        group=np.asarray(groups, int),
        particle=particle,
        contrast=contrast,
    )


def lattice_image(
    shape: tuple[int, int] = (512, 512),
    *,
    pixel_nm: float = 0.02,
    a_nm: float = 0.3905,
    b_nm: float | None = None,
    angle_deg: float = 17.0,
    sigma_nm: float = 0.06,
    noise: float = 0.5,
    dose: float = 100.0,
    seed=None,
) -> np.ndarray:
    """HAADF-like image of a rectangular lattice of atom columns (Gaussians) with shot noise.

    The columns sit at ``i a e1 + j b e2`` with ``e1, e2`` rotated by ``angle_deg``;
    the image's Fourier spots are then at ``|k| = 1/d_hk`` with
    ``1/d_hk^2 = h^2/a^2 + k^2/b^2``.

    Parameters
    ----------
    a_nm, b_nm : float
        Lattice constants [nm] (``b_nm`` defaults to ``a_nm``: square lattice).
    sigma_nm : float
        Gaussian width of a column [nm].
    noise : float
        Added Gaussian noise relative to the column peak height (before the Poisson step).
    """
    rng = rng_from(seed)
    b_nm = a_nm if b_nm is None else b_nm
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols] * pixel_nm
    th = math.radians(angle_deg)
    u = xx * math.cos(th) + yy * math.sin(th)
    v = -xx * math.sin(th) + yy * math.cos(th)
    ou, ov = rng.uniform(0, a_nm), rng.uniform(0, b_nm)
    du = (u - ou) / a_nm
    dv = (v - ov) / b_nm
    du = (du - np.round(du)) * a_nm
    dv = (dv - np.round(dv)) * b_nm
    clean = np.exp(-(du**2 + dv**2) / (2 * sigma_nm**2))
    clean = 0.2 + clean + noise * rng.normal(size=shape)
    return rng.poisson(np.clip(clean, 0, None) * dose).astype(float)
