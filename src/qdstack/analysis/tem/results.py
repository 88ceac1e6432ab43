"""The result of :func:`~qdstack.analysis.tem.measure_particles`: :class:`TEMResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table, pm
from qdstack.analysis.tem.histogram import SizeFit


@dataclass(frozen=True)
class TEMResult(Result):
    """Sizes of the particles in a micrograph (the method: :mod:`qdstack.analysis.tem`).

    ``sizes_nm`` holds the reported size of every counted particle (edge for
    cubes, diameter for spheres); ``edges_feret_nm`` and ``edges_area_nm`` the
    two cube estimates (both filled for spheres too: min Feret and sqrt(area)).
    """

    source: str
    pixel_nm: float
    shape: str
    shape_source: str
    contrast: str
    size_method: str
    count: int
    excluded_border: int
    excluded_clusters: int
    mean_nm: float
    mean_err_nm: float
    sd_nm: float
    median_nm: float
    median_err_nm: float
    sizes_nm: tuple[float, ...]
    edges_feret_nm: tuple[float, ...]
    edges_area_nm: tuple[float, ...]
    edges_face_nm: tuple[float, ...]
    orientations_deg: tuple[float, ...]
    rectangularity: float
    fits: tuple[SizeFit, ...]
    threshold: str
    warnings: tuple[str, ...] = ()
    image: np.ndarray | None = field(default=None, repr=False, compare=False)
    labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    status: dict | None = field(default=None, repr=False, compare=False)
    outlines: tuple = field(default=(), repr=False, compare=False)

    def summary_blocks(self):
        what = "edge" if self.shape == "cube" else "diameter"
        name = self.source.replace("\\", "/").rsplit("/", 1)[-1] or "image"
        rows = [
            ("particles counted", str(self.count)),
            ("excluded: cut by the border", str(self.excluded_border)),
            ("excluded: unsplit clusters", str(self.excluded_clusters)),
            (f"mean {what} (nm)", pm(self.mean_nm, self.mean_err_nm, ".3f")),
            (
                "sd (nm)",
                f"{pm(self.sd_nm, self.sd_nm / math.sqrt(2 * (self.count - 1)) if self.count > 1 else None, '.3f')} "
                f"({100 * self.sd_nm / self.mean_nm:.1f} %)",
            ),
            (f"median {what} (nm)", pm(self.median_nm, self.median_err_nm, ".3f")),
        ]
        if self.shape == "cube":
            rows.append(("mean min Feret (nm)", f"{np.mean(self.edges_feret_nm):.3f}"))
            rows.append(("mean sqrt(area) (nm)", f"{np.mean(self.edges_area_nm):.3f}"))
        for f in self.fits:
            if f.law == "normal":
                rows.append(
                    (
                        "normal fit: mean, sd (nm)",
                        f"{pm(f.centre, f.centre_err, '.3f')}, {pm(f.width, f.width_err, '.3f')}",
                    )
                )
            else:
                rows.append(
                    (
                        "log-normal fit: median (nm), s",
                        f"{pm(f.centre, f.centre_err, '.3f')}, {pm(f.width, f.width_err, '.4f')}",
                    )
                )
        title = (
            f"{name}: {self.shape}s ({self.shape_source}), {self.contrast} particles, "
            f"pixel {self.pixel_nm:.4g} nm"
        )
        return (Table(title, ("quantity", "value"), tuple(rows)),)

    def _plot(self, ax):
        from qdstack.plotting.tem import plot_tem_overlay

        return plot_tem_overlay(self, ax=ax)

    def to_dict(self) -> dict:
        def stats(values):
            v = np.asarray(values, float)
            if v.size == 0:
                return {"mean": None, "sd": None, "median": None}
            return {
                "mean": float(v.mean()),
                "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0,
                "median": float(np.median(v)),
            }

        return {
            "file": self.source,
            "pixel_nm": self.pixel_nm,
            "count": self.count,
            "excluded": {
                "border": self.excluded_border,
                "unsplit_clusters": self.excluded_clusters,
            },
            "shape": self.shape,
            "shape_source": self.shape_source,
            "contrast": self.contrast,
            "threshold": self.threshold,
            "size_method": self.size_method,
            "size_nm": {
                "mean": self.mean_nm,
                "mean_err": self.mean_err_nm,
                "sd": self.sd_nm,
                # standard error of a sample sd (normal approximation): sd / sqrt(2 (n - 1))
                "sd_err": self.sd_nm / math.sqrt(2 * (self.count - 1)) if self.count > 1 else None,
                "median": self.median_nm,
                "median_err": self.median_err_nm,
            },
            "sizes_nm": list(self.sizes_nm),
            "edges_nm": {
                "min_feret": {**stats(self.edges_feret_nm), "values": list(self.edges_feret_nm)},
                "sqrt_area": {**stats(self.edges_area_nm), "values": list(self.edges_area_nm)},
                "face_to_face": {**stats(self.edges_face_nm), "values": list(self.edges_face_nm)},
            },
            "orientations_deg": list(self.orientations_deg),
            "rectangularity": self.rectangularity,
            "fits": {f.law: f.to_dict() for f in self.fits},
            "warnings": list(self.warnings),
        }
