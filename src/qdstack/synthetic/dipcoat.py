"""Synthetic dip-coating tables: film amount vs withdrawal speed (Faustini et al. 2010).

The amount deposited per area (read as the OD of the first excitonic peak, or
as a coverage) follows the combined capillary + draining law

    h(U) = c / U + d U^(2/3)

(``c = k E / L``, ``d = k D`` in the notation of Faustini et al.).  This
module only evaluates that law at chosen speeds and adds noise; the fit lives
in :mod:`qdstack.analysis.dipcoat`.

References
----------
M. Faustini, B. Louis, P. A. Albouy, M. Kuemmel, D. Grosso, J. Phys. Chem. C
114, 7637 (2010).
"""

from __future__ import annotations

import numpy as np

from qdstack._random import rng_from

__all__ = ["coating_amount", "dipcoat_table", "write_dipcoat_table"]


def coating_amount(speed_mm_per_s, capillary_coef: float, draining_coef: float):
    """``c / U + d U^(2/3)`` at withdrawal speeds ``U`` [mm/s]."""
    u = np.asarray(speed_mm_per_s, dtype=float)
    return capillary_coef / u + draining_coef * u ** (2.0 / 3.0)


def dipcoat_table(
    speed_mm_per_s,
    capillary_coef: float = 0.004,
    draining_coef: float = 0.02,
    *,
    rel_noise: float = 0.03,
    seed=0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speeds, noisy amounts and their standard errors (relative Gaussian noise ``rel_noise``).

    Returns
    -------
    speed_mm_per_s, amount, amount_err : ndarray
    """
    rng = rng_from(seed)
    u = np.asarray(speed_mm_per_s, dtype=float)
    true = coating_amount(u, capillary_coef, draining_coef)
    err = rel_noise * true
    return u, true + rng.normal(0.0, 1.0, u.size) * err, err


def write_dipcoat_table(path, speed, amount, amount_err=None, column: str = "od") -> None:
    """Write a CSV table the ``qdstack dipcoat`` command reads."""
    head = f"speed_mm_per_s,{column}" + (f",{column}_err" if amount_err is not None else "")
    rows = []
    for i in range(len(speed)):
        row = f"{speed[i]:.6g},{amount[i]:.6g}"
        if amount_err is not None:
            row += f",{amount_err[i]:.4g}"
        rows.append(row)
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
