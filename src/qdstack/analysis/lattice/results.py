"""Results of :func:`~qdstack.analysis.lattice.measure_lattice`: :class:`Spacing`, :class:`LatticeResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qdstack._result import Result, Table


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
