"""The result of the de Mello PLQY: :class:`PLQYResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

from qdstack._result import Result, Table


@dataclass(frozen=True)
class PLQYResult(Result):
    """Result of :func:`de_mello_plqy` (``to_dict()`` is the contract JSON plus extras)."""

    plqy: float
    plqy_err: float
    absorptance: float
    absorptance_err: float
    indirect_absorptance: float
    indirect_absorptance_err: float
    plqy_two_measurement: float
    plqy_two_measurement_err: float
    absorptance_two_measurement: float
    absorptance_two_measurement_err: float
    laser_window_nm: tuple[float, float]
    emission_window_nm: tuple[float, float]
    laser_peak_nm: float
    laser_fwhm_nm: float
    integrals: dict
    baselines: dict
    noise: str
    response_corrected: bool
    files: dict
    warnings: tuple[str, ...] = ()
    spectra: dict = field(repr=False, compare=False, default_factory=dict)

    def summary_blocks(self):
        rows = (
            ("PLQY", f"{self.plqy:.4f}", f"{self.plqy_err:.2g}"),
            (
                "absorptance A = 1 - L_C/L_B",
                f"{self.absorptance:.4f}",
                f"{self.absorptance_err:.2g}",
            ),
            (
                "indirect absorptance 1 - L_B/L_A",
                f"{self.indirect_absorptance:.4f}",
                f"{self.indirect_absorptance_err:.2g}",
            ),
            (
                "two-measurement PLQY",
                f"{self.plqy_two_measurement:.4f}",
                f"{self.plqy_two_measurement_err:.2g}",
            ),
            (
                "two-measurement absorptance",
                f"{self.absorptance_two_measurement:.4f}",
                f"{self.absorptance_two_measurement_err:.2g}",
            ),
        )
        lw, ew = self.laser_window_nm, self.emission_window_nm
        return (
            Table("PLQY (de Mello et al. 1997)", ("quantity", "value", "± 1 s.e."), rows),
            f"laser window {lw[0]:.2f}-{lw[1]:.2f} nm (peak {self.laser_peak_nm:.2f} nm, FWHM "
            f"{self.laser_fwhm_nm:.2g} nm); emission window {ew[0]:.2f}-{ew[1]:.2f} nm; noise model "
            f"{self.noise}; response {'corrected' if self.response_corrected else 'not corrected'}",
        )

    def _plot(self, ax):
        from qdstack.plotting.plqy import plot_plqy

        return plot_plqy(self, axes=ax)

    def to_dict(self) -> dict:
        return {
            "plqy": self.plqy,
            "plqy_err": self.plqy_err,
            "absorptance": self.absorptance,
            "absorptance_err": self.absorptance_err,
            "laser_window_nm": list(self.laser_window_nm),
            "emission_window_nm": list(self.emission_window_nm),
            "indirect_absorptance": self.indirect_absorptance,
            "indirect_absorptance_err": self.indirect_absorptance_err,
            "two_measurement": {
                "plqy": self.plqy_two_measurement,
                "plqy_err": self.plqy_two_measurement_err,
                "absorptance": self.absorptance_two_measurement,
                "absorptance_err": self.absorptance_two_measurement_err,
            },
            "laser_peak_nm": self.laser_peak_nm,
            "laser_fwhm_nm": self.laser_fwhm_nm,
            "integrals": dict(self.integrals),
            "baselines": dict(self.baselines),
            "noise": self.noise,
            "response_corrected": self.response_corrected,
            "method": "de Mello, Wittmann & Friend, Adv. Mater. 9, 230 (1997)",
            "files": dict(self.files),
            "warnings": list(self.warnings),
        }
